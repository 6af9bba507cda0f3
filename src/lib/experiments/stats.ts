// The statistics behind A/B tests (SPEC 10), pure: no I/O, no other repo imports. Every function
// takes sufficient statistics or plain numbers and returns plain numbers; an output that would be
// NaN or Infinity is null instead. Invalid arguments (alpha outside (0,1), a negative se, a
// malformed histogram...) are programming errors and throw a RangeError.
//
// Conventions
// - The request is the unit of randomisation. A metric is a ratio over requests: per request i a
//   numerator x_i and a denominator y_i (a plain per-request mean is y_i = 1), estimated by
//   sum(x)/sum(y) with a delta-method variance.
// - Differences are treatment - control.
// - The interval that decides (ship, keep, guardrail fail) is an always-valid confidence sequence:
//   it may be looked at after every request without inflating the false-positive rate. The
//   fixed-horizon Welch interval and p-value are for reporting only (peeking at them repeatedly
//   and stopping on the first "significant" look does inflate it; the tests show both).
// - Zero variance: an arm whose outcomes are all equal (e.g. every request correct) has a sample
//   variance of 0, and a standard error of 0 is not evidence of anything. So welch() returns null
//   (no comparison yet) when the standard error of the difference is 0 and the effect is not, and
//   returns a degenerate Difference (effect 0, se 0, interval [0, 0], p-value 1) when both arms are
//   constant at the same value with n >= 2 each: there is nothing to distinguish the arms, which
//   never excludes 0 and so never ships, but a guardrail with identical constant arms (e.g. no errors
//   in either arm) is non-inferior. When only one arm has zero variance, that arm borrows the other
//   arm's per-request variance (scaled to its own n) instead of claiming to be exact: without this,
//   a small arm that happens to be all-correct early (0.9^20 = 12% at 20 requests) produces a
//   spurious "significant" effect; the A/A simulation in the tests catches exactly that.
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

// ---------------------------------------------------------------------------------------------
// Sufficient statistics

/** Sufficient statistics of a per-request ratio metric: per request i, x_i = numerator (e.g. correct answers), y_i = denominator (e.g. labelled instances). A plain per-request mean is y_i = 1. */
export interface RatioSums {
  n: number;
  sx: number;
  sy: number;
  sxx: number;
  syy: number;
  sxy: number;
}

/** The sums of a list of per-request (x, y) pairs. */
export function ratioSumsOf(pairs: [number, number][]): RatioSums {
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (const [x, y] of pairs) {
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  return { n: pairs.length, sx, sy, sxx, syy, sxy };
}

/**
 * The sums of a per-request mean metric (y_i = 1) from a count, a mean and the (n-1) sample
 * variance, e.g. a Cloud Monitoring distribution: count, mean, sumOfSquaredDeviation/(count-1).
 * A non-finite or negative variance (count 1: 0/0) counts as 0.
 */
export function meanSums(n: number, mean: number, variance: number): RatioSums {
  if (!(n > 0) || !Number.isFinite(mean)) return { n: Math.max(0, n || 0), sx: 0, sy: 0, sxx: 0, syy: 0, sxy: 0 };
  const v = Number.isFinite(variance) && variance > 0 ? variance : 0;
  const sx = n * mean;
  return { n, sx, sy: n, sxx: (n - 1) * v + n * mean * mean, syy: n, sxy: sx };
}

/** The sums of a proportion: `successes` of `n` requests with x_i = 1, the rest x_i = 0; y_i = 1. */
export function proportionSums(n: number, successes: number): RatioSums {
  if (!(n > 0)) return { n: 0, sx: 0, sy: 0, sxx: 0, syy: 0, sxy: 0 };
  const k = Math.min(Math.max(successes, 0), n);
  return { n, sx: k, sy: n, sxx: k, syy: n, sxy: k };
}

// ---------------------------------------------------------------------------------------------
// One arm

/** An arm's estimate and the variance of the estimator (se^2); variance null when n < 2 or sy = 0, estimate null when n = 0 or sy = 0. */
export interface Estimate {
  n: number;
  estimate: number | null;
  variance: number | null;
}

/**
 * Ratio sx/sy with the delta-method variance
 *   (1/(n*ybar^2)) * (s_xx - 2 r s_xy + r^2 s_yy),
 * s_* the sample (co)variances with n-1. For y_i = 1 this is the plain mean and s^2/n. Computed as
 * sum((x_i - r y_i)^2) / ((n-1) n ybar^2), which is the same quantity since sum(x_i - r y_i) = 0;
 * a result at the level of rounding error of its terms is 0 (constant arm, see the header).
 */
export function ratioEstimate(s: RatioSums): Estimate {
  const n = Number.isFinite(s.n) && s.n > 0 ? s.n : 0;
  if (n === 0 || !Number.isFinite(s.sy) || s.sy === 0 || !Number.isFinite(s.sx)) {
    return { n, estimate: null, variance: null };
  }
  const r = s.sx / s.sy;
  if (!Number.isFinite(r)) return { n, estimate: null, variance: null };
  if (n < 2) return { n, estimate: r, variance: null };
  const ybar = s.sy / n;
  const terms = Math.abs(s.sxx) + 2 * Math.abs(r * s.sxy) + r * r * Math.abs(s.syy);
  let q = s.sxx - 2 * r * s.sxy + r * r * s.syy;
  if (q <= terms * 1e-12) q = 0;
  const variance = q / ((n - 1) * n * ybar * ybar);
  return { n, estimate: r, variance: Number.isFinite(variance) ? variance : null };
}

// ---------------------------------------------------------------------------------------------
// Two arms, fixed horizon

export interface Difference {
  /** treatment - control */
  effect: number;
  se: number;
  /** Welch–Satterthwaite degrees of freedom (per-arm n - 1). */
  df: number;
  /** Fixed-horizon two-sided Welch t interval at 1 - alpha. */
  ci: [number, number];
  /** Fixed-horizon two-sided Welch p-value. */
  p_value: number;
  /** (t - c)/c with delta-method se (var ≈ vt/c^2 + t^2 vc/c^4), normal interval; null when c == 0. */
  relative: { lift: number; ci: [number, number] } | null;
}

function checkAlpha(alpha: number, name = 'alpha'): void {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`${name} must be in (0, 1), got ${alpha}`);
}

