// Contract tests for the emulated Cloud Monitoring MetricService (ListTimeSeries over the Vertex AI
// online-prediction metrics), through Google's official client over gRPC. The data are recorded
// directly with recordPrediction / recordReplicas: 20,000 requests with lognormal latencies from a
// seeded PRNG across two deployed models (served requests of 1-3 instances: one record each, the
// first carrying the request's latencies), plus records around the interval's edges and in other
// endpoints and projects.
import net from 'node:net';
import { MetricServiceClient } from '@google-cloud/monitoring/build/src/v3/metric_service_client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng as prng } from '../../scripts/prng.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type PredictionRecord, recordPrediction, recordReplicas } from '../../src/emulator/predictions.js';
import {
  bucketOf,
  Distribution,
  FINITE_BUCKETS,
  GROWTH_FACTOR,
  MAX_RELATIVE_ERROR,
  SCALE_MS,
} from '../../src/emulator/services/metric_distribution.js';
import { clientOptions, expectStatus, TEST_CHANNEL } from './grpc.js';

// No GCE metadata server here: skip google-auth's probe for it (insecure sslCreds skip auth anyway).
process.env.METADATA_SERVER_DETECTION = 'none';

// Every TCP connection this file makes, to check nothing but the emulator is contacted (no GCE
// metadata server, no googleapis.com).
const connections: string[] = [];
const socketConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]) {
  // net.connect() passes its normalised [options, callback] array as the first argument.
  const o = Array.isArray(args[0]) ? args[0][0] : args[0];
  connections.push(o && typeof o === 'object' ? String(o.host ?? o.path ?? '') : String(args[1] ?? 'localhost'));
  return (socketConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof socketConnect;

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const PROJECT = 'p';
const NAME = `projects/${PROJECT}`;
const PREFIX = 'aiplatform.googleapis.com/prediction/online/';
const E1 = 'projects/p/locations/us-central1/endpoints/100';
const E2 = 'projects/p/locations/europe-west4/endpoints/200';
const E_OTHER_PROJECT = 'projects/q/locations/us-central1/endpoints/300';
/** The query interval: (T0, T1], ten minutes on minute boundaries. */
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const T1 = T0 + 600_000;

function lognormal(rand: () => number, median: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return median * Math.exp(sigma * z);
}

/** Nearest-rank percentile: the value of rank ceil(p·n/100). */
function exactPercentile(xs: number[], p: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.max(1, Math.ceil((p * s.length) / 100)) - 1]!;
}

const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const num = (x: unknown): number =>
  x && typeof x === 'object' && 'toNumber' in x ? (x as { toNumber(): number }).toNumber() : Number(x);

type Rec = Omit<PredictionRecord, 'id'>;
const rec = (over: Partial<Rec>): Rec => ({
  timeMs: T0 + 1,
  endpoint: E1,
  deployedModelId: 'dm-a',
  model: 'projects/p/locations/us-central1/models/m@1',
  latencyMs: 10,
  overheadMs: 2,
  responseCode: 200,
  requestBytes: 100,
  responseBytes: 200,
  inputTokens: 5,
  outputTokens: 3,
  input: null,
  output: null,
  ...over,
});

describe('MetricService.ListTimeSeries (emulated, official client)', () => {
  let emu: Emulator;
  let client: MetricServiceClient;
  /** What was recorded in (T0, T1] on E1, per deployed model. */
  const truth = {
    latencies: { 'dm-a': [] as number[], 'dm-b': [] as number[] },
    overheads: { 'dm-a': [] as number[], 'dm-b': [] as number[] },
    /** Predictions (records: instances, and failed requests). */
    count: { 'dm-a': 0, 'dm-b': 0 },
    /** Requests. */
    requests: { 'dm-a': 0, 'dm-b': 0 },
    errors: { 'dm-a': 0, 'dm-b': 0 },
    codes: {} as Record<string, number>,
    perMinute: { 'dm-a': new Map<number, number>(), 'dm-b': new Map<number, number>() },
    requestBytes: 0,
  };

  const list = async (req: Record<string, unknown>, opts: Record<string, unknown> = {}) => {
    const [series] = await client.listTimeSeries(
      { name: NAME, interval: { startTime: ts(T0), endTime: ts(T1) }, ...req } as any,
      opts,
    );
    return series;
  };
  const filter = (metric: string, ...more: string[]) =>
    [`metric.type = "${PREFIX}${metric}"`, `resource.type = "aiplatform.googleapis.com/Endpoint"`, ...more].join(
      ' AND ',
    );
  const e1 = 'resource.labels.endpoint_id = "100"';
  const whole = (aligner: string, reducer?: string, groupByFields?: string[]) => ({
    alignmentPeriod: { seconds: 600 },
    perSeriesAligner: aligner,
    ...(reducer ? { crossSeriesReducer: reducer } : {}),
    ...(groupByFields ? { groupByFields } : {}),
  });

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    client = new MetricServiceClient(clientOptions(emu, PROJECT) as any);
    const rand = prng(20250101);
    const records: Rec[] = [];
    for (let i = 0; i < 20_000; i++) {
      const dm = i % 2 === 0 ? 'dm-a' : 'dm-b';
      const latencyMs = dm === 'dm-a' ? lognormal(rand, 40, 0.5) : lognormal(rand, 90, 0.8);
      const overheadMs = 0.5 + 4 * rand();
      const timeMs = T0 + 1 + Math.floor(rand() * 599_999);
      const r = rand();
      const responseCode = r < 0.02 ? 500 : r < 0.035 ? 429 : r < 0.06 ? 400 : 200;
      const requestBytes = 50 + Math.floor(rand() * 100);
      // A served request has 1-3 instances: one record each, latencies on the first only.
      const size = responseCode === 200 ? 1 + (i % 3) : 1;
      records.push(rec({ timeMs, deployedModelId: dm, latencyMs, overheadMs, responseCode, requestBytes }));
      for (let j = 1; j < size; j++) {
        records.push(
          rec({ timeMs, deployedModelId: dm, latencyMs: 0, overheadMs: 0, requestBytes, requestFirst: false }),
        );
      }
      truth.count[dm] += size;
      truth.requests[dm]++;
      truth.codes[`${dm}/${responseCode}`] = (truth.codes[`${dm}/${responseCode}`] ?? 0) + 1;
      if (responseCode >= 400) truth.errors[dm]++;
      else {
        truth.latencies[dm].push(latencyMs);
        truth.overheads[dm].push(overheadMs);
      }
      const minute = Math.ceil(timeMs / 60_000);
      truth.perMinute[dm].set(minute, (truth.perMinute[dm].get(minute) ?? 0) + size);
      truth.requestBytes += requestBytes * size;
    }
    // The interval is (T0, T1]: a record at T0 is out, one at T1 is in.
    records.push(rec({ timeMs: T0, latencyMs: 1e5 }));
    records.push(rec({ timeMs: T1, deployedModelId: 'dm-b', latencyMs: 90, overheadMs: 1 }));
    truth.count['dm-b']++;
    truth.requests['dm-b']++;
    truth.codes['dm-b/200'] = (truth.codes['dm-b/200'] ?? 0) + 1;
    truth.latencies['dm-b'].push(90);
    truth.overheads['dm-b'].push(1);
    truth.perMinute['dm-b'].set(T1 / 60_000, (truth.perMinute['dm-b'].get(T1 / 60_000) ?? 0) + 1);
    truth.requestBytes += 100;
    records.push(rec({ timeMs: T1 + 1, latencyMs: 1e5 }));
    // Other endpoints and another project.
    for (let i = 0; i < 50; i++)
      records.push(rec({ endpoint: E2, deployedModelId: 'dm-c', timeMs: T0 + 1000 * (i + 1) }));
    for (let i = 0; i < 70; i++) records.push(rec({ endpoint: E_OTHER_PROJECT, deployedModelId: 'dm-a' }));
    emu.store.db.transaction(() => {
      for (const r of records) recordPrediction(emu.store, r);
    })();
    // Replicas of dm-a on E1: 1 from before the interval, 3 at +150 s, 2 at +400 s; dm-b: 1 at +60 s.
    recordReplicas(emu.store, { timeMs: T0 - 30_000, endpoint: E1, deployedModelId: 'dm-a', replicas: 1 });
    recordReplicas(emu.store, { timeMs: T0 + 150_000, endpoint: E1, deployedModelId: 'dm-a', replicas: 3 });
    recordReplicas(emu.store, { timeMs: T0 + 400_000, endpoint: E1, deployedModelId: 'dm-a', replicas: 2 });
    recordReplicas(emu.store, { timeMs: T0 + 60_000, endpoint: E1, deployedModelId: 'dm-b', replicas: 1 });
    recordReplicas(emu.store, { timeMs: T1 + 10_000, endpoint: E1, deployedModelId: 'dm-b', replicas: 9 });
  });

  afterAll(async () => {
    await client.close();
    await emu.close();
    net.Socket.prototype.connect = socketConnect;
  });

  describe('prediction_latencies (distribution)', () => {
    const pooled = () => [...truth.latencies['dm-a'], ...truth.latencies['dm-b']];

    it.each([
      ['REDUCE_PERCENTILE_50', 50],
      ['REDUCE_PERCENTILE_95', 95],
      ['REDUCE_PERCENTILE_99', 99],
      ['REDUCE_PERCENTILE_05', 5],
    ])('%s over ALIGN_DELTA pools both models: within the stated %s error bound', async (reducer, p) => {
      const series = await list({
        filter: filter('prediction_latencies', e1, 'metric.labels.latency_type = "model"'),
        aggregation: whole('ALIGN_DELTA', reducer),
      });
      expect(series).toHaveLength(1);
      expect(series[0]!.valueType).toBe('DOUBLE');
      expect(series[0]!.points).toHaveLength(1);
      const got = series[0]!.points![0]!.value!.doubleValue!;
      const exact = exactPercentile(pooled(), p);
      expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
    });

    it('pools histograms rather than averaging per-model percentiles', async () => {
      const series = await list({
        filter: filter('prediction_latencies', e1, 'metric.labels.latency_type = "model"'),
        aggregation: whole('ALIGN_PERCENTILE_95'),
      });
      expect(series.map((s) => s.metric!.labels!.deployed_model_id)).toEqual(['dm-a', 'dm-b']);
      const perModel = series.map((s) => s.points![0]!.value!.doubleValue!);
      for (const [i, dm] of (['dm-a', 'dm-b'] as const).entries()) {
        const exact = exactPercentile(truth.latencies[dm], 95);
        expect(Math.abs(perModel[i]! - exact) / exact).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
      }
      // The average of the two p95s is far from the pooled p95: the test above would notice it.
      const exactPooled = exactPercentile(pooled(), 95);
      const averaged = (perModel[0]! + perModel[1]!) / 2;
      expect(Math.abs(averaged - exactPooled) / exactPooled).toBeGreaterThan(3 * MAX_RELATIVE_ERROR);
    });

    it('groups pooled percentiles by deployed model with group_by_fields', async () => {
      const series = await list({
        filter: filter('prediction_latencies', e1, 'metric.labels.latency_type = "model"'),
        aggregation: whole('ALIGN_DELTA', 'REDUCE_PERCENTILE_99', ['metric.label.deployed_model_id']),
      });
      expect(series.map((s) => s.metric!.labels)).toEqual([
        { deployed_model_id: 'dm-a' },
        { deployed_model_id: 'dm-b' },
      ]);
      expect(series[0]!.resource!.labels).toEqual({});
      for (const [i, dm] of (['dm-a', 'dm-b'] as const).entries()) {
        const exact = exactPercentile(truth.latencies[dm], 99);
        const got = series[i]!.points![0]!.value!.doubleValue!;
        expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
      }
    });

    it('ALIGN_DELTA returns exponential-bucket distributions with exact count, mean and deviation', async () => {
      const series = await list({
        filter: filter('prediction_latencies', e1, 'metric.labels.deployed_model_id = "dm-a"'),
        aggregation: whole('ALIGN_DELTA'),
      });
      expect(series.map((s) => s.metric!.labels!.latency_type)).toEqual(['model', 'overhead', 'total']);
      for (const s of series) {
        expect(s.metricKind).toBe('DELTA');
        expect(s.valueType).toBe('DISTRIBUTION');
        expect(s.unit).toBe('ms');
        expect(s.resource!.labels).toEqual({ resource_container: 'p', location: 'us-central1', endpoint_id: '100' });
        expect(s.points![0]!.interval!.startTime!.seconds).toEqual(String(T0 / 1000));
        expect(s.points![0]!.interval!.endTime!.seconds).toEqual(String(T1 / 1000));
      }
      const lat = truth.latencies['dm-a'];
      const ovh = truth.overheads['dm-a'];
      const expected = {
        model: lat,
        overhead: ovh,
        total: lat.map((x, i) => x + ovh[i]!),
      };
      for (const s of series) {
        const xs = expected[s.metric!.labels!.latency_type as keyof typeof expected];
        const d = s.points![0]!.value!.distributionValue!;
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const ssd = xs.reduce((a, b) => a + (b - mean) ** 2, 0);
        expect(num(d.count)).toBe(xs.length);
        expect(d.mean).toBeCloseTo(mean, 6);
        expect(Math.abs(d.sumOfSquaredDeviation! - ssd) / ssd).toBeLessThan(1e-9);
        expect(d.bucketOptions!.exponentialBuckets).toEqual({
          numFiniteBuckets: FINITE_BUCKETS,
          growthFactor: GROWTH_FACTOR,
          scale: SCALE_MS,
        });
        expect(d.bucketCounts!.map(num).reduce((a, b) => a + b, 0)).toBe(xs.length);
        expect(d.range).toEqual({ min: Math.min(...xs), max: Math.max(...xs) });
      }
    });

    it('REDUCE_SUM pools the distributions; REDUCE_MEAN is the pooled mean', async () => {
      const f = filter('prediction_latencies', e1, 'metric.labels.latency_type = one_of("model")');
      const [sum] = await list({ filter: f, aggregation: whole('ALIGN_DELTA', 'REDUCE_SUM') });
      const [mean] = await list({ filter: f, aggregation: whole('ALIGN_DELTA', 'REDUCE_MEAN') });
      const xs = pooled();
      const exactMean = xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(num(sum!.points![0]!.value!.distributionValue!.count)).toBe(xs.length);
      expect(mean!.points![0]!.value!.doubleValue).toBeCloseTo(exactMean, 6);
    });

    it('raw points (ALIGN_NONE) are 60 s distributions, newest first', async () => {
      const series = await list({
        filter: filter(
          'prediction_latencies',
          e1,
          'metric.labels.latency_type = "model"',
          'metric.labels.deployed_model_id = "dm-a"',
        ),
      });
      expect(series).toHaveLength(1);
      const points = series[0]!.points!;
      expect(points).toHaveLength(10);
      const ends = points.map((p) => num(p.interval!.endTime!.seconds));
      expect(ends).toEqual([...ends].sort((a, b) => b - a));
      expect(ends[0]).toBe(T1 / 1000);
      for (const p of points) expect(num(p.interval!.endTime!.seconds) - num(p.interval!.startTime!.seconds)).toBe(60);
      const total = points.reduce((a, p) => a + num(p.value!.distributionValue!.count), 0);
      expect(total).toBe(truth.latencies['dm-a'].length);
    });
  });

  describe('counts', () => {
    it('prediction_count counts predictions (instances), not requests', async () => {
      expect(truth.count['dm-a']).toBeGreaterThan(1.5 * truth.requests['dm-a']);
    });

    it('prediction_count per deployed model matches exactly, the interval being (start, end]', async () => {
      const series = await list({ filter: filter('prediction_count', e1), aggregation: whole('ALIGN_DELTA') });
      expect(series.map((s) => [s.metric!.labels!.deployed_model_id, num(s.points![0]!.value!.int64Value)])).toEqual([
        ['dm-a', truth.count['dm-a']],
        ['dm-b', truth.count['dm-b']],
      ]);
      expect(series[0]!.metricKind).toBe('DELTA');
      expect(series[0]!.valueType).toBe('INT64');
    });

    it('REDUCE_SUM across endpoints of the project, grouped by endpoint', async () => {
      const series = await list({
        filter: filter('prediction_count'),
        aggregation: whole('ALIGN_DELTA', 'REDUCE_SUM', ['resource.label.endpoint_id']),
      });
      expect(series.map((s) => [s.resource!.labels!.endpoint_id, num(s.points![0]!.value!.int64Value)])).toEqual([
        ['100', truth.count['dm-a'] + truth.count['dm-b']],
        ['200', 50],
      ]);
    });

    it('error_count counts failed requests (response codes >= 400)', async () => {
      const series = await list({ filter: filter('error_count', e1), aggregation: whole('ALIGN_SUM') });
      expect(series.map((s) => [s.metric!.labels!.deployed_model_id, num(s.points![0]!.value!.int64Value)])).toEqual([
        ['dm-a', truth.errors['dm-a']],
        ['dm-b', truth.errors['dm-b']],
      ]);
      expect(truth.errors['dm-a']).toBeGreaterThan(0);
    });

    it('response_count counts requests (first records) by response_code', async () => {
      const series = await list({
        filter: filter('response_count', e1),
        aggregation: whole('ALIGN_DELTA', 'REDUCE_SUM', [
          'metric.label.response_code',
          'metric.label.deployed_model_id',
        ]),
      });
      const got = Object.fromEntries(
        series.map((s) => [
          `${s.metric!.labels!.deployed_model_id}/${s.metric!.labels!.response_code}`,
          num(s.points![0]!.value!.int64Value),
        ]),
      );
      expect(got).toEqual(truth.codes);
      const requests = Object.values(got).reduce((a, b) => a + b, 0);
      expect(requests).toBe(truth.requests['dm-a'] + truth.requests['dm-b']);
      expect(requests).toBeLessThan(truth.count['dm-a'] + truth.count['dm-b']);
      expect(Object.keys(got).map((k) => k.split('/')[1])).toEqual(
        expect.arrayContaining(['200', '400', '429', '500']),
      );
      const only429 = await list({
        filter: filter('response_count', e1, 'metric.labels.response_code = "429"'),
        aggregation: whole('ALIGN_DELTA', 'REDUCE_SUM'),
      });
      expect(num(only429[0]!.points![0]!.value!.int64Value)).toBe(truth.codes['dm-a/429']! + truth.codes['dm-b/429']!);
    });

    it('ALIGN_RATE is the count over the period in seconds, per 60 s period, newest first', async () => {
      const series = await list({
        filter: filter('prediction_count', e1, 'metric.labels.deployed_model_id = "dm-b"'),
        aggregation: { alignmentPeriod: { seconds: 60 }, perSeriesAligner: 'ALIGN_RATE' },
      });
      expect(series).toHaveLength(1);
      expect(series[0]!.metricKind).toBe('GAUGE');
      expect(series[0]!.valueType).toBe('DOUBLE');
      expect(series[0]!.unit).toBe('1/s');
      const points = series[0]!.points!;
      expect(points).toHaveLength(10);
      for (const p of points) {
        const end = num(p.interval!.endTime!.seconds) * 1000;
        expect(p.value!.doubleValue).toBeCloseTo(truth.perMinute['dm-b'].get(end / 60_000)! / 60, 12);
      }
      expect(num(points[0]!.interval!.endTime!.seconds)).toBe(T1 / 1000);
    });

    it('ALIGN_MEAN / ALIGN_MAX of a count fold the raw 60 s points', async () => {
      const f = filter('prediction_count', e1, 'metric.labels.deployed_model_id = "dm-a"');
      const perMinute = [...truth.perMinute['dm-a'].values()];
      const [mean] = await list({ filter: f, aggregation: whole('ALIGN_MEAN') });
      const [max] = await list({ filter: f, aggregation: whole('ALIGN_MAX') });
      expect(mean!.points![0]!.value!.doubleValue).toBeCloseTo(truth.count['dm-a'] / perMinute.length, 9);
      expect(num(max!.points![0]!.value!.int64Value)).toBe(Math.max(...perMinute));
    });

    it('raw prediction_count points (ALIGN_NONE) are per minute and add up', async () => {
      const [s] = await list({ filter: filter('prediction_count', e1, 'metric.labels.deployed_model_id = "dm-a"') });
      expect(s!.points!.map((p) => num(p.value!.int64Value))).toEqual(
        [...truth.perMinute['dm-a'].entries()].sort((a, b) => b[0] - a[0]).map(([, n]) => n),
      );
    });

    it('network/received_bytes_count sums request bytes', async () => {
      const series = await list({
        filter: filter('network/received_bytes_count', e1),
        aggregation: whole('ALIGN_DELTA', 'REDUCE_SUM'),
      });
      expect(num(series[0]!.points![0]!.value!.int64Value)).toBe(truth.requestBytes);
      expect(series[0]!.unit).toBe('By');
    });

    it('reads only the projects/{project} named', async () => {
      const [series] = await client.listTimeSeries({
        name: 'projects/q',
        filter: filter('prediction_count'),
        interval: { startTime: ts(T0), endTime: ts(T1) },
        aggregation: whole('ALIGN_DELTA', 'REDUCE_SUM'),
      } as any);
      expect(series.map((s) => num(s.points![0]!.value!.int64Value))).toEqual([70]);
    });
  });

  describe('filters', () => {
    it('supports one_of, starts_with, != and label aliases', async () => {
      const total = (series: any[]) => series.reduce((a, s) => a + num(s.points[0].value.int64Value), 0);
      const agg = whole('ALIGN_DELTA');
      expect(
        total(
          await list({
            filter: filter('prediction_count', 'metric.label.deployed_model_id = one_of("dm-b", "dm-c")'),
            aggregation: agg,
          }),
        ),
      ).toBe(truth.count['dm-b'] + 50);
      expect(
        total(
          await list({
            filter: filter('prediction_count', 'resource.labels.location = starts_with("europe-")'),
            aggregation: agg,
          }),
        ),
      ).toBe(50);
      expect(
        total(
          await list({
            filter: filter('prediction_count', e1, 'metric.labels.deployed_model_id != "dm-a"'),
            aggregation: agg,
          }),
        ),
      ).toBe(truth.count['dm-b']);
      // Juxtaposed comparisons mean AND, as in Cloud Monitoring.
      expect(
        total(
          await list({
            filter: `metric.type="${PREFIX}prediction_count" resource.label.endpoint_id="200"`,
            aggregation: agg,
          }),
        ),
      ).toBe(50);
      expect(
        await list({ filter: filter('prediction_count', 'resource.labels.endpoint_id = "999"'), aggregation: agg }),
      ).toEqual([]);
    });

    it('a known metric the emulator does not measure answers no series', async () => {
      expect(await list({ filter: filter('cpu/utilization'), aggregation: whole('ALIGN_MEAN') })).toEqual([]);
    });
  });

  describe('replicas (gauge)', () => {
    it('ALIGN_NONE samples every 60 s back from endTime follow the recorded events', async () => {
      const series = await list({ filter: filter('replicas', e1) });
      expect(series.map((s) => s.metric!.labels!.deployed_model_id)).toEqual(['dm-a', 'dm-b']);
      const [a, b] = series;
      expect(a!.metricKind).toBe('GAUGE');
      expect(a!.valueType).toBe('INT64');
      // Samples at T1, T1-60s, ..., T0+60s (10 samples in (T0, T1]).
      const at = (s: typeof a) =>
        s!.points!.map((p) => [num(p.interval!.endTime!.seconds) - T0 / 1000, num(p.value!.int64Value)]);
      expect(at(a)).toEqual([
        [600, 2],
        [540, 2],
        [480, 2],
        [420, 2],
        [360, 3],
        [300, 3],
        [240, 3],
        [180, 3],
        [120, 1],
        [60, 1],
      ]);
      // dm-b starts at +60 s; its change after T1 is not seen.
      expect(at(b).map(([, v]) => v)).toEqual(Array(10).fill(1));
    });

    it('ALIGN_MAX / ALIGN_MEAN over 300 s periods and REDUCE_SUM across models', async () => {
      const agg = (aligner: string, reducer?: string) => ({
        alignmentPeriod: { seconds: 300 },
        perSeriesAligner: aligner,
        ...(reducer ? { crossSeriesReducer: reducer } : {}),
      });
      const [max] = await list({
        filter: filter('replicas', e1, 'metric.labels.deployed_model_id = "dm-a"'),
        aggregation: agg('ALIGN_MAX'),
      });
      expect(max!.points!.map((p) => num(p.value!.int64Value))).toEqual([3, 3]);
      const [mean] = await list({
        filter: filter('replicas', e1, 'metric.labels.deployed_model_id = "dm-a"'),
        aggregation: agg('ALIGN_MEAN'),
      });
      // Newest period (T0+300, T1]: samples 360..600 -> 3,2,2,2,2; oldest: 60..300 -> 1,1,3,3,3.
      expect(mean!.points!.map((p) => p.value!.doubleValue)).toEqual([11 / 5, 11 / 5]);
      const [sum] = await list({ filter: filter('replicas', e1), aggregation: agg('ALIGN_NEXT_OLDER', 'REDUCE_SUM') });
      expect(sum!.points!.map((p) => num(p.value!.int64Value))).toEqual([2 + 1, 3 + 1]);
    });
  });

  describe('views and pages', () => {
    it('page_size counts points with FULL; the client follows the tokens', async () => {
      const f = filter('prediction_count', e1);
      const all = await list({ filter: f });
      const points = all.reduce((a, s) => a + s.points!.length, 0);
      expect(points).toBe(20); // 10 minutes of each model; the record at T1 closes the last minute
      const [page1, next] = (await client.listTimeSeries(
        { name: NAME, filter: f, interval: { startTime: ts(T0), endTime: ts(T1) }, pageSize: 7 } as any,
        { autoPaginate: false },
      )) as unknown as [any[], { pageToken: string } | null];
      expect(page1.reduce((a: number, s: any) => a + s.points.length, 0)).toBe(7);
      expect(next?.pageToken).toBeTruthy();
      // Follow the page tokens by hand (pages of 4 points; series continue across pages).
      const paged: any[] = [];
      let request: any = { name: NAME, filter: f, interval: { startTime: ts(T0), endTime: ts(T1) }, pageSize: 4 };
      let pages = 0;
      while (request) {
        const [page, nextRequest] = (await client.listTimeSeries(request, { autoPaginate: false })) as unknown as [
          any[],
          any,
        ];
        expect(page.reduce((a: number, s: any) => a + s.points.length, 0)).toBeLessThanOrEqual(4);
        paged.push(...page);
        request = nextRequest;
        pages++;
      }
      expect(pages).toBe(5);
      const flat = (ss: any[]) =>
        ss.flatMap((s) =>
          s.points.map(
            (p: any) => `${s.metric.labels.deployed_model_id}@${p.interval.endTime.seconds}=${num(p.value.int64Value)}`,
          ),
        );
      expect(flat(paged)).toEqual(flat(all));
      await expectStatus(
        client.listTimeSeries(
          {
            name: NAME,
            filter: filter('error_count'),
            interval: { startTime: ts(T0), endTime: ts(T1) },
            pageSize: 7,
            pageToken: next!.pageToken,
          } as any,
          { autoPaginate: false },
        ),
        INVALID_ARGUMENT,
        /page_token/,
      );
    });

    it('HEADERS returns the series without points', async () => {
      const series = await list({ filter: filter('prediction_latencies', e1), view: 'HEADERS' });
      expect(series).toHaveLength(6);
      for (const s of series) expect(s.points).toEqual([]);
    });
  });

  describe('errors', () => {
    const call = (req: Record<string, unknown>) =>
      client.listTimeSeries({ name: NAME, interval: { startTime: ts(T0), endTime: ts(T1) }, ...req } as any);

    it('a filter outside the supported subset is INVALID_ARGUMENT naming the syntax', async () => {
      await expectStatus(
        call({ filter: `${filter('prediction_count')} OR metric.labels.deployed_model_id = "x"` }),
        INVALID_ARGUMENT,
        /OR.*supported: comparisons/,
      );
      await expectStatus(call({ filter: `(${filter('prediction_count')})` }), INVALID_ARGUMENT, /supported/);
      await expectStatus(
        call({ filter: filter('prediction_count', 'metric.labels.latency_type = "model"') }),
        INVALID_ARGUMENT,
        /supported fields: .*metric\.labels\.deployed_model_id/,
      );
      await expectStatus(
        call({ filter: filter('prediction_count', 'metric.labels.x = unknown_fn("a")') }),
        INVALID_ARGUMENT,
        /supported/,
      );
      await expectStatus(
        call({ filter: 'resource.type = "aiplatform.googleapis.com/Endpoint"' }),
        INVALID_ARGUMENT,
        /exactly one metric type.*prediction_latencies/,
      );
      await expectStatus(
        call({ filter: `metric.type = starts_with("${PREFIX}")` }),
        INVALID_ARGUMENT,
        /exactly one metric type/,
      );
    });

    it('an unknown metric type is INVALID_ARGUMENT listing the supported ones', async () => {
      await expectStatus(
        call({ filter: `metric.type = "${PREFIX}nope"` }),
        INVALID_ARGUMENT,
        /unknown metric type.*prediction_count.*replicas/,
      );
    });

    it('an aligner or reducer the metric does not support is INVALID_ARGUMENT listing the supported ones', async () => {
      await expectStatus(
        call({ filter: filter('prediction_latencies'), aggregation: whole('ALIGN_RATE') }),
        INVALID_ARGUMENT,
        /ALIGN_RATE.*supported: ALIGN_NONE, ALIGN_DELTA/,
      );
      await expectStatus(
        call({ filter: filter('prediction_count'), aggregation: whole('ALIGN_PERCENTILE_95') }),
        INVALID_ARGUMENT,
        /supported: .*ALIGN_RATE/,
      );
      await expectStatus(
        call({ filter: filter('replicas'), aggregation: whole('ALIGN_DELTA') }),
        INVALID_ARGUMENT,
        /supported: .*ALIGN_NEXT_OLDER/,
      );
      await expectStatus(
        call({ filter: filter('prediction_latencies'), aggregation: whole('ALIGN_DELTA', 'REDUCE_MAX') }),
        INVALID_ARGUMENT,
        /REDUCE_MAX.*supported: .*REDUCE_PERCENTILE_95/,
      );
      await expectStatus(
        call({ filter: filter('prediction_count'), aggregation: { crossSeriesReducer: 'REDUCE_SUM' } }),
        INVALID_ARGUMENT,
        /needs a per_series_aligner/,
      );
      await expectStatus(
        call({
          filter: filter('prediction_count'),
          aggregation: { alignmentPeriod: { seconds: 30 }, perSeriesAligner: 'ALIGN_DELTA' },
        }),
        INVALID_ARGUMENT,
        /at least 60s/,
      );
      await expectStatus(
        call({
          filter: filter('prediction_count'),
          aggregation: whole('ALIGN_DELTA', 'REDUCE_SUM', ['metric.label.nope']),
        }),
        INVALID_ARGUMENT,
        /group_by_fields.*supported: .*resource\.label\.endpoint_id/,
      );
    });

    it('an empty, inverted or missing interval is INVALID_ARGUMENT', async () => {
      const f = filter('prediction_count');
      await expectStatus(
        call({ filter: f, interval: { startTime: ts(T1), endTime: ts(T1) } }),
        INVALID_ARGUMENT,
        /endTime must be later than interval\.startTime/,
      );
      await expectStatus(
        call({ filter: f, interval: { startTime: ts(T1), endTime: ts(T0) } }),
        INVALID_ARGUMENT,
        /endTime must be later/,
      );
      await expectStatus(
        call({ filter: f, interval: { endTime: ts(T1) } }),
        INVALID_ARGUMENT,
        /startTime and interval\.endTime are required/,
      );
    });

    it('a bad name and order_by are INVALID_ARGUMENT', async () => {
      await expectStatus(
        call({ name: 'organizations/1', filter: filter('prediction_count') }),
        INVALID_ARGUMENT,
        /projects\/\{project\}/,
      );
      await expectStatus(call({ filter: filter('prediction_count'), orderBy: 'x' }), INVALID_ARGUMENT, /order_by/);
    });
  });

  describe('metric descriptors', () => {
    it('lists and gets the Vertex online-prediction descriptors', async () => {
      const [all] = await client.listMetricDescriptors({
        name: NAME,
        filter: `metric.type = starts_with("${PREFIX}")`,
      });
      expect(all.map((d) => d.type)).toEqual(
        expect.arrayContaining([`${PREFIX}prediction_latencies`, `${PREFIX}replicas`]),
      );
      const [d] = await client.getMetricDescriptor({ name: `${NAME}/metricDescriptors/${PREFIX}prediction_latencies` });
      expect(d.metricKind).toBe('DELTA');
      expect(d.valueType).toBe('DISTRIBUTION');
      expect(d.labels!.map((l) => l.key)).toEqual(['deployed_model_id', 'latency_type']);
      await expectStatus(client.getMetricDescriptor({ name: `${NAME}/metricDescriptors/${PREFIX}nope` }), NOT_FOUND);
    });
  });

  // In-process there is no socket to watch (the grpc project runs this test).
  it.skipIf(TEST_CHANNEL === 'in-process')(
    'the client only ever connects to the emulator (no metadata server, no Google endpoint)',
    () => {
      expect(connections.length).toBeGreaterThan(0);
      expect(connections.filter((h) => h !== '127.0.0.1')).toEqual([]);
    },
  );
});

