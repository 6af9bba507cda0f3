// Cloud Monitoring's MetricService (google.monitoring.v3), the part Vertex AI monitoring reads:
// ListTimeSeries for the online-prediction metric types of aiplatform.googleapis.com/Endpoint,
// computed from the emulator's prediction records and replica events, plus ListMetricDescriptors
// and GetMetricDescriptor for those types. Every other method answers UNIMPLEMENTED.
//
// Request surface (anything else is INVALID_ARGUMENT naming what is supported):
// - name: projects/{project}; only endpoints of that project are read.
// - filter: metric.type = "<one supported type>" (required), resource.type, resource.labels.
//   {resource_container, location, endpoint_id}, metric.labels.<the metric's labels>, with = / !=
//   and starts_with / ends_with / has_substring / one_of / monitoring.regex.full_match, joined with
//   AND (metric_filter.ts).
// - interval: startTime and endTime required, endTime > startTime; records with
//   startTime < time <= endTime count (Cloud Monitoring's (start, end]).
// - aggregation: see metric_aggregation.ts for the aligners and reducers per metric kind.
//   ALIGN_NONE returns raw points: for DELTA metrics one point per minute of the epoch that has
//   records (interval clipped to the request's); for the replicas gauge one sample every 60 s
//   counted back from endTime. ALIGN_DELTA / SUM / RATE / percentiles are computed from the records
//   (exactly, to the millisecond of the interval): whole minutes from the per-minute rollups the
//   emulator keeps on insert (../predictions.ts), the part of a minute an interval edge or a period
//   boundary cuts through from the records themselves (metric_rollup.ts), so a query costs the
//   minutes of its window, not its records; ALIGN_MEAN / MIN / MAX / COUNT of counts fold the raw
//   60 s points.
// - secondary_aggregation and order_by must be left blank; view FULL or HEADERS; page_size counts
//   points with FULL and series with HEADERS (default and maximum 100,000), as Cloud Monitoring.
// Points come newest first; series are sorted by their resource then metric labels.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { invalidArgument, notFound } from '../errors.js';
import type { ServiceImpl } from '../host.js';
import type { ServiceContext } from '../index.js';
import { ensurePredictionTables, LATENCY_TYPES_SQL, replicaEvents } from '../predictions.js';
import { loadServices, type ServiceDefinition } from '../protos.js';
import type { Store } from '../store.js';
import { paginate, timestamp, timestampMs } from '../util.js';
import {
  type AggregationSpec,
  type APoint,
  type ASeries,
  alignedShape,
  parseAggregation,
  percentileOf,
  RAW_PERIOD_MS,
  reducedShape,
  reduceSeries,
  type Shape,
} from './metric_aggregation.js';
import {
  descriptor,
  ENDPOINT_RESOURCE,
  LATENCY_TYPES,
  type Labels,
  METRICS,
  METRICS_BY_TYPE,
  type MetricDef,
  RESOURCE_LABELS,
} from './metric_catalog.js';
import { Distribution } from './metric_distribution.js';
import { type Clause, parseFilter } from './metric_filter.js';
import { type CountRow, planMinutes, readCountRollups, readLatencyRollups } from './metric_rollup.js';
import {
  type CellSpec,
  type EndpointName,
  endpointsWithPredictions,
  parseEndpoint,
  scanPredictions,
} from './metric_source.js';

export const METRIC_SERVICE = 'google.monitoring.v3.MetricService';

/** The directory of google/monitoring/v3/*.proto inside @google-cloud/monitoring. */
export function monitoringProtoDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@google-cloud/monitoring/package.json')), 'build/protos');
}

/** MetricService's definition, from the .proto files that ship inside @google-cloud/monitoring. */
export function loadMetricServiceDefinition(): ServiceDefinition {
  return loadServices(['google/monitoring/v3/metric_service.proto'], [METRIC_SERVICE], [monitoringProtoDir()])[
    METRIC_SERVICE
  ]!;
}

const MAX_PAGE_SIZE = 100_000;
/** Longest interval (of whole alignment periods) a query may read: 800 days of 60 s samples. */
const MAX_WINDOW_MS = 800 * 86_400_000;

