// The A/B test statistics (SPEC 10), proved by seeded simulation rather than hand-picked examples:
// the always-valid confidence sequence keeps the false-positive rate at alpha however often it is
// looked at (the fixed-horizon Welch interval peeked the same way does not), reaches the planned
// power at the planned sample, and covers the true effect for proportions, a skewed latency and a
// ratio metric; SRM, guardrails and the histogram quantile interval likewise. Reference values for
// the Welch test come from scipy.stats.ttest_ind(equal_var=False) and chi2.sf.
//
// Every simulation draws from the shared seeded PRNG (scripts/prng.ts), one request at a time into
// running sums (no per-request allocation), randomising each request to an arm as Vertex does.
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { describe, expect, it } from 'vitest';
import { rng } from '../../../scripts/prng.js';
import {
  confidenceSequence,
  csMultiplier,
  type Estimate,
  type Histogram,
  meanSums,
  nonInferiority,
  proportionSums,
  quantileInterval,
  type RatioSums,
  ratioEstimate,
  ratioSumsOf,
  sampleSize,
  srm,
  welch,
} from '../../../src/lib/experiments/stats.js';

const ALPHA = 0.05;
const PEEK = 100;

/** The tolerance the brief allows for a simulated rate: p + 3 binomial standard errors over `runs`. */
function upper3se(p: number, runs: number): number {
  return p + 3 * Math.sqrt((p * (1 - p)) / runs);
}
function lower3se(p: number, runs: number): number {
  return p - 3 * Math.sqrt((p * (1 - p)) / runs);
}

