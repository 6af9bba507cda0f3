// Public types of the local text-router runtime.

export type TuningMethod = 'supervised' | 'peft' | 'distillation' | 'rlhf';
export const TUNING_METHODS: readonly TuningMethod[] = ['supervised', 'peft', 'distillation', 'rlhf'];

export interface Example {
  input: string;
  output: string;
}

export interface PreferencePair {
  input: string;
  chosen: string;
  rejected: string;
}

/** Probabilities over outputs, largest first (may be truncated: sums to at most 1). */
export type Distribution = { output: string; p: number }[];

export interface TrainOptions {
  baseModel: string;
  method: TuningMethod;
  epochs: number;
  /** Adam step size; ~0.01-0.05 suits this network. */
  learningRate: number;
  batchSize: number;
  /** LoRA rank 1..64. peft: default 8. distillation/rlhf: given => the student is a LoRA adapter. Ignored by supervised. */
  adapterRank?: number;
  seed: number;
  /** Epochs without a better validation loss before stopping; default 3; null disables early stopping. */
  earlyStoppingPatience?: number | null;
  /** DPO temperature (rlhf); default 0.1. */
  beta?: number;
  /** Distillation temperature; default 2. */
  temperature?: number;
  /**
   * Distillation teacher: input -> distribution over outputs. Called exactly once per distinct
   * training/validation input before training starts (prefetch asynchronous teachers, e.g. an
   * endpoint, into a lookup).
   */
  teacher?: (input: string) => Distribution;
  /** rlhf: the starting and frozen reference policy. Without it: a supervised fit on train + chosen. */
  reference?: RouterArtifact;
}

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  validationLoss: number | null;
  trainAccuracy: number;
  validationAccuracy: number | null;
  examplesPerSecond: number;
  /** rlhf: mean over pairs of log p(chosen|x) - log p(rejected|x) after the epoch. */
  preferenceMargin?: number;
}

export interface PreferenceSummary {
  pairs: number;
  /** Mean log p(chosen) - log p(rejected) under the reference policy, and after training. */
  marginBefore: number;
  marginAfter: number;
  /** Mean p(chosen|x) before and after. */
  chosenProbabilityBefore: number;
  chosenProbabilityAfter: number;
}

export interface TrainResult {
  artifact: RouterArtifact;
  epochs: EpochMetrics[];
  /** 1-based epoch whose weights the artifact holds. */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** hooks.shouldStop() returned true: training ended before its epochs ran out. */
  cancelled: boolean;
  /** rlhf only. */
  preference?: PreferenceSummary;
}

export interface TrainHooks {
  onEpoch?(m: EpochMetrics): void;
  /** Polled between mini-batches; true cancels training (the result has cancelled: true). */
  shouldStop?(): boolean;
}

export interface TrainData {
  train: Example[];
  validation?: Example[];
  pairs?: PreferencePair[];
  /** rlhf: held-out pairs; when given, validation loss/accuracy are DPO loss / preference accuracy on them. */
  validationPairs?: PreferencePair[];
}

export interface Prediction {
  output: string;
  confidence: number;
  distribution: Distribution;
  via: 'softmax' | 'nearest_neighbour';
  /** nearest_neighbour: cosine similarity of the nearest training input. */
  similarity?: number;
}

export interface Predictor {
  /** The softmax classes (distinct training completions, most frequent first). */
  labels: string[];
  predict(input: string): Prediction;
}

export const ARTIFACT_FORMAT = 'vertex-mcp/text-router@1';
export const ARTIFACT_FAMILY = 'local/text-router';

/** A trained router: a plain JSON-serialisable object; Float32 tensors are base64 (little-endian). */
export interface RouterArtifact {
  format: typeof ARTIFACT_FORMAT;
  family: typeof ARTIFACT_FAMILY;
  base_model: string;
  method: TuningMethod;
  /** full: every weight is stored; lora: only the adapter + head, the base is regenerated from its name. */
  parameterization: 'full' | 'lora';
  labels: string[];
  sizes: {
    feature_buckets: number;
    hidden: number;
    labels: number;
    adapter_rank: number | null;
    /** Numbers stored in `weights` (LoRA B counts only its non-zero columns). */
    stored_parameters: number;
    nn_examples: number;
  };
  features: {
    hash: 'fnv1a32+fmix32';
    word_ngrams: [1, 2];
    char_ngrams: number;
    char_weight: number;
    normalisation: 'l2';
  };
  weights: {
    /** full: hidden x buckets, column-major. */
    hidden?: string;
    hidden_bias?: string;
    /** lora: A (hidden x rank, row-major); B's non-zero columns (u16 feature ids) and their values. */
    lora_a?: string;
    lora_b_columns?: string;
    lora_b_column_count?: number;
    lora_b?: string;
    /** labels x hidden, row-major. */
    head: string;
    head_bias: string;
  };
  nearest_neighbour: {
    /** Mostly-unique completions: answer with the nearest training input's completion. */
    open_ended: boolean;
    /** Classification: below this softmax confidence, fall back to a neighbour at least min_similarity close. */
    confidence_threshold: number;
    min_similarity: number;
    /** Completions of indexed examples that are not softmax labels (ids continue after labels). */
    extra_completions: string[];
    /** Per example: completion id (u16), term count (u16); then all term ids (u16) and counts (u8). */
    completion_ids: string;
    lengths: string;
    terms: string;
    counts: string;
    term_total: number;
  };
  training: {
    seed: number;
    epochs_run: number;
    best_epoch: number;
    examples: number;
    validation_examples: number;
    learning_rate: number;
    batch_size: number;
    beta?: number;
    temperature?: number;
    train_loss: number | null;
    validation_loss: number | null;
    validation_accuracy: number | null;
  };
}
