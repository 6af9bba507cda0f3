// train(): validates the options and dispatches on the tuning method.
import { trainDistillation } from './distill.js';
import { trainPreferences } from './dpo.js';
import { checkData, settingsFrom } from './options.js';
import { trainSupervised } from './supervised.js';
import type { TrainData, TrainHooks, TrainOptions, TrainResult } from './types.js';

export function train(data: TrainData, opts: TrainOptions, hooks: TrainHooks = {}): TrainResult {
  checkData(data);
  const s = settingsFrom(opts);
  switch (s.method) {
    case 'supervised':
    case 'peft':
      return trainSupervised(data, s, hooks);
    case 'distillation':
      return trainDistillation(data, s, opts.teacher!, hooks);
    case 'rlhf':
      return trainPreferences(data, s, opts.reference, hooks);
  }
}
