// The tuning toolset through a real MCP client: jobs train for real in the emulator's worker.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import { createLibrary } from '../../src/lib/index.js';
import { routingLines as lines } from '../fixtures/routing.js';
import { emulatorBackend, type Stack, startStack } from '../helpers.js';

let s: Stack;
const TRAIN = 'gs://vertex-mcp-emulator/test/train.jsonl';
const VAL = 'gs://vertex-mcp-emulator/test/validation.jsonl';
beforeAll(async () => {
  s = await startStack();
  await s.lib.files.writeText(TRAIN, lines(0, 200));
  await s.lib.files.writeText(VAL, lines(200, 240));
});
afterAll(async () => {
  await s.close();
});

const base = { base_model: 'local/text-router', dataset: { train_uri: TRAIN, validation_uri: VAL } };

describe('tuning jobs', () => {
  it('lists the base models the emulator runs', async () => {
    const r = await s.ok('list_base_models');
    expect(r.backend).toBe('emulator');
    expect(r.models.map((m: any) => m.id)).toEqual(['local/text-router', 'local/text-router-large']);
  });

  it('trains, reports per-epoch progress, and registers the result', async () => {
    const notes: string[] = [];
    const r = (await s.client.callTool(
      {
        name: 'submit_tuning_job',
        arguments: {
          ...base,
          tuning_type: 'supervised',
          hyperparameters: { epochs: 4 },
          output: { name: 'router', version: '1.0.0' },
          wait: true,
        },
      },
      undefined,
      { onprogress: (p) => notes.push(`${p.progress}/${p.total}`) },
    )) as any;
    expect(r.isError).toBeFalsy();
    const job = r.structuredContent;
    expect(job).toMatchObject({
      state: 'SUCCEEDED',
      done: true,
      tuning_type: 'supervised',
      registered: { name: 'router', version: '1.0.0' },
    });
    expect(job.progress.epochs_planned).toBe(4);
    expect(job.progress.latest.validation_accuracy).toBeGreaterThan(0.9);
    expect(notes.at(-1)).toMatch(/^\d\/4$/);
    const m = await s.ok('get_model', { name: 'router', version: '1.0.0' });
    expect(m).toMatchObject({
      source: 'tuning_job',
      base_model: 'local/text-router',
      serving_container_uri: 'local/text-router',
    });
    expect(m.performance_metrics.validation_accuracy).toBe(job.progress.latest.validation_accuracy);
    const listed = await s.ok('list_tuning_jobs', { state: 'SUCCEEDED' });
    expect(listed.jobs.map((j: any) => j.job)).toContain(job.job);
  });

  it('a peft adapter is much smaller than a supervised model', async () => {
    const sup = await s.ok('submit_tuning_job', {
      ...base,
      tuning_type: 'supervised',
      hyperparameters: { epochs: 2 },
      wait: true,
    });
    const peft = await s.ok('submit_tuning_job', {
      ...base,
      tuning_type: 'peft',
      hyperparameters: { epochs: 2, adapter_size: 4 },
      wait: true,
    });
    const size = async (job: string) =>
      (await s.lib.files.list(`gs://vertex-mcp-emulator/tuning-jobs/${job}/model.json`))[0]!.size;
    const [a, b] = [await size(sup.job), await size(peft.job)];
    expect(b / a).toBeLessThan(0.2);
    expect(peft.progress.latest.validation_accuracy).toBeGreaterThan(0.9);
  });

  it('distils from a registered teacher and runs DPO on preference pairs', async () => {
    const teacher = await s.ok('submit_tuning_job', {
      ...base,
      tuning_type: 'supervised',
      hyperparameters: { epochs: 3 },
      output: { name: 'teacher', version: '1.0.0' },
      wait: true,
    });
    expect(teacher.state).toBe('SUCCEEDED');
    const student = await s.ok('submit_tuning_job', {
      ...base,
      tuning_type: 'distillation',
      teacher_model: 'teacher@1.0.0',
      hyperparameters: { epochs: 3 },
      wait: true,
    });
    expect(student.error).toBeNull();
    expect(student.state).toBe('SUCCEEDED');
    expect(student.progress.latest.validation_accuracy).toBeGreaterThan(0.85);
    const PAIRS = 'gs://vertex-mcp-emulator/test/pairs.jsonl';
    await s.lib.files.writeText(PAIRS, lines(0, 100, 'pairs'));
    const dpo = await s.ok('submit_tuning_job', {
      base_model: 'local/text-router',
      dataset: { train_uri: PAIRS },
      tuning_type: 'rlhf',
      hyperparameters: { epochs: 3 },
      wait: true,
    });
    expect(dpo.error).toBeNull();
    expect(dpo.state).toBe('SUCCEEDED');
  });

  it('cancels a running job, needs confirm, and refuses to cancel a finished one', async () => {
    const BIG = 'gs://vertex-mcp-emulator/test/big.jsonl';
    await s.lib.files.writeText(BIG, lines(0, 4000));
    const j = await s.ok('submit_tuning_job', {
      base_model: 'local/text-router-large',
      dataset: { train_uri: BIG },
      tuning_type: 'supervised',
      hyperparameters: { epochs: 60, early_stopping_patience: 0 },
    });
    expect(await s.refused('cancel_tuning_job', { job: j.job })).toContain('CONFIRMATION_REQUIRED');
    const c = await s.ok('cancel_tuning_job', { job: j.job, confirm: true });
    expect(c).toMatchObject({ cancelled: true, job: { state: 'CANCELLED', done: true } });
    // Cancelled while the emulator was still reading its data: it stays cancelled and never trains
    // (a stale copy once wrote it back as RUNNING and held the queue for the whole run).
    await new Promise((r) => setTimeout(r, 500));
    expect(await s.ok('get_tuning_job', { job: j.job })).toMatchObject({ state: 'CANCELLED', done: true });
    const next = await s.ok('submit_tuning_job', {
      base_model: 'local/text-router',
      dataset: { train_uri: BIG },
      tuning_type: 'supervised',
      hyperparameters: { epochs: 1 },
      wait: true,
    });
    expect(next.state).toBe('SUCCEEDED');
    const done = (await s.ok('list_tuning_jobs', { state: 'SUCCEEDED' })).jobs[0].job;
    expect(await s.refused('cancel_tuning_job', { job: done, confirm: true })).toContain('FAILED_PRECONDITION');
  });
});

