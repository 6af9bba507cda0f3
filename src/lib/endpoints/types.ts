// Endpoint shapes shared by the library API and the MCP tools.
import { z } from 'zod';

export const DeployedVersion = z.object({
  deployed_model_id: z.string(),
  name: z.string().nullable().describe('Registry model name'),
  version: z.string().nullable(),
  model: z.string().describe('Model resource name with @version id'),
  traffic_percent: z.number(),
  machine_type: z.string().nullable(),
  min_replicas: z.number().nullable(),
  max_replicas: z.number().nullable(),
});
export type DeployedVersion = z.infer<typeof DeployedVersion>;

export const EndpointRecord = z.object({
  endpoint: z.string().describe('Endpoint ID'),
  display_name: z.string(),
  resource_name: z.string(),
  dedicated: z.boolean(),
  deployed: z.array(DeployedVersion),
  traffic_split: z.record(z.string(), z.number()).describe('deployed model id -> percent'),
  defaults: z.object({
    machine_type: z.string(),
    accelerator_type: z.string().nullable(),
    accelerator_count: z.number(),
    min_replicas: z.number(),
    max_replicas: z.number(),
    target_utilization: z.number(),
  }),
  created_at: z.string().nullable(),
});
export type EndpointRecord = z.infer<typeof EndpointRecord>;

export const EndpointDefaultsInput = {
  machine_type: z.string().min(1).max(64).default('n1-standard-2').describe('Machine type for deployments'),
  accelerator_type: z
    .string()
    .max(64)
    .regex(/^[A-Z0-9_]+$/, 'an accelerator such as NVIDIA_TESLA_T4')
    .optional()
    .describe('e.g. NVIDIA_TESLA_T4'),
  accelerator_count: z.number().int().min(0).max(16).default(0).describe('Accelerators per replica'),
  min_replicas: z.number().int().min(1).max(1000).default(1).describe('Autoscaling minimum'),
  max_replicas: z.number().int().min(1).max(1000).default(1).describe('Autoscaling maximum'),
  target_utilization: z.number().int().min(1).max(100).default(60).describe('Target duty cycle %'),
};
