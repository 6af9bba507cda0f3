// The parts of the tools' structured results the dashboard reads (get_ab_test, get_endpoint_stats,
// conclude_ab_test, set_traffic_split, list_*): see src/tools/experiments.ts and endpoints.ts.
export type Pair = [number, number];

export interface Arm {
  arm: 'control' | 'treatment';
  version: string;
  deployed_model_id: string;
  requests: number;
  outcomes: number;
  estimate: number | null;
  ci: Pair | null;
  error_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface AbReport {
  test: string;
  state: string;
  model: string;
  endpoint: string;
  control: string;
  treatment: string;
  primary_metric: string;
  arms: Arm[];
  effect: { absolute: number; ci: Pair; p_value: number; sequential_ci: Pair } | null;
  srm: { observed: Pair; expected_share: Pair; p_value: number; flagged: boolean } | null;
  guardrails: {
    metric: string;
    margin: number;
    margin_kind: string;
    control: number | null;
    treatment: number | null;
    status: 'pass' | 'fail' | 'inconclusive';
  }[];
  progress: {
    outcomes: Pair;
    planned: Pair;
    fraction: number;
    requests: number;
    max_requests: number;
    elapsed_seconds: number;
  };
  verdict: string;
  sentence: string;
}

export interface VersionStats {
  deployed_model_id: string;
  name: string | null;
  version: string | null;
  traffic_percent: number;
  requests: number;
  instances: number;
  errors: number;
  error_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  replicas: number | null;
}

export interface EndpointStats {
  endpoint: string;
  display_name: string;
  window_seconds: number;
  total: Omit<VersionStats, 'name' | 'version' | 'traffic_percent'>;
  versions: VersionStats[];
  alerts: { name: string; firing: boolean; since: number | null }[];
  reasons: Record<string, string>;
}

export const isAbReport = (x: any): x is AbReport =>
  Boolean(x && Array.isArray(x.arms) && typeof x.verdict === 'string');
export const isEndpointStats = (x: any): x is EndpointStats =>
  Boolean(x && Array.isArray(x.versions) && typeof x.window_seconds === 'number');
