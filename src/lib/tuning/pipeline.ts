// FineTuningPipeline: tuning jobs on Vertex AI's GenAiTuningService (the emulator's in emulator
// mode), with progress, cancellation and registration of the result.
//
// Registration: a job's declared output (output.name + output.version + tags) is stored in the
// job's description as a small JSON document (labels cannot hold a semver: no dots, no upper
// case). The version is registered by submitTuningJob when it waits, by registerTunedModel, and by
// registerSucceeded (the background registrar a server runs on an interval) — never by a read.
// Registration is idempotent and converges: a version whose provenance names the same job is that
// job's registration; one from anywhere else is a conflict (ALREADY_EXISTS naming its origin).
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import type { VertexClients } from '../clients.js';
import type { DatasetReport, HaloRoutingOptions, ProgressFn, SeDarwinOptions } from '../datasets/types.js';
import { callVertex, invalid, precondition, VertexMcpError } from '../errors.js';
import type { Files } from '../files.js';
import { checkModelName, checkVersion, TAG_RE } from '../registry/naming.js';
import type { ModelRegistry } from '../registry/registry.js';
import type { ModelMetadata, ModelVersionRecord } from '../registry/types.js';
import { fromStruct } from '../value.js';
import { BASE_MODELS, type BaseModel } from './base_models.js';
import {
  type EpochRecord,
  type RegistrationStatus,
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
/** The key of the declared output in the job description's JSON document. */
const OUTPUT_KEY = 'vertex_mcp_output';
/**
 * A label on the job's tuned model (the Model the tuning job created) once its output was handled:
 * "registered", or "refused" (cannot be registered). Durable, so the background registrar never
 * registers a job twice, even after a restart or after the version was deleted on purpose.
 */
const MARK = 'vertex-mcp-registration';

/** What a job registers on success: a registry name, a semver (exactly as given) and tags. */
export interface DeclaredOutput {
  name: string;
  version: string;
  tags: string[];
}

/** A registration: the registry version, and whether it was there already (from this same job). */
export interface TunedRegistration {
  job: string;
  model: ModelVersionRecord;
  already_registered: boolean;
}

/** What one pass of the background registrar did. */
export interface RegistrarReport {
  /** Succeeded jobs with a declared output that were looked at (settled ones are skipped). */
  checked: number;
  registered: { job: string; name: string; version: string }[];
  /** Jobs whose output cannot be registered (a version from elsewhere, an invalid output...): not retried. */
  refused: { job: string; name: string; version: string; code: string; message: string }[];
  /** Transient failures: retried on the next pass. */
  failed: { job: string; message: string }[];
}

export interface WaitOptions {
  /** Wait until the job ends or `timeoutMs` passes; returns the current state either way. */
  wait?: boolean;
  timeoutMs?: number;
  pollMs?: number;
  onProgress?: (job: TuningJobRecord) => void;
  signal?: AbortSignal;
}

export class FineTuningPipeline {
  /**
   * 'registered' ({job, name, version}) when the background registrar registers a version;
   * 'refused' ({job, name, version, code, message}) when it cannot (e.g. the version exists from
   * another job). A server forwards them as MCP log messages.
   */
  // One listener pair per connected MCP session (HTTP): no fixed ceiling.
  readonly events = new EventEmitter().setMaxListeners(0);
  /** In-flight registrations by "name@version": concurrent callers for the same job share one. */
  private readonly flights = new Map<string, { job: string; promise: Promise<TunedRegistration> }>();
  /** Jobs the background registrar is done with (registered, or refused for good). */
  private readonly settled = new Set<string>();
  private sweep: Promise<RegistrarReport> | null = null;
  private background: NodeJS.Timeout | undefined;

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
    const bucket =
      this.clients.backend.kind === 'emulator'
        ? 'gs://vertex-mcp-emulator'
        : this.clients.backend.stagingBucket?.replace(/\/$/, '');
    if (!bucket)
      throw invalid(
        `${field} is a local path and no --staging-bucket is set`,
        'Pass a gs:// URI or start with --staging-bucket',
      );
    // Streamed (constant memory whatever the file's size) to a content-addressed object: a copy
    // that already exists is the same bytes, so ALREADY_EXISTS means done.
    const { sha256 } = await this.files.digest(local, field);
    const target = `${bucket}/vertex-mcp/datasets/${sha256.slice(0, 16)}/${path.basename(local)}`;
    try {
      await this.files.copy(local, target, { overwrite: false, fromField: field, toField: field });
    } catch (err) {
      if (!(err instanceof VertexMcpError && err.code === 'ALREADY_EXISTS')) throw err;
    }
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
    // A prepared dataset's train/validation pair must be one published generation (manifest).
    const { checkDataset } = await import('../datasets/index.js');
    await checkDataset(this.files, cfg.dataset);
    const out = cfg.output ? checkOutput(cfg.output) : null;
    if (out) {
      await this.assertFreeVersion(out.name, out.version);
      await this.assertUnclaimed(out);
    }
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
    if (out) {
      // For people filtering jobs in the console; the description holds the exact output.
      labels[L.outName] = out.name;
      labels[L.outVersion] = `v${out.version.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`.slice(0, 63);
    }
    const common = {
      // Display names hold at most 128 characters.
      tunedModelDisplayName: cfg.display_name ?? (out ? `${out.name}-${out.version}`.slice(0, 128) : undefined),
      ...(out ? { description: JSON.stringify({ [OUTPUT_KEY]: out }) } : {}),
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
    if (!wait.wait) return record;
    const done = await this.waitFor(record.resource_name, wait);
    if (done.state !== 'SUCCEEDED' || !out) return done;
    // Waiting callers get the version registered before the call returns.
    let failure: VertexMcpError | null = null;
    try {
      await this.registerJob(await this.rawJob(record.resource_name), out);
    } catch (err) {
      failure = err instanceof VertexMcpError ? err : new VertexMcpError('INTERNAL', String(err));
    }
    const fresh = await this.getTuningJob(record.resource_name);
    if (failure && fresh.registration && fresh.registration.status !== 'conflict') {
      fresh.registration = { ...fresh.registration, status: 'failed', detail: `${failure.code}: ${failure.text}` };
    }
    return fresh;
  }

  /** The registry must not have the version yet (a registration never replaces one). */
  private async assertFreeVersion(name: string, version: string): Promise<void> {
    const existing = await this.versionOf(name, version);
    if (existing) {
      throw new VertexMcpError(
        'ALREADY_EXISTS',
        `model "${name}" already has version ${version}${origin(existing)}`,
        'Choose a new output.version',
      );
    }
  }

  /** No other job may be about to register the same version (running, or succeeded and not registered yet). */
  private async assertUnclaimed(out: DeclaredOutput): Promise<void> {
    const client = await this.clients.tuning();
    const [jobs] = await callVertex(
      'list tuning jobs',
      () => client.listTuningJobs({ parent: this.clients.parent }, { autoPaginate: true }),
      { idempotent: true },
    );
    for (const j of jobs) {
      const state = stateOf(j);
      const claim = declaredOutput(j);
      if (!claim || claim.name !== out.name || claim.version !== out.version) continue;
      // Ended without a model, or succeeded: the version would exist (checked before) unless it
      // is still to be registered.
      if (TERMINAL.has(state) && state !== 'SUCCEEDED') continue;
      // A succeeded job whose output was handled (its version since deleted) claims nothing.
      if (state === 'SUCCEEDED' && (await this.markOf(j))) continue;
      const id = String(j.name).split('/').pop();
      throw new VertexMcpError(
        'ALREADY_EXISTS',
        `tuning job ${id} (${state}) already has output ${out.name} ${out.version}`,
        state === 'SUCCEEDED'
          ? `Register its model with register_tuned_model {"job": "${id}"}, or choose another output.version`
          : `Wait for it, cancel it with cancel_tuning_job, or choose another output.version`,
      );
    }
  }

  /** The registry version, or null when it does not exist. */
  private async versionOf(name: string, version: string): Promise<ModelVersionRecord | null> {
    try {
      return await this.registry.getModel(name, version);
    } catch (err) {
      if (err instanceof VertexMcpError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  private async rawJob(job: string): Promise<ITuningJob> {
    const client = await this.clients.tuning();
    const [j] = await callVertex('get tuning job', () => client.getTuningJob({ name: this.jobPath(job) }), {
      idempotent: true,
    });
    return j;
  }

  /** The job, its progress and whether its declared output is registered. Reads only. */
  async getTuningJob(job: string): Promise<TuningJobRecord> {
    return this.toRecord(await this.rawJob(job));
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
    return Promise.all(jobs.slice(0, q.limit ?? 50).map((j) => this.toRecord(j, { registry: false })));
  }

  async cancelTuningJob(job: string): Promise<TuningJobRecord> {
    const client = await this.clients.tuning();
    const name = this.jobPath(job);
    await callVertex('cancel tuning job', () => client.cancelTuningJob({ name }), { idempotent: false });
    return this.getTuningJob(name);
  }

  /**
   * Registers a succeeded job's model as `name` `version` (source tuning_job; base model, dataset
   * and metrics recorded; the job in the version's provenance). Without name and version, the
   * job's declared output. Idempotent: when the version already exists from this job, it is
   * returned (`already_registered`); from anywhere else, ALREADY_EXISTS names where it came from.
   */
  async registerTunedModel(
    job: string,
    out: { name?: string; version?: string; tags?: string[] } = {},
  ): Promise<TunedRegistration> {
    const j = await this.rawJob(job);
    const declared = declaredOutput(j);
    if ((out.name === undefined) !== (out.version === undefined)) {
      throw invalid('pass both name and version, or neither (to register the output the job declared)');
    }
    let target: DeclaredOutput;
    if (out.name !== undefined && out.version !== undefined) {
      const same = declared && declared.name === out.name && declared.version === out.version;
      target = checkOutput({ name: out.name, version: out.version, tags: out.tags ?? (same ? declared.tags : []) });
    } else if (declared) {
      target = checkOutput({ ...declared, tags: out.tags ?? declared.tags });
    } else {
      throw invalid(
        `tuning job ${String(j.name).split('/').pop()} declares no output`,
        'Pass name and version to register its model',
      );
    }
    return this.registerJob(j, target);
  }

  /**
   * The background registrar: registers the declared output of every succeeded job that has not
   * been registered yet. Safe to run anywhere and concurrently with the tools (registration is
   * idempotent); a pass already running is shared.
   */
  registerSucceeded(): Promise<RegistrarReport> {
    this.sweep ??= this.sweepOnce().finally(() => {
      this.sweep = null;
    });
    return this.sweep;
  }

  /** Runs registerSucceeded every `intervalMs` (the timer does not keep the process alive). */
  startBackground(intervalMs: number): void {
    this.stopBackground();
    this.background = setInterval(() => {
      void this.registerSucceeded().catch(() => {}); // a failed pass is retried on the next tick
    }, intervalMs);
    this.background.unref();
  }

  stopBackground(): void {
    clearInterval(this.background);
    this.background = undefined;
  }

  private async sweepOnce(): Promise<RegistrarReport> {
    const report: RegistrarReport = { checked: 0, registered: [], refused: [], failed: [] };
    const client = await this.clients.tuning();
    const [jobs] = await callVertex(
      'list tuning jobs',
      () =>
        client.listTuningJobs(
          { parent: this.clients.parent, filter: 'state="JOB_STATE_SUCCEEDED"' },
          { autoPaginate: true },
        ),
      { idempotent: true },
    );
    for (const j of jobs) {
      const name = String(j.name);
      const declared = declaredOutput(j);
      if (!declared || this.settled.has(name) || stateOf(j) !== 'SUCCEEDED') continue;
      const id = name.split('/').pop()!;
      try {
        // Handled before (by any process, before a restart): never registered twice.
        if (await this.markOf(j)) {
          this.settled.add(name);
          continue;
        }
        report.checked++;
        const r = await this.registerJob(j, checkOutput(declared));
        this.settled.add(name);
        if (!r.already_registered) {
          const entry = { job: id, name: declared.name, version: declared.version };
          report.registered.push(entry);
          this.events.emit('registered', entry);
        }
      } catch (err) {
        const e = err instanceof VertexMcpError ? err : new VertexMcpError('INTERNAL', String(err));
        if (['ALREADY_EXISTS', 'INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'NOT_FOUND'].includes(e.code)) {
          this.settled.add(name);
          await this.mark(j, 'refused');
          const entry = { job: id, name: declared.name, version: declared.version, code: e.code, message: e.text };
          report.refused.push(entry);
          this.events.emit('refused', entry);
        } else {
          report.failed.push({ job: id, message: `${e.code}: ${e.text}` });
        }
      }
    }
    return report;
  }

  /** Registers `out` from job `j` once: concurrent calls for the same job share the work. */
  private registerJob(j: ITuningJob, out: DeclaredOutput): Promise<TunedRegistration> {
    const job = String(j.name);
    return this.single(`${out.name}@${out.version}`, job, async () => {
      const state = stateOf(j);
      if (state !== 'SUCCEEDED' || !j.tunedModel?.model) {
        throw precondition(
          `tuning job ${job.split('/').pop()} is ${state}`,
          'Only a SUCCEEDED job has a model to register',
        );
      }
      const existing = await this.versionOf(out.name, out.version);
      let result: TunedRegistration;
      if (existing) result = this.claim(existing, job, out);
      else {
        const { meta, provenance } = await this.tunedMetadata(j, out);
        try {
          const model = await this.registry.uploadModel(meta, provenance);
          // The registry converges a repeated identical upload on the version that exists.
          const created = (model as { created?: boolean }).created !== false;
          result = { job: job.split('/').pop()!, model, already_registered: !created };
        } catch (err) {
          // Registered meanwhile (by another process): this job's registration, or a conflict.
          if (!(err instanceof VertexMcpError && err.code === 'ALREADY_EXISTS')) throw err;
          const now = await this.versionOf(out.name, out.version);
          if (!now) throw err;
          result = this.claim(now, job, out);
        }
      }
      await this.mark(j, 'registered');
      return result;
    });
  }

  /** The mark on a job's tuned model (see MARK), or null. */
  private async markOf(j: ITuningJob): Promise<string | null> {
    if (!j.tunedModel?.model) return null;
    const models = await this.clients.models();
    try {
      const [m] = await callVertex('get tuned model', () => models.getModel({ name: String(j.tunedModel!.model) }), {
        idempotent: true,
      });
      return m.labels?.[MARK] ?? null;
    } catch (err) {
      if (err instanceof VertexMcpError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  /** Marks a job's tuned model as handled. Best effort: the registry version is what counts. */
  private async mark(j: ITuningJob, value: 'registered' | 'refused'): Promise<void> {
    if (!j.tunedModel?.model) return;
    try {
      const models = await this.clients.models();
      const name = String(j.tunedModel.model);
      const [m] = await callVertex('get tuned model', () => models.getModel({ name }), { idempotent: true });
      if (m.labels?.[MARK] === value) return;
      await callVertex(
        'label tuned model',
        () =>
          models.updateModel({
            model: { name, labels: { ...(m.labels ?? {}), [MARK]: value } },
            updateMask: { paths: ['labels'] },
          }),
        { idempotent: true },
      );
    } catch {
      // Unmarked, the registrar looks at the job again and finds it registered (or refused) again.
    }
  }

  /** An existing version is this job's registration when its provenance names the job. */
  private claim(existing: ModelVersionRecord, job: string, out: DeclaredOutput): TunedRegistration {
    const id = job.split('/').pop()!;
    if (existing.provenance?.tuning_job === job) return { job: id, model: existing, already_registered: true };
    throw new VertexMcpError(
      'ALREADY_EXISTS',
      `model "${out.name}" version ${out.version} already exists${origin(existing)}; the model of tuning job ${id} was not registered`,
      `Register it under another version: register_tuned_model {"job": "${id}", "name": "${out.name}", "version": "<a new version>"}`,
    );
  }

  private async single(key: string, job: string, fn: () => Promise<TunedRegistration>): Promise<TunedRegistration> {
    for (;;) {
      const current = this.flights.get(key);
      if (!current) break;
      if (current.job === job) return current.promise;
      await current.promise.catch(() => {}); // another job's attempt: ours runs after it
    }
    const promise = fn().finally(() => {
      if (this.flights.get(key)?.promise === promise) this.flights.delete(key);
    });
    this.flights.set(key, { job, promise });
    return promise;
  }

  /** The registry metadata of a succeeded job's tuned model. */
  private async tunedMetadata(
    j: ITuningJob,
    out: DeclaredOutput,
  ): Promise<{ meta: ModelMetadata; provenance: { tuning_job: string; dataset?: string } }> {
    const models = await this.clients.models();
    const [tuned] = await callVertex('get tuned model', () => models.getModel({ name: String(j.tunedModel!.model) }), {
      idempotent: true,
    });
    if (!tuned.artifactUri || !tuned.containerSpec?.imageUri) {
      throw precondition(
        `tuned model ${j.tunedModel!.model} has no artifact to register as a version`,
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
    return {
      meta: {
        name: out.name,
        version: out.version,
        source: 'tuning_job',
        base_model: j.baseModel ?? undefined,
        artifact_uri: tuned.artifactUri,
        serving_container_uri: tuned.containerSpec.imageUri,
        tags: out.tags,
        ...(Object.keys(metrics).length ? { performance_metrics: metrics } : {}),
      },
      provenance: {
        tuning_job: String(j.name),
        ...(spec?.trainingDatasetUri ? { dataset: spec.trainingDatasetUri } : {}),
      },
    };
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

  private async toRecord(j: ITuningJob, opts: { registry?: boolean } = {}): Promise<TuningJobRecord> {
    const state = stateOf(j);
    const labels = j.labels ?? {};
    const [p, reg] = await Promise.all([this.progress(j), this.registrationOf(j, state, opts.registry !== false)]);
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
      registered: reg?.status === 'registered' ? { name: reg.name, version: reg.version } : null,
      registration: reg,
    };
  }

  /** Whether the job's declared output is registered, from reads only (a read never registers). */
  private async registrationOf(
    j: ITuningJob,
    state: string,
    lookup: boolean,
  ): Promise<TuningJobRecord['registration']> {
    const out = declaredOutput(j);
    if (!out) return null;
    const id = String(j.name).split('/').pop()!;
    const r = (status: RegistrationStatus, detail: string) => ({
      name: out.name,
      version: out.version,
      status,
      detail,
    });
    if (!TERMINAL.has(state))
      return r('waiting_for_job', `registers as ${out.name} ${out.version} when the job succeeds`);
    if (state !== 'SUCCEEDED') return r('not_registered', `the job ended ${state}: there is no model to register`);
    if (!lookup) return r('not_checked', 'get_tuning_job shows whether it is registered');
    let existing: ModelVersionRecord | null;
    try {
      existing = await this.versionOf(out.name, out.version);
    } catch (err) {
      if (err instanceof VertexMcpError && err.code === 'INVALID_ARGUMENT') {
        return r('not_registered', `the declared output cannot be registered: ${err.text}`);
      }
      throw err;
    }
    if (!existing) {
      const mark = await this.markOf(j);
      if (mark === 'registered') {
        return r(
          'not_registered',
          `${out.name} ${out.version} does not exist, but this job's model was registered before (the version has since been deleted, or it was registered under another version); register_tuned_model registers it here again`,
        );
      }
      return r(
        'pending',
        `not registered yet: register_tuned_model {"job": "${id}"} registers it now (a server with a background interval also registers it)`,
      );
    }
    if (existing.provenance?.tuning_job === String(j.name)) {
      return r('registered', `registered as ${out.name} ${out.version} (version id ${existing.version_id})`);
    }
    return r(
      'conflict',
      `NOT registered: ${out.name} ${out.version} already exists${origin(existing)}; register this job's model under another version with register_tuned_model`,
    );
  }
}

/** The job's state without the JOB_STATE_ prefix. */
function stateOf(j: ITuningJob): string {
  return String(j.state ?? 'JOB_STATE_UNSPECIFIED').replace('JOB_STATE_', '');
}

/** " (registered from tuning job 1001)" / " (source manual)": where an existing version came from. */
function origin(v: ModelVersionRecord): string {
  const job = v.provenance?.tuning_job;
  if (job) return ` (registered from tuning job ${job.split('/').pop()}, ${job})`;
  return ` (source ${v.source ?? 'unknown'}, not from a tuning job)`;
}

/** Checks a declared output up front; the version comes back in its canonical semver form. */
export function checkOutput(o: { name: string; version: string; tags?: string[] }): DeclaredOutput {
  checkModelName(o.name);
  const version = checkVersion(o.version);
  const tags = o.tags ?? [];
  if (tags.length > 50) throw invalid(`output.tags has ${tags.length} tags; at most 50 are allowed`);
  for (const t of tags) {
    if (!TAG_RE.test(t)) {
      throw invalid(
        `tag "${t.slice(0, 64)}" cannot be stored as a label`,
        'Tags are 1-59 lowercase letters, digits, "_" or "-"',
      );
    }
  }
  return { name: o.name, version, tags: [...tags] };
}

/**
 * The output a job declared: from its description (exact), or from the labels of jobs submitted
 * by earlier versions (best effort: their version label had dots turned into dashes, so a
 * pre-release "rc-1" reads back as "rc.1").
 */
export function declaredOutput(j: ITuningJob): DeclaredOutput | null {
  try {
    const doc = JSON.parse(j.description ?? '') as Record<string, unknown> | null;
    const o = doc?.[OUTPUT_KEY] as { name?: unknown; version?: unknown; tags?: unknown } | undefined;
    if (o && typeof o.name === 'string' && typeof o.version === 'string') {
      const tags = Array.isArray(o.tags) ? o.tags.filter((t): t is string => typeof t === 'string') : [];
      return { name: o.name, version: o.version, tags };
    }
  } catch {
    // not ours: fall back to the labels
  }
  const labels = j.labels ?? {};
  const name = labels[L.outName];
  const m = /^v(\d+)-(\d+)-(\d+)(?:-(.+))?$/.exec(labels[L.outVersion] ?? '');
  if (!name || !m) return null;
  return { name, version: `${m[1]}.${m[2]}.${m[3]}${m[4] ? `-${m[4].replace(/-/g, '.')}` : ''}`, tags: [] };
}

function iso(t: google.protobuf.ITimestamp | null | undefined): string | null {
  return t ? new Date((Number(t.seconds ?? 0) + (t.nanos ?? 0) / 1e9) * 1000).toISOString() : null;
}
