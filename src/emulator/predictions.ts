// The record of every prediction the emulator serves, and of replica counts over time: what the
// emulated Cloud Monitoring metrics (MetricService) and endpoint stats are computed from.
// Plain tables rather than JSON documents: they grow with traffic and are read by time range.
import { FINITE_BUCKETS, GROWTH_FACTOR, SCALE_MS } from './services/metric_distribution.js';
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

/**
 * Per-minute rollups of the predictions table, kept by a trigger in the same transaction as each
 * inserted row, so a monitoring read costs the minutes of its window rather than its records.
 * Minute m holds the records with (m-1)·60 s < time_ms <= m·60 s (Cloud Monitoring's (start, end]),
 * m = ceil(time_ms / 60 s); a row inserted out of time order just updates its own minute.
 * - prediction_rollup_counts, per endpoint, minute, deployed model and response code: requests
 *   (first rows of requests), predictions (every row), request and response bytes, and the first
 *   and last record time in that cell (a read uses them to tell whether a minute that straddles a
 *   window edge lies wholly on one side of it).
 * - prediction_rollup_latency, per endpoint, minute and deployed model, over served requests (first
 *   row, response code < 400): their count, and per latency type (model, overhead, total = model +
 *   overhead) the mean and sum of squared deviations (Welford, in insertion order), minimum and
 *   maximum.
 * - prediction_rollup_buckets, per endpoint, latency type (0 model, 1 overhead, 2 total), minute,
 *   deployed model and bucket: the count of values in each bucket of the exponential layout the
 *   emulated distributions carry (services/metric_distribution.ts: scale 0.001 ms, growth 1.1, 200
 *   finite buckets; a value of at most 190 s is estimated within 4.9%). prediction_rollup_bounds
 *   lists each bucket's lower bound as that file computes it, so SQL finds the same bucket as
 *   bucketOf() by an index lookup.
 * Cost: about 10 µs more per inserted row (five upserts in the trigger); a served request touches
 * one counts row, one latency row and three bucket rows.
 * Version ROLLUP_VERSION: a data dir without the rollups (or with another version) gets them built
 * once from its records when the tables are ensured.
 */
export const ROLLUP_VERSION = 1;
/** The latency types in rollup order: their index is prediction_rollup_buckets.latency_type. */
export const LATENCY_TYPES_SQL = ['model', 'overhead', 'total'] as const;

/** The rollup upserts, over the columns of `p` (NEW in the trigger, a table alias in the backfill). */
function rollupUpserts(p: string, from: string, order: string): string[] {
  const minute = `CAST(ceil(${p}.time_ms / 60000.0) AS INTEGER)`;
  const src = from ? `FROM ${from}` : '';
  const served = `WHERE ${p}.request_first = 1 AND ${p}.response_code < 400 ${order}`;
  const values = {
    model: `${p}.latency_ms`,
    overhead: `${p}.overhead_ms`,
    total: `(${p}.latency_ms + ${p}.overhead_ms)`,
  };
  const types = Object.keys(values) as (keyof typeof values)[];
  // Welford's update, as Distribution.add does it: d = x - mean; mean += d / n; m2 += d · (x - mean).
  const welford = (t: string) =>
    `${t}_mean = ${t}_mean + (excluded.${t}_mean - ${t}_mean) / (n + 1),
     ${t}_m2 = ${t}_m2 + (excluded.${t}_mean - ${t}_mean) * (excluded.${t}_mean - (${t}_mean + (excluded.${t}_mean - ${t}_mean) / (n + 1))),
     ${t}_min = min(${t}_min, excluded.${t}_min), ${t}_max = max(${t}_max, excluded.${t}_max)`;
  const bucket = (x: string) =>
    `coalesce((SELECT bucket FROM prediction_rollup_bounds WHERE lower_ms <= ${x} ORDER BY lower_ms DESC LIMIT 1), 0)`;
  return [
    `INSERT INTO prediction_rollup_counts (endpoint, minute, deployed_model_id, response_code, requests, predictions,
       request_bytes, response_bytes, first_ms, last_ms)
     SELECT ${p}.endpoint, ${minute}, ${p}.deployed_model_id, ${p}.response_code, ${p}.request_first, 1,
       ${p}.request_bytes, ${p}.response_bytes, ${p}.time_ms, ${p}.time_ms
     ${src} WHERE true ${order}
     ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, predictions = predictions + 1,
       request_bytes = request_bytes + excluded.request_bytes, response_bytes = response_bytes + excluded.response_bytes,
       first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms)`,
    `INSERT INTO prediction_rollup_latency (endpoint, minute, deployed_model_id, n,
       ${types.map((t) => `${t}_mean, ${t}_m2, ${t}_min, ${t}_max`).join(', ')})
     SELECT ${p}.endpoint, ${minute}, ${p}.deployed_model_id, 1,
       ${types.map((t) => `${values[t]}, 0, ${values[t]}, ${values[t]}`).join(', ')}
     ${src} ${served}
     ON CONFLICT DO UPDATE SET ${types.map(welford).join(', ')}, n = n + 1`,
    ...types.map(
      (t, i) =>
        `INSERT INTO prediction_rollup_buckets (endpoint, latency_type, minute, deployed_model_id, bucket, n)
         SELECT ${p}.endpoint, ${i}, ${minute}, ${p}.deployed_model_id, ${bucket(values[t])}, 1
         ${src} ${served}
         ON CONFLICT DO UPDATE SET n = n + 1`,
    ),
  ];
}

