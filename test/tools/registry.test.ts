// The registry toolset through a real MCP client against the emulator.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { modelArgs, type Stack, startStack } from '../helpers.js';

let s: Stack;
beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  await s.close();
});

const upload = (version: string, extra: Record<string, unknown> = {}) =>
  s.ok('upload_model', modelArgs('router', version, extra));
const versions = async () => (await s.ok('list_models', { name: 'router' })).versions as any[];

describe('upload_model and get_model', () => {
  it('stores the metadata in Vertex form and reads it back', async () => {
    const up = await upload('1.2.0', {
      source: 'se_darwin_evolution',
      base_model: 'gemini-2.0-flash-001',
      artifact_uri: 'gs://bucket/router/1.2.0',
      tags: ['routing', 'halo'],
      description: 'first cut',
      performance_metrics: { accuracy: 0.9, latency_p95_ms: 120 },
      cost_metrics: { cost_per_1k_requests_usd: 0.5 },
    });
    expect(up).toMatchObject({ name: 'router', version: '1.2.0', version_id: '1', deployment_stage: 'development' });
    expect(up.aliases).toEqual(['default', 'v1-2-0']);

    const m = await s.ok('get_model', { name: 'router', version: '1.2.0' });
    expect(m).toMatchObject({
      source: 'se_darwin_evolution',
      base_model: 'gemini-2.0-flash-001',
      artifact_uri: 'gs://bucket/router/1.2.0',
      description: 'first cut',
      tags: ['halo', 'routing'],
      performance_metrics: { accuracy: 0.9, latency_p95_ms: 120 },
      cost_metrics: { cost_per_1k_requests_usd: 0.5 },
      resource_name: 'projects/test-project/locations/us-central1/models/router@1',
    });

    // The mapping is visible to any Vertex client: labels and the JSON version description.
    const [raw] = await (await s.lib.clients.models()).getModel({ name: m.resource_name });
    expect(raw.labels).toMatchObject({ stage: 'development', source: 'se_darwin_evolution', 'tag-routing': 'true' });
    expect(JSON.parse(String(raw.versionDescription))).toEqual({
      version: '1.2.0',
      base_model: 'gemini-2.0-flash-001',
      description: 'first cut',
    });
  });

  it('resolves an unversioned read to the default version', async () => {
    await upload('1.0.0');
    await upload('1.1.0');
    expect((await s.ok('get_model', { name: 'router' })).version).toBe('1.0.0');
  });
});

describe('list_models', () => {
  it('filters by name, stage, source and tags', async () => {
    await upload('1.0.0', { tags: ['a'] });
    await upload('1.1.0', { tags: ['a', 'b'], source: 'tuning_job' });
    await s.ok('upload_model', modelArgs('other', '0.1.0', { deployment_stage: 'staging' }));
    const list = async (q: Record<string, unknown>) =>
      ((await s.ok('list_models', q)).versions as any[]).map((v) => `${v.name}@${v.version}`);
    expect(await list({})).toEqual(['router@1.0.0', 'router@1.1.0', 'other@0.1.0']);
    expect(await list({ stage: 'staging' })).toEqual(['other@0.1.0']);
    expect(await list({ source: 'tuning_job' })).toEqual(['router@1.1.0']);
    expect(await list({ tags: ['a', 'b'] })).toEqual(['router@1.1.0']);
    expect(await list({ name: 'router', tags: ['a'] })).toEqual(['router@1.0.0', 'router@1.1.0']);
  });
});

