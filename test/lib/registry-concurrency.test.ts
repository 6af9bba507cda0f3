// The registry's invariants under concurrent calls, ambiguous failures and injected faults,
// through a real MCP client against the emulator (official clients on the wire):
//   one version per (model, semver); at most one production version; the stage a version shows
//   is the one its aliases say (labels reconciled); check_model finds nothing left to fix.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Rng } from '../../src/emulator/runtime/prng.js';
import { modelArgs, type Stack, startStack, type ToolResult } from '../helpers.js';

let s: Stack;
beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  vi.restoreAllMocks();
  s.emu.setFaults('');
  await s.close();
});

const text = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');
const parent = 'projects/test-project/locations/us-central1';

/** The invariants, read with the raw Vertex client (what any other Vertex tool sees). */
async function invariants(name: string) {
  const client = await s.lib.clients.models();
  const [versions] = await client.listModelVersions({ name: `${parent}/models/${name}` });
  const semvers = versions.map((v) => JSON.parse(String(v.versionDescription)).version as string);
  const duplicates = semvers.filter((v, i) => semvers.indexOf(v) !== i);
  const prodAliases = versions.filter((v) => v.versionAliases?.includes('production')).length;
  const prodLabels = versions.filter((v) => v.labels?.stage === 'production').length;
  const crossed = versions.filter(
    (v) => v.versionAliases?.includes('production') && v.versionAliases.includes('staging'),
  ).length;
  // A label naming an aliased stage must sit on the version holding that alias, and vice versa.
  const stageMismatch = versions.filter((v) => {
    const alias = v.versionAliases?.find((a) => a === 'production' || a === 'staging');
    const label = v.labels?.stage;
    return alias ? label !== alias : label === 'production' || label === 'staging';
  }).length;
  const check = await s.ok('check_model', { name });
  const summaries = (await s.ok('list_models', { name })).versions as any[];
  const shownWrong = summaries.filter((v) => {
    const alias = v.aliases.find((a: string) => a === 'production' || a === 'staging');
    return alias ? v.deployment_stage !== alias : ['production', 'staging'].includes(v.deployment_stage);
  }).length;
  return {
    versions: versions.length,
    duplicates: duplicates.length,
    crossed,
    prodAliases,
    prodLabels,
    stageMismatch,
    shownWrong,
    checkIssues: (check.issues as unknown[]).length,
  };
}

const CLEAN = { duplicates: 0, crossed: 0, stageMismatch: 0, shownWrong: 0, checkIssues: 0 };