/** A standard normal from the PRNG (Box–Muller, one of the pair). */
function gauss(rand: () => number): number {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Mutable running sums of one arm (one object per run, updated in place). */
interface Acc {
  n: number;
  sx: number;
  sy: number;
  sxx: number;
  syy: number;
  sxy: number;
}
function acc(): Acc {
  return { n: 0, sx: 0, sy: 0, sxx: 0, syy: 0, sxy: 0 };
}
function reset(a: Acc): void {
  a.n = a.sx = a.sy = a.sxx = a.syy = a.sxy = 0;
}
function add(a: Acc, x: number, y: number): void {
  a.n += 1;
  a.sx += x;
  a.sy += y;
  a.sxx += x * x;
  a.syy += y * y;
  a.sxy += x * y;
}

/**
 * Simulate one Bernoulli A/B test of up to maxN requests (each to treatment with probability
 * `share`), calling look(nC, kC, nT, kT) every PEEK requests and at maxN; stops when look returns true.
 */
function bernoulliRun(
  rand: () => number,
  pC: number,
  pT: number,
  share: number,
  maxN: number,
  look: (nC: number, kC: number, nT: number, kT: number) => boolean,
): void {
  let nC = 0;
  let kC = 0;
  let nT = 0;
  let kT = 0;
  for (let i = 1; i <= maxN; i++) {
    if (rand() < share) {
      nT++;
      if (rand() < pT) kT++;
    } else {
      nC++;
      if (rand() < pC) kC++;
    }
    if ((i % PEEK === 0 || i === maxN) && look(nC, kC, nT, kT)) return;
  }
}

function propDiff(nC: number, kC: number, nT: number, kT: number, alpha = ALPHA) {
  return welch(ratioEstimate(proportionSums(nC, kC)), ratioEstimate(proportionSums(nT, kT)), alpha);
}

const roundUp = (n: number, step: number) => Math.ceil(n / step) * step;

// -----------------------------------------------------------------------------------------------
describe('estimates', () => {
  it('ratioEstimate with y = 1 is the plain mean and s^2/n', () => {
    const xs = [3, 5, 2, 8, 7, 1];
    const s = ratioSumsOf(xs.map((x) => [x, 1]));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const s2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
    const e = ratioEstimate(s);
    expect(e.n).toBe(6);
    expect(e.estimate).toBeCloseTo(mean, 12);
    expect(e.variance).toBeCloseTo(s2 / xs.length, 12);
    // meanSums from the same mean and variance gives the same estimate.
    const m = ratioEstimate(meanSums(6, mean, s2));
    expect(m.estimate).toBeCloseTo(mean, 12);
    expect(m.variance).toBeCloseTo(s2 / 6, 12);
  });

  it('ratioEstimate is the delta method for a ratio', () => {
    const pairs: [number, number][] = [
      [1, 1],
      [2, 3],
      [0, 2],
      [4, 5],
      [3, 3],
    ];
    const n = pairs.length;
    const xbar = pairs.reduce((a, p) => a + p[0], 0) / n;
    const ybar = pairs.reduce((a, p) => a + p[1], 0) / n;
    const r = xbar / ybar;
    const cov = (f: (p: [number, number]) => number, g: (p: [number, number]) => number) =>
      pairs.reduce((a, p) => a + (f(p) - f([xbar, ybar])) * (g(p) - g([xbar, ybar])), 0) / (n - 1);
    const sxx = cov(
      (p) => p[0],
      (p) => p[0],
    );
    const syy = cov(
      (p) => p[1],
      (p) => p[1],
    );
    const sxy = cov(
      (p) => p[0],
      (p) => p[1],
    );
    const e = ratioEstimate(ratioSumsOf(pairs));
    expect(e.estimate).toBeCloseTo(10 / 14, 12);
    expect(e.variance).toBeCloseTo((sxx - 2 * r * sxy + r * r * syy) / (n * ybar * ybar), 12);
  });

  it('proportionSums gives p and the 0/1 sample variance over n', () => {
    const e = ratioEstimate(proportionSums(200, 170));
    expect(e.estimate).toBeCloseTo(0.85, 12);
    // sample variance of 170 ones and 30 zeros: n p (1-p) / (n-1)
    expect(e.variance).toBeCloseTo((0.85 * 0.15 * 200) / 199 / 200, 14);
  });

  it('n = 0, n = 1 and sy = 0 give nulls, never NaN', () => {
    expect(ratioEstimate(proportionSums(0, 0))).toEqual({ n: 0, estimate: null, variance: null });
    expect(ratioEstimate(meanSums(0, Number.NaN, Number.NaN))).toEqual({ n: 0, estimate: null, variance: null });
    expect(ratioEstimate(proportionSums(1, 1))).toEqual({ n: 1, estimate: 1, variance: null });
    expect(ratioEstimate(meanSums(1, 250, Number.NaN))).toEqual({ n: 1, estimate: 250, variance: null });
    expect(ratioEstimate(ratioSumsOf([]))).toEqual({ n: 0, estimate: null, variance: null });
    expect(
      ratioEstimate(
        ratioSumsOf([
          [0, 0],
          [0, 0],
        ]),
      ),
    ).toEqual({ n: 2, estimate: null, variance: null });
  });

  it('a constant arm has variance exactly 0 (not rounding noise)', () => {
    expect(ratioEstimate(proportionSums(500, 500)).variance).toBe(0);
    expect(ratioEstimate(meanSums(1000, 0.1, 0)).variance).toBe(0);
    const constant: [number, number][] = Array.from({ length: 97 }, () => [0.3, 1]);
    expect(ratioEstimate(ratioSumsOf(constant)).variance).toBe(0);
  });
});

// -----------------------------------------------------------------------------------------------
describe('welch', () => {
  it('matches scipy.stats.ttest_ind(equal_var=False)', () => {
    // control 850/1000 correct, treatment 1060/1200 correct (0/1 outcomes)
    const d = propDiff(1000, 850, 1200, 1060)!;
    expect(d.effect).toBeCloseTo(0.0333333333333333, 12);
    expect(d.df).toBeCloseTo(2030.3891158828637, 6);
    expect(d.p_value).toBeCloseTo(0.022659608821463402, 10);
    expect(d.ci[0]).toBeCloseTo(0.004672671502306696, 10);
    expect(d.ci[1]).toBeCloseTo(0.06199399516435995, 10);
    expect(d.se).toBeCloseTo(0.0333333333333333 / 2.2808650449486993, 12);
    // relative lift (t - c)/c with the delta-method normal interval
    expect(d.relative!.lift).toBeCloseTo(0.0333333333333333 / 0.85, 12);
    const rse = Math.sqrt(
      0.00008595125567602638 / 0.85 ** 2 + (0.88333333333 ** 2 * 0.00012762762762762753) / 0.85 ** 4,
    );
    expect(d.relative!.ci[1] - d.relative!.lift).toBeCloseTo(1.959963984540054 * rse, 8);
  });

  it('returns null without a variance, and handles constant arms soundly', () => {
    const one = ratioEstimate(proportionSums(1, 1));
    const many = ratioEstimate(proportionSums(100, 90));
    expect(welch(one, many, ALPHA)).toBeNull();
    expect(welch(ratioEstimate(proportionSums(0, 0)), many, ALPHA)).toBeNull();
    // Every request correct in both arms: se 0, effect 0 -> no difference, nothing significant.
    const allC = ratioEstimate(proportionSums(50, 50));
    const allT = ratioEstimate(proportionSums(60, 60));
    expect(welch(allC, allT, ALPHA)).toEqual({
      effect: 0,
      se: 0,
      df: 108,
      ci: [0, 0],
      p_value: 1,
      relative: { lift: 0, ci: [0, 0] },
    });
    // Constant but different arms: se 0 is no evidence -> null (no comparison yet).
    expect(welch(allC, ratioEstimate(proportionSums(60, 0)), ALPHA)).toBeNull();
    // One constant arm next to a varying one: it borrows the other's per-request variance rather
    // than claiming to be exact (all 50 correct says little about a 0.9 rate).
    const d = welch(allC, many, ALPHA)!;
    const vMany = many.variance!;
    const vBorrowed = (vMany * 100) / 50;
    expect(d.effect).toBeCloseTo(-0.1, 12);
    expect(d.se).toBeCloseTo(Math.sqrt(vMany + vBorrowed), 12);
    const v = vMany + vBorrowed;
    expect(d.df).toBeCloseTo(1 / ((vBorrowed / v) ** 2 / 49 + (vMany / v) ** 2 / 99), 9);
    expect(welch(many, allC, ALPHA)!.se).toBeCloseTo(d.se, 12);
    // control mean 0: no relative lift
    const zero = ratioEstimate(meanSums(10, 0, 1));
    expect(welch(zero, ratioEstimate(meanSums(10, 1, 1)), ALPHA)!.relative).toBeNull();
  });
});

// -----------------------------------------------------------------------------------------------
describe('confidence sequence', () => {
  it('is the normal-mixture boundary in information time, tuned at the planned se', () => {
    for (const alpha of [0.01, 0.05, 0.1]) {
      const c = -2 * Math.log(alpha) + Math.log(1 - 2 * Math.log(alpha));
      const plannedSe = 0.013;
      const M = 1 / plannedSe ** 2 / c;
      for (const se of [0.2, 0.05, 0.013, 0.004]) {
        const I = 1 / se ** 2;
        const half = Math.sqrt(((I + M) / I ** 2) * Math.log((I + M) / (M * alpha ** 2)));
        const [lo, hi] = confidenceSequence(0.02, se, plannedSe, alpha);
        expect((hi - lo) / 2).toBeCloseTo(half, 10);
        expect((lo + hi) / 2).toBeCloseTo(0.02, 12);
      }
      // At I = I* the half-width is k(alpha) se, and that is (almost exactly) the narrowest any
      // mixing precision gives at that information.
      const k = csMultiplier(alpha);
      const [lo, hi] = confidenceSequence(0, 0.01, 0.01, alpha);
      expect(hi).toBeCloseTo(k * 0.01, 12);
      expect(lo).toBeCloseTo(-k * 0.01, 12);
      for (const f of [0.5, 0.8, 0.9, 0.97, 1.03, 1.1, 1.25, 2]) {
        expect(confidenceSequence(0, 0.01, 0.01 * f, alpha)[1]).toBeGreaterThan(hi * (1 - 1e-4));
      }
      expect(k).toBeGreaterThan(normalQuantileTwoSided(alpha));
    }
    expect(csMultiplier(0.05)).toBeCloseTo(3.0352, 4);
  });

  it('rejects invalid input and maps se = 0 to a point', () => {
    expect(confidenceSequence(0.5, 0, 0.1, ALPHA)).toEqual([0.5, 0.5]);
    expect(() => confidenceSequence(0, -1, 0.1, ALPHA)).toThrow(RangeError);
    expect(() => confidenceSequence(0, 0.1, 0, ALPHA)).toThrow(RangeError);
    expect(() => confidenceSequence(0, 0.1, 0.1, 1)).toThrow(RangeError);
    expect(() => csMultiplier(0)).toThrow(RangeError);
  });
});

/** z_{1-alpha/2} via bisection on the normal CDF (only for an inequality above). */
function normalQuantileTwoSided(alpha: number): number {
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (2 * (1 - normalCdf(mid, 0, 1)) > alpha) lo = mid;
    else hi = mid;
  }
  return lo;
}