function projectOf(name: string | undefined): string {
  const m = /^projects\/([^/]+)$/.exec(name ?? '');
  if (!m) throw invalidArgument(`name "${name ?? ''}" must look like projects/{project}`);
  return m[1]!;
}

/** The filter's clauses by field, once the fields are checked against the metric. */
interface ResolvedFilter {
  metric: MetricDef;
  clauses: Map<string, Clause[]>;
}

function resolveFilter(filter: string | undefined): ResolvedFilter {
  const clauses = parseFilter(filter ?? '');
  const supportedTypes = METRICS.map((m) => m.type).join(', ');
  const typeClauses = clauses.filter((c) => c.field === 'metric.type');
  if (typeClauses.length !== 1 || typeClauses[0]!.literal === undefined) {
    throw invalidArgument(
      `filter must name exactly one metric type as metric.type = "<type>"${typeClauses.length ? ` (got ${typeClauses.map((c) => c.text).join(' AND ')})` : ''}; supported types: ${supportedTypes}`,
    );
  }
  const metric = METRICS_BY_TYPE.get(typeClauses[0]!.literal!);
  if (!metric) {
    throw invalidArgument(`unknown metric type "${typeClauses[0]!.literal}"; supported types: ${supportedTypes}`);
  }
  const allowed = [
    'metric.type',
    'resource.type',
    ...RESOURCE_LABELS.map((l) => `resource.labels.${l}`),
    ...metric.labels.map((l) => `metric.labels.${l.key}`),
  ];
  const byField = new Map<string, Clause[]>();
  for (const c of clauses) {
    if (!allowed.includes(c.field)) {
      throw invalidArgument(
        `filter field "${c.field}" is not supported for ${metric.type}; supported fields: ${allowed.join(', ')}`,
      );
    }
    if (c.field === 'metric.type') continue;
    byField.set(c.field, [...(byField.get(c.field) ?? []), c]);
  }
  return { metric, clauses: byField };
}

function passes(f: ResolvedFilter, field: string, value: string): boolean {
  for (const c of f.clauses.get(field) ?? []) if (!c.test(value)) return false;
  return true;
}

/** The values an `=` / one_of clause pins a field to (intersected), or undefined. */
function pinned(f: ResolvedFilter, field: string): string[] | undefined {
  let out: string[] | undefined;
  for (const c of f.clauses.get(field) ?? []) {
    if (!c.exact) continue;
    out = out ? out.filter((v) => c.exact!.includes(v)) : [...new Set(c.exact)];
  }
  return out;
}

function parseInterval(interval: any): { startMs: number; endMs: number } {
  if (!interval?.endTime || !interval?.startTime) {
    throw invalidArgument('interval.startTime and interval.endTime are required (endTime later than startTime)');
  }
  const startMs = timestampMs(interval.startTime);
  const endMs = timestampMs(interval.endTime);
  if (!(endMs > startMs)) {
    throw invalidArgument(
      `interval.endTime must be later than interval.startTime (got ${new Date(startMs).toISOString()} .. ${new Date(endMs).toISOString()})`,
    );
  }
  return { startMs, endMs };
}

interface Slot {
  resource: Labels;
  metric: Labels;
  /** Cell index (alignment period k, or minute of the epoch m) -> sum or distribution. */
  cells: Map<number, number | Distribution>;
}

/** What to read: the data window and how a record time maps to a cell. */
interface Plan {
  project: string;
  startMs: number;
  endMs: number;
  /** The data window (fromMs, endMs]: whole alignment periods back from endMs when aligned. */
  fromMs: number;
  agg: AggregationSpec;
  /** Number of alignment periods in the window (0 with ALIGN_NONE). */
  periods: number;
  /** 'period': cells are alignment periods; 'minute': raw 60 s points. */
  mode: 'period' | 'minute';
}

function resourceLabels(e: EndpointName): Record<(typeof RESOURCE_LABELS)[number], string> {
  return { resource_container: e.project, location: e.location, endpoint_id: e.endpointId };
}

