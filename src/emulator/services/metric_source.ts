// Streams prediction records out of the predictions table (src/emulator/predictions.ts) into the
// metric aggregations, with memory independent of the number of records. Queries read whole
// minutes from the per-minute rollups (metric_rollup.ts); records are scanned only for the part of
// a minute that a window edge or a period boundary cuts through.
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
  const rows = store
    .statement(
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
  /** A record's cell: its minute of the epoch, its alignment period back from endMs, or null for cell 0. */
  cell: CellSpec | null;
  /** One or two SQL expressions handed to the callback as `a` and `b` (b is 0 with one). */
  values: [string] | [string, string];
  /** An extra SQL condition on the row (trusted: comes from the metric catalog). */
  where?: string;
  /** Only these deployed model IDs, when known up front. */
  deployedModelIds?: string[];
}

/**
 * How a record time maps to a cell: 'minute' is m = ceil(t / 60 s) (the minute ((m-1)·60 s, m·60 s]);
 * 'period' is k = floor((endMs - t) / periodMs) (period k is (end - (k+1)·P, end - k·P]).
 */
export type CellSpec = { kind: 'minute' } | { kind: 'period'; endMs: number; periodMs: number };

/** The cell of time t, as the SQL of scanPredictions computes it (same floating-point operations). */
export function cellOf(cell: CellSpec | null, t: number): number {
  if (cell === null) return 0;
  return cell.kind === 'minute' ? Math.ceil(t / 60_000) : Math.floor((cell.endMs - t) / cell.periodMs);
}

export type RowFn = (deployedModelId: string, cell: number, a: number, b: number) => void;

// One SQL function per argument count, registered once per Store: (re-)registering a function
// expires every prepared statement of the connection, and each argument SQLite hands to JavaScript
// costs about 25 ns a row, so only the columns a query needs are sent. The functions call whatever
// handler the current scan set (scans are synchronous, so they never overlap).
const FN = {
  '0,1': 'vertex_mcp_row_v1',
  '0,2': 'vertex_mcp_row_v2',
  '1,1': 'vertex_mcp_row_cv1',
  '1,2': 'vertex_mcp_row_cv2',
};
const NOOP: RowFn = () => {};
const handlers = new WeakMap<Store, { row: RowFn }>();

function rowFunctions(store: Store): { row: RowFn } {
  let h = handlers.get(store);
  if (!h) {
    const state = { row: NOOP };
    const opts = { deterministic: false };
    store.db.function(FN['0,1'], opts, (dm: string, a: number) => {
      state.row(dm, 0, a, 0);
      return null;
    });
    store.db.function(FN['0,2'], opts, (dm: string, a: number, b: number) => {
      state.row(dm, 0, a, b);
      return null;
    });
    store.db.function(FN['1,1'], opts, (dm: string, k: number, a: number) => {
      state.row(dm, k, a, 0);
      return null;
    });
    store.db.function(FN['1,2'], opts, (dm: string, k: number, a: number, b: number) => {
      state.row(dm, k, a, b);
      return null;
    });
    h = state;
    handlers.set(store, h);
  }
  return h;
}

/** Calls `row` for each matching record (in index order: by time). */
export function scanPredictions(store: Store, spec: ScanSpec, row: RowFn): void {
  const h = rowFunctions(store);
  const ids = spec.deployedModelIds;
  const cell = spec.cell;
  // The cell's constants are bound, not spliced, so the SQL (and its cached statement) is shared.
  const cellSql =
    cell === null ? [] : cell.kind === 'minute' ? ['ceil(time_ms / 60000.0)'] : ['floor((? - time_ms) / (? * 1.0))'];
  const cellArgs = cell?.kind === 'period' ? [cell.endMs, cell.periodMs] : [];
  const fn = FN[`${cell === null ? 0 : 1},${spec.values.length}` as keyof typeof FN];
  const args = ['deployed_model_id', ...cellSql, ...spec.values];
  const sql =
    `SELECT count(${fn}(${args.join(', ')})) FROM predictions ` +
    'WHERE endpoint = ? AND time_ms > ? AND time_ms <= ?' +
    (ids ? ` AND deployed_model_id IN (${ids.map(() => '?').join(', ')})` : '') +
    (spec.where ? ` AND (${spec.where})` : '');
  const stmt = store.statement(sql);
  h.row = row;
  try {
    stmt.pluck().get(...cellArgs, spec.endpoint, spec.fromMs, spec.toMs, ...(ids ?? []));
  } finally {
    h.row = NOOP;
  }
}