// -----------------------------------------------------------------------------------------------
describe('sampleSize', () => {
  it('is the smallest N with se(N) <= planned se, per-arm ceil, and above the fixed-horizon N', () => {
    for (const share of [0.5, 0.2, 0.9]) {
      const opts = { mde: 0.05, sdControl: Math.sqrt(0.85 * 0.15), sdTreatment: 0.3, treatmentShare: share };
      const s = sampleSize({ ...opts, alpha: ALPHA, power: 0.8 });
      const K = opts.sdControl ** 2 / (1 - share) + opts.sdTreatment ** 2 / share;
      const se = (n: number) => Math.sqrt(K / n);
      expect(s.planned_se).toBeCloseTo(0.05 / (csMultiplier(ALPHA) + 0.8416212335729143), 12);
      expect(se(s.total)).toBeLessThanOrEqual(s.planned_se * (1 + 1e-12));
      expect(se(s.total - 1)).toBeGreaterThan(s.planned_se);
      expect(s.control).toBe(Math.ceil(s.total * (1 - share)));
      expect(s.treatment).toBe(Math.ceil(s.total * share));
      expect(s.fixed_horizon_total).toBeLessThan(s.total);
      const zf = 1.959963984540054 + 0.8416212335729143;
      expect(Math.sqrt(K / s.fixed_horizon_total)).toBeLessThanOrEqual((0.05 / zf) * (1 + 1e-12));
      expect(Math.sqrt(K / (s.fixed_horizon_total - 1))).toBeGreaterThan(0.05 / zf);
      // more power, smaller mde or smaller alpha -> more requests
      expect(sampleSize({ ...opts, alpha: ALPHA, power: 0.9 }).total).toBeGreaterThan(s.total);
      expect(sampleSize({ ...opts, mde: 0.025, alpha: ALPHA, power: 0.8 }).total).toBeGreaterThan(3.9 * s.total);
      expect(sampleSize({ ...opts, alpha: 0.01, power: 0.8 }).total).toBeGreaterThan(s.total);
    }
    expect(sampleSize({ mde: 10, sdControl: 1, treatmentShare: 0.5, alpha: 0.05, power: 0.8 }).total).toBe(2);
    expect(() => sampleSize({ mde: 0, sdControl: 1, treatmentShare: 0.5, alpha: 0.05, power: 0.8 })).toThrow(
      RangeError,
    );
    expect(() => sampleSize({ mde: 1, sdControl: 0, treatmentShare: 0.5, alpha: 0.05, power: 0.8 })).toThrow(
      RangeError,
    );
    expect(() => sampleSize({ mde: 1, sdControl: 1, treatmentShare: 1, alpha: 0.05, power: 0.8 })).toThrow(RangeError);
  });
});

