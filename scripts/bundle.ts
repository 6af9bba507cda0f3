// The CLI as users run it: a code-split ESM bundle (esbuild) in dist/bundle/bin/, built after tsc
// by `npm run build`. Start-up is what it is for: an MCP client spawns the server for every session,
// and resolving and loading ~350 files (zod, the MCP SDK, ajv, ...) cost more than the work itself.
//
// - Entry points: src/cli.ts (-> cli.js, the package's `bin`) and the emulator's tuning worker
//   (-> tuning_worker.js: tuning_service starts `new URL('./tuning_worker.js', import.meta.url)`, so
//   the worker must sit beside the chunk that holds tuning_service: every file goes in one folder).
// - Splitting: each dynamic import() stays a lazy chunk (the emulator, HTTP + express, the A/B
//   statistics, dataset converters, prom-client, the demo): the start path loads only what a
//   tools/list answer needs.
// - External (loaded from node_modules at run time): the Google clients and their transport
//   (@google-cloud/*, google-gax, google-auth-library, @grpc/*, protobufjs: large, read their .proto
//   and JSON files relative to their own location, and loaded lazily anyway) and better-sqlite3
//   (native). Everything else is bundled: the SDK, zod and ajv are on the start path, and as
//   separate files they cost more than the whole bundle (measured in bench/coldstart.ts).
// - Two folders deep under dist/, like dist/src/<dir>/: code that finds files relative to its own
//   module (dist/tools-list.json via ../../, data/prices.json by walking up) works unchanged.
// - CommonJS dependencies inside an ESM bundle call require() for node built-ins: each file gets a
//   `require` made by createRequire (esbuild renames any module's own top-level `require`).
// - Minified (less to compile at each start), with linked source maps (`node --enable-source-maps`
//   for readable stack traces); zod keeps its English messages only (see zodEnglishOnly).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

/** The repository root (this file runs from dist/scripts/). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE_DIR = path.join(ROOT, 'dist', 'bundle', 'bin');

export const EXTERNAL = [
  '@google-cloud/*',
  'google-gax',
  'google-auth-library',
  '@grpc/*',
  'protobufjs',
  'better-sqlite3',
];

/**
 * zod's `z.locales` namespace re-exports its ~50 translations of the error messages (260 KB that
 * every start would compile); nothing here uses one but English, which zod configures itself from
 * its own module. The bundle keeps `locales.en` only.
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

export async function bundle(
  opts: { outdir?: string; minify?: boolean; zodLocales?: boolean } = {},
): Promise<Metafile> {
  const outdir = opts.outdir ?? BUNDLE_DIR;
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: {
      cli: 'src/cli.ts',
      tuning_worker: 'src/emulator/services/tuning_worker.ts',
    },
    outdir,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    minify: opts.minify ?? true,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
    plugins: opts.zodLocales ? [] : [zodEnglishOnly],
    banner: {
      js: "import { createRequire as __vertexMcpCreateRequire } from 'node:module'; const require = __vertexMcpCreateRequire(import.meta.url);",
    },
  });
  return result.metafile;
}

async function main(): Promise<void> {
  const meta = await bundle();
  const js = Object.entries(meta.outputs).filter(([f]) => f.endsWith('.js'));
  const bytes = js.reduce((n, [, o]) => n + o.bytes, 0);
  process.stderr.write(
    `bundled ${path.relative(ROOT, BUNDLE_DIR)}: cli.js, tuning_worker.js and ${js.length - 2} chunks, ${(bytes / 1024).toFixed(0)} KB of JavaScript\n`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