function matchingEndpoints(store: Store, f: ResolvedFilter, project: string): EndpointName[] {
  if (!passes(f, 'resource.type', ENDPOINT_RESOURCE)) return [];
  return endpointsWithPredictions(store).filter((e) => {
    if (e.project !== project) return false;
    const labels = resourceLabels(e);
    return RESOURCE_LABELS.every((l) => passes(f, `resource.labels.${l}`, labels[l]));
  });
}

/**
 * Whether a count rollup row holds records the metric counts (as a scan would find them: a cell
 * with such records is a point even when their sum is 0, e.g. no bytes sent by failed requests).
 */
function counted(r: CountRow, column: string, errorsOnly?: boolean): boolean {
  if (errorsOnly && r.response_code < 400) return false;
  return column === 'requests' ? r.requests > 0 : r.predictions > 0;
}

/**
 * Accumulates the prediction records of the matching endpoints into per-series cells: whole
 * minutes from the per-minute rollups, the parts of minutes a window edge or a period boundary cuts
 * through from the records (metric_rollup.ts).
 */
function accumulatePredictions(store: Store, f: ResolvedFilter, plan: Plan): Slot[] {
  const src = f.metric.source;
  if (src.kind !== 'count' && src.kind !== 'latency') return [];
  const slots: Slot[] = [];
  const { endMs } = plan;
  // The cell of a record: the minute of the epoch it ends ((m-1)·60 s, m·60 s], or its alignment
  // period k = floor((end − t) / P); none when the whole window is one period.
  const cell: CellSpec | null =
    plan.mode === 'minute'
      ? { kind: 'minute' }
      : plan.periods > 1
        ? { kind: 'period', endMs, periodMs: plan.agg.periodMs }
        : null;
  const dmOk = (dm: string) => passes(f, 'metric.labels.deployed_model_id', dm);
  const ids = pinned(f, 'metric.labels.deployed_model_id');
  if (ids && !ids.length) return [];
  const slot = (resource: Labels, metric: Labels): Slot => {
    const s: Slot = { resource, metric, cells: new Map() };
    slots.push(s);
    return s;
  };
  const add = (s: Slot, k: number, v: number) => {
    s.cells.set(k, ((s.cells.get(k) as number | undefined) ?? 0) + v);
  };
  const dist = (s: Slot, k: number) => {
    let d = s.cells.get(k) as Distribution | undefined;
    if (!d) {
      d = new Distribution();
      s.cells.set(k, d);
    }
    return d;
  };
  for (const e of matchingEndpoints(store, f, plan.project)) {
    const resource = resourceLabels(e);
    const minutes = planMinutes(store, e.name, plan.fromMs, endMs, cell);
    const scans = minutes.raw.map(([fromMs, toMs]) => ({
      endpoint: e.name,
      fromMs,
      toMs,
      cell,
      ...(ids ? { deployedModelIds: ids } : {}),
    }));
    if (src.kind === 'latency') {
      const types = LATENCY_TYPES.filter((t) => passes(f, 'metric.labels.latency_type', t));
      if (!types.length) continue;
      // One value per request: its first record carries the request's latencies.
      const where = 'response_code < 400 AND request_first = 1';
      const byDm = new Map<string, Slot[] | null>();
      const slotsOf = (dm: string) => {
        let ss = byDm.get(dm);
        if (ss === undefined) {
          ss = dmOk(dm) ? types.map((lt) => slot(resource, { deployed_model_id: dm, latency_type: lt })) : null;
          byDm.set(dm, ss);
        }
        return ss;
      };
      // Rollup latency types are indexes into LATENCY_TYPES_SQL; slots follow `types`.
      const rollupTypes = types.map((t) => LATENCY_TYPES_SQL.indexOf(t));
      const slotIndex = new Map(rollupTypes.map((t, i) => [t, i]));
      readLatencyRollups(store, e.name, minutes, rollupTypes, {
        moments(dm, t, k, n, mean, m2, min, max) {
          const ss = slotsOf(dm);
          if (ss !== null) dist(ss[slotIndex.get(t)!]!, k).mergeMoments(n, mean, m2, min, max);
        },
        bucket(dm, t, k, b, n) {
          const ss = slotsOf(dm);
          if (ss !== null) dist(ss[slotIndex.get(t)!]!, k).counts[b]! += n;
        },
      });
      for (const scan of scans) {
        if (types.length === 1) {
          // One latency type: SQLite hands over just that value.
          const expr = { model: 'latency_ms', overhead: 'overhead_ms', total: 'latency_ms + overhead_ms' }[types[0]!];
          scanPredictions(store, { ...scan, values: [expr], where }, (dm, k, v) => {
            const ss = slotsOf(dm);
            if (ss !== null) dist(ss[0]!, k).add(v);
          });
        } else {
          const at = (lt: string) => types.indexOf(lt as (typeof types)[number]);
          const [iModel, iOverhead, iTotal] = [at('model'), at('overhead'), at('total')];
          scanPredictions(store, { ...scan, values: ['latency_ms', 'overhead_ms'], where }, (dm, k, a, b) => {
            const ss = slotsOf(dm);
            if (ss === null) return;
            if (iModel >= 0) dist(ss[iModel]!, k).add(a);
            if (iOverhead >= 0) dist(ss[iOverhead]!, k).add(b);
            if (iTotal >= 0) dist(ss[iTotal]!, k).add(a + b);
          });
        }
      }
    } else if (src.byResponseCode) {
      const byDm = new Map<string, Map<number, Slot | null> | null>();
      const slotOf = (dm: string, code: number) => {
        let codes = byDm.get(dm);
        if (codes === undefined) {
          codes = dmOk(dm) ? new Map() : null;
          byDm.set(dm, codes);
        }
        if (codes === null) return null;
        let s = codes.get(code);
        if (s === undefined) {
          const rc = String(code);
          s = passes(f, 'metric.labels.response_code', rc)
            ? slot(resource, { deployed_model_id: dm, response_code: rc })
            : null;
          codes.set(code, s);
        }
        return s;
      };
      const { column, errorsOnly } = src.rollup;
      readCountRollups(store, e.name, minutes, (r, k) => {
        if (!counted(r, column, errorsOnly)) return;
        const s = slotOf(r.deployed_model_id, r.response_code);
        if (s !== null) add(s, k, r[column]);
      });
      for (const scan of scans) {
        const spec = { ...scan, values: [src.sum, 'response_code'] as [string, string] };
        scanPredictions(store, src.where ? { ...spec, where: src.where } : spec, (dm, k, v, code) => {
          const s = slotOf(dm, code);
          if (s !== null) add(s, k, v);
        });
      }
    } else {
      const byDm = new Map<string, Slot | null>();
      const slotOf = (dm: string) => {
        let s = byDm.get(dm);
        if (s === undefined) {
          s = dmOk(dm) ? slot(resource, { deployed_model_id: dm }) : null;
          byDm.set(dm, s);
        }
        return s;
      };
      const { column, errorsOnly } = src.rollup;
      readCountRollups(store, e.name, minutes, (r, k) => {
        if (!counted(r, column, errorsOnly)) return;
        const s = slotOf(r.deployed_model_id);
        if (s !== null) add(s, k, r[column]);
      });
      for (const scan of scans) {
        const spec = { ...scan, values: [src.sum] as [string] };
        scanPredictions(store, src.where ? { ...spec, where: src.where } : spec, (dm, k, v) => {
          const s = slotOf(dm);
          if (s !== null) add(s, k, v);
        });
      }
    }
  }
  return slots.filter((s) => s.cells.size > 0);
}

