// Endpoint performance from Cloud Monitoring's aiplatform.googleapis.com/prediction/online/*
// metrics (the emulator's MetricService in emulator mode): counts per deployed model, and latency
// percentiles from the distributions per deployed model (ALIGN_DELTA + REDUCE_SUM), pooled here
// bucket by bucket for the endpoint — the percentile of all the values, never an average of
// percentiles. A read is one ListTimeSeries per metric type, whatever the number of versions.
import type { google } from '@google-cloud/monitoring/build/protos/protos.js';
import type { VertexClients } from '../clients.js';
import { callVertex } from '../errors.js';

type ITimeSeries = google.monitoring.v3.ITimeSeries;

const PREFIX = 'aiplatform.googleapis.com/prediction/online/';
const BY_VERSION = 'metric.label.deployed_model_id';

export interface VersionPerformance {
  deployed_model_id: string;
  /** Predict requests (response_count): Vertex routes and counts per request. */
  requests: number;
  /** Predictions (prediction_count): one per instance, one per failed request. */
  instances: number;
  errors: number;
  error_rate: number | null;
  throughput_rps: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  replicas: number | null;
}

export interface PerformanceReport {
  window_seconds: number;
  endpoint: VersionPerformance & { deployed_model_id: 'all' };
  versions: VersionPerformance[];
  duty_cycle: null;
  reasons: Record<string, string>;
}

function num(v: google.monitoring.v3.ITypedValue | null | undefined): number {
  if (!v) return 0;
  if (v.doubleValue !== undefined && v.doubleValue !== null) return Number(v.doubleValue);
  if (v.int64Value !== undefined && v.int64Value !== null) return Number(v.int64Value);
  return 0;
}

export class PerformanceQueries {
  constructor(private readonly clients: VertexClients) {}

  /** One aligned, reduced query over the last `windowSeconds`; returns value per group key ('all' without grouping). */
  private async query(
    endpointId: string,
    metric: string,
    windowSeconds: number,
    aligner: string,
    reducer: 'REDUCE_SUM',
    opts: { group: boolean; newestOnly?: boolean },
  ): Promise<Map<string, number>> {
    const end = Date.now();
    const series = await this.read(
      endpointId,
      metric,
      '',
      { startTime: ts(end - windowSeconds * 1000), endTime: ts(end) },
      {
        // Cloud Monitoring's shortest alignment period is 60 s; windows are at least that.
        alignmentPeriod: { seconds: Math.max(60, windowSeconds) },
        perSeriesAligner: aligner as never,
        crossSeriesReducer: reducer as never,
        groupByFields: opts.group ? [BY_VERSION] : [],
      },
    );
    const out = new Map<string, number>();
    for (const s of series) {
      const key = opts.group ? String(s.metric?.labels?.deployed_model_id ?? '') : 'all';
      const points = s.points ?? [];
      // Points come newest first; counts add up over the window, gauges take the newest.
      const value = opts.newestOnly ? num(points[0]?.value) : points.reduce((a, p) => a + num(p.value), 0);
      out.set(key, value);
    }
    return out;
  }

  /** Predict requests served on an endpoint in the window (one Cloud Monitoring query). */
  async requestCount(endpointId: string, windowSeconds: number): Promise<number> {
    const counts = await this.query(endpointId, 'response_count', windowSeconds, 'ALIGN_DELTA', 'REDUCE_SUM', {
      group: false,
    });
    return counts.get('all') ?? 0;
  }

  /**
   * Measured replica-hours per deployed model over the period: the replicas gauge's mean per
   * minute, times a minute each.
   */
  async replicaHours(endpointId: string, periodSeconds: number): Promise<Map<string, number>> {
    const end = Date.now();
    const step = 60;
    const series = await this.read(
      endpointId,
      'replicas',
      '',
      { startTime: ts(end - periodSeconds * 1000), endTime: ts(end) },
      {
        alignmentPeriod: { seconds: step },
        perSeriesAligner: 'ALIGN_MEAN' as never,
        crossSeriesReducer: 'REDUCE_SUM' as never,
        groupByFields: [BY_VERSION],
      },
    );
    const out = new Map<string, number>();
    for (const s of series) {
      const hours = (s.points ?? []).reduce((a, p) => a + (num(p.value) * step) / 3600, 0);
      out.set(String(s.metric?.labels?.deployed_model_id ?? ''), hours);
    }
    return out;
  }

