// ModelEndpoints: endpoints, deployments, traffic splits and online prediction on Vertex AI
// (the emulator's EndpointService and PredictionService in emulator mode). Versions are named by
// registry name + semver; the library turns them into deployed-model ids and complete splits.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import type { VertexClients } from '../clients.js';
import { callVertex, invalid, notFound, precondition, VertexMcpError } from '../errors.js';
import type { ModelRegistry } from '../registry/registry.js';
import { fromValue, jsonDepth, MAX_VALUE_DEPTH, toValue } from '../value.js';
import { PredictRoutes } from './routes.js';
import { checkSplit, type Split, splitForDeploy, splitForUndeploy } from './split.js';
import type { DeployedVersion, EndpointRecord } from './types.js';

type IEndpoint = google.cloud.aiplatform.v1.IEndpoint;
type IDeployedModel = google.cloud.aiplatform.v1.IDeployedModel;

// Deployment defaults ride on the endpoint as labels (label values cannot hold upper case).
const L = {
  machine: 'vertex-mcp-machine-type',
  accel: 'vertex-mcp-accelerator',
  accelCount: 'vertex-mcp-accelerator-count',
  min: 'vertex-mcp-min-replicas',
  max: 'vertex-mcp-max-replicas',
  target: 'vertex-mcp-target-utilization',
};
const UTILIZATION_METRIC = 'aiplatform.googleapis.com/prediction/online/cpu/utilization';
/** Vertex's online prediction request limit. */
export const MAX_REQUEST_BYTES = 1_500_000;
/** Replicas per deployed model this library asks for at most (Vertex quotas are far lower by default). */
export const MAX_REPLICAS = 1000;

export interface EndpointDefaults {
  machine_type: string;
  accelerator_type?: string;
  accelerator_count: number;
  min_replicas: number;
  max_replicas: number;
  target_utilization: number;
}

export interface DeployResult {
  endpoint: EndpointRecord;
  deployed_model_id: string | null;
  done: boolean;
  /** The DeployModel operation; null when nothing was deployed (already there). */
  operation: string | null;
  /** The version was already deployed on the endpoint: nothing was deployed, no traffic moved. */
  already_deployed: boolean;
  /** What the caller should know: a traffic_percentage that was not applied, settings that differ. */
  note: string | null;
}

export interface DeployInput {
  endpoint: string;
  name: string;
  version: string;
  /** Share for the new deployment (default 0; the first model of an endpoint takes 100%). */
  traffic_percentage?: number;
  machine_type?: string;
  accelerator_type?: string;
  accelerator_count?: number;
  min_replicas?: number;
  max_replicas?: number;
  timeoutMs?: number;
}

export interface PredictResult {
  endpoint: string;
  deployed_model_id: string;
  name: string | null;
  version: string | null;
  predictions: unknown[];
  /** One per prediction, for record_feedback. */
  prediction_ids: string[];
}

export class ModelEndpoints {
  /** Told of every prediction served (monitoring keeps them for feedback and drift); returns ids. */
  onPredict?: (result: PredictResult, instances: unknown[]) => string[];
  /** Emits 'predicted' (endpoint id) after each prediction: resource subscriptions listen. */
  // One listener per connected MCP session (HTTP): no fixed ceiling.
  readonly events = new EventEmitter().setMaxListeners(0);
  /** Per-endpoint chains: this process changes one endpoint's deployments and split at a time. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** What predict needs to be one round trip (routes.ts). */
  private readonly routes: PredictRoutes;

  constructor(
    private readonly clients: VertexClients,
    private readonly registry: ModelRegistry,
  ) {
    this.routes = new PredictRoutes(clients.parent);
  }

  /** An endpoint by ID or by display name (which must then be unique); predict's routes learn it. */
  async resolve(ref: string): Promise<IEndpoint> {
    const e = await this.read(ref);
    this.routes.remember(e, ref);
    return e;
  }

