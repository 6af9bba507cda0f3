// The local/text-router base models.
//
// Honesty note: a "base model" here is NOT a pretrained language model. Its frozen weights are a
// fixed random projection of the hashed n-gram features (FEATURE_BUCKETS -> hidden tanh units),
// generated deterministically from the model's name with a seeded PRNG. That is what lets a LoRA
// adapter reference its base by name and be applied to the very same weights later without storing
// them. Whatever the router knows, it learned from the tuning data.
import { FEATURE_BUCKETS } from './features.js';
import { Rng } from './prng.js';

export interface BaseModel {
  id: string;
  description: string;
  /** Hidden units; a multiple of 4 (the network's hot loops are unrolled by 4). */
  hidden: number;
}

export const BASE_MODELS: readonly BaseModel[] = Object.freeze([
  {
    id: 'local/text-router',
    description:
      'Hashed word/char n-gram features (16,384 buckets) -> 64 tanh units (a fixed random projection, not a pretrained LM) -> softmax over the completions seen in training, with nearest-neighbour fallback. Runs on the CPU in the emulator.',
    hidden: 64,
  },
  {
    id: 'local/text-router-large',
    description: 'As local/text-router with 128 hidden units: more capacity, twice the full-weights artifact size.',
    hidden: 128,
  },
]);

export function isLocalBaseModel(id: string): boolean {
  return BASE_MODELS.some((m) => m.id === id);
}

export function baseModel(id: string): BaseModel {
  const found = BASE_MODELS.find((m) => m.id === id);
  if (!found) {
    throw new Error(
      `Unknown base model "${id}" for the local runtime; available: ${BASE_MODELS.map((m) => m.id).join(', ')}. ` +
        'Other models (Gemini, custom containers) cannot run in the emulator: use vertex mode.',
    );
  }
  return found;
}

/** Standard deviation of the base projection; inputs are L2-normalised so pre-activations are ~N(0, 1). */
const BASE_SCALE = 1;
const cache = new Map<string, Float32Array>();

/**
 * The frozen hidden-layer weights of a base model, column-major (feature j's H weights are
 * contiguous at [j*H, (j+1)*H)), uniform with standard deviation BASE_SCALE. Cached and shared:
 * callers must not modify the returned array. The base hidden bias is zero.
 */
export function baseHiddenWeights(id: string): Float32Array {
  const hit = cache.get(id);
  if (hit) return hit;
  const { hidden } = baseModel(id);
  const rng = new Rng(`base:${id}`);
  const a = BASE_SCALE * Math.sqrt(3);
  const w = new Float32Array(hidden * FEATURE_BUCKETS);
  for (let i = 0; i < w.length; i++) w[i] = rng.symmetric(a);
  cache.set(id, w);
  return w;
}
