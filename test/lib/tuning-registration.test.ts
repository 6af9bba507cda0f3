// Registration of tuned models at the library level: the background registrar
// (FineTuningPipeline.registerSucceeded / startBackground), convergence when several paths and
// several processes (libraries) register the same job at once, and how a job's declared output is
// read back (exactly from the description; best effort from the labels of older jobs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { createLibrary, type Library } from '../../src/lib/index.js';
import { checkOutput, declaredOutput, type TunedRegistration } from '../../src/lib/tuning/pipeline.js';
import { routingLines } from '../fixtures/routing.js';
import { emulatorBackend } from '../helpers.js';

process.env.METADATA_SERVER_DETECTION = 'none';

let emu: Emulator;
let lib: Library;
const TRAIN = 'gs://vertex-mcp-emulator/reg/train.jsonl';
const quick = {
  tuning_type: 'supervised' as const,
  base_model: 'local/text-router',
  dataset: { train_uri: TRAIN },
  hyperparameters: { epochs: 1 },
};

beforeAll(async () => {
  emu = await startEmulator({ dataDir: ':memory:' });
  lib = createLibrary(emulatorBackend(emu));
  await lib.files.writeText(TRAIN, routingLines(0, 40));
});
afterAll(async () => {
  lib.tuning.stopBackground();
  await lib.close();
  await emu.close();
});

const versions = async (name: string) => (await lib.registry.listVersions(name).catch(() => [])).length;

/** Submits a job with an output and waits for it to succeed, without registering it. */
async function succeeded(name: string, version: string, tags: string[] = []) {
  const j = await lib.tuning.submitTuningJob({ ...quick, output: { name, version, tags } });
  const done = await lib.tuning.waitForJob(j.job, { timeoutMs: 60_000 });
  expect(done.state).toBe('SUCCEEDED');
  expect(done.registration?.status).toBe('pending');
  return done;
}

describe('declared outputs', () => {
  it("are read exactly from the job description, and from older jobs' labels as a fallback", () => {
    const doc = JSON.stringify({ vertex_mcp_output: { name: 'r', version: '2.0.0-rc.1', tags: ['a'] } });
    expect(declaredOutput({ description: doc, labels: {} })).toEqual({ name: 'r', version: '2.0.0-rc.1', tags: ['a'] });
    // The description wins over the (lossy) labels.
    expect(
      declaredOutput({
        description: doc,
        labels: { 'vertex-mcp-output-name': 'r', 'vertex-mcp-output-version': 'v2-0-0-rc-1' },
      }),
    ).toMatchObject({ version: '2.0.0-rc.1' });
    // Jobs submitted before: labels only. The pre-release comes back with its dots ("rc.1", not ".rc.1").
    expect(
      declaredOutput({ labels: { 'vertex-mcp-output-name': 'r', 'vertex-mcp-output-version': 'v2-0-0-rc-1' } }),
    ).toEqual({ name: 'r', version: '2.0.0-rc.1', tags: [] });
    expect(
      declaredOutput({ labels: { 'vertex-mcp-output-name': 'r', 'vertex-mcp-output-version': 'v1-2-0' } }),
    ).toEqual({ name: 'r', version: '1.2.0', tags: [] });
    expect(declaredOutput({ description: 'a plain description', labels: {} })).toBeNull();
    expect(declaredOutput({})).toBeNull();
  });

  it('are checked up front: name, semver (no build metadata), tags', () => {
    expect(checkOutput({ name: 'r', version: '2.0.0-rc.1' })).toEqual({ name: 'r', version: '2.0.0-rc.1', tags: [] });
    expect(() => checkOutput({ name: 'R', version: '1.0.0' })).toThrow(/not a valid Vertex model ID/);
    expect(() => checkOutput({ name: 'r', version: '2.0.0.rc.1' })).toThrow(/version "2\.0\.0\.rc\.1"/);
    expect(() => checkOutput({ name: 'r', version: '1.0.0+build' })).toThrow(/version "1\.0\.0\+build"/);
    expect(() => checkOutput({ name: 'r', version: '1.0.0', tags: ['Bad Tag'] })).toThrow(
      /cannot be stored as a label/,
    );
    expect(() => checkOutput({ name: 'r', version: '1.0.0', tags: Array(51).fill('t') })).toThrow(/at most 50/);
  });
});

