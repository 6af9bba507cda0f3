// Budget (SPEC 9): monitoring reads do not grow with history — `get_endpoint_stats` at 1M recorded
// predictions at most 2x its time at 10k.
//
// Two file-backed emulator data directories (temporary directories) in this process, each with one
// endpoint carrying two deployed versions of a small router, and the library pointed at each as
// `vertex-mcp` points it (createLibrary, emulator backend). Predictions are recorded with the
// emulator's own recording function (recordPrediction, src/emulator/predictions.ts, rollups
// included) in bulk, one transaction per 50,000: timestamps spread over the hour before the run,
// requests of 1-3 instances (one row each), 3% failed, lognormal latencies per version, and one row
// in ten inserted out of time order (a time drawn anywhere in the hour; `outOfOrder` changes the
// share) — 10k records into one, 1M into the other. Then get_endpoint_stats over its default 300 s
// window through each library (one GetEndpoint + its Cloud Monitoring reads), 5 warm-ups, runs interleaved
// between the two so both see the same machine load, medians. The budget figure is `ratio` = p50 at
// 1M / p50 at 10k. A diagnostic times the A/B tests' exact read (armTraffic) the same way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { rng as prng } from '../scripts/prng.js';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { recordPrediction } from '../src/emulator/predictions.js';
import { createLibrary, type Library } from '../src/lib/index.js';
import { routingLines } from './router.js';

const HOUR_MS = 3_600_000;
const WINDOW_SECONDS = 300;
const BATCH = 50_000;

export interface StatsScaleOptions {
  /** Records in the first measurement (default 10,000). */
  small?: number;
  /** Records in the second (default 1,000,000). */
  large?: number;
  /** Timed runs per size (default 21). */
  runs?: number;
  /** Share of the records inserted out of time order, at a time anywhere in the hour (default 0.1). */
  outOfOrder?: number;
}

