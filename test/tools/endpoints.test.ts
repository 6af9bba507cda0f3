// The endpoints toolset through a real MCP client: tuned versions deployed and served for real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibrary } from '../../src/lib/index.js';
import { routingLines } from '../fixtures/routing.js';
import { emulatorBackend, type Stack, startStack } from '../helpers.js';

let s: Stack;
const TRAIN = 'gs://vertex-mcp-emulator/ep/train.jsonl';
const VAL = 'gs://vertex-mcp-emulator/ep/validation.jsonl';

beforeAll(async () => {
  s = await startStack();
  await s.lib.files.writeText(TRAIN, routingLines(0, 150));
  await s.lib.files.writeText(VAL, routingLines(150, 180));
  for (const [version, tuning_type] of [
    ['1.0.0', 'supervised'],
    ['1.1.0', 'peft'],
  ]) {
    const j = await s.ok('submit_tuning_job', {
      tuning_type,
      base_model: 'local/text-router',
      dataset: { train_uri: TRAIN, validation_uri: VAL },
      hyperparameters: { epochs: 3 },
      output: { name: 'router', version },
      wait: true,
    });
    expect(j.registered).toEqual({ name: 'router', version });
  }
}, 120_000);
afterAll(async () => {
  await s.close();
});

const pct = (e: any) => Object.fromEntries(e.deployed.map((d: any) => [d.version, d.traffic_percent]));

