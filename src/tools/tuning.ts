// Tuning toolset: base models, tuning jobs (submit, watch, cancel) and registering the result.
// Dataset preparation lives in datasets.ts.
import { z } from 'zod';
import { type TuningJobRecord as Job, ModelVersionSummary, TuningConfigSchema, TuningJobRecord } from '../lib/index.js';
import { confirmed, safetyInput } from './confirm.js';
import { prepareDataset } from './datasets.js';
import { defineTool, redescribe } from './define.js';
import { num } from './format.js';
import { MAX_WAIT_SECONDS, progressOf } from './progress.js';

// Shared parameters (described in the server instructions): no description of their own.
const job = z.string().min(1).max(256);
const waitInput = {
  wait: z.boolean().default(false),
  wait_seconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).default(MAX_WAIT_SECONDS),
};

// The tuning configuration as the library defines it, with listing-length texts (same checks).
const T = TuningConfigSchema.shape;
const none = null;
const tuningInput = redescribe(
  {
    ...T,
    dataset: T.dataset.extend(redescribe(T.dataset.shape, { train_uri: none, validation_uri: none })),
    hyperparameters: T.hyperparameters
      .unwrap()
      .extend(
        redescribe(T.hyperparameters.unwrap().shape, {
          epochs: none,
          learning_rate_multiplier: none,
          batch_size: none,
          adapter_size: none,
          early_stopping_patience: none,
          seed: none,
        }),
      )
      .default({}),
    output: T.output
      .unwrap()
      .extend(redescribe(T.output.unwrap().shape, { name: none, version: none, tags: none }))
      .optional(),
  },
  {
    tuning_type: 'peft = LoRA, rlhf = DPO',
    base_model: 'From list_base_models',
    dataset: 'JSONL (gs:// or local) from prepare_dataset',
    hyperparameters:
      'Defaults: epochs 10, learning_rate_multiplier 1, batch_size 32 (emulator), adapter_size 4 (LoRA rank), early_stopping_patience 3 (epochs; 0 off), seed 42',
    teacher_model: 'Distillation: name@version',
    display_name: 'Of the tuned model',
    output: null,
  },
);

function summary(j: Job): string {
  const p = j.progress;
  // Once done, the kept (best) epoch; while running, the latest.
  const latest = p?.best ?? p?.latest;
  const acc = latest?.validation_accuracy ?? latest?.train_accuracy;
  const epochs = p ? `, epoch ${p.epochs_completed}/${p.epochs_planned ?? '?'}` : '';
  const metric =
    acc !== undefined && acc !== null
      ? `, ${latest?.validation_accuracy !== null ? 'validation' : 'train'} accuracy ${num(acc)}`
      : '';
  const r = j.registration;
  const out = r ? `${r.name}@${r.version}` : j.registered ? `${j.registered.name}@${j.registered.version}` : null;
  const reg = !out
    ? ''
    : j.registered || r?.status === 'registered'
      ? `; registered as ${out}`
      : r?.status === 'waiting_for_job' || r?.status === 'not_checked'
        ? `; output ${out}`
        : `; output ${out} ${r?.status === 'pending' ? 'is ' : ''}${r?.detail}`;
  // The tuned model as Vertex names it (models/ID@version): the intermediate model the job wrote.
  const tuned = j.tuned_model ? `; tuned model ${j.tuned_model.split('/').pop()}` : '';
  const err = j.error ? `: ${j.error}` : '';
  return `Tuning job ${j.job} ${j.state}${err}${epochs}${metric}${tuned}${reg}.`;
}

async function watch(
  ctx: Parameters<typeof submitTuningJob.handler>[1],
  run: (onProgress: (j: Job) => void, timeoutMs: number) => Promise<Job>,
  seconds: number,
) {
  const progress = progressOf(ctx);
  return run((j) => {
    const p = j.progress;
    progress(p?.epochs_completed ?? 0, p?.epochs_planned ?? undefined, summary(j));
  }, seconds * 1000);
}

export const listBaseModels = defineTool({
  name: 'list_base_models',
  title: 'List tunable base models',
  description: 'Base models this backend can tune, with their tuning types.',
  toolset: 'tuning',
  kind: 'read',
  input: {},
  output: {
    backend: z.string(),
    models: z.array(z.object({ id: z.string(), tuning_types: z.array(z.string()), description: z.string() })),
  },
  async handler(_args, { lib }) {
    const { backend, models } = lib.tuning.listBaseModels();
    const out = {
      backend,
      models: models.map(({ id, tuning_types, description }) => ({ id, tuning_types, description })),
    };
    return { structured: out, text: `${backend}: ${models.map((m) => m.id).join(', ')}.` };
  },
});

