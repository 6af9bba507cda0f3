// Tuning job configuration and the trimmed job record the tools return.
import { z } from 'zod';

export const TUNING_TYPES = ['supervised', 'peft', 'distillation', 'rlhf'] as const;
export type TuningType = (typeof TUNING_TYPES)[number];
export const ADAPTER_SIZES = [1, 2, 4, 8, 16, 32] as const;

export const TuningConfigSchema = z.object({
  tuning_type: z.enum(TUNING_TYPES).describe('supervised, peft (LoRA), distillation, rlhf (DPO)'),
  base_model: z.string().min(1).describe('Base model (see list_base_models)'),
  dataset: z
    .object({
      train_uri: z.string().min(1).describe('Training JSONL (gs:// or local path)'),
      validation_uri: z.string().min(1).optional().describe('Validation JSONL'),
    })
    .describe('Files from prepare_dataset'),
  hyperparameters: z
    .object({
      epochs: z.number().int().min(1).max(100).optional().describe('default 10'),
      learning_rate_multiplier: z.number().gt(0).max(100).optional().describe('default 1'),
      batch_size: z.number().int().min(1).max(4096).optional().describe('emulator; default 32'),
      adapter_size: z
        .union(ADAPTER_SIZES.map((n) => z.literal(n)) as unknown as [z.ZodLiteral<1>, z.ZodLiteral<2>])
        .optional()
        .describe('LoRA rank (peft): 1|2|4|8|16|32, default 4'),
      early_stopping_patience: z
        .number()
        .int()
        .min(0)
        .max(100)
        .optional()
        .describe('epochs without improvement; 0 = off; default 3'),
      seed: z.number().int().min(0).max(2147483647).optional().describe('default 42'),
    })
    .default({})
    .describe('Hyperparameters'),
  teacher_model: z.string().optional().describe('distillation teacher: name@version'),
  display_name: z.string().max(128).optional().describe('Tuned model display name'),
  output: z
    .object({
      name: z.string().describe('Registry name'),
      version: z.string().describe('Semver'),
      tags: z.array(z.string()).optional().describe('Tags'),
    })
    .optional()
    .describe('Register the result as name@version on success'),
});
export type TuningConfig = z.input<typeof TuningConfigSchema>;

export const EpochRecord = z.object({
  epoch: z.number(),
  train_loss: z.number(),
  validation_loss: z.number().nullable(),
  train_accuracy: z.number(),
  validation_accuracy: z.number().nullable(),
});
export type EpochRecord = z.infer<typeof EpochRecord>;

export const TuningJobRecord = z.object({
  job: z.string().describe('Job ID'),
  resource_name: z.string(),
  state: z.string().describe('Vertex JobState without the JOB_STATE_ prefix'),
  done: z.boolean(),
  tuning_type: z.enum(TUNING_TYPES).nullable(),
  base_model: z.string().nullable(),
  created_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  error: z.string().nullable(),
  progress: z
    .object({
      epochs_completed: z.number(),
      epochs_planned: z.number().nullable(),
      latest: EpochRecord.nullable(),
      best_epoch: z.number().nullable(),
      /** The epoch whose weights were kept (early stopping restores them). */
      best: EpochRecord.nullable(),
    })
    .nullable(),
  progress_unavailable: z.string().nullable().describe('Why progress is null'),
  tuned_model: z.string().nullable(),
  registered: z.object({ name: z.string(), version: z.string() }).nullable(),
});
export type TuningJobRecord = z.infer<typeof TuningJobRecord>;
