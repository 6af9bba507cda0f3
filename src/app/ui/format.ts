// Numbers for people: the dashboard draws every figure through these (and the browser test compares
// what is drawn with these applied to the tools' own results). Pure: no DOM, runs in Node too.

export type Metric = 'accuracy' | 'score' | 'error_rate' | 'latency_ms' | string;

const LOCALE = 'en-US';
const intFmt = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });

/** "—" where a figure was not measured (null): never "0" or "NaN". */
export const NONE = '—';

/** A count: "12,345". */
export function count(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? NONE : intFmt.format(x);
}

/** Three significant digits without exponent noise: 0.9166666 -> "0.917", 1234.5 -> "1,235". */
export function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return NONE;
  if (Math.abs(x) >= 1000) return intFmt.format(x);
  return Number(x.toPrecision(3)).toLocaleString(LOCALE, { maximumFractionDigits: 6 });
}

/** A share in 0..1 as a percentage with one decimal: 0.9166 -> "91.7%". */
export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? NONE : `${(x * 100).toFixed(1)}%`;
}

/** A percentage already in 0..100 (traffic splits): 50 -> "50%". */
export function percent(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? NONE : `${Number(x.toFixed(1))}%`;
}

/** Milliseconds: "8.4 ms", "123 ms", "1.23 s". */
export function ms(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return NONE;
  if (x >= 1000) return `${Number((x / 1000).toPrecision(3))} s`;
  return `${Number(x.toPrecision(3))} ms`;
}

/** A p-value: "0.032", "0.0041", "< 0.0001". */
export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return NONE;
  if (p < 0.0001) return '< 0.0001';
  return p < 0.01 ? p.toFixed(4) : p.toFixed(3);
}

/** "p = 0.032", "p < 0.0001". */
export function pText(p: number | null | undefined): string {
  const v = pValue(p);
  return v.startsWith('<') ? `p ${v}` : `p = ${v}`;
}

/** A value of the test's primary metric: rates as percentages, latency in ms, scores 3 digits. */
export function metricValue(metric: Metric, x: number | null | undefined): string {
  if (metric === 'accuracy' || metric === 'error_rate') return pct(x);
  if (metric === 'latency_ms') return ms(x);
  return num(x);
}

/** A difference of the primary metric, signed: "+6.1 pp", "-3.2 ms", "+0.041". */
export function effect(metric: Metric, x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return NONE;
  const sign = x > 0 ? '+' : x < 0 ? '−' : '';
  const a = Math.abs(x);
  if (metric === 'accuracy' || metric === 'error_rate') return `${sign}${(a * 100).toFixed(1)} pp`;
  if (metric === 'latency_ms') return `${sign}${ms(a)}`;
  return `${sign}${num(a)}`;
}

/** An interval: "[88.1%, 95.2%]". */
export function interval(fmt: (x: number) => string, ci: readonly [number, number] | null | undefined): string {
  return ci ? `[${fmt(ci[0])}, ${fmt(ci[1])}]` : NONE;
}

/** A duration in seconds: "45 s", "12 min", "3.5 h", "2.1 d". */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return NONE;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Number((s / 3600).toFixed(1))} h`;
  return `${Number((s / 86_400).toFixed(1))} d`;
}

/** A guardrail's value in its own units (error rate, p95 latency, cost per request). */
export function guardrailValue(metric: string, x: number | null | undefined): string {
  if (metric === 'error_rate') return pct(x);
  if (metric.includes('latency')) return ms(x);
  if (metric.includes('cost')) return x === null || x === undefined ? NONE : `$${num(x)}`;
  return num(x);
}

/** A verdict for people. */
export function verdictLabel(v: string): string {
  return (
    {
      ship_treatment: 'Ship the treatment',
      keep_control: 'Keep the control',
      continue: 'Keep running',
      invalid: 'Invalid',
    }[v] ?? v
  );
}
