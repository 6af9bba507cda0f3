// `npm run bench`: the SPEC 9 budgets as figures. Each figure is a ratio against a baseline measured
// in the same run; nothing is asserted on time. Prints tables and writes bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { VERSION } from '../src/version.js';
import { coldStart, googleModulesAtToolsList } from './coldstart.js';
import { benchDatasetPrep } from './dataset-prep.js';
import { benchPercentiles } from './percentiles.js';
import { benchPredict } from './predict.js';
import { registryRead } from './registry-read.js';
import { toolListSize } from './toolsize.js';
import { benchTraining } from './training.js';
import { kb, ms, out, ROOT, ratio, round, table } from './util.js';

const verdict = (ok: boolean) => (ok ? 'within budget' : 'OVER BUDGET');

async function main(): Promise<void> {
  const started = performance.now();
  out(`vertex-mcp ${VERSION} benchmarks — node ${process.version}, ${os.cpus().length} cpu(s), ${os.platform()}`);

  out('\n## 1. Cold start to a tools/list answer over stdio (spawn -> initialize -> tools/list)');
  const cold = await coldStart(7);
  out(
    table(
      ['server', 'median', 'min', 'max', 'tools', 'runs'],
      [
        [
          'vertex-mcp (serve --data-dir :memory:)',
          ms(cold.vertex_mcp_median_ms),
          ms(Math.min(...cold.vertex_mcp_ms)),
          ms(Math.max(...cold.vertex_mcp_ms)),
          cold.tools.vertex_mcp,
          cold.runs,
        ],
        [
          'baseline: @modelcontextprotocol/server-filesystem',
          ms(cold.filesystem_median_ms),
          ms(Math.min(...cold.filesystem_ms)),
          ms(Math.max(...cold.filesystem_ms)),
          cold.tools.filesystem,
          cold.runs,
        ],
      ],
    ),
  );
  out(
    `ratio (median / baseline median): ${ratio(cold.ratio)} (target <= ${cold.target_ratio}x: ${verdict(cold.ratio <= cold.target_ratio)})`,
  );

  const mods = await googleModulesAtToolsList();
  out(
    `google modules loaded at tools/list: ${mods.at_tools_list.length}${mods.at_tools_list.length ? ` (${mods.at_tools_list.join(', ')})` : ' ()'} ` +
      `of ${mods.modules_at_tools_list} modules loaded`,
  );
  const pk = Object.entries(mods.after_first_call_packages)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  out(
    `control: google modules loaded after the first get_model call: ${mods.after_first_call.length} (${pk || 'none'})`,
  );

  out('\n## 2. Size of the tools/list answer (all toolsets; output schemas included)');
  const size = await toolListSize();
  out(
    table(
      ['tool', 'toolset', 'bytes', 'input schema', 'output schema'],
      size.per_tool.map((t) => [t.name, t.toolset, t.bytes, t.input_schema_bytes, t.output_schema_bytes]),
    ),
  );
  out('');
  out(
    table(
      ['toolset', 'tools', 'bytes'],
      [
        ...size.per_toolset.map((s) => [
          s.toolset,
          s.tools,
          s.tools ? `${s.bytes} (${kb(s.bytes)})` : '0 (not built yet)',
        ]),
        ['total: JSON.stringify(result.tools)', size.tool_count, `${size.tools_bytes} (${kb(size.tools_bytes)})`],
        ['total: whole JSON-RPC response', size.tool_count, `${size.response_bytes} (${kb(size.response_bytes)})`],
      ],
    ),
  );
  out(
    `budget: ${kb(size.budget_bytes)} for every toolset together — response uses ${((100 * size.response_bytes) / size.budget_bytes).toFixed(0)}% ` +
      `(${verdict(size.response_bytes <= size.budget_bytes)}; ${(size.response_bytes / Math.max(1, size.tool_count)).toFixed(0)} bytes/tool)`,
  );

  out('\n## 3. Registry read through MCP over stdio vs the protocol floor (ping), after warm-up');
  const rr = await registryRead(500, 50);
  out(
    table(
      ['request', 'n', 'p50', 'p99', 'mean'],
      [
        [
          'tools/call get_model (emulator)',
          rr.get_model.n,
          ms(rr.get_model.p50_ms),
          ms(rr.get_model.p99_ms),
          ms(rr.get_model.mean_ms),
        ],
        ['baseline: ping', rr.ping.n, ms(rr.ping.p50_ms), ms(rr.ping.p99_ms), ms(rr.ping.mean_ms)],
        [
          'diagnostic: tools/call of an unknown tool',
          rr.unknown_tool.n,
          ms(rr.unknown_tool.p50_ms),
          ms(rr.unknown_tool.p99_ms),
          ms(rr.unknown_tool.mean_ms),
        ],
      ],
    ),
  );
  out(
    `ratio of p50s, get_model / ping: ${ratio(rr.ratio_p50)} (target <= ${rr.target_ratio}x: ${verdict(rr.ratio_p50 <= rr.target_ratio)}; warm-up ${rr.warmup} of each)`,
  );
  out(`diagnostic: get_model p50 / unknown-tool call p50: ${ratio(rr.ratio_p50_vs_unknown_tool)}`);

  const elapsed = (performance.now() - started) / 1000;
  const results = {
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
    registry_read: {
      ...rr,
      get_model: {
        ...rr.get_model,
        p50_ms: round(rr.get_model.p50_ms),
        p99_ms: round(rr.get_model.p99_ms),
        mean_ms: round(rr.get_model.mean_ms),
      },
      ping: {
        ...rr.ping,
        p50_ms: round(rr.ping.p50_ms),
        p99_ms: round(rr.ping.p99_ms),
        mean_ms: round(rr.ping.mean_ms),
      },
      unknown_tool: {
        ...rr.unknown_tool,
        p50_ms: round(rr.unknown_tool.p50_ms),
        p99_ms: round(rr.unknown_tool.p99_ms),
        mean_ms: round(rr.unknown_tool.mean_ms),
      },
      ratio_p50: round(rr.ratio_p50),
      ratio_p50_vs_unknown_tool: round(rr.ratio_p50_vs_unknown_tool),
    },
  };
  out('\n## 4. predict: through the library and through MCP, against the emulator');
  const pr = await benchPredict();
  out(
    table(
      ['path', 'figure'],
      [
        ['model inference in process (the floor without gRPC)', `${pr.in_process_predictions_per_s} predictions/s`],
        [
          'library -> PredictionServiceClient -> emulator, one at a time',
          `${pr.library_predictions_per_s} predictions/s (${(pr.library_vs_in_process * 100).toFixed(1)}% of in-process)`,
        ],
        [
          'MCP tools/call predict (in-memory transport) p50 / p99',
          `${ms(pr.mcp.predict!.p50_ms)} / ${ms(pr.mcp.predict!.p99_ms)}`,
        ],
        ['baseline: ping p50 / p99', `${ms(pr.mcp.ping!.p50_ms)} / ${ms(pr.mcp.ping!.p99_ms)}`],
        [
          'diagnostic: tools/call of an unknown tool p50 / p99',
          `${ms(pr.mcp.unknown_tool!.p50_ms)} / ${ms(pr.mcp.unknown_tool!.p99_ms)}`,
        ],
      ],
    ),
  );
  out(
    `ratio of p50s, predict / ping: ${ratio(pr.ratio_p50_vs_ping)} (target <= 2x: ${verdict(pr.ratio_p50_vs_ping <= 2)}); predict / unknown-tool call: ${ratio(pr.ratio_p50_vs_unknown_tool)}`,
  );
  (results as Record<string, unknown>).predict = pr;

  const tr = benchTraining();
  out(
    `\n## 5. Local trainer: ${tr.supervised_examples_per_s} examples/s supervised, ${tr.peft_examples_per_s} examples/s LoRA rank 8 (${tr.examples} examples x ${tr.epochs} epochs, median of 3, one core)`,
  );
  (results as Record<string, unknown>).training = tr;

  // The heavy ones (a 1 GB archive, 1M prediction records) run with --all or BENCH_ALL=1.
  const all = process.argv.includes('--all') || process.env.BENCH_ALL === '1';
  const heavy: Record<string, unknown> = {};
  if (all) {
    out('\n## 6. Dataset preparation (1 GiB SE-Darwin archive) vs cat and jq');
    heavy.dataset_prep = await benchDatasetPrep();
    out('\n## 7. Percentiles over 1M prediction records (MetricService) vs sorting the same latencies');
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