const ROLLUP_TABLES = ['prediction_rollup_counts', 'prediction_rollup_latency', 'prediction_rollup_buckets'];

/** Creates (or re-creates at another version) the rollup tables and trigger, backfilled from the records. */
function ensureRollups(store: Store): void {
  const db = store.db;
  const version = db.prepare(`SELECT value FROM prediction_rollup_meta WHERE key = 'version'`).pluck().get() as
    | number
    | undefined;
  const trigger = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'predictions_rollup'`)
    .get();
  if (version === ROLLUP_VERSION && trigger) return;
  db.transaction(() => {
    db.exec('DROP TRIGGER IF EXISTS predictions_rollup');
    for (const t of ROLLUP_TABLES) db.exec(`DROP TABLE IF EXISTS ${t}`);
    db.exec(`
      CREATE TABLE prediction_rollup_counts (
        endpoint TEXT NOT NULL, minute INTEGER NOT NULL, deployed_model_id TEXT NOT NULL, response_code INTEGER NOT NULL,
        requests INTEGER NOT NULL, predictions INTEGER NOT NULL, request_bytes INTEGER NOT NULL,
        response_bytes INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
        PRIMARY KEY (endpoint, minute, deployed_model_id, response_code)) WITHOUT ROWID;
      CREATE TABLE prediction_rollup_latency (
        endpoint TEXT NOT NULL, minute INTEGER NOT NULL, deployed_model_id TEXT NOT NULL, n INTEGER NOT NULL,
        ${LATENCY_TYPES_SQL.map((t) => `${t}_mean REAL NOT NULL, ${t}_m2 REAL NOT NULL, ${t}_min REAL NOT NULL, ${t}_max REAL NOT NULL`).join(', ')},
        PRIMARY KEY (endpoint, minute, deployed_model_id)) WITHOUT ROWID;
      CREATE TABLE prediction_rollup_buckets (
        endpoint TEXT NOT NULL, latency_type INTEGER NOT NULL, minute INTEGER NOT NULL, deployed_model_id TEXT NOT NULL,
        bucket INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (endpoint, latency_type, minute, deployed_model_id, bucket)) WITHOUT ROWID;
      DROP TABLE IF EXISTS prediction_rollup_bounds;
      CREATE TABLE prediction_rollup_bounds (lower_ms REAL PRIMARY KEY, bucket INTEGER NOT NULL) WITHOUT ROWID;`);
    const bound = db.prepare('INSERT INTO prediction_rollup_bounds (lower_ms, bucket) VALUES (?, ?)');
    // Bucket i (1..N+1) starts at SCALE·G^(i-1), computed as metric_distribution.ts computes BOUNDS.
    for (let i = 1; i <= FINITE_BUCKETS + 1; i++) bound.run(SCALE_MS * GROWTH_FACTOR ** (i - 1), i);
    // The backfill replays the records in insertion order through the trigger's own statements.
    for (const sql of rollupUpserts('p', 'predictions p', 'ORDER BY p.id')) db.exec(sql);
    db.exec(
      `CREATE TRIGGER predictions_rollup AFTER INSERT ON predictions BEGIN
         ${rollupUpserts('NEW', '', '')
           .map((s) => `${s};`)
           .join('\n')}
       END`,
    );
    db.prepare(
      `INSERT INTO prediction_rollup_meta (key, value) VALUES ('version', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ).run(ROLLUP_VERSION);
  })();
}

const ensured = new WeakSet<Store>();

export function ensurePredictionTables(store: Store): void {
  if (ensured.has(store)) return;
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
    CREATE INDEX IF NOT EXISTS replica_events_by_endpoint_time ON replica_events (endpoint, time_ms);
    CREATE TABLE IF NOT EXISTS prediction_rollup_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;`);
  // Data dirs from before request_first: every old row counts as a request of its own.
  const columns = store.db.prepare('PRAGMA table_info(predictions)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'request_first')) {
    store.db.exec('ALTER TABLE predictions ADD COLUMN request_first INTEGER NOT NULL DEFAULT 1');
  }
  ensureRollups(store);
  ensured.add(store);
}

const clip = (s: string | null) => (s === null ? null : s.slice(0, 2000));

const INSERT_PREDICTION = `INSERT INTO predictions (time_ms, endpoint, deployed_model_id, model, latency_ms, overhead_ms,
    response_code, request_bytes, response_bytes, input_tokens, output_tokens, input, output, request_first)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Appends one prediction; returns its id. The rollups of its minute are updated by the trigger in
 * the same statement (so in the same transaction).
 */
export function recordPrediction(store: Store, r: PredictionRecord): number {
  const res = store
    .statement(INSERT_PREDICTION)
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
  store
    .statement('INSERT INTO replica_events (time_ms, endpoint, deployed_model_id, replicas) VALUES (?, ?, ?, ?)')
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
  return store
    .statement(
      `SELECT time_ms AS timeMs, endpoint, deployed_model_id AS deployedModelId, replicas FROM replica_events
       WHERE (? IS NULL OR endpoint = ?) AND time_ms < ? ORDER BY time_ms`,
    )
    .all(endpoint, endpoint, toMs) as ReplicaEvent[];
}
