// Reads the per-minute rollups of the prediction records (src/emulator/predictions.ts) for the
// emulated MetricService, so a query costs the minutes of its window, not its records.
//
// A query's window (fromMs, toMs] is split by minute. A minute's rollup is used whole when every
// record it holds lies inside the window and in one cell (alignment period or minute) — the rollup
// keeps the first and last record time of each (endpoint, minute, deployed model, response code), so
// this is known without reading records. That covers every minute wholly inside the window, and a
// minute the window edge cuts but whose records all fall on one side of the cut: the current minute
// of a window ending now, a minute edge of a window starting on it. Any other minute (a window edge,
// or a period boundary, cuts through its records) is read from the records themselves, over the
// part of it inside the window only (metric_source.ts), so every answer is exact to the millisecond.
// Cost: the rollup rows of the window's minutes (a few per deployed model and minute; the latency
// buckets a minute's values fill, at most 202 per latency type) plus the records of at most the
// minutes an edge or a period boundary cuts through.
import { LATENCY_TYPES_SQL } from '../predictions.js';
import type { Store } from '../store.js';
import { type CellSpec, cellOf } from './metric_source.js';

export interface MinutePlan {
  /** Minutes (m: ((m-1)·60 s, m·60 s]) whose records the window may hold. */
  minuteLo: number;
  minuteHi: number;
  /** Minute -> the cell its whole rollup goes to. */
  whole: Map<number, number>;
  /** Time ranges (from, to] to read from the records, within the window. */
  raw: [number, number][];
  /** The minutes those ranges are in (the minutes with records that are not whole). */
  rawMinutes: number[];
  /** The cell of every whole minute when they all share one (a query of one alignment period), else null. */
  oneCell: number | null;
}

const MINUTE_MS = 60_000;

/** Which minutes of (fromMs, toMs] an endpoint's rollups answer, and which ranges need the records. */
export function planMinutes(
  store: Store,
  endpoint: string,
  fromMs: number,
  toMs: number,
  cell: CellSpec | null,
): MinutePlan {
  const minuteLo = Math.floor(fromMs / MINUTE_MS) + 1;
  const minuteHi = Math.ceil(toMs / MINUTE_MS);
  const whole = new Map<number, number>();
  const raw: [number, number][] = [];
  const rawMinutes: number[] = [];
  let oneCell: number | null | undefined;
  const rows = store
    .statement(
      `SELECT minute, min(first_ms) AS first, max(last_ms) AS last FROM prediction_rollup_counts
       WHERE endpoint = ? AND minute >= ? AND minute <= ? GROUP BY minute`,
    )
    .all(endpoint, minuteLo, minuteHi) as { minute: number; first: number; last: number }[];
  for (const { minute, first, last } of rows) {
    if (first > fromMs && last <= toMs && cellOf(cell, first) === cellOf(cell, last)) {
      const k = cellOf(cell, first);
      whole.set(minute, k);
      oneCell = oneCell === undefined || oneCell === k ? k : null;
      continue;
    }
    rawMinutes.push(minute);
    const from = Math.max(fromMs, (minute - 1) * MINUTE_MS);
    const to = Math.min(toMs, minute * MINUTE_MS);
    const prev = raw[raw.length - 1];
    if (prev && prev[1] === from) prev[1] = to;
    else raw.push([from, to]);
  }
  return { minuteLo, minuteHi, whole, raw, rawMinutes, oneCell: oneCell ?? null };
}

export interface CountRow {
  minute: number;
  deployed_model_id: string;
  response_code: number;
  requests: number;
  predictions: number;
  request_bytes: number;
  response_bytes: number;
}

