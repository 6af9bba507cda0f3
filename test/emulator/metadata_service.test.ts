// Contract tests for the emulated MetadataService contexts (Vertex AI Experiments storage), through
// Google's official client over gRPC: create / get / list (filters, pages) / update (metadata merge,
// etags) / children / delete, concurrent creates of one ID, and persistence across a restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetadataServiceClient } from '@google-cloud/aiplatform/build/src/v1/metadata_service_client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { putContext } from '../../src/emulator/services/metadata_service.js';
import { fromStruct, toStruct } from '../../src/emulator/struct.js';
import { clientOptions, expectStatus } from './grpc.js';

// No GCE metadata server here: skip google-auth's probe for it.
process.env.METADATA_SERVER_DETECTION = 'none';

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const ABORTED = 10;

const store = 'projects/p/locations/us-central1/metadataStores/default';
const ctxName = (id: string, s = store) => `${s}/contexts/${id}`;

type Ctx = Record<string, any>;
const meta = (c: Ctx) => fromStruct(c.metadata);

describe('MetadataService contexts (emulated, official client)', () => {
  let emu: Emulator;
  let client: MetadataServiceClient;

  const create = async (id: string | undefined, context: Ctx = {}, parent = store) => {
    const [c] = await client.createContext({ parent, ...(id ? { contextId: id } : {}), context: context as any });
    return c as Ctx;
  };
  const list = async (req: Ctx = {}) => {
    const [cs] = await client.listContexts({ parent: store, ...req });
    return cs as Ctx[];
  };

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    client = new MetadataServiceClient(clientOptions(emu));
  });

  afterAll(async () => {
    await client.close();
    await emu.close();
  });

  describe('CreateContext and GetContext', () => {
    it('creates a context with every field and reads it back by name', async () => {
      const before = Math.floor(Date.now() / 1000);
      const c = await create('exp-1', {
        displayName: 'Experiment one',
        schemaTitle: 'system.Experiment',
        schemaVersion: '0.0.1',
        description: 'router A/B test',
        labels: { team: 'ml' },
        metadata: toStruct({ plan: { alpha: 0.05, arms: ['control', 'treatment'] }, state: 'running', n: 3 }),
      });
      expect(c.name).toBe(ctxName('exp-1'));
      expect(c.displayName).toBe('Experiment one');
      expect(c.schemaTitle).toBe('system.Experiment');
      expect(c.schemaVersion).toBe('0.0.1');
      expect(c.description).toBe('router A/B test');
      expect(c.labels).toEqual({ team: 'ml' });
      expect(c.parentContexts).toEqual([]);
      expect(c.etag).toMatch(/\S/);
      expect(Number(c.createTime.seconds)).toBeGreaterThanOrEqual(before);
      expect(c.updateTime).toEqual(c.createTime);
      expect(meta(c)).toEqual({ plan: { alpha: 0.05, arms: ['control', 'treatment'] }, state: 'running', n: 3 });

      const [got] = await client.getContext({ name: ctxName('exp-1') });
      expect(got.name).toBe(c.name);
      expect(got.etag).toBe(c.etag);
      expect(got.description).toBe('router A/B test');
      expect(fromStruct(got.metadata)).toEqual(meta(c));
    });

    it('generates an ID when context_id is empty; accepts any metadataStores/{id}', async () => {
      const c = await create(undefined, { displayName: 'anonymous' });
      expect(c.name).toMatch(/^projects\/p\/locations\/us-central1\/metadataStores\/default\/contexts\/[a-z0-9-]+$/);
      const other = 'projects/p/locations/us-central1/metadataStores/custom-store';
      const o = await create('in-custom', { displayName: 'x' }, other);
      expect(o.name).toBe(ctxName('in-custom', other));
      // It lives in its own store only.
      expect((await list()).map((x) => x.name)).not.toContain(o.name);
    });

    it('refuses a taken ID (ALREADY_EXISTS), bad IDs, parents and fields (INVALID_ARGUMENT), unknown names (NOT_FOUND)', async () => {
      await create('taken', { displayName: 'first' });
      await expectStatus(create('taken', { displayName: 'second' }), ALREADY_EXISTS, /contexts\/taken already exists/);
      await expectStatus(
        create('Upper_Case'),
        INVALID_ARGUMENT,
        /context_id "Upper_Case".*\[a-z0-9\]\[a-z0-9-\]\{0,127\}/,
      );
      await expectStatus(create('-lead'), INVALID_ARGUMENT, /context_id/);
      await expectStatus(create('x'.repeat(129)), INVALID_ARGUMENT, /at most 128/);
      await expectStatus(
        create('ok', {}, 'projects/p/locations/us-central1'),
        INVALID_ARGUMENT,
        /parent .* must look like projects\/\{project\}\/locations\/\{location\}\/metadataStores\/\{metadata_store\}/,
      );
      await expectStatus(
        create('ok', {}, 'projects/p/locations/us-central1/featurestores/default'),
        INVALID_ARGUMENT,
        /metadataStores\/default/,
      );
      await expectStatus(create('bad-labels', { labels: { Bad: 'x' } }), INVALID_ARGUMENT, /context\.labels key "Bad"/);
      await expectStatus(
        create('long-name', { displayName: 'n'.repeat(129) }),
        INVALID_ARGUMENT,
        /display_name must be at most 128/,
      );
      await expectStatus(client.getContext({ name: ctxName('missing') }), NOT_FOUND, /contexts\/missing not found/);
      await expectStatus(client.getContext({ name: 'contexts/missing' }), INVALID_ARGUMENT, /must look like/);
    });

    it('of 8 concurrent creates of one ID exactly one succeeds, the others are ALREADY_EXISTS', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => create('race', { displayName: `racer ${i}` })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(7);
      for (const r of lost) expect((r.reason as { code: number }).code).toBe(ALREADY_EXISTS);
      const [stored] = await client.getContext({ name: ctxName('race') });
      expect(stored.displayName).toBe((won[0] as PromiseFulfilledResult<Ctx>).value.displayName);
    });
  });

  describe('ListContexts', () => {
    const lstore = 'projects/p/locations/us-central1/metadataStores/listing';
    const lname = (id: string) => ctxName(id, lstore);
    const names = (cs: Ctx[]) => cs.map((c) => c.name.split('/').pop());

    beforeAll(async () => {
      await create('exp-a', { displayName: 'A', schemaTitle: 'system.Experiment' }, lstore);
      await create('exp-b', { displayName: 'B', schemaTitle: 'system.Experiment' }, lstore);
      for (const [id, dn] of [
        ['exp-a-control', 'control'],
        ['exp-a-treatment', 'treatment'],
        ['exp-b-control', 'control'],
      ] as const) {
        await create(id, { displayName: dn, schemaTitle: 'system.ExperimentRun', labels: { arm: dn } }, lstore);
      }
      await client.addContextChildren({
        context: lname('exp-a'),
        childContexts: [lname('exp-a-control'), lname('exp-a-treatment')],
      });
      await client.addContextChildren({ context: lname('exp-b'), childContexts: [lname('exp-b-control')] });
    });

    it('lists a store in creation order, filtered by schema_title, display_name, parent_contexts, joined with AND', async () => {
      const all = await list({ parent: lstore });
      expect(names(all)).toEqual(['exp-a', 'exp-b', 'exp-a-control', 'exp-a-treatment', 'exp-b-control']);
      expect(names(await list({ parent: lstore, filter: 'schema_title="system.Experiment"' }))).toEqual([
        'exp-a',
        'exp-b',
      ]);
      expect(names(await list({ parent: lstore, filter: 'display_name = "control"' }))).toEqual([
        'exp-a-control',
        'exp-b-control',
      ]);
      expect(names(await list({ parent: lstore, filter: `parent_contexts:"${lname('exp-a')}"` }))).toEqual([
        'exp-a-control',
        'exp-a-treatment',
      ]);
      expect(
        names(
          await list({
            parent: lstore,
            filter: `schema_title="system.ExperimentRun" AND parent_contexts:"${lname('exp-a')}" AND display_name="treatment"`,
          }),
        ),
      ).toEqual(['exp-a-treatment']);
      expect(names(await list({ parent: lstore, filter: `child_contexts:"${lname('exp-b-control')}"` }))).toEqual([
        'exp-b',
      ]);
      expect(names(await list({ parent: lstore, filter: 'labels.arm="treatment"' }))).toEqual(['exp-a-treatment']);
      expect(await list({ parent: lstore, filter: 'display_name="nobody"' })).toEqual([]);
    });

    it('pages with page_size and page_token', async () => {
      const seen: string[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const [page, next] = (await client.listContexts(
          { parent: lstore, pageSize: 2, ...(pageToken ? { pageToken } : {}) },
          { autoPaginate: false },
        )) as unknown as [Ctx[], { pageToken?: string } | null];
        expect(page.length).toBeLessThanOrEqual(2);
        seen.push(...names(page));
        pageToken = next?.pageToken;
        pages++;
      } while (pageToken);
      expect(pages).toBe(3);
      expect(seen).toEqual(['exp-a', 'exp-b', 'exp-a-control', 'exp-a-treatment', 'exp-b-control']);
      await expectStatus(
        client.listContexts(
          { parent: lstore, pageToken: Buffer.from('nope').toString('base64url') },
          { autoPaginate: false },
        ),
        INVALID_ARGUMENT,
        /page_token/,
      );
    });

    it('orders by display_name', async () => {
      const cs = await list({ parent: lstore, orderBy: 'display_name desc, name' });
      expect(cs.map((c) => c.displayName)).toEqual(['treatment', 'control', 'control', 'B', 'A']);
    });

    it('an unsupported filter or parent is INVALID_ARGUMENT naming what is supported', async () => {
      await expectStatus(
        list({ parent: lstore, filter: 'metadata.state.string_value = "running"' }),
        INVALID_ARGUMENT,
        /unsupported field "metadata".*supported: .*display_name="v".*schema_title="v".*parent_contexts:<item>/,
      );
      await expectStatus(list({ parent: lstore, filter: 'create_time > "2020-01-01"' }), INVALID_ARGUMENT, /supported/);
      await expectStatus(list({ parent: lstore, filter: 'display_name = ' }), INVALID_ARGUMENT, /supported/);
      await expectStatus(list({ parent: 'projects/p/locations/us-central1' }), INVALID_ARGUMENT, /metadataStores/);
    });
  });

  describe('UpdateContext', () => {
    it('merges the top-level metadata keys, changes the etag and the update time', async () => {
      const c = await create('upd', {
        displayName: 'before',
        metadata: toStruct({ state: 'running', plan: { alpha: 0.05 }, keep: true }),
      });
      await new Promise((r) => setTimeout(r, 5));
      const [u] = await client.updateContext({
        context: {
          name: c.name,
          displayName: 'after',
          metadata: toStruct({ state: 'stopped', decision: { verdict: 'ship_treatment' } }),
        },
        updateMask: { paths: ['metadata', 'display_name'] },
      });
      expect(u.displayName).toBe('after');
      expect(fromStruct(u.metadata)).toEqual({
        state: 'stopped',
        plan: { alpha: 0.05 },
        keep: true,
        decision: { verdict: 'ship_treatment' },
      });
      expect(u.etag).not.toBe(c.etag);
      expect(u.createTime).toEqual(c.createTime);
      const ms = (t: any) => Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6;
      expect(ms(u.updateTime)).toBeGreaterThan(ms(c.updateTime));
      // Only the masked paths change.
      const [d] = await client.updateContext({
        context: { name: c.name, displayName: 'ignored', description: 'described' },
        updateMask: { paths: ['description'] },
      });
      expect(d.displayName).toBe('after');
      expect(d.description).toBe('described');
      expect(d.etag).not.toBe(u.etag);
      const [got] = await client.getContext({ name: c.name });
      expect(got.etag).toBe(d.etag);
      expect(fromStruct(got.metadata)).toEqual(fromStruct(u.metadata));
    });

    it('without a mask updates the fields the request sets; labels are replaced', async () => {
      const c = await create('nomask', { displayName: 'x', labels: { a: '1' }, metadata: toStruct({ k: 1 }) });
      const [u] = await client.updateContext({
        context: { name: c.name, labels: { b: '2' }, metadata: toStruct({ j: 2 }) },
      });
      expect(u.displayName).toBe('x');
      expect(u.labels).toEqual({ b: '2' });
      expect(fromStruct(u.metadata)).toEqual({ k: 1, j: 2 });
    });

    it('a stale etag is ABORTED (optimistic concurrency); the current one succeeds', async () => {
      const c = await create('etag', { metadata: toStruct({ v: 0 }) });
      const [first] = await client.updateContext({
        context: { name: c.name, etag: c.etag, metadata: toStruct({ v: 1 }) },
        updateMask: { paths: ['metadata'] },
      });
      // A second writer that read before the first write loses.
      await expectStatus(
        client.updateContext({
          context: { name: c.name, etag: c.etag, metadata: toStruct({ v: 2 }) },
          updateMask: { paths: ['metadata'] },
        }),
        ABORTED,
        /etag mismatch/,
      );
      const [got] = await client.getContext({ name: c.name });
      expect(fromStruct(got.metadata)).toEqual({ v: 1 });
      const [second] = await client.updateContext({
        context: { name: c.name, etag: first.etag, metadata: toStruct({ v: 2 }) },
        updateMask: { paths: ['metadata'] },
      });
      expect(fromStruct(second.metadata)).toEqual({ v: 2 });
    });

    it('refuses unknown paths (INVALID_ARGUMENT) and missing contexts (NOT_FOUND); allow_missing creates', async () => {
      const c = await create('paths');
      await expectStatus(
        client.updateContext({ context: { name: c.name }, updateMask: { paths: ['parent_contexts'] } }),
        INVALID_ARGUMENT,
        /update_mask path "parent_contexts" cannot be updated; updatable: display_name, description, labels, schema_title, schema_version, metadata/,
      );
      await expectStatus(
        client.updateContext({
          context: { name: ctxName('ghost'), displayName: 'g' },
          updateMask: { paths: ['display_name'] },
        }),
        NOT_FOUND,
        /contexts\/ghost not found/,
      );
      const [made] = await client.updateContext({
        context: { name: ctxName('ghost'), displayName: 'g' },
        updateMask: { paths: ['display_name'] },
        allowMissing: true,
      });
      expect(made.displayName).toBe('g');
    });
  });

  describe('AddContextChildren and DeleteContext', () => {
    it('adds children (parent_contexts), skips repeats, refuses missing children and cycles', async () => {
      const exp = await create('tree-exp', { schemaTitle: 'system.Experiment' });
      const run1 = await create('tree-run-1', { schemaTitle: 'system.ExperimentRun' });
      const run2 = await create('tree-run-2', { schemaTitle: 'system.ExperimentRun' });
      await client.addContextChildren({ context: exp.name, childContexts: [run1.name, run2.name] });
      await client.addContextChildren({ context: exp.name, childContexts: [run1.name] });
      const [r1] = await client.getContext({ name: run1.name });
      expect(r1.parentContexts).toEqual([exp.name]);
      expect(r1.etag).not.toBe(run1.etag);
      await expectStatus(
        client.addContextChildren({ context: exp.name, childContexts: [ctxName('nope')] }),
        NOT_FOUND,
        /child context .*contexts\/nope not found/,
      );
      await expectStatus(
        client.addContextChildren({ context: ctxName('nope'), childContexts: [run1.name] }),
        NOT_FOUND,
        /contexts\/nope not found/,
      );
      // run1 -> grandchild; making exp a child of the grandchild would close a cycle.
      const grand = await create('tree-grand');
      await client.addContextChildren({ context: run1.name, childContexts: [grand.name] });
      await expectStatus(
        client.addContextChildren({ context: grand.name, childContexts: [exp.name] }),
        INVALID_ARGUMENT,
        /would create a cycle/,
      );
      await expectStatus(
        client.addContextChildren({ context: exp.name, childContexts: [exp.name] }),
        INVALID_ARGUMENT,
        /cycle/,
      );
      // Nothing changed by the refused calls.
      const [e] = await client.getContext({ name: exp.name });
      expect(e.parentContexts).toEqual([]);
      // RemoveContextChildren detaches.
      await client.removeContextChildren({ context: exp.name, childContexts: [run2.name] });
      const [r2] = await client.getContext({ name: run2.name });
      expect(r2.parentContexts).toEqual([]);
    });

    it('deletes through a long-running operation; children stay, detached; an etag mismatch is FAILED_PRECONDITION', async () => {
      const exp = await create('del-exp');
      const run = await create('del-run');
      await client.addContextChildren({ context: exp.name, childContexts: [run.name] });
      await expectStatus(client.deleteContext({ name: exp.name, etag: 'stale' }), FAILED_PRECONDITION, /etag mismatch/);
      const [op] = await client.deleteContext({ name: exp.name });
      expect(op.name).toMatch(/contexts\/del-exp\/operations\/\d+$/);
      await op.promise();
      expect(op.done).toBe(true);
      await expectStatus(client.getContext({ name: exp.name }), NOT_FOUND);
      const [r] = await client.getContext({ name: run.name });
      expect(r.parentContexts).toEqual([]);
      await expectStatus(client.deleteContext({ name: exp.name }), NOT_FOUND);
    });
  });

  it('serves the tuning service contexts (putContext) through GetContext and ListContexts', async () => {
    const name = ctxName('tuning-job-1001');
    putContext({ store: emu.store } as any, name, 'tuning-job-1001 metrics', { epochs: [{ epoch: 1, loss: 0.5 }] });
    const [c] = await client.getContext({ name });
    expect(c.schemaTitle).toBe('system.ExperimentRun');
    expect(fromStruct(c.metadata)).toEqual({ epochs: [{ epoch: 1, loss: 0.5 }] });
    expect((await list({ filter: 'display_name="tuning-job-1001 metrics"' })).map((x) => x.name)).toEqual([name]);
  });
});

