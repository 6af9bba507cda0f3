// Label vocabularies and the cross-entropy objective (supervised, peft, and rlhf's reference fit).
import { featurize, type SparseVector } from './features.js';
import type { Evaluation, StepResult } from './loop.js';
import type { Gradients, Network } from './network.js';
import type { Example } from './types.js';

/**
 * At most this many softmax classes: the most frequent completions. Rarer completions of
 * open-ended data are still answered through the nearest-neighbour index.
 */
export const MAX_LABELS = 512;
const MIN_P = 1e-12;

/** Distinct outputs, most frequent first (first appearance breaks ties), capped at MAX_LABELS. */
export function labelVocabulary(outputs: string[]): string[] {
  const counts = new Map<string, { n: number; first: number }>();
  outputs.forEach((o, i) => {
    const c = counts.get(o);
    if (c) c.n++;
    else counts.set(o, { n: 1, first: i });
  });
  return [...counts]
    .sort((a, b) => b[1].n - a[1].n || a[1].first - b[1].first)
    .slice(0, MAX_LABELS)
    .map(([o]) => o);
}

export interface LabelledItem {
  x: SparseVector;
  /** Label id, -1 when the output is not a softmax class. */
  y: number;
}

export function labelledItems(examples: Example[], labels: string[]): LabelledItem[] {
  const ids = new Map(labels.map((l, i) => [l, i]));
  return examples.map((e) => ({ x: featurize(e.input), y: ids.get(e.output) ?? -1 }));
}

export function crossEntropyStep(): (net: Network, grads: Gradients, item: LabelledItem) => StepResult {
  let d = new Float64Array(0);
  return (net, grads, item) => {
    net.forward(item.x);
    if (d.length !== net.labels) d = new Float64Array(net.labels);
    const p = net.probs;
    for (let l = 0; l < net.labels; l++) d[l] = p[l]!;
    d[item.y]! -= 1;
    grads.backward(net, item.x, d);
    return { loss: -Math.log(Math.max(p[item.y]!, MIN_P)), correct: net.argmax() === item.y };
  };
}

/** Mean cross-entropy over items with a known label; accuracy over all items (unknown = wrong). */
export function evaluateCrossEntropy(net: Network, items: LabelledItem[]): Evaluation {
  let loss = 0;
  let scored = 0;
  let correct = 0;
  for (const it of items) {
    net.forward(it.x);
    if (it.y < 0) continue;
    loss -= Math.log(Math.max(net.probs[it.y]!, MIN_P));
    scored++;
    if (net.argmax() === it.y) correct++;
  }
  return { loss: scored ? loss / scored : null, accuracy: items.length ? correct / items.length : 0 };
}