  /**
   * Per deployed model and for the endpoint over the window: four Cloud Monitoring reads whatever
   * the number of versions — response_count by deployed model and response code (requests and
   * failed requests), prediction_count by deployed model (instances), the model-latency distribution
   * by deployed model (ALIGN_DELTA + REDUCE_SUM: one distribution per version, pooled here for the
   * endpoint, percentiles read from the pooled buckets), and the newest replica counts.
   *
   * The window is the last `windowSeconds` extended back to the minute boundary before them, as
   * Cloud Monitoring's own points are whole minutes: (start, now] with start the minute boundary at
   * or before now − windowSeconds, so it spans windowSeconds to windowSeconds + 60 s (the alignment
   * period is that span rounded up to a whole second). Throughput is the requests over that span.
   * On the emulator such a window is read from whole per-minute rollups (the current minute's
   * records all lie before now), so its cost does not grow with the number of records.
   */
  async collect(endpointId: string, deployedIds: string[], windowSeconds: number): Promise<PerformanceReport> {
    const end = Date.now();
    const start = Math.floor((end - windowSeconds * 1000) / 60_000) * 60_000;
    const seconds = Math.ceil((end - start) / 1000);
    const read = this.sumsOver(endpointId, end, seconds);
    const [responses, predictions, latencies, replicas] = await Promise.all([
      read('response_count', '', [BY_VERSION, 'metric.label.response_code']),
      read('prediction_count', '', [BY_VERSION]),
      read('prediction_latencies', ' AND metric.labels.latency_type = "model"', [BY_VERSION]),
      // The newest replica count: the maximum over the last minute.
      this.query(endpointId, 'replicas', Math.min(60, windowSeconds), 'ALIGN_MAX', 'REDUCE_SUM', {
        group: true,
        newestOnly: true,
      }),
    ]);
    const sumOf = (s: ITimeSeries) => (s.points ?? []).reduce((a, p) => a + num(p.value), 0);
    const counts = requestCounts(responses);
    const instances = new Map<string, number>();
    const bump = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
    for (const s of predictions) {
      bump(instances, deployedModelOf(s), sumOf(s));
      bump(instances, 'all', sumOf(s));
    }
    const histograms = new Map<string, Histogram>();
    for (const s of latencies) {
      for (const p of s.points ?? []) {
        const h = p.value?.distributionValue ? toHistogram(p.value.distributionValue) : null;
        if (!h) continue;
        histograms.set(deployedModelOf(s), poolHistograms(histograms.get(deployedModelOf(s)), h));
        histograms.set('all', poolHistograms(histograms.get('all'), h));
      }
    }
    const row = (id: string): VersionPerformance => {
      const r = counts.get(id)?.requests ?? 0;
      const e = counts.get(id)?.errors ?? 0;
      const h = histograms.get(id);
      // No served request means no latency was measured: null, not 0.
      const pct = (p: number) => (h && h.count > 0 ? histogramPercentile(h, p) : null);
      return {
        deployed_model_id: id,
        requests: r,
        instances: instances.get(id) ?? 0,
        errors: e,
        error_rate: r ? e / r : null,
        throughput_rps: r / seconds,
        p50_ms: pct(50),
        p95_ms: pct(95),
        p99_ms: pct(99),
        replicas: null,
      };
    };
    const versions = deployedIds.map((id) => ({ ...row(id), replicas: replicas.get(id) ?? null }));
    const all = row('all');
    const knownReplicas = versions.map((v) => v.replicas).filter((r): r is number => r !== null);
    const reasons: Record<string, string> = {
      duty_cycle: 'accelerator duty cycle is reported only for deployments with accelerators; none was measured',
    };
    if (!all.requests) reasons.latency = `no predictions in the last ${windowSeconds} s, so no latency was measured`;
    return {
      window_seconds: windowSeconds,
      endpoint: {
        ...all,
        deployed_model_id: 'all',
        replicas: knownReplicas.length ? knownReplicas.reduce((a, b) => a + b, 0) : null,
      },
      versions,
      duty_cycle: null,
      reasons,
    };
  }

  /** One ListTimeSeries of an endpoint's metric (all pages). */
  private async read(
    endpointId: string,
    metric: string,
    extraFilter: string,
    interval: { startTime: ReturnType<typeof ts>; endTime: ReturnType<typeof ts> },
    aggregation: google.monitoring.v3.IAggregation,
  ): Promise<ITimeSeries[]> {
    const client = await this.clients.monitoring();
    const [series] = await callVertex(
      `read ${metric}`,
      () =>
        client.listTimeSeries({
          name: `projects/${this.clients.backend.project}`,
          filter: `metric.type = "${PREFIX}${metric}" AND resource.type = "aiplatform.googleapis.com/Endpoint" AND resource.labels.endpoint_id = "${endpointId}"${extraFilter}`,
          interval,
          aggregation,
        }),
      { idempotent: true },
    );
    return series as ITimeSeries[];
  }

