// The registry at scale, through the library against the emulator, counting the RPCs each call
// makes (a channel factory that wraps the emulator's in-process channel and records every call):
// get_model in one RPC from the metrics mirror (and the fallback to the evaluations for versions
// without one, or with a metric write in flight), the mirror kept equal to the newest evaluations
// by every write, and list_models pages that walk every version exactly once, stay small and
// carry a token exactly when more versions match.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type BackendConfig, createLibrary, type Library, VertexMcpError } from '../../src/lib/index.js';
import { encodeVersion } from '../../src/lib/registry/naming.js';
import { LIST_PAGE, type ListModelsQuery } from '../../src/lib/registry/registry.js';
import { createServer } from '../../src/server.js';
import { CONTAINER } from '../helpers.js';

/** The VertexMcpError a call fails with. */
async function errorOf(call: Promise<unknown>): Promise<VertexMcpError> {
  const err = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  if (err instanceof VertexMcpError) return err;
  throw err;
}

const parent = 'projects/test-project/locations/us-central1';
/** A version's resource name by its semver alias. */
const path = (name: string, v: string) => `${parent}/models/${name}@${encodeVersion(v)}`;

interface Counted {
  emu: Emulator;
  lib: Library;
  /** Method names of the RPCs made since the last reset. */
  calls: string[];
  reset(): void;
  close(): Promise<void>;
}

/** The library over the emulator's in-process channel, with every RPC recorded. */
async function countedLibrary(): Promise<Counted> {
  const emu = await startEmulator({ dataDir: ':memory:' });
  const calls: string[] = [];
  const channelFactory = (address: string, credentials: unknown, options: unknown) => {
    const channel = emu.channelFactory(address, credentials, options) as unknown as {
      createCall(method: string, ...rest: unknown[]): unknown;
    };
    const create = channel.createCall.bind(channel);
    channel.createCall = (method: string, ...rest: unknown[]) => {
      calls.push(method.split('/').pop()!);
      return create(method, ...rest);
    };
    return channel;
  };
  const backend: BackendConfig = {
    kind: 'emulator',
    endpoint: async () => ({ ...emu, channelFactory }) as never,
    project: 'test-project',
    location: 'us-central1',
  };
  const lib = createLibrary(backend);
  return {
    emu,
    lib,
    calls,
    reset: () => {
      calls.length = 0;
    },
    async close() {
      await lib.close();
      await emu.close();
    },
  };
}

let c: Counted;
beforeEach(async () => {
  c = await countedLibrary();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await c.close();
});

const upload = (name: string, version: string, extra: Record<string, unknown> = {}) =>
  c.lib.registry.uploadModel({ name, version, serving_container_uri: CONTAINER, ...extra });

/** The raw version description, parsed. */
async function descriptionOf(name: string, version: string): Promise<Record<string, any>> {
  const client = await c.lib.clients.models();
  const [m] = await client.getModel({ name: path(name, version) });
  return JSON.parse(String(m.versionDescription));
}

/** The newest performance / cost evaluation of a version, read the way any Vertex client would. */
async function newestEvaluations(name: string, version: string) {
  const client = await c.lib.clients.models();
  const [evals] = await client.listModelEvaluations({ parent: path(name, version) });
  const at = (e: (typeof evals)[number]) => Number(e.createTime?.seconds ?? 0) * 1e9 + (e.createTime?.nanos ?? 0);
  // The listing is newest first; the sort (stable) only guards that.
  const newest = (kind: string) => {
    const e = evals.filter((x) => x.displayName === kind).sort((a, b) => at(b) - at(a))[0];
    const fields = e?.metrics?.structValue?.fields ?? {};
    return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.numberValue]));
  };
  return { performance: newest('performance'), cost: newest('cost'), count: evals.length };
}

/** Writes a description by hand (what an older release, or a writer that died, left). */
async function setDescription(name: string, version: string, doc: Record<string, unknown>) {
  const client = await c.lib.clients.models();
  await client.updateModel({
    model: { name: path(name, version), versionDescription: JSON.stringify(doc) },
    updateMask: { paths: ['version_description'] },
  });
}

async function importEvaluation(name: string, version: string, kind: string, values: Record<string, number>) {
  const client = await c.lib.clients.models();
  const fields = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { numberValue: v }]));
  await client.importModelEvaluation({
    parent: path(name, version),
    modelEvaluation: { displayName: kind, metrics: { structValue: { fields } } },
  });
}

