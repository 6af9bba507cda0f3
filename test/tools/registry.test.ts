// The registry toolset through a real MCP client against the emulator.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { train } from '../../src/emulator/runtime/index.js';
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

    // The mapping is visible to any Vertex client: labels and the JSON version description, which
    // mirrors the newest evaluations' metrics (no write in flight: no `pending` entry).
    const [raw] = await (await s.lib.clients.models()).getModel({ name: m.resource_name });
    expect(raw.labels).toMatchObject({ stage: 'development', source: 'se_darwin_evolution', 'tag-routing': 'true' });
    expect(JSON.parse(String(raw.versionDescription))).toEqual({
      version: '1.2.0',
      base_model: 'gemini-2.0-flash-001',
      description: 'first cut',
      metrics: { performance: { accuracy: 0.9, latency_p95_ms: 120 }, cost: { cost_per_1k_requests_usd: 0.5 } },
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

  it('pages: every version once, each answer under 16 KB, the token in the text', async () => {
    for (let i = 0; i < 60; i++)
      await upload(`1.0.${i}`, { tags: Array.from({ length: 20 }, (_, t) => `tag-${t}-${i}`) });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await s.call('list_models', { name: 'router', ...(token ? { page_token: token } : {}) });
      expect(r.isError).toBeFalsy();
      expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThan(16_384);
      const sc = r.structuredContent!;
      seen.push(...sc.versions.map((v: any) => v.version));
      expect(sc.count).toBe(sc.versions.length);
      token = sc.next_page_token ?? undefined;
      if (token) expect(r.content[0]!.text).toContain(`page_token "${token}"`);
      pages++;
    } while (token && pages < 10);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => `1.0.${i}`));
    const bad = await s.refused('list_models', { name: 'router', page_token: 'not-a-token' });
    expect(bad).toMatch(/page_token/);
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
    // force never bypasses a gate, so the error must not suggest it.
    expect(threshold).not.toMatch(/pass force/);
    expect(threshold).toContain('A gate is never bypassed');
    const forced = await s.refused('promote_model', {
      name: 'router',
      version: '1.1.0',
      force: true,
      gate: { metric: 'accuracy', min: 0.88 },
    });
    expect(forced).toContain('gate failed');
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
    expect(err).toContain('FAILED_PRECONDITION: model "router" already has a production version (1.0.0)');
    expect(err).toContain('Upload as development, then promote_model it to production');
    expect(await versions()).toHaveLength(1);
    // Staging too: an upload never takes a stage from another version; promotion moves it.
    await upload('1.1.0', { deployment_stage: 'staging' });
    const err2 = await s.refused('upload_model', modelArgs('router', '1.2.0', { deployment_stage: 'staging' }));
    expect(err2).toContain('already has a staging version (1.1.0)');
    expect((await versions()).map((v) => v.version)).toEqual(['1.0.0', '1.1.0']);
  });
});

