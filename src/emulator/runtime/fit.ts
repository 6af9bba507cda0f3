// Shared pieces of the training methods: a fresh network on the base, the cross-entropy fit, and
// the training record kept in artifacts.
import { type LoopResult, runLoop } from './loop.js';
import { Network } from './network.js';
import { crossEntropyStep, evaluateCrossEntropy, labelledItems } from './objectives.js';
import type { Settings } from './options.js';
import { seededRng } from './prng.js';
import type { Example, RouterArtifact, TrainHooks } from './types.js';

/** A new network on the settings' base: LoRA when a rank is set, full weights otherwise. */
export function freshNetwork(s: Settings, labels: number): Network {
  return Network.fresh(s.baseModel, s.rank === null ? 'full' : 'lora', labels, s.rank ?? 0, seededRng(s.seed, 'init'));
}

/** Cross-entropy fit of a fresh network on `examples` (outputs outside `labels` are skipped). */
export function fitCrossEntropy(
  examples: Example[],
  validation: Example[],
  labels: string[],
  s: Settings,
  hooks: TrainHooks,
  purpose: string,
): { net: Network; loop: LoopResult } {
  const net = freshNetwork(s, labels.length);
  const items = labelledItems(examples, labels).filter((it) => it.y >= 0);
  const val = labelledItems(validation, labels);
  const loop = runLoop({
    net,
    items,
    epochs: s.epochs,
    batchSize: s.batchSize,
    learningRate: s.learningRate,
    seed: s.seed,
    purpose,
    patience: s.patience,
    step: crossEntropyStep(),
    validate: val.length ? (n) => evaluateCrossEntropy(n, val) : null,
    hooks,
  });
  return { net, loop };
}

export function trainingRecord(
  s: Settings,
  loop: LoopResult,
  examples: number,
  validationExamples: number,
): RouterArtifact['training'] {
  const best = loop.epochs[loop.bestEpoch - 1];
  return {
    seed: s.seed,
    epochs_run: loop.epochs.length,
    best_epoch: loop.bestEpoch,
    examples,
    validation_examples: validationExamples,
    learning_rate: s.learningRate,
    batch_size: s.batchSize,
    ...(s.method === 'rlhf' ? { beta: s.beta } : {}),
    ...(s.method === 'distillation' ? { temperature: s.temperature } : {}),
    train_loss: best?.trainLoss ?? null,
    validation_loss: best?.validationLoss ?? null,
    validation_accuracy: best?.validationAccuracy ?? null,
  };
}