/** Numbers in, numbers out: anything non-finite becomes null. */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * Welch's comparison of two arms: effect = treatment - control, se = sqrt(vc + vt) (a constant arm
 * next to a varying one borrows its per-request variance, see the header), the
 * Welch–Satterthwaite df, the two-sided t interval and p-value, and the relative lift. Null when
 * either arm has no estimate or no variance yet (n < 2), and when se = 0 with a non-zero effect (see
 * the header on zero variance).
 */
export function welch(control: Estimate, treatment: Estimate, alpha: number): Difference | null {
  checkAlpha(alpha);
  const c = control.estimate;
  const t = treatment.estimate;
  const vc = control.variance;
  const vt = treatment.variance;
  if (c === null || t === null || vc === null || vt === null) return null;
  if (control.n < 2 || treatment.n < 2) return null;
  const effect = t - c;
  // A constant arm (variance 0) next to a varying one: its variance is unknown, not 0. Borrow the
  // other arm's per-request variance (what a pooled estimate would use when the arms do not
  // differ), so an early run of all-correct answers in a small arm cannot fake a significant effect.
  const [vcUsed, vtUsed] =
    vc === 0 && vt > 0
      ? [(vt * treatment.n) / control.n, vt]
      : vt === 0 && vc > 0
        ? [vc, (vc * control.n) / treatment.n]
        : [vc, vt];
  const v = vcUsed + vtUsed;
  if (!Number.isFinite(effect) || !Number.isFinite(v) || v < 0) return null;
  if (v === 0) {
    if (effect !== 0) return null;
    return {
      effect: 0,
      se: 0,
      df: control.n + treatment.n - 2,
      ci: [0, 0],
      p_value: 1,
      relative: c === 0 ? null : { lift: 0, ci: [0, 0] },
    };
  }
  const se = Math.sqrt(v);
  // df = v^2 / (vc^2/(nc-1) + vt^2/(nt-1)), scaled by v so tiny variances do not underflow.
  const a = vcUsed / v;
  const b = vtUsed / v;
  const df = 1 / ((a * a) / (control.n - 1) + (b * b) / (treatment.n - 1));
  const tq = tQuantile(1 - alpha / 2, df);
  const half = tq * se;
  const p = Math.min(1, 2 * tCdf(-Math.abs(effect) / se, df));
  let relative: Difference['relative'] = null;
  if (c !== 0) {
    const lift = effect / c;
    const rv = vtUsed / (c * c) + (t * t * vcUsed) / (c * c * c * c);
    const rh = normalQuantile(1 - alpha / 2, 0, 1) * Math.sqrt(rv);
    const lo = finite(lift - rh);
    const hi = finite(lift + rh);
    relative = finite(lift) !== null && lo !== null && hi !== null ? { lift, ci: [lo, hi] } : null;
  }
  const lo = finite(effect - half);
  const hi = finite(effect + half);
  if (lo === null || hi === null || !Number.isFinite(df) || !Number.isFinite(p)) return null;
  return { effect, se, df, ci: [lo, hi], p_value: p, relative };
}

