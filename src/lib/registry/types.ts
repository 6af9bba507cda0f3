// The registry's input and output shapes, shared by the library API and the MCP tools. Every
// string and list is bounded; the limits (naming.ts LIMITS) are named in the errors.
import { z } from 'zod';
import { checkArtifactUri, clip, LIMITS, METRIC_NAME_RE, STAGES } from './naming.js';

const bounded = (field: string, max: number) => z.string().max(max, `${field} must be at most ${max} characters`);

const METRIC_RULE = `${METRIC_NAME_RE.source} (a letter first, then letters, digits, "_", "." or "-"; at most ${LIMITS.metric_name} characters)`;

/** Metric names and values: one rule for upload_model and update_model_metrics. */
export const Metrics = z
  .record(z.string(), z.number().finite())
  .superRefine((m, ctx) => {
    const names = Object.keys(m);
    if (names.length > LIMITS.metrics) {
      ctx.addIssue({ code: 'custom', message: `at most ${LIMITS.metrics} metrics per call, got ${names.length}` });
    }
    for (const k of names.filter((n) => !METRIC_NAME_RE.test(n)).slice(0, 3)) {
      ctx.addIssue({ code: 'custom', path: [k], message: `metric name "${clip(k, 40)}" must match ${METRIC_RULE}` });
    }
  })
  .describe('name -> number, e.g. {"accuracy": 0.91}');

export const ModelName = bounded('name', LIMITS.name).describe('Model ID: [a-z][a-z0-9_-]{0,62}');
export const Version = bounded('version', LIMITS.version).describe('Semver, e.g. 1.2.0 or 2.0.0-rc.1');

export const ModelMetadataSchema = z.object({
  name: ModelName,
  version: Version,
  deployment_stage: z
    .enum(['development', 'staging', 'production'])
    .default('development')
    .describe('Initial stage (staging/production only while no other version holds it)'),
  source: bounded('source', LIMITS.source)
    .default('manual')
    .describe('Origin, [a-z0-9_-]{1,63}: manual, se_darwin_evolution, huggingface, tuning_job, ...'),
  base_model: bounded('base_model', LIMITS.base_model).optional().describe('Base model it derives from'),
  artifact_uri: bounded('artifact_uri', LIMITS.artifact_uri)
    .superRefine((uri, ctx) => {
      const problem = checkArtifactUri(uri);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional()
    .describe('gs://bucket/path artifact directory'),
  serving_container_uri: bounded('serving_container_uri', LIMITS.serving_container_uri)
    .min(1, 'serving_container_uri is required')
    .describe('Serving container image URI'),
  performance_metrics: Metrics.optional(),
  cost_metrics: Metrics.optional(),
  tags: z
    .array(bounded('tag', LIMITS.tag))
    .max(LIMITS.tags, `at most ${LIMITS.tags} tags`)
    .default([])
    .describe('Tags: [a-z0-9_-]{1,59}'),
  description: bounded('description', LIMITS.description).optional().describe('Description'),
});
export type ModelMetadata = z.input<typeof ModelMetadataSchema>;

export const StageSchema = z.enum(STAGES);

export const DeployedRef = z.object({ endpoint: z.string(), deployed_model_id: z.string() });

export const ModelVersionRecord = z.object({
  name: z.string(),
  version: z.string().nullable().describe('null for versions registered without a semver alias'),
  version_id: z.string(),
  deployment_stage: StageSchema.nullable(), // the production/staging alias, else the stage label
  aliases: z.array(z.string()),
  source: z.string().nullable(),
  base_model: z.string().nullable(),
  artifact_uri: z.string().nullable(),
  serving_container_uri: z.string().nullable(),
  tags: z.array(z.string()),
  description: z.string().nullable(),
  performance_metrics: z.record(z.string(), z.number()),
  cost_metrics: z.record(z.string(), z.number()),
  deployed_to: z.array(DeployedRef),
  provenance: z.object({ tuning_job: z.string().nullable(), dataset: z.string().nullable() }).nullable(),
  resource_name: z.string(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
});
export type ModelVersionRecord = z.infer<typeof ModelVersionRecord>;

/** What list results carry per version: enough to pick one, without per-version metric reads. */
export const ModelVersionSummary = ModelVersionRecord.pick({
  name: true,
  version: true,
  version_id: true,
  deployment_stage: true,
  aliases: true,
  source: true,
  tags: true,
  created_at: true,
});
export type ModelVersionSummary = z.infer<typeof ModelVersionSummary>;

/** One traffic-carrying deployment of a version: the endpoint and the share it receives. */
export const ServingRef = z.object({
  endpoint: z.string(),
  deployed_model_id: z.string(),
  traffic_percentage: z.number(),
});
export type ServingRef = z.infer<typeof ServingRef>;

/** What check_model finds (and, unless a dry run, fixes). */
export const RegistryIssue = z.object({
  kind: z.enum([
    'stage_label',
    'duplicate_production_label',
    'two_stage_aliases',
    'no_semver_alias',
    'duplicate_version',
  ]),
  version: z.string().nullable(),
  version_id: z.string(),
  detail: z.string(),
  fixed: z.boolean(),
});
export type RegistryIssue = z.infer<typeof RegistryIssue>;