describe('get_model in one RPC', () => {
  it('reads a version with its latest metrics in one GetModel (by version and unversioned)', async () => {
    await upload('router', '1.0.0', {
      performance_metrics: { accuracy: 0.9, latency_p95_ms: 120 },
      cost_metrics: { usd_per_1k: 0.5 },
    });
    await upload('router', '1.1.0');
    c.reset();
    const m = await c.lib.registry.getModel('router', '1.0.0');
    expect(c.calls).toEqual(['GetModel']);
    expect(m).toMatchObject({
      version: '1.0.0',
      performance_metrics: { accuracy: 0.9, latency_p95_ms: 120 },
      cost_metrics: { usd_per_1k: 0.5 },
    });
    c.reset();
    expect((await c.lib.registry.getModel('router')).version).toBe('1.0.0');
    expect(c.calls).toEqual(['GetModel']);
    c.reset();
    // A version uploaded without metrics has an empty, trusted mirror.
    expect(await c.lib.registry.getModel('router', '1.1.0')).toMatchObject({
      performance_metrics: {},
      cost_metrics: {},
    });
    expect(c.calls).toEqual(['GetModel']);
    // The mirror is what the newest evaluations say; the evaluations are still written.
    expect(await descriptionOf('router', '1.0.0')).toEqual({
      version: '1.0.0',
      metrics: { performance: { accuracy: 0.9, latency_p95_ms: 120 }, cost: { usd_per_1k: 0.5 } },
    });
    expect(await newestEvaluations('router', '1.0.0')).toEqual({
      performance: { accuracy: 0.9, latency_p95_ms: 120 },
      cost: { usd_per_1k: 0.5 },
      count: 2,
    });
  });

  it('falls back to the evaluations for a version an older release uploaded, until its metrics are next written', async () => {
    await upload('legacy', '1.0.0');
    // What older releases wrote: the description without a mirror, metrics as evaluations only.
    await setDescription('legacy', '1.0.0', { version: '1.0.0', description: 'old' });
    await importEvaluation('legacy', '1.0.0', 'performance', { accuracy: 0.8 });
    await importEvaluation('legacy', '1.0.0', 'cost', { usd_per_1k: 2 });
    c.reset();
    expect(await c.lib.registry.getModel('legacy', '1.0.0')).toMatchObject({
      description: 'old',
      performance_metrics: { accuracy: 0.8 },
      cost_metrics: { usd_per_1k: 2 },
    });
    expect(c.calls).toEqual(['GetModel', 'ListModelEvaluations']);
    // update_model_metrics merges with the evaluations and writes the mirror.
    await c.lib.registry.updateMetrics('legacy', '1.0.0', { performance_metrics: { f1: 0.7 } });
    c.reset();
    expect(await c.lib.registry.getModel('legacy', '1.0.0')).toMatchObject({
      description: 'old',
      performance_metrics: { accuracy: 0.8, f1: 0.7 },
      cost_metrics: { usd_per_1k: 2 },
    });
    expect(c.calls).toEqual(['GetModel']);
    // A converging upload (the same upload again) of a legacy version writes its mirror too.
    await upload('legacy2', '1.0.0', { performance_metrics: { accuracy: 0.5 } });
    await setDescription('legacy2', '1.0.0', { version: '1.0.0' });
    const again = await upload('legacy2', '1.0.0', { performance_metrics: { accuracy: 0.6 } });
    expect(again).toMatchObject({ created: false, performance_metrics: { accuracy: 0.5 } }); // recorded ones are kept
    expect((await descriptionOf('legacy2', '1.0.0')).metrics).toEqual({ performance: { accuracy: 0.5 }, cost: {} });
  });

  it('update_model_metrics (the tool) keeps the mirror equal to the newest evaluations', async () => {
    const backend: BackendConfig = {
      kind: 'emulator',
      endpoint: async () => c.emu,
      project: 'test-project',
      location: 'us-central1',
    };
    const mcp = createServer({ backend, lib: c.lib });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'test', version: '1.0.0' });
    await Promise.all([mcp.server.connect(serverSide), client.connect(clientSide)]);
    const ok = async (name: string, args: Record<string, unknown>) => {
      const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; structuredContent?: any };
      expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
      return r.structuredContent;
    };
    try {
      await ok('upload_model', {
        name: 'tool',
        version: '2.0.0',
        serving_container_uri: CONTAINER,
        performance_metrics: { accuracy: 0.9 },
      });
      const updated = await ok('update_model_metrics', {
        name: 'tool',
        version: '2.0.0',
        performance_metrics: { accuracy: 0.95, f1: 0.8 },
        cost_metrics: { usd_per_1k: 1.25 },
      });
      expect(updated).toMatchObject({
        performance_metrics: { accuracy: 0.95, f1: 0.8 },
        cost_metrics: { usd_per_1k: 1.25 },
      });
      await ok('update_model_metrics', { name: 'tool', version: '2.0.0', cost_metrics: { usd_per_1k: 1 } });
      const newest = await newestEvaluations('tool', '2.0.0');
      expect(newest).toEqual({ performance: { accuracy: 0.95, f1: 0.8 }, cost: { usd_per_1k: 1 }, count: 4 });
      expect((await descriptionOf('tool', '2.0.0')).metrics).toEqual({
        performance: newest.performance,
        cost: newest.cost,
      });
      c.reset();
      expect(await ok('get_model', { name: 'tool', version: '2.0.0' })).toMatchObject({
        performance_metrics: { accuracy: 0.95, f1: 0.8 },
        cost_metrics: { usd_per_1k: 1 },
      });
      expect(c.calls).toEqual(['GetModel']);
    } finally {
      await client.close();
      await mcp.close();
    }
  });

  it('a metric write that died half-way: readers take the evaluations until a writer finishes after its lease', async () => {
    await upload('crash', '1.0.0', { performance_metrics: { accuracy: 0.7 } });
    // A writer marked its write, imported its evaluation and died before rewriting the mirror.
    const mirror = (await descriptionOf('crash', '1.0.0')).metrics;
    await setDescription('crash', '1.0.0', {
      version: '1.0.0',
      metrics: { ...mirror, pending: [`${Date.now()}.deadbeef`] },
    });
    await importEvaluation('crash', '1.0.0', 'performance', { accuracy: 0.75 });
    c.reset();
    expect((await c.lib.registry.getModel('crash', '1.0.0')).performance_metrics).toEqual({ accuracy: 0.75 });
    expect(c.calls).toEqual(['GetModel', 'ListModelEvaluations']);
    // Another write within the lease keeps that entry (it may be a write in flight): still correct.
    await c.lib.registry.updateMetrics('crash', '1.0.0', { cost_metrics: { usd_per_1k: 3 } });
    expect((await descriptionOf('crash', '1.0.0')).metrics).toEqual({
      performance: { accuracy: 0.75 },
      cost: { usd_per_1k: 3 },
      pending: [expect.stringMatching(/\.deadbeef$/)],
    });
    c.reset();
    expect(await c.lib.registry.getModel('crash', '1.0.0')).toMatchObject({
      performance_metrics: { accuracy: 0.75 },
      cost_metrics: { usd_per_1k: 3 },
    });
    expect(c.calls).toEqual(['GetModel', 'ListModelEvaluations']);
    // Past the lease the next writer drops it, and reads are one RPC again.
    const doc = await descriptionOf('crash', '1.0.0');
    await setDescription('crash', '1.0.0', {
      ...doc,
      metrics: { ...doc.metrics, pending: [`${Date.now() - 6 * 60_000}.deadbeef`] },
    });
    await c.lib.registry.updateMetrics('crash', '1.0.0', { performance_metrics: { f1: 0.5 } });
    expect((await descriptionOf('crash', '1.0.0')).metrics).toEqual({
      performance: { accuracy: 0.75, f1: 0.5 },
      cost: { usd_per_1k: 3 },
    });
    c.reset();
    await c.lib.registry.getModel('crash', '1.0.0');
    expect(c.calls).toEqual(['GetModel']);
  });

  it('an import that fails clears its pending entry, and the call fails; the mirror stays the record', async () => {
    await upload('fail', '1.0.0', { performance_metrics: { accuracy: 0.6 } });
    const client = await c.lib.clients.models();
    vi.spyOn(client, 'importModelEvaluation').mockRejectedValueOnce(
      Object.assign(new Error('3 INVALID_ARGUMENT: refused'), { code: 3, details: 'refused' }),
    );
    const err = await errorOf(
      c.lib.registry.updateMetrics('fail', '1.0.0', { performance_metrics: { accuracy: 0.9 } }),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect((await descriptionOf('fail', '1.0.0')).metrics).toEqual({ performance: { accuracy: 0.6 }, cost: {} });
    c.reset();
    expect((await c.lib.registry.getModel('fail', '1.0.0')).performance_metrics).toEqual({ accuracy: 0.6 });
    expect(c.calls).toEqual(['GetModel']);
  });

  it('an upload whose answer was lost converges on the version it created and clears its own entry', async () => {
    const client = await c.lib.clients.models();
    const real = client.uploadModel.bind(client);
    vi.spyOn(client, 'uploadModel').mockImplementationOnce((async (...args: unknown[]) => {
      const [op] = await (real as unknown as (...a: unknown[]) => Promise<[{ promise(): Promise<unknown> }]>)(...args);
      await op.promise();
      throw Object.assign(new Error('14 UNAVAILABLE: connection reset'), { code: 14, details: 'connection reset' });
    }) as never);
    const r = await upload('lost', '1.0.0', {
      performance_metrics: { accuracy: 0.9 },
      cost_metrics: { usd_per_1k: 1 },
    });
    expect(r).toMatchObject({
      version_id: '1',
      performance_metrics: { accuracy: 0.9 },
      cost_metrics: { usd_per_1k: 1 },
    });
    expect((await descriptionOf('lost', '1.0.0')).metrics).toEqual({
      performance: { accuracy: 0.9 },
      cost: { usd_per_1k: 1 },
    });
    expect((await newestEvaluations('lost', '1.0.0')).count).toBe(2);
    c.reset();
    await c.lib.registry.getModel('lost', '1.0.0');
    expect(c.calls).toEqual(['GetModel']);
  });

  it('concurrent metric updates: the mirror ends equal to the newest evaluations, with nothing pending', async () => {
    await upload('busy', '1.0.0', { performance_metrics: { accuracy: 0.5 } });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        c.lib.registry.updateMetrics('busy', '1.0.0', {
          performance_metrics: { accuracy: 0.5 + i / 100 },
          ...(i % 2 ? { cost_metrics: { usd_per_1k: i } } : {}),
        }),
      ),
    );
    const newest = await newestEvaluations('busy', '1.0.0');
    expect(newest.count).toBe(1 + 8 + 4);
    expect((await descriptionOf('busy', '1.0.0')).metrics).toEqual({
      performance: newest.performance,
      cost: newest.cost,
    });
    c.reset();
    const m = await c.lib.registry.getModel('busy', '1.0.0');
    expect(c.calls).toEqual(['GetModel']);
    expect({ performance: m.performance_metrics, cost: m.cost_metrics }).toEqual({
      performance: newest.performance,
      cost: newest.cost,
    });
  });

  it('under injected UNAVAILABLE faults every read still shows the newest evaluations', async () => {
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) await upload('flaky', v, { performance_metrics: { accuracy: 0.5 } });
    c.emu.setFaults('unavailable=0.3');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) => {
        const v = `1.${i % 4}.0`;
        return i % 4 === 3
          ? upload('flaky', v, { performance_metrics: { accuracy: 0.4 }, cost_metrics: { usd_per_1k: 2 } })
          : c.lib.registry.updateMetrics('flaky', v, {
              performance_metrics: { accuracy: 0.5 + i / 100 },
              ...(i % 3 ? { cost_metrics: { usd_per_1k: i } } : {}),
            });
      }),
    );
    c.emu.setFaults('');
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeGreaterThan(0);
    for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) {
      const newest = await newestEvaluations('flaky', v).catch(() => null);
      if (!newest) continue; // 1.3.0: no upload got through
      const m = await c.lib.registry.getModel('flaky', v);
      expect({ performance: m.performance_metrics, cost: m.cost_metrics }, v).toEqual({
        performance: newest.performance,
        cost: newest.cost,
      });
      // A mirror without pending entries is the newest evaluations.
      const mirror = (await descriptionOf('flaky', v)).metrics;
      if (!mirror.pending?.length) expect(mirror, v).toEqual({ performance: newest.performance, cost: newest.cost });
    }
  });

  it('metrics too large to mirror are read from the evaluations', async () => {
    const many = (prefix: string) =>
      Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`${prefix}_${'x'.repeat(50)}_${i}`, i / 7]));
    await upload('wide', '1.0.0', { performance_metrics: many('p'), cost_metrics: many('c') });
    expect((await descriptionOf('wide', '1.0.0')).metrics).toEqual({ omitted: true });
    c.reset();
    const m = await c.lib.registry.getModel('wide', '1.0.0');
    expect(Object.keys(m.performance_metrics)).toHaveLength(100);
    expect(Object.keys(m.cost_metrics)).toHaveLength(100);
    expect(c.calls).toEqual(['GetModel', 'ListModelEvaluations']);
  });
});

