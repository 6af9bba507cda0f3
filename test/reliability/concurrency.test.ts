// Concurrency: the registry's rules under parallel calls through MCP, each scenario followed by the
// invariants (invariants.ts) read straight from the emulator.
//   - 8 parallel uploads of one version (a new model, then an existing one, with metrics)
//   - 3 parallel production uploads
//   - 2 and 4 parallel promotions to production
//   - 4 parallel deploys of one version, then a repeated deploy (deploy_model is idempotent)
//   - 4 parallel registrations of one tuned model, 4 parallel first reads of a job with an output,
//     a pre-release output version, two jobs with one output
//   - 3 parallel conclusions of one A/B test
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolResult } from '../helpers.js';
import { describeViolations, tally, type Violation } from './invariants.js';
import {
  cleanupDirs,
  errorCode,
  figures,
  putRouter,
  type RStack,
  routerArgs,
  routingJsonl,
  scaled,
  startRStack,
  textOf,
} from './support.js';

let s: RStack;
const started = Date.now();
const fig = {
  scenarios: 0,
  parallel_calls: 0,
  outcomes: {} as Record<string, Record<string, number>>,
  violations: [] as Violation[],
};

beforeAll(async () => {
  s = await startRStack();
}, 60_000);
afterAll(async () => {
  figures('concurrency.test.ts', {
    scenarios: fig.scenarios,
    parallel_calls: fig.parallel_calls,
    outcomes: fig.outcomes,
    violations: fig.violations.length,
    by_invariant: tally(fig.violations),
    seconds: (Date.now() - started) / 1000,
  });
  await s?.close();
  cleanupDirs();
});

/** Runs the calls at once; tallies their outcomes under `label`. */
async function parallel(label: string, calls: [string, Record<string, unknown>][]): Promise<ToolResult[]> {
  fig.scenarios++;
  fig.parallel_calls += calls.length;
  const results = await Promise.all(calls.map(([n, a]) => s.call(n, a)));
  const t: Record<string, number> = {};
  for (const r of results) {
    const k = r.isError ? (errorCode(r) ?? 'NO_CODE') : 'ok';
    t[k] = (t[k] ?? 0) + 1;
  }
  fig.outcomes[label] = t;
  return results;
}

/** No INTERNAL and no uncoded error among the results. */
function expectNoInternal(results: ToolResult[]) {
  const bad = results.filter((r) => r.isError && (errorCode(r) === 'INTERNAL' || errorCode(r) === null));
  expect(bad.map(textOf), 'errors coded INTERNAL (or not coded)').toEqual([]);
}

async function expectInvariants(models: string[], endpoints: string[] = []) {
  const { violations } = await s.check({ models, endpoints });
  fig.violations.push(...violations);
  expect(violations, describeViolations(violations)).toEqual([]);
}

const CONTAINER = 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest';
const plain = (name: string, version: string, extra: Record<string, unknown> = {}) => ({
  name,
  version,
  serving_container_uri: CONTAINER,
  ...extra,
});