describe('endpoints', () => {
  it('deploys versions, rescales traffic, predicts, and moves traffic only when confirmed', async () => {
    const e = await s.ok('create_endpoint', { display_name: 'router-ep', min_replicas: 1, max_replicas: 3 });
    expect(e.defaults).toMatchObject({
      machine_type: 'n1-standard-2',
      min_replicas: 1,
      max_replicas: 3,
      target_utilization: 60,
    });
    const first = await s.ok('deploy_model', { endpoint: 'router-ep', name: 'router', version: '1.0.0' });
    expect(first.done).toBe(true);
    expect(pct(first.endpoint)).toEqual({ '1.0.0': 100 });
    const second = await s.ok('deploy_model', {
      endpoint: 'router-ep',
      name: 'router',
      version: '1.1.0',
      traffic_percentage: 20,
    });
    expect(pct(second.endpoint)).toEqual({ '1.0.0': 80, '1.1.0': 20 });

    const p = await s.ok('predict', {
      endpoint: 'router-ep',
      instances: ['write a sql join between orders and customers', { text: 'draft a blog post about llamas' }],
    });
    expect(p.predictions).toHaveLength(2);
    expect(p.predictions.map((x: any) => x.output)).toEqual(['sql_agent', 'writer']);
    expect(['1.0.0', '1.1.0']).toContain(p.version);

    const dry = await s.ok('set_traffic_split', {
      endpoint: 'router-ep',
      traffic_split: { '1.0.0': 50, '1.1.0': 50 },
      dry_run: true,
    });
    expect(dry.applied).toBe(false);
    expect(Object.values(dry.before).sort()).toEqual([20, 80]);
    expect(Object.values(dry.after)).toEqual([50, 50]);
    expect(
      await s.refused('set_traffic_split', { endpoint: 'router-ep', traffic_split: { '1.0.0': 50, '1.1.0': 50 } }),
    ).toContain('CONFIRMATION_REQUIRED');
    expect(pct((await s.ok('list_endpoints')).endpoints[0])).toEqual({ '1.0.0': 80, '1.1.0': 20 });
    const moved = await s.ok('set_traffic_split', {
      endpoint: 'router-ep',
      traffic_split: { '1.0.0': 50, '1.1.0': 50 },
      confirm: true,
    });
    expect(pct(moved.endpoint)).toEqual({ '1.0.0': 50, '1.1.0': 50 });

    // A deployed version cannot be deleted from the registry.
    const del = await s.refused('delete_model', { name: 'router', version: '1.1.0', confirm: true });
    expect(del).toContain('cannot delete: deployed (1.1.0 on projects/test-project/locations/us-central1/endpoints/');

    const un = await s.ok('undeploy_model', { endpoint: 'router-ep', name: 'router', version: '1.1.0', confirm: true });
    expect(pct(un.endpoint)).toEqual({ '1.0.0': 100 });
  });

  it('refuses bad splits, bad replicas, unknown versions and oversized payloads', async () => {
    const sum = await s.refused('set_traffic_split', {
      endpoint: 'router-ep',
      traffic_split: { '1.0.0': 90 },
      confirm: true,
    });
    expect(sum).toContain('sums to 90; it must sum to 100');
    const unknown = await s.refused('set_traffic_split', {
      endpoint: 'router-ep',
      traffic_split: { '9.9.9': 100 },
      confirm: true,
    });
    expect(unknown).toContain('traffic_split names "9.9.9", which is not deployed');
    const replicas = await s.refused('create_endpoint', { display_name: 'bad', min_replicas: 3, max_replicas: 1 });
    expect(replicas).toContain('max_replicas 1 is below min_replicas 3');
    const negative = await s.refused('deploy_model', {
      endpoint: 'router-ep',
      name: 'router',
      version: '1.1.0',
      min_replicas: -1,
    });
    expect(negative).toContain('min_replicas');
    const missing = await s.refused('deploy_model', { endpoint: 'router-ep', name: 'router', version: '7.0.0' });
    expect(missing).toContain('model "router" has no version 7.0.0');
    const big = await s.refused('predict', { endpoint: 'router-ep', instances: ['x'.repeat(1_600_000)] });
    expect(big).toContain('at most 1500000 bytes');
    const empty = await s.refused('predict', { endpoint: 'router-ep', instances: [] });
    expect(empty).toContain('instances');
    const shape = await s.refused('predict', { endpoint: 'router-ep', instances: [{ image: 'abc' }] });
    expect(shape).toContain('INVALID_ARGUMENT');
  });

  it('refuses an unservable model at deploy time', async () => {
    await s.ok('upload_model', {
      name: 'custom',
      version: '1.0.0',
      serving_container_uri: 'us-docker.pkg.dev/x/custom:latest',
    });
    const err = await s.refused('deploy_model', { endpoint: 'router-ep', name: 'custom', version: '1.0.0' });
    expect(err).toContain('FAILED_PRECONDITION');
    expect(err).toContain('vertex mode');
  });

  it('deletes an endpoint only with force and confirm', async () => {
    const plain = await s.refused('delete_endpoint', { endpoint: 'router-ep', confirm: true });
    expect(plain).toContain('still serves router@1.0.0');
    const dry = await s.ok('delete_endpoint', { endpoint: 'router-ep', force: true, dry_run: true });
    expect(dry).toEqual({ deleted: false, endpoint: expect.any(String), undeploys: ['router@1.0.0'] });
    const done = await s.ok('delete_endpoint', { endpoint: 'router-ep', force: true, confirm: true });
    expect(done.deleted).toBe(true);
    expect((await s.ok('list_endpoints')).count).toBe(0);
    expect((await s.ok('get_model', { name: 'router', version: '1.0.0' })).deployed_to).toEqual([]);
  });
});

