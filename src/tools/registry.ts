// Registry toolset: semver-versioned models with stages and metrics, in Vertex AI's Model Registry.
import { z } from 'zod';
import {
  Metrics,
  ModelMetadataSchema,
  ModelName,
  ModelVersionRecord,
  ModelVersionSummary,
  RegistryIssue,
  ServingRef,
  STAGES,
  Version,
} from '../lib/index.js';
import { summaryLine } from '../lib/registry/registry.js';
import { confirmed, safetyInput } from './confirm.js';
import { defineTool, redescribe, undescribed } from './define.js';
import { metricList as fmt, num, share } from './format.js';

// Shared parameters (described in the server instructions): no description of their own.
const name = undescribed(ModelName);
const version = undescribed(Version);
const metrics = z.record(z.string(), z.number());
/** name@version, the form every text uses (the version ID where there is no semver). */
const at = (name: string, version: string | null, id?: string) => (version ? `${name}@${version}` : `${name} id ${id}`);

export const uploadModel = defineTool({
  name: 'upload_model',
  description:
    'Register a new version of a model (a new name creates it). Returns its summary; created: false if this same upload existed.',
  toolset: 'registry',
  kind: 'create',
  input: redescribe(ModelMetadataSchema.shape, {
    name: null,
    version: null,
    base_model: 'It derives from',
    serving_container_uri: 'Image URI',
    description: 'Free text',
    deployment_stage: 'staging/production only while no version holds it',
    source: '[a-z0-9_-]{1,63}, e.g. huggingface',
    artifact_uri: 'gs:// directory',
    performance_metrics: 'e.g. {"accuracy": 0.91}',
    cost_metrics: 'e.g. {"usd_per_1k": 0.4}',
    tags: '[a-z0-9_-]{1,59} each',
  }),
  output: {
    ...ModelVersionSummary.shape,
    created: z.boolean().describe('false: this same upload existed already; nothing changed'),
  },
  async handler(args, { lib }) {
    const { name, version, version_id, deployment_stage, aliases, source, tags, created_at, created } =
      await lib.registry.uploadModel(args);
    const r = { name, version, version_id, deployment_stage, aliases, source, tags, created_at, created };
    const what = created ? 'Uploaded' : 'Already registered (same upload; nothing changed):';
    return {
      structured: r,
      text: `${what} ${at(r.name, r.version)} (version id ${r.version_id}, stage ${r.deployment_stage}).`,
    };
  },
});

export const getModel = defineTool({
  name: 'get_model',
  description:
    'A model version: stage, aliases, tags, metrics, deployments, provenance. Without version: the production (default) one.',
  toolset: 'registry',
  kind: 'read',
  input: { name, version: version.optional() },
  output: ModelVersionRecord.shape,
  async handler(args, { lib }) {
    const r = await lib.registry.getModel(args.name, args.version);
    const parts = [
      `${at(r.name, r.version, r.version_id)} (version id ${r.version_id}): ${r.deployment_stage ?? 'no stage'}`,
      `performance ${fmt(r.performance_metrics)}`,
      `cost ${fmt(r.cost_metrics)}`,
      r.deployed_to.length
        ? `deployed on ${r.deployed_to.map((d) => `endpoint ${d.endpoint} (deployed model ${d.deployed_model_id})`).join(', ')}`
        : 'not deployed',
    ];
    if (r.artifact_uri) parts.push(`artifact ${r.artifact_uri}`);
    const p = r.provenance;
    if (p?.tuning_job || p?.dataset)
      parts.push(`from${p.tuning_job ? ` tuning job ${p.tuning_job}` : ''}${p.dataset ? ` dataset ${p.dataset}` : ''}`);
    return { structured: r, text: `${parts.join('; ')}.` };
  },
});

export const listModels = defineTool({
  name: 'list_models',
  description:
    'Model version summaries, filtered by name, stage, source, tags (all of them), in pages of page_size (default 40, max 50): pass next_page_token as page_token for the next.',
  toolset: 'registry',
  kind: 'read',
  input: {
    name: name.optional(),
    stage: z.enum(STAGES).optional(),
    source: z.string().max(63).optional(),
    tags: z.array(z.string().max(59)).max(50).optional(),
    page_size: z.number().int().min(1).max(50).optional(),
    page_token: z.string().max(2048).optional(),
  },
  output: { versions: z.array(ModelVersionSummary), count: z.number(), next_page_token: z.string().nullable() },
  async handler(args, { lib }) {
    const { versions, next_page_token } = await lib.registry.listModelsPage(args);
    const lines = versions.map(summaryLine);
    const more = next_page_token ? ` More: call again with page_token "${next_page_token}".` : '';
    return {
      structured: { versions, count: versions.length, next_page_token },
      text: `${versions.length} version(s)${lines.length ? `: ${lines.join(', ')}` : ''}.${more}`,
    };
  },
});

