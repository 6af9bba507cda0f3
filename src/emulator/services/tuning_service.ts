// GenAiTuningService (v1, and v1beta1 for distillation): tuning jobs that really train a
// local/text-router model in a worker thread, one job at a time, with Vertex's JobState
// transitions. Per-epoch metrics go to the job's experiment context (MetadataService); the tuned
// model is uploaded to ModelService with its artifact in the emulator's GCS. Jobs left running by
// a stopped emulator are restarted from the beginning when it starts again (training is
// deterministic for a seed), so no job stays RUNNING forever.
import { Worker } from 'node:worker_threads';
import { status } from '@grpc/grpc-js';
import { failedPrecondition, invalidArgument, notFound } from '../errors.js';
import type { ServiceImpl, UnaryHandler } from '../host.js';
import type { ServiceContext } from '../index.js';
import { BASE_MODELS, type EpochMetrics, isLocalBaseModel, type TuningMethod } from '../runtime/index.js';
import { locationOf, paginate, type Timestamp, timestamp } from '../util.js';
import { validateDisplayName, validateLabels } from '../validation.js';
import { putContext } from './metadata_service.js';
import type { WorkerInput, WorkerMessage } from './tuning_worker.js';

const KIND = 'tuning_job';
const ARTIFACT_BUCKET = 'vertex-mcp-emulator';
/** The serving container the emulator's runtime answers to (deploys check it). */
export const LOCAL_CONTAINER = 'local/text-router';
const TERMINAL = new Set([
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_PAUSED',
  'JOB_STATE_EXPIRED',
]);
const ADAPTER_RANKS: Record<string, number> = {
  ADAPTER_SIZE_ONE: 1,
  ADAPTER_SIZE_TWO: 2,
  ADAPTER_SIZE_FOUR: 4,
  ADAPTER_SIZE_EIGHT: 8,
  ADAPTER_SIZE_SIXTEEN: 16,
  ADAPTER_SIZE_THIRTY_TWO: 32,
};
/** Base learning rate the v1 `learning_rate_multiplier` scales (the runtime uses Adam). */
const BASE_LEARNING_RATE = 0.01;

interface HyperParameters {
  epochCount?: string | number;
  learningRateMultiplier?: number;
  learningRate?: number;
  adapterSize?: string;
}
interface Spec {
  trainingDatasetUri?: string;
  validationDatasetUri?: string;
  hyperParameters?: HyperParameters;
  // distillation (v1beta1)
  baseTeacherModel?: string;
  tunedTeacherModelSource?: string;
  studentModel?: string;
}
export interface TuningJobDoc {
  name: string;
  baseModel?: string;
  tunedModelDisplayName?: string;
  description?: string;
  supervisedTuningSpec?: Spec;
  distillationSpec?: Spec;
  state: string;
  createTime: Timestamp;
  startTime?: Timestamp;
  endTime?: Timestamp;
  updateTime: Timestamp;
  error?: { code: number; message: string };
  labels?: Record<string, string>;
  experiment: string;
  tunedModel?: { model?: string; checkpoints?: { checkpointId: string; epoch: string; step: string }[] };
  tuningDataStats?: Record<string, unknown>;
}

/** Emulator-only knobs travel as labels (Vertex stores them and ignores them). */
const LABEL = {
  method: 'vertex-mcp-method',
  seed: 'vertex-mcp-seed',
  batch: 'vertex-mcp-batch-size',
  patience: 'vertex-mcp-early-stopping',
};

function intLabel(
  labels: Record<string, string> | undefined,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = labels?.[key];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw invalidArgument(`labels["${key}"] must be an integer in [${min}, ${max}], got "${raw}"`);
  return n;
}

/**
 * The worker runs the compiled .js next to this file; under vitest (TypeScript sources) it is
 * booted through tsx's loader instead.
 */
