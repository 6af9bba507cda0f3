// The server's own /metrics (HTTP mode), in the Prometheus text format: MCP tool calls observed as
// they happen, and per-endpoint, per-version prediction figures read from measured stats at
// scrape time. A figure that was not measured (null) is left out, never exported as 0.
// prom-client (~35 ms to load) is imported when a registry is created, not with this module.
import type { Registry } from 'prom-client';
import { METRIC } from './metric_names.js';

export { METRIC } from './metric_names.js';

export const TOOL_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Measured figures of one deployed model version on one endpoint. */
export interface PredictionSnapshot {
  /** Endpoint ID (or display name). */
  endpoint: string;
  /** Model version (or deployed model ID when it has none). */
  version: string;
  /** Prediction requests served since the deployment started (cumulative). */
  requests_total: number | null;
  /** Of them, failed requests (cumulative). */
  errors_total: number | null;
  /** Latency percentiles in seconds over a recent window (the caller's choice, e.g. 5 minutes). */
  latency_seconds?: { p50?: number | null; p95?: number | null; p99?: number | null } | null;
  /** Current replica count. */
  replicas?: number | null;
  /** Cost in USD since the deployment started (cumulative); the endpoint's cost is the sum over its versions. */
  cost_usd_total?: number | null;
}

export type ToolOutcome = 'ok' | 'error' | 'cancelled' | (string & {});

export interface MetricsRegistryOptions {
  /** Called once per scrape: the measured stats of every endpoint version. */
  collectPredictions: () => Promise<PredictionSnapshot[]>;
  /** Also export Node process metrics (process_*, nodejs_*). Default false. */
  defaultMetrics?: boolean;
  /** Told when collectPredictions fails (the scrape still succeeds, with stats_up 0). */
  onCollectError?: (err: unknown) => void;
}

export interface MetricsRegistry {
  registry: Registry;
  observeToolCall(tool: string, outcome: ToolOutcome, seconds: number): void;
  /** The Content-Type header for metrics(). */
  contentType: string;
  metrics(): Promise<string>;
}

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
] as const;

const measured = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** Creates the registry (loading prom-client on first call). */
export async function createMetricsRegistry(opts: MetricsRegistryOptions): Promise<MetricsRegistry> {
  const client = (await import('prom-client')).default;
  const registry = new client.Registry();
  if (opts.defaultMetrics) client.collectDefaultMetrics({ register: registry });

  // One collectPredictions call per scrape: every collector of a scrape starts in the same tick
  // and shares the pending promise.
  let pending: Promise<PredictionSnapshot[] | null> | undefined;
  const snapshot = (): Promise<PredictionSnapshot[] | null> => {
    pending ??= Promise.resolve()
      .then(() => opts.collectPredictions())
      .then(
        (rows) => (Array.isArray(rows) ? rows : []),
        (err: unknown) => {
          opts.onCollectError?.(err);
          return null;
        },
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  const toolCalls = new client.Counter({
    name: METRIC.toolCalls,
    help: 'MCP tool calls, by tool and outcome',
    labelNames: ['tool', 'outcome'] as const,
    registers: [registry],
  });
  const toolDuration = new client.Histogram({
    name: METRIC.toolCallDuration,
    help: 'MCP tool call duration in seconds, by tool and outcome',
    labelNames: ['tool', 'outcome'] as const,
    buckets: TOOL_DURATION_BUCKETS,
    registers: [registry],
  });

  new client.Gauge({
    name: METRIC.statsUp,
    help: '1 when the last scrape read prediction stats, 0 when reading them failed',
    registers: [registry],
    async collect() {
      this.set((await snapshot()) === null ? 0 : 1);
    },
  });

  const perVersion = ['endpoint', 'version'] as const;
  new client.Counter({
    name: METRIC.predictionRequests,
    help: 'Prediction requests served, by endpoint and model version (measured)',
    labelNames: perVersion,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await snapshot()) ?? []) {
        if (measured(s.requests_total)) this.inc({ endpoint: s.endpoint, version: s.version }, s.requests_total);
      }
    },
  });
  new client.Counter({
    name: METRIC.predictionErrors,
    help: 'Failed prediction requests, by endpoint and model version (measured)',
    labelNames: perVersion,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await snapshot()) ?? []) {
        if (measured(s.errors_total)) this.inc({ endpoint: s.endpoint, version: s.version }, s.errors_total);
      }
    },
  });
  // Percentiles computed elsewhere (over a recent window) are a summary's quantile series: a
  // Gauge may not carry the reserved "quantile" label, and prom-client's Summary computes its
  // own. Without _sum and _count: the window's percentiles are all that is measured.
  const latency = {
    name: METRIC.predictionLatency,
    help: 'Prediction latency percentiles in seconds over the recent window, by endpoint and model version',
    type: 'summary',
    aggregator: 'omit',
    async get() {
      const values: { labels: Record<string, string>; value: number }[] = [];
      for (const s of (await snapshot()) ?? []) {
        for (const [quantile, key] of QUANTILES) {
          const v = s.latency_seconds?.[key];
          if (measured(v)) values.push({ labels: { endpoint: s.endpoint, version: s.version, quantile }, value: v });
        }
      }
      return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    },
    reset() {},
  };
  registry.registerMetric(latency as unknown as Parameters<Registry['registerMetric']>[0]);
  new client.Gauge({
    name: METRIC.replicas,
    help: 'Serving replicas, by endpoint and model version',
    labelNames: perVersion,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await snapshot()) ?? []) {
        if (measured(s.replicas)) this.set({ endpoint: s.endpoint, version: s.version }, s.replicas);
      }
    },
  });
  new client.Counter({
    name: METRIC.cost,
    help: 'Serving cost in USD by endpoint, from measured replica-hours and tokens at the dated price table',
    labelNames: ['endpoint'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const byEndpoint = new Map<string, number | null>();
      for (const s of (await snapshot()) ?? []) {
        if (s.cost_usd_total === undefined) continue;
        const prev = byEndpoint.has(s.endpoint) ? byEndpoint.get(s.endpoint)! : 0;
        // One version whose cost is unknown makes the endpoint's total unknown: leave it out.
        byEndpoint.set(s.endpoint, prev === null || !measured(s.cost_usd_total) ? null : prev + s.cost_usd_total);
      }
      for (const [endpoint, usd] of byEndpoint) if (usd !== null) this.inc({ endpoint }, usd);
    },
  });

  return {
    registry,
    contentType: registry.contentType,
    observeToolCall(tool, outcome, seconds) {
      toolCalls.inc({ tool, outcome });
      if (Number.isFinite(seconds) && seconds >= 0) toolDuration.observe({ tool, outcome }, seconds);
    },
    metrics: () => registry.metrics(),
  };
}
