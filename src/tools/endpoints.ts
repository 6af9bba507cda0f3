// Endpoints toolset: endpoints, deployments by registry version, traffic splits, predictions.
import { z } from 'zod';
import { MAX_REPLICAS } from '../lib/endpoints/endpoints.js';
import { MAX_SPLIT_ENTRIES } from '../lib/endpoints/split.js';
import { precondition } from '../lib/errors.js';
import {
  type EndpointRecord as Endpoint,
  EndpointDefaultsInput,
  EndpointRecord,
  MAX_REQUEST_BYTES,
} from '../lib/index.js';
import { confirmed, safetyInput } from './confirm.js';
import { defineTool, redescribe } from './define.js';
import { int, ms, pct, share, splitByVersion } from './format.js';
import { progressOf } from './progress.js';

// Shared parameters (described in the server instructions): no description of their own.
const endpoint = z.string().min(1).max(256);
const modelName = z.string().min(1).max(128);
const version = z.string().min(1).max(128);
const split = z
  .record(z.string().min(1).max(256), z.number().int().min(0).max(100))
  .refine((o) => Object.keys(o).length <= MAX_SPLIT_ENTRIES, {
    message: `at most ${MAX_SPLIT_ENTRIES} entries`,
  });
/** A deployment as texts name it: the registry version, else the Vertex model; its deployed-model ID beside. */
const deployedText = (d: Endpoint['deployed'][number]) =>
  `${d.name && d.version ? `${d.name}@${d.version}` : `model ${d.model.split('/').pop()}`} (deployed model ${d.deployed_model_id})`;
const splitText = (e: Endpoint) =>
  `endpoint ${e.display_name} (${e.endpoint}): ${e.deployed.map((d) => `${deployedText(d)} ${share(d.traffic_percent)}`).join(', ') || 'nothing deployed'}`;

export const createEndpoint = defineTool({
  name: 'create_endpoint',
  description:
    'Create an endpoint display_name with defaults for its deployments (machine_type, accelerators, min_replicas, max_replicas). Returns it.',
  toolset: 'endpoints',
  kind: 'create',
  input: {
    display_name: z.string().min(1).max(128),
    dedicated: z.boolean().default(false).describe('A Vertex dedicated endpoint'),
    ...redescribe(EndpointDefaultsInput, {
      machine_type: null,
      accelerator_count: 'Per replica',
      min_replicas: null,
      max_replicas: null,
      target_utilization: 'Autoscaling target, % duty cycle',
    }),
  },
  output: EndpointRecord.shape,
  async handler(args, { lib }) {
    const e = await lib.endpoints.createEndpoint(args);
    return { structured: e, text: `Created endpoint ${e.display_name} (ID ${e.endpoint}).` };
  },
});

export const listEndpoints = defineTool({
  name: 'list_endpoints',
  description: 'Endpoints with what each serves and its traffic split.',
  toolset: 'endpoints',
  kind: 'read',
  input: {},
  output: { endpoints: z.array(EndpointRecord), count: z.number() },
  async handler(_args, { lib }) {
    const endpoints = await lib.endpoints.listEndpoints();
    const lines = endpoints.map(splitText);
    return {
      structured: { endpoints, count: endpoints.length },
      text: `${endpoints.length} endpoint(s)${lines.length ? `: ${lines.join('; ')}` : ''}.`,
    };
  },
});

export const deployModel = defineTool({
  name: 'deploy_model',
  description:
    "Deploy a registry version to an endpoint, moving traffic_percentage (default 0; first model 100) to it pro rata; if already there, nothing changes. machine_type, min_replicas, max_replicas: the endpoint's by default. Returns endpoint or running operation.",
  toolset: 'endpoints',
  kind: 'update',
  input: {
    endpoint,
    name: modelName,
    version,
    traffic_percentage: z.number().int().min(0).max(100).optional(),
    machine_type: z.string().min(1).max(64).optional(),
    min_replicas: z.number().int().min(1).max(MAX_REPLICAS).optional(),
    max_replicas: z.number().int().min(1).max(MAX_REPLICAS).optional(),
  },
  output: {
    deployed_model_id: z.string().nullable(),
    done: z.boolean(),
    operation: z.string().nullable().describe('The deploy operation; null when nothing was deployed'),
    already_deployed: z.boolean().describe('The version was already deployed here: nothing changed'),
    note: z.string().nullable().describe('E.g. a traffic_percentage that was not applied'),
    endpoint: EndpointRecord,
  },
  async handler(args, ctx) {
    const progress = progressOf(ctx);
    progress(0, 1, `deploying ${args.name} ${args.version}`);
    const r = await ctx.lib.endpoints.deployModel(args);
    progress(1, 1, r.done ? 'deployed' : 'still deploying');
    if (r.already_deployed) return { structured: r, text: `${r.note} Traffic on ${splitText(r.endpoint)}.` };
    const state = r.done
      ? `deployed as deployed model ${r.deployed_model_id}`
      : `still deploying (operation ${r.operation}; deployed model ${r.deployed_model_id ?? 'not known yet'})`;
    return {
      structured: r,
      text: `${args.name}@${args.version} ${state}${r.note ? ` (${r.note})` : ''}; traffic on ${splitText(r.endpoint)}.`,
    };
  },
});

