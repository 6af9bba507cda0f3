// Tuning job configuration and the trimmed job record the tools return.
import { z } from 'zod';

export const TUNING_TYPES = ['supervised', 'peft', 'distillation', 'rlhf'] as const;
export type TuningType = (typeof TUNING_TYPES)[number];
export const ADAPTER_SIZES = [1, 2, 4, 8, 16, 32] as const;

export const TuningConfigSchema = z.object({
  tuning_type: z.enum(TUNING_TYPES).describe('supervised, peft (LoRA), distillation, rlhf (DPO)'),
  base_model: z.string().min(1).max(256).describe('Base model (see list_base_models)'),
  dataset: z
    .object({
      train_uri: z.string().min(1).max(2048).describe('Training JSONL (gs:// or local path)'),
      validation_uri: z.string().min(1).max(2048).optional().describe('Validation JSONL'),
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
  teacher_model: z.string().max(256).optional().describe('distillation teacher: name@version'),
  display_name: z.string().max(128).optional().describe('Tuned model display name'),
  output: z
    .object({
      name: z.string().max(63).describe('Registry name'),
      version: z.string().max(128).describe('Semver'),
      tags: z.array(z.string().max(59)).max(50).optional().describe('Tags'),
    })
    .optional()
    .describe('Register the result as name version'),
});
export type TuningConfig = z.input<typeof TuningConfigSchema>;

/**
 * waiting_for_job: not finished; pending: succeeded, not registered yet; registered: the version
 * exists from this job; conflict: it exists from elsewhere; failed: the attempt failed (detail);
 * not_registered: the job ended without a model; not_checked: lists do not look it up.
 */
export const REGISTRATION_STATUSES = [
  'waiting_for_job',
  'pending',
  'registered',
  'conflict',
  'failed',
  'not_registered',
  'not_checked',
] as const;
export type RegistrationStatus = (typeof REGISTRATION_STATUSES)[number];

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
  /** The registry version of this job's declared output, once registered from it. */
  registered: z.object({ name: z.string(), version: z.string() }).nullable(),
  /** The declared output (name, version) and its registration status; null without output. */
  registration: z
    .object({ name: z.string(), version: z.string(), status: z.enum(REGISTRATION_STATUSES), detail: z.string() })
    .nullable(),
});
export type TuningJobRecord = z.infer<typeof TuningJobRecord>;
