// rlhf as Direct Preference Optimisation (Rafailov et al. 2023): with the policy's and the frozen
// reference's log-probabilities of the chosen (c) and rejected (r) completions,
//   loss = -log sigmoid(beta * ([log pi(c|x) - log pi(r|x)] - [log ref(c|x) - log ref(r|x)])).
// The reference, which is also the starting policy, is `reference` when given, otherwise a
// cross-entropy fit on the training examples plus every pair's chosen completion.
// DPO only constrains the two completions of each pair; on a router whose classes share every
// hidden unit it otherwise drags all inputs towards the chosen classes (we measured held-out
// accuracy falling from 0.81 to 0.2). So the training examples (the decisions that worked) stay in
// the objective as anchors with their cross-entropy (weight ANCHOR_WEIGHT), as in DPO + NLL
// regularisation (Pang et al. 2024); they do not count in the reported loss and accuracy.
// Without training examples (a reference and pairs only), the objective is plain DPO.
import { buildArtifact, networkFromArtifact } from './artifact.js';
import { featurize, type SparseVector, termCounts } from './features.js';
import { fitCrossEntropy, trainingRecord } from './fit.js';
import { type Evaluation, runLoop, type StepResult } from './loop.js';
import type { Gradients, Network } from './network.js';
import { boundEntries, decodeEntries, entriesFrom, isOpenEnded, type NnEntry } from './nn-index.js';
import { evaluateCrossEntropy, type LabelledItem, labelledItems, labelVocabulary, MAX_LABELS } from './objectives.js';
import { checkExamples, checkPairs, type Settings } from './options.js';
import { seededRng } from './prng.js';
import type { PreferencePair, RouterArtifact, TrainData, TrainHooks, TrainResult } from './types.js';

interface PairItem {
  x: SparseVector;
  c: number;
  r: number;
  /** log ref(c|x) - log ref(r|x). */
  refMargin: number;
}

const ANCHOR_WEIGHT = 1;

/** Fresh labels for completions the starting policy cannot express start this far below its lowest bias. */
const NEW_LABEL_OFFSET = 5;

function softplus(z: number): number {
  return z > 30 ? z : Math.log1p(Math.exp(z));
}

function pairItems(net: Network, pairs: PreferencePair[], labels: string[]): PairItem[] {
  const ids = new Map(labels.map((l, i) => [l, i]));
  const out: PairItem[] = [];
  for (const p of pairs) {
    const c = ids.get(p.chosen);
    const r = ids.get(p.rejected);
    if (c === undefined || r === undefined) continue; // beyond MAX_LABELS
    const x = featurize(p.input);
    net.forward(x);
    out.push({ x, c, r, refMargin: net.logProb(c) - net.logProb(r) });
  }
  return out;
}

function margins(net: Network, items: PairItem[]): { margin: number; chosenP: number } {
  let margin = 0;
  let chosenP = 0;
  for (const it of items) {
    net.forward(it.x);
    margin += net.logProb(it.c) - net.logProb(it.r);
    chosenP += net.probs[it.c]!;
  }
  return { margin: margin / items.length, chosenP: chosenP / items.length };
}

function termsKey(completion: string, input: string | NnEntry): string {
  const t = typeof input === 'string' ? termCounts(input) : input.terms;
  return `${completion}\u0000${Array.from(t.index).join(',')}:${Array.from(t.count).join(',')}`;
}