// -----------------------------------------------------------------------------------------------
describe('A/A tests: false positives under peeking', () => {
  // Bernoulli p = 0.9 in both arms. The plan: mde 0.05, alpha 0.05, power 0.8; peek every 100
  // requests up to twice the planned total. "Significant" = the interval excludes 0 at any peek.
  const RUNS = 2000;
  for (const share of [0.5, 0.2]) {
    it(`the confidence sequence keeps the rate <= alpha; the peeked Welch interval does not (share ${share})`, () => {
      const sd = Math.sqrt(0.9 * 0.1);
      const plan = sampleSize({ mde: 0.05, sdControl: sd, treatmentShare: share, alpha: ALPHA, power: 0.8 });
      const maxN = roundUp(2 * plan.total, PEEK);
      const rand = rng(1000 + share * 100);
      let csFalse = 0;
      let welchFalse = 0;
      for (let r = 0; r < RUNS; r++) {
        let csHit = false;
        let welchHit = false;
        bernoulliRun(rand, 0.9, 0.9, share, maxN, (nC, kC, nT, kT) => {
          const d = propDiff(nC, kC, nT, kT);
          if (d === null) return false;
          if (!welchHit && (d.ci[0] > 0 || d.ci[1] < 0)) welchHit = true;
          if (!csHit) {
            const [lo, hi] = confidenceSequence(d.effect, d.se, plan.planned_se, ALPHA);
            if (lo > 0 || hi < 0) csHit = true;
          }
          return csHit && welchHit;
        });
        if (csHit) csFalse++;
        if (welchHit) welchFalse++;
      }
      const csRate = csFalse / RUNS;
      const welchRate = welchFalse / RUNS;
      console.log(
        `A/A share ${share}: ${RUNS} runs, peeks every ${PEEK} to ${maxN} (2x planned ${plan.total}); ` +
          `false-positive rate: confidence sequence ${csRate.toFixed(4)}, peeked Welch ${welchRate.toFixed(4)}`,
      );
      expect(csRate).toBeLessThanOrEqual(upper3se(ALPHA, RUNS));
      expect(welchRate).toBeGreaterThan(ALPHA); // what the confidence sequence fixes
    });
  }
});

