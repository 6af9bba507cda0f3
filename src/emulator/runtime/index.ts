// The emulator's local runtime: the `local/text-router` model family, trained and served on the CPU.
export { artifactBytes, checkArtifact } from './artifact.js';
export { BASE_MODELS, type BaseModel, isLocalBaseModel } from './base-models.js';
export { MAX_NN_EXAMPLES } from './nn-index.js';
export { MAX_LABELS } from './objectives.js';
export { DEFAULT_ADAPTER_RANK, DEFAULT_BETA, DEFAULT_PATIENCE, DEFAULT_TEMPERATURE, MAX_RANK } from './options.js';
export { type EvaluationReport, evaluate, loadPredictor, teacherFrom } from './predictor.js';
export { train } from './train.js';
export {
  ARTIFACT_FAMILY,
  ARTIFACT_FORMAT,
  type Distribution,
  type EpochMetrics,
  type Example,
  type Prediction,
  type Predictor,
  type PreferencePair,
  type PreferenceSummary,
  type RouterArtifact,
  type TrainData,
  type TrainHooks,
  type TrainOptions,
  type TrainResult,
  TUNING_METHODS,
  type TuningMethod,
} from './types.js';