describe('bad tuning input', () => {
  it('an unknown tuning type lists the valid ones', async () => {
    const err = await s.refused('submit_tuning_job', { ...base, tuning_type: 'magic' });
    expect(err).toContain('"supervised"|"peft"|"distillation"|"rlhf"');
  });

  it('an unknown base model lists the available ones and points to vertex mode', async () => {
    const err = await s.refused('submit_tuning_job', {
      ...base,
      base_model: 'gemini-2.5-flash',
      tuning_type: 'supervised',
    });
    expect(err).toContain('base_model "gemini-2.5-flash" cannot run in the vertex-mcp emulator');
    expect(err).toContain('local/text-router, local/text-router-large');
    expect(err).toContain('vertex mode');
  });

  it('hyperparameters out of range', async () => {
    const err = await s.refused('submit_tuning_job', {
      ...base,
      tuning_type: 'supervised',
      hyperparameters: { epochs: 0 },
    });
    expect(err).toContain('hyperparameters.epochs');
    const rank = await s.refused('submit_tuning_job', {
      ...base,
      tuning_type: 'peft',
      hyperparameters: { adapter_size: 3 },
    });
    expect(rank).toContain('adapter_size');
  });

  it('a dataset that does not exist, or a path outside the allowed roots', async () => {
    const missing = await s.refused('submit_tuning_job', {
      ...base,
      tuning_type: 'supervised',
      dataset: { train_uri: 'gs://vertex-mcp-emulator/nope.jsonl' },
    });
    expect(missing).toContain('gs://vertex-mcp-emulator/nope.jsonl');
    expect(missing).toContain('does not exist');
    const outside = await s.refused('submit_tuning_job', {
      ...base,
      tuning_type: 'supervised',
      dataset: { train_uri: '/etc/passwd' },
    });
    expect(outside).toContain('outside the allowed roots');
  });

  it('a version the registry already has', async () => {
    const err = await s.refused('submit_tuning_job', {
      ...base,
      tuning_type: 'supervised',
      output: { name: 'router', version: '1.0.0' },
    });
    expect(err).toContain('ALREADY_EXISTS');
  });
});

