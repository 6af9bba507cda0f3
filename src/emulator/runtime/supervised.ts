// supervised (every weight trained from the base) and peft (a LoRA adapter on the frozen base):
// cross-entropy on the training examples' completions.
import { buildArtifact } from './artifact.js';
import { fitCrossEntropy, trainingRecord } from './fit.js';
import { boundEntries, entriesFrom, isOpenEnded } from './nn-index.js';
import { labelVocabulary } from './objectives.js';
import { checkExamples, type Settings } from './options.js';
import { seededRng } from './prng.js';
import type { TrainData, TrainHooks, TrainResult } from './types.js';

export function trainSupervised(data: TrainData, s: Settings, hooks: TrainHooks): TrainResult {
  const examples = checkExamples(data.train, 'train', true);
  if (examples.length === 0) {
    throw new Error(`the training set is empty: ${s.method} needs at least one { input, output } example`);
  }
  const validation = checkExamples(data.validation, 'validation', true);
  const outputs = examples.map((e) => e.output);
  const labels = labelVocabulary(outputs);
  const { net, loop } = fitCrossEntropy(examples, validation, labels, s, hooks, 'epochs');
  const artifact = buildArtifact({
    net,
    method: s.method,
    labels,
    nn: boundEntries(entriesFrom(examples), seededRng(s.seed, 'nn')),
    openEnded: isOpenEnded(outputs),
    training: trainingRecord(s, loop, examples.length, validation.length),
  });
  return {
    artifact,
    epochs: loop.epochs,
    bestEpoch: loop.bestEpoch,
    stoppedEarly: loop.stoppedEarly,
    cancelled: loop.cancelled,
  };
}
