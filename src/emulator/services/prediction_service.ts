// google.cloud.aiplatform.v1.PredictionService.Predict, served by the emulator's runtime.
//
// Each request (not each instance) goes to one deployed model, drawn from the endpoint's traffic
// split with a counter-based PRNG seeded per endpoint (../traffic.ts): request n of an endpoint
// always draws the same number, across restarts, so tests and A/B runs are reproducible.
//
// Instances: a string, or an object with a string `text`, `prompt`, `input` or `content` field.
// Parameters: `{"include_distribution": true}` adds each prediction's top outputs with their
// probabilities (for distillation from an endpoint); other parameters are ignored, as a serving
// container ignores parameters it does not define.
// Each prediction is {output, confidence, prediction_id, via}; prediction_id is the id of its row
// in the predictions table (one row per instance), which monitoring and feedback refer to.
// The request is the unit Vertex counts and times: its first row has request_first = 1 and carries
// the request's model latency (the instances' inference time summed) and overhead (the time around
// it); its other rows have request_first = 0 and latencies 0.
// Failed requests are recorded too, one row per request: 400 for requests the model refuses (bad
// instances, payload over the limit), 500 when the model cannot serve.
// Per-deployed-model faults (`--faults latency[<display name>]=40ms,errors[<display name>]=0.2`,
// ../faults.ts) apply after routing: the latency is waited inside the model (so it is part of the
// recorded model latency), an injected error is a 500 like a model that cannot serve.
import { performance } from 'node:perf_hooks';
import { status } from '@grpc/grpc-js';
import type { Autoscaler } from '../autoscaler.js';
import { failedPrecondition, invalidArgument, RpcError } from '../errors.js';
import type { FaultInjector } from '../faults.js';
import type { ServiceImpl } from '../host.js';
import type { ServiceContext } from '../index.js';
import { ensurePredictionTables, type PredictionRecord, recordPrediction } from '../predictions.js';
import type { Prediction, Predictor } from '../runtime/index.js';
import { fromValue, toValue } from '../struct.js';
import { pickDeployedModel, routeDraw, routingSeed, splitSum } from '../traffic.js';
import { loadServable, type PredictorCache } from './endpoint_runtime.js';
import { EndpointRepo, routeCounter } from './endpoint_store.js';

/** Re-exported: the Value -> JSON conversion lives in ../struct.ts. */
export { fromValue };

/** Vertex AI's online prediction request limit: 1.5 MB ("Request payload size exceeds the limit: 1572864 bytes."). */
export const MAX_REQUEST_BYTES = 1_572_864;

/** Object fields an instance's text is read from, in this order. */
export const TEXT_FIELDS = ['text', 'prompt', 'input', 'content'] as const;

const ACCEPTED =
  'each instance must be a string or an object with a string "text", "prompt", "input" or "content" field, e.g. "route this task" or {"text": "route this task"}';

