// An A/B test's plan: what start_ab_test takes, and the frozen plan it stores (SPEC 10). The
// metrics an experiment can use, their direction and units, and the guardrails, live here once.
import { z } from 'zod';

/** Primary metrics: outcomes from feedback (accuracy, score) or what Vertex measures per request. */
export const PRIMARY_METRICS = ['accuracy', 'score', 'error_rate', 'latency_ms'] as const;
export type PrimaryMetric = (typeof PRIMARY_METRICS)[number];

/** Guardrails: "lower is better" numbers the treatment must not make worse beyond a margin. */
export const GUARDRAIL_METRICS = ['error_rate', 'latency_p95_ms', 'cost_per_request_usd'] as const;
export type GuardrailMetric = (typeof GUARDRAIL_METRICS)[number];

export const DIRECTION: Record<PrimaryMetric, 'higher_is_better' | 'lower_is_better'> = {
  accuracy: 'higher_is_better',
  score: 'higher_is_better',
  error_rate: 'lower_is_better',
  latency_ms: 'lower_is_better',
};

/** How a guardrail's margin reads: an absolute rate difference, or a share of the control's value. */
export const MARGIN_KIND: Record<GuardrailMetric, 'absolute' | 'relative'> = {
  error_rate: 'absolute',
  latency_p95_ms: 'relative',
  cost_per_request_usd: 'relative',
};

export const TEST_ID = /^[a-z][a-z0-9-]{0,62}$/;

export const Guardrail = z.object({
  metric: z.enum(GUARDRAIL_METRICS),
  margin: z
    .number()
    .positive()
    .max(10)
    .describe('Allowed worsening: error_rate absolute (0.01 = 1 pp), others relative (0.1 = 10%)'),
});
export type Guardrail = z.infer<typeof Guardrail>;

export const DEFAULT_GUARDRAILS: Guardrail[] = [
  { metric: 'error_rate', margin: 0.01 },
  { metric: 'latency_p95_ms', margin: 0.25 },
];

export const StartAbTestInput = {
  endpoint: z.string().min(1).max(1024).describe('Endpoint ID or display name'),
  name: z
    .string()
    .regex(TEST_ID, 'name must match [a-z][a-z0-9-]{0,62} (it becomes the test id)')
    .describe('Test id: [a-z][a-z0-9-]{0,62}'),
  model: z.string().min(1).max(63).describe('Registry model name'),
  control: z.string().min(1).max(100).describe('Control version, deployed there'),
  treatment: z.string().min(1).max(100).describe('Treatment version; deployed if needed'),
  traffic_percentage: z.number().int().min(1).max(99).default(50).describe("Treatment's share, %"),
  primary_metric: z.enum(PRIMARY_METRICS).describe('accuracy, score: from feedback'),
  minimum_detectable_effect: z.number().positive().describe('In metric units (0.05 = 5 pp)'),
  baseline: z
    .object({
      value: z.number().describe("Control's current value"),
      sd: z.number().positive().optional().describe('Per request (score, latency_ms)'),
    })
    .optional()
    .describe('For the power analysis; default: measured'),
  alpha: z.number().gt(0).lt(0.5).default(0.05).describe('False-positive rate'),
  power: z.number().gt(0.5).lt(1).default(0.8).describe('Power at the MDE'),
  guardrails: z.array(Guardrail).max(5).default(DEFAULT_GUARDRAILS).describe('Non-inferiority margins'),
  max_requests: z.number().int().positive().max(1e9).optional().describe('Default 3x the planned sample'),
  max_duration_seconds: z
    .number()
    .int()
    .positive()
    .max(90 * 86_400)
    .default(14 * 86_400)
    .describe('Default 14 days'),
  auto_rollback: z.boolean().default(true).describe('On a guardrail failure, SRM or a loss'),
};

export interface Plan {
  endpoint: string;
  endpoint_name: string;
  model: string;
  control: { version: string; deployed_model_id: string };
  treatment: { version: string; deployed_model_id: string };
  traffic_percentage: number;
  primary_metric: PrimaryMetric;
  direction: 'higher_is_better' | 'lower_is_better';
  minimum_detectable_effect: number;
  alpha: number;
  power: number;
  guardrails: (Guardrail & { margin_kind: 'absolute' | 'relative' })[];
  max_requests: number;
  max_duration_seconds: number;
  auto_rollback: boolean;
  /** The power analysis: per-request sd used, where it came from, outcomes needed per arm. */
  sample_size: {
    baseline: number;
    sd: number;
    baseline_from: string;
    control: number;
    treatment: number;
    total: number;
    fixed_horizon_total: number;
    planned_se: number;
    method: string;
  };
  /** Epoch ms, a whole second: results count from just after it. */
  started_at: number;
}

export const TEST_STATES = ['running', 'shipped', 'rolled_back', 'abandoned'] as const;
export type TestState = (typeof TEST_STATES)[number];

export const VERDICTS = ['ship_treatment', 'keep_control', 'continue', 'invalid'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const ACTIONS = ['auto', 'ship', 'rollback', 'abandon'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Decision {
  action: 'ship' | 'rollback' | 'abandon';
  by: 'agent' | 'auto_rollback';
  verdict: Verdict;
  sentence: string;
  force: boolean;
  reason: string | null;
  at: number;
  split_after: Record<string, number> | null;
  promoted: string | null;
  undeployed: string[];
}
