// predict in one round trip (src/lib/endpoints/routes.ts): counted at the channel, so every RPC the
// library sends is seen; and the cache never answers wrong when endpoints change under it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type BackendConfig, createLibrary, type Library } from '../../src/lib/index.js';
import { countingChannelFactory } from '../emulator/grpc.js';
import { routingLines } from '../fixtures/routing.js';

const TRAIN = 'gs://vertex-mcp-emulator/routes/train.jsonl';
const DEFAULTS = {
  machine_type: 'n1-standard-2',
  accelerator_count: 0,
  min_replicas: 1,
  max_replicas: 1,
  target_utilization: 60,
};

let emu: Emulator;
let lib: Library;
let other: Library;
/** Method names of every RPC `lib` sent, in order. */
const rpcs: string[] = [];

function backend(record: boolean): BackendConfig {
  const endpoint = {
    ...emu,
    channelFactory: countingChannelFactory(emu, (m) => {
      if (record) rpcs.push(m.split('/').pop()!);
    }),
  };
  return { kind: 'emulator', endpoint: async () => endpoint, project: 'test-project', location: 'us-central1' };
}

const rpcsOf = async (f: () => Promise<unknown>) => {
  rpcs.length = 0;
  await f();
  return [...rpcs];
};

beforeAll(async () => {
  emu = await startEmulator({ dataDir: ':memory:' });
  lib = createLibrary(backend(true));
  other = createLibrary(backend(false)); // another process's view of the same Vertex
  await lib.files.writeText(TRAIN, routingLines(0, 120));
  for (const version of ['1.0.0', '1.1.0']) {
    const job = await lib.tuning.submitTuningJob(
      {
        tuning_type: 'supervised',
        base_model: 'local/text-router',
        dataset: { train_uri: TRAIN },
        hyperparameters: { epochs: 2 },
        output: { name: 'routes', version },
      },
      { wait: true },
    );
    expect(job.state).toBe('SUCCEEDED');
  }
}, 120_000);
afterAll(async () => {
  await Promise.all([lib.close(), other.close()]);
  await emu.close();
});

describe('predict routes', () => {
  it('is one Predict RPC after the first call by display name, and one from the start by ID', async () => {
    const e = await lib.endpoints.createEndpoint({ display_name: 'routes-ep', ...DEFAULTS });
    await lib.endpoints.deployModel({ endpoint: 'routes-ep', name: 'routes', version: '1.0.0' });
    const first = await rpcsOf(() => lib.endpoints.predict('routes-ep', ['write a sql join']));
    expect(first.filter((m) => m === 'Predict')).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      const r = await lib.endpoints.predict('routes-ep', ['draft a blog post']);
      expect(r.version).toBe('1.0.0');
    }
    expect(await rpcsOf(() => lib.endpoints.predict('routes-ep', ['x']))).toEqual(['Predict']);
    expect(await rpcsOf(() => lib.endpoints.predict(e.endpoint, ['x']))).toEqual(['Predict']);
    const r = await lib.endpoints.predict(e.endpoint, ['write a python function']);
    expect(r).toMatchObject({ endpoint: e.endpoint, name: 'routes', version: '1.0.0' });
  });

  it('names a version deployed by someone else after one read of the endpoint, then is one RPC again', async () => {
    await other.endpoints.deployModel({
      endpoint: 'routes-ep',
      name: 'routes',
      version: '1.1.0',
      traffic_percentage: 100,
    });
    const seen = await rpcsOf(async () => {
      const r = await lib.endpoints.predict('routes-ep', ['write a sql join']);
      expect(r).toMatchObject({ name: 'routes', version: '1.1.0' });
    });
    expect(seen).toEqual(['Predict', 'GetEndpoint']);
    expect(await rpcsOf(() => lib.endpoints.predict('routes-ep', ['x']))).toEqual(['Predict']);
  });

  it('follows a display name to its new endpoint when the old one was deleted and re-created elsewhere', async () => {
    const old = await lib.endpoints.getEndpoint('routes-ep');
    await other.endpoints.deleteEndpoint('routes-ep', true);
    const fresh = await other.endpoints.createEndpoint({ display_name: 'routes-ep', ...DEFAULTS });
    await other.endpoints.deployModel({ endpoint: fresh.endpoint, name: 'routes', version: '1.0.0' });
    const r = await lib.endpoints.predict('routes-ep', ['draft a blog post']);
    expect(r.endpoint).toBe(fresh.endpoint);
    expect(r.endpoint).not.toBe(old.endpoint);
    expect(r.version).toBe('1.0.0');
    // A deleted endpoint by ID is NOT_FOUND, said as before.
    await expect(lib.endpoints.predict(old.endpoint, ['x'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reports an ambiguous display name once a second endpoint takes it, instead of serving from the cache', async () => {
    await lib.endpoints.createEndpoint({ display_name: 'routes-ep', ...DEFAULTS });
    await expect(lib.endpoints.predict('routes-ep', ['x'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