export function createPredictionService(
  ctx: ServiceContext,
  deps: { autoscaler: Autoscaler; predictors: PredictorCache; faults?: FaultInjector },
): ServiceImpl {
  const { store, gcs } = ctx;
  const { autoscaler, predictors, faults } = deps;
  ensurePredictionTables(store);
  const repo = new EndpointRepo(store);
  const nextPredictionId = store.db.prepare('SELECT COALESCE(MAX(id), 0) + 1 AS next FROM predictions');

  async function predict(req: { endpoint: string; instances?: unknown[]; parameters?: unknown }) {
    const started = performance.now();
    const timeMs = Date.now();
    const endpointName = req.endpoint;
    const ep = repo.get(endpointName, 'endpoint');
    if (splitSum(ep.trafficSplit) === 0) {
      throw failedPrecondition(
        ep.deployedModels.length === 0
          ? `Endpoint ${endpointName} has no deployed models; deploy one with DeployModel`
          : `Endpoint ${endpointName} takes no traffic: its traffic_split is empty; set one with UpdateEndpoint`,
      );
    }
    const n = store.next(routeCounter(endpointName));
    const deployedModelId = pickDeployedModel(ep.trafficSplit, routeDraw(routingSeed(endpointName), n))!;
    const dm = ep.deployedModels.find((d) => d.id === deployedModelId);
    const serving = ep._serving[deployedModelId];
    if (!dm || !serving) throw new RpcError(status.INTERNAL, `deployed model ${deployedModelId} has no serving state`);
    // Drawn right after routing, synchronously: fault draws follow the routing order.
    const fault = faults?.forModel(dm.displayName);
    const done = autoscaler.begin(endpointName, deployedModelId);
    const base = { timeMs, endpoint: endpointName, deployedModelId, model: serving.modelVersion };
    const fail = (code: 400 | 500, requestBytes: number): void => {
      recordPrediction(store, {
        ...base,
        latencyMs: 0,
        overheadMs: performance.now() - started,
        responseCode: code,
        requestBytes,
        responseBytes: 0,
        inputTokens: 0,
        outputTokens: 0,
        input: null,
        output: null,
      });
    };
    try {
      // 1. The request: readable instances within the payload limit.
      let plain: unknown[];
      let texts: string[];
      let requestBytes = 0;
      let includeDistribution = false;
      try {
        const instances = req.instances ?? [];
        if (instances.length === 0) {
          throw invalidArgument(`instances must not be empty: send at least one instance; ${ACCEPTED}`);
        }
        plain = instances.map(fromValue);
        const parameters = req.parameters === undefined ? undefined : fromValue(req.parameters);
        requestBytes = Buffer.byteLength(
          JSON.stringify(parameters === undefined ? { instances: plain } : { instances: plain, parameters }),
        );
        if (requestBytes > MAX_REQUEST_BYTES) {
          throw invalidArgument(
            `Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes (1.5 MB of JSON per online prediction request); this request has ${requestBytes} bytes: send fewer or shorter instances per request`,
          );
        }
        texts = plain.map(instanceText);
        if (parameters && typeof parameters === 'object' && !Array.isArray(parameters)) {
          const p = parameters as Record<string, unknown>;
          includeDistribution = p.include_distribution === true || p.includeDistribution === true;
        }
      } catch (err) {
        fail(400, requestBytes);
        throw err;
      }

      // 2. The model: loaded once per version (LRU), then run per instance.
      const predictions: Prediction[] = [];
      let modelMs = 0;
      try {
        const predictor: Predictor =
          predictors.peek(serving.cacheKey) ??
          (await predictors.get(serving.cacheKey, () => loadServable(gcs, serving.modelVersion, serving.artifactUri)));
        if (fault && fault.latencyMs > 0) {
          const t = performance.now();
          await new Promise((r) => setTimeout(r, fault.latencyMs));
          modelMs += performance.now() - t;
        }
        if (fault?.fail) {
          throw new Error(`injected fault errors[${dm.displayName}] (--faults)`);
        }
        for (const text of texts) {
          const t = performance.now();
          predictions.push(predictor.predict(text));
          modelMs += performance.now() - t;
        }
      } catch (err) {
        fail(500, requestBytes);
        throw new RpcError(
          status.INTERNAL,
          `deployed model ${deployedModelId} (${serving.modelVersion}) failed to serve the request: ${err instanceof Error ? err.message : String(err)}`,
        );
      }

      // 3. One row per instance (its id is the prediction_id), then the response. The request's
      // latencies go on its first row.
      const overheadMs = Math.max(0, performance.now() - started - modelMs);
      const bodies = store.tx(() => {
        const first = (nextPredictionId.get() as { next: number }).next;
        return predictions.map((p, i) => {
          const body: Record<string, unknown> = {
            output: p.output,
            confidence: p.confidence,
            prediction_id: String(first + i),
            via: p.via,
          };
          if (includeDistribution) body.distribution = p.distribution;
          const record: PredictionRecord = {
            ...base,
            requestFirst: i === 0,
            latencyMs: i === 0 ? modelMs : 0,
            overheadMs: i === 0 ? overheadMs : 0,
            responseCode: 200,
            requestBytes: Buffer.byteLength(JSON.stringify(plain[i])),
            responseBytes: Buffer.byteLength(JSON.stringify(body)),
            inputTokens: words(texts[i]!),
            outputTokens: words(p.output),
            input: texts[i]!,
            output: p.output,
          };
          const id = recordPrediction(store, record);
          if (id !== first + i) body.prediction_id = String(id);
          return body;
        });
      });
      return {
        predictions: bodies.map(toValue),
        deployedModelId,
        model: dm.model,
        modelVersionId: dm.modelVersionId,
        modelDisplayName: serving.modelDisplayName,
      };
    } finally {
      done();
    }
  }

  return { Predict: predict };
}

/** Whitespace-separated words: the emulator's token count. */
export const words = (text: string): number => {
  const t = text.trim();
  return t ? t.split(/\s+/).length : 0;
};

/** The text of an instance, or INVALID_ARGUMENT naming the accepted shapes. */
export function instanceText(instance: unknown, i: number): string {
  if (typeof instance === 'string') return instance;
  if (instance && typeof instance === 'object' && !Array.isArray(instance)) {
    const obj = instance as Record<string, unknown>;
    for (const f of TEXT_FIELDS) if (typeof obj[f] === 'string') return obj[f] as string;
    const keys = Object.keys(obj);
    throw invalidArgument(
      `instances[${i}] is an object with ${keys.length ? `fields ${keys.map((k) => `"${k}"`).join(', ')}` : 'no fields'} and no string text field; ${ACCEPTED}`,
    );
  }
  const kind = instance === null ? 'null' : Array.isArray(instance) ? 'a list' : `a ${typeof instance}`;
  throw invalidArgument(`instances[${i}] is ${kind}; ${ACCEPTED}`);
}