// -----------------------------------------------------------------------------------------------
describe('power at the planned sample', () => {
  // control 0.85, treatment 0.90, mde 0.05: the CS should exclude 0 on the right side by the planned
  // total (peeking every 100) in >= power of runs.
  const RUNS = 1000;
  for (const share of [0.5, 0.2]) {
    it(`reaches the planned power (treatment share ${share})`, () => {
      const power = 0.8;
      const plan = sampleSize({
        mde: 0.05,
        sdControl: Math.sqrt(0.85 * 0.15),
        sdTreatment: Math.sqrt(0.9 * 0.1),
        treatmentShare: share,
        alpha: ALPHA,
        power,
      });
      const rand = rng(2000 + share * 100);
      let wins = 0;
      let wrong = 0;
      for (let r = 0; r < RUNS; r++) {
        let won = false;
        bernoulliRun(rand, 0.85, 0.9, share, plan.total, (nC, kC, nT, kT) => {
          const d = propDiff(nC, kC, nT, kT);
          if (d === null) return false;
          const [lo, hi] = confidenceSequence(d.effect, d.se, plan.planned_se, ALPHA);
          if (hi < 0) wrong++;
          if (lo > 0) won = true;
          return lo > 0 || hi < 0;
        });
        if (won) wins++;
      }
      const rate = wins / RUNS;
      console.log(
        `power share ${share}: ${RUNS} runs to the planned ${plan.total} (fixed-horizon ${plan.fixed_horizon_total}), ` +
          `CS excludes 0 upwards by then in ${rate.toFixed(3)} (target ${power}); wrong direction ${wrong}`,
      );
      expect(rate).toBeGreaterThanOrEqual(lower3se(power, RUNS));
      expect(wrong).toBe(0);
    });
  }
});

// -----------------------------------------------------------------------------------------------
describe('coverage of the true effect', () => {
  // Welch: the 95% interval at the end of the run. CS: covers at every peek of the run at once
  // (time-uniform), which is stronger than covering at one time.
  const RUNS = 2000;
  const N = 2000; // requests per run, 50/50

  /** Runs `RUNS` tests whose requests come from `draw` (which adds one request to an arm). */
  function coverage(
    seed: number,
    truth: number,
    plannedSe: number,
    draw: (rand: () => number, a: Acc, treatment: boolean) => void,
    extra?: (c: Acc, t: Acc, d: NonNullable<ReturnType<typeof welch>>) => void,
  ) {
    const rand = rng(seed);
    const c = acc();
    const t = acc();
    let welchCover = 0;
    let csCover = 0;
    for (let r = 0; r < RUNS; r++) {
      reset(c);
      reset(t);
      let csOk = true;
      let last: ReturnType<typeof welch> = null;
      for (let i = 1; i <= N; i++) {
        const treat = rand() < 0.5;
        draw(rand, treat ? t : c, treat);
        if (i % PEEK === 0) {
          const d = welch(ratioEstimate(c as RatioSums), ratioEstimate(t as RatioSums), ALPHA);
          if (d === null) continue;
          last = d;
          const [lo, hi] = confidenceSequence(d.effect, d.se, plannedSe, ALPHA);
          if (lo > truth || hi < truth) csOk = false;
        }
      }
      if (last && last.ci[0] <= truth && truth <= last.ci[1]) welchCover++;
      if (csOk) csCover++;
      if (extra && last) extra(c, t, last);
    }
    return { welch: welchCover / RUNS, cs: csCover / RUNS };
  }

  it('proportions (0.85 vs 0.90)', () => {
    const se = Math.sqrt((0.85 * 0.15) / (N / 2) + (0.9 * 0.1) / (N / 2));
    const cov = coverage(3001, 0.05, se, (rand, a, treat) => add(a, rand() < (treat ? 0.9 : 0.85) ? 1 : 0, 1));
    console.log(`coverage, proportions: ${RUNS} runs of ${N}: Welch ${cov.welch}, CS (all peeks) ${cov.cs}`);
    expect(cov.welch).toBeGreaterThanOrEqual(0.94);
    expect(cov.cs).toBeGreaterThanOrEqual(0.94);
  });

  it('a skewed continuous metric: log-normal latency per request (sigma 0.8)', () => {
    const sigma = 0.8;
    const muC = Math.log(200);
    const muT = Math.log(180);
    const meanC = Math.exp(muC + sigma ** 2 / 2);
    const meanT = Math.exp(muT + sigma ** 2 / 2);
    const sdOf = (m: number) => m * Math.sqrt(Math.exp(sigma ** 2) - 1);
    const se = Math.sqrt(sdOf(meanC) ** 2 / (N / 2) + sdOf(meanT) ** 2 / (N / 2));
    const cov = coverage(3002, meanT - meanC, se, (rand, a, treat) =>
      add(a, Math.exp((treat ? muT : muC) + sigma * gauss(rand)), 1),
    );
    console.log(
      `coverage, log-normal latency (true effect ${(meanT - meanC).toFixed(2)} ms): ${RUNS} runs of ${N}: ` +
        `Welch ${cov.welch}, CS (all peeks) ${cov.cs}`,
    );
    expect(cov.welch).toBeGreaterThanOrEqual(0.94);
    expect(cov.cs).toBeGreaterThanOrEqual(0.94);
  });

  it('a ratio metric: 1-5 labelled instances per request, clustered (delta method)', () => {
    // 30% of requests are "hard": 3-5 instances, each correct with p0 - 0.3; the rest 1-3 instances
    // correct with p0. Instances of a request share its difficulty, so they are not independent, and
    // hard requests weigh more. True ratio E[x]/E[y] = p0 - 0.3 * 1.2 / 2.6.
    const truthOf = (p0: number) => (0.3 * 4 * (p0 - 0.3) + 0.7 * 2 * p0) / (0.3 * 4 + 0.7 * 2);
    const p0C = 0.9;
    const p0T = 0.93;
    const truth = truthOf(p0T) - truthOf(p0C);
    let naiveCover = 0;
    const cov = coverage(
      3003,
      truth,
      0.015,
      (rand, a, treat) => {
        const p0 = treat ? p0T : p0C;
        const hard = rand() < 0.3;
        const m = (hard ? 3 : 1) + Math.floor(rand() * 3);
        const p = hard ? p0 - 0.3 : p0;
        let x = 0;
        for (let j = 0; j < m; j++) if (rand() < p) x++;
        add(a, x, m);
      },
      (c, t, d) => {
        // the same interval with instances treated as independent Bernoulli trials (wrong here)
        const v = (a: Acc) => {
          const p = a.sx / a.sy;
          return (p * (1 - p)) / a.sy;
        };
        const half = 1.959963984540054 * Math.sqrt(v(c) + v(t));
        if (Math.abs(d.effect - truth) <= half) naiveCover++;
      },
    );
    console.log(
      `coverage, ratio metric (true effect ${truth.toFixed(4)}): ${RUNS} runs of ${N}: Welch/delta ${cov.welch}, ` +
        `CS (all peeks) ${cov.cs}; instance-level binomial interval ${naiveCover / RUNS}`,
    );
    expect(cov.welch).toBeGreaterThanOrEqual(0.94);
    expect(cov.cs).toBeGreaterThanOrEqual(0.94);
    expect(naiveCover / RUNS).toBeLessThan(cov.welch); // why the delta method
  });
});

