// Traffic split rules (src/emulator/traffic.ts) as worked examples: apportioning, deploy and
// undeploy splits, validation, and the seeded per-request routing.
import { describe, expect, it } from 'vitest';
import {
  apportion,
  checkSplit,
  deploySplit,
  pickDeployedModel,
  routeDraw,
  routingSeed,
  undeploySplit,
  updateSplit,
} from '../../src/emulator/traffic.js';

const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;

function error(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: number; message: string };
  }
  throw new Error('expected an error');
}

describe('apportion (largest remainder)', () => {
  it('keeps exact proportions when they are integers', () => {
    expect(apportion({ '1': 100 }, 80)).toEqual({ '1': 80 });
    expect(apportion({ '1': 50, '2': 50 }, 80)).toEqual({ '1': 40, '2': 40 });
    expect(apportion({ '1': 50, '2': 30 }, 100)).toEqual({ '1': 63, '2': 37 }); // 62.5 / 37.5: tie -> larger weight
  });

  it('gives the points left to the largest remainders', () => {
    // quotas 33.33 / 33.33 / 33.33 -> floors 33+33+33 = 99; the tie goes to the smallest ID.
    expect(apportion({ '1': 1, '2': 1, '3': 1 }, 100)).toEqual({ '1': 34, '2': 33, '3': 33 });
    // quotas for 90 of {60, 25, 15}: 54, 22.5, 13.5 -> 54, 22, 13 = 89; .5 tie -> larger weight (25).
    expect(apportion({ '1': 60, '2': 25, '3': 15 }, 90)).toEqual({ '1': 54, '2': 23, '3': 13 });
    // quotas for 70 of {33, 33, 34}: 23.1, 23.1, 23.8 -> 23, 23, 23 = 69; largest remainder .8 -> "3".
    expect(apportion({ '1': 33, '2': 33, '3': 34 }, 70)).toEqual({ '1': 23, '2': 23, '3': 24 });
  });

  it('always sums to the total and keeps zero weights at zero', () => {
    for (let total = 0; total <= 100; total++) {
      const out = apportion({ '7': 13, '8': 0, '9': 29, '10': 58 }, total);
      expect(Object.values(out).reduce((a, b) => a + b, 0)).toBe(total);
      expect(out['8']).toBe(0);
    }
  });
});

describe('checkSplit / updateSplit (Endpoint.traffic_split)', () => {
  it('accepts a split that sums to 100 over deployed models, or an empty one', () => {
    expect(updateSplit({ '1': 70, '2': 30 }, ['1', '2'])).toEqual({ '1': 70, '2': 30 });
    expect(updateSplit({ '1': 100, '2': 0 }, ['1', '2'])).toEqual({ '1': 100, '2': 0 });
    expect(updateSplit({}, ['1', '2'])).toEqual({});
  });

  it('names the sum when it is not 100', () => {
    const err = error(() => updateSplit({ '1': 70, '2': 20 }, ['1', '2']));
    expect(err.code).toBe(INVALID_ARGUMENT);
    expect(err.message).toMatch(/must add up to 100, but \{"1":70,"2":20\} adds up to 90/);
  });

  it('rejects unknown keys, fractions, negatives and values over 100', () => {
    expect(error(() => updateSplit({ '1': 50, '9': 50 }, ['1', '2'])).message).toMatch(
      /key "9" is not a deployed model of this endpoint \(allowed keys: "1", "2"\)/,
    );
    expect(error(() => updateSplit({ '1': 50.5, '2': 49.5 }, ['1', '2'])).message).toMatch(/integers from 0 to 100/);
    expect(error(() => updateSplit({ '1': 110, '2': -10 }, ['1', '2'])).message).toMatch(/is 110; .*integers/);
    expect(error(() => checkSplit({}, ['1'], 'traffic_split', { allowEmpty: false })).message).toMatch(/adds up to 0/);
  });
});