describe('listModelsPage', () => {
  /** Every page of a query, with the RPCs each made. */
  async function walk(q: ListModelsQuery & { page_size?: number }, sizes?: (call: number) => number) {
    const pages: { versions: string[]; token: string | null; bytes: number }[] = [];
    let token: string | undefined;
    for (let i = 0; i < 500; i++) {
      const p = await c.lib.registry.listModelsPage({
        ...q,
        ...(sizes ? { page_size: sizes(i) } : {}),
        ...(token ? { page_token: token } : {}),
      });
      const lines = p.versions.map(
        (v) => `${v.name} ${v.version ?? `id ${v.version_id}`} (${v.deployment_stage ?? '-'})`,
      );
      pages.push({
        versions: p.versions.map((v) => `${v.name}@${v.version}`),
        token: p.next_page_token,
        bytes:
          Buffer.byteLength(JSON.stringify({ versions: p.versions, count: p.versions.length })) +
          lines.join(', ').length,
      });
      if (!p.next_page_token) return pages;
      token = p.next_page_token;
    }
    throw new Error('the walk did not end');
  }

  async function seed() {
    // a: 60 versions (every third tagged "even", 1.0.3 in production, 1.0.4 in staging, 1.0.5 archived);
    // b: 2 versions, none tagged; c: 45 versions from tuning jobs.
    for (let i = 0; i < 60; i++) await upload('a', `1.0.${i}`, i % 3 === 0 ? { tags: ['even'] } : {});
    await upload('b', '0.1.0');
    await upload('b', '0.2.0');
    for (let i = 0; i < 45; i++) await upload('c', `2.0.${i}`, { source: 'tuning_job', tags: i % 3 ? [] : ['even'] });
    await c.lib.registry.promoteModel('a', '1.0.5', { target_stage: 'production', force: true });
    await c.lib.registry.promoteModel('a', '1.0.3', { target_stage: 'production', force: true }); // 1.0.5 archived
    await c.lib.registry.promoteModel('a', '1.0.4');
  }

  it('walks every version exactly once, in listModels order, whatever the filters and page size', async () => {
    await seed();
    const queries: ListModelsQuery[] = [
      {},
      { name: 'a' },
      { name: 'b' },
      { stage: 'development' },
      { stage: 'production' },
      { stage: 'archived' },
      { stage: 'staging', name: 'a' },
      { tags: ['even'] },
      { source: 'tuning_job' },
      { source: 'tuning_job', tags: ['even'], stage: 'development' },
      { name: 'b', tags: ['even'] },
    ];
    for (const q of queries) {
      const all = (await c.lib.registry.listModels(q)).map((v) => `${v.name}@${v.version}`);
      expect(new Set(all).size).toBe(all.length);
      for (const page_size of [undefined, 1, 7, 50]) {
        const pages = await walk({ ...q, ...(page_size ? { page_size } : {}) });
        const what = JSON.stringify({ q, page_size });
        expect(
          pages.flatMap((p) => p.versions),
          what,
        ).toEqual(all);
        const size = page_size ?? LIST_PAGE.default_size;
        for (const [i, p] of pages.entries()) {
          // Full pages while more follow; a token exactly when more versions match.
          if (p.token) expect(p.versions.length, what).toBe(size);
          else expect(i, what).toBe(pages.length - 1);
          if (i > 0 || all.length > 0) expect(p.versions.length, what).toBeGreaterThan(0);
        }
        expect(pages.length, what).toBe(Math.max(1, Math.ceil(all.length / size)));
      }
    }
    // page_size may change from call to call (AIP-158): still every version once, in order.
    const varying = [7, 3, 50, 1, 12];
    for (const q of [{}, { name: 'a' }, { stage: 'development' as const }, { tags: ['even'] }]) {
      const all = (await c.lib.registry.listModels(q)).map((v) => `${v.name}@${v.version}`);
      const pages = await walk(q, (i) => varying[i % varying.length]!);
      expect(pages.flatMap((p) => p.versions)).toEqual(all);
      for (const [i, p] of pages.slice(0, -1).entries()) expect(p.versions).toHaveLength(varying[i % varying.length]!);
    }
    // The totals the seed makes.
    expect((await walk({})).flatMap((p) => p.versions)).toHaveLength(107);
    expect((await walk({ stage: 'production' })).flatMap((p) => p.versions)).toEqual(['a@1.0.3']);
    expect((await walk({ stage: 'archived' })).flatMap((p) => p.versions)).toEqual(['a@1.0.5']);
  });

  it('reads one Vertex page per page of one model, and a token is opaque, stable and bound to its query', async () => {
    for (let i = 0; i < 90; i++) await upload('m', `1.0.${i}`);
    c.reset();
    const first = await c.lib.registry.listModelsPage({ name: 'm' });
    expect(c.calls).toEqual(['ListModelVersions']);
    expect(first.versions.map((v) => v.version)).toEqual(Array.from({ length: 40 }, (_, i) => `1.0.${i}`));
    const token = first.next_page_token!;
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    c.reset();
    const second = await c.lib.registry.listModelsPage({ name: 'm', page_token: token });
    expect(c.calls).toEqual(['ListModelVersions']);
    expect(second.versions[0]!.version).toBe('1.0.40');
    // The same token again: the same page.
    expect(await c.lib.registry.listModelsPage({ name: 'm', page_token: token })).toEqual(second);
    const last = await c.lib.registry.listModelsPage({ name: 'm', page_token: second.next_page_token! });
    expect(last.versions.map((v) => v.version)).toEqual(Array.from({ length: 10 }, (_, i) => `1.0.${80 + i}`));
    expect(last.next_page_token).toBeNull();
    // Page sizes: capped at 50; nonsense refused.
    expect((await c.lib.registry.listModelsPage({ name: 'm', page_size: 500 })).versions).toHaveLength(50);
    expect((await errorOf(c.lib.registry.listModelsPage({ name: 'm', page_size: 0 }))).code).toBe('INVALID_ARGUMENT');
    // A token belongs to its query, and only tokens this server issued are accepted.
    const other = await errorOf(c.lib.registry.listModelsPage({ name: 'm', stage: 'development', page_token: token }));
    expect(other.code).toBe('INVALID_ARGUMENT');
    expect(other.message).toMatch(/page_token is not valid: it belongs to a list with other filters/);
    const junk = await errorOf(c.lib.registry.listModelsPage({ name: 'm', page_token: 'not-a-token' }));
    expect(junk.code).toBe('INVALID_ARGUMENT');
    // Across models: one ListModels and one ListModelVersions for a page inside one model.
    const across = (await c.lib.registry.listModelsPage({})).next_page_token!;
    c.reset();
    await c.lib.registry.listModelsPage({ page_token: across });
    expect(c.calls).toEqual(['ListModels', 'ListModelVersions']);
  });

  it('keeps every page under 16 KB, however many tags the versions carry', async () => {
    const tags = Array.from({ length: 50 }, (_, i) => `${'t'.repeat(55)}${String(i).padStart(4, '0')}`);
    for (let i = 0; i < 30; i++) await upload('heavy', `1.0.${i}`, { tags });
    for (let i = 0; i < 30; i++) await upload('light', `1.0.${i}`);
    for (const page_size of [undefined, 50]) {
      const pages = await walk({ ...(page_size ? { page_size } : {}) });
      expect(pages.flatMap((p) => p.versions)).toHaveLength(60);
      for (const p of pages) expect(p.bytes).toBeLessThan(LIST_PAGE.max_bytes + 1);
      expect(Math.max(...pages.map((p) => p.bytes))).toBeLessThan(16 * 1024);
      // Heavy versions (3.3 KB each) come a few to a page; light ones fill the page size.
      expect(pages[0]!.versions.length).toBe(3);
      expect(pages.at(-1)!.versions.every((v) => v.startsWith('light@'))).toBe(true);
    }
  });
});