export interface StatsScaleResult {
  method: string;
  window_seconds: number;
  records_small: number;
  records_large: number;
  out_of_order_share: number;
  p50_10k_ms: number;
  p50_1m_ms: number;
  ratio: number;
  target_ratio: 2;
  within_budget: boolean;
  runs_10k_ms: number[];
  runs_1m_ms: number[];
  /** Seconds spent recording each batch of records (recordPrediction, rollups included). */
  insert_10k_s: number;
  insert_1m_s: number;
  /**
   * Diagnostic: the A/B tests' exact read (PerformanceQueries.armTraffic: requests, failed requests
   * and the latency distribution per version over (now − 30 min − 12.345 s, now], a window whose
   * start cuts through a minute, so that minute's part is read from the records), p50 at each size.
   */
  arm_traffic_p50_10k_ms: number;
  arm_traffic_p50_1m_ms: number;
  /** What the last run answered (the endpoint total), as a sanity check. */
  total_10k: { requests: number; instances: number; errors: number; p95_ms: number | null };
  total_1m: { requests: number; instances: number; errors: number; p95_ms: number | null };
  data_dir_mb: number;
  elapsed_s: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** An endpoint with two deployed router versions (50/50); returns its name and deployed model IDs. */
async function setUp(lib: Library): Promise<{ endpoint: string; deployed: { id: string; model: string }[] }> {
  await lib.files.writeText('gs://vertex-mcp-emulator/bench-stats/train.jsonl', routingLines(90));
  const job = await lib.tuning.submitTuningJob(
    {
      tuning_type: 'supervised',
      base_model: 'local/text-router',
      dataset: { train_uri: 'gs://vertex-mcp-emulator/bench-stats/train.jsonl' },
      hyperparameters: { epochs: 1 },
      output: { name: 'stats-router', version: '1.0.0' },
    },
    { wait: true },
  );
  if (job.state !== 'SUCCEEDED') throw new Error(`tuning ${job.state}: ${job.error}`);
  const v1 = await lib.registry.getModel('stats-router', '1.0.0');
  await lib.registry.uploadModel({
    name: 'stats-router',
    version: '1.1.0',
    serving_container_uri: 'local/text-router',
    artifact_uri: v1.artifact_uri!,
  } as never);
  await lib.endpoints.createEndpoint({
    display_name: 'stats-ep',
    machine_type: 'n1-standard-2',
    accelerator_count: 0,
    min_replicas: 1,
    max_replicas: 1,
    target_utilization: 60,
  });
  await lib.endpoints.deployModel({ endpoint: 'stats-ep', name: 'stats-router', version: '1.0.0' });
  await lib.endpoints.deployModel({
    endpoint: 'stats-ep',
    name: 'stats-router',
    version: '1.1.0',
    traffic_percentage: 50,
  });
  const e = await lib.endpoints.getEndpoint('stats-ep');
  return { endpoint: e.endpoint, deployed: e.deployed.map((d) => ({ id: d.deployed_model_id, model: d.model })) };
}

/**
 * Records exactly `n` rows (requests of 1-3 instances, one row each; the last request may be cut
 * short) over the hour before `nowMs`, in transactions of BATCH rows. Returns the seconds it took.
 */
function record(
  emu: Emulator,
  endpointName: string,
  deployed: { id: string; model: string }[],
  n: number,
  nowMs: number,
  seed: number,
  outOfOrder: number,
): number {
  const rand = prng(seed);
  const endpoint = `projects/bench/locations/us-central1/endpoints/${endpointName}`;
  const started = performance.now();
  let i = 0;
  while (i < n) {
    const end = Math.min(n, i + BATCH);
    emu.store.tx(() => {
      while (i < end) {
        const b = rand() < 0.5 ? 1 : 0;
        const dm = deployed[b % deployed.length]!;
        // In time order across the hour, except a share of the rows: anywhere in the hour.
        const at = rand() < outOfOrder ? rand() : i / n;
        const timeMs = nowMs - HOUR_MS + Math.floor(at * HOUR_MS);
        const failed = rand() < 0.03;
        const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
        const latencyMs = failed ? 0 : (b ? 90 : 40) * Math.exp((b ? 0.8 : 0.5) * z);
        const size = failed ? 1 : 1 + Math.floor(rand() * 3);
        for (let j = 0; j < size && i < end; j++, i++) {
          recordPrediction(emu.store, {
            timeMs,
            endpoint,
            deployedModelId: dm.id,
            model: dm.model,
            requestFirst: j === 0,
            latencyMs: j === 0 ? latencyMs : 0,
            overheadMs: j === 0 ? 0.5 + rand() : 0,
            responseCode: failed ? 500 : 200,
            requestBytes: 60,
            responseBytes: failed ? 0 : 90,
            inputTokens: 6,
            outputTokens: failed ? 0 : 1,
            input: failed ? null : `route this task: write a sql query for sales item ${i}`,
            output: failed ? null : b ? 'sql_agent' : 'coder',
          });
        }
      }
    });
  }
  return (performance.now() - started) / 1000;
}

interface Side {
  dir: string;
  emu: Emulator;
  lib: Library;
  endpoint: string;
  insertS: number;
  ms: number[];
  armMs: number[];
  total?: StatsScaleResult['total_10k'];
}

async function side(records: number, seed: number, outOfOrder: number): Promise<Side> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-bench-stats-'));
  const emu = await startEmulator({ dataDir: dir });
  const backend = { kind: 'emulator' as const, endpoint: async () => emu, project: 'bench', location: 'us-central1' };
  const lib = createLibrary(backend);
  const { endpoint, deployed } = await setUp(lib);
  const insertS = record(emu, endpoint, deployed, records, Date.now(), seed, outOfOrder);
  return { dir, emu, lib, endpoint, insertS, ms: [], armMs: [] };
}

const stats = (s: Side) => s.lib.monitoring.getEndpointStats('stats-ep', WINDOW_SECONDS);
const arm = (s: Side) => {
  const end = Date.now();
  return s.lib.experiments.perf.armTraffic(s.endpoint, end - 1_812_345, end);
};

/** Interleaved timed runs (the order alternates), so both sizes see the same machine load. */
async function measure(a: Side, b: Side, runs: number): Promise<void> {
  for (const s of [a, b]) {
    for (let k = 0; k < 5; k++) {
      await stats(s);
      await arm(s);
    }
  }
  (globalThis as { gc?: () => void }).gc?.();
  for (let k = 0; k < runs; k++) {
    for (const s of k % 2 ? [b, a] : [a, b]) {
      let t = performance.now();
      const r = await stats(s);
      s.ms.push(performance.now() - t);
      s.total = {
        requests: r.total.requests,
        instances: r.total.instances,
        errors: r.total.errors,
        p95_ms: r.total.p95_ms,
      };
      t = performance.now();
      await arm(s);
      s.armMs.push(performance.now() - t);
    }
  }
}