describe('promote_model', () => {
  it('moves one stage at a time and keeps one production version', async () => {
    await upload('1.0.0');
    await upload('1.1.0');
    expect(await s.ok('promote_model', { name: 'router', version: '1.0.0' })).toMatchObject({
      from_stage: 'development',
      to_stage: 'staging',
    });
    await s.ok('promote_model', { name: 'router', version: '1.0.0' });
    await s.ok('promote_model', { name: 'router', version: '1.1.0' });
    const r = await s.ok('promote_model', { name: 'router', version: '1.1.0' });
    expect(r).toMatchObject({ to_stage: 'production', previous_production: { version: '1.0.0', now: 'archived' } });
    const vs = await versions();
    expect(vs.map((v) => [v.version, v.deployment_stage])).toEqual([
      ['1.0.0', 'archived'],
      ['1.1.0', 'production'],
    ]);
    expect(vs.filter((v) => v.aliases.includes('production'))).toHaveLength(1);
    expect(vs[1].aliases).toEqual(expect.arrayContaining(['production', 'default']));
    expect(vs[1].aliases).not.toContain('staging');
    expect((await s.ok('get_model', { name: 'router' })).version).toBe('1.1.0');
  });

  it('refuses to skip a stage unless forced', async () => {
    await upload('1.0.0');
    const err = await s.refused('promote_model', { name: 'router', version: '1.0.0', target_stage: 'production' });
    expect(err).toContain('FAILED_PRECONDITION: promotion from development to production skips a stage');
    expect((await versions())[0].deployment_stage).toBe('development');
    const forced = await s.ok('promote_model', {
      name: 'router',
      version: '1.0.0',
      target_stage: 'production',
      force: true,
    });
    expect(forced.to_stage).toBe('production');
  });

  it('applies gates before changing anything', async () => {
    await upload('1.0.0', { deployment_stage: 'production', performance_metrics: { accuracy: 0.9 } });
    await upload('1.1.0', { deployment_stage: 'staging', performance_metrics: { accuracy: 0.85 } });
    const threshold = await s.refused('promote_model', {
      name: 'router',
      version: '1.1.0',
      gate: { metric: 'accuracy', min: 0.88 },
    });
    expect(threshold).toContain('gate failed: accuracy = 0.85, required >= 0.88');
    const beat = await s.refused('promote_model', {
      name: 'router',
      version: '1.1.0',
      gate: { beat_production: true },
    });
    expect(beat).toContain('does not beat production 1.0.0');
    expect(beat).toContain('5.6% less accurate');
    const vs = await versions();
    expect(vs.map((v) => v.deployment_stage)).toEqual(['production', 'staging']);
  });

  it('refuses a second production version at upload', async () => {
    await upload('1.0.0', { deployment_stage: 'production' });
    const err = await s.refused('upload_model', modelArgs('router', '1.1.0', { deployment_stage: 'production' }));
    expect(err).toContain('already has a production version');
    expect(await versions()).toHaveLength(1);
  });
});

describe('metrics and comparison', () => {
  it('merges metric updates, newest evaluation wins', async () => {
    await upload('1.0.0', { performance_metrics: { accuracy: 0.8, latency_p95_ms: 200 } });
    const r = await s.ok('update_model_metrics', {
      name: 'router',
      version: '1.0.0',
      performance_metrics: { accuracy: 0.82 },
      cost_metrics: { cost_per_1k_requests_usd: 0.3 },
    });
    expect(r).toEqual({
      name: 'router',
      version: '1.0.0',
      performance_metrics: { accuracy: 0.82, latency_p95_ms: 200 },
      cost_metrics: { cost_per_1k_requests_usd: 0.3 },
    });
  });

  it('compares with deltas, directions and a recommendation carrying numbers', async () => {
    await upload('1.0.0', { performance_metrics: { accuracy: 0.8, latency_p95_ms: 200 } });
    await upload('1.1.0', { performance_metrics: { accuracy: 0.84, latency_p95_ms: 150 } });
    const c = await s.ok('compare_model_versions', { name: 'router', version_a: '1.0.0', version_b: '1.1.0' });
    expect(c.winner).toBe('b');
    expect(c.basis).toBe('offline');
    expect(c.ab_test).toBeNull();
    expect(c.recommendation).toBe(
      'Offline comparison (recorded metrics carry no sample size or uncertainty; live differences count only when significant at 95%): Promote 1.1.0: it is 5.0% more accurate and 25.0% faster at p95 than 1.0.0.',
    );
    const acc = c.metrics.find((m: any) => m.metric === 'accuracy');
    expect(acc.delta).toBeCloseTo(0.04, 10);
    expect(acc.relative_change).toBeCloseTo(0.05, 10);
    expect(acc).toMatchObject({ direction: 'higher_is_better', better: 'b' });
    expect(c.metrics.find((m: any) => m.metric === 'latency_p95_ms')).toMatchObject({
      delta: -50,
      direction: 'lower_is_better',
      better: 'b',
    });
  });
});