function startWorker(input: WorkerInput): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./tuning_worker.js', here), { workerData: input });
  const entry = JSON.stringify(new URL('./tuning_worker.ts', here).href);
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${entry}); })`;
  return new Worker(boot, { eval: true, workerData: input });
}

export function createTuningService(
  ctx: ServiceContext,
  deps: { uploadModel: UnaryHandler; getModel: UnaryHandler },
): ServiceImpl & { close(): void } {
  const { store, gcs, log } = ctx;
  const queue: string[] = [];
  /** The job training now; `release` frees the queue for the next one (at most once). */
  let running: { name: string; worker: Worker; release: () => void } | null = null;
  let closed = false;

  const get = (name: string): TuningJobDoc => {
    const doc = store.get<TuningJobDoc>(KIND, name);
    if (!doc) throw notFound(`tuning job ${name} not found`);
    return doc;
  };
  const save = (doc: TuningJobDoc) => {
    doc.updateTime = timestamp();
    store.put(KIND, doc.name, doc, locationOf(doc.name, 'name'));
  };
  const fail = (doc: TuningJobDoc, code: number, message: string) => {
    Object.assign(doc, { state: 'JOB_STATE_FAILED', error: { code, message }, endTime: timestamp() });
    save(doc);
  };

  function methodOf(job: TuningJobDoc, spec: Spec): TuningMethod {
    if (job.distillationSpec) return 'distillation';
    if (job.labels?.[LABEL.method] === 'rlhf') return 'rlhf';
    return spec.hyperParameters?.adapterSize && spec.hyperParameters.adapterSize !== 'ADAPTER_SIZE_UNSPECIFIED'
      ? 'peft'
      : 'supervised';
  }

  /** Everything a job needs, validated up front so a bad request creates nothing. */
  async function plan(job: TuningJobDoc) {
    const spec = (job.supervisedTuningSpec ?? job.distillationSpec)!;
    const method = methodOf(job, spec);
    const base = job.distillationSpec ? (spec.studentModel ?? job.baseModel) : job.baseModel;
    const hp = spec.hyperParameters ?? {};
    const epochs = hp.epochCount === undefined ? 10 : Number(hp.epochCount);
    const multiplier = hp.learningRateMultiplier ?? 1;
    const options: WorkerInput['options'] = {
      baseModel: base!,
      method,
      epochs,
      learningRate: hp.learningRate ?? BASE_LEARNING_RATE * multiplier,
      batchSize: intLabel(job.labels, LABEL.batch, 32, 1, 4096),
      seed: intLabel(job.labels, LABEL.seed, 42, 0, 2 ** 31 - 1),
      earlyStoppingPatience: intLabel(job.labels, LABEL.patience, 3, 0, 1000) || null,
      ...(method === 'peft' ? { adapterRank: ADAPTER_RANKS[hp.adapterSize!] } : {}),
    };
    return { spec, method, options };
  }

  async function validate(job: TuningJobDoc): Promise<void> {
    const spec = job.supervisedTuningSpec ?? job.distillationSpec;
    if (!spec) throw invalidArgument('tuning_job.supervised_tuning_spec is required (or distillation_spec on v1beta1)');
    const base = job.distillationSpec ? (spec.studentModel ?? job.baseModel) : job.baseModel;
    if (!base) throw invalidArgument('tuning_job.base_model is required');
    if (!isLocalBaseModel(base)) {
      throw invalidArgument(
        `base_model "${base}" cannot run in the vertex-mcp emulator, which trains local models on the CPU; available here: ${BASE_MODELS.map((b) => b.id).join(', ')}. Use vertex mode (--project) to tune it on Vertex AI`,
      );
    }
    validateLabels(job.labels, 'tuning_job.labels');
    // The tuned model is uploaded under this display name when the job ends: refuse a bad one now,
    // not after training.
    if (job.tunedModelDisplayName)
      validateDisplayName(job.tunedModelDisplayName, 'tuning_job.tuned_model_display_name');
    const hp = spec.hyperParameters ?? {};
    const epochs = hp.epochCount === undefined ? 10 : Number(hp.epochCount);
    if (!Number.isInteger(epochs) || epochs < 1 || epochs > 100) {
      throw invalidArgument(`hyper_parameters.epoch_count must be an integer in [1, 100], got ${hp.epochCount}`);
    }
    const m = hp.learningRateMultiplier;
    if (m !== undefined && !(m > 0 && m <= 100))
      throw invalidArgument(`hyper_parameters.learning_rate_multiplier must be in (0, 100], got ${m}`);
    if (hp.adapterSize && hp.adapterSize !== 'ADAPTER_SIZE_UNSPECIFIED' && !ADAPTER_RANKS[hp.adapterSize]) {
      throw invalidArgument(
        `hyper_parameters.adapter_size ${hp.adapterSize} is not supported; use one of ${Object.keys(ADAPTER_RANKS).join(', ')}`,
      );
    }
    for (const [field, uri] of [
      ['training_dataset_uri', spec.trainingDatasetUri],
      ['validation_dataset_uri', spec.validationDatasetUri],
    ] as const) {
      if (field === 'training_dataset_uri' && !uri) throw invalidArgument(`${field} is required`);
      if (uri && !uri.startsWith('gs://')) throw invalidArgument(`${field} must be a gs:// URI, got "${uri}"`);
      if (uri && !(await gcs.exists(uri))) throw invalidArgument(`${field} ${uri} does not exist`);
    }
    if (job.distillationSpec) {
      if (!spec.tunedTeacherModelSource) {
        throw invalidArgument(
          `distillation_spec.tuned_teacher_model_source is required in the emulator (a tuned local model); base_teacher_model "${spec.baseTeacherModel ?? ''}" needs vertex mode`,
        );
      }
    }
    await plan(job); // label knobs
  }

  async function teacherArtifact(job: TuningJobDoc) {
    const source = job.distillationSpec?.tunedTeacherModelSource;
    if (!source) return null;
    const model = (await deps.getModel({ name: source }, undefined as never)) as {
      artifactUri?: string;
      containerSpec?: { imageUri?: string };
    };
    if (model.containerSpec?.imageUri !== LOCAL_CONTAINER || !model.artifactUri) {
      throw failedPrecondition(`teacher ${source} is not a local model the emulator can run`);
    }
    return JSON.parse(await gcs.readText(`${model.artifactUri.replace(/\/$/, '')}/model.json`));
  }

  async function run(name: string): Promise<void> {
    const job = get(name);
    if (TERMINAL.has(job.state)) return;
    let input: WorkerInput;
    try {
      const { spec, options } = await plan(job);
      input = {
        trainText: await gcs.readText(spec.trainingDatasetUri!),
        validationText: spec.validationDatasetUri ? await gcs.readText(spec.validationDatasetUri) : null,
        options,
        teacher: await teacherArtifact(job),
      };
    } catch (err) {
      const now = get(name);
      if (!TERMINAL.has(now.state))
        fail(now, status.INVALID_ARGUMENT, err instanceof Error ? err.message : String(err));
      return;
    }
    // Read again: a cancel may have landed while the data was read. A cancelled job must not start,
    // nor have its CANCELLED state overwritten by a stale copy.
    const current = get(name);
    if (TERMINAL.has(current.state)) return;
    Object.assign(current, { state: 'JOB_STATE_RUNNING', startTime: timestamp(), tunedModel: { checkpoints: [] } });
    save(current);
    const epochs: EpochMetrics[] = [];
    const context = (extra: Record<string, unknown> = {}) =>
      putContext(ctx, job.experiment, `${job.name.split('/').pop()} metrics`, {
        method: input.options.method,
        epochs_planned: input.options.epochs,
        epochs,
        ...extra,
      });
    context();
    const worker = startWorker(input);
    // The job ends when its last message (done or error) has been handled, or when the worker
    // exits without one (the worker may exit before a `done` is fully handled), or when it is
    // cancelled: a worker told to stop while still loading can take many seconds to exit, and the
    // next job must not wait for it.
    await new Promise<void>((resolve) => {
      let result: Promise<void> | null = null;
      const finish = () => {
        if (running?.worker === worker) running = null;
        resolve();
      };
      running = { name, worker, release: finish };
      worker.on('message', (msg: WorkerMessage) => {
        if (closed) return; // the store is closing; the next start restarts this job
        const cur = get(name);
        if (cur.state !== 'JOB_STATE_RUNNING') return;
        if (msg.type === 'epoch') {
          epochs.push(msg.metrics);
          const checkpoint = {
            checkpointId: String(msg.metrics.epoch),
            epoch: String(msg.metrics.epoch),
            step: String(msg.step),
          };
          cur.tunedModel = { checkpoints: [...(cur.tunedModel?.checkpoints ?? []), checkpoint] };
          save(cur);
          context();
          return;
        }
        result = (async () => {
          if (msg.type === 'error') return fail(cur, msg.code, msg.message);
          try {
            await complete(cur, msg);
            context({ best_epoch: msg.bestEpoch, stopped_early: msg.stoppedEarly });
          } catch (err) {
            if (!closed)
              fail(
                cur,
                status.INTERNAL,
                `saving the tuned model failed: ${err instanceof Error ? err.message : String(err)}`,
              );
          }
        })();
        void result.finally(() => {
          void worker.terminate();
          finish();
        });
      });
      worker.on('error', (err) => {
        if (closed || result) return;
        fail(get(name), status.INTERNAL, `training crashed: ${err.message}`);
        finish();
      });
      worker.on('exit', () => {
        if (result) return; // finish() follows the result
        // Closed: left RUNNING on purpose, so the next start restarts it.
        if (!closed && get(name).state === 'JOB_STATE_RUNNING')
          fail(get(name), status.INTERNAL, 'training stopped without a result');
        finish();
      });
    });
  }

  async function complete(job: TuningJobDoc, msg: Extract<WorkerMessage, { type: 'done' }>): Promise<void> {
    const id = job.name.split('/').pop()!;
    const dir = `gs://${ARTIFACT_BUCKET}/tuning-jobs/${id}`;
    await gcs.write(`${dir}/model.json`, JSON.stringify(msg.artifact));
    const parent = locationOf(job.name, 'name');
    const op = (await deps.uploadModel(
      {
        parent,
        model: {
          displayName: job.tunedModelDisplayName || `${job.baseModel ?? 'model'}-tuned-${id}`,
          description: job.description,
          artifactUri: dir,
          containerSpec: { imageUri: LOCAL_CONTAINER },
          labels: { 'tuning-job': id },
        },
      },
      undefined as never,
    )) as { response: { model: string; modelVersionId: string } };
    job.state = 'JOB_STATE_SUCCEEDED';
    job.endTime = timestamp();
    job.tunedModel = { ...job.tunedModel, model: `${op.response.model}@${op.response.modelVersionId}` };
    job.tuningDataStats = {
      supervisedTuningDataStats: {
        tuningDatasetExampleCount: String(msg.stats.examples),
        totalTuningCharacterCount: String(msg.stats.characters),
        tuningStepCount: String(msg.stats.steps),
        totalTruncatedExampleCount: '0',
        droppedExampleReasons: msg.stats.malformed ? [`${msg.stats.malformed} malformed lines skipped`] : [],
      },
    };
    save(job);
  }

  async function pump(): Promise<void> {
    while (!running && !closed && queue.length) {
      const next = queue.shift()!;
      await run(next).catch((err) =>
        log(`tuning: job ${next} failed to run: ${err instanceof Error ? err.stack : String(err)}`),
      );
    }
  }
  const enqueue = (name: string) => {
    queue.push(name);
    void pump();
  };

  // Jobs a previous run left unfinished start again from the beginning.
  for (const { doc } of store.list<TuningJobDoc>(KIND)) {
    if (doc.state === 'JOB_STATE_CANCELLING') {
      Object.assign(doc, { state: 'JOB_STATE_CANCELLED', endTime: timestamp() });
      save(doc);
    } else if (!TERMINAL.has(doc.state)) {
      log(`tuning: restarting ${doc.name} (was ${doc.state} when the emulator stopped)`);
      Object.assign(doc, { state: 'JOB_STATE_PENDING', tunedModel: undefined });
      save(doc);
      enqueue(doc.name);
    }
  }

  return {
    CreateTuningJob: async (req: { parent: string; tuningJob: TuningJobDoc }) => {
      const parent = locationOf(req.parent, 'parent');
      const tj = req.tuningJob ?? ({} as TuningJobDoc);
      await validate(tj);
      const id = String(store.next('tuning_job.id') + 1000);
      const now = timestamp();
      const doc: TuningJobDoc = {
        ...tj,
        name: `${parent}/tuningJobs/${id}`,
        state: 'JOB_STATE_PENDING',
        createTime: now,
        updateTime: now,
        experiment: `${parent}/metadataStores/default/contexts/tuning-job-${id}`,
      };
      delete doc.tunedModel;
      save(doc);
      enqueue(doc.name);
      return doc;
    },
    GetTuningJob: (req: { name: string }) => get(req.name),
    ListTuningJobs: (req: { parent: string; filter?: string; pageSize?: number; pageToken?: string }) => {
      const parent = locationOf(req.parent, 'parent');
      const state = /^state\s*=\s*"?(\w+)"?$/.exec(req.filter?.trim() ?? '')?.[1];
      if (req.filter && !state)
        throw invalidArgument(`filter "${req.filter}" is not supported; use state="JOB_STATE_SUCCEEDED" or no filter`);
      const jobs = store
        .list<TuningJobDoc>(KIND, parent)
        .map((d) => d.doc)
        .filter((j) => !state || j.state === state)
        .reverse(); // newest first
      const { page, nextPageToken } = paginate(jobs, req.pageSize, req.pageToken);
      return { tuningJobs: page, nextPageToken };
    },
    CancelTuningJob: async (req: { name: string }) => {
      const job = get(req.name);
      if (TERMINAL.has(job.state))
        throw failedPrecondition(
          `tuning job ${req.name} is already ${job.state}; only pending or running jobs can be cancelled`,
        );
      const wasRunning = running?.name === job.name;
      const i = queue.indexOf(job.name);
      if (i >= 0) queue.splice(i, 1);
      Object.assign(job, {
        state: 'JOB_STATE_CANCELLED',
        endTime: timestamp(),
        error: { code: status.CANCELLED, message: 'cancelled by the caller' },
      });
      save(job);
      if (wasRunning) {
        const { worker, release } = running!;
        release(); // the queue moves on now (pump's loop resumes)
        void worker.terminate();
      }
      return {};
    },
    close() {
      closed = true;
      void running?.worker.terminate();
    },
  };
}