describe('deploySplit (DeployModelRequest.traffic_split)', () => {
  it('gives the first model 100% when no split is given', () => {
    expect(deploySplit({}, [], '5', {})).toEqual({ '5': 100 });
  });

  it('leaves the split alone when none is given and models are deployed (the new model gets 0)', () => {
    expect(deploySplit({ '1': 100 }, ['1'], '5', {})).toEqual({ '1': 100 });
  });

  it('replaces the split with a full one, "0" naming the new model', () => {
    expect(deploySplit({ '1': 100 }, ['1'], '5', { '1': 60, '0': 40 })).toEqual({ '1': 60, '5': 40 });
    expect(deploySplit({ '1': 50, '2': 50 }, ['1', '2'], '5', { '0': 100, '1': 0, '2': 0 })).toEqual({
      '1': 0,
      '2': 0,
      '5': 100,
    });
  });

  it('rescales the others when only {"0": p} is given (emulator convenience)', () => {
    // [A:100] deploy B with {"0": 20} -> A 80, B 20
    expect(deploySplit({ '1': 100 }, ['1'], '2', { '0': 20 })).toEqual({ '1': 80, '2': 20 });
    // [A:50, B:50] deploy C at 25 -> A 37.5 -> 38 (tie: equal weights -> smaller ID), B 37, C 25
    expect(deploySplit({ '1': 50, '2': 50 }, ['1', '2'], '3', { '0': 25 })).toEqual({ '1': 38, '2': 37, '3': 25 });
    // [A:70, B:30] deploy C at 10 -> 63, 27, 10 (exact)
    expect(deploySplit({ '1': 70, '2': 30 }, ['1', '2'], '3', { '0': 10 })).toEqual({ '1': 63, '2': 27, '3': 10 });
    // [A:60, B:25, C:15] deploy D at 10 -> 54, 22.5, 13.5 -> 54, 23, 13 (tie .5 -> larger weight B), D 10
    expect(deploySplit({ '1': 60, '2': 25, '3': 15 }, ['1', '2', '3'], '4', { '0': 10 })).toEqual({
      '1': 54,
      '2': 23,
      '3': 13,
      '4': 10,
    });
    // {"0": 0}: deployed as a shadow, the others keep their split
    expect(deploySplit({ '1': 70, '2': 30 }, ['1', '2'], '3', { '0': 0 })).toEqual({ '1': 70, '2': 30, '3': 0 });
    // {"0": 100}: everything moves to the new model
    expect(deploySplit({ '1': 70, '2': 30 }, ['1', '2'], '3', { '0': 100 })).toEqual({ '1': 0, '2': 0, '3': 100 });
  });

  it('refuses {"0": p < 100} when there is nothing to rescale', () => {
    const first = error(() => deploySplit({}, [], '1', { '0': 40 }));
    expect(first.code).toBe(INVALID_ARGUMENT);
    expect(first.message).toMatch(/adds up to 40, not 100: this is the endpoint's first model/);
    const idle = error(() => deploySplit({}, ['1'], '2', { '0': 40 }));
    expect(idle.message).toMatch(/carry no traffic to rescale/);
  });

  it('rejects partial splits, unknown keys and the new model under its own ID', () => {
    expect(error(() => deploySplit({ '1': 100 }, ['1'], '2', { '0': 20, '1': 70 })).message).toMatch(/adds up to 90/);
    expect(error(() => deploySplit({ '1': 100 }, ['1'], '2', { '0': 20, '7': 80 })).message).toMatch(
      /key "7" is not a deployed model.*use "0" for the model being deployed/,
    );
    expect(error(() => deploySplit({ '1': 100 }, ['1'], '2', { '2': 20, '1': 80 })).message).toMatch(/key "2"/);
  });
});

describe('undeploySplit (UndeployModelRequest.traffic_split)', () => {
  it('rescales the remaining models when the undeployed one carried traffic', () => {
    // [A:50, B:30, C:20] undeploy C -> 62.5 / 37.5 -> A 63, B 37
    expect(undeploySplit({ '1': 50, '2': 30, '3': 20 }, ['1', '2', '3'], '3', {})).toEqual({ '1': 63, '2': 37 });
    // [A:80, B:20] undeploy A -> B 100
    expect(undeploySplit({ '1': 80, '2': 20 }, ['1', '2'], '1', {})).toEqual({ '2': 100 });
    // [A:34, B:33, C:33] undeploy A -> 50 / 50
    expect(undeploySplit({ '1': 34, '2': 33, '3': 33 }, ['1', '2', '3'], '1', {})).toEqual({ '2': 50, '3': 50 });
    // [A:10, B:45, C:45] undeploy A -> 50 / 50
    expect(undeploySplit({ '1': 10, '2': 45, '3': 45 }, ['1', '2', '3'], '1', {})).toEqual({ '2': 50, '3': 50 });
    // [A:40, B:35, C:25] undeploy B -> 61.54 / 38.46 -> 62, 38
    expect(undeploySplit({ '1': 40, '2': 35, '3': 25 }, ['1', '2', '3'], '2', {})).toEqual({ '1': 62, '3': 38 });
  });

  it('keeps the split when the undeployed model carried no traffic', () => {
    expect(undeploySplit({ '1': 100, '2': 0 }, ['1', '2'], '2', {})).toEqual({ '1': 100 });
    expect(undeploySplit({ '1': 100 }, ['1', '2'], '2', {})).toEqual({ '1': 100 });
  });

  it('empties the split when the last model is undeployed', () => {
    expect(undeploySplit({ '1': 100 }, ['1'], '1', {})).toEqual({});
    expect(undeploySplit({ '1': 100 }, ['1'], '1', { '1': 100 })).toEqual({});
  });

  it('takes a new split that unassigns the undeployed model', () => {
    expect(undeploySplit({ '1': 50, '2': 30, '3': 20 }, ['1', '2', '3'], '3', { '1': 10, '2': 90 })).toEqual({
      '1': 10,
      '2': 90,
    });
    expect(undeploySplit({ '1': 50, '2': 50 }, ['1', '2'], '2', { '1': 100, '2': 0 })).toEqual({ '1': 100 });
  });

  it('refuses a new split that still routes to the undeployed model, or does not sum to 100', () => {
    const routed = error(() => undeploySplit({ '1': 50, '2': 50 }, ['1', '2'], '2', { '1': 50, '2': 50 }));
    expect(routed.code).toBe(INVALID_ARGUMENT);
    expect(routed.message).toMatch(/assigns 50% to deployed model 2, which is being undeployed/);
    expect(error(() => undeploySplit({ '1': 50, '2': 50 }, ['1', '2'], '2', { '1': 90 })).message).toMatch(
      /adds up to 90/,
    );
  });

  it('refuses to move traffic to models that carry none without a split', () => {
    const err = error(() => undeploySplit({ '1': 100, '2': 0 }, ['1', '2'], '1', {}));
    expect(err.code).toBe(FAILED_PRECONDITION);
    expect(err.message).toMatch(/carries 100% of the traffic.*pass traffic_split/);
  });
});

describe('routing', () => {
  it('picks models by consecutive intervals in ID order', () => {
    const split = { '20': 20, '10': 80 };
    expect(pickDeployedModel(split, 0)).toBe('10');
    expect(pickDeployedModel(split, 0.7999)).toBe('10');
    expect(pickDeployedModel(split, 0.8)).toBe('20');
    expect(pickDeployedModel(split, 0.9999)).toBe('20');
    expect(pickDeployedModel({ '1': 0, '2': 100 }, 0)).toBe('2');
    expect(pickDeployedModel({}, 0.5)).toBeUndefined();
    expect(pickDeployedModel({ '1': 0 }, 0.5)).toBeUndefined();
  });

  it('draws reproducibly per endpoint and request number', () => {
    const seed = routingSeed('projects/p/locations/l/endpoints/e');
    expect(routeDraw(seed, 1)).toBe(routeDraw(seed, 1));
    expect(routeDraw(seed, 1)).not.toBe(routeDraw(seed, 2));
    expect(routingSeed('projects/p/locations/l/endpoints/e')).not.toBe(
      routingSeed('projects/p/locations/l/endpoints/f'),
    );
  });

  it('draws uniformly: 10 equal bins over 20,000 draws pass a chi-square test', () => {
    const seed = routingSeed('projects/p/locations/l/endpoints/uniform');
    const bins = new Array(10).fill(0);
    const n = 20_000;
    let [lo, hi] = [1, 0];
    for (let i = 1; i <= n; i++) {
      const u = routeDraw(seed, i);
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      bins[Math.floor(u * 10)]++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const chi2 = bins.reduce((s, o) => s + (o - n / 10) ** 2 / (n / 10), 0);
    // Critical value of chi-square with 9 degrees of freedom at alpha = 0.01.
    expect(chi2).toBeLessThan(21.666);
  });
});