// -----------------------------------------------------------------------------------------------
describe('sample ratio mismatch', () => {
  it('flags 48.5/51.5 at n = 20,000 on a 50/50 plan, not an exact split', () => {
    const bad = srm(9700, 10300, 0.5);
    expect(bad.chi2).toBeCloseTo(18, 10);
    expect(bad.p_value).toBeCloseTo(2.2090496998585475e-5, 12); // scipy chi2.sf(18, 1)
    expect(bad.flagged).toBe(true);
    expect(bad.expected_share).toEqual([0.5, 0.5]);
    const ok = srm(10000, 10000, 0.5);
    expect(ok).toEqual({ observed: [10000, 10000], expected_share: [0.5, 0.5], chi2: 0, p_value: 1, flagged: false });
    expect(srm(0, 0, 0.3).flagged).toBe(false);
    expect(srm(8000, 2000, 0.2).flagged).toBe(false);
    expect(srm(8200, 1800, 0.2).flagged).toBe(true);
  });

  for (const [share, n] of [
    [0.5, 20_000],
    [0.2, 10_000],
  ] as const) {
    it(`flags a correct ${share} split at most at the alpha rate (n = ${n})`, () => {
      const RUNS = 2000;
      const rand = rng(4000 + share * 10);
      let flags = 0;
      for (let r = 0; r < RUNS; r++) {
        let t = 0;
        for (let i = 0; i < n; i++) if (rand() < share) t++;
        if (srm(n - t, t, share).flagged) flags++;
      }
      console.log(`SRM ${share} split, n ${n}: ${RUNS} runs, flag rate ${flags / RUNS}`);
      expect(flags / RUNS).toBeLessThanOrEqual(upper3se(0.001, RUNS));
    });
  }
});