describe('parallel calls keep the registry rules', () => {
  it('8 parallel uploads of one version: one version, with its metrics', async () => {
    const n = scaled(8, 8);
    const fresh = await parallel(
      'upload new model x8',
      Array.from({ length: n }, () => ['upload_model', plain('cc-up', '1.0.0')] as [string, Record<string, unknown>]),
    );
    expectNoInternal(fresh);
    expect(fresh.some((r) => !r.isError)).toBe(true);
    await expectInvariants(['cc-up']);
    const metrics = { accuracy: 0.91, latency_p95_ms: 120 };
    const again = await parallel(
      'upload existing model x8',
      Array.from(
        { length: n },
        () =>
          ['upload_model', plain('cc-up', '1.1.0', { performance_metrics: metrics })] as [
            string,
            Record<string, unknown>,
          ],
      ),
    );
    expectNoInternal(again);
    expect(again.some((r) => !r.isError)).toBe(true);
    await expectInvariants(['cc-up']);
    const got = await s.ok('get_model', { name: 'cc-up', version: '1.1.0' });
    expect(got.performance_metrics).toEqual(metrics);
  });

  it('3 parallel production uploads: at most one production version', async () => {
    await s.ok('upload_model', plain('cc-prod', '1.0.0'));
    const rs = await parallel(
      'production uploads x3',
      ['2.0.0', '2.1.0', '2.2.0'].map((v) => ['upload_model', plain('cc-prod', v, { deployment_stage: 'production' })]),
    );
    expectNoInternal(rs);
    expect(rs.filter((r) => !r.isError).length, 'production uploads that succeeded').toBe(1);
    await expectInvariants(['cc-prod']);
  });

  for (const k of [2, 4]) {
    it(`${k} parallel promotions to production: one production version, promotions serialize`, async () => {
      const name = `cc-promo-${k}`;
      await s.ok('upload_model', plain(name, '1.0.0', { deployment_stage: 'production' }));
      const candidates = Array.from({ length: k }, (_, i) => `1.${i + 1}.0`);
      for (const v of candidates) await s.ok('upload_model', plain(name, v));
      const rs = await parallel(
        `promotions x${k}`,
        candidates.map((v) => ['promote_model', { name, version: v, target_stage: 'production', force: true }]),
      );
      expectNoInternal(rs);
      await expectInvariants([name]);
      // Each success is truthful: it is the final production version, or a later promotion
      // archived it (a serial order), or its result says it was superseded.
      const wins = rs.filter((r) => !r.isError).map((r) => r.structuredContent as Record<string, any>);
      expect(wins.length).toBeGreaterThanOrEqual(1);
      const final = (await s.ok('get_model', { name })).version;
      const silent = wins.filter(
        (w) =>
          w.version !== final &&
          !wins.some((o) => o !== w && o.previous_production?.version === w.version) &&
          !(w.superseded_by || (w.stage_now && w.stage_now !== 'production')),
      );
      if (silent.length) {
        fig.violations.push({
          invariant: 'a successful promotion is in production, or says what superseded it',
          where: name,
          detail: `${wins.length} promotions succeeded, ${final} holds production; silently lost: ${silent.map((w) => w.version)}`,
        });
      }
      expect(
        silent.map((w) => w.version),
        `promotions that succeeded but are not in production and do not say so: ${JSON.stringify(wins)}`,
      ).toEqual([]);
      const prod = await s.ok('get_model', { name });
      expect(prod.deployment_stage).toBe('production');
      expect(wins.map((w) => w.version)).toContain(prod.version);
    });
  }

  it('4 parallel deploys of one version: one deployment; a repeated deploy changes nothing', async () => {
    const art = await putRouter(s.emu, 'cc-dep/a');
    await s.ok('upload_model', routerArgs('cc-dep', '1.0.0', art));
    await s.ok('upload_model', routerArgs('cc-dep', '1.1.0', art));
    await s.ok('create_endpoint', { display_name: 'cc-dep-ep' });
    await s.ok('deploy_model', { endpoint: 'cc-dep-ep', name: 'cc-dep', version: '1.0.0' });
    const rs = await parallel(
      'deploys x4',
      Array.from(
        { length: 4 },
        () =>
          ['deploy_model', { endpoint: 'cc-dep-ep', name: 'cc-dep', version: '1.1.0', traffic_percentage: 20 }] as [
            string,
            Record<string, unknown>,
          ],
      ),
    );
    expectNoInternal(rs);
    await expectInvariants(['cc-dep'], ['cc-dep-ep']);
    const before = (await s.lib.endpoints.getEndpoint('cc-dep-ep')).deployed.map((d) => [d.version, d.traffic_percent]);
    const again = await s.call('deploy_model', {
      endpoint: 'cc-dep-ep',
      name: 'cc-dep',
      version: '1.1.0',
      traffic_percentage: 20,
    });
    fig.parallel_calls++;
    expectNoInternal([again]);
    const after = (await s.lib.endpoints.getEndpoint('cc-dep-ep')).deployed.map((d) => [d.version, d.traffic_percent]);
    expect(after, 'a repeated deploy_model (annotated idempotent) moved traffic or deployed a copy').toEqual(before);
    await expectInvariants(['cc-dep'], ['cc-dep-ep']);
  });

  it('parallel tuned-model registrations and first reads: one version each, exact pre-release versions', async () => {
    const TRAIN = 'gs://vertex-mcp-emulator/cc/train.jsonl';
    await s.emu.gcs.write(TRAIN, routingJsonl(0, 90));
    const tuning = await s.clients.tuning();
    const submit = (output?: { name: string; version: string }) =>
      s.ok('submit_tuning_job', {
        tuning_type: 'supervised',
        base_model: 'local/text-router',
        dataset: { train_uri: TRAIN },
        hyperparameters: { epochs: 1 },
        ...(output ? { output } : {}),
      });
    /** Waits for the job through the official client (not our tools: reads may register). */
    const succeeded = async (job: string) => {
      for (let i = 0; i < 600; i++) {
        const [j] = await tuning.getTuningJob({ name: `${s.clients.parent}/tuningJobs/${job}` });
        const state = String(j.state);
        if (state === 'JOB_STATE_SUCCEEDED') return;
        if (['JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'].includes(state)) throw new Error(`job ${job} ${state}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`job ${job} did not finish`);
    };
    const plainJob = await submit();
    const auto = await submit({ name: 'cc-auto', version: '1.0.0' });
    const rc = await submit({ name: 'cc-auto', version: '2.0.0-rc.1' });
    const dupA = await submit({ name: 'cc-dup', version: '1.0.0' });
    const dupB = await s.call('submit_tuning_job', {
      tuning_type: 'supervised',
      base_model: 'local/text-router',
      dataset: { train_uri: TRAIN },
      hyperparameters: { epochs: 1 },
      output: { name: 'cc-dup', version: '1.0.0' },
    });
    expectNoInternal([dupB]);
    const jobs = [plainJob, auto, rc, dupA, ...(dupB.isError ? [] : [dupB.structuredContent as Record<string, any>])];
    for (const j of jobs) await succeeded(j.job);

    const regs = await parallel(
      'register_tuned_model x4',
      Array.from(
        { length: 4 },
        () =>
          ['register_tuned_model', { job: plainJob.job, name: 'cc-tuned', version: '1.0.0' }] as [
            string,
            Record<string, unknown>,
          ],
      ),
    );
    expectNoInternal(regs);
    expect(regs.some((r) => !r.isError)).toBe(true);
    await expectInvariants(['cc-tuned']);

    const reads = await parallel(
      'first get_tuning_job x4',
      Array.from({ length: 4 }, () => ['get_tuning_job', { job: auto.job }] as [string, Record<string, unknown>]),
    );
    expect(
      reads.filter((r) => r.isError).map(textOf),
      'get_tuning_job is read-only: concurrent reads must not fail',
    ).toEqual([]);

    // Whatever path registers a succeeded job's output (a read, or register_tuned_model), it ends
    // with exactly that version, spelled as submitted, pointing at its own job.
    const settle = async (j: Record<string, any>, out: { name: string; version: string }) => {
      const rec = await s.ok('get_tuning_job', { job: j.job });
      if (!rec.registered) {
        const r = await s.call('register_tuned_model', { job: j.job, ...out });
        fig.parallel_calls++;
        expectNoInternal([r]);
      }
      return s.ok('get_tuning_job', { job: j.job });
    };
    const autoRec = await settle(auto, { name: 'cc-auto', version: '1.0.0' });
    expect(autoRec.registered).toEqual({ name: 'cc-auto', version: '1.0.0' });
    const rcRec = await settle(rc, { name: 'cc-auto', version: '2.0.0-rc.1' });
    expect(rcRec.registered, 'a pre-release output version is registered as submitted').toEqual({
      name: 'cc-auto',
      version: '2.0.0-rc.1',
    });
    const rcModel = await s.ok('get_model', { name: 'cc-auto', version: '2.0.0-rc.1' });
    expect(rcModel.provenance?.tuning_job).toBe(rc.resource_name);
    await expectInvariants(['cc-auto']);

    // Two jobs, one output: the version is one job's; the other job must not claim it.
    const dupModel = await s.ok('get_model', { name: 'cc-dup', version: '1.0.0' }).catch(() => null);
    for (const j of jobs.filter((x) => x.job === dupA.job || (!dupB.isError && x === jobs.at(-1)))) {
      const rec = await s.ok('get_tuning_job', { job: j.job });
      if (rec.registered && dupModel) {
        expect(
          dupModel.provenance?.tuning_job,
          `job ${j.job} reports registered ${JSON.stringify(rec.registered)}, but that version came from another job`,
        ).toBe(rec.resource_name);
      }
    }
    await expectInvariants(['cc-dup', 'cc-tuned']);
  }, 120_000);

  it('3 parallel conclusions of one A/B test: concluded once, treatment in production', async () => {
    const art = await putRouter(s.emu, 'cc-ab/a');
    await s.ok('upload_model', routerArgs('cc-ab', '1.0.0', art, { deployment_stage: 'production' }));
    await s.ok('upload_model', routerArgs('cc-ab', '1.1.0', art));
    await s.ok('create_endpoint', { display_name: 'cc-ab-ep' });
    await s.ok('deploy_model', { endpoint: 'cc-ab-ep', name: 'cc-ab', version: '1.0.0' });
    await s.ok('start_ab_test', {
      endpoint: 'cc-ab-ep',
      name: 'cc-ab-test',
      model: 'cc-ab',
      control: '1.0.0',
      treatment: '1.1.0',
      primary_metric: 'accuracy',
      minimum_detectable_effect: 0.1,
      baseline: { value: 0.7 },
      confirm: true,
    });
    const rs = await parallel(
      'conclude_ab_test x3',
      Array.from(
        { length: 3 },
        () =>
          [
            'conclude_ab_test',
            { test: 'cc-ab-test', action: 'ship', force: true, reason: 'concurrency test', confirm: true },
          ] as [string, Record<string, unknown>],
      ),
    );
    expectNoInternal(rs);
    const wins = rs.filter((r) => !r.isError);
    expect(wins.length, 'an A/B test is concluded once').toBe(1);
    const report = await s.ok('get_ab_test', { test: 'cc-ab-test' });
    expect(report.state).toBe('shipped');
    expect((await s.ok('get_model', { name: 'cc-ab' })).version).toBe('1.1.0');
    const e = await s.lib.endpoints.getEndpoint('cc-ab-ep');
    expect(e.deployed.find((d) => d.version === '1.1.0')?.traffic_percent).toBe(100);
    await expectInvariants(['cc-ab'], ['cc-ab-ep']);
  }, 60_000);
});
