// The routing client's public shapes: options, decisions, outcomes, stats.
import type { Library } from '../lib/index.js';
import type { BreakerOptions, BreakerState, BreakerTransition, CircuitBreaker } from './breaker.js';
import type { FallbackSpec } from './fallback.js';
import type { DecisionLog, DecisionLogOptions, LogCounts } from './log.js';

export interface RouterOptions {
  /** The library (its monitoring ledger is where feedback goes: share it with A/B tests). */
  library: Library;
  /** The routing model's production endpoint (ID or display name). */
  endpoint: string;
  /** Whole time a route() may take, fallback included, ms. Default 1000. */
  deadline_ms?: number;
  /**
   * Time kept for the fallbacks when the endpoint is slow, ms: the endpoint gets deadline_ms minus
   * this. Default: a quarter of the deadline when a fallback is an endpoint, else 20 ms.
   */
  fallback_reserve_ms?: number;
  /** Attempts at the endpoint for retryable failures (UNAVAILABLE, RESOURCE_EXHAUSTED). Default 2. */
  max_attempts?: number;
  breaker?: BreakerOptions;
  /** Tried in order when the endpoint does not answer. The last should not fail (a rule). */
  fallbacks?: FallbackSpec[];
  /** The agents that exist: an answer naming another is not used (the fallback answers). */
  agents?: string[];
  /** The decision log (see log.ts). */
  log: DecisionLogOptions;
  /**
   * Exploration: with probability `rate` a random agent of `agents` takes the task instead of the
   * model's choice, so the log learns about agents the model never picks. Feedback is sent only
   * when the agent used is the one the model chose (otherwise the outcome says nothing about it).
   */
  explore?: { rate: number; random?: () => number };
}

export interface Decision {
  decision_id: string;
  task: string;
  agent: string;
  /** `endpoint` when the production endpoint answered, `fallback` otherwise. */
  answered_by: 'endpoint' | 'fallback';
  /** Which one answered: `endpoint:<ref>`, `artifact:<name>@<version>`, `rule:<name>`. */
  source: string;
  /** Why the endpoint did not answer; null when it did. */
  fallback_reason: string | null;
  prediction_id: string | null;
  endpoint: string | null;
  deployed_model_id: string | null;
  model: string | null;
  version: string | null;
  confidence: number | null;
  /** The agent the answering model chose (differs from `agent` when explored). */
  model_agent: string;
  explored: boolean;
  /** Calls made to the production endpoint (0 when the breaker was open). */
  attempts: number;
  latency_ms: number;
  deadline_ms: number;
  /** The breaker's state after this decision. */
  breaker: BreakerState;
  timestamp: string;
}

export interface Outcome {
  success: boolean;
  /** A quality score, e.g. in [0, 1]. */
  score?: number;
  /** How long the agent took on the task, ms (HALO `latency_ms`). */
  latency_ms?: number;
  cost?: number;
}

export interface OutcomeResult {
  decision_id: string;
  /** The feedback record's id, or null with the reason when none was sent. */
  feedback_id: number | null;
  feedback_skipped: string | null;
}

export interface RouterStats {
  routed: number;
  answered_by_endpoint: number;
  answered_by_fallback: number;
  by_source: Record<string, number>;
  outcomes: number;
  feedback_sent: number;
  failed_routes: number;
  breaker: BreakerState;
  breaker_transitions: BreakerTransition[];
  log: LogCounts;
}

export interface Router {
  route(task: string): Promise<Decision>;
  recordOutcome(decision: Decision, outcome: boolean | Outcome, score?: number): OutcomeResult;
  /** Resolves when every artifact fallback is loaded (rejects naming one that cannot be). */
  readonly ready: Promise<void>;
  readonly breaker: CircuitBreaker;
  readonly log: DecisionLog;
  stats(): RouterStats;
  /** Publishes the log's current segments (gs://) without closing. */
  flush(): Promise<void>;
  /** Closes the log (publishing its last segments). The library stays open: it is the caller's. */
  close(): Promise<void>;
}
