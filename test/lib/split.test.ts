// The library's traffic-split arithmetic (src/lib/endpoints/split.ts): what real Vertex AI sees in
// DeployModel / UndeployModel / UpdateEndpoint. Worked examples, edge cases, and property tests over
// random splits from a seeded PRNG (scripts/prng.ts), including that every split the library
// computes is one the strict emulator (src/emulator/traffic.ts, Vertex's rules) accepts.
import { describe, expect, it } from 'vitest';
import { rng } from '../../scripts/prng.js';
import { deploySplit as vertexDeploy, undeploySplit as vertexUndeploy } from '../../src/emulator/traffic.js';
import {
  checkSplit,
  MAX_SPLIT_ENTRIES,
  rescale,
  type Split,
  splitForDeploy,
  splitForUndeploy,
} from '../../src/lib/endpoints/split.js';
import { errorOf } from '../helpers.js';

const sum = (s: Split) => Object.values(s).reduce((a, b) => a + b, 0);

/** A random complete split over `n` deployed-model ids (integers summing to 100), some shares 0. */
function randomSplit(next: () => number, n: number): Split {
  const weights: Split = {};
  for (let i = 0; i < n; i++) weights[String(1_000_000_001 + i)] = next() < 0.2 ? 0 : Math.floor(next() * 1000) + 1;
  if (sum(weights) === 0) weights[String(1_000_000_001)] = 1;
  return rescale(weights, 100);
}

const RUNS = 2000;

describe('rescale (largest remainder)', () => {
  it('worked examples', () => {
    expect(rescale({ a: 100 }, 80)).toEqual({ a: 80 });
    expect(rescale({ a: 80, b: 20 }, 80)).toEqual({ a: 64, b: 16 });
    expect(rescale({ a: 1, b: 1, c: 1 }, 100)).toEqual({ a: 34, b: 33, c: 33 }); // tie -> earlier key
    expect(rescale({ a: 50, b: 30 }, 100)).toEqual({ a: 63, b: 37 }); // 62.5 / 37.5: tie -> earlier key
    expect(rescale({ a: 33, b: 33, c: 34 }, 70)).toEqual({ a: 23, b: 23, c: 24 }); // largest remainder .8
    expect(rescale({ a: 60, b: 25, c: 15 }, 90)).toEqual({ a: 54, b: 23, c: 13 }); // 22.5 / 13.5: tie -> b
  });

  it('edge cases: empty, all zero, target 0, zero shares', () => {
    expect(rescale({}, 100)).toEqual({});
    expect(rescale({ a: 0, b: 0, c: 0 }, 100)).toEqual({ a: 34, b: 33, c: 33 }); // even
    expect(rescale({ a: 0, b: 0 }, 0)).toEqual({ a: 0, b: 0 });
    expect(rescale({ a: 70, b: 30 }, 0)).toEqual({ a: 0, b: 0 });
    expect(rescale({ a: 0, b: 7 }, 100)).toEqual({ a: 0, b: 100 });
    expect(rescale({ a: 1e-9, b: 1e9 }, 100)).toEqual({ a: 0, b: 100 });
  });

  it('refuses shares and targets it cannot scale', () => {
    expect(errorOf(() => rescale({ a: -1, b: 101 }, 100)).message).toContain('share "a" = -1');
    expect(errorOf(() => rescale({ a: Number.NaN }, 100)).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => rescale({ a: Number.POSITIVE_INFINITY }, 100)).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => rescale({ a: 1 }, 2.5)).message).toContain('target 2.5');
    expect(errorOf(() => rescale({ a: 1 }, -1)).code).toBe('INVALID_ARGUMENT');
  });

  it('property: sums to the target, each share within 1 of its exact quota, order and zeros kept', () => {
    const next = rng(20240901);
    for (let run = 0; run < RUNS; run++) {
      const n = 1 + Math.floor(next() * 12);
      const shares: Split = {};
      for (let i = 0; i < n; i++) shares[`k${i}`] = next() < 0.25 ? 0 : Math.floor(next() * 10_000) / 100;
      const total = sum(shares);
      const target = Math.floor(next() * 101);
      const out = rescale(shares, target);
      expect(Object.keys(out)).toEqual(Object.keys(shares));
      expect(sum(out)).toBe(target);
      for (const [k, v] of Object.entries(out)) {
        expect(Number.isInteger(v) && v >= 0).toBe(true);
        const quota = total > 0 ? (shares[k]! * target) / total : target / n;
        expect(Math.abs(v - quota)).toBeLessThan(1);
        if (total > 0 && shares[k] === 0) expect(v).toBe(0);
      }
      // A larger share never gets fewer points (largest remainder is monotone within one call).
      const keys = Object.keys(shares);
      for (const a of keys)
        for (const b of keys) if (shares[a]! > shares[b]!) expect(out[a]!).toBeGreaterThanOrEqual(out[b]!);
    }
  });
});

