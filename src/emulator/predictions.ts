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
  /**
   * Whether this is the first row of its request (default true). A request of n instances has n
   * rows; Vertex counts and times requests, so response_count, error_count and the latency
   * distributions read first rows only, while prediction_count counts every row.
   */
  requestFirst?: boolean;
  /** The request's time in the runtime's inference (all its instances); 0 on its other rows. */
  latencyMs: number;
  /** The request's time around it (routing, decoding, encoding); 0 on its other rows. */
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
      input TEXT, output TEXT, request_first INTEGER NOT NULL DEFAULT 1);
    CREATE INDEX IF NOT EXISTS predictions_by_endpoint_time ON predictions (endpoint, time_ms);
    CREATE TABLE IF NOT EXISTS replica_events (
      time_ms INTEGER NOT NULL, endpoint TEXT NOT NULL, deployed_model_id TEXT NOT NULL, replicas INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS replica_events_by_endpoint_time ON replica_events (endpoint, time_ms);`);
  // Data dirs from before request_first: every old row counts as a request of its own.
  const columns = store.db.prepare('PRAGMA table_info(predictions)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'request_first')) {
    store.db.exec('ALTER TABLE predictions ADD COLUMN request_first INTEGER NOT NULL DEFAULT 1');
  }
}

const clip = (s: string | null) => (s === null ? null : s.slice(0, 2000));

/** Appends one prediction; returns its id. */
export function recordPrediction(store: Store, r: PredictionRecord): number {
  const res = store.db
    .prepare(
      `INSERT INTO predictions (time_ms, endpoint, deployed_model_id, model, latency_ms, overhead_ms, response_code,
         request_bytes, response_bytes, input_tokens, output_tokens, input, output, request_first)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      r.requestFirst === false ? 0 : 1,
    );
  return Number(res.lastInsertRowid);
}

export function recordReplicas(store: Store, e: ReplicaEvent): void {
  store.db
    .prepare('INSERT INTO replica_events (time_ms, endpoint, deployed_model_id, replicas) VALUES (?, ?, ?, ?)')
    .run(e.timeMs, e.endpoint, e.deployedModelId, e.replicas);
}

/** Predictions of one endpoint in [fromMs, toMs), oldest first, streamed (memory stays flat); requestFirst is set. */
export function* iteratePredictions(
  store: Store,
  endpoint: string | null,
  fromMs: number,
  toMs: number,
): Generator<PredictionRecord> {
  const stmt = store.db.prepare(
    `SELECT id, time_ms AS timeMs, endpoint, deployed_model_id AS deployedModelId, model, latency_ms AS latencyMs,
       overhead_ms AS overheadMs, response_code AS responseCode, request_bytes AS requestBytes,
       response_bytes AS responseBytes, input_tokens AS inputTokens, output_tokens AS outputTokens, input, output,
       request_first AS requestFirst
     FROM predictions WHERE (? IS NULL OR endpoint = ?) AND time_ms >= ? AND time_ms < ? ORDER BY time_ms, id`,
  );
  for (const row of stmt.iterate(endpoint, endpoint, fromMs, toMs) as IterableIterator<
    Omit<PredictionRecord, 'requestFirst'> & { requestFirst: number }
  >) {
    yield { ...row, requestFirst: row.requestFirst === 1 };
  }
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
