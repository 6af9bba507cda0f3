// Endpoint state shared by the emulated EndpointService and PredictionService.
//
// Storage layout (Store kinds):
//   'endpoint'   name = projects/{p}/locations/{l}/endpoints/{id}, parent = the location. The
//                google.cloud.aiplatform.v1.Endpoint message (camelCase) with its DeployedModels
//                and traffic split, plus `_serving` (never sent to clients): per deployed model,
//                where its artifact lives, so Predict needs no Model lookup.
// Replica counts are not stored here: the autoscaler owns them (replica_events table).
import type { Autoscaler, ScalingSpec } from '../autoscaler.js';
import { DEFAULT_TARGET, METRIC } from '../autoscaler.js';
import { invalidArgument, notFound } from '../errors.js';
import type { Store } from '../store.js';
import type { TrafficSplit } from '../traffic.js';
import { type Timestamp, timestamp } from '../util.js';

export const ENDPOINT_KIND = 'endpoint';

export interface MachineSpec {
  machineType: string;
  acceleratorType?: string;
  acceleratorCount?: number;
}

export interface DedicatedResources {
  machineSpec: MachineSpec;
  minReplicaCount: number;
  maxReplicaCount: number;
  requiredReplicaCount?: number;
  autoscalingMetricSpecs: { metricName: string; target?: number }[];
  spot?: boolean;
}

export interface AutomaticResources {
  minReplicaCount: number;
  maxReplicaCount: number;
}

/** google.cloud.aiplatform.v1.DeployedModel as stored (status is computed when read). */
export interface DeployedModelDoc {
  id: string;
  /** The Model's resource name, without @version. */
  model: string;
  modelVersionId: string;
  displayName: string;
  createTime: Timestamp;
  dedicatedResources?: DedicatedResources;
  automaticResources?: AutomaticResources;
  [field: string]: unknown;
}

/** What Predict needs to serve a deployed model. */
export interface ServingInfo {
  /** The Model's resource name with @versionId. */
  modelVersion: string;
  modelDisplayName: string;
  artifactUri: string;
  /** The predictor cache key: changes if a model is deleted and re-created under the same name. */
  cacheKey: string;
}

export interface EndpointDoc {
  name: string;
  displayName: string;
  description?: string;
  labels: Record<string, string>;
  deployedModels: DeployedModelDoc[];
  trafficSplit: TrafficSplit;
  etag: string;
  createTime: Timestamp;
  updateTime: Timestamp;
  dedicatedEndpointEnabled?: boolean;
  _serving: Record<string, ServingInfo>;
  [field: string]: unknown;
}

const ENDPOINT_NAME = /^(projects\/[^/]+\/locations\/[^/]+)\/endpoints\/([^/]+)$/;

export function parseEndpointName(name: string | undefined, field: string): { location: string; id: string } {
  const m = ENDPOINT_NAME.exec(name ?? '');
  if (!m) {
    throw invalidArgument(
      `${field} "${name ?? ''}" must look like projects/{project}/locations/{location}/endpoints/{endpoint}`,
    );
  }
  return { location: m[1]!, id: m[2]! };
}

/** The counter that numbers an endpoint's Predict requests (the routing draws). */
export const routeCounter = (endpoint: string) => `endpoint.route:${endpoint}`;

/** The autoscaling bounds and targets of a deployed model. */
export function scalingSpec(dm: Pick<DeployedModelDoc, 'dedicatedResources' | 'automaticResources'>): ScalingSpec {
  const r = dm.dedicatedResources ?? dm.automaticResources;
  const min = r?.minReplicaCount ?? 1;
  const max = Math.max(min, r?.maxReplicaCount ?? min);
  const specs = dm.dedicatedResources?.autoscalingMetricSpecs ?? [];
  return {
    minReplicas: min,
    maxReplicas: max,
    metrics: specs.map((s) => ({
      name: s.metricName,
      target: s.target || (s.metricName === METRIC.requestCount ? Number.POSITIVE_INFINITY : DEFAULT_TARGET),
    })),
  };
}

export class EndpointRepo {
  constructor(readonly store: Store) {}

  find(name: string): EndpointDoc | undefined {
    return this.store.get<EndpointDoc>(ENDPOINT_KIND, name);
  }

  get(name: string, field = 'name'): EndpointDoc {
    parseEndpointName(name, field);
    const doc = this.find(name);
    if (!doc) throw notFound(`Endpoint ${name} does not exist`);
    return doc;
  }

  put(doc: EndpointDoc): void {
    this.store.put(ENDPOINT_KIND, doc.name, doc, parseEndpointName(doc.name, 'name').location);
  }

  list(location?: string): EndpointDoc[] {
    return this.store.list<EndpointDoc>(ENDPOINT_KIND, location).map((d) => d.doc);
  }

  delete(name: string): void {
    this.store.delete(ENDPOINT_KIND, name);
  }

  /** The Endpoint message clients see: no internal fields, live replica counts in each status. */
  toEndpoint(doc: EndpointDoc, autoscaler: Autoscaler): Record<string, unknown> {
    const { _serving, ...endpoint } = doc;
    return { ...endpoint, deployedModels: doc.deployedModels.map((dm) => toDeployedModel(doc.name, dm, autoscaler)) };
  }
}

export function toDeployedModel(
  endpoint: string,
  dm: DeployedModelDoc,
  autoscaler: Autoscaler,
): Record<string, unknown> {
  const state = autoscaler.state(endpoint, dm.id);
  return {
    ...dm,
    status: {
      message: '',
      lastUpdateTime: state ? timestamp(Math.floor(state.changedMs)) : dm.createTime,
      availableReplicaCount: state?.replicas ?? 0,
    },
  };
}