export const promoteModel = defineTool({
  name: 'promote_model',
  description:
    'Move a version to the next stage (development -> staging -> production) or target_stage; the holder is archived (its traffic reported). Skipping a stage needs force; gates apply. Returns the move.',
  toolset: 'registry',
  kind: 'update',
  input: {
    name,
    version,
    target_stage: z.enum(STAGES).optional(),
    force: z.boolean().default(false),
    gate: z
      .object({
        metric: z.string().max(63).optional().describe('Checked against min/max'),
        min: z.number().optional(),
        max: z.number().optional(),
        beat_production: z.boolean().optional(),
      })
      .optional()
      .describe('Must pass to reach production'),
  },
  output: {
    name: z.string(),
    version: z.string(),
    from_stage: z.enum(STAGES),
    to_stage: z.enum(STAGES),
    stage_now: z.enum(STAGES).nullable().describe('Stage when the call returned'),
    superseded_by: z.string().nullable().describe('Version that took to_stage meanwhile'),
    previous_production: z
      .object({ version: z.string().nullable(), now: z.literal('archived'), serving: z.array(ServingRef) })
      .nullable(),
    labels_fixed: z.array(z.string()),
    gate: z
      .object({ metric: z.string().nullable(), value: z.number().nullable(), passed: z.boolean(), reason: z.string() })
      .nullable(),
  },
  async handler(args, { lib }) {
    const r = await lib.registry.promoteModel(args.name, args.version, args);
    const parts = [`${at(r.name, r.version)}: ${r.from_stage} -> ${r.to_stage}`];
    if (r.gate) parts.push(`gate ${r.gate.passed ? 'passed' : 'failed'}: ${r.gate.reason}`);
    if (r.superseded_by)
      parts.push(
        `then ${at(r.name, r.superseded_by)} took ${r.to_stage} (a concurrent promotion); ${r.version} is now ${r.stage_now}`,
      );
    const prev = r.previous_production;
    if (prev) {
      const live = prev.serving.filter((s) => s.traffic_percentage > 0);
      parts.push(
        live.length
          ? `${at(r.name, prev.version)} archived but STILL SERVES ${live.map((s) => `${share(s.traffic_percentage)} of endpoint ${s.endpoint} (deployed model ${s.deployed_model_id})`).join(', ')}: move its traffic with set_traffic_split, or undeploy_model`
          : `${at(r.name, prev.version)} archived${prev.serving.length ? ` (deployed without traffic: ${prev.serving.map((s) => `endpoint ${s.endpoint}, deployed model ${s.deployed_model_id}`).join('; ')})` : ''}`,
      );
    }
    if (r.labels_fixed.length) parts.push(`labels fixed: ${r.labels_fixed.join('; ')}`);
    return { structured: r, text: `${parts.join('; ')}.` };
  },
});

export const updateModelMetrics = defineTool({
  name: 'update_model_metrics',
  description:
    "Merge performance and/or cost metrics into a version's (a Vertex model evaluation). Returns all its metrics.",
  toolset: 'registry',
  kind: 'update',
  input: {
    name,
    version,
    performance_metrics: Metrics.optional().describe('e.g. {"accuracy": 0.91}'),
    cost_metrics: Metrics.optional().describe('e.g. {"usd_per_1k": 0.4}'),
  },
  output: { name: z.string(), version: z.string().nullable(), performance_metrics: metrics, cost_metrics: metrics },
  async handler(args, { lib }) {
    const r = await lib.registry.updateMetrics(args.name, args.version, args);
    const out = {
      name: r.name,
      version: r.version,
      performance_metrics: r.performance_metrics,
      cost_metrics: r.cost_metrics,
    };
    return {
      structured: out,
      text: `${at(r.name, r.version)}: performance ${fmt(r.performance_metrics)}; cost ${fmt(r.cost_metrics)}.`,
    };
  },
});

