// The per-minute rollups of the prediction records (src/emulator/predictions.ts) and the reads over
// them (src/emulator/services/metric_rollup.ts, metric_service.ts): the rollups equal a recount of
// the records after seeded random inserts (out of time order, multi-instance requests, failures,
// latencies on bucket bounds and outside the finite buckets), they are built once for a data dir
// that has records but no rollups, and ListTimeSeries over windows and alignment periods that cut
// through minutes answers exactly what the records say.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetricServiceClient } from '@google-cloud/monitoring/build/src/v3/metric_service_client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rng as prng } from '../../scripts/prng.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import {
  ensurePredictionTables,
  LATENCY_TYPES_SQL,
  type PredictionRecord,
  ROLLUP_VERSION,
  recordPrediction,
} from '../../src/emulator/predictions.js';
import {
  bucketOf,
  Distribution,
  FINITE_BUCKETS,
  GROWTH_FACTOR,
  SCALE_MS,
} from '../../src/emulator/services/metric_distribution.js';
import { planMinutes } from '../../src/emulator/services/metric_rollup.js';
import { Store } from '../../src/emulator/store.js';
import { clientOptions } from './grpc.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const PROJECT = 'p';
const E1 = 'projects/p/locations/us-central1/endpoints/100';
const E2 = 'projects/p/locations/us-central1/endpoints/200';
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const MIN = 60_000;
const PREFIX = 'aiplatform.googleapis.com/prediction/online/';

type Rec = Omit<PredictionRecord, 'id'> & { requestFirst: boolean };

