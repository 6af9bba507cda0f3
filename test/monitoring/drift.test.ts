// PSI and Jensen-Shannon divergence: known values by hand, and drift flagged for a shifted
// distribution but not for a resample of the training one (seeded PRNG).
import { describe, expect, it } from 'vitest';
import { rng } from '../../scripts/prng.js';
import { type DriftResult, drift, jsDivergence, OTHER, psi } from '../../src/lib/monitoring/drift.js';

function normals(seed: number, n: number, mean = 0, sd = 1): number[] {
  const r = rng(seed);
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - r();
    const v = r();
    out.push(mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

function categories(seed: number, n: number, weights: Record<string, number>): string[] {
  const r = rng(seed);
  const entries = Object.entries(weights);
  const total = entries.reduce((s, [, w]) => s + w, 0);
  return Array.from({ length: n }, () => {
    let x = r() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1]![0];
  });
}

const repeat = (counts: Record<string, number>) =>
  Object.entries(counts).flatMap(([k, n]) => Array(n).fill(k) as string[]);
const measured = (r: ReturnType<typeof drift>): DriftResult => {
  if (r.psi === null) throw new Error(r.reason);
  return r as DriftResult;
};

describe('psi and jsDivergence', () => {
  it('match hand-computed values', () => {
    // p = (0.5, 0.3, 0.2), q = (0.3, 0.3, 0.4):
    // PSI = (0.3-0.5) ln(0.3/0.5) + 0 + (0.4-0.2) ln(0.4/0.2) = 0.2 ln(5/3) + 0.2 ln 2 = 0.2 ln(10/3)
    expect(psi([0.5, 0.3, 0.2], [0.3, 0.3, 0.4])).toBeCloseTo(0.2 * Math.log(10 / 3), 12);
    // m = (0.4, 0.3, 0.3); JS = 1/2 [0.5 log2(0.5/0.4) + 0.2 log2(0.2/0.3)] + 1/2 [0.3 log2(0.3/0.4) + 0.4 log2(0.4/0.3)]
    const js =
      0.5 * (0.5 * Math.log2(0.5 / 0.4) + 0.2 * Math.log2(0.2 / 0.3)) +
      0.5 * (0.3 * Math.log2(0.3 / 0.4) + 0.4 * Math.log2(0.4 / 0.3));
    expect(jsDivergence([0.5, 0.3, 0.2], [0.3, 0.3, 0.4])).toBeCloseTo(js, 12);
    expect(js).toBeCloseTo(0.042738, 6);
  });

  it('are 0 for identical distributions; JS is 1 bit for disjoint ones', () => {
    expect(psi([0.25, 0.75], [0.25, 0.75])).toBe(0);
    expect(jsDivergence([0.25, 0.75], [0.25, 0.75])).toBe(0);
    expect(jsDivergence([1, 0], [0, 1])).toBeCloseTo(1, 12);
    // Empty bins are floored at 1e-4, so PSI stays finite.
    expect(psi([1, 0], [0, 1])).toBeCloseTo(2 * (1 - 1e-4) * Math.log(1 / 1e-4), 9);
  });
});

describe('drift on categories', () => {
  it('reports the hand-computed figures and the PSI band', () => {
    const r = measured(drift({ training: repeat({ A: 50, B: 30, C: 20 }), serving: repeat({ A: 30, B: 30, C: 40 }) }));
    expect(r.kind).toBe('categorical');
    expect(r.psi).toBeCloseTo(0.240795, 6);
    expect(r.js_divergence).toBeCloseTo(0.042738, 6);
    expect(r.psi_level).toBe('moderate');
    expect(r.drifted).toBe(false);
    expect(r.threshold).toEqual({ psi_moderate: 0.1, psi: 0.25, js: 0.1 });
    expect(r.sample_sizes).toEqual({ training: 100, serving: 100 });
    expect(r.bins.map((b) => [b.label, b.training_count, b.serving_count])).toEqual([
      ['A', 50, 30],
      ['B', 30, 30],
      ['C', 20, 40],
    ]);
    expect(r.psi_noise_floor).toBeCloseTo(2 * (1 / 100 + 1 / 100), 9);
  });

  it('flags a shifted label mix, not a resample of the training one', () => {
    const weights = { billing: 0.4, support: 0.3, sales: 0.2, other: 0.1 };
    const training = categories(1, 3000, weights);
    const same = measured(drift({ training, serving: categories(2, 3000, weights) }));
    expect(same.drifted).toBe(false);
    expect(same.psi_level).toBe('none');
    expect(same.psi).toBeLessThan(0.02);

    const shifted = measured(
      drift({ training, serving: categories(3, 3000, { billing: 0.1, support: 0.3, sales: 0.2, other: 0.4 }) }),
    );
    expect(shifted.drifted).toBe(true);
    expect(shifted.psi_level).toBe('significant');
    expect(shifted.psi).toBeGreaterThan(0.25);
  });

  it('gathers categories the training sample never had in an (other) bin', () => {
    const training = repeat({ a: 60, b: 60 });
    const r = measured(drift({ training, serving: repeat({ a: 40, b: 40, z: 40 }) }));
    expect(r.bins.map((b) => b.label)).toEqual(['a', 'b', OTHER]);
    expect(r.bins[2]).toMatchObject({ training_count: 0, serving_count: 40 });
    expect(r.drifted).toBe(true);
  });

  it('caps the categories kept by training frequency', () => {
    const training = Array.from({ length: 2000 }, (_, i) => `t${i % 40}`);
    const r = measured(drift({ training, serving: training, bins: 10 }));
    expect(r.bins).toHaveLength(10);
    expect(r.bins[9]?.label).toBe(OTHER);
    expect(r.psi).toBe(0);
  });
});

describe('drift on numbers', () => {
  const training = normals(11, 5000);

  it('bins by training quantiles', () => {
    const r = measured(drift({ training, serving: normals(12, 5000) }));
    expect(r.kind).toBe('numeric');
    expect(r.bins).toHaveLength(10);
    for (const b of r.bins) expect(b.training_share).toBeCloseTo(0.1, 2);
    expect(r.bins[0]?.label).toMatch(/^\(-inf, -1\.2/);
    expect(r.bins[9]?.label).toMatch(/, \+inf\)$/);
    expect(r.method).toBe("10 bins at the training sample's quantiles");
  });

  it('does not flag a resample of the training distribution', () => {
    const r = measured(drift({ training, serving: normals(12, 5000) }));
    expect(r.drifted).toBe(false);
    expect(r.psi).toBeLessThan(0.02);
    expect(r.js_divergence).toBeLessThan(0.01);
  });

  it('flags a shifted distribution', () => {
    const r = measured(drift({ training, serving: normals(13, 5000, 1, 1) }));
    expect(r.drifted).toBe(true);
    expect(r.psi).toBeGreaterThan(0.25);
    expect(r.psi_level).toBe('significant');
    const wider = measured(drift({ training, serving: normals(14, 5000, 0, 2) }));
    expect(wider.drifted).toBe(true);
  });

  it('uses fewer bins for small samples, so noise stays below the thresholds', () => {
    const r = measured(drift({ training: normals(21, 100), serving: normals(22, 100) }));
    expect(r.bins).toHaveLength(5);
    expect(r.drifted).toBe(false);
  });

  it('handles a constant training sample', () => {
    const r = measured(drift({ training: Array(200).fill(3), serving: Array(200).fill(5) }));
    expect(r.bins.map((b) => b.label)).toEqual(['(-inf, 3]', '(3, +inf)']);
    expect(r.drifted).toBe(true);
  });
});

describe('drift inputs', () => {
  it('is null with the reason and the minimum when a sample is too small', () => {
    const r = drift({ training: normals(1, 50), serving: normals(2, 500) });
    expect(r.psi).toBeNull();
    expect(r.drifted).toBeNull();
    expect(r).toMatchObject({
      reason: 'not measured: the training sample has 50 values; drift needs at least 100 in each',
      min_sample: 100,
    });
    expect(drift({ training: [], serving: [] }).psi).toBeNull();
    expect(
      measured(drift({ training: normals(1, 50), serving: normals(2, 50), min_sample: 40 })).psi,
    ).toBeGreaterThanOrEqual(0);
  });

  it('refuses mixed kinds and non-finite numbers', () => {
    expect(() => drift({ training: normals(1, 200), serving: repeat({ a: 200 }) })).toThrow('compare like with like');
    expect(() => drift({ training: [1, 'a'] as unknown as number[], serving: [] })).toThrow('mix');
    expect(() => drift({ training: [1, Number.NaN], serving: [] })).toThrow('finite');
  });

  it('takes other thresholds', () => {
    const r = measured(
      drift({
        training: repeat({ A: 50, B: 30, C: 20 }),
        serving: repeat({ A: 30, B: 30, C: 40 }),
        thresholds: { psi: 0.2 },
      }),
    );
    expect(r.drifted).toBe(true);
    expect(r.threshold.psi).toBe(0.2);
  });
});