export function trainPreferences(
  data: TrainData,
  s: Settings,
  reference: RouterArtifact | undefined,
  hooks: TrainHooks,
): TrainResult {
  const pairs = checkPairs(data.pairs, 'pairs');
  if (pairs.length === 0)
    throw new Error('rlhf needs preference pairs: data.pairs = [{ input, chosen, rejected }, ...]');
  const validationPairs = checkPairs(data.validationPairs, 'validationPairs');
  const examples = checkExamples(data.train, 'train', true);
  const validation = checkExamples(data.validation, 'validation', true);

  let net: Network;
  let labels: string[];
  let nn: NnEntry[];
  let openEnded: boolean;
  const sft = [...examples, ...pairs.map((p) => ({ input: p.input, output: p.chosen }))];
  if (reference) {
    net = networkFromArtifact(reference);
    if (reference.base_model !== s.baseModel) {
      throw new Error(`the reference artifact is built on ${reference.base_model}, not on baseModel ${s.baseModel}`);
    }
    labels = [...reference.labels];
    nn = [...decodeEntries(reference), ...entriesFrom(sft)];
    openEnded = reference.nearest_neighbour.open_ended;
  } else {
    labels = labelVocabulary(sft.map((e) => e.output));
    const fit = fitCrossEntropy(sft, validation, labels, s, { shouldStop: hooks.shouldStop }, 'reference');
    net = fit.net;
    if (fit.loop.cancelled) {
      return {
        artifact: buildArtifact({
          net,
          method: 'rlhf',
          labels,
          nn: [],
          openEnded: false,
          training: trainingRecord(s, fit.loop, sft.length, validation.length),
        }),
        epochs: [],
        bestEpoch: 0,
        stoppedEarly: false,
        cancelled: true,
      };
    }
    nn = entriesFrom(sft);
    openEnded = isOpenEnded(sft.map((e) => e.output));
  }

  // Completions only the pairs mention (typically rejected ones) become classes too.
  const known = new Set(labels);
  const missing: string[] = [];
  for (const p of pairs) {
    for (const o of [p.chosen, p.rejected]) {
      if (!known.has(o) && labels.length + missing.length < MAX_LABELS) {
        known.add(o);
        missing.push(o);
      }
    }
  }
  let minBias = 0;
  for (const b of net.c) minBias = Math.min(minBias, b);
  net.addLabels(missing.length, minBias - NEW_LABEL_OFFSET);
  labels = [...labels, ...missing];

  const pairList = pairItems(net, pairs, labels);
  if (pairList.length === 0)
    throw new Error(`no preference pair fits the ${MAX_LABELS} output classes a router can hold`);
  const valItems = pairItems(net, validationPairs, labels);
  const valExamples = labelledItems(validation, labels);
  const before = margins(net, pairList);
  // An example that repeats a rejected completion for its input is not an anchor.
  const rejectedFor = new Set(pairs.map((p) => `${p.rejected}\u0000${p.input}`));
  const anchors = labelledItems(
    examples.filter((e) => !rejectedFor.has(`${e.output}\u0000${e.input}`)),
    labels,
  ).filter((it) => it.y >= 0);
  const items: (PairItem | LabelledItem)[] = [...pairList, ...anchors];
  const beta = s.beta;

  const d = new Float64Array(labels.length);
  const dpoLoss = (net: Network, it: PairItem): { loss: number; delta: number; margin: number } => {
    net.forward(it.x);
    const margin = net.logProb(it.c) - net.logProb(it.r);
    const delta = margin - it.refMargin;
    return { loss: softplus(-beta * delta), delta, margin };
  };
  const step = (net: Network, grads: Gradients, it: PairItem | LabelledItem): StepResult | null => {
    if ('y' in it) {
      net.forward(it.x);
      for (let l = 0; l < labels.length; l++) d[l] = ANCHOR_WEIGHT * net.probs[l]!;
      d[it.y]! -= ANCHOR_WEIGHT;
      grads.backward(net, it.x, d);
      return null;
    }
    const { loss, delta, margin } = dpoLoss(net, it);
    // dloss/dlogits = -beta * sigmoid(-beta * delta) * (onehot(c) - onehot(r)): softmax terms cancel.
    const g = -beta / (1 + Math.exp(beta * delta));
    d.fill(0);
    d[it.c] = g;
    d[it.r] = -g;
    grads.backward(net, it.x, d);
    return { loss, correct: margin > 0 };
  };
  let validate: ((net: Network) => Evaluation) | null = null;
  if (valItems.length) {
    validate = (n) => {
      let loss = 0;
      let right = 0;
      for (const it of valItems) {
        const r = dpoLoss(n, it);
        loss += r.loss;
        if (r.margin > 0) right++;
      }
      return { loss: loss / valItems.length, accuracy: right / valItems.length };
    };
  } else if (valExamples.length) {
    validate = (n) => evaluateCrossEntropy(n, valExamples);
  }

  const loop = runLoop({
    net,
    items,
    epochs: s.epochs,
    batchSize: s.batchSize,
    learningRate: s.learningRate,
    seed: s.seed,
    purpose: 'dpo',
    patience: s.patience,
    step,
    validate,
    afterEpoch: (n) => ({ preferenceMargin: margins(n, pairList).margin }),
    hooks,
  });
  const after = margins(net, pairList);

  // Neighbours must not answer a completion the preferences rejected for that very input.
  const rejected = new Set(pairs.map((p) => termsKey(p.rejected, p.input)));
  const kept = nn.filter((e) => !rejected.has(termsKey(e.completion, e)));
  const artifact = buildArtifact({
    net,
    method: 'rlhf',
    labels,
    nn: boundEntries(kept, seededRng(s.seed, 'nn')),
    openEnded,
    training: trainingRecord(s, loop, pairList.length, valItems.length || valExamples.length),
  });
  return {
    artifact,
    epochs: loop.epochs,
    bestEpoch: loop.bestEpoch,
    stoppedEarly: loop.stoppedEarly,
    cancelled: loop.cancelled,
    preference: {
      pairs: pairList.length,
      marginBefore: before.margin,
      marginAfter: after.margin,
      chosenProbabilityBefore: before.chosenP,
      chosenProbabilityAfter: after.chosenP,
    },
  };
}