// -----------------------------------------------------------------------------------------------
describe('guardrails: non-inferiority', () => {
  // Error rate 5% in control, margin 3 pp, two guardrails -> alphaEach = 0.025, 50/50, peeked every
  // 100 up to twice the planned sample for detecting the margin.
  const RUNS = 1000;
  const alphaEach = ALPHA / 2;
  const margin = 0.03;
  const base = 0.05;
  const sd = Math.sqrt(base * (1 - base));
  const plan = sampleSize({ mde: margin, sdControl: sd, treatmentShare: 0.5, alpha: 2 * alphaEach, power: 0.8 });
  const maxN = roundUp(2 * plan.total, PEEK);

  function simulate(seed: number, pT: number) {
    const rand = rng(seed);
    let fail = 0;
    let pass = 0;
    for (let r = 0; r < RUNS; r++) {
      let failed = false;
      let passed = false;
      bernoulliRun(rand, base, pT, 0.5, maxN, (nC, kC, nT, kT) => {
        const d = propDiff(nC, kC, nT, kT);
        const g = nonInferiority(d?.effect ?? null, d?.se ?? null, margin, plan.planned_se, alphaEach);
        if (g.status === 'fail') failed = true;
        if (g.status === 'pass') passed = true;
        return failed && passed;
      });
      if (failed) fail++;
      if (passed) pass++;
    }
    return { fail: fail / RUNS, pass: pass / RUNS };
  }

  it('no true difference: fails at most alphaEach of the time (peeked), and passes once there is data', () => {
    const g = simulate(5001, base);
    console.log(`guardrail, true difference 0: ${RUNS} runs to ${maxN}: fail ${g.fail}, pass (ever) ${g.pass}`);
    expect(g.fail).toBeLessThanOrEqual(upper3se(alphaEach, RUNS));
    expect(g.pass).toBeGreaterThan(0.9);
  });

  it('true difference exactly at the margin: neither a pass nor a fail beyond alphaEach (peeked)', () => {
    const g = simulate(5002, base + margin);
    console.log(`guardrail, true difference = margin: ${RUNS} runs to ${maxN}: fail ${g.fail}, pass ${g.pass}`);
    expect(g.fail).toBeLessThanOrEqual(upper3se(alphaEach, RUNS));
    expect(g.pass).toBeLessThanOrEqual(upper3se(alphaEach, RUNS));
  });

  it('a treatment clearly worse beyond the margin fails', () => {
    const g = simulate(5003, base + 2.5 * margin);
    console.log(`guardrail, true difference 2.5x margin: ${RUNS} runs to ${maxN}: fail ${g.fail}, pass ${g.pass}`);
    expect(g.fail).toBeGreaterThan(0.99);
    expect(g.pass).toBeLessThanOrEqual(upper3se(alphaEach, RUNS));
  });

  it('is inconclusive without a standard error', () => {
    expect(nonInferiority(null, null, 0.01, 0.01, 0.025)).toEqual({ status: 'inconclusive', interval: null });
    expect(nonInferiority(0.002, 0.001, 0.01, null, 0.025)).toEqual({ status: 'inconclusive', interval: null });
    expect(nonInferiority(0.5, 0, 0.01, 0.01, 0.025)).toEqual({ status: 'inconclusive', interval: null });
    // identical constant arms (no errors in either): non-inferior
    expect(nonInferiority(0, 0, 0.01, 0.01, 0.025)).toEqual({ status: 'pass', interval: [0, 0] });
    const g = nonInferiority(0.002, 0.001, 0.01, 0.001, 0.025);
    expect(g.status).toBe('pass');
    expect(g.interval![1]).toBeCloseTo(0.002 + csMultiplier(0.05) * 0.001, 12);
    expect(nonInferiority(0.02, 0.001, 0.01, 0.001, 0.025).status).toBe('fail');
    expect(nonInferiority(0.01, 0.001, 0.01, 0.001, 0.025).status).toBe('inconclusive');
  });
});