export const submitTuningJob = defineTool({
  name: 'submit_tuning_job',
  description:
    'Start a tuning job; returns it at once, or when done with wait. With output {name, version, tags}, success registers that version (now if waiting, else register_tuned_model).',
  toolset: 'tuning',
  kind: 'create',
  input: { ...tuningInput, ...waitInput },
  output: TuningJobRecord.shape,
  async handler(args, ctx) {
    const { wait, wait_seconds, ...config } = args;
    const j = await watch(
      ctx,
      (onProgress, timeoutMs) =>
        ctx.lib.tuning.submitTuningJob(config, { wait, timeoutMs, onProgress, signal: ctx.extra.signal }),
      wait_seconds,
    );
    return { structured: j, text: summary(j) };
  },
});

export const getTuningJob = defineTool({
  name: 'get_tuning_job',
  description:
    'A tuning job: state, per-epoch progress, tuned model, registration status; with wait, when done. Never registers (see register_tuned_model).',
  toolset: 'tuning',
  kind: 'read',
  input: { job, ...waitInput },
  output: TuningJobRecord.shape,
  async handler(args, ctx) {
    const j = args.wait
      ? await watch(
          ctx,
          (onProgress, timeoutMs) =>
            ctx.lib.tuning.waitForJob(args.job, { timeoutMs, onProgress, signal: ctx.extra.signal }),
          args.wait_seconds,
        )
      : await ctx.lib.tuning.getTuningJob(args.job);
    return { structured: j, text: summary(j) };
  },
});

export const listTuningJobs = defineTool({
  name: 'list_tuning_jobs',
  description: 'Tuning jobs, newest first, at most limit: ID, state, type, base and tuned model.',
  toolset: 'tuning',
  kind: 'read',
  input: {
    state: z.enum(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']).optional(),
    limit: z.number().int().min(1).max(200).default(20),
  },
  output: {
    jobs: z.array(
      TuningJobRecord.pick({
        job: true,
        state: true,
        tuning_type: true,
        base_model: true,
        created_at: true,
        tuned_model: true,
      }),
    ),
    count: z.number(),
  },
  async handler(args, { lib }) {
    const jobs = (await lib.tuning.listTuningJobs(args)).map(
      ({ job, state, tuning_type, base_model, created_at, tuned_model }) => ({
        job,
        state,
        tuning_type,
        base_model,
        created_at,
        tuned_model,
      }),
    );
    return {
      structured: { jobs, count: jobs.length },
      text: `${jobs.length} job(s)${jobs.length ? `: ${jobs.map((j) => `${j.job} ${j.state}${j.tuned_model ? ` (tuned model ${j.tuned_model.split('/').pop()})` : ''}`).join(', ')}` : ''}.${jobs.length === args.limit ? ` There may be more: raise limit (at most 200).` : ''}`,
    };
  },
});

export const cancelTuningJob = defineTool({
  name: 'cancel_tuning_job',
  description: 'Cancel a pending or running tuning job. Returns the job.',
  toolset: 'tuning',
  kind: 'destructive',
  input: { job, ...safetyInput },
  output: { cancelled: z.boolean(), job: TuningJobRecord },
  async handler(args, ctx) {
    const current = await ctx.lib.tuning.getTuningJob(args.job);
    if (!(await confirmed(ctx, args, `cancel tuning job ${current.job} (${current.state})`))) {
      return { structured: { cancelled: false, job: current }, text: `Dry run: would cancel ${summary(current)}` };
    }
    const j = await ctx.lib.tuning.cancelTuningJob(args.job);
    return { structured: { cancelled: true, job: j }, text: summary(j) };
  },
});

export const registerTunedModel = defineTool({
  name: 'register_tuned_model',
  description:
    "Register a succeeded tuning job's model (base model, dataset, metrics recorded); name, version, tags default to the job's output. Returns the version; already_registered if done before.",
  toolset: 'tuning',
  kind: 'create',
  input: {
    job,
    name: z.string().min(1).max(63).optional(),
    version: z.string().min(1).max(128).optional(),
    tags: z.array(z.string().max(59)).max(50).optional(),
  },
  output: { ...ModelVersionSummary.shape, already_registered: z.boolean().describe('It was registered before') },
  async handler(args, { lib }) {
    const r = await lib.tuning.registerTunedModel(args.job, args);
    const { name, version, version_id, deployment_stage, aliases, source, tags, created_at } = r.model;
    const what = r.already_registered ? 'Already registered:' : 'Registered';
    return {
      structured: {
        name,
        version,
        version_id,
        deployment_stage,
        aliases,
        source,
        tags,
        created_at,
        already_registered: r.already_registered,
      },
      text: `${what} ${name}@${version} (version id ${version_id}, stage ${deployment_stage ?? 'none'}) from tuning job ${r.job} (validation accuracy ${num(r.model.performance_metrics.validation_accuracy, 'not measured')}).`,
    };
  },
});

export const tuningTools = [
  listBaseModels,
  prepareDataset,
  submitTuningJob,
  getTuningJob,
  listTuningJobs,
  cancelTuningJob,
  registerTunedModel,
];