describe('the background registrar', () => {
  it('registers succeeded jobs, reports refusals once, skips what it settled, and never touches jobs without output', async () => {
    const a = await succeeded('bg-a', '1.0.0', ['nightly']);
    const b = await succeeded('bg-b', '1.0.0');
    // bg-b 1.0.0 is uploaded by hand before the registrar runs: job b cannot be registered.
    await lib.registry.uploadModel({ name: 'bg-b', version: '1.0.0', serving_container_uri: 'local/text-router' });
    const plain = await lib.tuning.submitTuningJob({ ...quick });
    await lib.tuning.waitForJob(plain.job, { timeoutMs: 60_000 });

    const registered: unknown[] = [];
    const refused: unknown[] = [];
    lib.tuning.events.on('registered', (e) => registered.push(e));
    lib.tuning.events.on('refused', (e) => refused.push(e));
    const report = await lib.tuning.registerSucceeded();
    expect(report.registered).toContainEqual({ job: a.job, name: 'bg-a', version: '1.0.0' });
    expect(report.refused).toEqual([
      expect.objectContaining({ job: b.job, name: 'bg-b', version: '1.0.0', code: 'ALREADY_EXISTS' }),
    ]);
    expect(report.refused[0]!.message).toContain('(source manual, not from a tuning job)');
    expect(report.failed).toEqual([]);
    expect(registered).toContainEqual({ job: a.job, name: 'bg-a', version: '1.0.0' });
    expect(refused).toHaveLength(1);
    const m = await lib.registry.getModel('bg-a', '1.0.0');
    expect(m).toMatchObject({ source: 'tuning_job', tags: ['nightly'], provenance: { tuning_job: a.resource_name } });
    expect((await lib.tuning.getTuningJob(a.job)).registered).toEqual({ name: 'bg-a', version: '1.0.0' });
    expect((await lib.tuning.getTuningJob(b.job)).registration).toMatchObject({ status: 'conflict' });
    // Settled jobs are not looked at again; nothing new is registered.
    const second = await lib.tuning.registerSucceeded();
    expect(second).toEqual({ checked: 0, registered: [], refused: [], failed: [] });
    expect(await versions('bg-a')).toBe(1);
    expect(await versions('bg-b')).toBe(1);
    lib.tuning.events.removeAllListeners();
  });

  it('never registers a job twice: a deleted version is not brought back, even by a restarted server', async () => {
    const j = await succeeded('bg-deleted', '1.0.0');
    const r = await lib.tuning.registerTunedModel(j.job);
    expect(r.already_registered).toBe(false);
    await lib.registry.deleteModel('bg-deleted', '1.0.0');
    expect(await versions('bg-deleted')).toBe(0);
    expect((await lib.tuning.registerSucceeded()).registered).toEqual([]);
    // A new library (a restarted server) has no memory of it: the mark on the tuned model says it.
    const restarted = createLibrary(emulatorBackend(emu));
    try {
      const report = await restarted.tuning.registerSucceeded();
      expect(report.registered).toEqual([]);
      expect(report.checked).toBe(0);
    } finally {
      await restarted.close();
    }
    expect(await versions('bg-deleted')).toBe(0);
    expect((await lib.tuning.getTuningJob(j.job)).registration).toMatchObject({
      status: 'not_registered',
      detail: expect.stringContaining('the version has since been deleted'),
    });
    // The version is free again: a new job may target it.
    const again = await lib.tuning.submitTuningJob({ ...quick, output: { name: 'bg-deleted', version: '1.0.0' } });
    await lib.tuning.waitForJob(again.job, { timeoutMs: 60_000 });
    expect((await lib.tuning.registerSucceeded()).registered).toEqual([
      { job: again.job, name: 'bg-deleted', version: '1.0.0' },
    ]);
  });

  it('runs on an interval once started, and stops', async () => {
    const j = await succeeded('bg-timer', '1.0.0');
    lib.tuning.startBackground(50);
    try {
      for (let i = 0; i < 200 && (await versions('bg-timer')) === 0; i++) await new Promise((r) => setTimeout(r, 25));
    } finally {
      lib.tuning.stopBackground();
    }
    expect(await versions('bg-timer')).toBe(1);
    expect((await lib.tuning.getTuningJob(j.job)).registration?.status).toBe('registered');
  });
});