describe('deploy_model is idempotent (annotated idempotentHint)', () => {
  const deployedCount = async (ep: string) => (await s.lib.endpoints.getEndpoint(ep)).deployed.length;

  it('a second call for a deployed version returns it: no second copy, no traffic moved', async () => {
    await s.ok('create_endpoint', { display_name: 'idem-ep' });
    await s.ok('deploy_model', { endpoint: 'idem-ep', name: 'router', version: '1.0.0' });
    const first = await s.ok('deploy_model', {
      endpoint: 'idem-ep',
      name: 'router',
      version: '1.1.0',
      traffic_percentage: 20,
    });
    expect(first.already_deployed).toBe(false);
    expect(pct(first.endpoint)).toEqual({ '1.0.0': 80, '1.1.0': 20 });
    // The same call again (before the fix: a second copy and 64/16/20).
    const again = await s.ok('deploy_model', {
      endpoint: 'idem-ep',
      name: 'router',
      version: '1.1.0',
      traffic_percentage: 20,
    });
    expect(again).toMatchObject({
      already_deployed: true,
      done: true,
      operation: null,
      deployed_model_id: first.deployed_model_id,
    });
    expect(again.note).toContain('nothing was changed');
    expect(await deployedCount('idem-ep')).toBe(2);
    expect(pct(again.endpoint)).toEqual({ '1.0.0': 80, '1.1.0': 20 });
    // A different traffic_percentage is not applied: the answer says so and points to set_traffic_split.
    const other = await s.call('deploy_model', {
      endpoint: 'idem-ep',
      name: 'router',
      version: '1.1.0',
      traffic_percentage: 50,
      min_replicas: 2,
    });
    expect(other.isError).toBeFalsy();
    expect(other.structuredContent).toMatchObject({
      already_deployed: true,
      deployed_model_id: first.deployed_model_id,
    });
    const text = other.content[0]!.text!;
    expect(text).toContain('already deployed on idem-ep');
    expect(text).toContain('with 20% of the traffic');
    expect(text).toContain('traffic_percentage 50 was not applied');
    expect(text).toContain('use set_traffic_split');
    expect(text).toContain('min_replicas 1 (asked 2)');
    expect(await deployedCount('idem-ep')).toBe(2);
    expect(pct(await s.lib.endpoints.getEndpoint('idem-ep'))).toEqual({ '1.0.0': 80, '1.1.0': 20 });
    // Versions are matched by the model version served, whatever the call (no traffic_percentage).
    const base = await s.ok('deploy_model', { endpoint: 'idem-ep', name: 'router', version: '1.0.0' });
    expect(base.already_deployed).toBe(true);
    expect(pct(base.endpoint)).toEqual({ '1.0.0': 80, '1.1.0': 20 });
  });

  it('four concurrent deploy_model calls for one version deploy it once, and all name the same deployment', async () => {
    await s.ok('create_endpoint', { display_name: 'race-ep' });
    await s.ok('deploy_model', { endpoint: 'race-ep', name: 'router', version: '1.0.0' });
    const results = await Promise.all(
      [1, 2, 3, 4].map(() =>
        s.ok('deploy_model', { endpoint: 'race-ep', name: 'router', version: '1.1.0', traffic_percentage: 20 }),
      ),
    );
    expect(new Set(results.map((r) => r.deployed_model_id)).size).toBe(1);
    expect(results.filter((r) => !r.already_deployed)).toHaveLength(1);
    expect(await deployedCount('race-ep')).toBe(2);
    expect(pct(await s.lib.endpoints.getEndpoint('race-ep'))).toEqual({ '1.0.0': 80, '1.1.0': 20 });
  });

  it('concurrent deploys of different versions keep each share (no lost split update)', async () => {
    const v11 = await s.ok('get_model', { name: 'router', version: '1.1.0' });
    await s.ok('upload_model', {
      name: 'router',
      version: '1.2.0',
      artifact_uri: v11.artifact_uri,
      serving_container_uri: v11.serving_container_uri,
    });
    await s.ok('create_endpoint', { display_name: 'pair-ep' });
    await s.ok('deploy_model', { endpoint: 'pair-ep', name: 'router', version: '1.0.0' });
    await Promise.all([
      s.ok('deploy_model', { endpoint: 'pair-ep', name: 'router', version: '1.1.0', traffic_percentage: 20 }),
      s.ok('deploy_model', { endpoint: 'pair-ep', name: 'router', version: '1.2.0', traffic_percentage: 30 }),
    ]);
    const split = pct(await s.lib.endpoints.getEndpoint('pair-ep'));
    // One after the other: {80, 20} then 30% for 1.2.0 -> {56, 14, 30}, or the other order -> {56, 20, 24}.
    expect([
      { '1.0.0': 56, '1.1.0': 14, '1.2.0': 30 },
      { '1.0.0': 56, '1.1.0': 20, '1.2.0': 24 },
    ]).toContainEqual(split);
  });

  it('two processes deploying the same version at once deploy it once (the deployed-model ID is derived)', async () => {
    const other = createLibrary(emulatorBackend(s.emu));
    try {
      await s.ok('create_endpoint', { display_name: 'xproc-ep' });
      await s.ok('deploy_model', { endpoint: 'xproc-ep', name: 'router', version: '1.0.0' });
      const input = { endpoint: 'xproc-ep', name: 'router', version: '1.1.0', traffic_percentage: 30 };
      const results = await Promise.all([
        s.lib.endpoints.deployModel(input),
        other.endpoints.deployModel(input),
        s.lib.endpoints.deployModel(input),
        other.endpoints.deployModel(input),
      ]);
      expect(new Set(results.map((r) => r.deployed_model_id)).size).toBe(1);
      expect(results.filter((r) => !r.already_deployed).length).toBeGreaterThanOrEqual(1);
      expect(await deployedCount('xproc-ep')).toBe(2);
      expect(pct(await s.lib.endpoints.getEndpoint('xproc-ep'))).toEqual({ '1.0.0': 70, '1.1.0': 30 });
    } finally {
      await other.close();
    }
  });
});

