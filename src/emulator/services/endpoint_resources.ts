// DeployedModel prediction resources: validation of dedicated_resources / automatic_resources on
// DeployModel, and the fields MutateDeployedModel may change. Messages name the offending field
// (snake_case, as in Vertex's errors) and the rule.

import { METRIC, SUPPORTED_METRICS } from '../autoscaler.js';
import { invalidArgument } from '../errors.js';
import { snakeCase } from '../filter.js';
import type { AutomaticResources, DedicatedResources, DeployedModelDoc } from './endpoint_store.js';

/** MachineSpec.machine_type's documented default for DeployedModel. */
export const DEFAULT_MACHINE_TYPE = 'n1-standard-2';

const MACHINE_TYPE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

type Input = Record<string, any>;

/**
 * Replicas one deployed model may ask for in the emulator. On Vertex AI the project's quota is the
 * limit (its default is far lower); a larger request is refused here rather than tracked.
 */
export const MAX_REPLICAS = 1000;

function count(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw invalidArgument(`${field} must be an integer, got ${String(value).slice(0, 40)}`);
  if (n < 0) throw invalidArgument(`${field} is ${n}; it must not be negative`);
  if (n > max) throw invalidArgument(`${field} is ${n}; at most ${max} is allowed`);
  return n;
}

const replicas = (value: unknown, field: string) => count(value, field, MAX_REPLICAS);

/** Checks and normalises DedicatedResources (defaults filled in: machine type, max = min). */
export function normalizeDedicated(d: Input, field: string): DedicatedResources {
  const ms: Input = d.machineSpec ?? {};
  const machineType: string = ms.machineType || DEFAULT_MACHINE_TYPE;
  if (!MACHINE_TYPE.test(machineType)) {
    throw invalidArgument(
      `${field}.machine_spec.machine_type "${machineType}" is not a machine type (e.g. n1-standard-4, e2-standard-8, g2-standard-12)`,
    );
  }
  const acceleratorType =
    ms.acceleratorType && ms.acceleratorType !== 'ACCELERATOR_TYPE_UNSPECIFIED'
      ? String(ms.acceleratorType)
      : undefined;
  const acceleratorCount = count(ms.acceleratorCount, `${field}.machine_spec.accelerator_count`) ?? 0;
  if (acceleratorType && acceleratorCount === 0) {
    throw invalidArgument(
      `${field}.machine_spec.accelerator_count must be at least 1 when accelerator_type is ${acceleratorType}`,
    );
  }
  if (!acceleratorType && acceleratorCount > 0) {
    throw invalidArgument(
      `${field}.machine_spec.accelerator_type is required when accelerator_count is ${acceleratorCount}`,
    );
  }
  const min = replicas(d.minReplicaCount, `${field}.min_replica_count`) ?? 0;
  if (min < 1) {
    throw invalidArgument(`${field}.min_replica_count is ${min}; it must be greater than or equal to 1`);
  }
  const maxGiven = replicas(d.maxReplicaCount, `${field}.max_replica_count`) ?? 0;
  // "If this value is not provided, will use min_replica_count as the default value."
  const max = maxGiven === 0 ? min : maxGiven;
  if (max < min) {
    throw invalidArgument(
      `${field}.max_replica_count (${max}) must be greater than or equal to min_replica_count (${min})`,
    );
  }
  const required = replicas(d.requiredReplicaCount, `${field}.required_replica_count`);
  if (required !== undefined && required > min) {
    throw invalidArgument(`${field}.required_replica_count (${required}) must not exceed min_replica_count (${min})`);
  }
  const out: DedicatedResources = {
    machineSpec: {
      machineType,
      ...(acceleratorType ? { acceleratorType, acceleratorCount } : {}),
    },
    minReplicaCount: min,
    maxReplicaCount: max,
    autoscalingMetricSpecs: normalizeMetricSpecs(d.autoscalingMetricSpecs, `${field}.autoscaling_metric_specs`),
  };
  if (required) out.requiredReplicaCount = required;
  if (d.spot) out.spot = true;
  return out;
}

export function normalizeMetricSpecs(specs: unknown, field: string): DedicatedResources['autoscalingMetricSpecs'] {
  if (specs === undefined || specs === null) return [];
  if (!Array.isArray(specs)) throw invalidArgument(`${field} must be a list`);
  const seen = new Set<string>();
  return specs.map((s: Input, i) => {
    const f = `${field}[${i}]`;
    const name = s?.metricName;
    if (!name) throw invalidArgument(`${f}.metric_name is required; supported: ${SUPPORTED_METRICS.join(', ')}`);
    if (!SUPPORTED_METRICS.includes(name)) {
      throw invalidArgument(`${f}.metric_name "${name}" is not supported; supported: ${SUPPORTED_METRICS.join(', ')}`);
    }
    if (seen.has(name)) throw invalidArgument(`${field} lists ${name} twice; at most one entry is allowed per metric`);
    seen.add(name);
    const target = count(s.target, `${f}.target`) ?? 0;
    if (name !== METRIC.requestCount && target > 100) {
      throw invalidArgument(`${f}.target is ${target}; utilisation targets are percentages from 1 to 100`);
    }
    return target ? { metricName: name, target } : { metricName: name };
  });
}

