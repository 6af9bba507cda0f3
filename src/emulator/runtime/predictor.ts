// Serving: artifact -> Predictor. Softmax over the labels, with the nearest-neighbour fallback:
// open-ended artifacts (mostly unique completions) answer the completion of the most similar
// training input; classifiers do so only when the softmax is unsure (confidence below
// confidence_threshold) and a training input is at least min_similarity close.
import { networkFromArtifact } from './artifact.js';
import { featurize } from './features.js';
import { decodeEntries, NearestNeighbourIndex, neighbourDistribution } from './nn-index.js';
import { labelledItems } from './objectives.js';
import type { Distribution, Example, Prediction, Predictor, RouterArtifact } from './types.js';

/** Softmax distributions list at most this many outputs. */
export const DISTRIBUTION_SIZE = 20;

export function loadPredictor(artifact: RouterArtifact): Predictor {
  const net = networkFromArtifact(artifact);
  const index = new NearestNeighbourIndex(decodeEntries(artifact));
  const labels = [...artifact.labels];
  const {
    open_ended: openEnded,
    confidence_threshold: threshold,
    min_similarity: minSimilarity,
  } = artifact.nearest_neighbour;
  const order = labels.map((_, i) => i);

  const predict = (input: string): Prediction => {
    if (typeof input !== 'string') throw new Error('predict(input): input must be a string');
    net.forward(featurize(input));
    const top = net.argmax();
    const confidence = net.probs[top]!;
    if (index.size > 0 && (openEnded || confidence < threshold)) {
      const neighbours = index.query(input);
      const nearest = neighbours[0];
      if (nearest && nearest.similarity >= (openEnded ? Number.MIN_VALUE : minSimilarity)) {
        const distribution = neighbourDistribution(neighbours);
        return {
          output: nearest.completion,
          confidence: distribution.find((d) => d.output === nearest.completion)!.p,
          distribution,
          via: 'nearest_neighbour',
          similarity: nearest.similarity,
        };
      }
    }
    const p = net.probs;
    const ranked = order.slice().sort((a, b) => p[b]! - p[a]! || a - b);
    const distribution: Distribution = ranked
      .slice(0, DISTRIBUTION_SIZE)
      .map((l) => ({ output: labels[l]!, p: p[l]! }));
    return { output: labels[top]!, confidence, distribution, via: 'softmax' };
  };
  return { labels, predict };
}

/** A distillation teacher backed by a local artifact. */
export function teacherFrom(predictor: Predictor): (input: string) => Distribution {
  return (input) => predictor.predict(input).distribution;
}

export interface EvaluationReport {
  examples: number;
  /** Share of outputs the predictor (softmax + nearest-neighbour fallback) gets exactly right. */
  accuracy: number;
  /** Share the softmax argmax alone gets right. */
  softmaxAccuracy: number;
  /** Mean softmax cross-entropy over examples whose output is a label; null when none is. */
  loss: number | null;
}

export function evaluate(artifact: RouterArtifact, examples: Example[]): EvaluationReport {
  const predictor = loadPredictor(artifact);
  const net = networkFromArtifact(artifact);
  let right = 0;
  let softRight = 0;
  let loss = 0;
  let scored = 0;
  const items = labelledItems(examples, artifact.labels);
  examples.forEach((e, i) => {
    if (predictor.predict(e.input).output === e.output) right++;
    const it = items[i]!;
    net.forward(it.x);
    if (it.y >= 0) {
      if (net.argmax() === it.y) softRight++;
      loss -= Math.log(Math.max(net.probs[it.y]!, 1e-12));
      scored++;
    }
  });
  const n = examples.length;
  return {
    examples: n,
    accuracy: n ? right / n : 0,
    softmaxAccuracy: n ? softRight / n : 0,
    loss: scored ? loss / scored : null,
  };
}