describe('aliases are the truth; interrupted promotions complete; check_model repairs', () => {
  const raw = async () => s.lib.clients.models();
  const id = (v: string) => `projects/test-project/locations/us-central1/models/router@${v}`;

  it('an alias move without its label step (a crash between the steps): reads tell the truth, a retry completes', async () => {
    await upload('1.0.0', { deployment_stage: 'production' });
    await upload('1.1.0', { deployment_stage: 'staging' });
    // What a promotion killed after its first step leaves: the aliases moved, the labels did not.
    await (await raw()).mergeVersionAliases({ name: id('2'), versionAliases: ['production', 'default', '-staging'] });

    expect((await s.ok('get_model', { name: 'router', version: '1.1.0' })).deployment_stage).toBe('production');
    expect((await s.ok('get_model', { name: 'router', version: '1.0.0' })).deployment_stage).toBe('archived');
    expect((await s.ok('get_model', { name: 'router' })).version).toBe('1.1.0');
    const list = async (stage: string) =>
      ((await s.ok('list_models', { name: 'router', stage })).versions as any[]).map((v) => v.version);
    expect(await list('production')).toEqual(['1.1.0']);
    expect(await list('staging')).toEqual([]);
    expect(await list('archived')).toEqual(['1.0.0']);
    expect(((await s.ok('list_models', { stage: 'production' })).versions as any[]).map((v) => v.version)).toEqual([
      '1.1.0',
    ]);

    // The retry does not answer "already in production": it finishes the labels.
    const retry = await s.call('promote_model', { name: 'router', version: '1.1.0', target_stage: 'production' });
    expect(retry.isError).toBeFalsy();
    expect(retry.structuredContent).toMatchObject({
      from_stage: 'production',
      to_stage: 'production',
      stage_now: 'production',
    });
    expect(retry.structuredContent!.labels_fixed).toEqual([
      '1.0.0: stage production -> archived',
      '1.1.0: stage staging -> production',
    ]);
    const [v1] = await (await raw()).getModel({ name: id('1') });
    const [v2] = await (await raw()).getModel({ name: id('2') });
    expect([v1.labels?.stage, v2.labels?.stage]).toEqual(['archived', 'production']);
    // Now there is nothing left to do.
    const again = await s.refused('promote_model', { name: 'router', version: '1.1.0', target_stage: 'production' });
    expect(again).toContain('FAILED_PRECONDITION: router 1.1.0 is already in production');
    expect((await s.ok('check_model', { name: 'router' })).issues).toEqual([]);
  });

  it('check_model reports what an older release or a crash left, and fixes the labels unless a dry run', async () => {
    await upload('1.0.0', { deployment_stage: 'production' });
    await upload('1.1.0', { deployment_stage: 'staging' });
    await upload('1.2.0');
    const client = await raw();
    // Two versions labelled production (an older release killed mid-promotion) ...
    await client.mergeVersionAliases({ name: id('2'), versionAliases: ['production', '-staging'] });
    await client.updateModel({
      model: { name: id('2'), labels: { stage: 'production', 'managed-by': 'vertex-mcp', source: 'manual' } },
      updateMask: { paths: ['labels'] },
    });
    await client.mergeVersionAliases({ name: id('1'), versionAliases: ['production'] });
    // ... a staging alias whose label says development ...
    await client.mergeVersionAliases({ name: id('3'), versionAliases: ['staging'] });
    // ... a version another tool uploaded with no semver at all.
    const [op] = await client.uploadModel({
      parent: 'projects/test-project/locations/us-central1',
      parentModel: 'projects/test-project/locations/us-central1/models/router',
      model: { displayName: 'router', containerSpec: { imageUri: 'img' } },
    });
    await op.promise();

    const dry = await s.call('check_model', { name: 'router' });
    expect(dry.structuredContent).toMatchObject({ name: 'router', versions: 4, dry_run: true });
    expect((dry.structuredContent!.issues as any[]).map((i) => [i.kind, i.version_id, i.fixed])).toEqual([
      ['duplicate_production_label', '2', false],
      ['stage_label', '3', false],
      ['no_semver_alias', '4', false],
    ]);
    expect(dry.content[0]!.text).toContain(
      '1.1.0 is labelled stage=production but is archived (it holds no production alias)',
    );
    expect(dry.content[0]!.text).toContain('Call with dry_run: false to fix the stage labels and aliases');
    const [before] = await client.getModel({ name: id('2') });
    expect(before.labels?.stage).toBe('production'); // a dry run changes nothing

    const fix = await s.ok('check_model', { name: 'router', dry_run: false });
    expect(fix.issues.map((i: any) => [i.kind, i.fixed])).toEqual([
      ['duplicate_production_label', true],
      ['stage_label', true],
      ['no_semver_alias', false],
    ]);
    const stages = ((await s.ok('list_models', { name: 'router' })).versions as any[]).map((v) => [
      v.version,
      v.deployment_stage,
    ]);
    expect(stages).toEqual([
      ['1.0.0', 'production'],
      ['1.1.0', 'archived'],
      ['1.2.0', 'staging'],
      [null, null],
    ]);
    expect((await s.ok('check_model', { name: 'router' })).issues.map((i: any) => i.kind)).toEqual(['no_semver_alias']);
    expect(await s.refused('check_model', { name: 'ghost' })).toContain('NOT_FOUND');
  });

  it('crossed promotions (one version holding both stage aliases): it reads as production; check_model drops staging', async () => {
    await upload('1.0.0', { deployment_stage: 'production' });
    await upload('1.1.0');
    const client = await raw();
    // Two promotions that each read 1.1.0 before the other moved its alias.
    await client.mergeVersionAliases({ name: id('2'), versionAliases: ['staging'] });
    await client.mergeVersionAliases({ name: id('2'), versionAliases: ['production', 'default'] });
    expect((await s.ok('get_model', { name: 'router', version: '1.1.0' })).deployment_stage).toBe('production');
    const dry = await s.ok('check_model', { name: 'router' });
    expect(dry.issues.map((i: any) => `${i.kind}:${i.version}`)).toEqual([
      'stage_label:1.0.0',
      'two_stage_aliases:1.1.0',
      'stage_label:1.1.0',
    ]);
    const fix = await s.ok('check_model', { name: 'router', dry_run: false });
    expect(fix.issues.every((i: any) => i.fixed)).toBe(true);
    const [v2] = await client.getModel({ name: id('2') });
    expect([...(v2.versionAliases ?? [])].sort()).toEqual(['default', 'production', 'v1-1-0']);
    expect(v2.labels?.stage).toBe('production');
    expect((await s.ok('check_model', { name: 'router' })).issues).toEqual([]);
  });

  it('promotion to production says when the previous production version still serves traffic', async () => {
    const examples = ['sql join', 'blog post', 'unit test', 'sql index'].map((t, i) => ({
      input: t,
      output: `agent-${i % 2}`,
    }));
    const { artifact } = train(
      { train: examples },
      { baseModel: 'local/text-router', method: 'supervised', epochs: 1, learningRate: 0.05, batchSize: 4, seed: 1 },
    );
    for (const v of ['1.0.0', '1.1.0']) {
      await s.emu.gcs.write(`gs://vertex-mcp-emulator/reg/${v}/model.json`, JSON.stringify(artifact));
      await upload(v, {
        serving_container_uri: 'local/text-router',
        artifact_uri: `gs://vertex-mcp-emulator/reg/${v}`,
        deployment_stage: v === '1.1.0' ? 'production' : 'staging',
      });
    }
    await s.ok('create_endpoint', { display_name: 'reg-ep' });
    await s.ok('deploy_model', { endpoint: 'reg-ep', name: 'router', version: '1.0.0' });
    await s.ok('deploy_model', { endpoint: 'reg-ep', name: 'router', version: '1.1.0', traffic_percentage: 10 });

    const r = await s.call('promote_model', { name: 'router', version: '1.0.0' });
    expect(r.structuredContent).toMatchObject({
      from_stage: 'staging',
      to_stage: 'production',
      previous_production: {
        version: '1.1.0',
        now: 'archived',
        serving: [{ endpoint: expect.stringMatching(/\/endpoints\/\d+$/), traffic_percentage: 10 }],
      },
    });
    expect(r.content[0]!.text).toMatch(
      /router@1\.1\.0 archived but STILL SERVES 10% of endpoint projects\/.*\/endpoints\/\d+ \(deployed model \d+\): move its traffic with set_traffic_split, or undeploy_model/,
    );
  }, 30_000);
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
    expect(asked).toEqual([
      'Confirm: delete version router@1.0.0 (default version moves to 1.1.0)?',
      'Confirm: delete version router@1.0.0 (default version moves to 1.1.0)?',
    ]);
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

  it('a duplicate version: the same upload converges, a different one is ALREADY_EXISTS', async () => {
    const first = await upload('1.0.0', { artifact_uri: 'gs://bucket/a', performance_metrics: { accuracy: 0.9 } });
    expect(first.created).toBe(true);
    const again = await s.call('upload_model', modelArgs('router', '1.0.0', { artifact_uri: 'gs://bucket/a' }));
    expect(again.isError).toBeFalsy();
    expect(again.structuredContent).toMatchObject({ version: '1.0.0', version_id: '1', created: false });
    expect(again.content[0]!.text).toContain('Already registered (same upload; nothing changed)');
    const err = await s.refused('upload_model', modelArgs('router', '1.0.0', { artifact_uri: 'gs://bucket/b' }));
    expect(err).toContain(
      'ALREADY_EXISTS: model "router" already has version 1.0.0 (version id 1) with a different artifact_uri',
    );
    const err2 = await s.refused(
      'upload_model',
      modelArgs('router', '1.0.0', { artifact_uri: 'gs://bucket/a', base_model: 'x' }),
    );
    expect(err2).toContain('with a different base_model');
    expect(await versions()).toHaveLength(1);
    expect((await s.ok('get_model', { name: 'router', version: '1.0.0' })).performance_metrics).toEqual({
      accuracy: 0.9,
    });
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

  it('list_models filters that would inject into the Vertex filter', async () => {
    await upload('1.0.0', { source: 'manual' });
    await upload('1.1.0', { source: 'tuning_job' });
    const err = await s.refused('list_models', { source: 'tuning_job" OR labels.source="manual' });
    expect(err).toMatch(
      /INVALID_ARGUMENT: source "tuning_job" OR labels\.source="manual" cannot be stored as a label: source must match \[a-z0-9_-\]\{1,63\}/,
    );
    const tagErr = await s.refused('list_models', { tags: ['a" OR labels.stage="x'] });
    expect(tagErr).toContain(
      'INVALID_ARGUMENT: tags[] "a" OR labels.stage="x" cannot be stored as a label: tags must match [a-z0-9_-]{1,59}',
    );
    expect((await s.ok('list_models', { source: 'tuning_job' })).versions.map((v: any) => v.version)).toEqual([
      '1.1.0',
    ]);
  });

  it('artifact URIs that are not gs://BUCKET/PATH', async () => {
    for (const uri of ['gs://', 'gs:///x', 'gs://UPPER/x', 'gs://bucket', 'gs://bucket/', 'file:///etc/passwd']) {
      const err = await s.refused('upload_model', modelArgs('router', '1.0.0', { artifact_uri: uri }));
      expect(err, uri).toContain('artifact_uri must');
    }
    expect(await s.refused('get_model', { name: 'router' })).toContain('NOT_FOUND');
  });

  it('oversized strings, named with their limit', async () => {
    const big = await s.refused('upload_model', modelArgs('router', '1.0.0', { base_model: 'x'.repeat(1_100_000) }));
    expect(big).toContain('base_model must be at most 256 characters');
    expect(big.length).toBeLessThan(4_000);
    const tag = await s.refused('list_models', { tags: ['t'.repeat(130_000)] });
    expect(tag.length).toBeLessThan(4_000);
    expect(await s.refused('get_model', { name: 'n'.repeat(100) })).toContain('name must be at most 63 characters');
  });

  it('metric names update_model_metrics would have let through', async () => {
    await upload('1.0.0');
    for (const bad of ['bad name', '', '1abc', 'x'.repeat(64), 'a"b']) {
      const err = await s.refused('update_model_metrics', {
        name: 'router',
        version: '1.0.0',
        performance_metrics: { [bad]: 1 },
      });
      expect(err, bad).toContain('must match');
      const up = await s.refused('upload_model', modelArgs('router', '2.0.0', { performance_metrics: { [bad]: 1 } }));
      expect(up, bad).toContain('must match');
    }
    expect((await s.ok('get_model', { name: 'router', version: '1.0.0' })).performance_metrics).toEqual({});
  });

  it('labels that Vertex cannot hold', async () => {
    const err = await s.refused('upload_model', modelArgs('router', '1.0.0', { tags: ['Not OK'] }));
    expect(err).toContain('tag "Not OK" cannot be stored as a label');
    expect(await s.refused('get_model', { name: 'router' })).toContain('NOT_FOUND');
  });
});