interface Fold {
  sum: number;
  n: number;
  min: number;
  max: number;
  last: number;
  lastAt: number;
}

function fold(into: Map<number, Fold>, k: number, v: number, at: number): void {
  const c = into.get(k);
  if (!c) {
    into.set(k, { sum: v, n: 1, min: v, max: v, last: v, lastAt: at });
    return;
  }
  c.sum += v;
  c.n++;
  if (v < c.min) c.min = v;
  if (v > c.max) c.max = v;
  if (at >= c.lastAt) {
    c.last = v;
    c.lastAt = at;
  }
}

function foldValue(aligner: string, c: Fold): number {
  switch (aligner) {
    case 'ALIGN_MEAN':
      return c.sum / c.n;
    case 'ALIGN_MIN':
      return c.min;
    case 'ALIGN_MAX':
      return c.max;
    case 'ALIGN_COUNT':
      return c.n;
    case 'ALIGN_SUM':
      return c.sum;
    default: // ALIGN_NEXT_OLDER
      return c.last;
  }
}

function periodPoints(plan: Plan, folds: Map<number, Fold>): APoint[] {
  const { endMs } = plan;
  const P = plan.agg.periodMs;
  return [...folds.entries()].map(([k, c]) => ({
    startMs: endMs - (k + 1) * P,
    endMs: endMs - k * P,
    v: foldValue(plan.agg.aligner, c),
  }));
}

