// The record of every prediction the emulator serves, and of replica counts over time: what the
// emulated Cloud Monitoring metrics (MetricService) and endpoint stats are computed from.
// Plain tables rather than JSON documents: they grow with traffic and are read by time range.
import type { Store } from './store.js';

export interface PredictionRecord {
  /** Also the prediction id returned to clients (for feedback). */
  id?: number;
  timeMs: number;
  /** Full endpoint resource name. */
  endpoint: string;
  deployedModelId: string;
  /** Model resource name with @versionId. */
  model: string;
  /** Time spent in the runtime's inference. */
  latencyMs: number;
  /** Time spent around it (routing, decoding, encoding). */
  overheadMs: number;
  /** HTTP-style code: 200, 400, 429, 500, ... */
  responseCode: number;
  requestBytes: number;
  responseBytes: number;
  inputTokens: number;
  outputTokens: number;
  /** The instance text (first 2,000 characters), for drift and feedback. */
  input: string | null;
  /** The predicted output (first 2,000 characters). */
  output: string | null;
}

export interface ReplicaEvent {
  timeMs: number;
  endpoint: string;
  deployedModelId: string;
  replicas: number;
}

export function ensurePredictionTables(store: Store): void {
  store.db.exec(`
    CREATE TABLE IF NOT EXISTS predictions (
      id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, endpoint TEXT NOT NULL,
      deployed_model_id TEXT NOT NULL, model TEXT NOT NULL, latency_ms REAL NOT NULL,
      overhead_ms REAL NOT NULL, response_code INTEGER NOT NULL, request_bytes INTEGER NOT NULL,
      response_bytes INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
      input TEXT, output TEXT);
    CREATE INDEX IF NOT EXISTS predictions_by_endpoint_time ON predictions (endpoint, time_ms);
    CREATE TABLE IF NOT EXISTS replica_events (
      time_ms INTEGER NOT NULL, endpoint TEXT NOT NULL, deployed_model_id TEXT NOT NULL, replicas INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS replica_events_by_endpoint_time ON replica_events (endpoint, time_ms);`);
}

const clip = (s: string | null) => (s === null ? null : s.slice(0, 2000));

/** Appends one prediction; returns its id. */
export function recordPrediction(store: Store, r: PredictionRecord): number {
  const res = store.db
    .prepare(
      `INSERT INTO predictions (time_ms, endpoint, deployed_model_id, model, latency_ms, overhead_ms, response_code,
         request_bytes, response_bytes, input_tokens, output_tokens, input, output)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
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
      clip(r.input),
      clip(r.output),
    );
  return Number(res.lastInsertRowid);
}

export function recordReplicas(store: Store, e: ReplicaEvent): void {
  store.db
    .prepare('INSERT INTO replica_events (time_ms, endpoint, deployed_model_id, replicas) VALUES (?, ?, ?, ?)')
    .run(e.timeMs, e.endpoint, e.deployedModelId, e.replicas);
}

/** Predictions of one endpoint in [fromMs, toMs), oldest first, streamed (memory stays flat). */
export function* iteratePredictions(
  store: Store,
  endpoint: string | null,
  fromMs: number,
  toMs: number,
): Generator<PredictionRecord> {
  const stmt = store.db.prepare(
    `SELECT id, time_ms AS timeMs, endpoint, deployed_model_id AS deployedModelId, model, latency_ms AS latencyMs,
       overhead_ms AS overheadMs, response_code AS responseCode, request_bytes AS requestBytes,
       response_bytes AS responseBytes, input_tokens AS inputTokens, output_tokens AS outputTokens, input, output
     FROM predictions WHERE (? IS NULL OR endpoint = ?) AND time_ms >= ? AND time_ms < ? ORDER BY time_ms, id`,
  );
  yield* stmt.iterate(endpoint, endpoint, fromMs, toMs) as IterableIterator<PredictionRecord>;
}

/**
 * Replica changes before `toMs`, oldest first. Events before the window are included: the last
 * one before it gives the replica count the window starts with.
 */
export function replicaEvents(store: Store, endpoint: string | null, toMs: number): ReplicaEvent[] {
  return store.db
    .prepare(
      `SELECT time_ms AS timeMs, endpoint, deployed_model_id AS deployedModelId, replicas FROM replica_events
       WHERE (? IS NULL OR endpoint = ?) AND time_ms < ? ORDER BY time_ms`,
    )
    .all(endpoint, endpoint, toMs) as ReplicaEvent[];
}
