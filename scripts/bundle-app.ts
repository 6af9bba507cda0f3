// The dashboard MCP App, built into single self-contained HTML files (no CDN, works offline; the
// ui:// resource is one HTML document, so its script and styles are inlined):
// - dist/app/dashboard.html: the app (src/app/ui/main.ts + uPlot + ext-apps' App), served as
//   ui://vertex-mcp/dashboard.html;
// - dist/app/host.html: the page GET /dashboard serves (src/app/ui/host.ts: an MCP client over
//   Streamable HTTP + ext-apps' AppBridge) that runs the same app for a plain browser.
// Minified browser IIFEs; run after tsc: `node dist/scripts/bundle-app.js`.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { zodEnglishOnly } from './bundle.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, from dist/scripts/ (built) or scripts/ (run from sources). */
export const ROOT =
  path.basename(path.dirname(HERE)) === 'dist' ? path.resolve(HERE, '..', '..') : path.resolve(HERE, '..');
export const APP_DIR = path.join(ROOT, 'dist', 'app');
const UI = path.join(ROOT, 'src', 'app', 'ui');

/**
 * The SDK's Client imports Ajv for output-schema validation; the host page passes its own
 * validator (Ajv compiles with eval, which the page's CSP refuses), so Ajv is left out (~120 KB).
 */
const noAjv: Plugin = {
  name: 'no-ajv',
  setup(b) {
    b.onLoad({ filter: /[\\/]sdk[\\/]dist[\\/]esm[\\/]validation[\\/]ajv-provider\.js$/ }, () => ({
      contents:
        "export class AjvJsonSchemaValidator { getValidator() { throw new Error('no JSON Schema validator in this bundle'); } }\n",
      loader: 'js',
    }));
  },
};

/** Minified bytes of the script per package (node_modules/<pkg>, or "src" for our own code). */
export type Inputs = Record<string, number>;

async function script(entry: string, plugins: Plugin[] = []): Promise<{ js: string; inputs: Inputs }> {
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(UI, entry)],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    // Browser builds of dependencies that also ship Node code.
    mainFields: ['browser', 'module', 'main'],
    conditions: ['browser', 'import'],
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [zodEnglishOnly, ...plugins],
    metafile: true,
    logLevel: 'warning',
  });
  const js = r.outputFiles[0]!.text;
  const inputs: Inputs = {};
  for (const out of Object.values(r.metafile.outputs)) {
    for (const [file, i] of Object.entries(out.inputs)) {
      const pkg = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? 'src';
      inputs[pkg] = (inputs[pkg] ?? 0) + i.bytesInOutput;
    }
  }
  // An inline script ends at the first "</script" whatever the JavaScript around it.
  if (/<\/script/i.test(js)) throw new Error(`${entry}: the bundle contains "</script"`);
  return { js, inputs };
}

const inline = (template: string, parts: { STYLE?: string; SCRIPT: string }) =>
  // Function replacers: "$" in the bundle must stay as it is.
  template.replace('/*STYLE*/', () => parts.STYLE ?? '').replace('/*SCRIPT*/', () => parts.SCRIPT);

export interface AppBundle {
  file: string;
  bytes: number;
  gzip_bytes: number;
  /** sha256-... of the inline script, for a Content-Security-Policy. */
  script_hash: string;
  /** Minified script bytes per package. */
  inputs: Inputs;
}

export async function bundleApp(outdir = APP_DIR): Promise<AppBundle[]> {
  mkdirSync(outdir, { recursive: true });
  const uplotCss = readFileSync(path.join(ROOT, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8');
  const style = `${uplotCss}\n${readFileSync(path.join(UI, 'style.css'), 'utf8')}`;
  const [app, host] = await Promise.all([script('main.ts'), script('host.ts', [noAjv])]);
  const files: [string, string, string, Inputs][] = [
    [
      'dashboard.html',
      inline(readFileSync(path.join(UI, 'dashboard.html'), 'utf8'), { STYLE: style, SCRIPT: app.js }),
      app.js,
      app.inputs,
    ],
    ['host.html', inline(readFileSync(path.join(UI, 'host.html'), 'utf8'), { SCRIPT: host.js }), host.js, host.inputs],
  ];
  return files.map(([name, html, js, inputs]) => {
    const file = path.join(outdir, name);
    // Atomically: a server or test reading the file meanwhile sees the old one or the new one whole.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, html);
    renameSync(tmp, file);
    return {
      file,
      bytes: Buffer.byteLength(html),
      gzip_bytes: gzipSync(html, { level: 9 }).length,
      script_hash: `sha256-${createHash('sha256').update(js).digest('base64')}`,
      inputs,
    };
  });
}

async function main(): Promise<void> {
  for (const b of await bundleApp()) {
    process.stderr.write(
      `bundled ${path.relative(ROOT, b.file)}: ${(b.bytes / 1024).toFixed(0)} KB, ${(b.gzip_bytes / 1024).toFixed(0)} KB gzip\n`,
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
