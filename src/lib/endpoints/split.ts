// Traffic-split arithmetic the library does before calling Vertex, which only accepts complete
// splits summing to 100 (DeployModelRequest / UndeployModelRequest.traffic_split). Shares are
// rescaled proportionally with the largest-remainder method, so integers still sum exactly.
// Tested directly in test/lib/split.test.ts (worked examples and seeded property tests).
import { invalid, precondition } from '../errors.js';

export type Split = Record<string, number>;

/** Vertex's cap on models deployed to one endpoint is far below this; it bounds the arithmetic. */
export const MAX_SPLIT_ENTRIES = 100;

/**
 * Scales `shares` to integers summing to `target`, proportionally (largest remainder: each key
 * gets the floor of its exact quota, the points left go to the largest fractional parts, ties to
 * the earlier key). All-zero shares are split evenly. Zero shares stay zero otherwise.
 */
export function rescale(shares: Split, target: number): Split {
  if (!Number.isInteger(target) || target < 0) throw invalid(`rescale target ${target} must be a whole number >= 0`);
  const keys = Object.keys(shares);
  for (const k of keys) {
    const v = shares[k]!;
    if (!Number.isFinite(v) || v < 0) throw invalid(`share "${k}" = ${v} must be a finite number >= 0`);
  }
  if (keys.length === 0) return {};
  const total = keys.reduce((s, k) => s + shares[k]!, 0);
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

/** A complete split: integer percentages in [0, 100] summing to 100 (or no entries at all). */
export function checkSplit(split: Split, field = 'traffic_split'): void {
  const entries = Object.entries(split);
  if (entries.length > MAX_SPLIT_ENTRIES)
    throw invalid(`${field} has ${entries.length} entries; at most ${MAX_SPLIT_ENTRIES} are allowed`);
  for (const [k, v] of entries) {
    if (!Number.isInteger(v) || v < 0 || v > 100)
      throw invalid(`${field}["${k.slice(0, 64)}"] = ${v} must be an integer percentage in [0, 100]`);
  }
  const sum = entries.reduce((a, [, b]) => a + b, 0);
  if (entries.length && sum !== 100) throw invalid(`${field} sums to ${sum}; it must sum to 100`);
}

/**
 * The DeployModelRequest.traffic_split for deploying a new model ("0") with `percent`, given the
 * endpoint's current split and the ids deployed on it (default: the split's keys):
 * - nothing deployed yet: the first model takes 100% (whatever `percent` says);
 * - the deployed models carry traffic: the new model gets `percent` and they share the rest in
 *   their current proportions;
 * - they carry none (the endpoint serves nothing): `percent` 100 moves all traffic to the new
 *   model, 0 returns {} (the split is left as it is), anything between is refused, as there is
 *   no proportion to keep.
 */
export function splitForDeploy(current: Split, percent: number, deployedIds: string[] = Object.keys(current)): Split {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
    throw invalid(`traffic_percentage ${percent} must be an integer in [0, 100]`);
  }
  if (deployedIds.length === 0) return { '0': 100 };
  const others: Split = Object.fromEntries(deployedIds.map((id) => [id, current[id] ?? 0]));
  if (Object.values(others).every((v) => v === 0)) {
    if (percent === 100) return { ...others, '0': 100 };
    if (percent === 0) return {};
    throw precondition(
      `traffic_percentage ${percent} cannot be applied: the deployed models carry no traffic, so there is nothing to rescale`,
      'Deploy with traffic_percentage 100 (or 0), then set the split with set_traffic_split',
    );
  }
  return { ...rescale(others, 100 - percent), '0': percent };
}

/**
 * The split after removing `id`. Traffic it carried goes to the others in proportion; when no
 * other model carries traffic, the caller must say where it goes. Removing the last model leaves
 * an empty split, and so does removing a model from an endpoint that serves nothing (the split
 * then stays empty: an empty UndeployModelRequest.traffic_split leaves it as it is).
 */
export function splitForUndeploy(current: Split, id: string, deployedIds: string[]): Split {
  const rest = Object.fromEntries(deployedIds.filter((d) => d !== id).map((d) => [d, current[d] ?? 0]));
  // It carried nothing: the others keep their shares ({} when the endpoint serves nothing).
  if (!(current[id] ?? 0)) return Object.values(rest).some((v) => v > 0) ? rest : {};
  if (Object.keys(rest).length === 0) return {};
  if (Object.values(rest).every((v) => v === 0)) {
    throw precondition(
      `deployed model ${id} carries ${current[id]}% of the traffic and no other model carries any`,
      'Pass traffic_split giving its share to the models that stay (it must sum to 100)',
    );
  }
  return rescale(rest, 100);
}