/** Calls `fn` with each count rollup row of the plan's whole minutes, and the cell it belongs to. */
export function readCountRollups(
  store: Store,
  endpoint: string,
  plan: MinutePlan,
  fn: (r: CountRow, cell: number) => void,
) {
  if (!plan.whole.size) return;
  const stmt = store.statement(
    `SELECT minute, deployed_model_id, response_code, requests, predictions, request_bytes, response_bytes
     FROM prediction_rollup_counts WHERE endpoint = ? AND minute >= ? AND minute <= ?`,
  );
  for (const r of stmt.all(endpoint, plan.minuteLo, plan.minuteHi) as CountRow[]) {
    const cell = plan.whole.get(r.minute);
    if (cell !== undefined) fn(r, cell);
  }
}

export type LatencyTypeName = (typeof LATENCY_TYPES_SQL)[number];

export interface LatencyHandlers {
  /** The count, mean, sum of squared deviations, minimum and maximum of one minute's values. */
  moments(dm: string, type: number, cell: number, n: number, mean: number, m2: number, min: number, max: number): void;
  /** A bucket count of one minute (the moments of that minute come first). */
  bucket(dm: string, type: number, cell: number, bucket: number, n: number): void;
}

/**
 * Calls the handlers with the latency rollups of the plan's whole minutes, for the latency types
 * `types` (indexes into LATENCY_TYPES_SQL).
 */
export function readLatencyRollups(
  store: Store,
  endpoint: string,
  plan: MinutePlan,
  types: number[],
  h: LatencyHandlers,
): void {
  if (!plan.whole.size || !types.length) return;
  const cols = LATENCY_TYPES_SQL.flatMap((t) => [`${t}_mean`, `${t}_m2`, `${t}_min`, `${t}_max`]);
  const moments = store
    .statement(
      `SELECT minute, deployed_model_id, n, ${cols.join(', ')} FROM prediction_rollup_latency
       WHERE endpoint = ? AND minute >= ? AND minute <= ?`,
    )
    .raw(true);
  for (const row of moments.all(endpoint, plan.minuteLo, plan.minuteHi) as unknown[][]) {
    const cell = plan.whole.get(row[0] as number);
    if (cell === undefined) continue;
    const dm = row[1] as string;
    const n = row[2] as number;
    for (const t of types) {
      const o = 3 + 4 * t;
      h.moments(dm, t, cell, n, row[o] as number, row[o + 1] as number, row[o + 2] as number, row[o + 3] as number);
    }
  }
  if (plan.oneCell !== null && plan.rawMinutes.length <= 2) {
    // One cell (the usual one-period query: stats, A/B reads, percentiles over a window): SQLite adds
    // the bucket counts up over the minutes, leaving out the (at most two) minutes an edge cuts.
    const grouped = store
      .statement(
        `SELECT deployed_model_id, bucket, sum(n) FROM prediction_rollup_buckets
         WHERE endpoint = ? AND latency_type = ? AND minute >= ? AND minute <= ? AND minute NOT IN (?, ?)
         GROUP BY deployed_model_id, bucket`,
      )
      .raw(true);
    // No minute is below MIN_SAFE_INTEGER: it stands for "none" (NULL would make NOT IN exclude every row).
    const [a = Number.MIN_SAFE_INTEGER, b = Number.MIN_SAFE_INTEGER] = plan.rawMinutes;
    for (const t of types) {
      for (const row of grouped.all(endpoint, t, plan.minuteLo, plan.minuteHi, a, b) as unknown[][]) {
        h.bucket(row[0] as string, t, plan.oneCell, row[1] as number, row[2] as number);
      }
    }
    return;
  }
  const buckets = store
    .statement(
      `SELECT minute, deployed_model_id, bucket, n FROM prediction_rollup_buckets
       WHERE endpoint = ? AND latency_type = ? AND minute >= ? AND minute <= ?`,
    )
    .raw(true);
  for (const t of types) {
    for (const row of buckets.all(endpoint, t, plan.minuteLo, plan.minuteHi) as unknown[][]) {
      const cell = plan.whole.get(row[0] as number);
      if (cell !== undefined) h.bucket(row[1] as string, t, cell, row[2] as number, row[3] as number);
    }
  }
}
