// Cloud Monitoring's Aggregation (per-series aligner, alignment period, cross-series reducer,
// group-by fields) for the emulated MetricService: validation with messages naming what is
// supported, the shape (metric kind, value type, unit) of the result, and the reducers.
//
// Alignment periods end at the request's interval.endTime: period k covers
// (end − (k+1)·P, end − k·P]. Aligned queries read whole periods, so the oldest one may begin
// before interval.startTime (as Cloud Monitoring does); ALIGN_RATE divides by P.
import { invalidArgument } from '../errors.js';
import { type Labels, type MetricDef, type MetricKind, RESOURCE_LABELS, type ValueType } from './metric_catalog.js';
import { Distribution } from './metric_distribution.js';

export const RAW_PERIOD_MS = 60_000;
export const MIN_ALIGNMENT_PERIOD_MS = 60_000;

const PERCENTILES: Record<string, number> = { '99': 99, '95': 95, '50': 50, '05': 5 };

/** The percentile an ALIGN_PERCENTILE_nn / REDUCE_PERCENTILE_nn names, or undefined. */
export function percentileOf(op: string): number | undefined {
  const m = /_PERCENTILE_(\d\d)$/.exec(op);
  return m ? PERCENTILES[m[1]!] : undefined;
}

const PCT_ALIGNERS = ['ALIGN_PERCENTILE_99', 'ALIGN_PERCENTILE_95', 'ALIGN_PERCENTILE_50', 'ALIGN_PERCENTILE_05'];
const PCT_REDUCERS = ['REDUCE_PERCENTILE_99', 'REDUCE_PERCENTILE_95', 'REDUCE_PERCENTILE_50', 'REDUCE_PERCENTILE_05'];

/** The aligners each (metric kind, value type) supports. */
export function alignersFor(m: Pick<MetricDef, 'kind' | 'valueType'>): string[] {
  if (m.kind === 'GAUGE') {
    return ['ALIGN_NONE', 'ALIGN_MEAN', 'ALIGN_MIN', 'ALIGN_MAX', 'ALIGN_SUM', 'ALIGN_COUNT', 'ALIGN_NEXT_OLDER'];
  }
  if (m.valueType === 'DISTRIBUTION') return ['ALIGN_NONE', 'ALIGN_DELTA', 'ALIGN_SUM', 'ALIGN_MEAN', ...PCT_ALIGNERS];
  return [
    'ALIGN_NONE',
    'ALIGN_DELTA',
    'ALIGN_RATE',
    'ALIGN_SUM',
    'ALIGN_MEAN',
    'ALIGN_MIN',
    'ALIGN_MAX',
    'ALIGN_COUNT',
  ];
}

/** The reducers a value type (after alignment) supports. */
export function reducersFor(valueType: ValueType): string[] {
  const common = ['REDUCE_NONE', 'REDUCE_SUM', 'REDUCE_MEAN', 'REDUCE_COUNT', ...PCT_REDUCERS];
  return valueType === 'DISTRIBUTION' ? common : [...common, 'REDUCE_MIN', 'REDUCE_MAX'];
}

export interface AggregationSpec {
  aligner: string;
  /** 0 with ALIGN_NONE. */
  periodMs: number;
  reducer: string;
  /** Normalised group-by fields: `metric.label.x` / `resource.label.y`. */
  groupBy: string[];
}

export interface Shape {
  kind: MetricKind;
  valueType: ValueType;
  unit: string;
}

/** The metric kind, value type and unit of the series after alignment. */
export function alignedShape(m: MetricDef, aligner: string): Shape {
  const same = { valueType: m.valueType, unit: m.unit };
  switch (aligner) {
    case 'ALIGN_NONE':
      return { kind: m.kind, ...same };
    case 'ALIGN_DELTA':
      return { kind: 'DELTA', ...same };
    case 'ALIGN_SUM':
      return { kind: m.kind, ...same };
    case 'ALIGN_RATE':
      return { kind: 'GAUGE', valueType: 'DOUBLE', unit: m.unit === '1' ? '1/s' : `${m.unit}/s` };
    case 'ALIGN_MEAN':
      return { kind: 'GAUGE', valueType: 'DOUBLE', unit: m.unit };
    case 'ALIGN_COUNT':
      return { kind: 'GAUGE', valueType: 'INT64', unit: '1' };
    case 'ALIGN_MIN':
    case 'ALIGN_MAX':
    case 'ALIGN_NEXT_OLDER':
      return { kind: 'GAUGE', ...same };
    default: // ALIGN_PERCENTILE_nn
      return { kind: 'GAUGE', valueType: 'DOUBLE', unit: m.unit };
  }
}

/** The shape after the cross-series reducer. */
export function reducedShape(aligned: Shape, reducer: string): Shape {
  if (reducer === 'REDUCE_MEAN' || reducer.startsWith('REDUCE_PERCENTILE_')) return { ...aligned, valueType: 'DOUBLE' };
  if (reducer === 'REDUCE_COUNT') return { ...aligned, valueType: 'INT64', unit: '1' };
  return aligned;
}

function durationMs(d: { seconds?: string | number; nanos?: number } | undefined): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6);
}

export function groupByFieldsFor(m: MetricDef): string[] {
  return [...RESOURCE_LABELS.map((l) => `resource.label.${l}`), ...m.labels.map((l) => `metric.label.${l.key}`)];
}

