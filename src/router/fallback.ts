// What answers when the production endpoint cannot: another endpoint, a local model artifact served
// in-process by the emulator's own runtime (the same loader and predictor its PredictionService
// uses, not a copy), or a rule. Each is an Answerer; the router tries them in the order given.
import { invalid, VertexMcpError } from '../lib/errors.js';
import type { Library } from '../lib/index.js';

export type FallbackSpec =
  /** Another endpoint (by ID or display name): its answers carry prediction ids, so outcomes become feedback there. */
  | { kind: 'endpoint'; endpoint: string }
  /**
   * A `local/text-router` model artifact run in this process: a registry version (`model` +
   * `version`), or a directory / gs:// prefix holding its model.json (`uri`). Loaded when the
   * router is created, so using it costs no I/O.
   */
  | { kind: 'artifact'; model: string; version: string }
  | { kind: 'artifact'; uri: string }
  /** A function of the task (keyword rules, a default agent); it must not throw. */
  | { kind: 'rule'; name?: string; route: (task: string) => string };

export interface Answer {
  agent: string;
  prediction_id: string | null;
  endpoint: string | null;
  deployed_model_id: string | null;
  model: string | null;
  version: string | null;
  confidence: number | null;
}

export interface Answerer {
  /** How decisions name it: `endpoint:<ref>`, `artifact:<name>@<version>` or `artifact:<uri>`, `rule:<name>`. */
  readonly source: string;
  /** Calls over the network (an endpoint); local ones (artifact, rule) answer synchronously. */
  readonly remote: boolean;
  /** Loads what it needs (artifacts); resolves when it can answer, rejects when it never will. */
  readonly ready: Promise<void>;
  answer(task: string, budgetMs: number): Promise<Answer>;
}

/** The agent a prediction names: a string, or an object's `output` / `agent` / `label` / `content`. */
export function agentOf(prediction: unknown): string | null {
  if (typeof prediction === 'string') return prediction;
  if (prediction && typeof prediction === 'object') {
    const o = prediction as Record<string, unknown>;
    for (const k of ['output', 'agent', 'label', 'content']) if (typeof o[k] === 'string') return o[k] as string;
  }
  return null;
}

/** One Predict of one task on an endpoint, within `budgetMs` (the gRPC deadline). */
export async function predictAgent(lib: Library, endpoint: string, task: string, budgetMs: number): Promise<Answer> {
  const r = await lib.endpoints.predict(endpoint, [task], undefined, Math.max(1, Math.floor(budgetMs)));
  const p = r.predictions[0];
  const agent = agentOf(p);
  if (!agent) {
    throw new VertexMcpError(
      'INTERNAL',
      `endpoint ${endpoint} answered ${JSON.stringify(p)?.slice(0, 200)}, which names no agent`,
      'Give the router a parse function for this model',
    );
  }
  const confidence = (p as { confidence?: unknown })?.confidence;
  return {
    agent,
    prediction_id: r.prediction_ids[0] ?? null,
    endpoint: r.endpoint,
    deployed_model_id: r.deployed_model_id,
    model: r.name,
    version: r.version,
    confidence: typeof confidence === 'number' ? confidence : null,
  };
}

const none = { prediction_id: null, endpoint: null, deployed_model_id: null, confidence: null };

export function createAnswerer(lib: Library, spec: FallbackSpec, index: number): Answerer {
  const field = `fallbacks[${index}]`;
  if (!spec || typeof spec !== 'object')
    throw invalid(`${field} must be an object with kind endpoint, artifact or rule`);
  if (spec.kind === 'endpoint') {
    if (typeof spec.endpoint !== 'string' || !spec.endpoint)
      throw invalid(`${field}.endpoint must name an endpoint (ID or display name)`);
    return {
      source: `endpoint:${spec.endpoint}`,
      remote: true,
      ready: Promise.resolve(),
      answer: (task, budgetMs) => predictAgent(lib, spec.endpoint, task, budgetMs),
    };
  }
  if (spec.kind === 'rule') {
    if (typeof spec.route !== 'function') throw invalid(`${field}.route must be a function (task) => agent`);
    const route = spec.route;
    return {
      source: `rule:${spec.name ?? 'rule'}`,
      remote: false,
      ready: Promise.resolve(),
      async answer(task) {
        const agent = route(task);
        if (typeof agent !== 'string' || !agent) throw invalid(`rule ${spec.name ?? ''} returned no agent`);
        return { ...none, agent, model: null, version: null };
      },
    };
  }
  if (spec.kind === 'artifact') return artifactAnswerer(lib, spec, field);
  throw invalid(`${field}.kind must be one of endpoint, artifact, rule; got ${JSON.stringify((spec as any).kind)}`);
}

function artifactAnswerer(
  lib: Library,
  spec: { kind: 'artifact'; model: string; version: string } | { kind: 'artifact'; uri: string },
  field: string,
): Answerer {
  const byVersion = 'model' in spec;
  if (byVersion ? !spec.model || !spec.version : !('uri' in spec) || !spec.uri)
    throw invalid(`${field} needs model + version (a registry version) or uri (where its model.json is)`);
  const source = byVersion ? `artifact:${spec.model}@${spec.version}` : `artifact:${spec.uri}`;
  let predict: ((task: string) => { output: string; confidence: number }) | undefined;
  const ready = (async () => {
    let dir: string;
    if (byVersion) {
      const m = await lib.registry.getModel(spec.model, spec.version);
      if (!m.artifact_uri) throw invalid(`${spec.model} ${spec.version} has no artifact_uri to load`);
      dir = m.artifact_uri;
    } else dir = spec.uri;
    // The emulator's convention for a local/text-router artifact: {artifact_uri}/model.json.
    const file = dir.endsWith('.json') ? dir : `${dir.replace(/\/+$/, '')}/model.json`;
    const text = await lib.files.readText(file, `${field}.uri`);
    const runtime = await import('../emulator/runtime/index.js'); // only when an artifact fallback is configured
    const artifact = JSON.parse(text);
    runtime.checkArtifact(artifact);
    predict = runtime.loadPredictor(artifact).predict;
  })();
  ready.catch(() => {}); // reported when it is needed (answer) and by router.ready
  return {
    source,
    remote: false,
    ready,
    async answer(task) {
      if (!predict) {
        await Promise.race([ready, Promise.resolve()]);
        if (!predict) throw new VertexMcpError('UNAVAILABLE', `${source} is still loading`);
      }
      const p = predict(task);
      return {
        ...none,
        agent: p.output,
        confidence: p.confidence,
        model: byVersion ? spec.model : null,
        version: byVersion ? spec.version : null,
      };
    },
  };
}
