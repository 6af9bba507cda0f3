// Budgets (SPEC 9, issue 10): the registry at scale, through the library against an embedded
// emulator (in-process channel). One model gets 1,000 versions uploaded through the library (with
// metrics: the whole write path), another 10; then, interleaved so both see the same machine state:
// - GetModel by alias (`models/x@v1-0-5`) on the 10-version and the 1,000-version model: p50 of the
//   1,000 within 1.5x of the 10 (the emulator's alias index);
// - the 10th and the 1,000th upload (medians of eleven uploads from there, alternated): flat, not 2.5x;
// - list_models over 1,000+ versions page by page (listModelsPage): the largest answer, counted as
//   the tool answers (structured result + one text line per version), under 16 KB.
import { performance } from 'node:perf_hooks';
import { startEmulator } from '../src/emulator/index.js';
import { createLibrary } from '../src/lib/index.js';
import { summaryLine } from '../src/lib/registry/registry.js';
import type { ModelVersionSummary } from '../src/lib/registry/types.js';
import { kb, ms, percentile, ratio, round, table } from './util.js';

const CONTAINER = 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest';

export interface RegistryScaleResult {
  versions: number;
  getModelByAlias_p50_10_ms: number;
  getModelByAlias_p50_1000_ms: number;
  /** p50 at 1,000 versions / p50 at 10. */
  ratio: number;
  target: number;
  /** get_model through the library (version and metrics) at 1,000 versions, and the RPCs it makes. */
  library_get_model_p50_ms: number;
  /** Medians of the 10th-20th upload of the small model and the 1,000th-1,010th of the big one, alternated. */
  upload_10th_ms: number;
  upload_1000th_ms: number;
  upload_ratio: number;
  /** The largest list_models answer over every page of every version (structured JSON + text lines). */
  list_models_max_answer_bytes: number;
  list_models_budget_bytes: number;
  /** Pages walked to list every version (no filter), the versions listed, and the walk's total time. */
  pages: number;
  listed_versions: number;
  list_walk_ms: number;
  /** For comparison: every version in one answer (listModels, what list_models answered before pages). */
  list_models_unpaged_bytes: number;
  seconds: number;
}

/** A list_models answer as the tool gives it: the structured result and one text line per version. */
function answerBytes(versions: ModelVersionSummary[], next: string | null): number {
  const lines = versions.map(summaryLine);
  const structured = { versions, count: versions.length, next_page_token: next };
  const more = next ? ` More: call again with page_token "${next}".` : '';
  const text = `${versions.length} version(s)${lines.length ? `: ${lines.join(', ')}` : ''}.${more}`;
  return Buffer.byteLength(JSON.stringify(structured)) + Buffer.byteLength(text);
}