// -----------------------------------------------------------------------------------------------
describe('quantileInterval', () => {
  // Cloud Monitoring-style exponential buckets: upper bounds 1.25^i ms, i = 0..59, plus overflow.
  const G = 1.25;
  const bounds = Array.from({ length: 60 }, (_, i) => G ** i);
  const bucket = (v: number) => (v < 1 ? 0 : Math.min(60, Math.floor(Math.log(v) / Math.log(G)) + 1));

  it('on a small histogram: ranks to bucket bounds, nearest-rank estimate, nulls', () => {
    const h: Histogram = { bounds: [10, 20, 40, 80], counts: [10, 40, 30, 20, 0] };
    const res = quantileInterval(h, 0.5, ALPHA);
    expect(res.n).toBe(100);
    // rank 50 lies in [10, 20)
    expect(res.estimate).toBeCloseTo(Math.sqrt(200), 12);
    const spread = csMultiplier(ALPHA) * 5;
    expect(res.ci).toEqual([bucketLower(h, Math.floor(50 - spread)), bucketUpper(h, Math.ceil(50 + spread))]);
    // the top rank falls in the overflow bucket: no upper bound
    const heavy = quantileInterval({ bounds: [10, 20], counts: [50, 40, 10] }, 0.95, ALPHA);
    expect(heavy.ci).toBeNull();
    expect(heavy.estimate).toBeNull();
    expect(quantileInterval({ bounds: [10], counts: [0, 0] }, 0.95, ALPHA)).toEqual({ n: 0, estimate: null, ci: null });
    // first bucket starts at 0: arithmetic middle
    expect(quantileInterval({ bounds: [10, 20], counts: [100, 0, 0] }, 0.5, ALPHA).estimate).toBe(5);
    expect(() => quantileInterval({ bounds: [10, 20], counts: [1, 2] }, 0.5, ALPHA)).toThrow(RangeError);
    expect(() => quantileInterval({ bounds: [20, 10], counts: [1, 2, 3] }, 0.5, ALPHA)).toThrow(RangeError);
    expect(() => quantileInterval(h, 1, ALPHA)).toThrow(RangeError);
  });

  it('covers the true p95 of a log-normal latency, at every peek of a growing histogram', () => {
    const RUNS = 2000;
    const n = 2000;
    const mu = Math.log(200);
    const sigma = 0.8;
    const truth = Math.exp(mu + sigma * 1.6448536269514722);
    const rand = rng(6001);
    const counts = new Array<number>(61).fill(0);
    const h: Histogram = { bounds, counts };
    let finalCover = 0;
    let allCover = 0;
    let unbounded = 0;
    let estErr = 0;
    for (let r = 0; r < RUNS; r++) {
      counts.fill(0);
      let ok = true;
      for (let i = 1; i <= n; i++) {
        const b = bucket(Math.exp(mu + sigma * gauss(rand)));
        counts[b] = counts[b]! + 1;
        if (i % 200 === 0) {
          const res = quantileInterval(h, 0.95, ALPHA);
          if (res.ci === null) unbounded++;
          else if (res.ci[0] > truth || res.ci[1] < truth) ok = false;
          if (i === n) {
            if (res.ci && res.ci[0] <= truth && truth <= res.ci[1]) finalCover++;
            estErr += Math.abs(Math.log(res.estimate! / truth));
          }
        }
      }
      if (ok) allCover++;
    }
    console.log(
      `p95 interval: ${RUNS} runs of ${n}: covers at n=${n} ${finalCover / RUNS}, at every peek (200..${n}) ` +
        `${allCover / RUNS}; unbounded looks ${unbounded}; mean |log(estimate/true)| ${(estErr / RUNS).toFixed(3)}`,
    );
    expect(finalCover / RUNS).toBeGreaterThanOrEqual(0.94);
    expect(allCover / RUNS).toBeGreaterThanOrEqual(0.94);
    expect(estErr / RUNS).toBeLessThan(0.15);
  });
});

function bucketOf(h: Histogram, rank: number): number {
  let cum = 0;
  for (let i = 0; i < h.counts.length; i++) {
    cum += h.counts[i]!;
    if (cum >= rank) return i;
  }
  return h.counts.length - 1;
}
function bucketLower(h: Histogram, rank: number): number {
  if (rank < 1) return 0;
  const i = bucketOf(h, rank);
  return i === 0 ? 0 : h.bounds[i - 1]!;
}
function bucketUpper(h: Histogram, rank: number): number {
  return h.bounds[bucketOf(h, rank)]!;
}

// -----------------------------------------------------------------------------------------------
describe('no NaN or Infinity in any output', () => {
  it('degenerate inputs give numbers or nulls', () => {
    const estimates: Estimate[] = [
      ratioEstimate(proportionSums(0, 0)),
      ratioEstimate(proportionSums(1, 0)),
      ratioEstimate(proportionSums(2, 0)),
      ratioEstimate(proportionSums(2, 2)),
      ratioEstimate(proportionSums(2, 1)),
      ratioEstimate(meanSums(3, 0, 0)),
      ratioEstimate(meanSums(5, 1e-300, 1e-300)),
      ratioEstimate(meanSums(5, 1e200, 1e300)),
    ];
    const outputs: unknown[] = [...estimates];
    for (const a of estimates) for (const b of estimates) outputs.push(welch(a, b, ALPHA));
    outputs.push(srm(0, 5, 0.5), srm(5, 0, 0.01), quantileInterval({ bounds: [], counts: [3] }, 0.5, ALPHA));
    const walk = (v: unknown): void => {
      if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(outputs);
  });
});
