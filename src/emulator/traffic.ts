// Endpoint traffic splits: the rules of google.cloud.aiplatform.v1 Endpoint.traffic_split,
// DeployModelRequest.traffic_split and UndeployModelRequest.traffic_split as pure functions, and
// the deterministic per-request routing the emulated PredictionService applies.
//
// What the protos say (v1, endpoint.proto / endpoint_service.proto) and what we do:
//
// - Endpoint.traffic_split: "If a DeployedModel's ID is not listed in this map, then it receives
//   no traffic. The traffic percentage values must add up to 100, or map must be empty if the
//   Endpoint is to not accept any traffic at a moment."  -> checkSplit(): keys are deployed model
//   IDs, values integers in [0, 100], sum 100 or an empty map.
// - DeployModelRequest.traffic_split: "If this field is non-empty, then the Endpoint's
//   traffic_split will be overwritten with it. To refer to the ID of the just being deployed
//   Model, a "0" should be used [...]. The traffic percentage values must add up to 100. If this
//   field is empty, then the Endpoint's traffic_split is not updated."  -> deploySplit(), with two
//   additions the SPEC asks for (both what the Vertex Python SDK does client-side before calling
//   DeployModel, here done server-side so every client gets them):
//     * the first model deployed to an endpoint without any deployed model takes 100% when no
//       split is given (otherwise it would be deployed and receive nothing);
//     * a split naming only the new model, {"0": p} with p < 100, is the emulator's convenience
//       where Vertex requires a full split: the existing traffic is rescaled proportionally to
//       sum to 100 - p, integers by the largest-remainder method (apportion()).
// - UndeployModelRequest.traffic_split: "If this field is provided, then the Endpoint's
//   traffic_split will be overwritten with it. If last DeployedModel is being undeployed from the
//   Endpoint, the [Endpoint.traffic_split] will always end up empty when this call returns. A
//   DeployedModel will be successfully undeployed only if it doesn't have any traffic assigned to
//   it when this method executes, or if this field unassigns any traffic to it."
//   -> undeploySplit(). Where Vertex refuses to undeploy a model that carries traffic without a
//   new split, the emulator (per the SPEC) rescales the remaining models' traffic proportionally
//   to 100 (largest remainder); it refuses only when the remaining models carry no traffic at all
//   (there is nothing to scale), asking for a split.

import { failedPrecondition, invalidArgument } from './errors.js';
import { hash32 } from './runtime/hash.js';

/** Deployed model ID -> percentage of the endpoint's requests. */
export type TrafficSplit = Record<string, number>;

/** The key a deploy-time split uses for the model being deployed. */
export const NEW_MODEL_KEY = '0';

/** Numeric IDs in numeric order, others after them in string order: a stable order for splits. */
export function compareIds(a: string, b: string): number {
  const na = /^[0-9]+$/.test(a);
  const nb = /^[0-9]+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const splitSum = (split: TrafficSplit): number => Object.values(split).reduce((s, v) => s + v, 0);

const show = (split: TrafficSplit) =>
  JSON.stringify(Object.fromEntries(Object.entries(split).sort(([a], [b]) => compareIds(a, b))));

/**
 * Distributes `total` integer points over the keys in proportion to their weights (Hamilton's
 * largest-remainder method): every key gets the floor of its exact quota, and the points left go
 * one each to the largest fractional remainders; ties go to the larger weight, then to the
 * smaller ID. Keys keep their place (zero weights get 0). All weights zero is an error of the
 * caller (there is no proportion to keep).
 */
export function apportion(weights: TrafficSplit, total: number): TrafficSplit {
  const keys = Object.keys(weights).sort(compareIds);
  const sum = splitSum(weights);
  if (sum <= 0) throw new Error('apportion: weights must have a positive sum');
  const out: TrafficSplit = {};
  const rest: { key: string; remainder: number; weight: number }[] = [];
  let given = 0;
  for (const key of keys) {
    const floor = Math.floor((weights[key]! * total) / sum);
    out[key] = floor;
    given += floor;
    // Remainders scaled by `sum` stay integers, so 62.5 vs 37.5 is an exact tie.
    rest.push({ key, remainder: weights[key]! * total - floor * sum, weight: weights[key]! });
  }
  rest.sort((a, b) => b.remainder - a.remainder || b.weight - a.weight || compareIds(a.key, b.key));
  for (let i = 0; i < total - given; i++) out[rest[i]!.key]! += 1;
  return out;
}

function checkPercentage(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 100) {
    throw invalidArgument(`${field} is ${value}; percentages must be integers from 0 to 100`);
  }
}

/**
 * Checks a split's values and keys. `allowed` are the IDs a key may name; `field` names the request
 * field in messages. Values: integers in [0, 100]. Sum: 100 (`allowEmpty`: or an empty map).
 */
export function checkSplit(
  split: TrafficSplit,
  allowed: string[],
  field: string,
  opts: { allowEmpty: boolean; hint?: string },
): void {
  for (const [key, value] of Object.entries(split)) {
    if (!allowed.includes(key)) {
      const known = allowed.length ? allowed.map((a) => `"${a}"`).join(', ') : 'none';
      throw invalidArgument(
        `${field} key "${key}" is not a deployed model of this endpoint (allowed keys: ${known})${opts.hint ? `; ${opts.hint}` : ''}`,
      );
    }
    checkPercentage(value, `${field}["${key}"]`);
  }
  const entries = Object.keys(split).length;
  if (entries === 0 && opts.allowEmpty) return;
  const sum = splitSum(split);
  if (sum !== 100) {
    throw invalidArgument(
      `${field} percentages must add up to 100, but ${show(split)} adds up to ${sum}${opts.allowEmpty ? ' (an empty map stops all traffic)' : ''}`,
    );
  }
}