// ---------------------------------------------------------------------------------------------
// Always-valid confidence sequence

/** c(alpha) = -2 log(alpha) + log(1 - 2 log(alpha)): the mixing precision is M = I* / c. */
function mixingDivisor(alpha: number): number {
  const l = -2 * Math.log(alpha);
  return l + Math.log(1 + l);
}

/**
 * Always-valid (anytime) two-sided confidence sequence for the difference at level 1 - alpha.
 *
 * It is the normal-mixture boundary (Robbins 1970, "Statistical methods related to the law of the
 * iterated logarithm", Ann. Math. Statist.; Howard, Ramdas, McAuliffe & Sekhon 2021,
 * "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2)) in its
 * asymptotic form, where the estimated standard error stands in for the known variance
 * (Waudby-Smith, Arnold, Wu & Ramdas 2024, "Time-uniform central limit theory and asymptotic
 * confidence sequences", Ann. Statist.). Written in information time I = 1/se^2:
 *
 *   half-width = sqrt( (I + M) / I^2 * log( (I + M) / (M * alpha^2) ) )
 *
 * The mixing precision M is tuned so the width is smallest at the planned information
 * I* = 1/plannedSe^2 (the tuning of Howard et al. 2021 for a width optimised at a chosen time):
 *
 *   M = I* / c,   c = -2 log(alpha) + log(1 - 2 log(alpha)).
 *
 * At I = I* the half-width is csMultiplier(alpha) * se (about 3.03 se at alpha = 0.05, against
 * 1.96 se for the fixed-horizon interval): the price of being allowed to look at every request.
 * se = 0 gives [effect, effect] (welch() only yields se = 0 for identical constant arms, effect 0).
 */
export function confidenceSequence(effect: number, se: number, plannedSe: number, alpha: number): [number, number] {
  checkAlpha(alpha);
  if (!Number.isFinite(effect)) throw new RangeError(`effect must be finite, got ${effect}`);
  if (!(se >= 0) || !Number.isFinite(se)) throw new RangeError(`se must be finite and >= 0, got ${se}`);
  if (!(plannedSe > 0) || !Number.isFinite(plannedSe)) {
    throw new RangeError(`plannedSe must be finite and > 0, got ${plannedSe}`);
  }
  if (se === 0) return [effect, effect];
  const half = csHalfWidth(se, plannedSe, alpha);
  if (!Number.isFinite(half)) throw new RangeError(`se ${se} and plannedSe ${plannedSe} are out of range`);
  return [effect - half, effect + half];
}

function csHalfWidth(se: number, plannedSe: number, alpha: number): number {
  // Scale-free form: with u = I/I* = (plannedSe/se)^2 and M/I* = 1/c,
  // (I + M)/I^2 = se^2 * (1 + 1/(c u)) and (I + M)/M = 1 + c u.
  const c = mixingDivisor(alpha);
  const ratio = plannedSe / se;
  const u = ratio * ratio;
  return se * Math.sqrt((1 + 1 / (c * u)) * (Math.log(1 + c * u) - 2 * Math.log(alpha)));
}

/** The multiplier k(alpha) such that at I = I* the CS half-width is k * se: k = sqrt((1 + 1/c) * log((1 + c) / alpha^2)). */
export function csMultiplier(alpha: number): number {
  checkAlpha(alpha);
  const c = mixingDivisor(alpha);
  return Math.sqrt((1 + 1 / c) * (Math.log(1 + c) - 2 * Math.log(alpha)));
}

// ---------------------------------------------------------------------------------------------
// Power analysis

export interface SampleSize {
  /** Smallest total number of requests N with se(N) <= planned_se. */
  total: number;
  /** ceil(N (1 - share)). */
  control: number;
  /** ceil(N share). */
  treatment: number;
  /** mde / (k(alpha) + z_power): the se the confidence sequence is tuned for. */
  planned_se: number;
  /** The N a fixed-horizon Welch test would need: mde = se (z_{1-alpha/2} + z_power). */
  fixed_horizon_total: number;
}

/**
 * Power analysis for the sequential test. The planned standard error must satisfy
 * mde = se* (k(alpha) + z_power), so that at the planned sample the confidence sequence (half-width
 * k se*) excludes 0 with probability >= power when the true effect is the mde (earlier looks only
 * add to that). Per-request standard deviations sdControl, sdTreatment (default sdControl),
 * treatment share s in (0, 1): se(N)^2 = sdC^2/(N(1-s)) + sdT^2/(N s).
 */
