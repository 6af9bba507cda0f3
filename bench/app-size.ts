// Budget (SPEC 9): the MCP App under 300 KB gzip, the whole of it: the ui:// document a host
// renders (dist/app/dashboard.html) and the page GET /dashboard serves to run it in a plain browser
// (dist/app/host.html). Measured on the files scripts/bundle-app.ts writes (built again here, so the
// figures are those of the sources as they are), gzip level 9.
// Run alone: `npx tsc -p tsconfig.json && node dist/bench/app-size.js`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AppBundle, bundleApp } from '../scripts/bundle-app.js';
import { kb, out, table } from './util.js';

export const APP_BUDGET_GZIP_BYTES = 300 * 1024;

export interface AppSizeResult {
  files: { file: string; bytes: number; gzip_bytes: number }[];
  total_bytes: number;
  total_gzip_bytes: number;
  budget_gzip_bytes: number;
  within_budget: boolean;
  /** Minified script bytes per package, both files together, largest first. */
  packages: Record<string, number>;
}

export async function appBundleSize(): Promise<AppSizeResult> {
  const built: AppBundle[] = await bundleApp();
  const packages: Record<string, number> = {};
  for (const b of built) for (const [p, n] of Object.entries(b.inputs)) packages[p] = (packages[p] ?? 0) + n;
  const total_gzip_bytes = built.reduce((n, b) => n + b.gzip_bytes, 0);
  return {
    files: built.map((b) => ({ file: `dist/app/${path.basename(b.file)}`, bytes: b.bytes, gzip_bytes: b.gzip_bytes })),
    total_bytes: built.reduce((n, b) => n + b.bytes, 0),
    total_gzip_bytes,
    budget_gzip_bytes: APP_BUDGET_GZIP_BYTES,
    within_budget: total_gzip_bytes <= APP_BUDGET_GZIP_BYTES,
    packages: Object.fromEntries(Object.entries(packages).sort((a, b) => b[1] - a[1])),
  };
}

/** The bench's lines: per file and in all against the budget, and what weighs most. */
export async function appBundleLines(r?: AppSizeResult): Promise<string[]> {
  const res = r ?? (await appBundleSize());
  const top = Object.entries(res.packages)
    .slice(0, 6)
    .map(([p, n]) => `${p} ${kb(n)}`)
    .join(', ');
  return [
    table(
      ['file', 'bytes', 'gzip'],
      [
        ...res.files.map((f) => [f.file, kb(f.bytes), kb(f.gzip_bytes)]),
        ['whole app', kb(res.total_bytes), kb(res.total_gzip_bytes)],
      ],
    ),
    `budget ${kb(res.budget_gzip_bytes)} gzip: ${res.within_budget ? 'within budget' : 'OVER BUDGET'}`,
    `largest parts (minified, before gzip): ${top}`,
  ];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const line of await appBundleLines()) out(line);
}
