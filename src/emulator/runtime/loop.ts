// The epoch loop shared by every method: seeded shuffling, mini-batch Adam, per-epoch metrics,
// early stopping on validation loss with the best weights restored, cancellation between batches.
import { Adam, Gradients, type Network } from './network.js';
import { seededRng } from './prng.js';
import type { EpochMetrics, TrainHooks } from './types.js';

export interface StepResult {
  loss: number;
  correct: boolean;
}

export interface Evaluation {
  /** null when no validation item could be scored (e.g. every label unseen in training). */
  loss: number | null;
  accuracy: number;
}

export interface LoopConfig<T> {
  net: Network;
  items: T[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Random stream name, so phases of one run shuffle independently. */
  purpose: string;
  patience: number | null;
  /**
   * Forward + backward of one item into `grads`; returns its loss and whether it was right, or null
   * for an auxiliary item that trains but does not count in the reported loss and accuracy.
   */
  step(net: Network, grads: Gradients, item: T): StepResult | null;
  validate: ((net: Network) => Evaluation) | null;
  afterEpoch?(net: Network): Partial<EpochMetrics>;
  hooks: TrainHooks;
}

export interface LoopResult {
  epochs: EpochMetrics[];
  bestEpoch: number;
  stoppedEarly: boolean;
  cancelled: boolean;
}

export function runLoop<T>(cfg: LoopConfig<T>): LoopResult {
  const { net, items, batchSize, hooks } = cfg;
  const rng = seededRng(cfg.seed, cfg.purpose);
  const grads = new Gradients(net);
  const adam = new Adam(net, cfg.learningRate);
  const order = items.map((_, i) => i);
  const epochs: EpochMetrics[] = [];
  // Best validation loss so far, its epoch, and a copy of its weights.
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestAt = 0;
  let snapshot: Network | null = null;
  let stoppedEarly = false;
  let cancelled = false;

  for (let epoch = 1; epoch <= cfg.epochs && !cancelled; epoch++) {
    rng.shuffle(order);
    const started = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let counted = 0;
    for (let at = 0; at < order.length; at += batchSize) {
      if (hooks.shouldStop?.()) {
        cancelled = true;
        break;
      }
      const end = Math.min(order.length, at + batchSize);
      for (let i = at; i < end; i++) {
        const r = cfg.step(net, grads, items[order[i]!]!);
        if (!r) continue;
        counted++;
        lossSum += r.loss;
        if (r.correct) correct++;
      }
      seen += end - at;
      adam.step(net, grads, end - at);
    }
    if (cancelled) break;
    const seconds = (performance.now() - started) / 1000;
    const val = cfg.validate?.(net) ?? null;
    const m: EpochMetrics = {
      epoch,
      trainLoss: counted ? lossSum / counted : 0,
      validationLoss: val?.loss ?? null,
      trainAccuracy: counted ? correct / counted : 0,
      validationAccuracy: val ? val.accuracy : null,
      examplesPerSecond: seen / Math.max(seconds, 1e-6),
      ...cfg.afterEpoch?.(net),
    };
    epochs.push(m);
    hooks.onEpoch?.(m);
    if (m.validationLoss !== null && cfg.patience !== null) {
      if (m.validationLoss < bestLoss) {
        bestLoss = m.validationLoss;
        bestAt = epoch;
        if (snapshot) snapshot.restore(net);
        else snapshot = net.clone();
      } else if (epoch - bestAt >= cfg.patience) {
        stoppedEarly = epoch < cfg.epochs;
        break;
      }
    }
  }
  if (snapshot && bestAt !== epochs.length) net.restore(snapshot);
  return { epochs, bestEpoch: snapshot ? bestAt : epochs.length, stoppedEarly, cancelled };
}