describe('concurrent calls', () => {
  it('8 parallel uploads of one version: one version; the same upload converges, a different one is refused', async () => {
    const same = await Promise.all(
      Array.from({ length: 8 }, () =>
        s.call(
          'upload_model',
          modelArgs('m', '1.1.0', { artifact_uri: 'gs://bkt/m/1', performance_metrics: { accuracy: 0.9 } }),
        ),
      ),
    );
    expect(same.map((r) => (r.isError ? text(r) : 'ok'))).toEqual(Array(8).fill('ok'));
    expect(new Set(same.map((r) => r.structuredContent!.version_id))).toEqual(new Set(['1']));
    expect(same.filter((r) => r.structuredContent!.created)).toHaveLength(1);

    const differing = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        s.call('upload_model', modelArgs('m', '1.2.0', { artifact_uri: `gs://bkt/m/2-${i}` })),
      ),
    );
    expect(differing.filter((r) => !r.isError)).toHaveLength(1);
    const errors = differing.filter((r) => r.isError).map(text);
    expect(errors).toHaveLength(7);
    for (const e of errors)
      expect(e).toMatch(
        /^ALREADY_EXISTS: model "m" already has version 1\.2\.0 \(version id 2\) with a different artifact_uri/,
      );
    expect(await invariants('m')).toMatchObject({ ...CLEAN, versions: 2 });
    expect((await s.ok('get_model', { name: 'm', version: '1.1.0' })).performance_metrics).toEqual({ accuracy: 0.9 });
  });

  it('3 parallel production uploads: one production version, two clear refusals, no extra versions', async () => {
    await s.ok('upload_model', modelArgs('m', '1.0.0'));
    const rs = await Promise.all(
      ['1.1.0', '1.2.0', '1.3.0'].map((v) =>
        s.call('upload_model', modelArgs('m', v, { deployment_stage: 'production' })),
      ),
    );
    const winners = rs.filter((r) => !r.isError);
    expect(winners).toHaveLength(1);
    for (const r of rs.filter((x) => x.isError)) {
      expect(text(r)).toContain(
        `FAILED_PRECONDITION: model "m" already has a production version (${winners[0]!.structuredContent!.version})`,
      );
    }
    expect(await invariants('m')).toEqual({ ...CLEAN, versions: 2, prodAliases: 1, prodLabels: 1 });
  });

  it('3 parallel production uploads creating the model: one creates it, one production', async () => {
    const rs = await Promise.all(
      ['1.0.0', '1.1.0', '1.2.0'].map((v) =>
        s.call('upload_model', modelArgs('fresh', v, { deployment_stage: 'production' })),
      ),
    );
    expect(rs.filter((r) => !r.isError)).toHaveLength(1);
    expect(await invariants('fresh')).toEqual({ ...CLEAN, versions: 1, prodAliases: 1, prodLabels: 1 });
  });

  it('2 parallel promotions to production: one ends production, the other archived, each result says what it did', async () => {
    await s.ok('upload_model', modelArgs('m', '1.0.0', { deployment_stage: 'production' }));
    await s.ok('upload_model', modelArgs('m', '1.1.0', { deployment_stage: 'staging' }));
    await s.ok('upload_model', modelArgs('m', '1.2.0'));
    await s.ok('promote_model', { name: 'm', version: '1.2.0', target_stage: 'production', force: true }); // warm-up
    await s.ok('promote_model', { name: 'm', version: '1.2.0', target_stage: 'staging' });
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all(
        ['1.1.0', '1.2.0'].map((v) =>
          s.call('promote_model', { name: 'm', version: v, target_stage: 'production', force: true }),
        ),
      );
      const results = [a!, b!].filter((r) => !r.isError).map((r) => r.structuredContent!);
      expect(results.length).toBeGreaterThanOrEqual(1);
      const vs = (await s.ok('list_models', { name: 'm' })).versions as any[];
      const prod = vs.filter((v) => v.deployment_stage === 'production');
      expect(prod).toHaveLength(1);
      for (const r of results) {
        // A result either reports production, or names the version that took production from it.
        if (r.stage_now !== 'production')
          expect(r).toMatchObject({ stage_now: 'archived', superseded_by: prod[0].version });
      }
      const loser = vs.find((v) => ['1.1.0', '1.2.0'].includes(v.version) && v.version !== prod[0].version);
      expect(loser.deployment_stage).toBe('archived');
      expect(await invariants('m')).toMatchObject({ ...CLEAN, prodAliases: 1, prodLabels: 1 });
      // Back to staging for the next round (the loser is archived: archived -> staging).
      await s.ok('promote_model', { name: 'm', version: loser.version, target_stage: 'staging' });
      await s.ok('promote_model', { name: 'm', version: prod[0].version, target_stage: 'staging' });
    }
  }, 60_000);
});

describe('crossed promotions', () => {
  it('parallel promotions of versions to production and staging never leave two stages on one version', async () => {
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) await s.ok('upload_model', modelArgs('m', v));
    const rng = new Rng('crossed');
    for (let round = 0; round < 6; round++) {
      const calls = Array.from({ length: 4 }, () => ({
        version: ['1.0.0', '1.1.0', '1.2.0'][rng.int(3)]!,
        target_stage: rng.float() < 0.5 ? 'production' : 'staging',
      }));
      const rs = await Promise.all(calls.map((c) => s.call('promote_model', { name: 'm', ...c, force: true })));
      for (const r of rs.filter((x) => x.isError)) expect(text(r)).toMatch(/^FAILED_PRECONDITION: m .* is already in/);
      const inv = await invariants('m');
      expect(inv, `round ${round}: ${JSON.stringify(calls)}`).toMatchObject(CLEAN);
      expect(inv.prodLabels).toBe(inv.prodAliases);
    }
  }, 60_000);
});