export function sampleSize(opts: {
  mde: number;
  sdControl: number;
  sdTreatment?: number;
  treatmentShare: number;
  alpha: number;
  power: number;
}): SampleSize {
  const { mde, sdControl, treatmentShare: s, alpha, power } = opts;
  const sdTreatment = opts.sdTreatment ?? sdControl;
  checkAlpha(alpha);
  checkAlpha(power, 'power');
  checkAlpha(s, 'treatmentShare');
  if (!(mde > 0) || !Number.isFinite(mde)) throw new RangeError(`mde must be finite and > 0, got ${mde}`);
  for (const [name, sd] of [
    ['sdControl', sdControl],
    ['sdTreatment', sdTreatment],
  ] as const) {
    if (!(sd > 0) || !Number.isFinite(sd)) throw new RangeError(`${name} must be finite and > 0, got ${sd}`);
  }
  // se(N)^2 = K / N
  const K = (sdControl * sdControl) / (1 - s) + (sdTreatment * sdTreatment) / s;
  const zPower = normalQuantile(power, 0, 1);
  const plannedSe = mde / (csMultiplier(alpha) + zPower);
  const fixedSe = mde / (normalQuantile(1 - alpha / 2, 0, 1) + zPower);
  if (!(plannedSe > 0) || !(fixedSe > 0)) {
    throw new RangeError(`power ${power} is too low for alpha ${alpha}: the planned se is not positive`);
  }
  const total = ceilN(K / (plannedSe * plannedSe));
  const fixed = ceilN(K / (fixedSe * fixedSe));
  if (!Number.isSafeInteger(total) || !Number.isSafeInteger(fixed)) {
    throw new RangeError('the required sample size is too large: raise the mde or lower the sd');
  }
  return {
    total,
    control: Math.ceil(total * (1 - s)),
    treatment: Math.ceil(total * s),
    planned_se: plannedSe,
    fixed_horizon_total: fixed,
  };
}

/** ceil() that does not round an integer up because of the last bit; at least 2 (a variance needs 2). */
function ceilN(x: number): number {
  return Math.max(2, Math.ceil(x * (1 - 1e-12)));
}

// ---------------------------------------------------------------------------------------------
// Sample ratio mismatch

/** Sample ratio mismatch: chi-square goodness of fit (1 df for two arms) of observed counts vs the planned shares. */
export interface Srm {
  observed: [number, number];
  expected_share: [number, number];
  chi2: number;
  p_value: number;
  flagged: boolean;
}

