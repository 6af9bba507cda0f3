// The router network: sparse features x -> h = tanh(W x + b) -> logits = V h + c -> softmax.
//   full: W (hidden x buckets, column-major) and b are trainable copies of the base;
//   lora: W is the frozen, shared base and the hidden pre-activation gets a low-rank update
//         z = W x + b + A (B x), with A: hidden x r (row-major) and B: r x buckets (column-major,
//         zero-initialised, so training starts exactly at the base). Only the columns of B for
//         features present in the data ever move, which keeps rank-r updates and artifacts cheap.
// The head (V: labels x hidden, row-major; c: labels) is always trainable.
import { baseHiddenWeights, baseModel } from './base-models.js';
import { FEATURE_BUCKETS, type SparseVector } from './features.js';
import type { Rng } from './prng.js';

export type Parameterization = 'full' | 'lora';

export interface NetworkWeights {
  baseModel: string;
  kind: Parameterization;
  labels: number;
  rank: number; // 0 for full
  W: Float32Array;
  b: Float32Array;
  A: Float32Array;
  B: Float32Array;
  V: Float32Array;
  c: Float32Array;
}

export class Network implements NetworkWeights {
  readonly baseModel: string;
  readonly kind: Parameterization;
  readonly H: number;
  readonly F = FEATURE_BUCKETS;
  readonly rank: number;
  labels: number;
  W: Float32Array;
  b: Float32Array;
  A: Float32Array;
  B: Float32Array;
  V: Float32Array;
  c: Float32Array;
  // Scratch of the last forward pass.
  readonly z: Float64Array;
  readonly h: Float64Array;
  readonly u: Float64Array;
  logits: Float64Array;
  probs: Float64Array;

  constructor(w: NetworkWeights) {
    this.baseModel = w.baseModel;
    this.kind = w.kind;
    this.H = baseModel(w.baseModel).hidden;
    this.rank = w.rank;
    this.labels = w.labels;
    this.W = w.W;
    this.b = w.b;
    this.A = w.A;
    this.B = w.B;
    this.V = w.V;
    this.c = w.c;
    this.z = new Float64Array(this.H);
    this.h = new Float64Array(this.H);
    this.u = new Float64Array(this.rank);
    this.logits = new Float64Array(this.labels);
    this.probs = new Float64Array(this.labels);
  }

  /** A new network on top of a base model: base hidden weights, random head and LoRA A from `rng`. */
  static fresh(base: string, kind: Parameterization, labels: number, rank: number, rng: Rng): Network {
    const H = baseModel(base).hidden;
    const W0 = baseHiddenWeights(base);
    const r = kind === 'lora' ? rank : 0;
    const A = new Float32Array(H * r);
    for (let i = 0; i < A.length; i++) A[i] = rng.symmetric(Math.sqrt(3 / r));
    const V = new Float32Array(labels * H);
    for (let i = 0; i < V.length; i++) V[i] = rng.symmetric(0.1 / Math.sqrt(H));
    return new Network({
      baseModel: base,
      kind,
      labels,
      rank: r,
      W: kind === 'full' ? W0.slice() : W0,
      b: new Float32Array(H),
      A,
      B: new Float32Array(FEATURE_BUCKETS * r),
      V,
      c: new Float32Array(labels),
    });
  }

  /** Deep copy of everything trainable (a LoRA network keeps sharing the frozen base). */
  clone(): Network {
    return new Network({
      baseModel: this.baseModel,
      kind: this.kind,
      labels: this.labels,
      rank: this.rank,
      W: this.kind === 'full' ? this.W.slice() : this.W,
      b: this.b.slice(),
      A: this.A.slice(),
      B: this.B.slice(),
      V: this.V.slice(),
      c: this.c.slice(),
    });
  }

  /** Restores weights from a snapshot taken with clone(). */
  restore(from: Network): void {
    if (this.kind === 'full') this.W.set(from.W);
    this.b.set(from.b);
    this.A.set(from.A);
    this.B.set(from.B);
    this.V.set(from.V);
    this.c.set(from.c);
  }