describe('ambiguous failures converge', () => {
  /** Makes the next `n` calls of `method` reach the server and then fail as if the answer were lost. */
  async function loseAnswers(method: 'uploadModel' | 'importModelEvaluation' | 'mergeVersionAliases', n: number) {
    vi.restoreAllMocks();
    const client = (await s.lib.clients.models()) as any;
    const real = client[method].bind(client);
    let left = n;
    vi.spyOn(client, method).mockImplementation(async (...args: unknown[]) => {
      const out = await real(...args);
      if (left-- > 0) throw Object.assign(new Error('14 UNAVAILABLE: connection reset'), { code: 14 });
      return out;
    });
  }

  it('an upload whose answer was lost: one version, its metrics recorded', async () => {
    await s.ok('upload_model', modelArgs('m', '1.0.0'));
    await loseAnswers('uploadModel', 1);
    const r = await s.ok('upload_model', modelArgs('m', '1.1.0', { performance_metrics: { accuracy: 0.8 } }));
    expect(r).toMatchObject({ version: '1.1.0', version_id: '2' });
    expect((await s.ok('get_model', { name: 'm', version: '1.1.0' })).performance_metrics).toEqual({ accuracy: 0.8 });
    expect(await invariants('m')).toMatchObject({ ...CLEAN, versions: 2 });
  });

  it('metric imports whose answers were lost: the newest evaluation has the same values', async () => {
    await loseAnswers('importModelEvaluation', 2);
    await s.ok(
      'upload_model',
      modelArgs('m', '1.0.0', { performance_metrics: { accuracy: 0.8 }, cost_metrics: { usd: 1 } }),
    );
    await loseAnswers('importModelEvaluation', 1);
    await s.ok('update_model_metrics', { name: 'm', version: '1.0.0', performance_metrics: { accuracy: 0.85 } });
    expect(await s.ok('get_model', { name: 'm', version: '1.0.0' })).toMatchObject({
      performance_metrics: { accuracy: 0.85 },
      cost_metrics: { usd: 1 },
    });
  });

  it('a promotion whose alias move answer was lost completes, and reports the previous production', async () => {
    await s.ok('upload_model', modelArgs('m', '1.0.0', { deployment_stage: 'production' }));
    await s.ok('upload_model', modelArgs('m', '1.1.0', { deployment_stage: 'staging' }));
    await loseAnswers('mergeVersionAliases', 1);
    const r = await s.ok('promote_model', { name: 'm', version: '1.1.0' });
    expect(r).toMatchObject({
      to_stage: 'production',
      stage_now: 'production',
      previous_production: { version: '1.0.0' },
    });
    expect(await invariants('m')).toEqual({ ...CLEAN, versions: 2, prodAliases: 1, prodLabels: 1 });
  });
});

describe('injected faults (unavailable=0.3)', () => {
  it('40 upload/promote calls retried like an agent leave every invariant intact', async () => {
    const rng = new Rng('registry-faults');
    // The emulator's fault draws and the clients' jitter come from Math.random: seed them too.
    const draws = new Rng('registry-faults/math');
    vi.spyOn(Math, 'random').mockImplementation(() => draws.float());
    s.emu.setFaults('unavailable=0.3');
    const uploaded: string[] = [];
    let calls = 0;
    let retries = 0;
    const refusals: string[] = [];
    /** An agent: retries what the error says is transient, up to 10 times. */
    const agent = async (tool: string, args: Record<string, unknown>) => {
      for (let attempt = 1; ; attempt++) {
        calls++;
        const r = await s.call(tool, args);
        if (!r.isError) return r;
        const t = text(r);
        if (attempt >= 10 || !/UNAVAILABLE|DEADLINE_EXCEEDED|ABORTED/.test(t)) {
          refusals.push(t.slice(0, 80));
          return r;
        }
        retries++;
      }
    };
    const ops: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 40; i++) {
      const kind = i < 4 || rng.float() < 0.45 ? 'upload' : 'promote';
      if (kind === 'upload') {
        const version = `1.${i}.0`;
        const stage = rng.float() < 0.2 ? 'production' : rng.float() < 0.3 ? 'staging' : 'development';
        ops.push(async () => {
          const r = await agent(
            'upload_model',
            modelArgs('m', version, { deployment_stage: stage, performance_metrics: { accuracy: 0.5 + i / 100 } }),
          );
          if (!r.isError) uploaded.push(version);
        });
      } else {
        const target = rng.float() < 0.6 ? 'production' : 'staging';
        ops.push(async () => {
          const pick = uploaded[rng.int(Math.max(uploaded.length, 1))];
          if (pick) await agent('promote_model', { name: 'm', version: pick, target_stage: target, force: true });
        });
      }
    }
    // Four callers at a time: faults and concurrency together.
    for (let i = 0; i < ops.length; i += 4) await Promise.all(ops.slice(i, i + 4).map((op) => op()));
    s.emu.setFaults('');
    vi.restoreAllMocks();

    const inv = await invariants('m');
    expect(inv).toMatchObject({ ...CLEAN, versions: uploaded.length });
    expect(inv.prodAliases).toBeLessThanOrEqual(1);
    expect(inv.prodLabels).toBe(inv.prodAliases);
    for (const v of uploaded) {
      const m = await s.ok('get_model', { name: 'm', version: v });
      expect(m.performance_metrics.accuracy, v).toBeCloseTo(0.5 + Number(v.split('.')[1]) / 100, 10);
    }
    // Only rule refusals remain after retrying: never a transient error, never an internal one.
    for (const r of refusals) expect(r).toMatch(/^(FAILED_PRECONDITION|ALREADY_EXISTS)/);
    console.error(
      `faults: ${calls} calls (${retries} agent retries), ${uploaded.length} versions, refusals ${refusals.length}`,
    );
  }, 120_000);
});
