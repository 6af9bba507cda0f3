// Nearest-neighbour fallback: a compact, bounded index of training inputs.
// Each indexed example keeps its word unigram + bigram counts (u16 bucket, u8 count: 3 bytes per
// term) and a completion id. At most MAX_NN_EXAMPLES examples, deduplicated; beyond that a seeded
// sample. Queries are cosine similarity over the counts, through an inverted index built at load.
import { decodeU8, decodeU16, encodeU8, encodeU16 } from './codec.js';
import { FEATURE_BUCKETS, type TermCounts, termCounts } from './features.js';
import type { Rng } from './prng.js';
import type { Distribution, RouterArtifact } from './types.js';

export const MAX_NN_EXAMPLES = 5000;
/** Share of training examples whose completion occurs once above which the task is "open-ended". */
export const OPEN_ENDED_UNIQUE_SHARE = 0.5;
export const CONFIDENCE_THRESHOLD = 0.5;
export const MIN_SIMILARITY = 0.5;
const NEIGHBOURS = 5;
const SIMILARITY_TEMPERATURE = 0.1;

export interface NnEntry {
  terms: TermCounts;
  completion: string;
}

type IndexFields = Omit<RouterArtifact['nearest_neighbour'], 'open_ended' | 'confidence_threshold' | 'min_similarity'>;

export function isOpenEnded(outputs: string[]): boolean {
  if (outputs.length === 0) return false;
  const counts = new Map<string, number>();
  for (const o of outputs) counts.set(o, (counts.get(o) ?? 0) + 1);
  let unique = 0;
  for (const o of outputs) if (counts.get(o) === 1) unique++;
  return unique / outputs.length > OPEN_ENDED_UNIQUE_SHARE;
}

export function entriesFrom(examples: { input: string; output: string }[]): NnEntry[] {
  return examples.map((e) => ({ terms: termCounts(e.input), completion: e.output }));
}

