// FineTuningPipeline: tuning jobs on Vertex AI's GenAiTuningService (the emulator's in emulator
// mode), with progress, cancellation and automatic registration of the result.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import type { VertexClients } from '../clients.js';
import type { DatasetReport, HaloRoutingOptions, ProgressFn, SeDarwinOptions } from '../datasets/types.js';
import { callVertex, invalid, precondition, VertexMcpError } from '../errors.js';
import type { ModelRegistry } from '../registry/registry.js';
import type { Files } from '../storage.js';
import { fromStruct } from '../value.js';
import { BASE_MODELS, type BaseModel } from './base_models.js';
import {
  type EpochRecord,
  type TuningConfig,
  TuningConfigSchema,
  type TuningJobRecord,
  type TuningType,
} from './types.js';

type ITuningJob = google.cloud.aiplatform.v1.ITuningJob;

type AdapterSize = `ADAPTER_SIZE_${'ONE' | 'TWO' | 'FOUR' | 'EIGHT' | 'SIXTEEN' | 'THIRTY_TWO'}`;
const ADAPTER_ENUM: Record<number, AdapterSize> = {
  1: 'ADAPTER_SIZE_ONE',
  2: 'ADAPTER_SIZE_TWO',
  4: 'ADAPTER_SIZE_FOUR',
  8: 'ADAPTER_SIZE_EIGHT',
  16: 'ADAPTER_SIZE_SIXTEEN',
  32: 'ADAPTER_SIZE_THIRTY_TWO',
};
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'PAUSED', 'EXPIRED']);
// Labels carry what the job's own fields cannot (read back by get/register; Vertex ignores them).
const L = {
  type: 'vertex-mcp-tuning-type',
  method: 'vertex-mcp-method',
  seed: 'vertex-mcp-seed',
  batch: 'vertex-mcp-batch-size',
  patience: 'vertex-mcp-early-stopping',
  outName: 'vertex-mcp-output-name',
  outVersion: 'vertex-mcp-output-version',
};

export interface WaitOptions {
  /** Wait until the job ends or `timeoutMs` passes; returns the current state either way. */
  wait?: boolean;
  timeoutMs?: number;
  pollMs?: number;
  onProgress?: (job: TuningJobRecord) => void;
  signal?: AbortSignal;
}

export class FineTuningPipeline {
  constructor(
    private readonly clients: VertexClients,
    private readonly files: Files,
    private readonly registry: ModelRegistry,
  ) {}

  /** SE-Darwin evolution archive -> tuning JSONL (streaming; see datasets/). */
  async prepareSeDarwinDataset(
    opts: SeDarwinOptions,
    onProgress?: ProgressFn,
    signal?: AbortSignal,
  ): Promise<DatasetReport> {
    const { prepareSeDarwinDataset } = await import('../datasets/index.js'); // loaded on first use
    return prepareSeDarwinDataset(this.files, opts, onProgress, signal);
  }

  /** HALO routing decisions -> tuning JSONL (+ preference pairs for rlhf). */
  async prepareHaloRoutingDataset(
    opts: HaloRoutingOptions,
    onProgress?: ProgressFn,
    signal?: AbortSignal,
  ): Promise<DatasetReport> {
    const { prepareHaloRoutingDataset } = await import('../datasets/index.js'); // loaded on first use
    return prepareHaloRoutingDataset(this.files, opts, onProgress, signal);
  }

  listBaseModels(): { backend: string; models: BaseModel[] } {
    const backend = this.clients.backend.kind;
    return { backend, models: BASE_MODELS.filter((m) => m.backend === backend) };
  }

  private jobPath(job: string): string {
    if (job.startsWith('projects/')) return job;
    if (!/^\d+$/.test(job))
      throw invalid(`job "${job}" is not a tuning job ID`, 'Pass the numeric ID or the full resource name');
    return `${this.clients.parent}/tuningJobs/${job}`;
  }

