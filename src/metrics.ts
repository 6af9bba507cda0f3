// What the HTTP server's /metrics exports per endpoint and version: measured counts since the
// deployments started (a 7-day look-back), latency percentiles over the last 5 minutes, replicas
// and cost. Read from Cloud Monitoring (the emulator's MetricService) at each scrape.
import type { Library } from './lib/index.js';
import type { PredictionSnapshot } from './lib/monitoring/prometheus.js';

const CUMULATIVE_SECONDS = 7 * 24 * 3600;
const LATENCY_SECONDS = 300;

export async function predictionSnapshots(lib: Library): Promise<PredictionSnapshot[]> {
  const out: PredictionSnapshot[] = [];
  for (const e of await lib.endpoints.listEndpoints()) {
    if (!e.deployed.length) continue;
    const [total, recent, cost] = await Promise.all([
      lib.monitoring.collectPerformanceMetrics(e.endpoint, CUMULATIVE_SECONDS),
      lib.monitoring.collectPerformanceMetrics(e.endpoint, LATENCY_SECONDS),
      lib.monitoring.calculateCostMetrics(e.endpoint, CUMULATIVE_SECONDS).catch(() => null),
    ]);
    for (const d of e.deployed) {
      const t = total.versions.find((v) => v.deployed_model_id === d.deployed_model_id);
      const r = recent.versions.find((v) => v.deployed_model_id === d.deployed_model_id);
      const c = cost?.breakdown.find((x) => x.deployed_model_id === d.deployed_model_id);
      const sec = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : ms / 1000);
      out.push({
        endpoint: e.endpoint,
        version: d.version ?? d.deployed_model_id,
        requests_total: t?.requests ?? null,
        errors_total: t?.errors ?? null,
        latency_seconds: r ? { p50: sec(r.p50_ms), p95: sec(r.p95_ms), p99: sec(r.p99_ms) } : null,
        replicas: r?.replicas ?? null,
        cost_usd_total: c?.total_usd ?? null,
      });
    }
  }
  return out;
}