export async function benchRegistryScale(
  opts: { versions?: number; reads?: number } = {},
): Promise<RegistryScaleResult> {
  const n = opts.versions ?? 1000;
  const reads = opts.reads ?? 400;
  const started = performance.now();
  const emu = await startEmulator({ dataDir: ':memory:' });
  const lib = createLibrary({ kind: 'emulator', endpoint: async () => emu, project: 'bench', location: 'us-central1' });
  try {
    const upload = (name: string, version: string) =>
      lib.registry.uploadModel({
        name,
        version,
        serving_container_uri: CONTAINER,
        performance_metrics: { accuracy: 0.9, latency_p95_ms: 120 },
        cost_metrics: { cost_per_1k_requests_usd: 0.5 },
        tags: ['bench'],
      });
    // Warm-up (JIT, first clients), then the small model's 9 versions and the big one's n - 1.
    for (let i = 0; i < 20; i++) await upload('warm', `0.0.${i}`);
    for (let i = 0; i < 9; i++) await upload('small', `1.0.${i}`);
    for (let i = 0; i < n - 1; i++) await upload('big', `1.0.${i}`);
    // The 10th and the n-th version, then ten more of each, alternating so both see the same
    // machine state: the 10th-ish and the 1,000th-ish upload.
    const smallUploads: number[] = [];
    const bigUploads: number[] = [];
    for (let i = 0; i < 11; i++) {
      let t = performance.now();
      await upload('small', `1.0.${9 + i}`);
      smallUploads.push(performance.now() - t);
      t = performance.now();
      await upload('big', `1.0.${n - 1 + i}`);
      bigUploads.push(performance.now() - t);
    }

    const client = await lib.clients.models();
    const parent = `projects/bench/locations/us-central1/models`;
    const small: number[] = [];
    const big: number[] = [];
    const libGet: number[] = [];
    for (let i = 0; i < reads + 50; i++) {
      let t = performance.now();
      await client.getModel({ name: `${parent}/small@v1-0-5` });
      const a = performance.now() - t;
      t = performance.now();
      await client.getModel({ name: `${parent}/big@v1-0-${i % 2 ? 5 : n - 5}` });
      const b = performance.now() - t;
      t = performance.now();
      await lib.registry.getModel('big', `1.0.${(i * 37) % n}`);
      const c = performance.now() - t;
      if (i < 50) continue; // warm-up
      small.push(a);
      big.push(b);
      libGet.push(c);
    }

    let pages = 0;
    let listed = 0;
    let maxBytes = 0;
    let token: string | undefined;
    const walkStarted = performance.now();
    for (;;) {
      const p = await lib.registry.listModelsPage(token ? { page_token: token } : {});
      pages++;
      listed += p.versions.length;
      maxBytes = Math.max(maxBytes, answerBytes(p.versions, p.next_page_token));
      if (!p.next_page_token) break;
      token = p.next_page_token;
    }
    const walkMs = performance.now() - walkStarted;
    const all = await lib.registry.listModels({});
    const unpaged = answerBytes(all, null);

    const p10 = percentile(small, 50);
    const p1000 = percentile(big, 50);
    const u10 = percentile(smallUploads, 50);
    const u1000 = percentile(bigUploads, 50);
    return {
      versions: n,
      getModelByAlias_p50_10_ms: round(p10, 4),
      getModelByAlias_p50_1000_ms: round(p1000, 4),
      ratio: round(p1000 / p10),
      target: 1.5,
      library_get_model_p50_ms: round(percentile(libGet, 50), 4),
      upload_10th_ms: round(u10),
      upload_1000th_ms: round(u1000),
      upload_ratio: round(u1000 / u10),
      list_models_max_answer_bytes: maxBytes,
      list_models_budget_bytes: 16 * 1024,
      pages,
      listed_versions: listed,
      list_walk_ms: round(walkMs),
      list_models_unpaged_bytes: unpaged,
      seconds: round((performance.now() - started) / 1000, 1),
    };
  } finally {
    await lib.close();
    await emu.close();
  }
}

const verdict = (ok: boolean) => (ok ? 'within budget' : 'OVER BUDGET');

export function printRegistryScale(r: RegistryScaleResult, out: (line?: string) => void): void {
  out(
    table(
      ['measure', `10 versions`, `${r.versions} versions`, 'ratio'],
      [
        ['GetModel by alias, p50', ms(r.getModelByAlias_p50_10_ms), ms(r.getModelByAlias_p50_1000_ms), ratio(r.ratio)],
        ['upload (10th / 1,000th, median of 11)', ms(r.upload_10th_ms), ms(r.upload_1000th_ms), ratio(r.upload_ratio)],
      ],
    ),
  );
  out(
    `GetModel by alias at ${r.versions} versions / at 10: ${ratio(r.ratio)} (target <= ${r.target}x: ${verdict(r.ratio <= r.target)})`,
  );
  out(`get_model through the library at ${r.versions} versions (one RPC): p50 ${ms(r.library_get_model_p50_ms)}`);
  out(
    `list_models: ${r.pages} pages for ${r.listed_versions} versions in ${ms(r.list_walk_ms)}; largest answer ${r.list_models_max_answer_bytes} B (${kb(r.list_models_max_answer_bytes)}; budget ${kb(r.list_models_budget_bytes)}: ${verdict(r.list_models_max_answer_bytes <= r.list_models_budget_bytes)}); unpaged it would be ${kb(r.list_models_unpaged_bytes)}`,
  );
}