/** Applies the per-series aligner to the accumulated cells. */
function alignPredictions(plan: Plan, slots: Slot[]): ASeries[] {
  const { startMs, endMs, agg } = plan;
  const P = agg.periodMs;
  return slots.map((s) => {
    let points: APoint[];
    if (plan.mode === 'minute' && agg.aligner === 'ALIGN_NONE') {
      points = [...s.cells.entries()].map(([m, v]) => ({
        startMs: Math.max((m - 1) * RAW_PERIOD_MS, startMs),
        endMs: Math.min(m * RAW_PERIOD_MS, endMs),
        v,
      }));
    } else if (plan.mode === 'minute') {
      // MEAN / MIN / MAX / COUNT of a count: fold the raw 60 s points into the periods they end in.
      const folds = new Map<number, Fold>();
      for (const [m, v] of s.cells) {
        const rawEnd = Math.min(m * RAW_PERIOD_MS, endMs);
        fold(folds, Math.floor((endMs - rawEnd) / P), v as number, rawEnd);
      }
      points = periodPoints(plan, folds);
    } else {
      const pct = percentileOf(agg.aligner);
      points = [...s.cells.entries()].map(([k, v]) => {
        let out: number | Distribution = v;
        if (agg.aligner === 'ALIGN_RATE') out = (v as number) / (P / 1000);
        else if (agg.aligner === 'ALIGN_MEAN') out = (v as Distribution).mean;
        else if (pct !== undefined) out = (v as Distribution).percentile(pct);
        return { startMs: endMs - (k + 1) * P, endMs: endMs - k * P, v: out };
      });
    }
    return { resource: s.resource, metric: s.metric, points };
  });
}

/**
 * The replicas gauge: samples every 60 s counted back from endTime (t = end, end − 60 s, ... within
 * the data window), each the replica count of the last change at or before it; a series has no
 * sample before its first change. Aligners fold the samples of each period.
 */
function replicaSeries(store: Store, f: ResolvedFilter, plan: Plan): ASeries[] {
  if (!passes(f, 'resource.type', ENDPOINT_RESOURCE)) return [];
  const { endMs, agg } = plan;
  const lower = agg.aligner === 'ALIGN_NONE' ? plan.startMs : plan.fromMs;
  const bySeries = new Map<string, { e: EndpointName; dm: string; events: { t: number; n: number }[] }>();
  const endpointOk = new Map<string, EndpointName | null>();
  for (const ev of replicaEvents(store, null, endMs + 1)) {
    let e = endpointOk.get(ev.endpoint);
    if (e === undefined) {
      const parsed = parseEndpoint(ev.endpoint);
      const ok =
        parsed !== null &&
        parsed.project === plan.project &&
        RESOURCE_LABELS.every((l) => passes(f, `resource.labels.${l}`, resourceLabels(parsed)[l]));
      e = ok ? parsed : null;
      endpointOk.set(ev.endpoint, e);
    }
    if (e === null || !passes(f, 'metric.labels.deployed_model_id', ev.deployedModelId)) continue;
    const key = `${ev.endpoint}\n${ev.deployedModelId}`;
    let s = bySeries.get(key);
    if (!s) {
      s = { e, dm: ev.deployedModelId, events: [] };
      bySeries.set(key, s);
    }
    s.events.push({ t: ev.timeMs, n: ev.replicas });
  }
  const out: ASeries[] = [];
  const jmax = Math.ceil((endMs - lower) / RAW_PERIOD_MS) - 1;
  for (const s of bySeries.values()) {
    const points: APoint[] = [];
    const folds = new Map<number, Fold>();
    let i = -1;
    for (let j = jmax; j >= 0; j--) {
      const at = endMs - j * RAW_PERIOD_MS;
      while (i + 1 < s.events.length && s.events[i + 1]!.t <= at) i++;
      if (i < 0) continue;
      const v = s.events[i]!.n;
      if (agg.aligner === 'ALIGN_NONE') points.push({ startMs: at, endMs: at, v });
      else fold(folds, Math.floor((endMs - at) / agg.periodMs), v, at);
    }
    if (agg.aligner !== 'ALIGN_NONE') points.push(...periodPoints(plan, folds));
    if (points.length) out.push({ resource: resourceLabels(s.e), metric: { deployed_model_id: s.dm }, points });
  }
  return out;
}