describe('Distribution (exponential buckets)', () => {
  it('bucket boundaries are exact: S·G^i opens bucket i+1', () => {
    for (const i of [0, 1, 57, 120, 199]) {
      const b = SCALE_MS * GROWTH_FACTOR ** i;
      expect(bucketOf(b)).toBe(i + 1);
      expect(bucketOf(b * (1 - 1e-12))).toBe(i);
    }
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(Number.NaN)).toBe(0);
    expect(bucketOf(1e9)).toBe(FINITE_BUCKETS + 1);
  });

  it('the percentile error stays within √G − 1 for adversarial values at bucket edges', () => {
    expect(MAX_RELATIVE_ERROR).toBeCloseTo(Math.sqrt(1.1) - 1, 12);
    const rand = prng(7);
    for (let trial = 0; trial < 200; trial++) {
      const d = new Distribution();
      const xs: number[] = [];
      for (let i = 0; i < 50; i++) {
        const edge = SCALE_MS * GROWTH_FACTOR ** Math.floor(rand() * 200);
        const x = rand() < 0.5 ? edge : edge * GROWTH_FACTOR * (1 - 1e-9);
        xs.push(x);
        d.add(x);
      }
      for (const p of [5, 50, 95, 99]) {
        const exact = exactPercentile(xs, p);
        expect(Math.abs(d.percentile(p) - exact) / exact).toBeLessThanOrEqual(MAX_RELATIVE_ERROR + 1e-12);
      }
    }
  });

  it('merging equals adding every value to one distribution', () => {
    const rand = prng(3);
    const a = new Distribution();
    const b = new Distribution();
    const all = new Distribution();
    for (let i = 0; i < 1000; i++) {
      const x = lognormal(rand, 20, 1);
      (i % 3 ? a : b).add(x);
      all.add(x);
    }
    const m = new Distribution().merge(a).merge(b);
    expect(Array.from(m.counts)).toEqual(Array.from(all.counts));
    expect(m.count).toBe(all.count);
    expect(m.mean).toBeCloseTo(all.mean, 9);
    expect(m.m2 / all.m2).toBeCloseTo(1, 9);
    expect([m.min, m.max]).toEqual([all.min, all.max]);
  });
});