describe('delete_model', () => {
  it('needs confirm, supports dry_run, and moves the default alias before deleting its holder', async () => {
    await upload('1.0.0');
    await upload('1.1.0');
    const refused = await s.refused('delete_model', { name: 'router', version: '1.0.0' });
    expect(refused).toContain('CONFIRMATION_REQUIRED');
    const dry = await s.ok('delete_model', { name: 'router', version: '1.0.0', dry_run: true });
    expect(dry).toEqual({
      deleted: false,
      plan: { action: 'delete_version', name: 'router', versions: ['1.0.0'], default_moves_to: '1.1.0', deployed: [] },
    });
    expect(await versions()).toHaveLength(2);
    expect((await s.ok('delete_model', { name: 'router', version: '1.0.0', confirm: true })).deleted).toBe(true);
    const left = await versions();
    expect(left.map((v) => v.version)).toEqual(['1.1.0']);
    expect(left[0].aliases).toContain('default');
    const whole = await s.ok('delete_model', { name: 'router', confirm: true });
    expect(whole.plan.action).toBe('delete_model');
    expect(await s.refused('get_model', { name: 'router' })).toContain('NOT_FOUND: model "router" not found');
  });

  it('asks through elicitation when the client supports it', async () => {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
    const { ElicitRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const { createServer } = await import('../../src/server.js');
    await upload('1.0.0');
    await upload('1.1.0');
    let answer: 'accept' | 'decline' = 'decline';
    const asked: string[] = [];
    const client = new Client({ name: 'eliciting', version: '1' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
    });
    const mcp = createServer({ backend: s.lib.clients.backend, lib: s.lib });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([mcp.server.connect(b), client.connect(a)]);
    const declined = (await client.callTool({
      name: 'delete_model',
      arguments: { name: 'router', version: '1.0.0' },
    })) as any;
    expect(declined.isError).toBe(true);
    expect(declined.content[0].text).toContain('not confirmed (decline)');
    expect(await versions()).toHaveLength(2);
    answer = 'accept';
    const accepted = (await client.callTool({
      name: 'delete_model',
      arguments: { name: 'router', version: '1.0.0' },
    })) as any;
    expect(accepted.structuredContent.deleted).toBe(true);
    expect(asked).toEqual(['Confirm: delete version router 1.0.0?', 'Confirm: delete version router 1.0.0?']);
    await client.close();
    await mcp.close();
  });
});

describe('bad input gets a clear isError result and changes nothing', () => {
  it('invalid semver', async () => {
    const err = await s.refused('upload_model', modelArgs('router', '1.2'));
    expect(err).toContain('version "1.2" is not a semantic version');
  });

  it('a name the model ID rules reject', async () => {
    const err = await s.refused('upload_model', modelArgs('Router.V2', '1.0.0'));
    expect(err).toContain('name "Router.V2" is not a valid Vertex model ID');
    expect(err).toContain('lowercase letter first');
  });

  it('a duplicate version', async () => {
    await upload('1.0.0');
    const err = await s.refused('upload_model', modelArgs('router', '1.0.0'));
    expect(err).toContain('ALREADY_EXISTS: model "router" already has version 1.0.0');
    expect(await versions()).toHaveLength(1);
  });

  it('an unknown model or version', async () => {
    expect(await s.refused('get_model', { name: 'nope' })).toContain('NOT_FOUND: model "nope" not found');
    await upload('1.0.0');
    const err = await s.refused('get_model', { name: 'router', version: '9.9.9' });
    expect(err).toContain('model "router" has no version 9.9.9. Known versions: 1.0.0');
  });

  it('metrics that are not numbers', async () => {
    await upload('1.0.0');
    const err = await s.refused('update_model_metrics', {
      name: 'router',
      version: '1.0.0',
      performance_metrics: { accuracy: 'high' },
    });
    expect(err).toContain('Input validation error');
    expect(err).toContain('performance_metrics.accuracy');
    expect((await s.ok('get_model', { name: 'router', version: '1.0.0' })).performance_metrics).toEqual({});
  });

  it('an unknown stage names the allowed values', async () => {
    const err = await s.refused('upload_model', modelArgs('router', '1.0.0', { deployment_stage: 'prod' }));
    expect(err).toContain('deployment_stage');
    expect(err).toContain('"development"|"staging"|"production"');
  });

  it('an unknown tool', async () => {
    const err = await s.refused('drop_all_models', {});
    expect(err).toContain('Tool drop_all_models not found');
  });

  it('labels that Vertex cannot hold', async () => {
    const err = await s.refused('upload_model', modelArgs('router', '1.0.0', { tags: ['Not OK'] }));
    expect(err).toContain('tag "Not OK" cannot be stored as a label');
    expect(await s.refused('get_model', { name: 'router' })).toContain('NOT_FOUND');
  });
});
