// Drift between a training distribution and a serving distribution: population stability index
// and Jensen-Shannon divergence over shared bins. Categorical values (predicted labels, hashed
// input tokens) are binned by category; numeric values by the training sample's quantiles.
import { invalid } from '../errors.js';

/** Conventional PSI bands: < 0.1 no significant change, 0.1-0.25 moderate, >= 0.25 significant. */
export const PSI_MODERATE = 0.1;
export const PSI_SIGNIFICANT = 0.25;
/** Jensen-Shannon divergence (base 2, so 0..1) at or above which a shift is called drift. */
export const JS_THRESHOLD = 0.1;
/** Fewest values per sample drift is computed from. */
export const MIN_SAMPLE = 100;
/** Values per bin the bin count is capped by (keeps the resampling noise of PSI below 0.1). */
export const VALUES_PER_BIN = 20;
/** PSI and JS floor empty-bin proportions at this value (PSI is infinite otherwise). */
export const EMPTY_BIN_PROPORTION = 1e-4;
/** Label of the bin that gathers categories beyond the kept ones. */
export const OTHER = '(other)';

export interface DriftInput {
  training: readonly string[] | readonly number[];
  serving: readonly string[] | readonly number[];
  /** Numeric: quantile bins (default 10). Categorical: categories kept by training frequency (default 20). */
  bins?: number;
  /** Fewest values per sample (default 100). */
  min_sample?: number;
  /** Overrides of the thresholds. */
  thresholds?: { psi?: number; js?: number };
}

export interface DriftBin {
  label: string;
  training_count: number;
  serving_count: number;
  training_share: number;
  serving_share: number;
}

export interface DriftThresholds {
  /** PSI at or above which the change is "moderate" (reported, not drift). */
  psi_moderate: number;
  /** PSI at or above which the population is called drifted. */
  psi: number;
  /** JS divergence (bits) at or above which the population is called drifted. */
  js: number;
}

export interface DriftResult {
  kind: 'categorical' | 'numeric';
  psi: number;
  js_divergence: number;
  threshold: DriftThresholds;
  psi_level: 'none' | 'moderate' | 'significant';
  /** psi >= threshold.psi or js_divergence >= threshold.js. */
  drifted: boolean;
  /**
   * PSI expected between two samples of one unchanged distribution at these sizes and this many
   * bins ((bins - 1) x (1/n_training + 1/n_serving)): values near it are resampling noise.
   */
  psi_noise_floor: number;
  bins: DriftBin[];
  sample_sizes: { training: number; serving: number };
  method: string;
}

export interface DriftNotMeasured {
  kind: 'categorical' | 'numeric' | null;
  psi: null;
  js_divergence: null;
  drifted: null;
  reason: string;
  min_sample: number;
  threshold: DriftThresholds;
  sample_sizes: { training: number; serving: number };
}

export type DriftOutcome = DriftResult | DriftNotMeasured;

type Kind = 'categorical' | 'numeric';

function kindOf(values: readonly unknown[], which: string): Kind | null {
  if (!values.length) return null;
  const first = typeof values[0];
  if (first !== 'string' && first !== 'number') {
    throw invalid(`${which} values must be strings (categories) or numbers, not ${first}`);
  }
  for (const v of values) {
    if (typeof v !== first) throw invalid(`${which} values mix ${first}s and ${typeof v}s; give one kind`);
    if (first === 'number' && !Number.isFinite(v)) throw invalid(`${which} values include ${v}; give finite numbers`);
  }
  return first === 'string' ? 'categorical' : 'numeric';
}