function seriesKey(s: ASeries): string {
  return JSON.stringify([
    RESOURCE_LABELS.map((l) => s.resource[l] ?? ''),
    Object.keys(s.metric)
      .sort()
      .map((k) => [k, s.metric[k]]),
  ]);
}

function typedValue(v: number | Distribution, valueType: string): Record<string, unknown> {
  if (v instanceof Distribution) return { distributionValue: v.toProto() };
  if (valueType === 'INT64') return { int64Value: String(Math.round(v)) };
  return { doubleValue: v };
}

function pointProto(p: APoint, shape: Shape): Record<string, unknown> {
  const end = timestamp(p.endMs);
  return {
    interval: { startTime: shape.kind === 'GAUGE' ? end : timestamp(p.startMs), endTime: end },
    value: typedValue(p.v, shape.valueType),
  };
}

/** Computes the whole answer (every series, every point) of a ListTimeSeries request. */
export function queryTimeSeries(
  store: Store,
  req: any,
): { metric: MetricDef; shape: Shape; series: ASeries[]; view: 'FULL' | 'HEADERS' } {
  const project = projectOf(req?.name);
  const f = resolveFilter(req?.filter);
  const { startMs, endMs } = parseInterval(req?.interval);
  const agg = parseAggregation(req?.aggregation, f.metric);
  const sec = req?.secondaryAggregation;
  if (sec && (sec.alignmentPeriod || sec.perSeriesAligner || sec.crossSeriesReducer || sec.groupByFields?.length)) {
    throw invalidArgument('secondary_aggregation is not supported by the emulator; leave it unset');
  }
  if (req?.orderBy) {
    throw invalidArgument('order_by must be left blank: points are returned newest first, as Cloud Monitoring does');
  }
  const view = req?.view ?? 'FULL';
  if (view !== 'FULL' && view !== 'HEADERS')
    throw invalidArgument(`view ${view} is not valid; supported: FULL, HEADERS`);
  const periods = agg.periodMs ? Math.ceil((endMs - startMs) / agg.periodMs) : 0;
  const fromMs = agg.periodMs ? endMs - periods * agg.periodMs : startMs;
  if (endMs - fromMs > MAX_WINDOW_MS) {
    throw invalidArgument('interval is too long: at most 800 days (of whole alignment periods) per query');
  }
  const rawFolds = ['ALIGN_NONE', 'ALIGN_MEAN', 'ALIGN_MIN', 'ALIGN_MAX', 'ALIGN_COUNT'];
  const mode =
    agg.aligner === 'ALIGN_NONE' || (f.metric.valueType !== 'DISTRIBUTION' && rawFolds.includes(agg.aligner))
      ? 'minute'
      : 'period';
  const plan: Plan = { project, startMs, endMs, fromMs, agg, periods, mode };
  let series: ASeries[];
  if (f.metric.source.kind === 'replicas') series = replicaSeries(store, f, plan);
  else series = alignPredictions(plan, accumulatePredictions(store, f, plan));
  let shape = alignedShape(f.metric, agg.aligner);
  if (agg.reducer !== 'REDUCE_NONE') {
    series = reduceSeries(series, agg.reducer, agg.groupBy);
    shape = reducedShape(shape, agg.reducer);
  }
  for (const s of series) s.points.sort((a, b) => b.endMs - a.endMs);
  series = series.filter((s) => s.points.length).sort((a, b) => (seriesKey(a) < seriesKey(b) ? -1 : 1));
  return { metric: f.metric, shape, series, view };
}