  /** Appends output classes whose logit starts at `bias` (zero head row). */
  addLabels(count: number, bias: number): void {
    if (count <= 0) return;
    const L = this.labels + count;
    const V = new Float32Array(L * this.H);
    V.set(this.V);
    const c = new Float32Array(L).fill(bias);
    c.set(this.c);
    this.V = V;
    this.c = c;
    this.labels = L;
    this.logits = new Float64Array(L);
    this.probs = new Float64Array(L);
  }

  /** Fills z, h, u, logits and probs (softmax of logits / temperature). */
  forward(x: SparseVector, temperature = 1): void {
    const { H, W, b, z, h, u, V, c, logits, probs } = this;
    const { index, value } = x;
    const nnz = index.length;
    for (let k = 0; k < H; k++) z[k] = b[k]!;
    // H is a multiple of 4 (base-models.ts); unrolling makes this, the hot loop, ~1.5x faster.
    for (let n = 0; n < nnz; n++) {
      const xv = value[n]!;
      let w = index[n]! * H;
      for (let k = 0; k < H; k += 4, w += 4) {
        z[k]! += W[w]! * xv;
        z[k + 1]! += W[w + 1]! * xv;
        z[k + 2]! += W[w + 2]! * xv;
        z[k + 3]! += W[w + 3]! * xv;
      }
    }
    if (this.kind === 'lora') {
      const r = this.rank;
      const { A, B } = this;
      u.fill(0);
      for (let n = 0; n < nnz; n++) {
        const xv = value[n]!;
        const base = index[n]! * r;
        for (let q = 0; q < r; q++) u[q]! += B[base + q]! * xv;
      }
      for (let k = 0; k < H; k++) {
        let s = 0;
        const row = k * r;
        for (let q = 0; q < r; q++) s += A[row + q]! * u[q]!;
        z[k]! += s;
      }
    }
    for (let k = 0; k < H; k++) h[k] = Math.tanh(z[k]!);
    const L = this.labels;
    let max = Number.NEGATIVE_INFINITY;
    for (let l = 0; l < L; l++) {
      let s = c[l]!;
      const row = l * H;
      for (let k = 0; k < H; k++) s += V[row + k]! * h[k]!;
      logits[l] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let l = 0; l < L; l++) {
      const e = Math.exp((logits[l]! - max) / temperature);
      probs[l] = e;
      sum += e;
    }
    for (let l = 0; l < L; l++) probs[l]! /= sum;
  }

  /** Index of the largest logit of the last forward pass (lowest index on ties). */
  argmax(): number {
    let best = 0;
    for (let l = 1; l < this.labels; l++) if (this.logits[l]! > this.logits[best]!) best = l;
    return best;
  }

  /** log softmax(logits)[l] at temperature 1 of the last forward pass, numerically stable. */
  logProb(l: number): number {
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.labels; i++) if (this.logits[i]! > max) max = this.logits[i]!;
    let sum = 0;
    for (let i = 0; i < this.labels; i++) sum += Math.exp(this.logits[i]! - max);
    return this.logits[l]! - max - Math.log(sum);
  }
}

/**
 * Gradient accumulators for one mini-batch. The sparse tensor (W for full, B for lora) is
 * accumulated only in the columns of features present in the batch, tracked in `cols`.
 */
export class Gradients {
  readonly sparse: Float64Array;
  readonly colSize: number;
  readonly mark: Uint8Array;
  readonly cols: number[] = [];
  readonly b: Float64Array;
  readonly A: Float64Array;
  V: Float64Array;
  c: Float64Array;
  private readonly dz: Float64Array;
  private readonly du: Float64Array;

  constructor(net: Network) {
    this.colSize = net.kind === 'full' ? net.H : net.rank;
    this.sparse = new Float64Array(net.F * this.colSize);
    this.mark = new Uint8Array(net.F);
    this.b = new Float64Array(net.H);
    this.A = new Float64Array(net.A.length);
    this.V = new Float64Array(net.V.length);
    this.c = new Float64Array(net.labels);
    this.dz = new Float64Array(net.H);
    this.du = new Float64Array(net.rank);
  }

