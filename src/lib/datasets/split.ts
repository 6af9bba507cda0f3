// The seeded train/validation split: a prompt's side depends only on its hash and the seed.

/** murmur3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The split: true when the prompt whose hash64 is (p1, p2) goes to validation. Depends only on the
 * prompt and the seed, so it is streaming, stable across runs and input order, and every example of
 * one prompt lands on the same side (validation measures unseen prompts, not memorised ones).
 */
export function isValidation(p1: number, p2: number, seedMix: number, fraction: number): boolean {
  if (fraction <= 0) return false;
  const u = fmix32(p1 ^ seedMix ^ Math.imul(p2, 0x27d4eb2d)) / 4294967296;
  return u < fraction;
}

export const seedMix = (seed: number) => fmix32((seed | 0) ^ 0x9e3779b9 ^ Math.floor(seed / 4294967296));