  /** Local dataset files are uploaded first: Vertex reads datasets from gs:// only. */
  private async datasetUri(uri: string, field: string): Promise<string> {
    if (this.files.isGcs(uri)) {
      if (!(await this.files.exists(uri)))
        throw invalid(`${field} ${uri} does not exist`, 'Prepare it with prepare_dataset');
      return uri;
    }
    const local = this.files.localPath(uri, field);
    const text = await this.files.readText(local, field);
    const bucket =
      this.clients.backend.kind === 'emulator'
        ? 'gs://vertex-mcp-emulator'
        : this.clients.backend.stagingBucket?.replace(/\/$/, '');
    if (!bucket)
      throw invalid(
        `${field} is a local path and no --staging-bucket is set`,
        'Pass a gs:// URI or start with --staging-bucket',
      );
    const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
    const target = `${bucket}/vertex-mcp/datasets/${digest}/${path.basename(local)}`;
    await this.files.writeText(target, text, field);
    return target;
  }

  private async teacherResource(teacher: string): Promise<string> {
    if (teacher.startsWith('projects/')) return teacher;
    const [name, version] = teacher.split('@');
    if (!name || !version) throw invalid(`teacher_model "${teacher}" must be "name@version" or a model resource name`);
    return (await this.registry.getModel(name, version)).resource_name;
  }

  async submitTuningJob(input: TuningConfig, wait: WaitOptions = {}): Promise<TuningJobRecord> {
    const cfg = TuningConfigSchema.parse(input);
    const vertex = this.clients.backend.kind === 'vertex';
    if (cfg.tuning_type === 'rlhf' && vertex) {
      throw invalid(
        'tuning_type rlhf cannot be submitted to Vertex AI by this client',
        '@google-cloud/aiplatform 6.x has no preference-optimization tuning spec; run rlhf on the emulator, or use supervised tuning on the chosen completions',
      );
    }
    if (cfg.tuning_type === 'distillation' && !cfg.teacher_model) {
      throw invalid('distillation needs teacher_model', 'Name the teacher as "name@version" from the registry');
    }
    if (cfg.output) await this.assertFreeVersion(cfg.output.name, cfg.output.version);
    const teacher = cfg.tuning_type === 'distillation' ? await this.teacherResource(cfg.teacher_model!) : undefined;
    const hp = cfg.hyperparameters;
    const adapterSize = cfg.tuning_type === 'supervised' ? undefined : ADAPTER_ENUM[hp.adapter_size ?? 4];
    const spec = {
      trainingDatasetUri: await this.datasetUri(cfg.dataset.train_uri, 'dataset.train_uri'),
      ...(cfg.dataset.validation_uri
        ? { validationDatasetUri: await this.datasetUri(cfg.dataset.validation_uri, 'dataset.validation_uri') }
        : {}),
      hyperParameters: {
        ...(hp.epochs ? { epochCount: hp.epochs } : {}),
        ...(hp.learning_rate_multiplier ? { learningRateMultiplier: hp.learning_rate_multiplier } : {}),
        ...(adapterSize && cfg.tuning_type !== 'rlhf' ? { adapterSize } : {}),
      },
    };
    const labels: Record<string, string> = { 'managed-by': 'vertex-mcp', [L.type]: cfg.tuning_type };
    if (cfg.tuning_type === 'rlhf') labels[L.method] = 'rlhf';
    if (hp.seed !== undefined) labels[L.seed] = String(hp.seed);
    if (hp.batch_size !== undefined) labels[L.batch] = String(hp.batch_size);
    if (hp.early_stopping_patience !== undefined) labels[L.patience] = String(hp.early_stopping_patience);
    if (cfg.output) {
      labels[L.outName] = cfg.output.name;
      labels[L.outVersion] = `v${cfg.output.version.replace(/\./g, '-')}`;
    }
    const common = {
      tunedModelDisplayName: cfg.display_name ?? (cfg.output ? `${cfg.output.name}-${cfg.output.version}` : undefined),
      labels,
    };
    let job: ITuningJob;
    if (cfg.tuning_type === 'distillation') {
      const client = await this.clients.tuningBeta();
      // Vertex runs distillation as a pipeline that needs a root directory in the staging bucket.
      const bucket =
        this.clients.backend.kind === 'vertex' ? this.clients.backend.stagingBucket : 'gs://vertex-mcp-emulator';
      if (!bucket)
        throw invalid('distillation on Vertex AI needs --staging-bucket', "It holds the distillation pipeline's files");
      const root = `${bucket.replace(/\/$/, '')}/vertex-mcp/distillation`;
      [job] = await callVertex(
        'create tuning job',
        () =>
          client.createTuningJob({
            parent: this.clients.parent,
            tuningJob: {
              ...common,
              baseModel: cfg.base_model,
              distillationSpec: {
                ...spec,
                tunedTeacherModelSource: teacher,
                studentModel: cfg.base_model,
                pipelineRootDirectory: root,
              },
            },
          }),
        { idempotent: false },
      );
    } else {
      const client = await this.clients.tuning();
      [job] = await callVertex(
        'create tuning job',
        () =>
          client.createTuningJob({
            parent: this.clients.parent,
            tuningJob: { ...common, baseModel: cfg.base_model, supervisedTuningSpec: spec },
          }),
        { idempotent: false },
      );
    }
    const record = await this.toRecord(job);
    return wait.wait ? this.waitFor(record.resource_name, wait) : record;
  }