export const predict = defineTool({
  name: 'predict',
  description:
    'Online prediction: the traffic split picks one version per request. Returns predictions, the serving version, prediction_ids for record_feedback.',
  toolset: 'endpoints',
  kind: 'create', // records a prediction and costs serving time: not read-only
  input: {
    endpoint,
    instances: z
      // Strings are bounded loosely here; the request's 1.5 MB limit is checked (with its message) below.
      .array(z.union([z.string().max(2 * MAX_REQUEST_BYTES), z.record(z.string().max(256), z.unknown())]))
      .min(1)
      .max(100)
      .describe('1-100 strings or {"text": ...}; 1.5 MB in all'),
    parameters: z.record(z.string().max(256), z.unknown()).optional().describe('Model parameters'),
  },
  output: {
    endpoint: z.string(),
    deployed_model_id: z.string(),
    name: z.string().nullable(),
    version: z.string().nullable(),
    predictions: z.array(z.unknown()),
    prediction_ids: z.array(z.string()).describe('One per instance, for record_feedback'),
  },
  async handler(args, { lib }) {
    const r = await lib.endpoints.predict(args.endpoint, args.instances, args.parameters);
    const first = r.predictions[0] as { output?: unknown } | undefined;
    const from = r.name && r.version ? `${r.name}@${r.version}` : 'a model outside the registry';
    return {
      structured: r,
      // Every id (at most 100, one per instance): a client that shows only text can still give feedback.
      text: `${r.predictions.length} prediction(s) from ${from} (deployed model ${r.deployed_model_id}) on endpoint ${r.endpoint}${first?.output !== undefined ? `; first: ${JSON.stringify(first.output).slice(0, 200)}` : ''}; prediction_ids for record_feedback: ${r.prediction_ids.join(', ') || 'none (not recorded)'}.`,
    };
  },
});

export const setTrafficSplit = defineTool({
  name: 'set_traffic_split',
  description: "Set an endpoint's traffic split. Returns it before and after.",
  toolset: 'endpoints',
  kind: 'destructive',
  input: {
    endpoint,
    traffic_split: split.describe('Percent by version or deployed-model ID, sum 100: {"1.0.0": 80, "1.1.0": 20}'),
    ...safetyInput,
  },
  output: { applied: z.boolean(), before: split, after: split, endpoint: EndpointRecord.nullable() },
  async handler(args, ctx) {
    const plan = await ctx.lib.endpoints.planTrafficSplit(args.endpoint, args.traffic_split);
    const { deployed } = await ctx.lib.endpoints.getEndpoint(args.endpoint); // names the IDs by version
    const change = `${splitByVersion(plan.before, deployed)} -> ${splitByVersion(plan.after, deployed)}`;
    if (!(await confirmed(ctx, args, `move traffic on ${plan.endpoint.displayName}: ${change}`))) {
      return {
        structured: { applied: false, before: plan.before, after: plan.after, endpoint: null },
        text: `Dry run: traffic on endpoint ${plan.endpoint.displayName} (${String(plan.endpoint.name).split('/').pop()}) would move from ${change}.`,
      };
    }
    const e = await ctx.lib.endpoints.updateTrafficSplit(args.endpoint, args.traffic_split);
    return {
      structured: { applied: true, before: plan.before, after: plan.after, endpoint: e },
      text: `Traffic on ${splitText(e)}.`,
    };
  },
});

