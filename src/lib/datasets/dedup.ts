// De-duplication: a 64-bit string hash and a set of such hashes in flat typed arrays, so memory per
// distinct kept example stays at 11-22 bytes whatever the archive size.

/** The last hash64() result: [low 32 bits, high 32 bits] (no allocation per call). */
export const H = new Uint32Array(2);

/**
 * A 64-bit non-cryptographic hash of a string's UTF-16 code units (cyrb53's two lanes, kept whole),
 * seeded by (s1, s2). The result is left in H. About 1 ns a character.
 */
export function hash64(s: string, s1 = 0, s2 = 0): void {
  let h1 = 0xdeadbeef ^ s1;
  let h2 = 0x41c6ce57 ^ s2;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  H[0] = h1;
  H[1] = h2;
}

/**
 * A set of 64-bit hashes in one open-addressing table (linear probing, two Uint32 a slot, grown x2
 * at 75% full). Memory: 8 bytes a slot at 37-75% load = 11-22 bytes per distinct kept example (16 MB
 * for a million; 24 MB for a moment while growing), against ~80 bytes a BigInt entry in a Set. Two
 * different examples share a hash with probability ~n^2/2^65 (3e-8 for a million examples): the only
 * way dedup can drop a unique example.
 */
export class HashSet64 {
  private keys: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialSlots = 1 << 14) {
    let cap = 16;
    while (cap < initialSlots) cap *= 2;
    this.keys = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  /** Adds (lo, hi); false when it was already there. */
  add(lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    if (lo === 0 && hi === 0) lo = 1; // (0, 0) marks an empty slot
    const keys = this.keys;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const k = i * 2;
      const a = keys[k]!;
      const b = keys[k + 1]!;
      if (a === 0 && b === 0) break;
      if (a === lo && b === hi) return false;
      i = (i + 1) & this.mask;
    }
    keys[i * 2] = lo;
    keys[i * 2 + 1] = hi;
    if (++this.size * 4 > (this.mask + 1) * 3) this.grow();
    return true;
  }

  get bytes(): number {
    return this.keys.byteLength;
  }

  private grow(): void {
    const old = this.keys;
    const cap = (this.mask + 1) * 2;
    this.keys = new Uint32Array(cap * 2);
    this.mask = cap - 1;
    this.size = 0;
    for (let k = 0; k < old.length; k += 2) {
      const a = old[k]!;
      const b = old[k + 1]!;
      if (a !== 0 || b !== 0) this.add(a, b);
    }
  }
}