/** Drops exact duplicates (same terms and completion) and bounds the count with a seeded sample. */
export function boundEntries(entries: NnEntry[], rng: Rng): NnEntry[] {
  const seen = new Set<string>();
  const unique: NnEntry[] = [];
  for (const e of entries) {
    if (e.terms.index.length === 0) continue;
    const key = `${e.completion}\u0000${Array.from(e.terms.index).join(',')}:${Array.from(e.terms.count).join(',')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(e);
  }
  if (unique.length <= MAX_NN_EXAMPLES) return unique;
  const keep = rng
    .shuffle(unique.map((_, i) => i))
    .slice(0, MAX_NN_EXAMPLES)
    .sort((a, b) => a - b);
  return keep.map((i) => unique[i]!);
}

export function encodeIndex(entries: NnEntry[], labels: string[]): IndexFields {
  const ids = new Map(labels.map((l, i) => [l, i]));
  const extra: string[] = [];
  const completionIds = new Uint16Array(entries.length);
  const lengths = new Uint16Array(entries.length);
  let total = 0;
  for (const e of entries) total += e.terms.index.length;
  const terms = new Uint16Array(total);
  const counts = new Uint8Array(total);
  let at = 0;
  entries.forEach((e, i) => {
    let id = ids.get(e.completion);
    if (id === undefined) {
      id = labels.length + extra.length;
      ids.set(e.completion, id);
      extra.push(e.completion);
    }
    completionIds[i] = id;
    lengths[i] = e.terms.index.length;
    terms.set(e.terms.index, at);
    counts.set(e.terms.count, at);
    at += e.terms.index.length;
  });
  return {
    extra_completions: extra,
    completion_ids: encodeU16(completionIds),
    lengths: encodeU16(lengths),
    terms: encodeU16(terms),
    counts: encodeU8(counts),
    term_total: total,
  };
}

export function decodeEntries(artifact: RouterArtifact): NnEntry[] {
  const nn = artifact.nearest_neighbour;
  const n = artifact.sizes.nn_examples;
  const completions = [...artifact.labels, ...nn.extra_completions];
  const ids = decodeU16(nn.completion_ids, n, 'nearest_neighbour.completion_ids');
  const lengths = decodeU16(nn.lengths, n, 'nearest_neighbour.lengths');
  const terms = decodeU16(nn.terms, nn.term_total, 'nearest_neighbour.terms');
  const counts = decodeU8(nn.counts, nn.term_total, 'nearest_neighbour.counts');
  const out: NnEntry[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const len = lengths[i]!;
    const completion = completions[ids[i]!];
    if (completion === undefined || at + len > nn.term_total) {
      throw new Error('artifact nearest_neighbour index is inconsistent');
    }
    out.push({
      terms: { index: terms.slice(at, at + len), count: counts.slice(at, at + len) },
      completion,
    });
    at += len;
  }
  return out;
}

export interface Neighbour {
  completion: string;
  similarity: number;
}

/** Inverted index (counting sort over buckets) for cosine queries. */
export class NearestNeighbourIndex {
  private readonly start = new Int32Array(FEATURE_BUCKETS + 1);
  private readonly docs: Int32Array;
  private readonly weights: Uint8Array;
  private readonly norms: Float64Array;
  private readonly completions: string[];
  private readonly scores: Float64Array;

  constructor(entries: NnEntry[]) {
    this.completions = entries.map((e) => e.completion);
    this.norms = new Float64Array(entries.length);
    this.scores = new Float64Array(entries.length);
    let total = 0;
    entries.forEach((e, d) => {
      let sq = 0;
      for (let k = 0; k < e.terms.index.length; k++) {
        this.start[e.terms.index[k]! + 1]!++;
        sq += e.terms.count[k]! * e.terms.count[k]!;
      }
      this.norms[d] = Math.sqrt(sq);
      total += e.terms.index.length;
    });
    for (let i = 0; i < FEATURE_BUCKETS; i++) this.start[i + 1]! += this.start[i]!;
    this.docs = new Int32Array(total);
    this.weights = new Uint8Array(total);
    const fill = this.start.slice(0, FEATURE_BUCKETS);
    entries.forEach((e, d) => {
      for (let k = 0; k < e.terms.index.length; k++) {
        const at = fill[e.terms.index[k]!]!++;
        this.docs[at] = d;
        this.weights[at] = e.terms.count[k]!;
      }
    });
  }

  get size(): number {
    return this.completions.length;
  }

  /** The k most similar examples (similarity > 0), most similar first, lower index on ties. */
  query(text: string, k = NEIGHBOURS): Neighbour[] {
    const q = termCounts(text);
    const touched: number[] = [];
    let qsq = 0;
    for (let t = 0; t < q.index.length; t++) {
      const term = q.index[t]!;
      const qc = q.count[t]!;
      qsq += qc * qc;
      for (let p = this.start[term]!; p < this.start[term + 1]!; p++) {
        const d = this.docs[p]!;
        if (this.scores[d] === 0) touched.push(d);
        this.scores[d]! += qc * this.weights[p]!;
      }
    }
    const qn = Math.sqrt(qsq);
    const hits = touched.map((d) => ({ d, s: this.scores[d]! / (qn * this.norms[d]!) }));
    for (const d of touched) this.scores[d] = 0;
    hits.sort((a, b) => b.s - a.s || a.d - b.d);
    return hits.slice(0, k).map((h) => ({ completion: this.completions[h.d]!, similarity: h.s }));
  }
}

/** Neighbours -> a distribution: softmax of similarity / 0.1, summed per completion. */
export function neighbourDistribution(neighbours: Neighbour[]): Distribution {
  const mass = new Map<string, number>();
  let sum = 0;
  for (const n of neighbours) {
    const w = Math.exp((n.similarity - neighbours[0]!.similarity) / SIMILARITY_TEMPERATURE);
    mass.set(n.completion, (mass.get(n.completion) ?? 0) + w);
    sum += w;
  }
  return [...mass].map(([output, w]) => ({ output, p: w / sum })).sort((a, b) => b.p - a.p);
}
