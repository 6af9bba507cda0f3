// PerformanceQueries (src/lib/monitoring/performance.ts) against the emulator, on a fixed dataset
// recorded directly: get_endpoint_stats' numbers are the ones the previous implementation (one
// ListTimeSeries per number: 11 reads, percentiles reduced by the emulator) gave on the same data,
// in four ListTimeSeries whatever the number of versions; the A/B tests' exact read (armTraffic)
// counts exactly the records of a window that cuts through minutes; the client-side percentile of
// pooled distributions is the emulator's REDUCE_PERCENTILE_nn.
import type { MetricServiceClient } from '@google-cloud/monitoring/build/src/v3/metric_service_client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rng as prng } from '../../../scripts/prng.js';
import { type Emulator, startEmulator } from '../../../src/emulator/index.js';
import { type PredictionRecord, recordPrediction, recordReplicas } from '../../../src/emulator/predictions.js';
import { Distribution } from '../../../src/emulator/services/metric_distribution.js';
import { VertexClients } from '../../../src/lib/clients.js';
import {
  histogramPercentile,
  PerformanceQueries,
  poolHistograms,
  toHistogram,
} from '../../../src/lib/monitoring/performance.js';
import { emulatorBackend } from '../../helpers.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const PROJECT = 'test-project';
const EP_ID = '4242';
const EP = `projects/${PROJECT}/locations/us-central1/endpoints/${EP_ID}`;
const OTHER = `projects/${PROJECT}/locations/us-central1/endpoints/4343`;
const PREFIX = 'aiplatform.googleapis.com/prediction/online/';
const DMS = ['dm-a', 'dm-b', 'dm-c']; // dm-c is deployed and takes no traffic

type Rec = Omit<PredictionRecord, 'id'> & { requestFirst: boolean };

let emu: Emulator;
let clients: VertexClients;
let perf: PerformanceQueries;
let monitoring: MetricServiceClient;
let NOW: number;
const recs: Rec[] = [];

beforeAll(async () => {
  emu = await startEmulator({ dataDir: ':memory:' });
  clients = new VertexClients(emulatorBackend(emu));
  perf = new PerformanceQueries(clients);
  monitoring = await clients.monitoring();
  NOW = Date.now();
  const rand = prng(31337);
  const add = (over: Partial<Rec>, size = 1) => {
    const base: Rec = {
      timeMs: NOW - 1000,
      endpoint: EP,
      deployedModelId: 'dm-a',
      model: 'projects/test-project/locations/us-central1/models/m@1',
      requestFirst: true,
      latencyMs: 10,
      overheadMs: 1,
      responseCode: 200,
      requestBytes: 40,
      responseBytes: 60,
      inputTokens: 4,
      outputTokens: 1,
      input: null,
      output: null,
      ...over,
    };
    for (let j = 0; j < size; j++) {
      recs.push(j === 0 ? base : { ...base, requestFirst: false, latencyMs: 0, overheadMs: 0 });
    }
  };
  // 1,500 requests in the last four minutes, in random time order; 1-3 instances; 4% failed.
  for (let i = 0; i < 1500; i++) {
    const dm = rand() < 0.6 ? 'dm-a' : 'dm-b';
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const failed = rand() < 0.04;
    add(
      {
        timeMs: NOW - 1000 - Math.floor(rand() * 239_000),
        deployedModelId: dm,
        latencyMs: failed ? 0 : (dm === 'dm-a' ? 30 : 80) * Math.exp(0.6 * z),
        overheadMs: 0.5 + rand(),
        responseCode: failed ? (rand() < 0.5 ? 500 : 429) : 200,
      },
      failed ? 1 : 1 + Math.floor(rand() * 3),
    );
  }
  // Outside the window (30 minutes ago) and on another endpoint: never counted.
  for (let i = 0; i < 50; i++) add({ timeMs: NOW - 1_800_000 - i, latencyMs: 5000 });
  for (let i = 0; i < 50; i++) add({ endpoint: OTHER, latencyMs: 5000 });
  emu.store.tx(() => {
    for (const r of recs) recordPrediction(emu.store, r);
  });
  recordReplicas(emu.store, { timeMs: NOW - 600_000, endpoint: EP, deployedModelId: 'dm-a', replicas: 2 });
  recordReplicas(emu.store, { timeMs: NOW - 300_000, endpoint: EP, deployedModelId: 'dm-b', replicas: 1 });
});

afterAll(async () => {
  await clients.close();
  await emu.close();
});

const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const num = (v: any) => Number(v?.doubleValue ?? v?.int64Value ?? 0);

