// RouterArtifact <-> Network. Full artifacts store every weight; LoRA artifacts store the adapter
// (A, the non-zero columns of B) and the head, and regenerate the frozen base from its name.
import { baseHiddenWeights, baseModel } from './base-models.js';
import { decodeF32, decodeU16, encodeF32, encodeU16 } from './codec.js';
import { CHAR_NGRAM, CHAR_WEIGHT, FEATURE_BUCKETS } from './features.js';
import { Network } from './network.js';
import { CONFIDENCE_THRESHOLD, encodeIndex, MIN_SIMILARITY, type NnEntry } from './nn-index.js';
import { ARTIFACT_FAMILY, ARTIFACT_FORMAT, type RouterArtifact, TUNING_METHODS, type TuningMethod } from './types.js';

export interface ArtifactInput {
  net: Network;
  method: TuningMethod;
  labels: string[];
  nn: NnEntry[];
  openEnded: boolean;
  training: RouterArtifact['training'];
}

export function buildArtifact(a: ArtifactInput): RouterArtifact {
  const { net } = a;
  const weights: RouterArtifact['weights'] = { head: encodeF32(net.V), head_bias: encodeF32(net.c) };
  let stored = net.V.length + net.c.length;
  if (net.kind === 'full') {
    weights.hidden = encodeF32(net.W);
    weights.hidden_bias = encodeF32(net.b);
    stored += net.W.length + net.b.length;
  } else {
    const r = net.rank;
    const cols: number[] = [];
    for (let j = 0; j < FEATURE_BUCKETS; j++) {
      for (let q = 0; q < r; q++) {
        if (net.B[j * r + q] !== 0) {
          cols.push(j);
          break;
        }
      }
    }
    const B = new Float32Array(cols.length * r);
    cols.forEach((j, i) => {
      B.set(net.B.subarray(j * r, (j + 1) * r), i * r);
    });
    weights.lora_a = encodeF32(net.A);
    weights.lora_b_columns = encodeU16(cols);
    weights.lora_b_column_count = cols.length;
    weights.lora_b = encodeF32(B);
    stored += net.A.length + B.length;
  }
  return {
    format: ARTIFACT_FORMAT,
    family: ARTIFACT_FAMILY,
    base_model: net.baseModel,
    method: a.method,
    parameterization: net.kind,
    labels: a.labels,
    sizes: {
      feature_buckets: FEATURE_BUCKETS,
      hidden: net.H,
      labels: a.labels.length,
      adapter_rank: net.kind === 'lora' ? net.rank : null,
      stored_parameters: stored,
      nn_examples: a.nn.length,
    },
    features: {
      hash: 'fnv1a32+fmix32',
      word_ngrams: [1, 2],
      char_ngrams: CHAR_NGRAM,
      char_weight: CHAR_WEIGHT,
      normalisation: 'l2',
    },
    weights,
    nearest_neighbour: {
      open_ended: a.openEnded,
      confidence_threshold: CONFIDENCE_THRESHOLD,
      min_similarity: MIN_SIMILARITY,
      ...encodeIndex(a.nn, a.labels),
    },
    training: a.training,
  };
}

/** Checks the envelope of an artifact (format, family, base model, sizes) before decoding it. */
export function checkArtifact(artifact: RouterArtifact): void {
  if (!artifact || typeof artifact !== 'object') throw new Error('artifact must be an object');
  if (artifact.format !== ARTIFACT_FORMAT) {
    throw new Error(`artifact format "${String(artifact.format)}" is not supported (expected "${ARTIFACT_FORMAT}")`);
  }
  if (artifact.family !== ARTIFACT_FAMILY)
    throw new Error(`artifact family "${String(artifact.family)}" is not ${ARTIFACT_FAMILY}`);
  if (!TUNING_METHODS.includes(artifact.method))
    throw new Error(`artifact method "${String(artifact.method)}" is unknown`);
  const { hidden } = baseModel(artifact.base_model);
  const s = artifact.sizes;
  if (s?.feature_buckets !== FEATURE_BUCKETS || s.hidden !== hidden) {
    throw new Error(
      `artifact sizes do not match base model ${artifact.base_model} (${FEATURE_BUCKETS} buckets, ${hidden} hidden)`,
    );
  }
  if (!Array.isArray(artifact.labels) || artifact.labels.length !== s.labels || artifact.labels.length === 0) {
    throw new Error('artifact labels are missing or do not match sizes.labels');
  }
  if (artifact.features?.char_ngrams !== CHAR_NGRAM || artifact.features.char_weight !== CHAR_WEIGHT) {
    throw new Error('artifact was featurised with settings this runtime does not implement');
  }
}

export function networkFromArtifact(artifact: RouterArtifact): Network {
  checkArtifact(artifact);
  const H = artifact.sizes.hidden;
  const L = artifact.labels.length;
  const w = artifact.weights;
  const V = decodeF32(w.head, L * H, 'weights.head');
  const c = decodeF32(w.head_bias, L, 'weights.head_bias');
  if (artifact.parameterization === 'full') {
    return new Network({
      baseModel: artifact.base_model,
      kind: 'full',
      labels: L,
      rank: 0,
      W: decodeF32(w.hidden ?? '', H * FEATURE_BUCKETS, 'weights.hidden'),
      b: decodeF32(w.hidden_bias ?? '', H, 'weights.hidden_bias'),
      A: new Float32Array(0),
      B: new Float32Array(0),
      V,
      c,
    });
  }
  if (artifact.parameterization !== 'lora')
    throw new Error(`artifact parameterization "${String(artifact.parameterization)}" is unknown`);
  const r = artifact.sizes.adapter_rank;
  if (!Number.isInteger(r) || r === null || r < 1 || r > 64)
    throw new Error('artifact adapter_rank must be an integer 1..64');
  const n = w.lora_b_column_count ?? -1;
  if (!Number.isInteger(n) || n < 0 || n > FEATURE_BUCKETS)
    throw new Error('artifact weights.lora_b_column_count is invalid');
  const cols = decodeU16(w.lora_b_columns ?? '', n, 'weights.lora_b_columns');
  const packed = decodeF32(w.lora_b ?? '', n * r, 'weights.lora_b');
  const B = new Float32Array(FEATURE_BUCKETS * r);
  cols.forEach((j, i) => {
    if (j >= FEATURE_BUCKETS) throw new Error('artifact weights.lora_b_columns is out of range');
    B.set(packed.subarray(i * r, (i + 1) * r), j * r);
  });
  return new Network({
    baseModel: artifact.base_model,
    kind: 'lora',
    labels: L,
    rank: r,
    W: baseHiddenWeights(artifact.base_model),
    b: new Float32Array(H),
    A: decodeF32(w.lora_a ?? '', H * r, 'weights.lora_a'),
    B,
    V,
    c,
  });
}

/** Size of the artifact as UTF-8 JSON, the form it is stored in. */
export function artifactBytes(artifact: RouterArtifact): number {
  return Buffer.byteLength(JSON.stringify(artifact), 'utf8');
}