export const undeployModel = defineTool({
  name: 'undeploy_model',
  description:
    'Remove a version from an endpoint; its traffic goes to the others pro rata, or per traffic_split (of those staying). Returns the split before and after.',
  toolset: 'endpoints',
  kind: 'destructive',
  input: {
    endpoint,
    name: modelName,
    version,
    traffic_split: split.optional(),
    ...safetyInput,
  },
  output: { applied: z.boolean(), before: split, after: split, endpoint: EndpointRecord.nullable() },
  async handler(args, ctx) {
    const plan = await ctx.lib.endpoints.planUndeploy(args.endpoint, args.name, args.version, args.traffic_split);
    const { deployed } = await ctx.lib.endpoints.getEndpoint(args.endpoint); // names the IDs by version
    const change = `${splitByVersion(plan.before, deployed)} -> ${splitByVersion(plan.after, deployed)}`;
    if (
      !(await confirmed(
        ctx,
        args,
        `undeploy ${args.name} ${args.version} from ${plan.endpoint.displayName} (${change})`,
      ))
    ) {
      return {
        structured: { applied: false, before: plan.before, after: plan.after, endpoint: null },
        text: `Dry run: would undeploy ${args.name}@${args.version} from endpoint ${plan.endpoint.displayName} (${String(plan.endpoint.name).split('/').pop()}); traffic ${change}.`,
      };
    }
    const e = await ctx.lib.endpoints.undeployModel(args.endpoint, args.name, args.version, args.traffic_split);
    return {
      structured: { applied: true, before: plan.before, after: plan.after, endpoint: e },
      text: `Undeployed ${args.name}@${args.version}; traffic on ${splitText(e)}.`,
    };
  },
});

export const deleteEndpoint = defineTool({
  name: 'delete_endpoint',
  description:
    'Delete an endpoint; refused while versions are deployed, unless force (undeploys them). Returns what is undeployed.',
  toolset: 'endpoints',
  kind: 'destructive',
  input: { endpoint, force: z.boolean().default(false), ...safetyInput },
  output: { deleted: z.boolean(), endpoint: z.string(), undeploys: z.array(z.string()) },
  async handler(args, ctx) {
    const e = await ctx.lib.endpoints.getEndpoint(args.endpoint);
    const undeploys = e.deployed.map((d) => (d.name ? `${d.name}@${d.version}` : d.deployed_model_id));
    if (undeploys.length && !args.force) {
      throw precondition(
        `endpoint ${e.display_name} still serves ${undeploys.join(', ')}`,
        'Undeploy them first, or pass force: true',
      );
    }
    if (
      !(await confirmed(
        ctx,
        args,
        `delete endpoint ${e.display_name}${undeploys.length ? ` and undeploy ${undeploys.join(', ')}` : ''}`,
      ))
    ) {
      return {
        structured: { deleted: false, endpoint: e.endpoint, undeploys },
        text: `Dry run: would delete endpoint ${e.display_name} (${e.endpoint})${undeploys.length ? ` and undeploy ${undeploys.join(', ')}` : ''}.`,
      };
    }
    await ctx.lib.endpoints.deleteEndpoint(args.endpoint, args.force);
    return {
      structured: { deleted: true, endpoint: e.endpoint, undeploys },
      text: `Deleted endpoint ${e.display_name} (${e.endpoint})${undeploys.length ? `; undeployed ${undeploys.join(', ')}` : ''}.`,
    };
  },
});

export const getEndpointStats = defineTool({
  name: 'get_endpoint_stats',
  description:
    'Per deployed version and in total, over window_seconds: traffic share, requests, predictions, failures, p50/p95/p99 latency (ms), replicas; alerts.',
  toolset: 'endpoints',
  kind: 'read',
  input: {
    endpoint,
    window_seconds: z.number().int().min(60).max(2_592_000).default(300),
  },
  output: {
    endpoint: z.string(),
    window_seconds: z.number(),
    total: z.record(z.string(), z.unknown()),
    versions: z.array(z.record(z.string(), z.unknown())),
    alerts: z.array(z.object({ name: z.string(), firing: z.boolean(), since: z.number().nullable() })),
    reasons: z.record(z.string(), z.string()),
  },
  async handler(args, { lib }) {
    const s = await lib.monitoring.getEndpointStats(args.endpoint, args.window_seconds);
    const line = (v: Record<string, any>) =>
      `${v.requests} requests (${v.instances} predictions), ${v.errors} failed (error rate ${pct(v.error_rate)}), p50 ${ms(v.p50_ms)}, p95 ${ms(v.p95_ms)}, p99 ${ms(v.p99_ms)}`;
    const per = s.versions
      .map(
        (v) =>
          `${v.name && v.version ? `${v.name}@${v.version}` : 'a model outside the registry'} (deployed model ${v.deployed_model_id}) ${share(v.traffic_percent)}: ${line(v)}, ${int(v.replicas, '?')} replica(s)`,
      )
      .join('; ');
    const alerts = s.alerts.map((a) => `${a.name}${a.firing ? ' FIRING' : ''}`).join(', ');
    return {
      structured: s as never,
      text: `Endpoint ${s.display_name} (${s.endpoint}), last ${s.window_seconds} s: ${per || 'nothing deployed'}. In all: ${line(s.total)}.${alerts ? ` Alert rules: ${alerts}.` : ''}`,
    };
  },
});

export const endpointTools = [
  createEndpoint,
  listEndpoints,
  deployModel,
  predict,
  setTrafficSplit,
  undeployModel,
  deleteEndpoint,
  getEndpointStats,
];
