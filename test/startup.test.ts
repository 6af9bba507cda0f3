// Start-up stays light: importing the server (what `vertex-mcp` does before answering tools/list)
// loads no Google client, no gRPC, no SQLite and none of the A/B statistics' distributions; those
// load on the first call that needs them. Checked in a fresh process on the build (npm test builds).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('importing the server loads none of the heavy modules', () => {
  const server = fileURLToPath(new URL('../dist/src/server.js', import.meta.url));
  const script = `
    import(${JSON.stringify(server)}).then(() => {
      const keys = Object.keys(require.cache);
      const count = (re) => keys.filter((k) => re.test(k)).length;
      console.log(JSON.stringify({ stdlib: count(/@stdlib/), google: count(/@google-cloud|google-gax|@grpc/), sqlite: count(/better-sqlite3/) }));
    });`;
  const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  expect(loaded).toEqual({ stdlib: 0, google: 0, sqlite: 0 });
});