/** Page tokens carry an offset and a fingerprint of the query they belong to. */
function fingerprint(req: any): string {
  const q = [req?.name, req?.filter, req?.interval, req?.aggregation, req?.view ?? 'FULL'];
  return createHash('sha256').update(JSON.stringify(q)).digest('base64url').slice(0, 12);
}

function decodeToken(token: string | undefined, fp: string): number {
  if (!token) return 0;
  const [offset, tokenFp] = Buffer.from(token, 'base64url').toString().split(':');
  const n = Number(offset);
  if (tokenFp !== fp || !Number.isInteger(n) || n < 0) {
    throw invalidArgument(`page_token "${token}" is not valid for this query`);
  }
  return n;
}

function listTimeSeries(store: Store, req: any): Record<string, unknown> {
  if (req?.pageSize !== undefined && req.pageSize < 0) throw invalidArgument('page_size must not be negative');
  const size = Math.min(req?.pageSize || MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const { metric, shape, series, view } = queryTimeSeries(store, req);
  const fp = fingerprint(req);
  let offset = decodeToken(req?.pageToken, fp);
  const header = (s: ASeries) => ({
    metric: { type: metric.type, labels: s.metric },
    resource: { type: ENDPOINT_RESOURCE, labels: s.resource },
    metricKind: shape.kind,
    valueType: shape.valueType,
    unit: shape.unit,
  });
  const out: Record<string, unknown>[] = [];
  let total: number;
  let end: number;
  if (view === 'HEADERS') {
    total = series.length;
    end = Math.min(offset + size, total);
    for (const s of series.slice(offset, end)) out.push({ ...header(s), points: [] });
  } else {
    // FULL: page_size counts points; a series may continue on the next page.
    total = series.reduce((n, s) => n + s.points.length, 0);
    end = Math.min(offset + size, total);
    let remaining = end - offset;
    for (const s of series) {
      if (remaining <= 0) break;
      if (offset >= s.points.length) {
        offset -= s.points.length;
        continue;
      }
      const take = s.points.slice(offset, offset + remaining);
      offset = 0;
      remaining -= take.length;
      out.push({ ...header(s), points: take.map((p) => pointProto(p, shape)) });
    }
  }
  return {
    timeSeries: out,
    nextPageToken: end < total ? Buffer.from(`${end}:${fp}`).toString('base64url') : '',
    executionErrors: [],
    unit: shape.unit,
  };
}

function listMetricDescriptors(req: any): Record<string, unknown> {
  const project = projectOf(req?.name);
  const clauses = parseFilter(req?.filter ?? '');
  for (const c of clauses) {
    if (c.field !== 'metric.type') {
      throw invalidArgument(
        `filter field "${c.field}" is not supported for ListMetricDescriptors; supported: metric.type`,
      );
    }
  }
  const matching = METRICS.filter((m) => clauses.every((c) => c.test(m.type)));
  const { page, nextPageToken } = paginate(matching, req?.pageSize, req?.pageToken, 10_000, 10_000);
  return { metricDescriptors: page.map((m) => descriptor(project, m)), nextPageToken };
}

function getMetricDescriptor(req: any): Record<string, unknown> {
  const m = /^projects\/([^/]+)\/metricDescriptors\/(.+)$/.exec(req?.name ?? '');
  if (!m) throw invalidArgument(`name "${req?.name ?? ''}" must look like projects/{project}/metricDescriptors/{type}`);
  const metric = METRICS_BY_TYPE.get(m[2]!);
  if (!metric)
    throw notFound(`metric descriptor ${m[2]} not found; the emulator has: ${METRICS.map((d) => d.type).join(', ')}`);
  return descriptor(m[1]!, metric);
}

export function createMetricService(ctx: Pick<ServiceContext, 'store'>): ServiceImpl {
  ensurePredictionTables(ctx.store);
  return {
    ListTimeSeries: (req) => listTimeSeries(ctx.store, req),
    ListMetricDescriptors: (req) => listMetricDescriptors(req),
    GetMetricDescriptor: (req) => getMetricDescriptor(req),
  };
}
