// The registry's input and output shapes, shared by the library API and the MCP tools.
import { z } from 'zod';
import { STAGES } from './naming.js';

export const Metrics = z
  .record(z.string().min(1).max(63), z.number().finite())
  .describe('name -> number, e.g. {"accuracy": 0.91}');

export const ModelMetadataSchema = z.object({
  name: z.string().describe('Model ID: [a-z][a-z0-9_-]{0,62}'),
  version: z.string().describe('Semver, e.g. 1.2.0'),
  deployment_stage: z
    .enum(['development', 'staging', 'production'])
    .default('development')
    .describe('Initial stage (production only if none yet)'),
  source: z.string().default('manual').describe('Origin: manual, se_darwin_evolution, huggingface, tuning_job, ...'),
  base_model: z.string().optional().describe('Base model it derives from'),
  artifact_uri: z
    .string()
    .startsWith('gs://', 'artifact_uri must be a gs://bucket/path URI')
    .optional()
    .describe('gs:// artifact directory'),
  serving_container_uri: z.string().min(1).describe('Serving container image URI'),
  performance_metrics: Metrics.optional(),
  cost_metrics: Metrics.optional(),
  tags: z.array(z.string()).max(50).default([]).describe('Tags: [a-z0-9_-]{1,59}'),
  description: z.string().max(2000).optional().describe('Description'),
});
export type ModelMetadata = z.input<typeof ModelMetadataSchema>;

export const StageSchema = z.enum(STAGES);

export const DeployedRef = z.object({ endpoint: z.string(), deployed_model_id: z.string() });

export const ModelVersionRecord = z.object({
  name: z.string(),
  version: z.string().nullable().describe('null for versions registered without a semver alias'),
  version_id: z.string(),
  deployment_stage: StageSchema.nullable(),
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