/** Validates a google.monitoring.v3.Aggregation (proto-loader JSON) against a metric. */
export function parseAggregation(agg: any, m: MetricDef): AggregationSpec {
  const aligner: string = agg?.perSeriesAligner ?? 'ALIGN_NONE';
  const reducer: string = agg?.crossSeriesReducer ?? 'REDUCE_NONE';
  const periodMs = durationMs(agg?.alignmentPeriod);
  const short = m.type.replace(/^.*\/prediction\/online\//, '');
  const aligners = alignersFor(m);
  if (!aligners.includes(aligner)) {
    throw invalidArgument(
      `aggregation.per_series_aligner ${aligner} is not supported for ${short} (${m.kind} ${m.valueType}); ` +
        `supported: ${aligners.join(', ')}`,
    );
  }
  if (aligner !== 'ALIGN_NONE' && periodMs < MIN_ALIGNMENT_PERIOD_MS) {
    throw invalidArgument(
      `aggregation.alignment_period must be at least 60s with per_series_aligner ${aligner}` +
        (periodMs ? ` (got ${periodMs / 1000}s)` : ' (it is missing)'),
    );
  }
  const reducers = reducersFor(alignedShape(m, aligner).valueType);
  if (!reducers.includes(reducer)) {
    throw invalidArgument(
      `aggregation.cross_series_reducer ${reducer} is not supported after ${aligner} on ${short}; ` +
        `supported: ${reducers.join(', ')}`,
    );
  }
  if (reducer !== 'REDUCE_NONE' && aligner === 'ALIGN_NONE') {
    throw invalidArgument(
      `aggregation.cross_series_reducer ${reducer} needs a per_series_aligner other than ALIGN_NONE and an alignment_period; ` +
        `supported aligners for ${short}: ${aligners.filter((a) => a !== 'ALIGN_NONE').join(', ')}`,
    );
  }
  const groupBy: string[] = [];
  if (reducer !== 'REDUCE_NONE') {
    const allowed = groupByFieldsFor(m);
    for (const raw of (agg?.groupByFields ?? []) as string[]) {
      const f = raw.trim().replace(/^(metric|resource)\.labels\./, '$1.label.');
      if (f === 'resource.type' || f === 'metric.type') continue; // implicit: a single type in, a single type out
      if (!allowed.includes(f)) {
        throw invalidArgument(
          `aggregation.group_by_fields "${raw}" is not supported for ${short}; supported: ${allowed.join(', ')}`,
        );
      }
      if (!groupBy.includes(f)) groupBy.push(f);
    }
  }
  return { aligner, periodMs: aligner === 'ALIGN_NONE' ? 0 : periodMs, reducer, groupBy };
}

/** A point after alignment: its interval and a number or a distribution. */
export interface APoint {
  startMs: number;
  endMs: number;
  v: number | Distribution;
}

export interface ASeries {
  resource: Labels;
  metric: Labels;
  /** Newest first. */
  points: APoint[];
}

/** Percentile by linear interpolation between closest ranks (for numeric values across series). */
function numericPercentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

function pool(vs: Distribution[]): Distribution {
  const d = new Distribution();
  for (const v of vs) d.merge(v);
  return d;
}

function reduceValues(reducer: string, vs: (number | Distribution)[]): number | Distribution {
  if (reducer === 'REDUCE_COUNT') return vs.length;
  if (vs[0] instanceof Distribution) {
    const d = pool(vs as Distribution[]);
    if (reducer === 'REDUCE_SUM') return d;
    if (reducer === 'REDUCE_MEAN') return d.mean;
    return d.percentile(percentileOf(reducer)!);
  }
  const ns = vs as number[];
  switch (reducer) {
    case 'REDUCE_SUM':
      return ns.reduce((a, b) => a + b, 0);
    case 'REDUCE_MEAN':
      return ns.reduce((a, b) => a + b, 0) / ns.length;
    case 'REDUCE_MIN':
      return Math.min(...ns);
    case 'REDUCE_MAX':
      return Math.max(...ns);
    default:
      return numericPercentile(ns, percentileOf(reducer)!);
  }
}

/**
 * Applies a cross-series reducer: series with the same values of the group-by fields form a group;
 * at each alignment period, the group's values reduce to one. Distributions are pooled first, so
 * REDUCE_PERCENTILE_nn is the percentile of all the values of the group, not an average of
 * per-series percentiles. The result keeps only the group-by labels.
 */
export function reduceSeries(series: ASeries[], reducer: string, groupBy: string[]): ASeries[] {
  const groups = new Map<string, { resource: Labels; metric: Labels; byEnd: Map<number, APoint[]> }>();
  for (const s of series) {
    const resource: Labels = {};
    const metric: Labels = {};
    for (const f of groupBy) {
      const [scope, , key] = f.split('.') as [string, string, string];
      if (scope === 'resource') resource[key] = s.resource[key] ?? '';
      else metric[key] = s.metric[key] ?? '';
    }
    const id = JSON.stringify([resource, metric]);
    let g = groups.get(id);
    if (!g) {
      g = { resource, metric, byEnd: new Map() };
      groups.set(id, g);
    }
    for (const p of s.points) {
      const at = g.byEnd.get(p.endMs);
      if (at) at.push(p);
      else g.byEnd.set(p.endMs, [p]);
    }
  }
  return [...groups.values()].map((g) => ({
    resource: g.resource,
    metric: g.metric,
    points: [...g.byEnd.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([endMs, ps]) => ({
        startMs: ps[0]!.startMs,
        endMs,
        v: reduceValues(
          reducer,
          ps.map((p) => p.v),
        ),
      })),
  }));
}