  private async read(ref: string): Promise<IEndpoint> {
    const client = await this.clients.endpoints();
    if (ref.startsWith('projects/') || /^[0-9]+$/.test(ref)) {
      const name = ref.startsWith('projects/') ? ref : `${this.clients.parent}/endpoints/${ref}`;
      try {
        const [e] = await callVertex('get endpoint', () => client.getEndpoint({ name }), { idempotent: true });
        return e;
      } catch (err) {
        if (!(err instanceof VertexMcpError && err.code === 'NOT_FOUND')) throw err;
      }
    }
    const [found] = await callVertex(
      'list endpoints',
      () => client.listEndpoints({ parent: this.clients.parent, filter: `display_name="${ref.replace(/"/g, '')}"` }),
      { idempotent: true },
    );
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      throw invalid(
        `${found.length} endpoints are named "${ref}"`,
        `Use the ID: ${found.map((e) => String(e.name).split('/').pop()).join(', ')}`,
      );
    }
    throw notFound(
      `endpoint "${ref}" not found`,
      'list_endpoints shows the endpoints; create one with create_endpoint',
    );
  }

  async createEndpoint(
    input: { display_name: string; dedicated?: boolean; description?: string } & EndpointDefaults,
  ): Promise<EndpointRecord> {
    checkCount('min_replicas', input.min_replicas, 1, MAX_REPLICAS);
    checkCount('max_replicas', input.max_replicas, 1, MAX_REPLICAS);
    checkCount('accelerator_count', input.accelerator_count, 0, 16);
    checkCount('target_utilization', input.target_utilization, 1, 100);
    if (input.max_replicas < input.min_replicas) {
      throw invalid(`max_replicas ${input.max_replicas} is below min_replicas ${input.min_replicas}`);
    }
    const client = await this.clients.endpoints();
    const labels: Record<string, string> = {
      'managed-by': 'vertex-mcp',
      [L.machine]: input.machine_type.toLowerCase(),
      [L.accelCount]: String(input.accelerator_count),
      [L.min]: String(input.min_replicas),
      [L.max]: String(input.max_replicas),
      [L.target]: String(input.target_utilization),
      ...(input.accelerator_type ? { [L.accel]: input.accelerator_type.toLowerCase() } : {}),
    };
    const [op] = await callVertex(
      'create endpoint',
      () =>
        client.createEndpoint({
          parent: this.clients.parent,
          endpoint: {
            displayName: input.display_name,
            description: input.description,
            labels,
            dedicatedEndpointEnabled: input.dedicated ?? false,
          },
        }),
      { idempotent: false },
    );
    const [endpoint] = await callVertex('create endpoint', () => op.promise(), { idempotent: false });
    this.routes.forget(input.display_name); // the name may now be ambiguous: predict reads it again
    return this.toRecord(endpoint);
  }

  async listEndpoints(): Promise<EndpointRecord[]> {
    const client = await this.clients.endpoints();
    const [list] = await callVertex('list endpoints', () => client.listEndpoints({ parent: this.clients.parent }), {
      idempotent: true,
    });
    return list.map((e) => this.toRecord(e));
  }

  async getEndpoint(ref: string): Promise<EndpointRecord> {
    return this.toRecord(await this.resolve(ref));
  }

  /**
   * Deploys registry version `name` `version`; `traffic_percentage` p moves p% to it and rescales
   * the others (the first model deployed takes 100%). Idempotent: when the version is already
   * deployed on the endpoint, that deployment is returned and nothing moves (`note` says so when
   * the requested traffic differs). The deployed-model ID is derived from the endpoint and the
   * version, so a concurrent or retried deploy of the same version (from any process) collides on
   * it (ALREADY_EXISTS) instead of deploying a second copy.
   */
  async deployModel(input: DeployInput): Promise<DeployResult> {
    if (input.traffic_percentage !== undefined) {
      checkCount('traffic_percentage', input.traffic_percentage, 0, 100);
    }
    if (input.min_replicas !== undefined) checkCount('min_replicas', input.min_replicas, 1, MAX_REPLICAS);
    if (input.max_replicas !== undefined) checkCount('max_replicas', input.max_replicas, 1, MAX_REPLICAS);
    if (input.accelerator_count !== undefined) checkCount('accelerator_count', input.accelerator_count, 0, 16);
    const first = await this.resolve(input.endpoint);
    return this.locked(String(first.name), () => this.deployLocked(String(first.name), input));
  }

  private async deployLocked(endpointName: string, input: DeployInput): Promise<DeployResult> {
    const e = await this.resolve(endpointName); // read again under the lock
    const d = defaultsOf(e);
    const min = input.min_replicas ?? d.min_replicas;
    const max = input.max_replicas ?? Math.max(d.max_replicas, min);
    if (max < min) throw invalid(`max_replicas ${max} is below min_replicas ${min}`);
    const model = await this.registry.getModel(input.name, input.version);
    const existing = deploymentOf(e, input.name, input.version, model.resource_name);
    if (existing) return this.alreadyDeployed(e, existing, input);
    const ids = (e.deployedModels ?? []).map((m) => String(m.id));
    const split = splitForDeploy(currentSplit(e), input.traffic_percentage ?? 0, ids);
    const accelerator = input.accelerator_type ?? d.accelerator_type;
    const client = await this.clients.endpoints();
    const request = (id: string | undefined) => ({
      endpoint: endpointName,
      deployedModel: {
        ...(id ? { id } : {}),
        model: model.resource_name,
        displayName: `${input.name}@${input.version}`,
        dedicatedResources: {
          machineSpec: {
            machineType: input.machine_type ?? d.machine_type,
            ...(accelerator
              ? {
                  acceleratorType: accelerator as never,
                  acceleratorCount: input.accelerator_count ?? d.accelerator_count,
                }
              : {}),
          },
          minReplicaCount: min,
          maxReplicaCount: max,
          autoscalingMetricSpecs: [{ metricName: UTILIZATION_METRIC, target: d.target_utilization }],
        },
      },
      // Empty: the split is left as it is (the endpoint serves nothing and the new model gets 0%).
      ...(Object.keys(split).length ? { trafficSplit: split } : {}),
    });
    /** After ALREADY_EXISTS: the deployment another caller made, if it is this version's. */
    const raced = async (err: unknown): Promise<DeployResult | null> => {
      if (!(err instanceof VertexMcpError && err.code === 'ALREADY_EXISTS')) return null;
      const now = await this.resolve(endpointName);
      const dm = deploymentOf(now, input.name, input.version, model.resource_name);
      return dm ? this.alreadyDeployed(now, dm, input) : null;
    };
    const start = (id: string | undefined) =>
      callVertex('deploy model', () => client.deployModel(request(id)), { idempotent: false });
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start(deployedModelIdFor(endpointName, model.resource_name));
    } catch (err) {
      const other = await raced(err);
      if (other) return other;
      if (!(err instanceof VertexMcpError && err.code === 'ALREADY_EXISTS')) throw err;
      // The derived ID is taken by another deployment (a hash collision): let Vertex choose one.
      started = await start(undefined);
    }
    const [op] = started;
    // The operation's failure (e.g. an unservable model) surfaces here, mapped.
    const finished = settle(
      callVertex('deploy model', () => op.promise(), { idempotent: false }),
      input.timeoutMs ?? 50_000,
    );
    let done: Awaited<typeof finished>;
    try {
      done = await finished;
    } catch (err) {
      const other = await raced(err); // another process committed the same deployment first
      if (other) return other;
      throw err;
    }
    const after = await this.resolve(endpointName);
    const deployed = done ? (done[0].deployedModel?.id ?? null) : null;
    return {
      endpoint: this.toRecord(after),
      deployed_model_id: deployed ? String(deployed) : null,
      done: Boolean(done),
      operation: String(op.name),
      already_deployed: false,
      note: null,
    };
  }

  /**
   * Where a DeployModel operation stands (deploy_model returned it unfinished): done with the
   * deployed model's ID, or still running. A failed operation throws its error, mapped.
   */
  async deployProgress(operation: string): Promise<{ done: boolean; deployed_model_id: string | null }> {
    const client = await this.clients.endpoints();
    const op = await callVertex('get deploy operation', () => client.checkDeployModelProgress(operation), {
      idempotent: true,
    });
    if (!op.done) return { done: false, deployed_model_id: null };
    const [res] = await callVertex('deploy model', () => op.promise(), { idempotent: true });
    return { done: true, deployed_model_id: res.deployedModel?.id ? String(res.deployedModel.id) : null };
  }

  private alreadyDeployed(e: IEndpoint, dm: IDeployedModel, input: DeployInput): DeployResult {
    const id = String(dm.id);
    const share = currentSplit(e)[id] ?? 0;
    const what = `${input.name} ${input.version} is already deployed on ${e.displayName} as deployed model ${id} with ${share}% of the traffic`;
    const notes = [what];
    if (input.traffic_percentage !== undefined && input.traffic_percentage !== share) {
      notes.push(
        `traffic_percentage ${input.traffic_percentage} was not applied (deploy_model never moves the traffic of a deployed version): use set_traffic_split to change the split`,
      );
    } else {
      notes.push('nothing was changed');
    }
    const r = dm.dedicatedResources;
    const differs = [
      input.min_replicas !== undefined &&
        r?.minReplicaCount != null &&
        input.min_replicas !== r.minReplicaCount &&
        `min_replicas ${r.minReplicaCount} (asked ${input.min_replicas})`,
      input.max_replicas !== undefined &&
        r?.maxReplicaCount != null &&
        input.max_replicas !== r.maxReplicaCount &&
        `max_replicas ${r.maxReplicaCount} (asked ${input.max_replicas})`,
      input.machine_type !== undefined &&
        r?.machineSpec?.machineType &&
        input.machine_type !== r.machineSpec.machineType &&
        `machine_type ${r.machineSpec.machineType} (asked ${input.machine_type})`,
    ].filter(Boolean);
    if (differs.length) {
      notes.push(`it keeps its ${differs.join(', ')}; undeploy and deploy again to change them`);
    }
    return {
      endpoint: this.toRecord(e),
      deployed_model_id: id,
      done: true,
      operation: null,
      already_deployed: true,
      note: `${notes.join('; ')}.`,
    };
  }

  /** Runs `fn` after every earlier change of the same endpoint made by this process. */
  private locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return next;
  }

  /** The deployed model serving `name` `version` on an endpoint. */
  private deployedOf(e: IEndpoint, name: string, version: string): IDeployedModel {
    const dm = (e.deployedModels ?? []).find((m) => m.displayName === `${name}@${version}`);
    if (!dm) {
      const here = (e.deployedModels ?? []).map((m) => m.displayName ?? m.id).join(', ') || 'none';
      throw notFound(`${name} ${version} is not deployed on endpoint ${e.displayName}`, `Deployed there: ${here}`);
    }
    return dm;
  }

  /** Keys may be versions ("1.1.0", or "name@1.1.0") or deployed-model ids. */
  async planTrafficSplit(ref: string, split: Split): Promise<{ endpoint: IEndpoint; before: Split; after: Split }> {
    const e = await this.resolve(ref);
    const after: Split = {};
    for (const [key, pct] of Object.entries(split)) {
      const dm = (e.deployedModels ?? []).find(
        (m) => m.id === key || m.displayName === key || m.displayName?.endsWith(`@${key}`),
      );
      if (!dm) {
        const known = (e.deployedModels ?? []).map((m) => `${m.displayName} (${m.id})`).join(', ') || 'none';
        throw invalid(`traffic_split names "${key}", which is not deployed on ${e.displayName}`, `Deployed: ${known}`);
      }
      after[String(dm.id)] = pct;
    }
    for (const m of e.deployedModels ?? []) after[String(m.id)] ??= 0;
    checkSplit(after);
    return { endpoint: e, before: currentSplit(e), after };
  }

  /**
   * Sets the split. The update carries the etag of the endpoint it was planned from, so a change
   * made meanwhile (by anyone) makes Vertex refuse it (ABORTED) rather than be overwritten.
   */
  async updateTrafficSplit(ref: string, split: Split): Promise<EndpointRecord> {
    const first = await this.resolve(ref);
    return this.locked(String(first.name), async () => {
      const { endpoint, after } = await this.planTrafficSplit(String(first.name), split);
      const client = await this.clients.endpoints();
      const [updated] = await callVertex(
        'update traffic split',
        () =>
          client.updateEndpoint({
            endpoint: { name: endpoint.name, trafficSplit: after, ...(endpoint.etag ? { etag: endpoint.etag } : {}) },
            updateMask: { paths: ['traffic_split'] },
          }),
        { idempotent: true },
      );
      return this.toRecord(updated);
    });
  }

  async planUndeploy(ref: string, name: string, version: string, split?: Split) {
    const e = await this.resolve(ref);
    const dm = this.deployedOf(e, name, version);
    const ids = (e.deployedModels ?? []).map((m) => String(m.id));
    const before = currentSplit(e);
    let after: Split;
    if (split) {
      after = (await this.planTrafficSplit(ref, split)).after;
      delete after[String(dm.id)];
      checkSplit(after);
    } else {
      after = splitForUndeploy(before, String(dm.id), ids);
    }
    return { endpoint: e, deployed_model_id: String(dm.id), before, after, last: ids.length === 1 };
  }

  async undeployModel(ref: string, name: string, version: string, split?: Split): Promise<EndpointRecord> {
    const first = await this.resolve(ref);
    return this.locked(String(first.name), () => this.undeployLocked(String(first.name), name, version, split));
  }

  private async undeployLocked(ref: string, name: string, version: string, split?: Split): Promise<EndpointRecord> {
    const plan = await this.planUndeploy(ref, name, version, split);
    const client = await this.clients.endpoints();
    const [op] = await callVertex(
      'undeploy model',
      () =>
        client.undeployModel({
          endpoint: String(plan.endpoint.name),
          deployedModelId: plan.deployed_model_id,
          ...(plan.last || Object.keys(plan.after).length === 0 ? {} : { trafficSplit: plan.after }),
        }),
      { idempotent: false },
    );
    await callVertex('undeploy model', () => op.promise(), { idempotent: false });
    return this.getEndpoint(String(plan.endpoint.name));
  }

  /** Deletes an endpoint; with `force`, undeploys everything first (never silently otherwise). */
  async deleteEndpoint(ref: string, force = false): Promise<{ endpoint: string; undeployed: string[] }> {
    const first = await this.resolve(ref);
    return this.locked(String(first.name), () => this.deleteLocked(String(first.name), force));
  }

  private async deleteLocked(ref: string, force: boolean): Promise<{ endpoint: string; undeployed: string[] }> {
    const e = await this.resolve(ref);
    const deployed = (e.deployedModels ?? []).map((m) => String(m.displayName ?? m.id));
    if (deployed.length && !force) {
      throw precondition(
        `endpoint ${e.displayName} still serves ${deployed.join(', ')}`,
        'Undeploy them first, or pass force: true to undeploy and delete',
      );
    }
    const client = await this.clients.endpoints();
    // Undeploy the zero-traffic models first so each step leaves a valid split.
    const order = [...(e.deployedModels ?? [])].sort(
      (a, b) => (e.trafficSplit?.[String(a.id)] ?? 0) - (e.trafficSplit?.[String(b.id)] ?? 0),
    );
    for (const m of order) {
      const current = await this.resolve(String(e.name));
      const ids = (current.deployedModels ?? []).map((x) => String(x.id));
      const after = splitForUndeploy(currentSplit(current), String(m.id), ids);
      const [op] = await callVertex(
        'undeploy model',
        () =>
          client.undeployModel({
            endpoint: String(e.name),
            deployedModelId: String(m.id),
            ...(ids.length > 1 && Object.keys(after).length ? { trafficSplit: after } : {}),
          }),
        { idempotent: false },
      );
      await callVertex('undeploy model', () => op.promise(), { idempotent: false });
    }
    const [op] = await callVertex('delete endpoint', () => client.deleteEndpoint({ name: String(e.name) }), {
      idempotent: false,
    });
    await callVertex('delete endpoint', () => op.promise(), { idempotent: false });
    this.routes.forget(ref, String(e.name));
    return { endpoint: String(e.name).split('/').pop()!, undeployed: deployed };
  }

  async predict(
    ref: string,
    instances: unknown[],
    parameters?: Record<string, unknown>,
    timeoutMs = 30_000,
  ): Promise<PredictResult> {
    if (instances.length === 0)
      throw invalid('instances is empty', 'Send at least one instance, e.g. ["route this task"]');
    // Counted without recursion first: a deeply nested document must not exhaust the stack.
    instances.forEach((x, i) => {
      if (jsonDepth(x) > MAX_VALUE_DEPTH) throw tooDeep(`instances[${i}]`);
    });
    if (parameters && jsonDepth(parameters) > MAX_VALUE_DEPTH) throw tooDeep('parameters');
    const bytes = Buffer.byteLength(JSON.stringify({ instances, parameters }));
    if (bytes > MAX_REQUEST_BYTES) {
      throw invalid(
        `the request is ${bytes} bytes; Vertex AI online prediction accepts at most ${MAX_REQUEST_BYTES} bytes`,
        'Send fewer or shorter instances per call',
      );
    }
    const client = await this.clients.prediction();
    const request = {
      instances: instances.map((x, i) => toValue(x, `instances[${i}]`)),
      ...(parameters ? { parameters: toValue(parameters, 'parameters') } : {}),
    };
    const send = (endpoint: string) =>
      callVertex('predict', () => client.predict({ endpoint, ...request }, { timeout: timeoutMs }), {
        idempotent: false,
      });
    // One round trip: the endpoint's name comes from its ID, or from the routes once its display
    // name was read; the Predict response names the deployed model that served.
    let endpointName = this.routes.endpointName(ref) ?? String((await this.resolve(ref)).name);
    let res: Awaited<ReturnType<typeof send>>[0];
    try {
      [res] = await send(endpointName);
    } catch (err) {
      // NOT_FOUND means nothing was served: the cached endpoint is gone (perhaps re-created under
      // the same display name), or a numeric ref is a display name. Read it again, then retry once.
      if (!(err instanceof VertexMcpError && err.code === 'NOT_FOUND')) throw err;
      this.routes.forget(ref, endpointName);
      const e = await this.resolve(ref); // the helpful NOT_FOUND when there is no such endpoint
      if (String(e.name) === endpointName) throw err;
      endpointName = String(e.name);
      [res] = await send(endpointName);
    }
    const deployedModelId = String(res.deployedModelId ?? '');
    let served = this.routes.deployment(endpointName, deployedModelId);
    if (!served) {
      // A deployment newer than what this process read of the endpoint: one read, then cached.
      await this.resolve(endpointName);
      served = this.routes.deployment(endpointName, deployedModelId);
    }
    const result: PredictResult = {
      endpoint: endpointName.split('/').pop()!,
      deployed_model_id: deployedModelId,
      name: served?.name ?? null,
      version: served?.version ?? null,
      predictions: (res.predictions ?? []).map(fromValue),
      prediction_ids: [],
    };
    result.prediction_ids = this.onPredict?.(result, instances) ?? [];
    this.events.emit('predicted', result.endpoint);
    return result;
  }

  toRecord(e: IEndpoint): EndpointRecord {
    const split = currentSplit(e);
    const deployed: DeployedVersion[] = (e.deployedModels ?? []).map((m) => {
      const [name, version] = m.displayName?.includes('@') ? m.displayName.split('@') : [null, null];
      return {
        deployed_model_id: String(m.id),
        name: name ?? null,
        version: version ?? null,
        model: `${m.model}${m.modelVersionId ? `@${m.modelVersionId}` : ''}`,
        traffic_percent: split[String(m.id)] ?? 0,
        machine_type: m.dedicatedResources?.machineSpec?.machineType ?? null,
        min_replicas: m.dedicatedResources?.minReplicaCount ?? null,
        max_replicas: m.dedicatedResources?.maxReplicaCount ?? null,
      };
    });
    const d = defaultsOf(e);
    return {
      endpoint: String(e.name).split('/').pop()!,
      display_name: String(e.displayName ?? ''),
      resource_name: String(e.name),
      dedicated: Boolean(e.dedicatedEndpointEnabled),
      deployed,
      traffic_split: split,
      defaults: { ...d, accelerator_type: d.accelerator_type ?? null },
      created_at: e.createTime ? new Date(Number(e.createTime.seconds ?? 0) * 1000).toISOString() : null,
    };
  }
}