/** The previous implementation's reads: one ListTimeSeries per number, percentiles reduced by the emulator. */
async function previousCollect(windowSeconds: number) {
  const end = Date.now();
  const q = async (metric: string, aligner: string, reducer: string, group: boolean, extra = '', w = windowSeconds) => {
    const [series] = await monitoring.listTimeSeries({
      name: `projects/${PROJECT}`,
      filter: `metric.type = "${PREFIX}${metric}" AND resource.type = "aiplatform.googleapis.com/Endpoint" AND resource.labels.endpoint_id = "${EP_ID}"${extra}`,
      interval: { startTime: ts(end - w * 1000), endTime: ts(end) },
      aggregation: {
        alignmentPeriod: { seconds: Math.max(60, w) },
        perSeriesAligner: aligner as never,
        crossSeriesReducer: reducer as never,
        groupByFields: group ? ['metric.label.deployed_model_id'] : [],
      },
    });
    const out = new Map<string, number>();
    for (const s of series) {
      const key = group ? String(s.metric?.labels?.deployed_model_id) : 'all';
      out.set(key, num(s.points?.[0]?.value));
    }
    return out;
  };
  const latency = ' AND metric.labels.latency_type = "model"';
  const out: Record<string, Record<string, number | null>> = {};
  for (const group of [true, false]) {
    const [req, inst, err, p50, p95, p99] = await Promise.all([
      q('response_count', 'ALIGN_DELTA', 'REDUCE_SUM', group),
      q('prediction_count', 'ALIGN_DELTA', 'REDUCE_SUM', group),
      q('error_count', 'ALIGN_DELTA', 'REDUCE_SUM', group),
      q('prediction_latencies', 'ALIGN_DELTA', 'REDUCE_PERCENTILE_50', group, latency),
      q('prediction_latencies', 'ALIGN_DELTA', 'REDUCE_PERCENTILE_95', group, latency),
      q('prediction_latencies', 'ALIGN_DELTA', 'REDUCE_PERCENTILE_99', group, latency),
    ]);
    for (const id of group ? DMS : ['all']) {
      const requests = req.get(id) ?? 0;
      out[id] = {
        requests,
        instances: inst.get(id) ?? 0,
        errors: err.get(id) ?? 0,
        error_rate: requests ? (err.get(id) ?? 0) / requests : null,
        p50_ms: p50.get(id) ?? null,
        p95_ms: p95.get(id) ?? null,
        p99_ms: p99.get(id) ?? null,
      };
    }
  }
  const replicas = await q('replicas', 'ALIGN_MAX', 'REDUCE_SUM', true, '', Math.min(60, windowSeconds));
  for (const id of DMS) out[id]!.replicas = replicas.get(id) ?? null;
  return out;
}

/** The exact figures, from the records themselves. */
function truth(fromMs: number, toMs: number) {
  const per = new Map<string, { requests: number; instances: number; errors: number; latency: Distribution }>();
  for (const r of recs) {
    if (r.endpoint !== EP || !(r.timeMs > fromMs && r.timeMs <= toMs)) continue;
    for (const key of [r.deployedModelId, 'all']) {
      let p = per.get(key);
      if (!p) {
        p = { requests: 0, instances: 0, errors: 0, latency: new Distribution() };
        per.set(key, p);
      }
      p.instances++;
      if (!r.requestFirst) continue;
      p.requests++;
      if (r.responseCode >= 400) p.errors++;
      else p.latency.add(r.latencyMs);
    }
  }
  return per;
}

describe('PerformanceQueries.collect (get_endpoint_stats, get_metrics performance)', () => {
  it('gives the numbers the previous eleven reads gave on the same data', async () => {
    const before = await previousCollect(300);
    const report = await perf.collect(EP_ID, DMS, 300);
    const rows = Object.fromEntries([...report.versions, report.endpoint].map((v) => [v.deployed_model_id, v]));
    for (const id of [...DMS, 'all']) {
      const { replicas, ...rest } = before[id]!;
      expect(rows[id], id).toMatchObject(rest);
      if (id !== 'all') expect(rows[id]!.replicas).toBe(replicas);
    }
    expect(report.endpoint.replicas).toBe(3);
    // And those numbers are the records': exact counts, percentiles of all the values pooled.
    const t = truth(NOW - 300_000, NOW);
    for (const id of ['dm-a', 'dm-b', 'all']) {
      const w = t.get(id)!;
      expect(rows[id]).toMatchObject({ requests: w.requests, instances: w.instances, errors: w.errors });
      expect(rows[id]!.p95_ms).toBe(w.latency.percentile(95));
    }
    expect(rows['dm-c']).toMatchObject({ requests: 0, instances: 0, errors: 0, error_rate: null, p50_ms: null });
    expect(rows.all!.requests).toBe(1500);
  });

  it('reports throughput over the minute-aligned span it read (the window, extended back to a minute boundary)', async () => {
    const report = await perf.collect(EP_ID, DMS, 300);
    const span = report.endpoint.requests / report.endpoint.throughput_rps;
    expect(span).toBeGreaterThanOrEqual(300);
    expect(span).toBeLessThanOrEqual(361);
    expect(report.window_seconds).toBe(300);
  });

  it('reads Cloud Monitoring four times whatever the number of versions, on a whole-minute window', async () => {
    const spy = vi.spyOn(monitoring, 'listTimeSeries');
    try {
      await perf.collect(EP_ID, DMS, 300);
      expect(spy).toHaveBeenCalledTimes(4);
      await perf.collect(EP_ID, [...DMS, 'dm-d', 'dm-e', 'dm-f', 'dm-g'], 600);
      expect(spy).toHaveBeenCalledTimes(8);
      const metrics = spy.mock.calls.slice(0, 4).map((c) => /online\/(\w+)/.exec(String(c[0]?.filter))![1]);
      expect(metrics.sort()).toEqual(['prediction_count', 'prediction_latencies', 'replicas', 'response_count']);
      // The window's start is a minute boundary: the whole-minute rollups answer it.
      for (const [req] of spy.mock.calls.slice(0, 4)) {
        if (String(req?.filter).includes('replicas')) continue;
        const end = Number(req!.interval!.endTime!.seconds) * 1000 + Number(req!.interval!.endTime!.nanos) / 1e6;
        const period = Number(req!.aggregation!.alignmentPeriod!.seconds) * 1000;
        // Whole seconds back from the end: at most a second before a minute boundary.
        const start = end - period;
        expect(Math.ceil(start / 60_000) * 60_000 - start).toBeLessThan(1000);
        expect(period).toBeGreaterThanOrEqual(300_000);
        expect(period).toBeLessThanOrEqual(360_000);
      }
    } finally {
      spy.mockRestore();
    }
  });
});

