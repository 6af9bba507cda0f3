// Tuning toolset: base models, tuning jobs (submit, watch, cancel) and registering the result.
// Dataset preparation lives in datasets.ts.
import { z } from 'zod';
import { type TuningJobRecord as Job, ModelVersionSummary, TuningConfigSchema, TuningJobRecord } from '../lib/index.js';
import { confirmed, safetyInput } from './confirm.js';
import { prepareDataset } from './datasets.js';
import { defineTool } from './define.js';
import { MAX_WAIT_SECONDS, progressOf } from './progress.js';

const job = z.string().min(1).max(256).describe('Tuning job ID (or full resource name)');
const waitInput = {
  wait: z
    .boolean()
    .default(false)
    .describe('Wait for the job to finish (with progress notifications), up to wait_seconds'),
  wait_seconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).default(MAX_WAIT_SECONDS).describe('Longest wait'),
};

function summary(j: Job): string {
  const p = j.progress;
  // Once done, the kept (best) epoch; while running, the latest.
  const latest = p?.best ?? p?.latest;
  const acc = latest?.validation_accuracy ?? latest?.train_accuracy;
  const epochs = p ? `, epoch ${p.epochs_completed}/${p.epochs_planned ?? '?'}` : '';
  const metric =
    acc !== undefined && acc !== null
      ? `, ${latest?.validation_accuracy !== null ? 'validation' : 'train'} accuracy ${acc.toFixed(3)}`
      : '';
  const r = j.registration;
  const reg = !r
    ? ''
    : r.status === 'registered'
      ? `; registered as ${r.name} ${r.version}`
      : r.status === 'waiting_for_job' || r.status === 'not_registered' || r.status === 'not_checked'
        ? ''
        : `; output ${r.name} ${r.version} ${r.status === 'pending' ? 'is ' : ''}${r.detail}`;
  const err = j.error ? `: ${j.error}` : '';
  return `Tuning job ${j.job} ${j.state}${err}${epochs}${metric}${reg}.`;
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
  description: 'Base models the current backend can tune, with the tuning types each supports.',
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
  title: 'Submit tuning job',
  description:
    'Start a tuning job (supervised, peft, distillation or rlhf); returns at once, or waits with progress (wait). With output, the model is registered as output.name output.version on success (here when waiting, else register_tuned_model).',
  toolset: 'tuning',
  kind: 'create',
  input: { ...TuningConfigSchema.shape, ...waitInput },
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
  title: 'Get tuning job',
  description:
    'State, per-epoch progress, tuned model and registration status of a tuning job; optionally waits for it to finish. Read-only: it never registers (see register_tuned_model).',
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
  title: 'List tuning jobs',
  description: 'Tuning jobs, newest first, optionally only those in one state.',
  toolset: 'tuning',
  kind: 'read',
  input: {
    state: z
      .enum(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'])
      .optional()
      .describe('Only jobs in this state'),
    limit: z.number().int().min(1).max(200).default(20).describe('At most this many jobs'),
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
      text: `${jobs.length} job(s)${jobs.length ? `: ${jobs.map((j) => `${j.job} ${j.state}`).join(', ')}` : ''}.`,
    };
  },
});

export const cancelTuningJob = defineTool({
  name: 'cancel_tuning_job',
  title: 'Cancel tuning job',
  description: 'Cancel a pending or running tuning job. Needs confirm: true; dry_run shows its current state.',
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
  title: 'Register tuned model',
  description:
    "Register a succeeded tuning job's model as a registry version (source tuning_job; base model, dataset and metrics recorded). Without name and version, the job's declared output. Idempotent: a version already registered from this job is returned; one from elsewhere is ALREADY_EXISTS.",
  toolset: 'tuning',
  kind: 'create',
  input: {
    job,
    name: z.string().min(1).max(63).optional().describe("Registry model name (default: the job's output.name)"),
    version: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('Semantic version, e.g. "1.1.0" (default: the job\'s output.version)'),
    tags: z.array(z.string().max(59)).max(50).optional().describe("Tags for the version (default: the job's)"),
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
      text: `${what} ${name} ${version} from tuning job ${r.job} (validation accuracy ${r.model.performance_metrics.validation_accuracy ?? 'not measured'}).`,
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