describe('registration of tuned models', () => {
  const SMALL = 'gs://vertex-mcp-emulator/test/small.jsonl';
  const quick = { base_model: 'local/text-router', tuning_type: 'supervised', hyperparameters: { epochs: 1 } };
  beforeAll(async () => {
    await s.lib.files.writeText(SMALL, lines(0, 40));
  });
  const data = { dataset: { train_uri: SMALL } };
  /** Registry versions of a model (0 when the model does not exist). */
  const versions = async (name: string) => (await s.lib.registry.listVersions(name).catch(() => [])).length;
  const jobCount = async () => (await s.lib.tuning.listTuningJobs({ limit: 1000 })).length;

  it('a pre-release output version comes back exactly ("2.0.0-rc.1") and is registered', async () => {
    const r = await s.ok('submit_tuning_job', {
      ...quick,
      ...data,
      output: { name: 'rc-router', version: '2.0.0-rc.1', tags: ['candidate'] },
      wait: true,
    });
    expect(r.state).toBe('SUCCEEDED');
    expect(r.registered).toEqual({ name: 'rc-router', version: '2.0.0-rc.1' });
    expect(r.registration).toMatchObject({ name: 'rc-router', version: '2.0.0-rc.1', status: 'registered' });
    const m = await s.ok('get_model', { name: 'rc-router', version: '2.0.0-rc.1' });
    expect(m).toMatchObject({
      version: '2.0.0-rc.1',
      source: 'tuning_job',
      tags: ['candidate'],
      provenance: { tuning_job: r.resource_name, dataset: SMALL },
    });
    const again = await s.ok('get_tuning_job', { job: r.job });
    expect(again.registered).toEqual({ name: 'rc-router', version: '2.0.0-rc.1' });
    expect(await versions('rc-router')).toBe(1);
  });

  it('an output that cannot be registered is refused up front, creating no job', async () => {
    const before = await jobCount();
    const build = await s.refused('submit_tuning_job', {
      ...quick,
      ...data,
      output: { name: 'x', version: '2.0.0+b1' },
    });
    expect(build).toContain('INVALID_ARGUMENT');
    expect(build).toContain('version "2.0.0+b1"'); // the registry's own rule and message
    const dotted = await s.refused('submit_tuning_job', {
      ...quick,
      ...data,
      output: { name: 'x', version: '2.0.0.rc.1' },
    });
    expect(dotted).toContain('INVALID_ARGUMENT: version "2.0.0.rc.1"');
    const name = await s.refused('submit_tuning_job', {
      ...quick,
      ...data,
      output: { name: 'Bad_Name', version: '1.0.0' },
    });
    expect(name).toContain('name "Bad_Name" is not a valid Vertex model ID');
    const tag = await s.refused('submit_tuning_job', {
      ...quick,
      ...data,
      output: { name: 'x', version: '1.0.0', tags: ['UPPER'] },
    });
    expect(tag).toContain('tag "UPPER" cannot be stored as a label');
    // The emulator refuses a tuned-model display name it could not use when the job ends (> 128).
    const client = await s.lib.clients.tuning();
    await expect(
      client.createTuningJob({
        parent: s.lib.clients.parent,
        tuningJob: {
          baseModel: 'local/text-router',
          tunedModelDisplayName: 'x'.repeat(129),
          supervisedTuningSpec: { trainingDatasetUri: SMALL },
        },
      }),
    ).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('tuned_model_display_name must be at most 128'),
    });
    expect(await jobCount()).toBe(before);
  });

  it('get_tuning_job never writes: a succeeded job stays pending until registered (registry counted before and after)', async () => {
    const j = await s.ok('submit_tuning_job', { ...quick, ...data, output: { name: 'readonly', version: '1.0.0' } });
    const done = await s.lib.tuning.waitForJob(j.job, { timeoutMs: 60_000 });
    expect(done.state).toBe('SUCCEEDED');
    expect(await versions('readonly')).toBe(0);
    const reads = await Promise.all([
      ...[1, 2, 3, 4].map(() => s.call('get_tuning_job', { job: j.job })),
      s.call('get_tuning_job', { job: j.job, wait: true }),
      s.call('list_tuning_jobs', {}),
    ]);
    expect(reads.filter((r) => r.isError)).toEqual([]);
    await s.client.readResource({ uri: `vertex://tuning-jobs/${j.job}` });
    expect(await versions('readonly')).toBe(0); // before the fix: 1 (the read registered it)
    const r = reads[0]!;
    expect(r.structuredContent).toMatchObject({
      registered: null,
      registration: { name: 'readonly', version: '1.0.0', status: 'pending' },
    });
    expect(r.content[0]!.text).toContain(`register_tuned_model {"job": "${j.job}"}`);
  });

  it('four concurrent registrations of one job: one version, all report it, none fails', async () => {
    const j = await s.ok('submit_tuning_job', { ...quick, ...data, output: { name: 'converge', version: '1.0.0' } });
    await s.lib.tuning.waitForJob(j.job, { timeoutMs: 60_000 });
    const results = await Promise.all([1, 2, 3, 4].map(() => s.call('register_tuned_model', { job: j.job })));
    expect(results.filter((r) => r.isError).map((r) => r.content[0]!.text)).toEqual([]);
    const ids = results.map((r) => r.structuredContent!.version_id);
    expect(new Set(ids).size).toBe(1);
    expect(results.map((r) => r.structuredContent!.version)).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
    expect(await versions('converge')).toBe(1);
    // Later calls, with or without the name and version, are answered with the same version.
    const later = await s.ok('register_tuned_model', { job: j.job, name: 'converge', version: '1.0.0' });
    expect(later).toMatchObject({ version_id: ids[0], already_registered: true });
    expect(await versions('converge')).toBe(1);
    expect((await s.ok('get_tuning_job', { job: j.job })).registered).toEqual({ name: 'converge', version: '1.0.0' });
  });

  it('two jobs with the same output: the second is refused at submit, and a racing one fails to register, naming the first', async () => {
    const a = await s.ok('submit_tuning_job', { ...quick, ...data, output: { name: 'dup', version: '1.0.0' } });
    // While job A runs, a second submission with the same output is refused.
    const second = await s.refused('submit_tuning_job', {
      ...quick,
      ...data,
      output: { name: 'dup', version: '1.0.0' },
    });
    expect(second).toContain('ALREADY_EXISTS');
    expect(second).toMatch(new RegExp(`tuning job ${a.job} \\((PENDING|RUNNING)\\) already has output dup 1\\.0\\.0`));
    // Another process that raced past that check: a job declaring the same output.
    const client = await s.lib.clients.tuning();
    const [raw] = await client.createTuningJob({
      parent: s.lib.clients.parent,
      tuningJob: {
        baseModel: 'local/text-router',
        description: JSON.stringify({ vertex_mcp_output: { name: 'dup', version: '1.0.0', tags: [] } }),
        supervisedTuningSpec: { trainingDatasetUri: SMALL, hyperParameters: { epochCount: 1 } },
      },
    });
    const c = String(raw.name).split('/').pop()!;
    await s.lib.tuning.waitForJob(a.job, { timeoutMs: 60_000 });
    await s.lib.tuning.waitForJob(c, { timeoutMs: 60_000 });
    const first = await s.ok('register_tuned_model', { job: a.job });
    expect(first.already_registered).toBe(false);
    const conflict = await s.refused('register_tuned_model', { job: c });
    expect(conflict).toContain('ALREADY_EXISTS');
    expect(conflict).toContain(`model "dup" version 1.0.0 already exists (registered from tuning job ${a.job}`);
    expect(conflict).toContain(`the model of tuning job ${c} was not registered`);
    const got = await s.call('get_tuning_job', { job: c });
    expect(got.structuredContent).toMatchObject({
      state: 'SUCCEEDED',
      registered: null,
      registration: { status: 'conflict' },
    });
    expect(got.content[0]!.text).toContain(
      `NOT registered: dup 1.0.0 already exists (registered from tuning job ${a.job}`,
    );
    expect((await s.ok('get_model', { name: 'dup', version: '1.0.0' })).provenance.tuning_job).toBe(a.resource_name);
    expect(await versions('dup')).toBe(1);
    // Registering it under another version works.
    const moved = await s.ok('register_tuned_model', { job: c, name: 'dup', version: '1.0.1' });
    expect(moved.version).toBe('1.0.1');
    // And the output, once registered, is refused at submit, naming its job.
    const taken = await s.refused('submit_tuning_job', {
      ...quick,
      ...data,
      output: { name: 'dup', version: '1.0.0' },
    });
    expect(taken).toContain(`already has version 1.0.0 (registered from tuning job ${a.job}`);
  });

  it('a waiting submit whose version was taken meanwhile reports the conflict, not success', async () => {
    const pending = s.call('submit_tuning_job', {
      ...quick,
      ...data,
      hyperparameters: { epochs: 3 },
      output: { name: 'taken', version: '1.0.0' },
      wait: true,
    });
    // Once the job exists (past the submit checks), someone uploads the version by hand.
    for (let i = 0; i < 200 && !(await s.lib.tuning.listTuningJobs({ state: 'running' })).length; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await s.ok('upload_model', { name: 'taken', version: '1.0.0', serving_container_uri: 'local/text-router' });
    const r = await pending;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({
      state: 'SUCCEEDED',
      registered: null,
      registration: { status: 'conflict' },
    });
    expect(r.content[0]!.text).toContain(
      'NOT registered: taken 1.0.0 already exists (source manual, not from a tuning job)',
    );
  });
});

