// Streams prediction records out of the predictions table (src/emulator/predictions.ts) into the
// metric aggregations, with memory independent of the number of records.
//
// iteratePredictions() builds a 14-field object per record (instance text included): about 4 µs a
// record, 4 s for a million. Here SQLite walks the same rows and hands only the columns a query
// needs to a JavaScript callback registered as an SQL function: no row objects, no strings but the
// deployed model ID, about 0.3 µs a record (on par with SELECTing the bare latency column into an
// array). The endpoint is never sent per row: the distinct endpoints come from a skip-scan of the
// (endpoint, time_ms) index, are filtered on their resource labels, and each is read with an index
// range scan. This file reads the columns recordPrediction() writes; the MetricService tests fail
// if they change. Request-level metrics add `request_first = 1` to the scan's condition (one more
// column test per row, no extra argument).
import type { Store } from '../store.js';

export interface EndpointName {
  name: string;
  project: string;
  location: string;
  endpointId: string;
}

const ENDPOINT_RE = /^projects\/([^/]+)\/locations\/([^/]+)\/endpoints\/([^/]+)$/;

export function parseEndpoint(name: string): EndpointName | null {
  const m = ENDPOINT_RE.exec(name);
  return m ? { name, project: m[1]!, location: m[2]!, endpointId: m[3]! } : null;
}

/** Every endpoint that has prediction records: a skip-scan of the index, O(endpoints · log records). */
export function endpointsWithPredictions(store: Store): EndpointName[] {
  const rows = store.db
    .prepare(
      `WITH RECURSIVE e(ep) AS (
         SELECT min(endpoint) FROM predictions
         UNION ALL SELECT (SELECT min(endpoint) FROM predictions WHERE endpoint > e.ep) FROM e WHERE e.ep IS NOT NULL)
       SELECT ep FROM e WHERE ep IS NOT NULL`,
    )
    .pluck()
    .all() as string[];
  return rows.map(parseEndpoint).filter((e): e is EndpointName => e !== null);
}

export interface ScanSpec {
  endpoint: string;
  /** Records with fromMs < time_ms <= toMs (Cloud Monitoring's (start, end] interval). */
  fromMs: number;
  toMs: number;
  /** SQL expression of a record's cell (alignment period or minute; integral), or null for cell 0. */
  cell: string | null;
  /** One or two SQL expressions handed to the callback as `a` and `b` (b is 0 with one). */
  values: [string] | [string, string];
  /** An extra SQL condition on the row (trusted: comes from the metric catalog). */
  where?: string;
  /** Only these deployed model IDs, when known up front. */
  deployedModelIds?: string[];
}

export type RowFn = (deployedModelId: string, cell: number, a: number, b: number) => void;

const FN = 'vertex_mcp_metric_row';

// One adapter per argument count: each argument SQLite hands to JavaScript costs about 25 ns a row,
// so only the columns a query needs are sent.
type Adapter = (h: RowFn) => (...args: any[]) => null;
const ADAPTERS: Record<string, Adapter> = {
  '0,1': (h) => (dm: string, a: number) => {
    h(dm, 0, a, 0);
    return null;
  },
  '0,2': (h) => (dm: string, a: number, b: number) => {
    h(dm, 0, a, b);
    return null;
  },
  '1,1': (h) => (dm: string, k: number, a: number) => {
    h(dm, k, a, 0);
    return null;
  },
  '1,2': (h) => (dm: string, k: number, a: number, b: number) => {
    h(dm, k, a, b);
    return null;
  },
};

/** Calls `row` for each matching record (in index order: by time). */
export function scanPredictions(store: Store, spec: ScanSpec, row: RowFn): void {
  // The adapter's parameter count is the SQL function's arity.
  store.db.function(
    FN,
    { deterministic: false },
    ADAPTERS[`${spec.cell === null ? 0 : 1},${spec.values.length}`]!(row),
  );
  const ids = spec.deployedModelIds;
  const args = ['deployed_model_id', ...(spec.cell === null ? [] : [spec.cell]), ...spec.values];
  const sql =
    `SELECT count(${FN}(${args.join(', ')})) FROM predictions ` +
    'WHERE endpoint = ? AND time_ms > ? AND time_ms <= ?' +
    (ids ? ` AND deployed_model_id IN (${ids.map(() => '?').join(', ')})` : '') +
    (spec.where ? ` AND (${spec.where})` : '');
  store.db
    .prepare(sql)
    .pluck()
    .get(spec.endpoint, spec.fromMs, spec.toMs, ...(ids ?? []));
}
