// The experiments toolset end to end through a real MCP client on the emulator: two real routers
// whose accuracy differs (one trained on labels of which half are corrupted), an A/A test with
// one artifact in both arms, a guardrail breach injected per deployed model, and a restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { createLibrary, type Library } from '../../src/lib/index.js';
import { createServer } from '../../src/server.js';
import { trainedRouter as router, routingTask as task } from '../fixtures/routing.js';
import { emulatorBackend, type Stack, startStack } from '../helpers.js';

async function uploadRouter(s: { emu: Emulator; lib: Library }, version: string, art: string) {
  const dir = `gs://vertex-mcp-emulator/ab/${version}-${Math.random().toString(36).slice(2)}`;
  await s.emu.gcs.write(`${dir}/model.json`, art);
  await s.lib.registry.uploadModel({
    name: 'router',
    version,
    serving_container_uri: 'local/text-router',
    artifact_uri: dir,
  });
}

/** A one-replica endpoint serving router `version`. */
async function serving(lib: Library, endpoint: string, version: string): Promise<void> {
  await lib.endpoints.createEndpoint({
    display_name: endpoint,
    machine_type: 'n1-standard-2',
    accelerator_count: 0,
    min_replicas: 1,
    max_replicas: 1,
    target_utilization: 60,
  });
  await lib.endpoints.deployModel({ endpoint, name: 'router', version });
}

/** Sends `n` single-instance requests from task `from` on, with correct/incorrect feedback on each. */
async function traffic(lib: Library, endpoint: string, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const t = task(1000 + i);
    const r = await lib.endpoints.predict(endpoint, [t.text]);
    const out = (r.predictions[0] as { output: string }).output;
    lib.monitoring.recordFeedback({ endpoint, prediction_id: r.prediction_ids[0]!, correct: out === t.agent });
  }
}

