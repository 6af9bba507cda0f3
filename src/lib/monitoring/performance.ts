// Endpoint performance from Cloud Monitoring's aiplatform.googleapis.com/prediction/online/*
// metrics (the emulator's MetricService in emulator mode): counts per deployed model, and latency
// percentiles pooled from the distributions (ALIGN_DELTA + REDUCE_PERCENTILE_nn), never averaged.
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

type Reducer = 'REDUCE_SUM' | 'REDUCE_PERCENTILE_50' | 'REDUCE_PERCENTILE_95' | 'REDUCE_PERCENTILE_99' | 'REDUCE_MAX';

function num(v: google.monitoring.v3.ITypedValue | null | undefined): number {
  if (!v) return 0;
  if (v.doubleValue !== undefined && v.doubleValue !== null) return Number(v.doubleValue);
  if (v.int64Value !== undefined && v.int64Value !== null) return Number(v.int64Value);
  return 0;
}

export class PerformanceQueries {
  constructor(private readonly clients: VertexClients) {}

  /** One aligned, reduced query; returns value per group key ('all' without grouping). */
  private async query(
    endpointId: string,
    metric: string,
    windowSeconds: number,
    aligner: string,
    reducer: Reducer,
    opts: { group: boolean; extraFilter?: string; newestOnly?: boolean },
  ): Promise<Map<string, number>> {
    const client = await this.clients.monitoring();
    const end = Date.now();
    const filter = [
      `metric.type = "${PREFIX}${metric}"`,
      'resource.type = "aiplatform.googleapis.com/Endpoint"',
      `resource.labels.endpoint_id = "${endpointId}"`,
      ...(opts.extraFilter ? [opts.extraFilter] : []),
    ].join(' AND ');
    const [series] = await callVertex(
      `read ${metric}`,
      () =>
        client.listTimeSeries({
          name: `projects/${this.clients.backend.project}`,
          filter,
          interval: { startTime: ts(end - windowSeconds * 1000), endTime: ts(end) },
          aggregation: {
            // Cloud Monitoring's shortest alignment period is 60 s; windows are at least that.
            alignmentPeriod: { seconds: Math.max(60, windowSeconds) },
            perSeriesAligner: aligner as never,
            crossSeriesReducer: reducer as never,
            groupByFields: opts.group ? [BY_VERSION] : [],
          },
        }),
      { idempotent: true },
    );
    const out = new Map<string, number>();
    for (const s of series as ITimeSeries[]) {
      const key = opts.group ? String(s.metric?.labels?.deployed_model_id ?? '') : 'all';
      const points = s.points ?? [];
      // Points come newest first; counts add up over the window, percentiles take the newest.
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
    const client = await this.clients.monitoring();
    const end = Date.now();
    const step = 60;
    const [series] = await callVertex(
      'read replicas',
      () =>
        client.listTimeSeries({
          name: `projects/${this.clients.backend.project}`,
          filter: `metric.type = "${PREFIX}replicas" AND resource.type = "aiplatform.googleapis.com/Endpoint" AND resource.labels.endpoint_id = "${endpointId}"`,
          interval: { startTime: ts(end - periodSeconds * 1000), endTime: ts(end) },
          aggregation: {
            alignmentPeriod: { seconds: step },
            perSeriesAligner: 'ALIGN_MEAN' as never,
            crossSeriesReducer: 'REDUCE_SUM' as never,
            groupByFields: [BY_VERSION],
          },
        }),
      { idempotent: true },
    );
    const out = new Map<string, number>();
    for (const s of series as ITimeSeries[]) {
      const hours = (s.points ?? []).reduce((a, p) => a + (num(p.value) * step) / 3600, 0);
      out.set(String(s.metric?.labels?.deployed_model_id ?? ''), hours);
    }
    return out;
  }

  async collect(endpointId: string, deployedIds: string[], windowSeconds: number): Promise<PerformanceReport> {
    const latency = 'metric.labels.latency_type = "model"';
    const counts = (metric: string, group: boolean) =>
      this.query(endpointId, metric, windowSeconds, 'ALIGN_DELTA', 'REDUCE_SUM', { group });
    const pct = (p: 50 | 95 | 99, group: boolean) =>
      this.query(endpointId, 'prediction_latencies', windowSeconds, 'ALIGN_DELTA', `REDUCE_PERCENTILE_${p}`, {
        group,
        extraFilter: latency,
        newestOnly: true,
      });
    const [req, reqAll, inst, instAll, err, errAll, p50, p95, p99, p50All, p95All, p99All, replicas] =
      await Promise.all([
        counts('response_count', true),
        counts('response_count', false),
        counts('prediction_count', true),
        counts('prediction_count', false),
        counts('error_count', true),
        counts('error_count', false),
        pct(50, true),
        pct(95, true),
        pct(99, true),
        pct(50, false),
        pct(95, false),
        pct(99, false),
        // The newest replica count: the maximum over the last minute.
        this.query(endpointId, 'replicas', Math.min(60, windowSeconds), 'ALIGN_MAX', 'REDUCE_SUM', {
          group: true,
          newestOnly: true,
        }),
      ]);
    const row = (
      id: string,
      r: Map<string, number>,
      n: Map<string, number>,
      e: Map<string, number>,
      a: Map<string, number>[],
      key = id,
    ): VersionPerformance => {
      const requests = r.get(key) ?? 0;
      const errors = e.get(key) ?? 0;
      return {
        deployed_model_id: id,
        requests,
        instances: n.get(key) ?? 0,
        errors,
        error_rate: requests ? errors / requests : null,
        throughput_rps: requests / windowSeconds,
        // No traffic means no latency was measured: null, not 0.
        p50_ms: a[0]!.get(key) ?? null,
        p95_ms: a[1]!.get(key) ?? null,
        p99_ms: a[2]!.get(key) ?? null,
        replicas: null,
      };
    };
    const versions = deployedIds.map((id) => ({
      ...row(id, req, inst, err, [p50, p95, p99]),
      replicas: replicas.get(id) ?? null,
    }));
    const all = row('all', reqAll, instAll, errAll, [p50All, p95All, p99All], 'all');
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

  /**
   * Per deployed model over exactly (startMs, endMs]: requests and failed requests (response_count
   * by response code) and the pooled model-latency distribution. One alignment period spanning the
   * whole interval, so nothing before startMs is counted (Cloud Monitoring's shortest period is
   * 60 s: endMs must be at least startMs + 60 s; real Vertex resolves the edges to the minute).
   */
  async armTraffic(endpointId: string, startMs: number, endMs: number): Promise<Map<string, ArmTraffic>> {
    const client = await this.clients.monitoring();
    const seconds = Math.max(60, Math.ceil((endMs - startMs) / 1000));
    const interval = { startTime: ts(endMs - seconds * 1000), endTime: ts(endMs) };
    const base = `resource.type = "aiplatform.googleapis.com/Endpoint" AND resource.labels.endpoint_id = "${endpointId}"`;
    const read = (metric: string, extra: string, groupBy: string[]) =>
      callVertex(
        `read ${metric}`,
        () =>
          client.listTimeSeries({
            name: `projects/${this.clients.backend.project}`,
            filter: `metric.type = "${PREFIX}${metric}" AND ${base}${extra}`,
            interval,
            aggregation: {
              alignmentPeriod: { seconds },
              perSeriesAligner: 'ALIGN_DELTA' as never,
              crossSeriesReducer: 'REDUCE_SUM' as never,
              groupByFields: groupBy,
            },
          }),
        { idempotent: true },
      );
    const [[responses], [latencies]] = await Promise.all([
      read('response_count', '', [BY_VERSION, 'metric.label.response_code']),
      read('prediction_latencies', ' AND metric.labels.latency_type = "model"', [BY_VERSION]),
    ]);
    const out = new Map<string, ArmTraffic>();
    const arm = (id: string) => {
      let a = out.get(id);
      if (!a) {
        a = { requests: 0, errors: 0, latency: null };
        out.set(id, a);
      }
      return a;
    };
    for (const s of responses as ITimeSeries[]) {
      const a = arm(String(s.metric?.labels?.deployed_model_id ?? ''));
      const n = (s.points ?? []).reduce((x, p) => x + num(p.value), 0);
      a.requests += n;
      if (Number(s.metric?.labels?.response_code ?? 200) >= 400) a.errors += n;
    }
    for (const s of latencies as ITimeSeries[]) {
      const d = s.points?.[0]?.value?.distributionValue;
      if (d) arm(String(s.metric?.labels?.deployed_model_id ?? '')).latency = toHistogramSummary(d);
    }
    return out;
  }
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

/** A google.api.Distribution as count, mean, variance and a histogram with explicit bounds. */
function toHistogramSummary(d: google.api.IDistribution): LatencySummary | null {
  const count = Number(d.count ?? 0);
  if (!count) return null;
  const o = d.bucketOptions ?? {};
  let bounds: number[] = [];
  if (o.exponentialBuckets) {
    const { numFiniteBuckets = 0, growthFactor = 2, scale = 1 } = o.exponentialBuckets;
    bounds = Array.from({ length: Number(numFiniteBuckets) + 1 }, (_, i) => Number(scale) * Number(growthFactor) ** i);
  } else if (o.linearBuckets) {
    const { numFiniteBuckets = 0, width = 1, offset = 0 } = o.linearBuckets;
    bounds = Array.from({ length: Number(numFiniteBuckets) + 1 }, (_, i) => Number(offset) + Number(width) * i);
  } else if (o.explicitBuckets) {
    bounds = (o.explicitBuckets.bounds ?? []).map(Number);
  }
  // Trailing empty buckets may be omitted: pad to one count per bucket.
  const counts = Array.from({ length: bounds.length + 1 }, (_, i) => Number(d.bucketCounts?.[i] ?? 0));
  return {
    count,
    mean_ms: Number(d.mean ?? 0),
    variance: count > 1 ? Number(d.sumOfSquaredDeviation ?? 0) / (count - 1) : 0,
    histogram: { bounds, counts },
  };
}

function ts(ms: number) {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