/** Chi-square goodness of fit of [control, treatment] against the planned split; flagged when p < alpha (default 0.001). */
export function srm(control: number, treatment: number, plannedTreatmentShare: number, alpha = 0.001): Srm {
  checkAlpha(alpha);
  checkAlpha(plannedTreatmentShare, 'plannedTreatmentShare');
  for (const [name, v] of [
    ['control', control],
    ['treatment', treatment],
  ] as const) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a finite count >= 0, got ${v}`);
  }
  const s = plannedTreatmentShare;
  const n = control + treatment;
  const expectedShare: [number, number] = [1 - s, s];
  if (n === 0)
    return { observed: [control, treatment], expected_share: expectedShare, chi2: 0, p_value: 1, flagged: false };
  const ec = n * (1 - s);
  const et = n * s;
  const chi2 = (control - ec) ** 2 / ec + (treatment - et) ** 2 / et;
  const p = Math.min(1, Math.max(0, 1 - chisquareCdf(chi2, 1)));
  return { observed: [control, treatment], expected_share: expectedShare, chi2, p_value: p, flagged: p < alpha };
}

// ---------------------------------------------------------------------------------------------
// Guardrails

export interface GuardrailCheck {
  status: 'pass' | 'fail' | 'inconclusive';
  /** The two-sided CS at 2*alphaEach (each side is a one-sided always-valid bound at alphaEach). */
  interval: [number, number] | null;
}

/**
 * One-sided non-inferiority check of a "lower is better" guardrail difference d = treatment -
 * control against a margin m > 0 (in the metric's units), with always-valid one-sided bounds at
 * level alphaEach (the two-sided confidence sequence at 2*alphaEach):
 *   'fail' when the lower bound of d exceeds m (significantly worse beyond the margin),
 *   'pass' when the upper bound of d is below m (non-inferior),
 *   'inconclusive' otherwise, and when effect, se or plannedSe is null (also for se = 0 with a
 *   non-zero effect: no evidence, see the header).
 */
export function nonInferiority(
  effect: number | null,
  se: number | null,
  margin: number,
  plannedSe: number | null,
  alphaEach: number,
): GuardrailCheck {
  checkAlpha(alphaEach, 'alphaEach');
  if (!(alphaEach < 0.5)) throw new RangeError(`alphaEach must be < 0.5, got ${alphaEach}`);
  if (!(margin > 0) || !Number.isFinite(margin)) throw new RangeError(`margin must be finite and > 0, got ${margin}`);
  if (effect === null || se === null || plannedSe === null) return { status: 'inconclusive', interval: null };
  if (!Number.isFinite(effect) || !Number.isFinite(se) || se < 0 || !Number.isFinite(plannedSe) || plannedSe <= 0) {
    return { status: 'inconclusive', interval: null };
  }
  if (se === 0 && effect !== 0) return { status: 'inconclusive', interval: null };
  const interval = confidenceSequence(effect, se, plannedSe, 2 * alphaEach);
  const status = interval[0] > margin ? 'fail' : interval[1] < margin ? 'pass' : 'inconclusive';
  return { status, interval };
}

// ---------------------------------------------------------------------------------------------
// Quantiles of a histogram

/** counts[i] counts values in [bounds[i-1], bounds[i]) with bounds[-1] = 0; counts.length === bounds.length + 1 (the last is the overflow bucket, upper bound Infinity). */
export interface Histogram {
  bounds: number[];
  counts: number[];
}

/**
 * Distribution-free interval for the q-quantile of a histogram (Cloud Monitoring distribution
 * buckets). The order statistics of ranks n q ± k sqrt(n q (1-q)) bracket the quantile (binomial
 * rank bounds, normal approximation), with the always-valid multiplier k = csMultiplier(alpha)
 * instead of z so the interval holds under peeking; the lower rank is mapped to its bucket's lower
 * bound and the upper rank to its bucket's upper bound (so bucketing only widens the interval).
 * The point estimate is the nearest-rank order statistic ceil(n q), reported as the geometric middle
 * of its bucket (the arithmetic middle for the first bucket, which starts at 0).
 * Nulls: estimate when n = 0 or the nearest rank is in the overflow bucket; ci when n = 0 or the
 * upper rank is past n or in the overflow bucket (the quantile is not bounded above).
 */
export function quantileInterval(
  h: Histogram,
  q: number,
  alpha: number,
): { n: number; estimate: number | null; ci: [number, number] | null } {
  checkAlpha(q, 'q');
  checkAlpha(alpha);
  const { bounds, counts } = h;
  if (counts.length !== bounds.length + 1) {
    throw new RangeError(
      `histogram needs counts.length === bounds.length + 1, got ${counts.length} and ${bounds.length}`,
    );
  }
  let prev = 0;
  for (const b of bounds) {
    if (!Number.isFinite(b) || b < prev || (b === prev && prev !== 0)) {
      throw new RangeError('histogram bounds must be finite, >= 0 and strictly increasing');
    }
    prev = b;
  }
  let n = 0;
  for (const c of counts) {
    if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError('histogram counts must be finite and >= 0');
    n += c;
  }
  if (n === 0) return { n: 0, estimate: null, ci: null };
  const lower = (i: number): number => (i === 0 ? 0 : bounds[i - 1]!);
  const upper = (i: number): number => (i < bounds.length ? bounds[i]! : Number.POSITIVE_INFINITY);
  /** The bucket holding the value of 1-based rank r (1 <= r <= n). */
  const bucketOf = (r: number): number => {
    let cum = 0;
    for (let i = 0; i < counts.length; i++) {
      cum += counts[i]!;
      if (cum >= r) return i;
    }
    return counts.length - 1;
  };
  const rank = Math.min(n, Math.max(1, Math.ceil(n * q)));
  const eb = bucketOf(rank);
  let estimate: number | null = null;
  if (eb < bounds.length) {
    const lo = lower(eb);
    const hi = upper(eb);
    estimate = lo > 0 ? Math.sqrt(lo * hi) : hi / 2;
  }
  const spread = csMultiplier(alpha) * Math.sqrt(n * q * (1 - q));
  const lr = Math.floor(n * q - spread);
  const ur = Math.ceil(n * q + spread);
  if (ur > n) return { n, estimate, ci: null };
  const ub = bucketOf(ur);
  if (ub >= bounds.length) return { n, estimate, ci: null };
  const lo = lr < 1 ? 0 : lower(bucketOf(lr));
  return { n, estimate, ci: [lo, upper(ub)] };
}
