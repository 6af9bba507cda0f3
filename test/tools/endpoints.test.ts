// The endpoints toolset through a real MCP client: tuned versions deployed and served for real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routingLines } from '../fixtures/routing.js';
import { type Stack, startStack } from '../helpers.js';

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