describe('checkSplit', () => {
  it('accepts complete splits and the empty map', () => {
    checkSplit({ a: 100 });
    checkSplit({ a: 0, b: 100 });
    checkSplit({ a: 33, b: 33, c: 34 });
    checkSplit({});
  });

  it('refuses sums other than 100, fractions, negatives, values over 100, too many entries', () => {
    expect(errorOf(() => checkSplit({ a: 90 })).message).toBe('traffic_split sums to 90; it must sum to 100');
    expect(errorOf(() => checkSplit({ a: 50.5, b: 49.5 })).message).toContain('must be an integer percentage');
    expect(errorOf(() => checkSplit({ a: 110, b: -10 })).message).toContain('traffic_split["a"] = 110');
    expect(errorOf(() => checkSplit({ a: Number.NaN })).code).toBe('INVALID_ARGUMENT');
    const many = Object.fromEntries(Array.from({ length: MAX_SPLIT_ENTRIES + 1 }, (_, i) => [`k${i}`, i ? 0 : 100]));
    expect(errorOf(() => checkSplit(many)).message).toContain(`at most ${MAX_SPLIT_ENTRIES}`);
    expect(errorOf(() => checkSplit({ a: 60 }, 'after')).message).toContain('after sums to 60');
  });

  it('property: every split from the generator passes; any one-point change fails', () => {
    const next = rng(7);
    for (let run = 0; run < RUNS; run++) {
      const s = randomSplit(next, 1 + Math.floor(next() * 8));
      checkSplit(s);
      const key = Object.keys(s)[Math.floor(next() * Object.keys(s).length)]!;
      const bumped = { ...s, [key]: s[key]! + (s[key]! === 100 ? -1 : 1) };
      expect(errorOf(() => checkSplit(bumped)).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('splitForDeploy', () => {
  it('worked examples (the first model takes 100%; p rescales the others)', () => {
    expect(splitForDeploy({}, 0)).toEqual({ '0': 100 });
    expect(splitForDeploy({}, 30)).toEqual({ '0': 100 });
    expect(splitForDeploy({ A: 100 }, 20)).toEqual({ A: 80, '0': 20 });
    expect(splitForDeploy({ A: 80, B: 20 }, 20)).toEqual({ A: 64, B: 16, '0': 20 });
    expect(splitForDeploy({ A: 50, B: 50 }, 25)).toEqual({ A: 38, B: 37, '0': 25 });
    expect(splitForDeploy({ A: 70, B: 30 }, 0)).toEqual({ A: 70, B: 30, '0': 0 });
    expect(splitForDeploy({ A: 70, B: 30 }, 100)).toEqual({ A: 0, B: 0, '0': 100 });
    // Deployed models not in the split carry 0 and stay at 0.
    expect(splitForDeploy({ A: 100 }, 10, ['A', 'B'])).toEqual({ A: 90, B: 0, '0': 10 });
  });

  it('an endpoint that serves nothing: 100 moves everything, 0 leaves the split alone, anything between is refused', () => {
    expect(splitForDeploy({}, 100, ['A'])).toEqual({ A: 0, '0': 100 });
    expect(splitForDeploy({ A: 0, B: 0 }, 100)).toEqual({ A: 0, B: 0, '0': 100 });
    expect(splitForDeploy({}, 0, ['A'])).toEqual({});
    const err = errorOf(() => splitForDeploy({}, 40, ['A']));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.text).toContain('the deployed models carry no traffic, so there is nothing to rescale');
    expect(err.text).toContain('set_traffic_split');
  });

  it('refuses percentages outside [0, 100] and fractions', () => {
    for (const p of [-1, 101, 2.5, Number.NaN, 2 ** 53 - 1]) {
      expect(errorOf(() => splitForDeploy({ A: 100 }, p)).message).toContain(`traffic_percentage ${p}`);
    }
  });

  it('property: complete, p for the new model, the others within 1 of their rescaled quota; the strict emulator accepts it', () => {
    const next = rng(1234);
    for (let run = 0; run < RUNS; run++) {
      const current = randomSplit(next, 1 + Math.floor(next() * 8));
      const ids = Object.keys(current);
      const p = Math.floor(next() * 101);
      const out = splitForDeploy(current, p, ids);
      expect(sum(out)).toBe(100);
      expect(out['0']).toBe(p);
      expect(Object.keys(out).sort()).toEqual([...ids, '0'].sort());
      for (const id of ids) {
        expect(Math.abs(out[id]! - (current[id]! * (100 - p)) / 100)).toBeLessThan(1);
        if (current[id] === 0) expect(out[id]).toBe(0);
      }
      checkSplit(out);
      // What Vertex (the emulator's rules) makes of the request: the same split, "0" renamed.
      const applied = vertexDeploy(current, ids, '9', out);
      expect(applied).toEqual(Object.fromEntries(Object.entries(out).map(([k, v]) => [k === '0' ? '9' : k, v])));
    }
  });
});

describe('splitForUndeploy', () => {
  it('worked examples', () => {
    expect(splitForUndeploy({ A: 50, B: 30, C: 20 }, 'C', ['A', 'B', 'C'])).toEqual({ A: 63, B: 37 });
    expect(splitForUndeploy({ A: 80, B: 20 }, 'A', ['A', 'B'])).toEqual({ B: 100 });
    expect(splitForUndeploy({ A: 34, B: 33, C: 33 }, 'A', ['A', 'B', 'C'])).toEqual({ B: 50, C: 50 });
    expect(splitForUndeploy({ A: 40, B: 35, C: 25 }, 'B', ['A', 'B', 'C'])).toEqual({ A: 62, C: 38 });
  });

  it('edge cases: no traffic on it, the last model, an endpoint serving nothing, nobody to take it', () => {
    expect(splitForUndeploy({ A: 100, B: 0 }, 'B', ['A', 'B'])).toEqual({ A: 100 });
    expect(splitForUndeploy({ A: 100 }, 'B', ['A', 'B'])).toEqual({ A: 100 });
    expect(splitForUndeploy({ A: 100 }, 'A', ['A'])).toEqual({});
    expect(splitForUndeploy({}, 'A', ['A', 'B'])).toEqual({}); // stays empty: nothing to send
    const err = errorOf(() => splitForUndeploy({ A: 100, B: 0 }, 'A', ['A', 'B']));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.text).toContain('carries 100% of the traffic and no other model carries any');
  });

  it('property: complete over the models that stay, within 1 of the proportional share; the strict emulator accepts it', () => {
    const next = rng(99);
    let refused = 0;
    for (let run = 0; run < RUNS; run++) {
      const n = 1 + Math.floor(next() * 8);
      const current = randomSplit(next, n);
      const ids = Object.keys(current);
      const id = ids[Math.floor(next() * n)]!;
      const rest = ids.filter((x) => x !== id);
      const restTraffic = rest.reduce((a, k) => a + current[k]!, 0);
      if (rest.length > 0 && current[id]! > 0 && restTraffic === 0) {
        expect(errorOf(() => splitForUndeploy(current, id, ids)).code).toBe('FAILED_PRECONDITION');
        refused++;
        continue;
      }
      const out = splitForUndeploy(current, id, ids);
      if (rest.length === 0) {
        expect(out).toEqual({});
        continue;
      }
      expect(Object.keys(out).sort()).toEqual([...rest].sort());
      expect(sum(out)).toBe(100);
      for (const k of rest) {
        expect(Math.abs(out[k]! - (current[k]! * 100) / restTraffic)).toBeLessThan(1);
        if (current[id] === 0) expect(out[k]).toBe(current[k]);
      }
      // The request the library sends (the split, when the model carried traffic) is accepted
      // by Vertex's rule: it unassigns the model's traffic.
      expect(vertexUndeploy(current, ids, id, current[id]! > 0 ? out : {})).toEqual(out);
    }
    expect(refused).toBeGreaterThan(0); // the generator does reach the refusal
  });

  it('property: deploy then undeploy the same model gives back a split close to the original', () => {
    const next = rng(5);
    for (let run = 0; run < RUNS; run++) {
      const current = randomSplit(next, 1 + Math.floor(next() * 6));
      const ids = Object.keys(current);
      const p = Math.floor(next() * 100); // < 100, so the others keep some traffic
      const deployed = splitForDeploy(current, p, ids);
      const renamed = Object.fromEntries(Object.entries(deployed).map(([k, v]) => [k === '0' ? 'new' : k, v]));
      const back = splitForUndeploy(renamed, 'new', [...ids, 'new']);
      expect(sum(back)).toBe(100);
      // Two roundings, each within 1 point, after scaling by 100 / (100 - p).
      for (const id of ids) expect(Math.abs(back[id]! - current[id]!)).toBeLessThanOrEqual(1 + 100 / (100 - p));
    }
  });
});
