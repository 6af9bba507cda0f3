// The local/text-router runtime, trained for real on a synthetic routing dataset (routing-data.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  artifactBytes,
  BASE_MODELS,
  evaluate,
  isLocalBaseModel,
  loadPredictor,
  type RouterArtifact,
  type TrainResult,
  train,
} from '../../src/emulator/runtime/index.js';
import { majorityBaseline, opts, type RoutingData, routingData } from './routing-data.js';

let data: RoutingData;
let supervised: TrainResult;
let peft: TrainResult;

beforeAll(() => {
  data = routingData(7);
  supervised = train({ train: data.train, validation: data.validation }, opts());
  peft = train({ train: data.train, validation: data.validation }, opts({ method: 'peft', adapterRank: 8 }));
});

describe('base models', () => {
  it('lists local/text-router (64 hidden) and local/text-router-large (128 hidden)', () => {
    expect(BASE_MODELS.map((m) => [m.id, m.hidden])).toEqual([
      ['local/text-router', 64],
      ['local/text-router-large', 128],
    ]);
    expect(isLocalBaseModel('local/text-router-large')).toBe(true);
    expect(isLocalBaseModel('gemini-2.0-flash-001')).toBe(false);
  });
});

describe('supervised', () => {
  it('beats the majority-class baseline on held-out phrasings: accuracy >= 0.85 vs baseline <= 0.45', () => {
    const baseline = majorityBaseline(data.train, data.heldOut);
    const report = evaluate(supervised.artifact, data.heldOut);
    console.log(
      `supervised held-out accuracy ${report.accuracy.toFixed(3)} vs majority baseline (${baseline.label}) ${baseline.accuracy.toFixed(3)}`,
    );
    expect(baseline.accuracy).toBeGreaterThan(0.25);
    expect(baseline.accuracy).toBeLessThanOrEqual(0.45);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(report.accuracy - baseline.accuracy).toBeGreaterThanOrEqual(0.4);
  });

  it('reports real per-epoch metrics: losses fall, accuracies in [0, 1], examples/s > 0', () => {
    const [first, last] = [supervised.epochs[0]!, supervised.epochs.at(-1)!];
    expect(supervised.epochs.map((e) => e.epoch)).toEqual(supervised.epochs.map((_, i) => i + 1));
    expect(last.trainLoss).toBeLessThan(first.trainLoss);
    expect(last.validationLoss!).toBeLessThan(1.386); // ln 4: better than a uniform guess
    for (const e of supervised.epochs) {
      expect(e.trainAccuracy).toBeGreaterThanOrEqual(0);
      expect(e.trainAccuracy).toBeLessThanOrEqual(1);
      expect(e.validationAccuracy).not.toBeNull();
      expect(e.examplesPerSecond).toBeGreaterThan(0);
    }
    const eps = supervised.epochs.map((e) => e.examplesPerSecond);
    console.log(`supervised training examples/s per epoch: ${eps.map((x) => Math.round(x)).join(', ')}`);
  });

  it('reports null validation metrics without a validation split, and never stops early', () => {
    const r = train({ train: data.train.slice(0, 200) }, opts({ epochs: 3 }));
    expect(r.epochs).toHaveLength(3);
    expect(r.epochs.every((e) => e.validationLoss === null && e.validationAccuracy === null)).toBe(true);
    expect(r.bestEpoch).toBe(3);
    expect(r.stoppedEarly).toBe(false);
  });

  it('describes itself: format, family, base model, method, labels, sizes', () => {
    const a = supervised.artifact;
    expect(a).toMatchObject({
      format: 'vertex-mcp/text-router@1',
      family: 'local/text-router',
      base_model: 'local/text-router',
      method: 'supervised',
      parameterization: 'full',
      sizes: { feature_buckets: 16384, hidden: 64, labels: 4, adapter_rank: null },
    });
    expect([...a.labels].sort()).toEqual(['coder', 'math_agent', 'sql_agent', 'writer']);
    expect(a.labels[0]).toBe('coder'); // most frequent first
    expect(a.sizes.nn_examples).toBeGreaterThan(0);
    expect(a.sizes.nn_examples).toBeLessThanOrEqual(5000);
  });
});

