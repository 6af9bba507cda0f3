// Runs one tuning job's training off the gRPC thread. Receives the dataset texts and options,
// posts one message per epoch, then the artifact (or an error).
import { parentPort, workerData } from 'node:worker_threads';
import { loadPredictor, type RouterArtifact, type TrainOptions, train } from '../runtime/index.js';
import { parseDataset } from './tuning_data.js';

export interface WorkerInput {
  trainText: string;
  validationText: string | null;
  options: Omit<TrainOptions, 'teacher' | 'reference'>;
  teacher: RouterArtifact | null;
}

export type WorkerMessage =
  | { type: 'epoch'; metrics: import('../runtime/index.js').EpochMetrics; step: number }
  | {
      type: 'done';
      artifact: RouterArtifact;
      bestEpoch: number;
      stoppedEarly: boolean;
      stats: { examples: number; characters: number; malformed: number; steps: number };
    }
  | { type: 'error'; code: number; message: string };

const input = workerData as WorkerInput;
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

try {
  const train_ = parseDataset(input.trainText);
  const validation = input.validationText ? parseDataset(input.validationText) : null;
  const rlhf = input.options.method === 'rlhf';
  const usable = rlhf ? train_.pairs.length : train_.examples.length;
  if (usable === 0) {
    const want = rlhf ? 'preference pairs {"input","chosen","rejected"}' : 'examples';
    post({
      type: 'error',
      code: 3,
      message: `the training dataset has no ${want} (${train_.malformed} malformed lines${train_.firstError ? `; first: ${train_.firstError}` : ''})`,
    });
  } else {
    const teacher = input.teacher ? loadPredictor(input.teacher) : null;
    // rlhf: the preference pairs drive DPO; the chosen completions also give the supervised
    // reference policy and the accuracy figures.
    const examples = rlhf ? train_.pairs.map((p) => ({ input: p.input, output: p.chosen })) : train_.examples;
    const stepsPerEpoch = Math.ceil(examples.length / input.options.batchSize);
    const result = train(
      { train: examples, validation: validation?.examples ?? [], pairs: train_.pairs },
      { ...input.options, ...(teacher ? { teacher: (x: string) => teacher.predict(x).distribution } : {}) },
      { onEpoch: (metrics) => post({ type: 'epoch', metrics, step: metrics.epoch * stepsPerEpoch }) },
    );
    post({
      type: 'done',
      artifact: result.artifact,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      stats: {
        examples: usable,
        characters: train_.characters,
        malformed: train_.malformed,
        steps: stepsPerEpoch * result.epochs.length,
      },
    });
  }
} catch (err) {
  post({ type: 'error', code: 3, message: err instanceof Error ? err.message : String(err) });
}