/** Seeded records over (T0, T0 + 20 min], in random time order, with the awkward cases mixed in. */
function generate(seed: number, n: number, endpoints = [E1, E2]): Rec[] {
  const rand = prng(seed);
  const out: Rec[] = [];
  const bounds = Array.from({ length: FINITE_BUCKETS + 1 }, (_, i) => SCALE_MS * GROWTH_FACTOR ** i);
  while (out.length < n) {
    const r = rand();
    // Mostly anywhere in 20 minutes, some exactly on a minute boundary (the end of their minute).
    const timeMs = r < 0.05 ? T0 + MIN * (1 + Math.floor(rand() * 20)) : T0 + 1 + Math.floor(rand() * (20 * MIN - 1));
    const u = rand();
    const responseCode = u < 0.03 ? 500 : u < 0.05 ? 429 : u < 0.07 ? 400 : 200;
    const v = rand();
    const latencyMs =
      v < 0.02
        ? bounds[Math.floor(rand() * bounds.length)]! // exactly on a bucket's lower bound
        : v < 0.03
          ? 0 // underflow
          : v < 0.035
            ? 250_000 // overflow (past the last finite bucket, about 190 s)
            : 40 * Math.exp(0.7 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
    const size = responseCode === 200 ? 1 + Math.floor(rand() * 3) : 1;
    const base = {
      timeMs,
      endpoint: endpoints[Math.floor(rand() * endpoints.length)]!,
      deployedModelId: ['dm-a', 'dm-b', 'dm-c'][Math.floor(rand() * 3)]!,
      model: 'projects/p/locations/us-central1/models/m@1',
      responseCode,
      inputTokens: 3,
      outputTokens: 1,
      input: null,
      output: null,
    };
    for (let j = 0; j < size; j++) {
      out.push({
        ...base,
        requestFirst: j === 0,
        latencyMs: j === 0 ? latencyMs : 0,
        overheadMs: j === 0 ? Math.floor(rand() * 8) / 4 : 0,
        requestBytes: 20 + Math.floor(rand() * 50),
        responseBytes: responseCode === 200 ? 30 + Math.floor(rand() * 40) : 0,
      });
    }
  }
  return out;
}

const minuteOf = (t: number) => Math.ceil(t / MIN);

/** What the rollup tables must hold, recounted from the records in insertion order. */
function recount(recs: Rec[]) {
  const counts = new Map<string, Record<string, number>>();
  const latency = new Map<string, { n: number; stats: { mean: number; m2: number; min: number; max: number }[] }>();
  const buckets = new Map<string, number>();
  for (const r of recs) {
    const m = minuteOf(r.timeMs);
    const ck = [r.endpoint, m, r.deployedModelId, r.responseCode].join('|');
    const c = counts.get(ck) ?? {
      requests: 0,
      predictions: 0,
      request_bytes: 0,
      response_bytes: 0,
      first_ms: r.timeMs,
      last_ms: r.timeMs,
    };
    c.requests! += r.requestFirst ? 1 : 0;
    c.predictions!++;
    c.request_bytes! += r.requestBytes;
    c.response_bytes! += r.responseBytes;
    c.first_ms = Math.min(c.first_ms!, r.timeMs);
    c.last_ms = Math.max(c.last_ms!, r.timeMs);
    counts.set(ck, c);
    if (!r.requestFirst || r.responseCode >= 400) continue;
    const lk = [r.endpoint, m, r.deployedModelId].join('|');
    let l = latency.get(lk);
    if (!l) {
      l = { n: 0, stats: [0, 1, 2].map(() => ({ mean: 0, m2: 0, min: Infinity, max: -Infinity })) };
      latency.set(lk, l);
    }
    l.n++;
    const values = [r.latencyMs, r.overheadMs, r.latencyMs + r.overheadMs];
    values.forEach((x, t) => {
      // Welford, in insertion order, exactly as the trigger updates it.
      const s = l!.stats[t]!;
      const d = x - s.mean;
      s.mean += d / l!.n;
      s.m2 += d * (x - s.mean);
      s.min = Math.min(s.min, x);
      s.max = Math.max(s.max, x);
      const bk = [r.endpoint, t, m, r.deployedModelId, bucketOf(x)].join('|');
      buckets.set(bk, (buckets.get(bk) ?? 0) + 1);
    });
  }
  return { counts, latency, buckets };
}

/** The rollup tables as the same maps. */
function readRollups(store: Store) {
  const counts = new Map<string, Record<string, number>>();
  for (const r of store.db.prepare('SELECT * FROM prediction_rollup_counts').all() as any[]) {
    const { endpoint, minute, deployed_model_id, response_code, ...rest } = r;
    counts.set([endpoint, minute, deployed_model_id, response_code].join('|'), rest);
  }
  const latency = new Map<string, { n: number; stats: { mean: number; m2: number; min: number; max: number }[] }>();
  for (const r of store.db.prepare('SELECT * FROM prediction_rollup_latency').all() as any[]) {
    latency.set([r.endpoint, r.minute, r.deployed_model_id].join('|'), {
      n: r.n,
      stats: LATENCY_TYPES_SQL.map((t) => ({
        mean: r[`${t}_mean`],
        m2: r[`${t}_m2`],
        min: r[`${t}_min`],
        max: r[`${t}_max`],
      })),
    });
  }
  const buckets = new Map<string, number>();
  for (const r of store.db.prepare('SELECT * FROM prediction_rollup_buckets').all() as any[]) {
    buckets.set([r.endpoint, r.latency_type, r.minute, r.deployed_model_id, r.bucket].join('|'), r.n);
  }
  return { counts, latency, buckets };
}

function insertAll(store: Store, recs: Rec[], chunk = 700): void {
  for (let i = 0; i < recs.length; i += chunk) {
    store.tx(() => {
      for (const r of recs.slice(i, i + chunk)) recordPrediction(store, r);
    });
  }
}

describe('per-minute rollups', () => {
  it('equal a recount of the records after seeded random inserts, out of time order included', () => {
    const store = new Store(':memory:');
    ensurePredictionTables(store);
    const recs = generate(7, 6000);
    // Insert half, then the other half: the second lands in minutes the first already filled.
    insertAll(store, recs.slice(0, 3000));
    insertAll(store, recs.slice(3000));
    const got = readRollups(store);
    const want = recount(recs);
    expect(got.counts).toEqual(want.counts);
    // The same Welford updates in the same order: the moments match to the last bit.
    expect(got.latency).toEqual(want.latency);
    expect(got.buckets).toEqual(want.buckets);
    // Sanity: the generator did produce the awkward cases.
    const keys = [...got.buckets.keys()];
    expect(keys.some((k) => k.endsWith('|0'))).toBe(true);
    expect(keys.some((k) => k.endsWith(`|${FINITE_BUCKETS + 1}`))).toBe(true);
    expect(recs.some((r) => r.timeMs % MIN === 0)).toBe(true);
    store.close();
  });

  it('a row inserted out of time order updates its own minute only', () => {
    const store = new Store(':memory:');
    ensurePredictionTables(store);
    const recs = generate(8, 500, [E1]);
    insertAll(store, recs);
    const before = readRollups(store);
    const late: Rec = { ...recs[0]!, timeMs: T0 + 3 * MIN - 5, responseCode: 200, requestFirst: true, latencyMs: 12 };
    recordPrediction(store, late);
    const after = readRollups(store);
    const m = minuteOf(late.timeMs);
    for (const [k, v] of after.counts) {
      if (Number(k.split('|')[1]) !== m) expect(v).toEqual(before.counts.get(k));
    }
    expect(after).toEqual(recount([...recs, late]));
    store.close();
  });

  it('are built once from the records of a data dir that has none, and kept from then on', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-rollup-'));
    try {
      const recs = generate(9, 2000);
      // A data dir from before the rollups: the predictions table as it was, filled directly.
      const old = new Store(dir);
      old.db.exec(`CREATE TABLE predictions (
        id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, endpoint TEXT NOT NULL,
        deployed_model_id TEXT NOT NULL, model TEXT NOT NULL, latency_ms REAL NOT NULL,
        overhead_ms REAL NOT NULL, response_code INTEGER NOT NULL, request_bytes INTEGER NOT NULL,
        response_bytes INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
        input TEXT, output TEXT, request_first INTEGER NOT NULL DEFAULT 1)`);
      const insert = old.db.prepare(
        `INSERT INTO predictions (time_ms, endpoint, deployed_model_id, model, latency_ms, overhead_ms, response_code,
           request_bytes, response_bytes, input_tokens, output_tokens, request_first) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      old.tx(() => {
        for (const r of recs.slice(0, 1500)) {
          insert.run(
            r.timeMs,
            r.endpoint,
            r.deployedModelId,
            r.model,
            r.latencyMs,
            r.overheadMs,
            r.responseCode,
            r.requestBytes,
            r.responseBytes,
            r.inputTokens,
            r.outputTokens,
            r.requestFirst ? 1 : 0,
          );
        }
      });
      old.close();

      const store = new Store(dir);
      ensurePredictionTables(store);
      expect(readRollups(store)).toEqual(recount(recs.slice(0, 1500)));
      expect(store.db.prepare(`SELECT value FROM prediction_rollup_meta WHERE key = 'version'`).pluck().get()).toBe(
        ROLLUP_VERSION,
      );
      // From then on the trigger keeps them.
      insertAll(store, recs.slice(1500));
      expect(readRollups(store)).toEqual(recount(recs));
      store.close();

      // Opened again: nothing is rebuilt (a rebuild would replay in id order, which is the same
      // order, so look at the work instead: the rollup tables keep their pages).
      const again = new Store(dir);
      const spy = vi.spyOn(again.db, 'exec');
      ensurePredictionTables(again);
      expect(spy.mock.calls.some(([sql]) => /CREATE TABLE prediction_rollup_counts/.test(String(sql)))).toBe(false);
      expect(readRollups(again)).toEqual(recount(recs));
      // Another version on disk: rebuilt from the records.
      again.db.exec(`UPDATE prediction_rollup_meta SET value = 0`);
      again.db.exec(`DELETE FROM prediction_rollup_buckets`);
      again.close();
      const rebuilt = new Store(dir);
      ensurePredictionTables(rebuilt);
      expect(readRollups(rebuilt)).toEqual(recount(recs));
      rebuilt.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('planMinutes reads whole minutes from the rollups and only the cut part of a cut minute from the records', () => {
    const store = new Store(':memory:');
    ensurePredictionTables(store);
    const at = (t: number) => ({ ...generate(1, 1, [E1])[0]!, timeMs: t });
    // Records in minutes 1..3 after T0 (T0 is a minute boundary), the last one at T0 + 2 min + 30 s.
    insertAll(store, [
      at(T0 + 10_000),
      at(T0 + 50_000),
      at(T0 + 70_000),
      at(T0 + 100_000),
      at(T0 + 130_000),
      at(T0 + 150_000),
    ]);
    const m1 = T0 / MIN + 1;
    // A window on minute boundaries: every minute whole.
    let p = planMinutes(store, E1, T0, T0 + 3 * MIN, null);
    expect(p.raw).toEqual([]);
    expect([...p.whole.keys()].sort()).toEqual([m1, m1 + 1, m1 + 2]);
    // A window ending "now", after the last record of the current minute: that minute is whole too.
    p = planMinutes(store, E1, T0, T0 + 155_000, null);
    expect(p.raw).toEqual([]);
    // A window starting inside minute 1, between its records: only (start, end of minute 1] is read.
    p = planMinutes(store, E1, T0 + 30_000, T0 + 155_000, null);
    expect(p.raw).toEqual([[T0 + 30_000, T0 + MIN]]);
    expect([...p.whole.keys()].sort()).toEqual([m1 + 1, m1 + 2]);
    // A start before minute 1's first record cuts nothing.
    p = planMinutes(store, E1, T0 + 5_000, T0 + 155_000, null);
    expect(p.raw).toEqual([]);
    // Two alignment periods of 90 s back from T0 + 180 s: the boundary T0 + 90 s cuts minute 2.
    p = planMinutes(store, E1, T0, T0 + 180_000, { kind: 'period', endMs: T0 + 180_000, periodMs: 90_000 });
    expect(p.raw).toEqual([[T0 + MIN, T0 + 2 * MIN]]);
    expect(p.whole.get(m1)).toBe(1);
    expect(p.whole.get(m1 + 2)).toBe(0);
    store.close();
  });

  it('Store.statement compiles a statement once and hands out the same one', () => {
    const store = new Store(':memory:');
    expect(store.statement('SELECT 1')).toBe(store.statement('SELECT 1'));
    store.close();
  });
});

describe('ListTimeSeries over the rollups: exact for any window', () => {
  let emu: Emulator;
  let client: MetricServiceClient;
  let recs: Rec[];
  const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
  const num = (x: unknown) => Number(x);

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    client = new MetricServiceClient(clientOptions(emu, PROJECT) as any);
    recs = generate(11, 8000, [E1]);
    insertAll(emu.store, recs);
  });
  afterAll(async () => {
    await client.close();
    await emu.close();
  });

  /** The truth per (deployed model, cell) over (from, end] with cells of `periodMs` back from end. */
  function truth(fromMs: number, endMs: number, periodMs: number) {
    const requests = new Map<string, number>();
    const latency = new Map<string, Distribution>();
    for (const r of recs) {
      if (!(r.timeMs > fromMs && r.timeMs <= endMs) || r.endpoint !== E1) continue;
      const k = Math.floor((endMs - r.timeMs) / periodMs);
      if (r.requestFirst) {
        const key = `${r.deployedModelId}|${r.responseCode}|${k}`;
        requests.set(key, (requests.get(key) ?? 0) + 1);
      }
      if (r.requestFirst && r.responseCode < 400) {
        const key = `${r.deployedModelId}|${k}`;
        let d = latency.get(key);
        if (!d) {
          d = new Distribution();
          latency.set(key, d);
        }
        d.add(r.latencyMs);
      }
    }
    return { requests, latency };
  }

  // Aligned queries read whole periods back from the end (the oldest may start before startTime),
  // so each case is chosen for where the periods' edges fall among the records.
  it.each([
    // [start offset from T0 (ms), end offset, alignment period (s)]
    [0, 20 * MIN, 1200], // on minute boundaries
    [7 * MIN + 4_321, 17 * MIN + 4_321, 600], // one period, both of its edges inside minutes
    [5 * MIN, 19 * MIN + 4_321, 300], // three periods from T0 + 4 min 4.321 s: every edge cuts a minute
    [2 * MIN + 30_000, 9 * MIN + 30_000, 60], // 60 s periods half a minute off the minutes
    [MIN, 19 * MIN + 59_999, 90], // 90 s periods: every other edge cuts a minute
    [-MIN, 25 * MIN, 420], // wider than the records
  ])(
    'start T0 + %d ms, end T0 + %d ms, period %d s: counts and distributions as the records say',
    async (a, b, period) => {
      const endMs = T0 + b;
      const periods = Math.ceil((b - a) / (period * 1000));
      const fromMs = endMs - periods * period * 1000;
      const want = truth(fromMs, endMs, period * 1000);
      const aggregation = (reducer: string, groupByFields: string[]) => ({
        alignmentPeriod: { seconds: period },
        perSeriesAligner: 'ALIGN_DELTA',
        crossSeriesReducer: reducer,
        groupByFields,
      });
      const base = { name: `projects/${PROJECT}`, interval: { startTime: ts(T0 + a), endTime: ts(endMs) } };
      const [responses] = await client.listTimeSeries({
        ...base,
        filter: `metric.type = "${PREFIX}response_count" AND resource.labels.endpoint_id = "100"`,
        aggregation: aggregation('REDUCE_SUM', ['metric.label.deployed_model_id', 'metric.label.response_code']),
      } as any);
      const got = new Map<string, number>();
      for (const s of responses) {
        for (const p of s.points ?? []) {
          const k = Math.round(
            (endMs - num(p.interval!.endTime!.seconds) * 1000 - (p.interval!.endTime!.nanos ?? 0) / 1e6) /
              (period * 1000),
          );
          got.set(
            `${s.metric!.labels!.deployed_model_id}|${s.metric!.labels!.response_code}|${k}`,
            num(p.value!.int64Value),
          );
        }
      }
      expect(got).toEqual(want.requests);

      const [latencies] = await client.listTimeSeries({
        ...base,
        filter: `metric.type = "${PREFIX}prediction_latencies" AND resource.labels.endpoint_id = "100" AND metric.labels.latency_type = "model"`,
        aggregation: aggregation('REDUCE_SUM', ['metric.label.deployed_model_id']),
      } as any);
      let n = 0;
      for (const s of latencies) {
        for (const p of s.points ?? []) {
          const k = Math.round(
            (endMs - num(p.interval!.endTime!.seconds) * 1000 - (p.interval!.endTime!.nanos ?? 0) / 1e6) /
              (period * 1000),
          );
          const d = p.value!.distributionValue!;
          const w = want.latency.get(`${s.metric!.labels!.deployed_model_id}|${k}`)!;
          expect(w, `cell ${k}`).toBeDefined();
          const wp = w.toProto() as any;
          expect(num(d.count)).toBe(w.count);
          expect((d.bucketCounts ?? []).map(num)).toEqual(wp.bucketCounts.map(num));
          expect(d.range!.min).toBe(w.min);
          expect(d.range!.max).toBe(w.max);
          // Moments merged per minute (Chan) rather than added value by value: equal to rounding.
          expect(Math.abs(d.mean! - w.mean)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(w.mean)));
          expect(Math.abs(d.sumOfSquaredDeviation! - w.m2)).toBeLessThanOrEqual(1e-9 * Math.max(1, w.m2));
          n++;
        }
      }
      expect(n).toBe(want.latency.size);

      // Percentiles pooled over the deployed models: the percentile of the pooled records' distribution.
      const [p95] = await client.listTimeSeries({
        ...base,
        filter: `metric.type = "${PREFIX}prediction_latencies" AND resource.labels.endpoint_id = "100" AND metric.labels.latency_type = "model"`,
        aggregation: aggregation('REDUCE_PERCENTILE_95', []),
      } as any);
      for (const p of p95[0]?.points ?? []) {
        const k = Math.round(
          (endMs - num(p.interval!.endTime!.seconds) * 1000 - (p.interval!.endTime!.nanos ?? 0) / 1e6) /
            (period * 1000),
        );
        const pooled = new Distribution();
        for (const dm of ['dm-a', 'dm-b', 'dm-c']) {
          const d = want.latency.get(`${dm}|${k}`);
          if (d) pooled.merge(d);
        }
        expect(p.value!.doubleValue).toBe(pooled.percentile(95));
      }
    },
  );

  it('raw minute points (ALIGN_NONE) clip the edge minutes to the interval', async () => {
    const startMs = T0 + 2 * MIN + 20_000;
    const endMs = T0 + 6 * MIN + 15_000;
    const [series] = await client.listTimeSeries({
      name: `projects/${PROJECT}`,
      interval: { startTime: ts(startMs), endTime: ts(endMs) },
      filter: `metric.type = "${PREFIX}prediction_count" AND resource.labels.endpoint_id = "100" AND metric.labels.deployed_model_id = "dm-a"`,
    } as any);
    const want = new Map<number, number>();
    for (const r of recs) {
      if (r.deployedModelId === 'dm-a' && r.timeMs > startMs && r.timeMs <= endMs) {
        want.set(minuteOf(r.timeMs), (want.get(minuteOf(r.timeMs)) ?? 0) + 1);
      }
    }
    const got = new Map<number, number>();
    for (const p of series[0]!.points!) {
      got.set(
        Math.ceil((num(p.interval!.endTime!.seconds) * 1000 + (p.interval!.endTime!.nanos ?? 0) / 1e6) / MIN),
        num(p.value!.int64Value),
      );
    }
    expect(got).toEqual(want);
  });

  it('answers from the rollups without re-registering SQL functions (cached statements stay valid)', async () => {
    const read = () =>
      client.listTimeSeries({
        name: `projects/${PROJECT}`,
        interval: { startTime: ts(T0 + 12_345), endTime: ts(T0 + 10 * MIN + 1) },
        filter: `metric.type = "${PREFIX}error_count" AND resource.labels.endpoint_id = "100"`,
        aggregation: { alignmentPeriod: { seconds: 120 }, perSeriesAligner: 'ALIGN_DELTA' },
      } as any);
    const [a] = await read(); // the first scan of a Store registers them
    const fn = vi.spyOn(emu.store.db, 'function');
    const [b] = await read();
    const [c] = await read();
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(fn).not.toHaveBeenCalled();
    fn.mockRestore();
  });
});
