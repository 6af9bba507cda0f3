// Traffic split rules (src/emulator/traffic.ts) as worked examples: deploy and undeploy splits
// refused where Vertex refuses them (each rule quoting endpoint_service.proto), validation, and the
// seeded per-request routing.
import { describe, expect, it } from 'vitest';
import {
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

  // DeployModelRequest.traffic_split: "The traffic percentage values must add up to 100."
  it('refuses a lone {"0": p} with p < 100: it does not add up to 100 (nothing is rescaled)', () => {
    for (const p of [0, 20, 99]) {
      const err = error(() => deploySplit({ '1': 100 }, ['1'], '2', { '0': p }));
      expect(err.code).toBe(INVALID_ARGUMENT);
      expect(err.message).toContain(
        `{"0": ${p}} adds up to ${p}, not 100: the traffic percentage values must add up to 100`,
      );
      expect(err.message).toContain('including the deployed models "1"');
    }
    const first = error(() => deploySplit({}, [], '1', { '0': 40 }));
    expect(first.code).toBe(INVALID_ARGUMENT);
    expect(first.message).toMatch(/adds up to 40, not 100: .*this is the endpoint's first model/);
    const idle = error(() => deploySplit({}, ['1'], '2', { '0': 40 }));
    expect(idle.message).toMatch(/adds up to 40, not 100/);
  });

  it('takes {"0": 100} alone: the models not listed receive no traffic', () => {
    // Endpoint.traffic_split: "If a DeployedModel's ID is not listed in this map, then it receives no traffic."
    expect(deploySplit({ '1': 70, '2': 30 }, ['1', '2'], '3', { '0': 100 })).toEqual({ '3': 100 });
    expect(deploySplit({}, [], '3', { '0': 100 })).toEqual({ '3': 100 });
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
  // "A DeployedModel will be successfully undeployed only if it doesn't have any traffic assigned to
  // it when this method executes, or if this field unassigns any traffic to it."
  it('refuses to undeploy a model that carries traffic without a split that unassigns it', () => {
    for (const [current, ids, removed] of [
      [{ '1': 50, '2': 30, '3': 20 }, ['1', '2', '3'], '3'],
      [{ '1': 80, '2': 20 }, ['1', '2'], '1'],
      [{ '1': 100, '2': 0 }, ['1', '2'], '1'],
      [{ '1': 1, '2': 99 }, ['1', '2'], '1'],
    ] as const) {
      const err = error(() => undeploySplit({ ...current }, [...ids], removed, {}));
      expect(err.code).toBe(FAILED_PRECONDITION);
      expect(err.message).toContain(
        `deployed model ${removed} has ${current[removed as keyof typeof current]}% of the endpoint's traffic assigned to it`,
      );
      expect(err.message).toContain('pass traffic_split for the models that stay');
    }
  });

  it('keeps the split when the undeployed model carried no traffic', () => {
    expect(undeploySplit({ '1': 100, '2': 0 }, ['1', '2'], '2', {})).toEqual({ '1': 100 });
    expect(undeploySplit({ '1': 100 }, ['1', '2'], '2', {})).toEqual({ '1': 100 });
    expect(undeploySplit({}, ['1', '2'], '2', {})).toEqual({});
  });

  it('empties the split when the last model is undeployed, with or without a split', () => {
    // "If last DeployedModel is being undeployed from the Endpoint, the [Endpoint.traffic_split]
    // will always end up empty when this call returns."
    expect(undeploySplit({ '1': 100 }, ['1'], '1', {})).toEqual({});
    expect(undeploySplit({ '1': 100 }, ['1'], '1', { '1': 100 })).toEqual({});
  });

  it('takes a new split that unassigns the undeployed model ("if this field unassigns any traffic to it")', () => {
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
