// Validation of train() inputs, with messages that say what to change.
import { baseModel } from './base-models.js';
import {
  type Example,
  type PreferencePair,
  type TrainData,
  type TrainOptions,
  TUNING_METHODS,
  type TuningMethod,
} from './types.js';

export const DEFAULT_ADAPTER_RANK = 8;
export const DEFAULT_PATIENCE = 3;
export const DEFAULT_BETA = 0.1;
export const DEFAULT_TEMPERATURE = 2;
export const MAX_RANK = 64;

export interface Settings {
  baseModel: string;
  method: TuningMethod;
  epochs: number;
  learningRate: number;
  batchSize: number;
  /** null: full-weights training. */
  rank: number | null;
  seed: number;
  patience: number | null;
  beta: number;
  temperature: number;
}

function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer in ${min}..${max} (got ${String(value)})`);
  }
  return value;
}

function positive(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new Error(`${name} must be a number in (0, ${max}] (got ${String(value)})`);
  }
  return value;
}

export function settingsFrom(opts: TrainOptions): Settings {
  if (!opts || typeof opts !== 'object') throw new Error('train options are required');
  if (!TUNING_METHODS.includes(opts.method)) {
    throw new Error(`method "${String(opts.method)}" is not one of ${TUNING_METHODS.join(', ')}`);
  }
  baseModel(opts.baseModel);
  if (opts.adapterRank !== undefined) integer(opts.adapterRank, 'adapterRank', 1, MAX_RANK);
  let rank: number | null = null;
  if (opts.method === 'peft') rank = opts.adapterRank ?? DEFAULT_ADAPTER_RANK;
  else if (opts.method !== 'supervised') rank = opts.adapterRank ?? null;
  let patience: number | null = DEFAULT_PATIENCE;
  if (opts.earlyStoppingPatience === null) patience = null;
  else if (opts.earlyStoppingPatience !== undefined) {
    patience = integer(opts.earlyStoppingPatience, 'earlyStoppingPatience (null disables early stopping)', 1, 1000);
  }
  if (typeof opts.seed !== 'number' || !Number.isSafeInteger(opts.seed)) {
    throw new Error(`seed must be an integer (got ${String(opts.seed)})`);
  }
  if (opts.method === 'distillation' && typeof opts.teacher !== 'function') {
    throw new Error('distillation needs a teacher: a function from input to a distribution over outputs');
  }
  return {
    baseModel: opts.baseModel,
    method: opts.method,
    epochs: integer(opts.epochs, 'epochs', 1, 1000),
    learningRate: positive(opts.learningRate, 'learningRate', 10),
    batchSize: integer(opts.batchSize, 'batchSize', 1, 65536),
    rank,
    seed: opts.seed,
    patience,
    beta: opts.beta === undefined ? DEFAULT_BETA : positive(opts.beta, 'beta', 1000),
    temperature: opts.temperature === undefined ? DEFAULT_TEMPERATURE : positive(opts.temperature, 'temperature', 100),
  };
}

function nonEmpty(value: unknown, where: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${where} must be a non-empty string`);
}

export function checkExamples(examples: unknown, name: string, outputs: boolean): Example[] {
  if (examples === undefined) return [];
  if (!Array.isArray(examples)) throw new Error(`${name} must be an array of { input, output }`);
  examples.forEach((e, i) => {
    if (!e || typeof e !== 'object') throw new Error(`${name}[${i}] must be an object { input, output }`);
    nonEmpty(e.input, `${name}[${i}].input`);
    if (outputs) nonEmpty(e.output, `${name}[${i}].output`);
  });
  return examples as Example[];
}

export function checkPairs(pairs: unknown, name: string): PreferencePair[] {
  if (pairs === undefined) return [];
  if (!Array.isArray(pairs)) throw new Error(`${name} must be an array of { input, chosen, rejected }`);
  pairs.forEach((p, i) => {
    if (!p || typeof p !== 'object') throw new Error(`${name}[${i}] must be an object { input, chosen, rejected }`);
    nonEmpty(p.input, `${name}[${i}].input`);
    nonEmpty(p.chosen, `${name}[${i}].chosen`);
    nonEmpty(p.rejected, `${name}[${i}].rejected`);
    if (p.chosen === p.rejected) throw new Error(`${name}[${i}]: chosen and rejected are the same completion`);
  });
  return pairs as PreferencePair[];
}

export function checkData(data: TrainData): void {
  if (!data || typeof data !== 'object') throw new Error('training data is required: { train, validation?, pairs? }');
}