export const compareModelVersions = defineTool({
  name: 'compare_model_versions',
  description:
    'Compare version_b with version_a (baseline): by their A/B test if any, else recorded metrics plus significant live ones when both serve on one endpoint. Returns deltas, n, winner, recommendation.',
  toolset: 'registry',
  kind: 'read',
  input: { name, version_a: version, version_b: version },
  output: {
    name: z.string(),
    a: z.string(),
    b: z.string(),
    metrics: z.array(
      z.object({
        metric: z.string(),
        a: z.number().nullable(),
        b: z.number().nullable(),
        delta: z.number().nullable(),
        relative_change: z.number().nullable(),
        direction: z.enum(['higher_is_better', 'lower_is_better']).nullable(),
        better: z.enum(['a', 'b', 'tie']).nullable(),
        source: z.enum(['recorded', 'live']),
        n_a: z.number().nullable(),
        n_b: z.number().nullable(),
        p_value: z.number().nullable(),
      }),
    ),
    basis: z.enum(['ab_test', 'offline']),
    ab_test: z
      .object({ test: z.string(), state: z.string(), verdict: z.string(), sentence: z.string(), winner: z.string() })
      .nullable(),
    winner: z.enum(['a', 'b', 'tie', 'mixed', 'unknown']),
    recommendation: z.string(),
    live_from: z
      .object({ endpoint: z.string(), window_seconds: z.number() })
      .nullable()
      .describe('Where live_* metrics come from; null when the versions do not serve side by side'),
  },
  async handler(args, { lib }) {
    const r = await lib.registry.compareVersions(args.name, args.version_a, args.version_b);
    const from = r.live_from;
    const rows = r.metrics
      .map(
        (m) =>
          `${m.metric} ${num(m.a)} -> ${num(m.b)}${m.better ? ` (${m.better === 'tie' ? 'tie' : `${m.better} better`})` : ''}`,
      )
      .join(', ');
    const ab = r.ab_test ? ` A/B test ${r.ab_test.test} (${r.ab_test.state}).` : '';
    return {
      structured: r,
      text: `${r.name}: ${at(r.name, r.b)} vs ${at(r.name, r.a)} (${r.basis}): ${rows || 'no metrics in common'}. ${r.recommendation}${from ? ` (live numbers: endpoint ${from.endpoint}, last ${from.window_seconds} s)` : ''}${ab}`,
    };
  },
});

export const deleteModel = defineTool({
  name: 'delete_model',
  title: 'Delete model or version',
  description: 'Delete a version, or without version the whole model; refused while deployed. Returns the plan.',
  toolset: 'registry',
  kind: 'destructive',
  input: {
    name,
    version: version.optional(),
    ...safetyInput,
  },
  output: {
    deleted: z.boolean(),
    plan: z.object({
      action: z.enum(['delete_version', 'delete_model']),
      name: z.string(),
      versions: z.array(z.string()),
      default_moves_to: z.string().nullable(),
      deployed: z.array(z.object({ version: z.string().nullable(), endpoint: z.string() })),
    }),
  },
  async handler(args, ctx) {
    const plan = await ctx.lib.registry.planDelete(args.name, args.version);
    const what = `delete ${plan.action === 'delete_model' ? `model ${args.name} with its versions` : 'version'} ${plan.versions.map((v) => at(args.name, v)).join(', ')}${plan.default_moves_to ? ` (default version moves to ${plan.default_moves_to})` : ''}`;
    if (!(await confirmed(ctx, args, what)))
      return { structured: { deleted: false, plan }, text: `Dry run: would ${what}.` };
    await ctx.lib.registry.deleteModel(args.name, args.version);
    return { structured: { deleted: true, plan }, text: `Deleted: ${what.slice(7)}.` };
  },
});

export const checkModel = defineTool({
  name: 'check_model',
  title: 'Check and repair a model',
  description:
    "Check a model's stage labels, aliases and semvers against the registry invariants; dry_run: false fixes the labels. Returns the issues.",
  toolset: 'registry',
  kind: 'update',
  input: { name, dry_run: z.boolean().default(true) },
  output: { name: z.string(), versions: z.number(), dry_run: z.boolean(), issues: z.array(RegistryIssue) },
  async handler(args, { lib }) {
    const r = await lib.registry.checkModel(args.name, { dry_run: args.dry_run });
    const fixed = r.issues.filter((i) => i.fixed).length;
    const list = r.issues
      .map(
        (i) =>
          `${i.fixed ? '[fixed] ' : ''}${at(r.name, i.version, i.version_id)} (version id ${i.version_id}): ${i.detail}`,
      )
      .join('; ');
    const tail =
      r.dry_run && r.issues.some((i) => !['no_semver_alias', 'duplicate_version'].includes(i.kind))
        ? ' Call with dry_run: false to fix the stage labels and aliases.'
        : '';
    return {
      structured: r,
      text: r.issues.length
        ? `${r.name}: ${r.issues.length} issue(s), ${fixed} fixed: ${list}.${tail}`
        : `${r.name}: ${r.versions} version(s), consistent.`,
    };
  },
});

export const registryTools = [
  uploadModel,
  getModel,
  listModels,
  promoteModel,
  updateModelMetrics,
  compareModelVersions,
  deleteModel,
  checkModel,
];