  private async assertFreeVersion(name: string, version: string): Promise<void> {
    const exists = await this.registry.getModel(name, version).then(
      () => true,
      (e) => (e instanceof VertexMcpError && e.code === 'NOT_FOUND' ? false : Promise.reject(e)),
    );
    if (exists)
      throw new VertexMcpError(
        'ALREADY_EXISTS',
        `model "${name}" already has version ${version}`,
        'Choose a new output.version',
      );
  }

  async getTuningJob(job: string): Promise<TuningJobRecord> {
    const client = await this.clients.tuning();
    const [j] = await callVertex('get tuning job', () => client.getTuningJob({ name: this.jobPath(job) }), {
      idempotent: true,
    });
    return this.toRecord(j);
  }

  async listTuningJobs(q: { state?: string; limit?: number } = {}): Promise<TuningJobRecord[]> {
    const client = await this.clients.tuning();
    const filter = q.state ? `state="JOB_STATE_${q.state.toUpperCase()}"` : undefined;
    const [jobs] = await callVertex(
      'list tuning jobs',
      () =>
        client.listTuningJobs({ parent: this.clients.parent, ...(filter ? { filter } : {}) }, { autoPaginate: true }),
      { idempotent: true },
    );
    return Promise.all(jobs.slice(0, q.limit ?? 50).map((j) => this.toRecord(j, { register: false })));
  }

  async cancelTuningJob(job: string): Promise<TuningJobRecord> {
    const client = await this.clients.tuning();
    const name = this.jobPath(job);
    await callVertex('cancel tuning job', () => client.cancelTuningJob({ name }), { idempotent: false });
    return this.getTuningJob(name);
  }

  /** Registers a succeeded job's model as `name` `version` (source tuning_job, provenance recorded). */
  async registerTunedModel(job: string, out: { name: string; version: string; tags?: string[] }) {
    const client = await this.clients.tuning();
    const [j] = await callVertex('get tuning job', () => client.getTuningJob({ name: this.jobPath(job) }), {
      idempotent: true,
    });
    const state = String(j.state).replace('JOB_STATE_', '');
    if (state !== 'SUCCEEDED' || !j.tunedModel?.model) {
      throw precondition(`tuning job ${job} is ${state}`, 'Only a SUCCEEDED job has a model to register');
    }
    const models = await this.clients.models();
    const [tuned] = await callVertex('get tuned model', () => models.getModel({ name: String(j.tunedModel!.model) }), {
      idempotent: true,
    });
    if (!tuned.artifactUri || !tuned.containerSpec?.imageUri) {
      throw precondition(
        `tuned model ${j.tunedModel.model} has no artifact to register as a version`,
        'Gemini tuned models are served from their tuning endpoint; use that model resource directly',
      );
    }
    const progress = await this.progress(j);
    const best = progress.value?.best ?? null;
    const metrics: Record<string, number> = {};
    if (best) {
      metrics.train_accuracy = best.train_accuracy;
      metrics.train_loss = best.train_loss;
      if (best.validation_accuracy !== null) metrics.validation_accuracy = best.validation_accuracy;
      if (best.validation_loss !== null) metrics.validation_loss = best.validation_loss;
    }
    const spec = j.supervisedTuningSpec;
    return this.registry.uploadModel(
      {
        name: out.name,
        version: out.version,
        source: 'tuning_job',
        base_model: j.baseModel ?? undefined,
        artifact_uri: tuned.artifactUri,
        serving_container_uri: tuned.containerSpec.imageUri,
        tags: out.tags ?? [],
        ...(Object.keys(metrics).length ? { performance_metrics: metrics } : {}),
      },
      { tuning_job: String(j.name), dataset: spec?.trainingDatasetUri ?? undefined },
    );
  }