describe('concurrent registration converges', () => {
  it('the tool path (by ID, by resource name, with name and version) and the registrar at once: one version, the same for all', async () => {
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const name = `mixed-${round}`;
      const j = await succeeded(name, '1.0.0');
      const results = await Promise.allSettled([
        lib.tuning.registerTunedModel(j.job),
        lib.tuning.registerTunedModel(j.job, { name, version: '1.0.0' }),
        lib.tuning.registerSucceeded(),
        lib.tuning.registerTunedModel(j.resource_name),
      ]);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const regs = results
        .filter((r, i) => i !== 2 && r.status === 'fulfilled')
        .map((r) => (r as PromiseFulfilledResult<TunedRegistration>).value);
      expect(new Set(regs.map((r) => r.model.version_id)).size).toBe(1);
      expect(await versions(name)).toBe(1);
    }
  });

  it('two libraries (two server processes) registering the same job four times at once: one version, no ALREADY_EXISTS', async () => {
    const other = createLibrary(emulatorBackend(emu));
    try {
      const rounds = 3;
      for (let round = 0; round < rounds; round++) {
        const name = `xproc-${round}`;
        const j = await succeeded(name, '1.0.0');
        const results = await Promise.allSettled([
          lib.tuning.registerTunedModel(j.job),
          other.tuning.registerTunedModel(j.job),
          lib.tuning.registerTunedModel(j.job),
          other.tuning.registerTunedModel(j.job),
        ]);
        const failures = results
          .filter((r) => r.status === 'rejected')
          .map((r) => String((r as PromiseRejectedResult).reason));
        expect(failures).toEqual([]);
        const ids = results.map((r) => (r as PromiseFulfilledResult<TunedRegistration>).value.model.version_id);
        expect(new Set(ids).size).toBe(1);
        expect(await versions(name)).toBe(1);
      }
    } finally {
      await other.close();
    }
  });

  it('two jobs racing for one output: exactly one registers; the other is refused naming it', async () => {
    const client = await lib.clients.tuning();
    const output = JSON.stringify({ vertex_mcp_output: { name: 'race', version: '1.0.0', tags: [] } });
    const jobs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const [raw] = await client.createTuningJob({
        parent: lib.clients.parent,
        tuningJob: {
          baseModel: 'local/text-router',
          description: output,
          supervisedTuningSpec: { trainingDatasetUri: TRAIN, hyperParameters: { epochCount: 1 } },
        },
      });
      jobs.push(String(raw.name));
    }
    for (const j of jobs) await lib.tuning.waitForJob(j, { timeoutMs: 60_000 });
    const results = await Promise.allSettled([
      lib.tuning.registerTunedModel(jobs[0]!),
      lib.tuning.registerTunedModel(jobs[1]!),
      lib.tuning.registerTunedModel(jobs[0]!),
      lib.tuning.registerTunedModel(jobs[1]!),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<TunedRegistration>[];
    const bad = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(2);
    expect(bad).toHaveLength(2);
    const winner = ok[0]!.value.model.provenance?.tuning_job;
    expect(ok.every((r) => r.value.model.provenance?.tuning_job === winner)).toBe(true);
    for (const r of bad) {
      expect(r.reason).toMatchObject({ code: 'ALREADY_EXISTS' });
      expect(String(r.reason.message)).toContain(`registered from tuning job ${winner!.split('/').pop()}`);
    }
    expect(await versions('race')).toBe(1);
  });
});