describe('PerformanceQueries.armTraffic (A/B tests): exact over a window that cuts through minutes', () => {
  it.each([
    [123_456, 0],
    [61_001, 30_000],
    [200_500, 1_000],
  ])('from now - %d ms to now - %d ms', async (back, endBack) => {
    const endMs = NOW - endBack;
    const startMs = NOW - back;
    const traffic = await perf.armTraffic(EP_ID, startMs, endMs);
    // armTraffic reads whole seconds back from the end, 60 at least (Cloud Monitoring's finest period).
    const t = truth(endMs - Math.max(60, Math.ceil((endMs - startMs) / 1000)) * 1000, endMs);
    for (const dm of ['dm-a', 'dm-b']) {
      const w = t.get(dm)!;
      const a = traffic.get(dm)!;
      expect(a.requests).toBe(w.requests);
      expect(a.errors).toBe(w.errors);
      expect(a.latency!.count).toBe(w.latency.count);
      const counts = Array.from(w.latency.counts);
      expect(a.latency!.histogram.counts).toEqual(counts);
      expect(a.latency!.mean_ms).toBeCloseTo(w.latency.mean, 9);
      expect(a.latency!.variance / (w.latency.m2 / (w.latency.count - 1))).toBeCloseTo(1, 9);
    }
  });
});

describe('percentiles of pooled distributions, client-side', () => {
  const sample = (seed: number, n: number, median: number) => {
    const rand = prng(seed);
    const d = new Distribution();
    for (let i = 0; i < n; i++) {
      const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      d.add(i % 97 === 0 ? 1e-4 : i % 89 === 0 ? 3e5 : median * Math.exp(0.9 * z));
    }
    return d;
  };
  const hist = (d: Distribution) => toHistogram(d.toProto() as never)!;

  it('equal the emulator’s REDUCE_PERCENTILE_nn of the pooled values, to the bit', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const a = sample(seed, 50 + seed * 37, 20);
      const b = sample(seed + 100, 10 + seed * 11, 120);
      const pooled = poolHistograms(poolHistograms(undefined, hist(a)), hist(b));
      const merged = new Distribution().merge(a).merge(b);
      expect(pooled.count).toBe(merged.count);
      for (const p of [1, 5, 50, 95, 99, 100]) expect(histogramPercentile(pooled, p)).toBe(merged.percentile(p));
      for (const p of [5, 50, 99]) expect(histogramPercentile(hist(a), p)).toBe(a.percentile(p));
    }
  });

  it('read other bucket layouts by their midpoints, and pool a different layout by midpoint', () => {
    const linear = toHistogram({
      count: 10,
      bucketOptions: { linearBuckets: { numFiniteBuckets: 4, width: 10, offset: 0 } },
      bucketCounts: [0, 2, 3, 5],
    })!;
    expect(linear.bounds).toEqual([0, 10, 20, 30, 40]);
    expect(linear.min).toBeNull();
    // Bucket 0 is the underflow: [0, 10) holds 2, [10, 20) 3, [20, 30) 5.
    expect(histogramPercentile(linear, 50)).toBe(15);
    expect(histogramPercentile(linear, 60)).toBe(25);
    expect(histogramPercentile(linear, 10)).toBe(5);
    const explicit = toHistogram({
      count: 4,
      bucketOptions: { explicitBuckets: { bounds: [1, 5, 25] } },
      bucketCounts: [0, 1, 3],
    })!;
    const pooled = poolHistograms(poolHistograms(undefined, linear), explicit);
    expect(pooled.count).toBe(14);
    // Explicit bucket [1, 5) (midpoint 3) lands in [0, 10); [5, 25) (midpoint 15) in [10, 20).
    expect(pooled.counts).toEqual([0, 3, 6, 5, 0, 0]);
  });
});
