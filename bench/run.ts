// `npm run bench`: the SPEC 9 budgets as figures. Each figure is a ratio against a baseline measured
// in the same run; nothing is asserted on time. Prints tables and writes bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { VERSION } from '../src/version.js';
import { appBundleLines, appBundleSize } from './app-size.js';
import { coldStart, coldStartLines, googleModulesAtToolsList } from './coldstart.js';
import { benchDatasetPrep } from './dataset-prep.js';
import { benchFirstCall, benchHotPath, type LatencyStats } from './hot-path.js';
import { benchHttpThroughput } from './http-throughput.js';
import { benchPercentiles } from './percentiles.js';
import { benchPredict } from './predict.js';
import { benchRegistryScale, printRegistryScale } from './registry-scale.js';
import { benchStatsScale, printStatsScale } from './stats-scale.js';
import { formatToolSize, toolListSize } from './toolsize.js';
import { benchTraining } from './training.js';
import { ms, out, ROOT, ratio, round, table } from './util.js';

const verdict = (ok: boolean) => (ok ? 'within budget' : 'OVER BUDGET');

async function main(): Promise<void> {
  const started = performance.now();
  out(`vertex-mcp ${VERSION} benchmarks — node ${process.version}, ${os.cpus().length} cpu(s), ${os.platform()}`);

  out('\n## 1. Cold start to a tools/list answer over stdio (spawn -> initialize -> tools/list)');
  const cold = await coldStart(7);
  const mods = await googleModulesAtToolsList();
  for (const line of coldStartLines(cold, mods)) out(line);

  out('\n## 2. Size of the tools/list answer (all toolsets; output schemas included)');
  const size = await toolListSize();
  out(formatToolSize(size));

  out('\n## 3. get_model and predict through MCP over stdio vs a no-op tool call, after warm-up');
  const hp = await benchHotPath(400, 50);
  out(
    table(
      ['request', 'n', 'p50', 'p99'],
      [
        ['tools/call get_model (embedded emulator)', hp.get_model],
        ['tools/call predict (embedded emulator)', hp.predict],
        ['baseline: no-op tools/call (a name with no tool)', hp.noop_tool],
        ['diagnostic: ping', hp.ping],
      ].map(([label, st]) => {
        const x = st as LatencyStats;
        return [label as string, x.n, ms(x.p50_ms), ms(x.p99_ms)];
      }),
    ),
  );
  out(
    `ratio of p50s to the no-op call: get_model ${ratio(hp.get_model_ratio)}, predict ${ratio(hp.predict_ratio)} ` +
      `(target <= ${hp.target_ratio}x: ${verdict(Math.max(hp.get_model_ratio, hp.predict_ratio) <= hp.target_ratio)}; warm-up ${hp.warmup} of each)`,
  );

  out('\n## 4. The first get_model right after start (spawn -> initialize -> tools/list, then get_model at once)');
  const fc = await benchFirstCall(5);
  out(
    table(
      ['figure', 'median', 'runs'],
      [
        [
          'cold start to the tools/list answer',
          ms(fc.cold_start_median_ms),
          fc.cold_start_ms.map((x) => x.toFixed(0)).join(', '),
        ],
        [
          'first get_model (starts the emulator, builds the clients)',
          ms(fc.first_get_model_median_ms),
          fc.first_get_model_ms.map((x) => x.toFixed(0)).join(', '),
        ],
      ],
    ),
  );
  out(
    `ratio first get_model / cold start: ${ratio(fc.ratio)} (target <= ${fc.target_ratio}x: ${verdict(fc.ratio <= fc.target_ratio)})`,
  );

  out('\n## 5. predict throughput with 8 concurrent callers: MCP over Streamable HTTP vs the library');
  const ht = await benchHttpThroughput(8, 3, 3);
  out(
    table(
      ['path', 'predictions/s (median of 3 rounds)'],
      [
        ['library, 8 concurrent callers', ht.library_predictions_per_s],
        ['`vertex-mcp --http` (its own process), 8 MCP sessions', ht.http_predictions_per_s],
        ['diagnostic: the HTTP server in this process, next to its 8 sessions', ht.http_same_process_predictions_per_s],
      ],
    ),
  );
  out(
    `ratio HTTP / library: ${(ht.ratio * 100).toFixed(0)}% (target >= ${ht.target_ratio * 100}%: ${verdict(ht.ratio >= ht.target_ratio)}); in one process ${(ht.ratio_same_process * 100).toFixed(0)}%`,
  );

  out('\n## 6. predict, diagnostics: model inference vs the library, one call at a time; MCP in memory');
  const pr = await benchPredict();
  out(
    table(
      ['path', 'figure'],
      [
        ['model inference in process (no RPC)', `${pr.in_process_predictions_per_s} predictions/s`],
        [
          'library -> PredictionServiceClient -> emulator (in-process channel), one at a time',
          `${pr.library_predictions_per_s} predictions/s`,
        ],
        [
          'MCP tools/call predict (in-memory transport) p50 / p99',
          `${ms(pr.mcp.predict!.p50_ms)} / ${ms(pr.mcp.predict!.p99_ms)}`,
        ],
        [
          'no-op tools/call (in-memory) p50 / p99',
          `${ms(pr.mcp.unknown_tool!.p50_ms)} / ${ms(pr.mcp.unknown_tool!.p99_ms)}`,
        ],
      ],
    ),
  );
  out(`ratio of p50s, predict / no-op tools/call (in memory): ${ratio(pr.ratio_p50_vs_unknown_tool)}`);

  out('\n## 7. The registry at 1,000 versions: GetModel by alias and uploads vs 10 versions; list_models answers');
  const rs = await benchRegistryScale();
  printRegistryScale(rs, out);

  out('\n## 8. get_endpoint_stats at 1M recorded predictions vs 10k');
  const ss = await benchStatsScale();
  printStatsScale(ss, out);

  out('\n## 9. The MCP App bundle (the ui:// app and the /dashboard page), gzip');
  const appSize = await appBundleSize();
  for (const line of await appBundleLines(appSize)) out(line);

  const elapsed = (performance.now() - started) / 1000;
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    version: VERSION,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    elapsed_s: round(elapsed, 1),
    cold_start: {
      ...cold,
      vertex_mcp_ms: cold.vertex_mcp_ms.map((x) => round(x)),
      filesystem_ms: cold.filesystem_ms.map((x) => round(x)),
      vertex_mcp_median_ms: round(cold.vertex_mcp_median_ms),
      filesystem_median_ms: round(cold.filesystem_median_ms),
      ratio: round(cold.ratio),
      google_modules_at_tools_list: mods.at_tools_list,
      google_modules_after_first_call: mods.after_first_call_packages,
    },
    tools_list_size: size,
    hot_path: hp,
    first_call: fc,
    http_throughput: ht,
    predict: pr,
    registry_scale: rs,
    stats_scale: ss,
    app_bundle: appSize,
  };

  const tr = benchTraining();
  out(
    `\n## 10. Local trainer: ${tr.supervised_examples_per_s} examples/s supervised, ${tr.peft_examples_per_s} examples/s LoRA rank 8 (${tr.examples} examples x ${tr.epochs} epochs, median of 3, one core)`,
  );
  results.training = tr;

  // The heavy ones (a 1 GB archive, 1M prediction records) run with --all or BENCH_ALL=1.
  const all = process.argv.includes('--all') || process.env.BENCH_ALL === '1';
  const heavy: Record<string, unknown> = {};
  if (all) {
    out('\n## 11. Dataset preparation (1 GiB SE-Darwin archive) vs cat and jq');
    heavy.dataset_prep = await benchDatasetPrep();
    out('\n## 12. Percentiles over 1M prediction records (MetricService) vs sorting the same latencies');
    const pc = (await benchPercentiles()) as { per_size: Record<string, number>[]; ratio: number };
    heavy.percentiles = pc;
    out(
      table(
        [
          'records',
          'ListTimeSeries p95',
          'SELECT + sort',
          'sort only',
          'ratio vs SELECT + sort',
          'p95 error',
          'RSS growth (query)',
          'RSS growth (sort)',
        ],
        pc.per_size.map((r) => [
          r.records!,
          ms(r.list_time_series_median_ms!),
          ms(r.load_and_sort_median_ms!),
          ms(r.sort_only_median_ms!),
          ratio(r.ratio_vs_load_and_sort!),
          `${(r.p95_relative_error! * 100).toFixed(1)}%`,
          `${r.query_peak_rss_growth_mb} MB`,
          `${r.baseline_peak_rss_growth_mb} MB`,
        ]),
      ),
    );
  } else {
    out('\n(dataset preparation and percentile benchmarks: npm run bench -- --all)');
  }
  Object.assign(results, heavy);
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  out(`\nwrote ${path.relative(process.cwd(), file) || file} in ${elapsed.toFixed(1)} s`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
