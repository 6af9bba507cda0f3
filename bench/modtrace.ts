// Preloaded with `NODE_OPTIONS=--import <this file>` into a server the benchmark starts. It records
// which modules the process has loaded, so the benchmark can check that no Google client was loaded
// before the first call that needs it:
//  - ES modules: a resolve hook (modtrace-hooks.ts, via module.register) logs every resolved URL;
//  - CommonJS modules (the Google clients, gRPC, protobufjs are CJS, and their require()s bypass
//    the ESM hooks): on SIGUSR2 the keys of the CJS module cache are written out.
// On SIGUSR2 it writes `${BENCH_MODTRACE}.<n>.json` with {esm: [...], cjs: [...]}, n = 1, 2, ...
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const base = process.env.BENCH_MODTRACE;
if (base) {
  const esmLog = `${base}.esm.log`;
  writeFileSync(esmLog, '');
  register('./modtrace-hooks.js', import.meta.url, { data: { logFile: esmLog } });
  const cache = createRequire(import.meta.url).cache;
  let n = 0;
  process.on('SIGUSR2', () => {
    n += 1;
    const esm = readFileSync(esmLog, 'utf8').split('\n').filter(Boolean);
    const snapshot = JSON.stringify({ esm: [...new Set(esm)], cjs: Object.keys(cache) });
    // Written then renamed, so the reader never sees half a file.
    writeFileSync(`${base}.${n}.tmp`, snapshot);
    renameSync(`${base}.${n}.tmp`, `${base}.${n}.json`);
  });
}