describe('peft (LoRA adapter)', () => {
  it('stores only the adapter: < 1/10 of the supervised artifact (about 1/27 here), referencing the base by name', () => {
    const [full, lora] = [artifactBytes(supervised.artifact), artifactBytes(peft.artifact)];
    console.log(`artifact bytes: supervised ${full}, peft rank 8 ${lora} (ratio ${(lora / full).toFixed(3)})`);
    expect(lora / full).toBeLessThan(0.1);
    expect(peft.artifact.weights.hidden).toBeUndefined();
    expect(peft.artifact).toMatchObject({ method: 'peft', parameterization: 'lora', base_model: 'local/text-router' });
    expect(peft.artifact.sizes.adapter_rank).toBe(8);
  });

  it('still beats the baseline: held-out accuracy >= 0.85', () => {
    const report = evaluate(peft.artifact, data.heldOut);
    console.log(`peft held-out accuracy ${report.accuracy.toFixed(3)}`);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.85);
  });

  it('rank changes the adapter size (rank 2 < rank 16)', () => {
    const small = { train: data.train.slice(0, 300) };
    const r2 = train(small, opts({ method: 'peft', adapterRank: 2, epochs: 2 }));
    const r16 = train(small, opts({ method: 'peft', adapterRank: 16, epochs: 2 }));
    expect(r2.artifact.sizes.stored_parameters).toBeLessThan(r16.artifact.sizes.stored_parameters);
  });
});

describe('determinism', () => {
  const small = () => ({ train: data.train.slice(0, 400), validation: data.validation.slice(0, 50) });
  it('same data + seed => identical serialized artifact; another seed => a different one (supervised and peft)', () => {
    for (const method of ['supervised', 'peft'] as const) {
      const a = JSON.stringify(train(small(), opts({ method, epochs: 3, seed: 11 })).artifact);
      const b = JSON.stringify(train(small(), opts({ method, epochs: 3, seed: 11 })).artifact);
      const c = JSON.stringify(train(small(), opts({ method, epochs: 3, seed: 12 })).artifact);
      expect(a === b).toBe(true);
      expect(a === c).toBe(false);
    }
  });
});

describe('predictor', () => {
  it('gives identical predictions after a JSON.stringify/parse round trip', () => {
    for (const artifact of [supervised.artifact, peft.artifact]) {
      const copy = JSON.parse(JSON.stringify(artifact)) as RouterArtifact;
      const [p, q] = [loadPredictor(artifact), loadPredictor(copy)];
      const inputs = [...data.heldOut.map((e) => e.input), '', '???', 'completely unrelated words here'];
      for (const input of inputs) expect(q.predict(input)).toEqual(p.predict(input));
    }
  });

  it('answers a label with its confidence and a distribution that sums to 1 over 4 labels', () => {
    const p = loadPredictor(supervised.artifact);
    const out = p.predict('Can you help me with a sql query for monthly revenue?');
    expect(out).toMatchObject({ output: 'sql_agent', via: 'softmax' });
    expect(out.confidence).toBeGreaterThan(0.5);
    expect(out.distribution[0]).toEqual({ output: 'sql_agent', p: out.confidence });
    expect(out.distribution.reduce((s, d) => s + d.p, 0)).toBeCloseTo(1, 6);
  });

  it('refuses an artifact of another format with a clear message', () => {
    const bad = { ...supervised.artifact, format: 'other@9' } as unknown as RouterArtifact;
    expect(() => loadPredictor(bad)).toThrow(/format "other@9" is not supported/);
    const truncated = { ...supervised.artifact, weights: { ...supervised.artifact.weights, head: 'AAAA' } };
    expect(() => loadPredictor(truncated)).toThrow(/weights.head holds 3 bytes/);
  });
});