export function normalizeAutomatic(a: Input, field: string): AutomaticResources {
  const min = replicas(a.minReplicaCount, `${field}.min_replica_count`) ?? 0;
  const minEff = Math.max(1, min);
  const maxGiven = replicas(a.maxReplicaCount, `${field}.max_replica_count`) ?? 0;
  const max = maxGiven === 0 ? minEff : maxGiven;
  if (max < minEff) {
    throw invalidArgument(
      `${field}.max_replica_count (${max}) must be greater than or equal to min_replica_count (${minEff})`,
    );
  }
  return { minReplicaCount: minEff, maxReplicaCount: max };
}

/**
 * The resources of a DeployModel request. A model deploys to the resource types it supports
 * (Model.supported_deployment_resources_types; models uploaded with a container support
 * DEDICATED_RESOURCES only, as on Vertex).
 */
export function deployResources(
  input: Input,
  supported: string[] | undefined,
  modelVersion: string,
): Pick<DeployedModelDoc, 'dedicatedResources' | 'automaticResources'> {
  const types = supported?.length ? supported : ['DEDICATED_RESOURCES'];
  if (input.sharedResources) {
    throw invalidArgument(
      'deployed_model.shared_resources (a DeploymentResourcePool) is not supported by the emulator; set deployed_model.dedicated_resources',
    );
  }
  if (input.dedicatedResources && input.automaticResources) {
    throw invalidArgument('deployed_model sets both dedicated_resources and automatic_resources; set one');
  }
  if (input.automaticResources) {
    if (!types.includes('AUTOMATIC_RESOURCES')) {
      throw invalidArgument(
        `Model ${modelVersion} does not support automatic_resources (it supports ${types.join(', ')}); set deployed_model.dedicated_resources with machine_spec and min/max_replica_count`,
      );
    }
    return { automaticResources: normalizeAutomatic(input.automaticResources, 'deployed_model.automatic_resources') };
  }
  if (!input.dedicatedResources) {
    throw invalidArgument(
      'deployed_model.dedicated_resources is required: machine_spec.machine_type (default n1-standard-2), min_replica_count >= 1, optionally max_replica_count and autoscaling_metric_specs',
    );
  }
  if (!types.includes('DEDICATED_RESOURCES')) {
    throw invalidArgument(
      `Model ${modelVersion} does not support dedicated_resources (it supports ${types.join(', ')})`,
    );
  }
  return { dedicatedResources: normalizeDedicated(input.dedicatedResources, 'deployed_model.dedicated_resources') };
}

/** MutateDeployedModel's updatable fields (endpoint_service.proto), relative to the resources. */
const MUTABLE_RESOURCE_FIELDS = [
  'min_replica_count',
  'max_replica_count',
  'required_replica_count',
  'autoscaling_metric_specs',
];
const MUTABLE_TOP_LEVEL = ['disable_container_logging'];

export function mutablePaths(): string[] {
  return [
    ...MUTABLE_RESOURCE_FIELDS.map((f) => `dedicated_resources.${f}`),
    'automatic_resources.min_replica_count',
    'automatic_resources.max_replica_count',
    ...MUTABLE_TOP_LEVEL,
  ];
}

/**
 * Applies a MutateDeployedModel update mask to a deployed model. Paths may be written in full
 * (`dedicated_resources.min_replica_count`) or by the field name alone (`min_replica_count`,
 * applied to the resources the model is deployed with).
 */
export function mutateDeployedModel(current: DeployedModelDoc, input: Input, rawPaths: string[]): DeployedModelDoc {
  const paths = rawPaths.map((p) => p.split('.').map(snakeCase).join('.'));
  if (paths.length === 0) {
    throw invalidArgument(
      `update_mask is required and must list the fields to change; mutable: ${mutablePaths().join(', ')}`,
    );
  }
  const kind = current.dedicatedResources ? 'dedicated_resources' : 'automatic_resources';
  const next: DeployedModelDoc = structuredClone(current);
  const res: Input = kind === 'dedicated_resources' ? { ...next.dedicatedResources } : { ...next.automaticResources };
  const src: Input = (kind === 'dedicated_resources' ? input.dedicatedResources : input.automaticResources) ?? {};
  for (const path of paths) {
    if (MUTABLE_TOP_LEVEL.includes(path)) {
      const camel = path.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      next[camel] = input[camel] ?? false;
      continue;
    }
    const [head, leaf] = path.includes('.') ? (path.split('.', 2) as [string, string]) : [kind, path];
    const allowed =
      head === kind &&
      (kind === 'dedicated_resources'
        ? MUTABLE_RESOURCE_FIELDS.includes(leaf)
        : ['min_replica_count', 'max_replica_count'].includes(leaf));
    if (!allowed) {
      const hint =
        head !== kind && (head === 'dedicated_resources' || head === 'automatic_resources')
          ? ` (deployed model ${current.id} uses ${kind})`
          : '';
      throw invalidArgument(
        `update_mask path "${path}" cannot be mutated${hint}; mutable: ${mutablePaths().join(', ')}`,
      );
    }
    const camel = leaf.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    res[camel] = src[camel];
  }
  if (kind === 'dedicated_resources') {
    next.dedicatedResources = normalizeDedicated(res, 'deployed_model.dedicated_resources');
  } else {
    next.automaticResources = normalizeAutomatic(res, 'deployed_model.automatic_resources');
  }
  return next;
}