/** The endpoint's split after UpdateEndpoint sets `traffic_split`: Endpoint.traffic_split's rules. */
export function updateSplit(requested: TrafficSplit, deployedIds: string[]): TrafficSplit {
  checkSplit(requested, deployedIds, 'endpoint.traffic_split', { allowEmpty: true });
  return { ...requested };
}

/**
 * The endpoint's split after deploying `newId` next to `deployedIds` (the models already there).
 * `requested` is DeployModelRequest.traffic_split ("0" = the new model); empty = not given.
 */
export function deploySplit(
  current: TrafficSplit,
  deployedIds: string[],
  newId: string,
  requested: TrafficSplit,
): TrafficSplit {
  const keys = Object.keys(requested);
  if (keys.length === 0) {
    // The first model of an endpoint takes all the traffic; otherwise the split is not updated
    // (the new model receives nothing until the split names it).
    return deployedIds.length === 0 ? { [newId]: 100 } : { ...current };
  }
  const field = 'traffic_split';
  const hint = `use "${NEW_MODEL_KEY}" for the model being deployed`;
  if (keys.length === 1 && keys[0] === NEW_MODEL_KEY) {
    const p = requested[NEW_MODEL_KEY]!;
    checkPercentage(p, `${field}["${NEW_MODEL_KEY}"]`);
    const others: TrafficSplit = {};
    for (const [k, v] of Object.entries(current)) if (deployedIds.includes(k)) others[k] = v;
    if (p === 100) return { ...Object.fromEntries(Object.keys(others).map((k) => [k, 0])), [newId]: 100 };
    if (splitSum(others) === 0) {
      throw invalidArgument(
        deployedIds.length === 0
          ? `${field} {"${NEW_MODEL_KEY}": ${p}} adds up to ${p}, not 100: this is the endpoint's first model, so it takes 100% (or leave traffic_split empty)`
          : `${field} {"${NEW_MODEL_KEY}": ${p}} adds up to ${p}, not 100, and the deployed models carry no traffic to rescale; give a full split that adds up to 100`,
      );
    }
    // Emulator convenience (see the top of this file): the others keep their proportions.
    return { ...apportion(others, 100 - p), [newId]: p };
  }
  checkSplit(requested, [...deployedIds, NEW_MODEL_KEY], field, { allowEmpty: false, hint });
  return renameNew(requested, newId);
}

function renameNew(split: TrafficSplit, newId: string): TrafficSplit {
  const out: TrafficSplit = {};
  for (const [k, v] of Object.entries(split)) out[k === NEW_MODEL_KEY ? newId : k] = v;
  return out;
}

/**
 * The endpoint's split after undeploying `removedId` from `deployedIds` (which include it).
 * `requested` is UndeployModelRequest.traffic_split; empty = not given.
 */
export function undeploySplit(
  current: TrafficSplit,
  deployedIds: string[],
  removedId: string,
  requested: TrafficSplit,
): TrafficSplit {
  const remaining = deployedIds.filter((id) => id !== removedId);
  const field = 'traffic_split';
  if (remaining.length === 0) {
    // "If last DeployedModel is being undeployed from the Endpoint, the traffic_split will always
    // end up empty when this call returns."
    for (const key of Object.keys(requested)) {
      if (key !== removedId) checkSplit({ [key]: 0 }, deployedIds, field, { allowEmpty: true });
    }
    return {};
  }
  if (Object.keys(requested).length > 0) {
    if ((requested[removedId] ?? 0) > 0) {
      throw invalidArgument(
        `${field} assigns ${requested[removedId]}% to deployed model ${removedId}, which is being undeployed; a model is undeployed only when the new split gives it no traffic`,
      );
    }
    checkSplit(requested, deployedIds, field, { allowEmpty: false });
    const out = { ...requested };
    delete out[removedId];
    return out;
  }
  const share = current[removedId] ?? 0;
  const rest: TrafficSplit = {};
  for (const [k, v] of Object.entries(current)) if (k !== removedId) rest[k] = v;
  if (share === 0) return rest;
  if (splitSum(rest) === 0) {
    throw failedPrecondition(
      `deployed model ${removedId} carries ${share}% of the traffic and the other deployed models (${remaining.join(', ')}) carry none, so there is nothing to rescale; pass traffic_split to say where its traffic goes`,
    );
  }
  return apportion(rest, 100);
}

/** The per-endpoint routing seed. */
export const routingSeed = (endpoint: string): number => hash32(`route:${endpoint}`);

/**
 * The n-th routing draw of an endpoint, uniform in [0, 1): a counter-based generator (a Weyl
 * sequence through MurmurHash3's finaliser), so the draw for request n needs only the seed and n.
 */
export function routeDraw(seed: number, n: number): number {
  let z = (seed + Math.imul(n >>> 0, 0x9e3779b9)) | 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x85ebca6b);
  z ^= z >>> 13;
  z = Math.imul(z, 0xc2b2ae35);
  z ^= z >>> 16;
  return (z >>> 0) / 4294967296;
}

/**
 * The deployed model a draw u in [0, 1) routes to: models in ID order take consecutive intervals
 * of width share/100. Undefined when the split carries no traffic.
 */
export function pickDeployedModel(split: TrafficSplit, u: number): string | undefined {
  const entries = Object.entries(split)
    .filter(([, v]) => v > 0)
    .sort(([a], [b]) => compareIds(a, b));
  const total = splitSum(Object.fromEntries(entries));
  if (total === 0) return undefined;
  const x = u * total;
  let cum = 0;
  for (const [id, v] of entries) {
    cum += v;
    if (x < cum) return id;
  }
  return entries[entries.length - 1]![0];
}
