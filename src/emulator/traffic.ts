// Endpoint traffic splits: the rules of google.cloud.aiplatform.v1 Endpoint.traffic_split,
// DeployModelRequest.traffic_split and UndeployModelRequest.traffic_split as pure functions, and
// the deterministic per-request routing the emulated PredictionService applies.
//
// The emulator refuses what Vertex AI refuses: each rule below quotes the proto comment it
// enforces (v1 endpoint.proto / endpoint_service.proto). The library (src/lib/endpoints/split.ts)
// computes complete splits itself, as it must for Vertex.
//
// - Endpoint.traffic_split: "If a DeployedModel's ID is not listed in this map, then it receives
//   no traffic. The traffic percentage values must add up to 100, or map must be empty if the
//   Endpoint is to not accept any traffic at a moment."  -> checkSplit() / updateSplit(): keys are
//   deployed model IDs, values integers in [0, 100], sum 100 or an empty map.
// - DeployModelRequest.traffic_split: "If this field is non-empty, then the Endpoint's
//   traffic_split will be overwritten with it. To refer to the ID of the just being deployed
//   Model, a "0" should be used, and the actual ID of the new DeployedModel will be filled in its
//   place by this method. The traffic percentage values must add up to 100. If this field is
//   empty, then the Endpoint's traffic_split is not updated."  -> deploySplit(): a non-empty split
//   is a complete one (a lone {"0": p} with p < 100 is refused: it does not add up to 100; the
//   emulator no longer rescales the others for the caller). One documented addition: the first
//   model deployed to an endpoint with no deployed model takes 100% when no split is given (the
//   split the Vertex AI Python SDK sends for a first deployment), so an endpoint is never left
//   with one model and nothing serving by accident. It accepts nothing Vertex refuses.
// - UndeployModelRequest.traffic_split: "If this field is provided, then the Endpoint's
//   traffic_split will be overwritten with it. If last DeployedModel is being undeployed from the
//   Endpoint, the [Endpoint.traffic_split] will always end up empty when this call returns. A
//   DeployedModel will be successfully undeployed only if it doesn't have any traffic assigned to
//   it when this method executes, or if this field unassigns any traffic to it."
//   -> undeploySplit(): a model that carries traffic is undeployed only with a split that gives
//   it none (FAILED_PRECONDITION otherwise; nothing is rescaled for the caller), except the last
//   model, whose undeployment always empties the split.

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
  // "The traffic percentage values must add up to 100."
  if (keys.length === 1 && keys[0] === NEW_MODEL_KEY && requested[NEW_MODEL_KEY] !== 100) {
    const p = requested[NEW_MODEL_KEY]!;
    checkPercentage(p, `${field}["${NEW_MODEL_KEY}"]`);
    const others = deployedIds.map((id) => `"${id}"`).join(', ');
    throw invalidArgument(
      deployedIds.length === 0
        ? `${field} {"${NEW_MODEL_KEY}": ${p}} adds up to ${p}, not 100: the traffic percentage values must add up to 100; this is the endpoint's first model, so give it 100 (or leave traffic_split empty)`
        : `${field} {"${NEW_MODEL_KEY}": ${p}} adds up to ${p}, not 100: the traffic percentage values must add up to 100; give the complete split, including the deployed models ${others}`,
    );
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
  // "A DeployedModel will be successfully undeployed only if it doesn't have any traffic assigned
  // to it when this method executes, or if this field unassigns any traffic to it."
  const share = current[removedId] ?? 0;
  const rest: TrafficSplit = {};
  for (const [k, v] of Object.entries(current)) if (k !== removedId) rest[k] = v;
  if (share === 0) return rest;
  throw failedPrecondition(
    `deployed model ${removedId} has ${share}% of the endpoint's traffic assigned to it; a DeployedModel is undeployed only if it has no traffic assigned or if traffic_split unassigns its traffic: pass traffic_split for the models that stay (${remaining.map((id) => `"${id}"`).join(', ')}), adding up to 100, or move its traffic first (UpdateEndpoint)`,
  );
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