  /**
   * Per deployed model over exactly (startMs, endMs]: requests and failed requests (response_count
   * by response code) and the pooled model-latency distribution. One alignment period spanning the
   * whole interval, so nothing before startMs is counted (Cloud Monitoring's shortest period is
   * 60 s: endMs must be at least startMs + 60 s; real Vertex resolves the edges to the minute).
   */
  async armTraffic(endpointId: string, startMs: number, endMs: number): Promise<Map<string, ArmTraffic>> {
    const seconds = Math.max(60, Math.ceil((endMs - startMs) / 1000));
    const read = this.sumsOver(endpointId, endMs, seconds);
    const [responses, latencies] = await Promise.all([
      read('response_count', '', [BY_VERSION, 'metric.label.response_code']),
      read('prediction_latencies', ' AND metric.labels.latency_type = "model"', [BY_VERSION]),
    ]);
    const out = new Map<string, ArmTraffic>();
    for (const [id, c] of requestCounts(responses)) if (id !== 'all') out.set(id, { ...c, latency: null });
    for (const s of latencies) {
      const d = s.points?.[0]?.value?.distributionValue;
      if (!d) continue;
      const id = deployedModelOf(s);
      out.set(id, { ...(out.get(id) ?? { requests: 0, errors: 0 }), latency: toHistogramSummary(d) });
    }
    return out;
  }

  /** A reader of per-version sums over the `seconds` before `endMs` (ALIGN_DELTA + REDUCE_SUM, one period). */
  private sumsOver(endpointId: string, endMs: number, seconds: number) {
    const interval = { startTime: ts(endMs - seconds * 1000), endTime: ts(endMs) };
    return (metric: string, extra: string, groupBy: string[]) =>
      this.read(endpointId, metric, extra, interval, {
        alignmentPeriod: { seconds },
        perSeriesAligner: 'ALIGN_DELTA' as never,
        crossSeriesReducer: 'REDUCE_SUM' as never,
        groupByFields: groupBy,
      });
  }
}

const deployedModelOf = (s: ITimeSeries) => String(s.metric?.labels?.deployed_model_id ?? '');

/**
 * Requests and failed requests (response codes >= 400) per deployed model, and for all of them
 * under 'all', from response_count grouped by version and response code.
 */
function requestCounts(responses: ITimeSeries[]): Map<string, { requests: number; errors: number }> {
  const out = new Map<string, { requests: number; errors: number }>();
  for (const s of responses) {
    const n = (s.points ?? []).reduce((a, p) => a + num(p.value), 0);
    const failed = Number(s.metric?.labels?.response_code ?? 200) >= 400 ? n : 0;
    for (const id of [deployedModelOf(s), 'all']) {
      const c = out.get(id) ?? { requests: 0, errors: 0 };
      out.set(id, { requests: c.requests + n, errors: c.errors + failed });
    }
  }
  return out;
}

export interface LatencySummary {
  count: number;
  mean_ms: number;
  /** Sample variance (sum of squared deviations / (count - 1)); 0 with one value. */
  variance: number;
  /** Bucket upper bounds and counts (counts.length = bounds.length + 1; the last is the overflow). */
  histogram: { bounds: number[]; counts: number[] };
}

export interface ArmTraffic {
  requests: number;
  errors: number;
  latency: LatencySummary | null;
}

/**
 * A google.api.Distribution's histogram: bucket 0 is the underflow (< bounds[0]), bucket i in 1..N
 * is [bounds[i-1], bounds[i]), bucket N+1 the overflow (counts.length = bounds.length + 1).
 */
export interface Histogram {
  bounds: number[];
  /** The growth factor of an exponential layout (a value is estimated by its bucket's geometric midpoint). */
  growth: number | null;
  counts: number[];
  count: number;
  /** The observed range, when the distribution carries one (the emulator does; Cloud Monitoring may not). */
  min: number | null;
  max: number | null;
}

function boundsOf(o: google.api.Distribution.IBucketOptions): { bounds: number[]; growth: number | null } {
  if (o.exponentialBuckets) {
    const { numFiniteBuckets = 0, growthFactor = 2, scale = 1 } = o.exponentialBuckets;
    const g = Number(growthFactor);
    return {
      bounds: Array.from({ length: Number(numFiniteBuckets) + 1 }, (_, i) => Number(scale) * g ** i),
      growth: g,
    };
  }
  if (o.linearBuckets) {
    const { numFiniteBuckets = 0, width = 1, offset = 0 } = o.linearBuckets;
    return {
      bounds: Array.from({ length: Number(numFiniteBuckets) + 1 }, (_, i) => Number(offset) + Number(width) * i),
      growth: null,
    };
  }
  return { bounds: (o.explicitBuckets?.bounds ?? []).map(Number), growth: null };
}