  /** Back-propagates dLoss/dlogits of the last forward pass of `net` on `x`. */
  backward(net: Network, x: SparseVector, dlogits: Float64Array): void {
    const { H, h, V } = net;
    const L = net.labels;
    const dz = this.dz;
    dz.fill(0);
    for (let l = 0; l < L; l++) {
      const d = dlogits[l]!;
      if (d === 0) continue;
      this.c[l]! += d;
      const row = l * H;
      for (let k = 0; k < H; k++) {
        this.V[row + k]! += d * h[k]!;
        dz[k]! += d * V[row + k]!;
      }
    }
    for (let k = 0; k < H; k++) dz[k]! *= 1 - h[k]! * h[k]!;
    const { index, value } = x;
    if (net.kind === 'full') {
      for (let k = 0; k < H; k++) this.b[k]! += dz[k]!;
      this.scatter(index, value, dz, H);
      return;
    }
    const r = net.rank;
    const du = this.du;
    du.fill(0);
    for (let k = 0; k < H; k++) {
      const g = dz[k]!;
      const row = k * r;
      for (let q = 0; q < r; q++) {
        this.A[row + q]! += g * net.u[q]!;
        du[q]! += g * net.A[row + q]!;
      }
    }
    this.scatter(index, value, du, r);
  }

  private scatter(index: Int32Array, value: Float32Array, g: Float64Array, size: number): void {
    for (let n = 0; n < index.length; n++) {
      const j = index[n]!;
      if (!this.mark[j]) {
        this.mark[j] = 1;
        this.cols.push(j);
      }
      const xv = value[n]!;
      const sparse = this.sparse;
      let at = j * size;
      let k = 0;
      for (; k + 4 <= size; k += 4, at += 4) {
        sparse[at]! += g[k]! * xv;
        sparse[at + 1]! += g[k + 1]! * xv;
        sparse[at + 2]! += g[k + 2]! * xv;
        sparse[at + 3]! += g[k + 3]! * xv;
      }
      for (; k < size; k++, at++) sparse[at]! += g[k]! * xv;
    }
  }
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/** Adam; "lazy" for the sparse tensor: only the columns with a gradient in the batch move. */
export class Adam {
  private t = 0;
  private readonly mSparse: Float32Array;
  private readonly vSparse: Float32Array;
  private readonly m: Map<string, Float64Array> = new Map();
  private readonly v: Map<string, Float64Array> = new Map();

  constructor(
    net: Network,
    private readonly lr: number,
  ) {
    const size = net.kind === 'full' ? net.W.length : net.B.length;
    this.mSparse = new Float32Array(size);
    this.vSparse = new Float32Array(size);
  }

  step(net: Network, g: Gradients, batch: number): void {
    this.t++;
    const scale = 1 / batch;
    const stepSize = (this.lr * Math.sqrt(1 - BETA2 ** this.t)) / (1 - BETA1 ** this.t);
    if (net.kind === 'full') this.dense('b', net.b, g.b, scale, stepSize);
    else this.dense('A', net.A, g.A, scale, stepSize);
    this.dense('V', net.V, g.V, scale, stepSize);
    this.dense('c', net.c, g.c, scale, stepSize);
    const p = net.kind === 'full' ? net.W : net.B;
    const size = g.colSize;
    const { mSparse: m, vSparse: v } = this;
    for (const j of g.cols) {
      const base = j * size;
      for (let k = base; k < base + size; k++) {
        const grad = g.sparse[k]! * scale;
        const mk = BETA1 * m[k]! + (1 - BETA1) * grad;
        const vk = BETA2 * v[k]! + (1 - BETA2) * grad * grad;
        m[k] = mk;
        v[k] = vk;
        p[k]! -= (stepSize * mk) / (Math.sqrt(vk) + EPS);
        g.sparse[k] = 0;
      }
      g.mark[j] = 0;
    }
    g.cols.length = 0;
  }

  private dense(name: string, p: Float32Array, grad: Float64Array, scale: number, stepSize: number): void {
    let m = this.m.get(name);
    let v = this.v.get(name);
    if (!m || m.length !== p.length) {
      m = new Float64Array(p.length);
      v = new Float64Array(p.length);
      this.m.set(name, m);
      this.v.set(name, v);
    }
    for (let i = 0; i < p.length; i++) {
      const gi = grad[i]! * scale;
      const mi = BETA1 * m[i]! + (1 - BETA1) * gi;
      const vi = BETA2 * v![i]! + (1 - BETA2) * gi * gi;
      m[i] = mi;
      v![i] = vi;
      p[i]! -= (stepSize * mi) / (Math.sqrt(vi) + EPS);
      grad[i] = 0;
    }
  }
}
