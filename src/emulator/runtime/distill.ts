// Distillation: the student matches the teacher's temperature-softened distribution over outputs
// (loss T^2 * KL(teacher_T || student_T), Hinton et al.) on the training inputs; train/validation
// accuracy is top-1 agreement with the teacher. Training examples' outputs are not used.
import { buildArtifact } from './artifact.js';
import { featurize, type SparseVector } from './features.js';
import { freshNetwork, trainingRecord } from './fit.js';
import { type Evaluation, runLoop, type StepResult } from './loop.js';
import type { Gradients, Network } from './network.js';
import { boundEntries, entriesFrom, isOpenEnded } from './nn-index.js';
import { MAX_LABELS } from './objectives.js';
import { checkExamples, type Settings } from './options.js';
import { seededRng } from './prng.js';
import type { Distribution, TrainData, TrainHooks, TrainResult } from './types.js';

interface SoftItem {
  x: SparseVector;
  /** Tempered teacher distribution over the student's labels. */
  q: Float64Array;
  /** Teacher's top label id. */
  top: number;
}

function checkDistribution(d: unknown, input: string): Map<string, number> {
  const where = `teacher(${JSON.stringify(input.slice(0, 60))})`;
  if (!Array.isArray(d)) throw new Error(`${where} must return an array of { output, p }`);
  const out = new Map<string, number>();
  let sum = 0;
  for (const e of d) {
    if (!e || typeof e.output !== 'string' || typeof e.p !== 'number' || !Number.isFinite(e.p) || e.p < 0) {
      throw new Error(`${where} returned an entry that is not { output: string, p: number >= 0 }`);
    }
    out.set(e.output, (out.get(e.output) ?? 0) + e.p);
    sum += e.p;
  }
  if (!(sum > 0)) throw new Error(`${where} returned no probability mass`);
  return out;
}

function topOf(dist: Map<string, number>): string {
  let best = '';
  let bestP = -1;
  for (const [o, p] of dist) {
    if (p > bestP) {
      best = o;
      bestP = p;
    }
  }
  return best;
}

export function trainDistillation(
  data: TrainData,
  s: Settings,
  teacher: (input: string) => Distribution,
  hooks: TrainHooks,
): TrainResult {
  const examples = checkExamples(data.train, 'train', false);
  if (examples.length === 0) throw new Error('the training set is empty: distillation needs training inputs');
  const validation = checkExamples(data.validation, 'validation', false);
  const cache = new Map<string, Map<string, number>>();
  const ask = (input: string): Map<string, number> => {
    let d = cache.get(input);
    if (!d) {
      d = checkDistribution(teacher(input), input);
      cache.set(input, d);
    }
    return d;
  };
  const trainDists = examples.map((e) => ask(e.input));
  const valDists = validation.map((e) => ask(e.input));

  // Student classes: the teacher's outputs on the training inputs, by total mass.
  const mass = new Map<string, number>();
  for (const d of trainDists) {
    let sum = 0;
    for (const p of d.values()) sum += p;
    for (const [o, p] of d) mass.set(o, (mass.get(o) ?? 0) + p / sum);
  }
  const labels = [...mass]
    .filter(([, m]) => m > 1e-9)
    .sort((a, b) => b[1] - a[1]) // stable: first appearance breaks ties
    .slice(0, MAX_LABELS)
    .map(([o]) => o);
  const ids = new Map(labels.map((l, i) => [l, i]));
  const T = s.temperature;
  const items = (inputs: { input: string }[], dists: Map<string, number>[]): SoftItem[] => {
    const out: SoftItem[] = [];
    inputs.forEach((e, i) => {
      const q = new Float64Array(labels.length);
      let sum = 0;
      for (const [o, p] of dists[i]!) {
        const id = ids.get(o);
        if (id === undefined || p === 0) continue;
        q[id] = p ** (1 / T);
        sum += q[id]!;
      }
      if (sum === 0) return; // all of the teacher's mass is on outputs the student cannot express
      for (let l = 0; l < q.length; l++) q[l]! /= sum;
      out.push({ x: featurize(e.input), q, top: ids.get(topOf(dists[i]!)) ?? -1 });
    });
    return out;
  };
  const trainItems = items(examples, trainDists);
  const valItems = items(validation, valDists);

  const d = new Float64Array(labels.length);
  const lossOf = (net: Network, it: SoftItem): number => {
    net.forward(it.x, T);
    let kl = 0;
    for (let l = 0; l < labels.length; l++) {
      const q = it.q[l]!;
      if (q > 0) kl += q * (Math.log(q) - Math.log(Math.max(net.probs[l]!, 1e-12)));
    }
    return T * T * kl;
  };
  const step = (net: Network, grads: Gradients, it: SoftItem): StepResult => {
    const loss = lossOf(net, it);
    for (let l = 0; l < labels.length; l++) d[l] = T * (net.probs[l]! - it.q[l]!);
    grads.backward(net, it.x, d);
    return { loss, correct: net.argmax() === it.top };
  };
  const validate = (net: Network): Evaluation => {
    let loss = 0;
    let agree = 0;
    for (const it of valItems) {
      loss += lossOf(net, it);
      if (net.argmax() === it.top) agree++;
    }
    return { loss: loss / valItems.length, accuracy: agree / valItems.length };
  };

  const net = freshNetwork(s, labels.length);
  const loop = runLoop({
    net,
    items: trainItems,
    epochs: s.epochs,
    batchSize: s.batchSize,
    learningRate: s.learningRate,
    seed: s.seed,
    purpose: 'epochs',
    patience: s.patience,
    step,
    validate: valItems.length ? validate : null,
    hooks,
  });
  // The neighbours answer what the teacher answered on the training inputs.
  const taught = examples.map((e, i) => ({ input: e.input, output: topOf(trainDists[i]!) }));
  const artifact = buildArtifact({
    net,
    method: 'distillation',
    labels,
    nn: boundEntries(entriesFrom(taught), seededRng(s.seed, 'nn')),
    openEnded: isOpenEnded(taught.map((t) => t.output)),
    training: trainingRecord(s, loop, trainItems.length, valItems.length),
  });
  return {
    artifact,
    epochs: loop.epochs,
    bestEpoch: loop.bestEpoch,
    stoppedEarly: loop.stoppedEarly,
    cancelled: loop.cancelled,
  };
}