function dirSize(dir: string): number {
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

export async function benchStatsScale(opts: StatsScaleOptions = {}): Promise<StatsScaleResult> {
  const small = opts.small ?? 10_000;
  const large = opts.large ?? 1_000_000;
  const outOfOrder = opts.outOfOrder ?? 0.1;
  const began = performance.now();
  process.env.METADATA_SERVER_DETECTION = 'none';
  const sides: Side[] = [];
  try {
    const a = await side(small, 1, outOfOrder);
    sides.push(a);
    const b = await side(large, 2, outOfOrder);
    sides.push(b);
    await measure(a, b, opts.runs ?? 21);
    const p50Small = median(a.ms);
    const p50Large = median(b.ms);
    return {
      method:
        `get_endpoint_stats (library, ${WINDOW_SECONDS} s window, 2 deployed versions) on an emulator holding ${small} ` +
        `recorded predictions and on one holding ${large}, spread over the last hour ` +
        `(${Math.round(outOfOrder * 100)}% out of time order), file-backed; interleaved runs after 5 warm-ups, medians`,
      window_seconds: WINDOW_SECONDS,
      records_small: small,
      records_large: large,
      out_of_order_share: outOfOrder,
      p50_10k_ms: r3(p50Small),
      p50_1m_ms: r3(p50Large),
      ratio: r3(p50Large / p50Small),
      target_ratio: 2,
      within_budget: p50Large / p50Small <= 2,
      runs_10k_ms: a.ms.map(r3),
      runs_1m_ms: b.ms.map(r3),
      arm_traffic_p50_10k_ms: r3(median(a.armMs)),
      arm_traffic_p50_1m_ms: r3(median(b.armMs)),
      insert_10k_s: r3(a.insertS),
      insert_1m_s: r3(b.insertS),
      total_10k: a.total!,
      total_1m: b.total!,
      data_dir_mb: Math.round(dirSize(b.dir) / 104857.6) / 10,
      elapsed_s: r3((performance.now() - began) / 1000),
    };
  } finally {
    for (const s of sides) {
      await s.lib.close();
      await s.emu.close();
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  }
}

/** Prints the result as the other benchmarks do (a few lines of figures and the verdict). */
export function printStatsScale(r: StatsScaleResult, out: (line: string) => void): void {
  const ms = (x: number) => `${x >= 100 ? x.toFixed(0) : x.toFixed(2)} ms`;
  const spread = (xs: number[]) => `min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))}, ${xs.length} runs`;
  out(r.method);
  out(
    `  ${r.records_small.toLocaleString('en-US')} records: p50 ${ms(r.p50_10k_ms)} (${spread(r.runs_10k_ms)}); ` +
      `recorded in ${r.insert_10k_s.toFixed(2)} s`,
  );
  out(
    `  ${r.records_large.toLocaleString('en-US')} records: p50 ${ms(r.p50_1m_ms)} (${spread(r.runs_1m_ms)}); ` +
      `recorded in ${r.insert_1m_s.toFixed(1)} s; data dir ${r.data_dir_mb} MB`,
  );
  out(
    `  window total at ${r.records_large.toLocaleString('en-US')}: ${r.total_1m.requests} requests, ${r.total_1m.instances} predictions, ` +
      `${r.total_1m.errors} failed, p95 ${r.total_1m.p95_ms === null ? 'n/a' : ms(r.total_1m.p95_ms)}`,
  );
  out(
    `  diagnostic, the A/B tests' exact read over a window cutting through a minute (armTraffic): p50 ` +
      `${ms(r.arm_traffic_p50_10k_ms)} at ${r.records_small.toLocaleString('en-US')}, ${ms(r.arm_traffic_p50_1m_ms)} at ` +
      `${r.records_large.toLocaleString('en-US')} (the cut minute's records are read: bounded by the traffic of a minute)`,
  );
  out(
    `ratio (p50 at 1M / p50 at 10k): ${r.ratio.toFixed(2)}x (target <= ${r.target_ratio}x: ${r.within_budget ? 'within budget' : 'OVER BUDGET'}); ` +
      `${r.elapsed_s.toFixed(1)} s in all`,
  );
}

const SELF = fileURLToPath(import.meta.url);
if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  const [small, large, runs, outOfOrder] = process.argv.slice(2).map(Number);
  benchStatsScale({
    ...(small ? { small } : {}),
    ...(large ? { large } : {}),
    ...(runs ? { runs } : {}),
    ...(outOfOrder !== undefined && !Number.isNaN(outOfOrder) ? { outOfOrder } : {}),
  }).then(
    (r) => {
      printStatsScale(r, (l) => process.stdout.write(`${l}\n`));
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
