// Distillation, preference optimisation (DPO), early stopping, the nearest-neighbour fallback and
// input validation of the local/text-router runtime.
import { describe, expect, it } from 'vitest';
import {
  evaluate,
  loadPredictor,
  type PreferencePair,
  type TrainOptions,
  teacherFrom,
  train,
} from '../../src/emulator/runtime/index.js';
import { mulberry32, opts, routingData } from './routing-data.js';

const data = routingData(11, { train: 1500, validation: 150, heldOut: 300 });

describe('distillation', () => {
  it('a small student agrees with its large teacher on >= 0.85 of held-out inputs', () => {
    const teacher = train(
      { train: data.train, validation: data.validation },
      opts({ baseModel: 'local/text-router-large' }),
    );
    const tp = loadPredictor(teacher.artifact);
    // The student only sees inputs: the targets are the teacher's distributions.
    const inputs = (xs: typeof data.train) => xs.map((e) => ({ input: e.input, output: '' }));
    const student = train(
      { train: inputs(data.train), validation: inputs(data.validation) },
      opts({ method: 'distillation', teacher: teacherFrom(tp), temperature: 2 }),
    );
    const sp = loadPredictor(student.artifact);
    const agree = data.heldOut.filter((e) => sp.predict(e.input).output === tp.predict(e.input).output).length;
    console.log(`distillation: student/teacher held-out agreement ${(agree / data.heldOut.length).toFixed(3)}`);
    expect(agree / data.heldOut.length).toBeGreaterThanOrEqual(0.85);
    expect(student.artifact).toMatchObject({ method: 'distillation', base_model: 'local/text-router' });
    expect(student.epochs.at(-1)!.validationAccuracy).toBeGreaterThanOrEqual(0.85); // agreement on validation
  });

  it('calls the teacher once per distinct input and can train a LoRA student', () => {
    const seen = new Map<string, number>();
    const teacher = (input: string) => {
      seen.set(input, (seen.get(input) ?? 0) + 1);
      return [
        { output: input.includes('sql') ? 'sql_agent' : 'coder', p: 0.9 },
        { output: 'writer', p: 0.1 },
      ];
    };
    const few = data.train.slice(0, 100);
    const r = train({ train: [...few, ...few] }, opts({ method: 'distillation', teacher, adapterRank: 4, epochs: 2 }));
    expect(Math.max(...seen.values())).toBe(1);
    expect(r.artifact.parameterization).toBe('lora');
    expect(new Set(r.artifact.labels)).toEqual(new Set(['sql_agent', 'coder', 'writer']));
  });
});

