// Names of the server's own Prometheus metrics (prometheus.ts), shared with the Grafana export so
// that building a dashboard does not load prom-client.

export const METRIC = {
  toolCalls: 'vertex_mcp_tool_calls_total',
  toolCallDuration: 'vertex_mcp_tool_call_duration_seconds',
  predictionRequests: 'vertex_mcp_prediction_requests_total',
  predictionErrors: 'vertex_mcp_prediction_errors_total',
  predictionLatency: 'vertex_mcp_prediction_latency_seconds',
  replicas: 'vertex_mcp_replicas',
  cost: 'vertex_mcp_cost_usd_total',
  statsUp: 'vertex_mcp_prediction_stats_up',
} as const;