/** PSI and JS divergence between a training and a serving sample, or null with the reason. */
export function drift(input: DriftInput): DriftOutcome {
  const minSample = input.min_sample ?? MIN_SAMPLE;
  if (!Number.isInteger(minSample) || minSample < 2) throw invalid('min_sample must be an integer of at least 2');
  const threshold: DriftThresholds = {
    psi_moderate: PSI_MODERATE,
    psi: input.thresholds?.psi ?? PSI_SIGNIFICANT,
    js: input.thresholds?.js ?? JS_THRESHOLD,
  };
  for (const [k, v] of Object.entries(threshold)) {
    if (!Number.isFinite(v) || v <= 0) throw invalid(`threshold ${k} must be a positive number`);
  }
  const tk = kindOf(input.training, 'training');
  const sk = kindOf(input.serving, 'serving');
  if (tk && sk && tk !== sk) {
    throw invalid(`training values are ${tk} but serving values are ${sk}; compare like with like`);
  }
  const kind = tk ?? sk;
  const sizes = { training: input.training.length, serving: input.serving.length };
  const small = (['training', 'serving'] as const).filter((w) => sizes[w] < minSample);
  if (small.length) {
    return {
      kind,
      psi: null,
      js_divergence: null,
      drifted: null,
      reason: `not measured: ${small.map((w) => `the ${w} sample has ${sizes[w]} values`).join(' and ')}; drift needs at least ${minSample} in each`,
      min_sample: minSample,
      threshold,
      sample_sizes: sizes,
    };
  }
  const requested = input.bins ?? (kind === 'numeric' ? 10 : 20);
  if (!Number.isInteger(requested) || requested < 2) throw invalid('bins must be an integer of at least 2');
  // Fewer, fuller bins for small samples: keeps the PSI of an unchanged distribution near 0.
  const maxBins = Math.max(
    2,
    Math.min(requested, Math.floor(Math.min(sizes.training, sizes.serving) / VALUES_PER_BIN)),
  );

  const bins =
    kind === 'numeric'
      ? numericBins(input.training as readonly number[], input.serving as readonly number[], maxBins)
      : categoricalBins(input.training as readonly string[], input.serving as readonly string[], maxBins);
  const p = bins.map((b) => b.training_share);
  const q = bins.map((b) => b.serving_share);
  const psiValue = psi(p, q);
  const js = jsDivergence(p, q);
  const level = psiValue >= threshold.psi ? 'significant' : psiValue >= threshold.psi_moderate ? 'moderate' : 'none';
  return {
    kind: kind as Kind,
    psi: round(psiValue),
    js_divergence: round(js),
    threshold,
    psi_level: level,
    drifted: psiValue >= threshold.psi || js >= threshold.js,
    psi_noise_floor: round((bins.length - 1) * (1 / sizes.training + 1 / sizes.serving)),
    bins,
    sample_sizes: sizes,
    method:
      kind === 'numeric'
        ? `${bins.length} bins at the training sample's quantiles`
        : `${bins.length} bins: categories by training frequency${bins.some((b) => b.label === OTHER) ? `, the rest in "${OTHER}"` : ''}`,
  };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Population stability index: sum over bins of (q - p) x ln(q / p), with empty-bin proportions
 * floored at EMPTY_BIN_PROPORTION. Symmetric; 0 for identical distributions.
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw invalid('psi needs two distributions over the same bins');
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const p = Math.max(expected[i]!, EMPTY_BIN_PROPORTION);
    const q = Math.max(actual[i]!, EMPTY_BIN_PROPORTION);
    s += (q - p) * Math.log(q / p);
  }
  return s;
}

/** Jensen-Shannon divergence in bits (0..1): the mean KL divergence of p and q from their average. */
export function jsDivergence(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw invalid('jsDivergence needs two distributions over the same bins');
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]!;
    const b = q[i]!;
    const m = (a + b) / 2;
    if (a > 0) s += 0.5 * a * Math.log2(a / m);
    if (b > 0) s += 0.5 * b * Math.log2(b / m);
  }
  return Math.max(0, s);
}

function makeBins(labels: string[], tc: number[], sc: number[], nt: number, ns: number): DriftBin[] {
  return labels.map((label, i) => ({
    label,
    training_count: tc[i]!,
    serving_count: sc[i]!,
    training_share: tc[i]! / nt,
    serving_share: sc[i]! / ns,
  }));
}

function categoricalBins(training: readonly string[], serving: readonly string[], maxBins: number): DriftBin[] {
  const freq = new Map<string, number>();
  for (const v of training) freq.set(v, (freq.get(v) ?? 0) + 1);
  const servingSet = new Set(serving);
  const byFreq = [...freq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k]) => k);
  const unseen = [...servingSet].some((v) => !freq.has(v));
  const needOther = byFreq.length > maxBins || unseen;
  const kept = byFreq.slice(0, needOther ? maxBins - 1 : maxBins);
  const index = new Map(kept.map((k, i) => [k, i]));
  const labels = needOther ? [...kept, OTHER] : kept;
  const tc = new Array<number>(labels.length).fill(0);
  const sc = new Array<number>(labels.length).fill(0);
  const other = labels.length - 1;
  for (const v of training) tc[index.get(v) ?? other]!++;
  for (const v of serving) sc[index.get(v) ?? other]!++;
  return makeBins(labels, tc, sc, training.length, serving.length);
}

function numericBins(training: readonly number[], serving: readonly number[], maxBins: number): DriftBin[] {
  const sorted = Float64Array.from(training).sort();
  const n = sorted.length;
  const edges: number[] = [];
  for (let i = 1; i < maxBins; i++) {
    const edge = sorted[Math.ceil((i * n) / maxBins) - 1]!;
    if (edge !== edges[edges.length - 1]) edges.push(edge);
  }
  // Bins (-inf, e1], (e1, e2], ..., (ek, +inf).
  const binOf = (x: number) => {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid]! >= x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const tc = new Array<number>(edges.length + 1).fill(0);
  const sc = new Array<number>(edges.length + 1).fill(0);
  for (const x of training) tc[binOf(x)]!++;
  for (const x of serving) sc[binOf(x)]!++;
  const fmt = (x: number) => String(Number(x.toPrecision(6)));
  const labels = tc.map((_, i) => {
    const lo = i === 0 ? '(-inf' : `(${fmt(edges[i - 1]!)}`;
    const hi = i === edges.length ? '+inf)' : `${fmt(edges[i]!)}]`;
    return `${lo}, ${hi}`;
  });
  return makeBins(labels, tc, sc, n, serving.length);
}