describe('bounded inputs', () => {
  it('replica counts: 2^53-1 is refused with its value (never -1), through the tools and the library', async () => {
    const huge = 2 ** 53 - 1;
    const viaTool = await s.refused('deploy_model', {
      endpoint: 'idem-ep',
      name: 'router',
      version: '1.1.0',
      min_replicas: huge,
    });
    expect(viaTool).toContain('min_replicas');
    expect(viaTool).toContain('1000');
    expect(viaTool).not.toContain('-1');
    const create = await s.refused('create_endpoint', { display_name: 'huge', max_replicas: huge });
    expect(create).toContain('max_replicas');
    expect(create).not.toContain('-1');
    await expect(
      s.lib.endpoints.deployModel({ endpoint: 'idem-ep', name: 'router', version: '1.1.0', min_replicas: huge }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'min_replicas 9007199254740991 must be an integer from 1 to 1000',
    });
    await expect(
      s.lib.endpoints.createEndpoint({
        display_name: 'huge',
        machine_type: 'n1-standard-2',
        accelerator_count: 0,
        min_replicas: 1,
        max_replicas: huge,
        target_utilization: 60,
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('max_replicas 9007199254740991'),
    });
    await expect(
      s.lib.endpoints.deployModel({ endpoint: 'idem-ep', name: 'router', version: '1.1.0', traffic_percentage: 101 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await s.ok('list_endpoints')).endpoints.map((e: any) => e.display_name)).not.toContain('huge');
  });

  it('a 2,000-deep instance is INVALID_ARGUMENT naming the limit, not a stack overflow', async () => {
    let deep: unknown = { text: 'route this' };
    for (let i = 0; i < 2000; i++) deep = { nested: deep };
    const err = await s.refused('predict', { endpoint: 'idem-ep', instances: ['fine', deep] });
    expect(err).toContain('INVALID_ARGUMENT');
    expect(err).toContain('instances[1] nests more than 32 levels deep');
    expect(err).not.toMatch(/call stack|INTERNAL/);
    const params = await s.refused('predict', { endpoint: 'idem-ep', instances: ['fine'], parameters: { p: deep } });
    expect(params).toContain('parameters nests more than 32 levels deep');
    // 100,000 levels: still refused up front (counted without recursion).
    let deeper: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deeper = [deeper];
    await expect(s.lib.endpoints.predict('idem-ep', [{ text: 'x', deeper }])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'instances[0] nests more than 32 levels deep',
    });
    // Within the limit it is served.
    let ok: unknown = 'leaf';
    for (let i = 0; i < 30; i++) ok = { nested: ok };
    const served = await s.ok('predict', { endpoint: 'idem-ep', instances: [{ text: 'write a sql join', meta: ok }] });
    expect(served.predictions).toHaveLength(1);
  });

  it('splits: percentages outside [0, 100] and too many entries are refused', async () => {
    const over = await s.refused('set_traffic_split', {
      endpoint: 'idem-ep',
      traffic_split: { '1.0.0': 101, '1.1.0': -1 },
      confirm: true,
    });
    expect(over).toContain('traffic_split');
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`9.9.${i}`, i === 0 ? 100 : 0]));
    const wide = await s.refused('set_traffic_split', { endpoint: 'idem-ep', traffic_split: many, confirm: true });
    expect(wide).toContain('at most 100 entries');
    const long = await s.refused('deploy_model', { endpoint: 'x'.repeat(300), name: 'router', version: '1.0.0' });
    expect(long).toContain('endpoint');
    expect(pct(await s.lib.endpoints.getEndpoint('idem-ep'))).toEqual({ '1.0.0': 80, '1.1.0': 20 });
  });
});