  /** Waits for a job to end (or the time budget), reporting progress as epochs complete. */
  waitForJob(job: string, opts: Omit<WaitOptions, 'wait'> = {}): Promise<TuningJobRecord> {
    return this.waitFor(this.jobPath(job), opts);
  }

  /** Polls until the job ends, the time budget runs out, or the caller aborts. */
  private async waitFor(name: string, opts: WaitOptions): Promise<TuningJobRecord> {
    const deadline = Date.now() + (opts.timeoutMs ?? 50_000);
    let last = -1;
    for (;;) {
      const rec = await this.getTuningJob(name);
      const epochs = rec.progress?.epochs_completed ?? 0;
      if (epochs !== last) {
        last = epochs;
        opts.onProgress?.(rec);
      }
      if (rec.done || Date.now() >= deadline || opts.signal?.aborted) return rec;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    }
  }

  private async progress(
    j: ITuningJob,
  ): Promise<{ value: TuningJobRecord['progress']; history: EpochRecord[]; reason: string | null }> {
    if (!j.experiment)
      return { value: null, history: [], reason: 'the job reports no experiment to read metrics from' };
    const client = await this.clients.metadata();
    try {
      const [context] = await callVertex(
        'get tuning metrics',
        () => client.getContext({ name: String(j.experiment) }),
        { idempotent: true },
      );
      const meta = fromStruct(context.metadata) as { epochs?: any[]; epochs_planned?: number; best_epoch?: number };
      if (!Array.isArray(meta.epochs))
        return { value: null, history: [], reason: 'the experiment context carries no per-epoch metrics' };
      const history: EpochRecord[] = meta.epochs.map((e) => ({
        epoch: e.epoch,
        train_loss: e.trainLoss,
        validation_loss: e.validationLoss ?? null,
        train_accuracy: e.trainAccuracy,
        validation_accuracy: e.validationAccuracy ?? null,
      }));
      return {
        value: {
          epochs_completed: history.length,
          epochs_planned: meta.epochs_planned ?? null,
          latest: history.at(-1) ?? null,
          best_epoch: meta.best_epoch ?? null,
          best: history.find((e) => e.epoch === meta.best_epoch) ?? null,
        },
        history,
        reason: null,
      };
    } catch (err) {
      if (err instanceof VertexMcpError && err.code === 'NOT_FOUND')
        return { value: null, history: [], reason: 'no metrics recorded yet' };
      throw err;
    }
  }

  private async toRecord(j: ITuningJob, opts: { register?: boolean } = {}): Promise<TuningJobRecord> {
    const state = String(j.state ?? 'JOB_STATE_UNSPECIFIED').replace('JOB_STATE_', '');
    const labels = j.labels ?? {};
    const p = await this.progress(j);
    let registered: TuningJobRecord['registered'] = null;
    const outName = labels[L.outName];
    const outVersion = labels[L.outVersion]?.replace(/^v/, '').replace(/-/g, '.');
    if (state === 'SUCCEEDED' && outName && outVersion) {
      registered = await this.ensureRegistered(String(j.name), outName, outVersion, opts.register !== false);
    }
    return {
      job: String(j.name).split('/').pop()!,
      resource_name: String(j.name),
      state,
      done: TERMINAL.has(state),
      tuning_type: (labels[L.type] as TuningType | undefined) ?? (j.supervisedTuningSpec ? 'supervised' : null),
      base_model: j.baseModel ?? null,
      created_at: iso(j.createTime),
      ended_at: iso(j.endTime),
      error: j.error?.message ?? null,
      progress: p.value,
      progress_unavailable: p.reason,
      tuned_model: j.tunedModel?.model || null,
      registered,
    };
  }

  /** Registration happens once, on the first read that sees the job succeeded. */
  private async ensureRegistered(job: string, name: string, version: string, register: boolean) {
    try {
      const existing = await this.registry.getModel(name, version);
      return existing.source === 'tuning_job' ? { name, version } : null;
    } catch (err) {
      if (!(err instanceof VertexMcpError && err.code === 'NOT_FOUND') || !register) return null;
    }
    await this.registerTunedModel(job, { name, version });
    return { name, version };
  }
}

function iso(t: google.protobuf.ITimestamp | null | undefined): string | null {
  return t ? new Date((Number(t.seconds ?? 0) + (t.nanos ?? 0) / 1e9) * 1000).toISOString() : null;
}