describe('rlhf (DPO)', () => {
  // A logged router sent half of the SQL tasks to the coder; those failures become preference
  // pairs (chosen sql_agent over rejected coder), the decisions that worked stay training examples.
  const rand = mulberry32(5);
  const logged = data.train.map((e) => (e.output === 'sql_agent' && rand() < 0.5 ? { ...e, output: 'coder' } : e));
  const pairs: PreferencePair[] = logged
    .filter((e, i) => e.output !== data.train[i]!.output)
    .map((e) => ({ input: e.input, chosen: 'sql_agent', rejected: 'coder' }));
  const worked = logged.filter((e, i) => e.output === data.train[i]!.output);

  it('raises the chosen-over-rejected margin and p(chosen) against a given reference (margin before < 0 < after)', () => {
    const reference = train({ train: logged }, opts()).artifact;
    const r = train({ train: worked, pairs }, opts({ method: 'rlhf', reference, beta: 0.5, epochs: 5 }));
    const pref = r.preference!;
    console.log(
      `DPO (${pref.pairs} pairs): margin ${pref.marginBefore.toFixed(2)} -> ${pref.marginAfter.toFixed(2)}, ` +
        `p(chosen) ${pref.chosenProbabilityBefore.toFixed(3)} -> ${pref.chosenProbabilityAfter.toFixed(3)}`,
    );
    expect(pref.pairs).toBe(pairs.length);
    expect(pref.marginBefore).toBeLessThan(0); // the reference prefers the coder on its failures
    expect(pref.marginAfter).toBeGreaterThan(pref.marginBefore);
    expect(pref.marginAfter).toBeGreaterThan(0);
    expect(pref.chosenProbabilityAfter).toBeGreaterThan(pref.chosenProbabilityBefore);
    expect(r.epochs.every((e) => typeof e.preferenceMargin === 'number')).toBe(true);
    // Measured independently through the predictors, on the pairs' inputs:
    const [before, after] = [loadPredictor(reference), loadPredictor(r.artifact)];
    const pChosen = (p: ReturnType<typeof loadPredictor>, input: string) =>
      p.predict(input).distribution.find((d) => d.output === 'sql_agent')?.p ?? 0;
    const mean = (p: ReturnType<typeof loadPredictor>) =>
      pairs.reduce((s, x) => s + pChosen(p, x.input), 0) / pairs.length;
    expect(mean(after)).toBeGreaterThan(mean(before));
    // ... and the router improves on held-out SQL tasks without collapsing elsewhere.
    const sql = data.heldOut.filter((e) => e.output === 'sql_agent');
    expect(evaluate(r.artifact, sql).accuracy).toBeGreaterThan(evaluate(reference, sql).accuracy);
    expect(evaluate(r.artifact, data.heldOut).accuracy).toBeGreaterThanOrEqual(0.85);
  });

  it('without a reference, fits one on the examples + chosen completions first (LoRA policy)', () => {
    const r = train(
      { train: worked.slice(0, 600), pairs: pairs.slice(0, 60) },
      opts({ method: 'rlhf', adapterRank: 4, epochs: 3 }),
    );
    expect(r.artifact).toMatchObject({ method: 'rlhf', parameterization: 'lora' });
    expect(r.preference!.marginAfter).toBeGreaterThan(r.preference!.marginBefore);
    expect(r.artifact.training.beta).toBe(0.1);
  });
});

describe('early stopping', () => {
  it('stops before max epochs (40) on a task that overfits (random labels) and restores the best epoch', () => {
    const rand = mulberry32(3);
    const noisy = (from: number, n: number) =>
      data.train
        .slice(from, from + n)
        .map((e) => ({ input: e.input, output: ['a', 'b', 'c', 'd'][Math.floor(rand() * 4)]! }));
    const validation = noisy(400, 150);
    const r = train({ train: noisy(0, 400), validation }, opts({ epochs: 40, earlyStoppingPatience: 2 }));
    const losses = r.epochs.map((e) => e.validationLoss!);
    expect(r.stoppedEarly).toBe(true);
    expect(r.epochs.length).toBeLessThan(40);
    expect(r.epochs.length).toBe(r.bestEpoch + 2); // patience 2
    expect(Math.min(...losses)).toBe(losses[r.bestEpoch - 1]);
    expect(r.artifact.training).toMatchObject({ best_epoch: r.bestEpoch, epochs_run: r.epochs.length });
    // The artifact holds the best epoch's weights, not the last epoch's:
    expect(evaluate(r.artifact, validation).loss).toBeCloseTo(losses[r.bestEpoch - 1]!, 5);
    expect(losses.at(-1)!).toBeGreaterThan(losses[r.bestEpoch - 1]!);
  });

  it('null patience disables it; shouldStop cancels between batches', () => {
    const small = { train: data.train.slice(0, 200), validation: data.validation.slice(0, 20) };
    const all = train(small, opts({ epochs: 4, earlyStoppingPatience: null }));
    expect(all.epochs).toHaveLength(4);
    let epochs = 0;
    const cancelled = train(small, opts({ epochs: 50 }), {
      onEpoch: () => {
        epochs++;
      },
      shouldStop: () => epochs >= 2,
    });
    expect(cancelled.cancelled).toBe(true);
    expect(cancelled.epochs).toHaveLength(2);
  });
});