describe('A/B tests through MCP', () => {
  let s: Stack;
  const good = router(0);
  const bad = router(1 / 3);

  beforeAll(async () => {
    s = await startStack();
    await uploadRouter(s, '1.0.0', bad);
    await uploadRouter(s, '1.1.0', good);
    await uploadRouter(s, '1.2.0', bad); // the same artifact as 1.0.0: an A/A pair
    await s.ok('create_endpoint', { display_name: 'ab-ep' });
    await s.ok('deploy_model', { endpoint: 'ab-ep', name: 'router', version: '1.0.0' });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('plans with a power analysis, ships the better version and moves traffic and registry', async () => {
    const args = {
      endpoint: 'ab-ep',
      name: 'router-better',
      model: 'router',
      control: '1.0.0',
      treatment: '1.1.0',
      primary_metric: 'accuracy',
      minimum_detectable_effect: 0.1,
      baseline: { value: 0.7 },
      guardrails: [{ metric: 'error_rate', margin: 0.02 }],
    };
    // Moving the control's traffic needs confirmation; a dry run shows the plan and changes nothing.
    expect(await s.refused('start_ab_test', args)).toMatch(/CONFIRMATION_REQUIRED/);
    const dry = await s.ok('start_ab_test', { ...args, dry_run: true });
    expect(dry.started).toBe(false);
    expect(dry.deploy_treatment).toBe(true);
    // n per arm for se* = 0.1 / (k(0.05) + z(0.8)) with sd = sqrt(0.7 * 0.3): about 2 x 4 x 0.21 / se*^2 / 2.
    const se = 0.1 / (3.0349 + 0.8416);
    expect(dry.sample_size.control).toBeGreaterThanOrEqual(Math.floor((2 * 0.21) / se ** 2) - 2);
    expect(dry.sample_size.control).toBeLessThanOrEqual(Math.ceil((2 * 0.21) / se ** 2) + 2);
    expect(dry.sample_size.fixed_horizon_total).toBeLessThan(dry.sample_size.total);
    expect((await s.lib.endpoints.getEndpoint('ab-ep')).deployed).toHaveLength(1);

    const started = await s.ok('start_ab_test', { ...args, confirm: true });
    expect(started.started).toBe(true);
    expect(started.test).toBe('router-better');
    const e = await s.lib.endpoints.getEndpoint('ab-ep');
    expect(Object.fromEntries(e.deployed.map((d) => [d.version, d.traffic_percent]))).toEqual({
      '1.0.0': 50,
      '1.1.0': 50,
    });
    // The same start again (an agent retrying after a lost answer) converges on the running test;
    // another test under the same name is refused.
    const again = await s.ok('start_ab_test', { ...args, confirm: true });
    expect(again.report.started_at).toBe(started.report.started_at);
    expect(await s.refused('start_ab_test', { ...args, treatment: '1.2.0', confirm: true })).toMatch(
      /already exists \(running, router 1\.1\.0 vs 1\.0\.0\)/,
    );

    // Traffic until the verdict ships, looking after every 40 requests.
    let report: Record<string, any> = {};
    let sent = 0;
    const planned = started.sample_size.total;
    while (sent < planned) {
      await traffic(s.lib, 'ab-ep', sent, 40);
      sent += 40;
      report = await s.ok('get_ab_test', { test: 'router-better' });
      expect(report.verdict).not.toBe('keep_control');
      expect(report.verdict).not.toBe('invalid');
      if (report.verdict === 'ship_treatment') break;
    }
    expect(report.verdict, `${report.sentence} ${JSON.stringify(report.arms)}`).toBe('ship_treatment');
    expect(sent).toBeLessThanOrEqual(planned);
    const [c, t] = report.arms;
    expect(c.requests + t.requests).toBe(sent);
    expect(t.estimate).toBeGreaterThan(c.estimate);
    expect(report.effect.sequential_ci[0]).toBeGreaterThan(0);
    expect(report.effect.ci[0]).toBeGreaterThan(report.effect.sequential_ci[0]); // Welch is narrower
    expect(report.srm.flagged).toBe(false);
    expect(report.guardrails[0]).toMatchObject({ metric: 'error_rate', status: 'pass' });
    expect(report.sentence).toMatch(/1\.1\.0 is \d+\.\d pp more accurate than 1\.0\.0 \(95% always-valid CI/);
    expect(report.sentence).toContain(
      `n = ${c.outcomes.toLocaleString('en-US')} / ${t.outcomes.toLocaleString('en-US')}`,
    );

    const plan = await s.ok('conclude_ab_test', { test: 'router-better', dry_run: true });
    expect(plan).toMatchObject({ concluded: false, action: 'ship', promote: '1.1.0', against_verdict: false });
    const done = await s.ok('conclude_ab_test', { test: 'router-better', confirm: true });
    expect(done.report.state).toBe('shipped');
    const after = await s.lib.endpoints.getEndpoint('ab-ep');
    expect(Object.fromEntries(after.deployed.map((d) => [d.version, d.traffic_percent]))).toEqual({
      '1.0.0': 0,
      '1.1.0': 100,
    });
    const v = await s.ok('get_model', { name: 'router', version: '1.1.0' });
    expect(v.deployment_stage).toBe('production');
    // The registry comparison now rests on the test.
    const cmp = await s.ok('compare_model_versions', { name: 'router', version_a: '1.0.0', version_b: '1.1.0' });
    expect(cmp.basis).toBe('ab_test');
    expect(cmp.winner).toBe('b');
    expect(cmp.recommendation).toContain('router-better');
    const list = await s.ok('list_ab_tests', {});
    expect(list.tests.map((x: any) => [x.test, x.state])).toEqual([['router-better', 'shipped']]);
    // Per-version accuracy from the same feedback (the treatment served nothing before the test).
    const q = await s.ok('get_metrics', { endpoint: 'ab-ep', kind: 'quality', window_seconds: 3600 });
    const treated = q.metrics.versions.find((x: any) => x.version === '1.1.0');
    expect(treated.labelled).toBe(t.outcomes);
    expect(treated.accuracy).toBeCloseTo(t.estimate, 12);
  }, 120_000);

  it('gates promotion on evidence: no production version is said, an A/B loss refuses', async () => {
    await s.lib.registry.uploadModel({ name: 'fresh', version: '1.0.0', serving_container_uri: 'local/text-router' });
    await s.ok('promote_model', { name: 'fresh', version: '1.0.0' });
    expect(
      await s.refused('promote_model', { name: 'fresh', version: '1.0.0', gate: { beat_production: true } }),
    ).toMatch(/has no production version to beat/);
    // router 1.1.0 won the A/B test against 1.0.0: promoting 1.0.0 back over it is refused with that evidence.
    await s.ok('promote_model', { name: 'router', version: '1.0.0', target_stage: 'staging' });
    const refused = await s.refused('promote_model', {
      name: 'router',
      version: '1.0.0',
      gate: { beat_production: true },
    });
    expect(refused).toMatch(/gate failed: 1\.0\.0 does not beat production 1\.1\.0/);
    expect(refused).toContain('A/B test router-better (shipped)');
  }, 60_000);

  it('never ships an A/A pair: the same artifact in both arms ends inconclusive at its limit', async () => {
    // 1.1.0 serves everything now; 1.2.0 (= 1.0.0's artifact) against 1.0.0, both deployed.
    await s.ok('set_traffic_split', { endpoint: 'ab-ep', traffic_split: { '1.0.0': 100 }, confirm: true });
    const start = await s.ok('start_ab_test', {
      endpoint: 'ab-ep',
      name: 'router-aa',
      model: 'router',
      control: '1.0.0',
      treatment: '1.2.0',
      primary_metric: 'accuracy',
      minimum_detectable_effect: 0.1,
      baseline: { value: 0.7 },
      guardrails: [],
      max_requests: 400,
      confirm: true,
    });
    expect(start.max_requests).toBe(400);
    let r: Record<string, any> = {};
    for (let sent = 0; sent < 400; sent += 25) {
      await traffic(s.lib, 'ab-ep', 5000 + sent, 25);
      r = await s.ok('get_ab_test', { test: 'router-aa' });
      expect(r.verdict, r.sentence).not.toBe('ship_treatment');
    }
    expect(r.verdict).toBe('keep_control');
    expect(r.sentence).toMatch(/^Inconclusive: max_requests 400 reached/);
    // Shipping against the verdict needs force and a reason, both kept.
    expect(await s.refused('conclude_ab_test', { test: 'router-aa', action: 'ship', confirm: true })).toMatch(
      /against the verdict/,
    );
    // Two agents conclude at once: exactly one carries it out, the other is told it is done.
    const both = await Promise.all([
      s.call('conclude_ab_test', { test: 'router-aa', confirm: true, undeploy: true }),
      s.call('conclude_ab_test', { test: 'router-aa', confirm: true, undeploy: true }),
    ]);
    expect(both.filter((r) => r.isError).map((r) => r.content[0]!.text)).toEqual([
      expect.stringMatching(/already rolled_back/),
    ]);
    const rolled = both.find((r) => !r.isError)!.structuredContent!;
    expect(rolled.report.state).toBe('rolled_back');
    expect(rolled.undeploy).toEqual(['1.2.0']);
    expect(rolled.report.decision).toMatchObject({ action: 'rollback', by: 'agent', verdict: 'keep_control' });
    const e = await s.lib.endpoints.getEndpoint('ab-ep');
    expect(e.deployed.map((d) => d.version).sort()).toEqual(['1.0.0', '1.1.0']);
  }, 120_000);
});

describe('guardrails roll back on their own', () => {
  it('a latency fault on the treatment rolls it back within one evaluator interval, with a log message and a resource update', async () => {
    const emu = await startEmulator({ dataDir: ':memory:', faults: undefined });
    emu.setFaults('latency[router@1.1.0]=8ms');
    const lib = createLibrary(emulatorBackend(emu));
    const mcp = createServer({ backend: emulatorBackend(emu), lib });
    const client = new Client({ name: 'watcher', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([mcp.server.connect(b), client.connect(a)]);
    const logs: any[] = [];
    const updates: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    try {
      const s = { emu, lib };
      await uploadRouter(s, '1.0.0', router(0));
      await uploadRouter(s, '1.1.0', router(0, 2));
      await serving(lib, 'g-ep', '1.0.0');
      const call = async (name: string, args: Record<string, unknown>) => {
        const r = (await client.callTool({ name, arguments: args })) as any;
        if (r.isError) throw new Error(r.content[0].text);
        return r.structuredContent;
      };
      await call('start_ab_test', {
        endpoint: 'g-ep',
        name: 'slow-treatment',
        model: 'router',
        control: '1.0.0',
        treatment: '1.1.0',
        primary_metric: 'accuracy',
        minimum_detectable_effect: 0.05,
        baseline: { value: 0.9 },
        guardrails: [{ metric: 'latency_p95_ms', margin: 0.5 }],
        confirm: true,
      });
      await client.subscribeResource({ uri: 'vertex://ab-tests/slow-treatment' });
      lib.experiments.startBackground(300);
      // The p95's distribution-free always-valid bounds need about 200 requests an arm (more when
      // a loaded machine adds outliers to the control): send batches until the evaluator acts.
      let t = await lib.experiments.store.get('slow-treatment');
      for (let sent = 0; t.state === 'running' && sent < 1600; sent += 100) {
        await traffic(lib, 'g-ep', sent, 100);
        await new Promise((r) => setTimeout(r, 400)); // more than one evaluator interval
        t = await lib.experiments.store.get('slow-treatment');
      }
      if (t.state === 'running') console.error(JSON.stringify(await lib.experiments.get('slow-treatment'), null, 1));
      expect(t.state).toBe('rolled_back');
      expect(t.decision).toMatchObject({ action: 'rollback', by: 'auto_rollback', verdict: 'keep_control' });
      expect(t.decision!.sentence).toMatch(/Guardrail failed for 1\.1\.0: latency_p95_ms/);
      const e = await lib.endpoints.getEndpoint('g-ep');
      expect(Object.fromEntries(e.deployed.map((d) => [d.version, d.traffic_percent]))).toEqual({
        '1.0.0': 100,
        '1.1.0': 0,
      });
      await new Promise((r) => setTimeout(r, 1200)); // notifications are throttled to one a second
      expect(logs.some((l) => l.logger === 'vertex-mcp.experiments' && l.data.ab_test === 'slow-treatment')).toBe(true);
      expect(updates).toContain('vertex://ab-tests/slow-treatment');
      const report = await call('get_ab_test', { test: 'slow-treatment' });
      const g = report.guardrails[0];
      expect(g.status).toBe('fail');
      expect(g.treatment).toBeGreaterThan(7);
    } finally {
      lib.experiments.stopBackground();
      await client.close();
      await mcp.close();
      await lib.close();
      await emu.close();
    }
  }, 60_000);
});

describe('restart', () => {
  it('a restart in the middle of a test loses nothing: plan, outcomes, state', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmcp-ab-'));
    const open = async () => {
      const emu = await startEmulator({ dataDir: dir });
      const lib = createLibrary(emulatorBackend(emu), { dataDir: dir });
      return { emu, lib };
    };
    let s = await open();
    try {
      await uploadRouter(s, '1.0.0', router(1 / 3));
      await uploadRouter(s, '1.1.0', router(0));
      await serving(s.lib, 'r-ep', '1.0.0');
      await s.lib.experiments.start({
        endpoint: 'r-ep',
        name: 'survives',
        model: 'router',
        control: '1.0.0',
        treatment: '1.1.0',
        primary_metric: 'accuracy',
        minimum_detectable_effect: 0.1,
        baseline: { value: 0.7 },
      });
      await traffic(s.lib, 'r-ep', 0, 60);
      const before = await s.lib.experiments.get('survives');
      await s.lib.close();
      await s.emu.close();
      s = await open();
      const after = await s.lib.experiments.get('survives');
      expect(after.state).toBe('running');
      expect(after.plan).toEqual(before.plan);
      expect(after.arms.map((a) => [a.requests, a.outcomes, a.estimate])).toEqual(
        before.arms.map((a) => [a.requests, a.outcomes, a.estimate]),
      );
      expect(after.progress.outcomes).toEqual(before.progress.outcomes);
      expect(before.progress.requests).toBe(60);
    } finally {
      await s.lib.close();
      await s.emu.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
