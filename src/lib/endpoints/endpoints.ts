// ModelEndpoints: endpoints, deployments, traffic splits and online prediction on Vertex AI
// (the emulator's EndpointService and PredictionService in emulator mode). Versions are named by
// registry name + semver; the library turns them into deployed-model ids and complete splits.
import { EventEmitter } from 'node:events';
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import type { VertexClients } from '../clients.js';
import { callVertex, invalid, notFound, precondition, VertexMcpError } from '../errors.js';
import type { ModelRegistry } from '../registry/registry.js';
import { fromValue, toValue } from '../value.js';
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

export interface EndpointDefaults {
  machine_type: string;
  accelerator_type?: string;
  accelerator_count: number;
  min_replicas: number;
  max_replicas: number;
  target_utilization: number;
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

  constructor(
    private readonly clients: VertexClients,
    private readonly registry: ModelRegistry,
  ) {}

  /** An endpoint by ID or by display name (which must then be unique). */
  async resolve(ref: string): Promise<IEndpoint> {
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
   * the others (the first model deployed takes 100%).
   */
  async deployModel(input: {
    endpoint: string;
    name: string;
    version: string;
    traffic_percentage?: number;
    machine_type?: string;
    accelerator_type?: string;
    accelerator_count?: number;
    min_replicas?: number;
    max_replicas?: number;
    timeoutMs?: number;
  }): Promise<{ endpoint: EndpointRecord; deployed_model_id: string | null; done: boolean; operation: string }> {
    const e = await this.resolve(input.endpoint);
    const d = defaultsOf(e);
    const min = input.min_replicas ?? d.min_replicas;
    const max = input.max_replicas ?? Math.max(d.max_replicas, min);
    if (min < 1) throw invalid(`min_replicas ${min} must be at least 1`);
    if (max < min) throw invalid(`max_replicas ${max} is below min_replicas ${min}`);
    const model = await this.registry.getModel(input.name, input.version);
    const split = splitForDeploy(currentSplit(e), input.traffic_percentage ?? 0);
    const accelerator = input.accelerator_type ?? d.accelerator_type;
    const client = await this.clients.endpoints();
    const [op] = await callVertex(
      'deploy model',
      () =>
        client.deployModel({
          endpoint: String(e.name),
          deployedModel: {
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
          trafficSplit: split,
        }),
      { idempotent: false },
    );
    // The operation's failure (e.g. an unservable model) surfaces here, mapped.
    const done = await settle(
      callVertex('deploy model', () => op.promise(), { idempotent: false }),
      input.timeoutMs ?? 50_000,
    );
    const after = await this.resolve(String(e.name));
    const deployed = done ? (done[0].deployedModel?.id ?? null) : null;
    return {
      endpoint: this.toRecord(after),
      deployed_model_id: deployed ? String(deployed) : null,
      done: Boolean(done),
      operation: String(op.name),
    };
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

  async updateTrafficSplit(ref: string, split: Split): Promise<EndpointRecord> {
    const { endpoint, after } = await this.planTrafficSplit(ref, split);
    const client = await this.clients.endpoints();
    const [updated] = await callVertex(
      'update traffic split',
      () =>
        client.updateEndpoint({
          endpoint: { name: endpoint.name, trafficSplit: after },
          updateMask: { paths: ['traffic_split'] },
        }),
      { idempotent: true },
    );
    return this.toRecord(updated);
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
    const plan = await this.planUndeploy(ref, name, version, split);
    const client = await this.clients.endpoints();
    const [op] = await callVertex(
      'undeploy model',
      () =>
        client.undeployModel({
          endpoint: String(plan.endpoint.name),
          deployedModelId: plan.deployed_model_id,
          ...(plan.last ? {} : { trafficSplit: plan.after }),
        }),
      { idempotent: false },
    );
    await callVertex('undeploy model', () => op.promise(), { idempotent: false });
    return this.getEndpoint(String(plan.endpoint.name));
  }

  /** Deletes an endpoint; with `force`, undeploys everything first (never silently otherwise). */
  async deleteEndpoint(ref: string, force = false): Promise<{ endpoint: string; undeployed: string[] }> {
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
            ...(ids.length > 1 ? { trafficSplit: after } : {}),
          }),
        { idempotent: false },
      );
      await callVertex('undeploy model', () => op.promise(), { idempotent: false });
    }
    const [op] = await callVertex('delete endpoint', () => client.deleteEndpoint({ name: String(e.name) }), {
      idempotent: false,
    });
    await callVertex('delete endpoint', () => op.promise(), { idempotent: false });
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
    const bytes = Buffer.byteLength(JSON.stringify({ instances, parameters }));
    if (bytes > MAX_REQUEST_BYTES) {
      throw invalid(
        `the request is ${bytes} bytes; Vertex AI online prediction accepts at most ${MAX_REQUEST_BYTES} bytes`,
        'Send fewer or shorter instances per call',
      );
    }
    const e = await this.resolve(ref);
    const client = await this.clients.prediction();
    const [res] = await callVertex(
      'predict',
      () =>
        client.predict(
          {
            endpoint: String(e.name),
            instances: instances.map(toValue),
            ...(parameters ? { parameters: toValue(parameters) } : {}),
          },
          { timeout: timeoutMs },
        ),
      { idempotent: false },
    );
    const dm = (e.deployedModels ?? []).find((m) => String(m.id) === String(res.deployedModelId));
    const [name, version] = dm?.displayName?.includes('@') ? dm.displayName.split('@') : [null, null];
    const result: PredictResult = {
      endpoint: String(e.name).split('/').pop()!,
      deployed_model_id: String(res.deployedModelId ?? ''),
      name: name ?? null,
      version: version ?? null,
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