describe('MetadataService contexts after a restart (temp data dir)', () => {
  it('keeps contexts, their metadata, etags and children', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-metadata-'));
    try {
      let emu = await startEmulator({ dataDir });
      let client = new MetadataServiceClient(clientOptions(emu));
      const [exp] = await client.createContext({
        parent: store,
        contextId: 'persist-exp',
        context: {
          displayName: 'persisted',
          schemaTitle: 'system.Experiment',
          metadata: toStruct({ state: 'running' }),
        },
      });
      const [run] = await client.createContext({
        parent: store,
        contextId: 'persist-run',
        context: { displayName: 'r' },
      });
      await client.addContextChildren({ context: exp.name!, childContexts: [run.name!] });
      const [updated] = await client.updateContext({
        context: { name: exp.name, metadata: toStruct({ decision: 'ship' }) },
        updateMask: { paths: ['metadata'] },
      });
      await client.close();
      await emu.close();

      emu = await startEmulator({ dataDir });
      client = new MetadataServiceClient(clientOptions(emu));
      const [got] = await client.getContext({ name: exp.name! });
      expect(got.displayName).toBe('persisted');
      expect(got.etag).toBe(updated.etag);
      expect(fromStruct(got.metadata)).toEqual({ state: 'running', decision: 'ship' });
      const [children] = await client.listContexts({ parent: store, filter: `parent_contexts:"${exp.name}"` });
      expect(children.map((c) => c.name)).toEqual([run.name]);
      // IDs stay taken, etags keep changing.
      await expectStatus(
        client.createContext({ parent: store, contextId: 'persist-exp', context: {} }),
        ALREADY_EXISTS,
      );
      const [again] = await client.updateContext({
        context: { name: exp.name, etag: got.etag, description: 'd' },
        updateMask: { paths: ['description'] },
      });
      expect(again.etag).not.toBe(got.etag);
      await client.close();
      await emu.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
