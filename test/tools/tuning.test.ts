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
