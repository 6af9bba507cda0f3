// Start-up stays light: importing the server (what `vertex-mcp` does before answering tools/list)
// loads no Google client, no gRPC, no SQLite and none of the A/B statistics' distributions; those
// load on the first call that needs them. Checked in a fresh process on the build (npm test builds).
// The bundled CLI (dist/bundle/bin/cli.js, the package's `bin`, scripts/bundle.ts) is what users
// run: it must answer over stdio with the whole catalogue, and its help and errors are the CLI's.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogue } from '../src/tools/index.js';

const BUNDLED_CLI = fileURLToPath(new URL('../dist/bundle/bin/cli.js', import.meta.url));

it('importing the server loads none of the heavy modules', () => {
  const server = fileURLToPath(new URL('../dist/src/server.js', import.meta.url));
  const script = `
    import(${JSON.stringify(server)}).then(() => {
      const keys = Object.keys(require.cache);
      const count = (re) => keys.filter((k) => re.test(k)).length;
      console.log(JSON.stringify({ stdlib: count(/@stdlib/), google: count(/@google-cloud|google-gax|@grpc/), sqlite: count(/better-sqlite3/) }));
    });`;
  const loaded = JSON.parse(execNode(['-e', script]));
  expect(loaded).toEqual({ stdlib: 0, google: 0, sqlite: 0 });
});

function execNode(args: string[]): string {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Lines in, lines out: the bundled server over stdio with no client library in between. */
async function talk(args: string[], messages: object[], answers: number) {
  const child = spawn(process.execPath, [BUNDLED_CLI, ...args], { env: { PATH: process.env.PATH ?? '' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    const lines: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          lines.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
        if (lines.length >= answers) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    for (const m of messages) child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`);
    await done;
    return lines;
  } finally {
    child.kill('SIGTERM');
  }
}

describe('the bundled CLI', () => {
  it('is the package bin, with the tuning worker beside its chunks', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.bin['vertex-mcp']).toBe('dist/bundle/bin/cli.js');
    expect(existsSync(BUNDLED_CLI)).toBe(true);
    expect(readFileSync(BUNDLED_CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(existsSync(new URL('../dist/bundle/bin/tuning_worker.js', import.meta.url))).toBe(true);
  });

  it('answers initialize and tools/list over stdio with every tool of the catalogue', async () => {
    const [init, list] = await talk(
      ['serve', '--data-dir', ':memory:', '--log-level', 'silent'],
      [
        {
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'bundle-test', version: '1' },
          },
        },
        { method: 'notifications/initialized' },
        { id: 2, method: 'tools/list' },
      ],
      2,
    );
    expect(init.result.serverInfo.name).toBe('vertex-mcp');
    expect(list.id).toBe(2);
    const names = list.result.tools.map((t: { name: string }) => t.name);
    expect(names).toEqual(catalogue().map((t) => t.name));
    expect(names.length).toBeGreaterThanOrEqual(34);
  });

  it('prints help and refuses a bad flag with one line and exit code 2', () => {
    const help = spawnSync(process.execPath, [BUNDLED_CLI, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: vertex-mcp [serve] [options]');
    expect(help.stdout).toContain('--read-only [bool]');
    const bad = spawnSync(process.execPath, [BUNDLED_CLI, '--port', '5'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toEqual([
      'vertex-mcp: --port: applies only with --http (Streamable HTTP); without it the server speaks stdio',
    ]);
    // zod's messages survive the bundle (which keeps its English locale only).
    const toolset = spawnSync(process.execPath, [BUNDLED_CLI, '--toolsets', 'registy'], { encoding: 'utf8' });
    expect(toolset.status).toBe(2);
    expect(toolset.stderr).toContain('vertex-mcp: --toolsets: Invalid option: expected one of "registry"');
  });

  it('runs the whole demo: the lazy chunks (emulator, statistics, converters) and the tuning worker load', async () => {
    const child = spawn(process.execPath, [BUNDLED_CLI, 'demo'], { env: { PATH: process.env.PATH ?? '' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, out.slice(-2000)).toBe(0);
    expect(out).toMatch(/Tuning job \d+ SUCCEEDED/); // trained in the bundled tuning_worker.js
    expect(out).toMatch(/^Done: /m);
  }, 120_000);
});