describe('emulator restart during a job', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-restart-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('no job stays RUNNING: it restarts and finishes', async () => {
    let emu = await startEmulator({ dataDir: dir });
    let lib = createLibrary(emulatorBackend(emu));
    await lib.files.writeText('gs://vertex-mcp-emulator/r/train.jsonl', lines(0, 3000));
    const job = await lib.tuning.submitTuningJob({
      tuning_type: 'supervised',
      base_model: 'local/text-router-large',
      dataset: { train_uri: 'gs://vertex-mcp-emulator/r/train.jsonl' },
      hyperparameters: { epochs: 8, early_stopping_patience: 0 },
    });
    // Stop the emulator as soon as the job has finished its first epoch.
    for (let i = 0; i < 400; i++) {
      const now = await lib.tuning.getTuningJob(job.job);
      if ((now.progress?.epochs_completed ?? 0) >= 1) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const mid = await lib.tuning.getTuningJob(job.job);
    expect(mid.state).toBe('RUNNING');
    await lib.close();
    await emu.close();
    emu = await startEmulator({ dataDir: dir });
    lib = createLibrary(emulatorBackend(emu));
    const after = await lib.tuning.waitForJob(job.job, { timeoutMs: 60_000 });
    expect(after.state).toBe('SUCCEEDED');
    expect(after.progress?.epochs_completed).toBe(8);
    await lib.close();
    await emu.close();
  });
});
