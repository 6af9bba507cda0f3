// The tools that run as MCP tasks, and for each: how to start the work (the tool's own handler, so
// there is one implementation per operation), how to follow it to its end through the library, how
// to cancel it, and how a restarted server re-attaches to it (by the job or operation it recorded).
import { setTimeout as delay } from 'node:timers/promises';
import { VertexMcpError } from '../lib/errors.js';
import type { Library, TuningJobRecord } from '../lib/index.js';
import type { ToolResult } from '../tools/define.js';

type Args = Record<string, unknown>;
type Result = ToolResult<Record<string, any>>;

/** What a running task can do: call a catalogue tool's handler, report progress, record its job. */
export interface TaskIo {
  lib: Library;
  /** Aborted when the task is cancelled or the server closes (the task is then re-attached on restart). */
  signal: AbortSignal;
  /** The client cancelled the task (not merely a server shutdown). */
  readonly cancelled: boolean;
  /** Runs the named tool's handler on these arguments (validated, defaults applied); its progress becomes the task's statusMessage. */
  call(tool: string, args: Args): Promise<Result>;
  /** The task's statusMessage; with `at`, also a progress notification when the client asked for them. */
  status(message: string, at?: { progress: number; total?: number }): void;
  /** The job or operation the task follows, kept for re-attaching after a restart. */
  attach(ref: Args): void;
}

export interface TaskOp {
  run(args: Args, io: TaskIo): Promise<Result>;
  /** After a restart: follows the recorded job to its end. Absent: the task cannot be re-attached. */
  resume?(ref: Args, args: Args, io: TaskIo): Promise<Result>;
  /** Why a task interrupted by a restart cannot be re-attached, and what to do instead. */
  lost: string;
  /**
   * 'abort': the work runs in this process and stops on the task's signal; a function: cancels the
   * recorded job (the cancelled job's result, or undefined before one is recorded); a string: the
   * work cannot be cancelled, and why (tasks/cancel is refused with it).
   */
  cancel: 'abort' | ((ref: Args | null, lib: Library) => Promise<Result | undefined>) | string;
}

/** Waits `ms`, or less when the task is cancelled or the server closes. */
const sleep = (ms: number, signal: AbortSignal) => delay(ms, undefined, { signal }).catch(() => {});

/**
 * How often a task polls its job: Vertex jobs run for minutes to hours and each look costs API
 * calls (quota); the emulator's finish in seconds.
 */
const pollMs = (lib: Library) => (lib.clients.backend.kind === 'vertex' ? 15_000 : 500);

/** Polls the tuning job until it ends; on success registers its declared output, as wait: true does. */
async function followTuning(job: string, args: Args, io: TaskIo): Promise<Result> {
  let last = -1;
  let r: Result;
  for (;;) {
    r = await io.call('get_tuning_job', { job });
    const p = (r.structured as TuningJobRecord).progress;
    const epochs = p?.epochs_completed ?? 0;
    // Progress notifications only as epochs complete (their value must increase).
    io.status(r.text, epochs > last ? { progress: epochs, total: p?.epochs_planned ?? undefined } : undefined);
    last = Math.max(last, epochs);
    if (r.structured.done || io.signal.aborted) break;
    await sleep(pollMs(io.lib), io.signal);
  }
  const j = r.structured as TuningJobRecord;
  if (j.state !== 'SUCCEEDED' || !args.output) return r;
  let failure: VertexMcpError | null = null;
  try {
    await io.lib.tuning.registerTunedModel(job, {});
  } catch (err) {
    failure = err instanceof VertexMcpError ? err : new VertexMcpError('INTERNAL', String(err));
  }
  const fresh = await io.call('get_tuning_job', { job });
  const f = fresh.structured as TuningJobRecord;
  // The same report as submit_tuning_job with wait when the registration fails.
  if (failure && f.registration && f.registration.status !== 'conflict') {
    f.registration = { ...f.registration, status: 'failed', detail: `${failure.code}: ${failure.text}` };
  }
  return fresh;
}

/** Polls a DeployModel operation until it ends; the result as deploy_model reports a finished deploy. */
async function followDeploy(operation: string, args: Args, io: TaskIo): Promise<Result> {
  for (;;) {
    const progress = await io.lib.endpoints.deployProgress(operation);
    if (progress.done) {
      const endpoint = await io.lib.endpoints.getEndpoint(String(args.endpoint));
      const id = progress.deployed_model_id;
      return {
        structured: { deployed_model_id: id, done: true, operation, already_deployed: false, note: null, endpoint },
        text: `${args.name} ${args.version} deployed as ${id} (operation ${operation}).`,
      };
    }
    io.status(`still deploying ${args.name} ${args.version} (operation ${operation})`);
    await sleep(pollMs(io.lib) * 4, io.signal);
    if (io.signal.aborted) throw new VertexMcpError('ABORTED', 'stopped following the deploy');
  }
}

export const TASK_OPS: Record<string, TaskOp> = {
  submit_tuning_job: {
    async run(args, io) {
      const started = await io.call('submit_tuning_job', { ...args, wait: false });
      const job = String(started.structured.resource_name);
      io.attach({ job });
      io.status(started.text);
      // Cancelled while the job was being created: cancel the job now that it has a name.
      if (io.cancelled) await io.lib.tuning.cancelTuningJob(job);
      return followTuning(job, args, io);
    },
    resume: (ref, args, io) => followTuning(String(ref.job), args, io),
    lost: 'the server restarted before the tuning job was created; list_tuning_jobs shows whether it exists',
    async cancel(ref, lib) {
      if (!ref) return undefined;
      const j = await lib.tuning.cancelTuningJob(String(ref.job));
      return { structured: j, text: `Tuning job ${j.job} ${j.state}.` };
    },
  },
  prepare_dataset: {
    run: (args, io) => io.call('prepare_dataset', args),
    lost: 'the server restarted while preparing the dataset; a generation is published only when complete, so nothing partial is visible: run prepare_dataset again',
    cancel: 'abort',
  },
  deploy_model: {
    async run(args, io) {
      // deploy_model waits up to 50 s for the operation; a longer deploy is followed here.
      const r = await io.call('deploy_model', args);
      if (r.structured.done || !r.structured.operation) return r;
      io.attach({ operation: r.structured.operation });
      return followDeploy(String(r.structured.operation), args, io);
    },
    resume: (ref, args, io) => followDeploy(String(ref.operation), args, io),
    lost: 'the server restarted before the deploy operation was known; list_endpoints shows whether the version is deployed',
    cancel:
      'deploy_model cannot be cancelled: the library has no cancellation for a deploy operation; once it ends, undeploy_model removes the deployment',
  },
  start_ab_test: {
    run: (args, io) => io.call('start_ab_test', args),
    lost: 'the server restarted while starting the A/B test; get_ab_test or list_ab_tests shows whether it started',
    cancel:
      'start_ab_test cannot be cancelled: the library has no cancellation for a start (deploy and split); once it ends, conclude_ab_test rolls it back',
  },
};