describe('nearest-neighbour fallback', () => {
  const verbs = ['sum', 'product', 'maximum', 'minimum', 'mean', 'median'];
  const examples = Array.from({ length: 300 }, (_, i) => ({
    input: `Write a function number ${i} that computes the ${verbs[i % 6]} of list ${i * 7}`,
    output: `def f${i}(xs):\n    return ${verbs[i % 6]}(xs) + ${i}  # solution ${i}`,
  }));

  it('answers the exact completion of a near-duplicate training input when completions are all unique', () => {
    const r = train({ train: examples }, opts({ epochs: 3 }));
    expect(r.artifact.nearest_neighbour.open_ended).toBe(true);
    const p = loadPredictor(r.artifact);
    const queries: [string, number][] = [
      ['write a function number 42 that computes the sum of list 294!', 42], // case, punctuation, one word
      ['Please write a function number 137 that computes the median of list 959', 137],
      ['WRITE A FUNCTION NUMBER 250 THAT COMPUTES THE MEAN OF LIST 1750', 250],
    ];
    for (const [q, i] of queries) {
      const out = p.predict(q);
      expect(out.via).toBe('nearest_neighbour');
      expect(out.output).toBe(examples[i]!.output);
      expect(out.similarity!).toBeGreaterThan(0.7);
    }
    const copy = loadPredictor(JSON.parse(JSON.stringify(r.artifact)));
    expect(copy.predict(queries[0]![0])).toEqual(p.predict(queries[0]![0]));
  });

  it('keeps the index bounded at 5,000 examples', () => {
    const many = Array.from({ length: 6000 }, (_, i) => ({
      input: `ticket ${i} about item ${i * 3}`,
      output: `answer ${i}`,
    }));
    const r = train({ train: many }, opts({ epochs: 1, batchSize: 256 }));
    expect(r.artifact.sizes.nn_examples).toBe(5000);
    expect(r.artifact.labels.length).toBe(512); // softmax classes are capped; the index answers the rest
  });
});

describe('validation', () => {
  const some = { train: data.train.slice(0, 10) };
  it.each([
    [{ train: [] }, {}, /training set is empty/],
    [some, { adapterRank: 0, method: 'peft' }, /adapterRank must be an integer in 1\.\.64/],
    [some, { adapterRank: 65, method: 'peft' }, /adapterRank must be an integer in 1\.\.64 \(got 65\)/],
    [
      some,
      { baseModel: 'gemini-2.0-flash-001' },
      /Unknown base model "gemini-2.0-flash-001".*available: local\/text-router, local\/text-router-large.*vertex mode/,
    ],
    [some, { method: 'rlhf' }, /rlhf needs preference pairs/],
    [some, { method: 'distillation' }, /distillation needs a teacher/],
    [some, { method: 'magic' }, /method "magic" is not one of supervised, peft, distillation, rlhf/],
    [some, { epochs: 0 }, /epochs must be an integer in 1\.\.1000/],
    [some, { learningRate: -1 }, /learningRate must be a number in \(0, 10\]/],
    [some, { earlyStoppingPatience: 0 }, /earlyStoppingPatience \(null disables early stopping\)/],
    [{ train: [{ input: ' ', output: 'x' }] }, {}, /train\[0\]\.input must be a non-empty string/],
    [
      { train: some.train, pairs: [{ input: 'q', chosen: 'a', rejected: 'a' }] },
      { method: 'rlhf' },
      /pairs\[0\]: chosen and rejected are the same/,
    ],
  ])('rejects bad input %#', (d, over, message) => {
    expect(() => train(d as any, opts(over as Partial<TrainOptions>))).toThrow(message);
  });

  it('refuses a reference built on another base model', () => {
    const reference = train(some, opts({ epochs: 1 })).artifact;
    const pairs = [{ input: 'q', chosen: 'coder', rejected: 'writer' }];
    expect(() =>
      train({ train: [], pairs }, opts({ method: 'rlhf', reference, baseModel: 'local/text-router-large' })),
    ).toThrow(/reference artifact is built on local\/text-router, not on baseModel local\/text-router-large/);
  });
});