/** The deployment of `name` `version` on an endpoint: by its display name, or by the model version it serves. */
function deploymentOf(e: IEndpoint, name: string, version: string, resource: string): IDeployedModel | undefined {
  return (e.deployedModels ?? []).find(
    (m) =>
      m.displayName === `${name}@${version}` ||
      (m.modelVersionId && `${String(m.model).split('@')[0]}@${m.modelVersionId}` === resource),
  );
}

/**
 * The deployed-model ID a version gets on an endpoint: 9 digits derived from both names
 * (DeployedModel.id: "1-10 characters, and valid characters are /[0-9]/"). Deterministic, so a
 * second deployment of the same version is refused by Vertex as ALREADY_EXISTS.
 */
export function deployedModelIdFor(endpoint: string, modelVersion: string): string {
  const h = createHash('sha256').update(`${endpoint}\n${modelVersion}`).digest();
  return String(100_000_000 + (h.readUInt32BE(0) % 900_000_000));
}

function tooDeep(field: string): VertexMcpError {
  return invalid(
    `${field} nests more than ${MAX_VALUE_DEPTH} levels deep`,
    `Flatten it: objects and arrays may nest at most ${MAX_VALUE_DEPTH} levels`,
  );
}

function checkCount(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${field} ${value} must be an integer from ${min} to ${max}`);
  }
}

function currentSplit(e: IEndpoint): Split {
  return Object.fromEntries(Object.entries(e.trafficSplit ?? {}).map(([k, v]) => [k, Number(v)]));
}

function defaultsOf(e: IEndpoint): EndpointDefaults {
  const l = e.labels ?? {};
  const int = (k: string, d: number) => (l[k] && /^\d+$/.test(l[k]) ? Number(l[k]) : d);
  return {
    machine_type: l[L.machine] ?? 'n1-standard-2',
    ...(l[L.accel] ? { accelerator_type: l[L.accel]!.toUpperCase() } : {}),
    accelerator_count: int(L.accelCount, 0),
    min_replicas: int(L.min, 1),
    max_replicas: int(L.max, 1),
    target_utilization: int(L.target, 60),
  };
}

/** The promise's value, or null when it is still pending after `ms` (a handle is returned). */
async function settle<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((r) => {
    timer = setTimeout(() => r(null), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