/** A distribution's histogram, or null when it holds no value. */
export function toHistogram(d: google.api.IDistribution): Histogram | null {
  const count = Number(d.count ?? 0);
  if (!count) return null;
  const { bounds, growth } = boundsOf(d.bucketOptions ?? {});
  // Trailing empty buckets may be omitted: pad to one count per bucket.
  const counts = Array.from({ length: bounds.length + 1 }, (_, i) => Number(d.bucketCounts?.[i] ?? 0));
  const range = d.range && d.range.min !== undefined && d.range.max !== undefined ? d.range : null;
  return {
    bounds,
    growth,
    counts,
    count,
    min: range ? Number(range.min ?? 0) : null,
    max: range ? Number(range.max ?? 0) : null,
  };
}

/** The value a bucket stands for: its geometric (exponential layout) or arithmetic midpoint. */
function bucketValue(h: Histogram, i: number): number {
  const last = h.counts.length - 1;
  if (i === 0) return h.bounds[0] ?? 0;
  if (i === last) return h.bounds[last - 1] ?? 0;
  return h.growth ? h.bounds[i - 1]! * Math.sqrt(h.growth) : (h.bounds[i - 1]! + h.bounds[i]!) / 2;
}

/**
 * Pools two histograms (the values of both). Distributions of one metric share their bucket layout,
 * so the counts add bucket by bucket; should `b`'s layout differ, each of its buckets is added to
 * the bucket of `a` that holds its midpoint.
 */
export function poolHistograms(a: Histogram | undefined, b: Histogram): Histogram {
  if (!a) return { ...b, counts: [...b.counts] };
  const counts = [...a.counts];
  const same = a.bounds.length === b.bounds.length && a.bounds.every((x, i) => x === b.bounds[i]);
  b.counts.forEach((c, i) => {
    if (!c) return;
    if (same) counts[i]! += c;
    else {
      const v = bucketValue(b, i);
      let j = 0;
      while (j < a.bounds.length && v >= a.bounds[j]!) j++;
      counts[j]! += c;
    }
  });
  const both = a.min !== null && b.min !== null && a.max !== null && b.max !== null;
  return {
    ...a,
    counts,
    count: a.count + b.count,
    min: both ? Math.min(a.min!, b.min!) : null,
    max: both ? Math.max(a.max!, b.max!) : null,
  };
}

/**
 * The p-th percentile (0 < p <= 100) of a histogram, by nearest rank — the value of rank
 * ceil(p·count/100) — estimated from its bucket as the emulator's REDUCE_PERCENTILE_nn does
 * (src/emulator/services/metric_distribution.ts): the bucket's geometric midpoint for exponential
 * buckets (within √G − 1 of the value: 4.9% with the emulator's G = 1.1), the arithmetic midpoint
 * otherwise, the middle of the known part of the underflow and overflow buckets, clamped to the
 * observed range when there is one.
 */
export function histogramPercentile(h: Histogram, p: number): number {
  const rank = Math.max(1, Math.ceil((p * h.count) / 100));
  const last = h.counts.length - 1;
  let i = 0;
  for (let cum = h.counts[0]!; cum < rank && i < last; cum += h.counts[++i]!);
  const { min, max } = h;
  let estimate: number;
  if (i === 0) estimate = min !== null && max !== null ? (min + Math.min(max, h.bounds[0]!)) / 2 : bucketValue(h, 0);
  else if (i === last)
    estimate = min !== null && max !== null ? (Math.max(min, h.bounds[last - 1]!) + max) / 2 : bucketValue(h, last);
  else estimate = bucketValue(h, i);
  if (min !== null && max !== null) estimate = Math.min(max, Math.max(min, estimate));
  return estimate;
}

/** A google.api.Distribution as count, mean, variance and a histogram with explicit bounds. */
function toHistogramSummary(d: google.api.IDistribution): LatencySummary | null {
  const h = toHistogram(d);
  if (!h) return null;
  return {
    count: h.count,
    mean_ms: Number(d.mean ?? 0),
    variance: h.count > 1 ? Number(d.sumOfSquaredDeviation ?? 0) / (h.count - 1) : 0,
    histogram: { bounds: h.bounds, counts: h.counts },
  };
}

function ts(ms: number) {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
