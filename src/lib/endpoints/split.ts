// Traffic-split arithmetic the library does before calling Vertex, which only accepts complete
// splits summing to 100 (DeployModelRequest / UndeployModelRequest.traffic_split). Shares are
// rescaled proportionally with the largest-remainder method, so integers still sum exactly.
import { invalid, precondition } from '../errors.js';

export type Split = Record<string, number>;

/** Scales `shares` to integers summing to `target`, proportionally (largest remainder). */
export function rescale(shares: Split, target: number): Split {
  const keys = Object.keys(shares);
  const total = keys.reduce((s, k) => s + shares[k]!, 0);
  if (keys.length === 0) return {};
  // All zero: split evenly.
  const raw = keys.map((k) => (total > 0 ? (shares[k]! * target) / total : target / keys.length));
  const floors = raw.map(Math.floor);
  let left = target - floors.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => ({ i, frac: r - floors[i]! })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i]!++;
    left--;
  }
  return Object.fromEntries(keys.map((k, i) => [k, floors[i]!]));
}

export function checkSplit(split: Split, field = 'traffic_split'): void {
  for (const [k, v] of Object.entries(split)) {
    if (!Number.isInteger(v) || v < 0 || v > 100)
      throw invalid(`${field}["${k}"] = ${v} must be an integer percentage in [0, 100]`);
  }
  const sum = Object.values(split).reduce((a, b) => a + b, 0);
  if (Object.keys(split).length && sum !== 100) throw invalid(`${field} sums to ${sum}; it must sum to 100`);
}

/**
 * The split after deploying a new model ("0") with `percent`: the first model takes 100%;
 * otherwise the others share the rest in their current proportions.
 */
export function splitForDeploy(current: Split, percent: number): Split {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw invalid(`traffic_percentage ${percent} must be an integer in [0, 100]`);
  }
  const others = Object.keys(current);
  if (others.length === 0 || Object.values(current).every((v) => v === 0)) return { ...rescale(current, 0), '0': 100 };
  return { ...rescale(current, 100 - percent), '0': percent };
}

/**
 * The split after removing `id`. Traffic it carried goes to the others in proportion; when no
 * other model carries traffic, the caller must say where it goes.
 */
export function splitForUndeploy(current: Split, id: string, deployedIds: string[]): Split {
  const rest = Object.fromEntries(deployedIds.filter((d) => d !== id).map((d) => [d, current[d] ?? 0]));
  if (!(current[id] ?? 0)) return rest;
  if (Object.keys(rest).length === 0) return {};
  if (Object.values(rest).every((v) => v === 0)) {
    throw precondition(
      `deployed model ${id} carries ${current[id]}% of the traffic and no other model carries any`,
      'Pass traffic_split giving its share to the models that stay (it must sum to 100)',
    );
  }
  return rescale(rest, 100);
}
