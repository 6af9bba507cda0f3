// Comparing two versions' metrics: per-metric deltas, which side is better (by the metric's
// direction, inferred from its name), and a recommendation sentence carrying the numbers.

export type Direction = 'higher_is_better' | 'lower_is_better';

const LOWER =
  /(latency|_ms$|^p\d\d|_p\d\d|duration|time|cost|price|usd|dollar|error|loss|perplexity|toxicity|hallucination|drift|memory|bytes|size)/;
const HIGHER =
  /(accuracy|precision|recall|f1|auc|score|success|win_rate|throughput|qps|rps|bleu|rouge|exact_match|reward|quality|coverage)/;

/** null when the name says nothing about which way is better; such metrics are reported, not judged. */
export function metricDirection(name: string): Direction | null {
  const n = name.toLowerCase();
  if (HIGHER.test(n)) return 'higher_is_better';
  if (LOWER.test(n)) return 'lower_is_better';
  return null;
}

export interface MetricComparison {
  metric: string;
  a: number | null;
  b: number | null;
  /** b - a */
  delta: number | null;
  /** (b - a) / |a|; null when a is 0 or either side is missing. */
  relative_change: number | null;
  direction: Direction | null;
  /** 'tie' for live numbers whose difference is inside the noise (not significant at 95%). */
  better: 'a' | 'b' | 'tie' | null;
  /** recorded: registry metrics (no sample size, no uncertainty); live: measured while serving. */
  source: 'recorded' | 'live';
  n_a: number | null;
  n_b: number | null;
  /** Two-sided Welch p-value of the difference (live rows); null for recorded metrics. */
  p_value: number | null;
}

export function compareMetrics(a: Record<string, number>, b: Record<string, number>): MetricComparison[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.map((metric) => {
    const va = a[metric] ?? null;
    const vb = b[metric] ?? null;
    const direction = metricDirection(metric);
    const delta = va !== null && vb !== null ? vb - va : null;
    const relative_change = delta !== null && va ? delta / Math.abs(va) : null;
    let better: MetricComparison['better'] = null;
    // Training-set fit (train_loss, train_accuracy) is reported, never judged: it says nothing
    // about which version serves better.
    if (delta !== null && direction && !metric.startsWith('train_')) {
      better = delta === 0 ? 'tie' : delta > 0 === (direction === 'higher_is_better') ? 'b' : 'a';
    }
    return {
      metric,
      a: va,
      b: vb,
      delta,
      relative_change,
      direction,
      better,
      source: 'recorded' as const,
      n_a: null,
      n_b: null,
      p_value: null,
    };
  });
}

/** "more accurate", "faster at p95", "cheaper (cost_per_1k_usd)" ... */
function phrase(metric: string, better: boolean): string {
  const m = metric.toLowerCase();
  const p = /p(\d\d)/.exec(m)?.[1];
  const which = (plain: string) => (m === plain ? '' : ` (${metric})`);
  if (/accuracy/.test(m)) return `${better ? 'more accurate' : 'less accurate'}${which('accuracy')}`;
  if (/latency|_ms$|duration/.test(m)) return `${better ? 'faster' : 'slower'}${p ? ` at p${p}` : ` (${metric})`}`;
  if (/cost|price|usd/.test(m)) return `${better ? 'cheaper' : 'more expensive'} (${metric})`;
  if (/error/.test(m)) return `${better ? 'lower' : 'higher'} ${metric}`;
  return `${better ? 'better' : 'worse'} on ${metric}`;
}

function pct(c: MetricComparison): string {
  // The size of the improvement or regression, as a share of a's value.
  return `${(Math.abs(c.relative_change ?? 0) * 100).toFixed(1)}%`;
}

export interface Verdict {
  winner: 'a' | 'b' | 'tie' | 'mixed' | 'unknown';
  recommendation: string;
}

/** Judges b against a on the metrics with a known direction and a relative change. */
export function verdict(labelA: string, labelB: string, rows: MetricComparison[]): Verdict {
  const judged = rows.filter((r) => r.better && r.better !== 'tie' && r.relative_change !== null);
  const bWins = judged.filter((r) => r.better === 'b');
  const aWins = judged.filter((r) => r.better === 'a');
  const list = (rs: MetricComparison[], better: boolean) =>
    rs.map((r) => `${pct(r)} ${phrase(r.metric, better)}`).join(' and ');
  if (judged.length === 0) {
    const shared = rows.filter((r) => r.a !== null && r.b !== null).length;
    return shared && rows.some((r) => r.better === 'tie')
      ? { winner: 'tie', recommendation: `${labelA} and ${labelB} are equal on every comparable metric` }
      : {
          winner: 'unknown',
          recommendation: `No comparable metrics with a known direction for ${labelA} and ${labelB}: record metrics on both (update_model_metrics)`,
        };
  }
  if (aWins.length === 0)
    return { winner: 'b', recommendation: `Promote ${labelB}: it is ${list(bWins, true)} than ${labelA}` };
  if (bWins.length === 0) return { winner: 'a', recommendation: `Keep ${labelA}: ${labelB} is ${list(aWins, false)}` };
  return {
    winner: 'mixed',
    recommendation: `Mixed: ${labelB} is ${list(bWins, true)}, but ${list(aWins, false)} than ${labelA}; decide on the metric that matters (or A/B test them)`,
  };
}
