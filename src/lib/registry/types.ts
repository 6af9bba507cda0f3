// The registry's input and output shapes, shared by the library API and the MCP tools.
import { z } from 'zod';
import { STAGES } from './naming.js';

export const Metrics = z
  .record(z.string().min(1).max(63), z.number().finite())
  .describe('Metric name -> number, e.g. {"accuracy": 0.91, "latency_p95_ms": 120}');

export const ModelMetadataSchema = z.object({
  name: z.string().describe('Model name = Vertex model ID: a lowercase letter, then a-z 0-9 _ - (max 63)'),
  version: z.string().describe('Semantic version of this model version, e.g. "1.2.0"'),
  deployment_stage: z
    .enum(['development', 'staging', 'production'])
    .default('development')
    .describe('Initial stage; production only when the model has no production version yet'),
  source: z
    .string()
    .default('manual')
    .describe('Where the model came from: se_darwin_evolution, manual, huggingface, tuning_job, ...'),
  base_model: z.string().optional().describe('The base model this was derived from, e.g. gemini-2.0-flash-001'),
  artifact_uri: z
    .string()
    .regex(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}(\/.*)?$/, 'artifact_uri must be a gs://bucket/path URI')
    .optional()
    .describe('gs:// directory holding the model artifacts'),
  serving_container_uri: z.string().min(1).describe('Serving container image URI (Vertex requires one per model)'),
  performance_metrics: Metrics.optional(),
  cost_metrics: Metrics.optional(),
  tags: z.array(z.string()).max(50).default([]).describe('Tags: lowercase letters, digits, _ and - (max 59 chars)'),
  description: z.string().max(2000).optional().describe('Free-text description of this version'),
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
