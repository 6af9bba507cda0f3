// Text -> hashed sparse features ("the hashing trick"). Two views of the same text:
// - model features: signed-hashed word unigrams + bigrams + character trigrams (weight 0.5) of the
//   NFKC-lowercased text, FEATURE_BUCKETS buckets, L2-normalised; the network's input;
// - nearest-neighbour terms: unsigned counts of word unigrams + bigrams only, the compact
//   per-example record kept in artifacts for the nearest-neighbour fallback (cosine similarity).
import { fmix32, fnv1a32 } from './hash.js';

export const FEATURE_BITS = 14;
export const FEATURE_BUCKETS = 1 << FEATURE_BITS;
const MASK = FEATURE_BUCKETS - 1;
export const CHAR_NGRAM = 3;
export const CHAR_WEIGHT = 0.5;

/** Sparse vector: strictly increasing bucket indices and their values. */
export interface SparseVector {
  index: Int32Array;
  value: Float32Array;
}

/** Counts of word unigrams and bigrams, as stored in the nearest-neighbour index. */
export interface TermCounts {
  index: Uint16Array;
  count: Uint8Array;
}

export function tokenize(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

// Namespaces keep a unigram "ab" from colliding on purpose with a bigram or a trigram.
const UNIGRAM = fnv1a32('w\u0001');
const BIGRAM = fnv1a32('b\u0001');
const TRIGRAM = fnv1a32('c\u0001');

// Scratch accumulator shared by calls (JS is single-threaded; each worker has its own module).
const acc = new Float64Array(FEATURE_BUCKETS);
const seen = new Uint8Array(FEATURE_BUCKETS);
const touched: number[] = [];

function add(h: number, weight: number, signed: boolean): void {
  const m = fmix32(h);
  const i = m & MASK;
  if (!seen[i]) {
    seen[i] = 1;
    touched.push(i);
  }
  acc[i]! += signed && m >>> 31 ? -weight : weight;
}

function forEachTerm(tokens: string[], signed: boolean): void {
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t]!;
    add(fnv1a32(tok, UNIGRAM), 1, signed);
    if (t > 0) add(fnv1a32(tok, fnv1a32(' ', fnv1a32(tokens[t - 1]!, BIGRAM))), 1, signed);
  }
}

function drain<T>(emit: (indices: number[]) => T): T {
  touched.sort((a, b) => a - b);
  const out = emit(touched);
  for (const i of touched) {
    acc[i] = 0;
    seen[i] = 0;
  }
  touched.length = 0;
  return out;
}

export function featurize(text: string): SparseVector {
  const tokens = tokenize(text);
  forEachTerm(tokens, true);
  for (const tok of tokens) {
    const padded = `^${tok}$`;
    for (let k = 0; k + CHAR_NGRAM <= padded.length; k++) {
      add(fnv1a32(padded.slice(k, k + CHAR_NGRAM), TRIGRAM), CHAR_WEIGHT, true);
    }
  }
  return drain((indices) => {
    let norm = 0;
    let nnz = 0;
    for (const i of indices) {
      const v = acc[i]!;
      if (v !== 0) {
        norm += v * v;
        nnz++;
      }
    }
    const index = new Int32Array(nnz);
    const value = new Float32Array(nnz);
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    let k = 0;
    for (const i of indices) {
      const v = acc[i]!;
      if (v === 0) continue; // signed collisions can cancel out
      index[k] = i;
      value[k] = v * inv;
      k++;
    }
    return { index, value };
  });
}

export function termCounts(text: string): TermCounts {
  forEachTerm(tokenize(text), false);
  return drain((indices) => {
    const index = new Uint16Array(indices.length);
    const count = new Uint8Array(indices.length);
    indices.forEach((i, k) => {
      index[k] = i;
      count[k] = Math.min(255, acc[i]!);
    });
    return { index, count };
  });
}
