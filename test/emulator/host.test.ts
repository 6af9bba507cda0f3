// The emulator's gRPC host: no call's status can stall the connection it shares with others, and a
// per-start secret keeps both ports (gRPC, GCS) to the server that started it.

import { EndpointServiceClient } from '@google-cloud/aiplatform/build/src/v1/endpoint_service_client.js';
import { ModelServiceClient } from '@google-cloud/aiplatform/build/src/v1/model_service_client.js';
import * as grpcJs from '@grpc/grpc-js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capMessage, invalidArgument, MAX_STATUS_MESSAGE_BYTES } from '../../src/emulator/errors.js';
import { GrpcHost } from '../../src/emulator/host.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { loadServices } from '../../src/emulator/protos.js';
import { VertexClients } from '../../src/lib/clients.js';
import { createLibrary } from '../../src/lib/index.js';
import { createServer } from '../../src/server.js';
import { CONTAINER, emulatorBackend } from '../helpers.js';
import { clientOptions, expectStatus } from './grpc.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const parent = 'projects/test-project/locations/us-central1';
const INVALID_ARGUMENT = 3;
const UNAUTHENTICATED = 16;
const TOKEN = 'per-start-secret-0123456789abcdef';

/** Resolves with [outcome, milliseconds]; never rejects. */
async function timed<T>(p: Promise<T>): Promise<[{ ok: true; value: T } | { ok: false; err: any }, number]> {
  const t0 = performance.now();
  const r = await p.then(
    (value) => ({ ok: true as const, value }),
    (err) => ({ ok: false as const, err }),
  );
  return [r, performance.now() - t0];
}

describe('capMessage', () => {
  it('keeps short messages and cuts long ones to the byte budget, saying how long they were', () => {
    expect(capMessage('short')).toBe('short');
    const long = `bad value: ${'x'.repeat(200_000)}`;
    const cut = capMessage(long);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
    expect(cut).toMatch(/^bad value: x+… \(200011 bytes\)$/);
    // Multi-byte characters are never split (no U+FFFD after a round trip).
    const wide = capMessage('é€😀'.repeat(5000), 100);
    expect(Buffer.byteLength(wide)).toBeLessThanOrEqual(100);
    expect(Buffer.from(wide).toString('utf8')).toBe(wide);
    expect(wide).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe('GrpcHost: one oversized status cannot stall the shared channel', () => {
  let host: GrpcHost;
  let client: ModelServiceClient;

  beforeAll(async () => {
    const defs = loadServices(
      ['google/cloud/aiplatform/v1/model_service.proto'],
      ['google.cloud.aiplatform.v1.ModelService'],
    );
    host = new GrpcHost();
    host.addService(defs['google.cloud.aiplatform.v1.ModelService']!, {
      // A service that quotes a 1 MB input whole in its error, as the did.
      GetModel: () => {
        throw invalidArgument(`model ${'m'.repeat(1 << 20)} is not valid`);
      },
      ListModels: () => ({ models: [] }),
    });
    const port = await host.listen('127.0.0.1', 0);
    client = new ModelServiceClient(clientOptions({ grpcPort: port } as Emulator));
  });
  afterAll(async () => {
    await client.close();
    await host.close();
  });

  it('sends a capped status, and a concurrent call on the same channel completes at once', async () => {
    const [[bad, badMs], [good, goodMs]] = await Promise.all([
      timed(client.getModel({ name: `${parent}/models/m` }, { timeout: 10_000 })),
      timed(client.listModels({ parent }, { timeout: 10_000 })),
    ]);
    expect(bad.ok).toBe(false);
    const err = (bad as { err: any }).err;
    expect(err.code).toBe(INVALID_ARGUMENT);
    expect(Buffer.byteLength(err.details)).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
    expect(err.details).toMatch(/^model m+… \(1048595 bytes\)$/);
    expect(good.ok).toBe(true);
    // Before the cap: both waited for the 10 s deadline.
    expect(badMs).toBeLessThan(2000);
    expect(goodMs).toBeLessThan(2000);
  });
});

describe('emulator: a huge bad value through the official client', () => {
  let emu: Emulator;
  let models: ModelServiceClient;
  let endpoints: EndpointServiceClient;

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    models = new ModelServiceClient(clientOptions(emu));
    endpoints = new EndpointServiceClient(clientOptions(emu));
    await models.listModels({ parent }); // connect first: the calls below share the open channel
  });
  afterAll(async () => {
    await models.close();
    await endpoints.close();
    await emu.close();
  });

  it('answers INVALID_ARGUMENT with a short message while a valid create_endpoint goes through', async () => {
    // A 200 KB filter value the emulator quotes back: before the cap, ~600 KB of trailer.
    const hugeFilter = `labels.tag="${'x'.repeat(200_000)}`;
    const [[bad, badMs], [created, createdMs], [listed, listedMs]] = await Promise.all([
      timed(models.listModels({ parent, filter: hugeFilter }, { timeout: 10_000 })),
      timed(
        endpoints
          .createEndpoint({ parent, endpoint: { displayName: 'meanwhile' } }, { timeout: 10_000 })
          .then(([op]) => op.promise()),
      ),
      timed(models.listModels({ parent }, { timeout: 10_000 })),
    ]);
    expect(bad.ok).toBe(false);
    const err = (bad as { err: any }).err;
    expect(err.code).toBe(INVALID_ARGUMENT);
    expect(Buffer.byteLength(err.details)).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_BYTES);
    expect(err.details).toMatch(/… \(\d{6} bytes\)$/);
    expect(created.ok, String((created as { err?: Error }).err)).toBe(true);
    expect(listed.ok).toBe(true);
    expect(Math.max(badMs, createdMs, listedMs)).toBeLessThan(3000);
  });
});

describe('library clients: a request whose routing header would break the shared connection', () => {
  let emu: Emulator;
  let clients: VertexClients;

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    clients = new VertexClients(emulatorBackend(emu));
    await (await clients.models()).listModels({ parent });
  });
  afterAll(async () => {
    await clients.close();
    await emu.close();
  });

  it('is refused before it is sent, and the calls in flight beside it complete', async () => {
    const models = await clients.models();
    // A 200 KB name travels in x-goog-request-params: past HTTP/2's 64 KB header list the server
    // drops the connection (RST_STREAM 9), failing every call in flight on it with INTERNAL.
    const [[bad], [good, goodMs]] = await Promise.all([
      timed(Promise.resolve().then(() => models.getModel({ name: `${parent}/models/${'x'.repeat(200_000)}` }))),
      timed(models.listModels({ parent }, { timeout: 10_000 })),
    ]);
    expect(bad.ok).toBe(false);
    expect((bad as { err: any }).err).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^getModel: name is 200\d{3} bytes, longer than any Vertex AI resource name/),
    });
    expect(good.ok, String((good as { err?: Error }).err)).toBe(true);
    expect(goodMs).toBeLessThan(2000);
    // Updates carry the name nested (model.name), long-running checks take it bare.
    await expect(
      Promise.resolve().then(() =>
        models.updateModel({ model: { name: 'm'.repeat(10_000) }, updateMask: { paths: [] } }),
      ),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      Promise.resolve().then(() => models.checkUploadModelProgress('o'.repeat(10_000))),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('emulator with a per-start secret', () => {
  let emu: Emulator;

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:', token: TOKEN });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('refuses anonymous and wrong-token gRPC calls from the official client (UNAUTHENTICATED)', async () => {
    const anonymous = new ModelServiceClient(clientOptions(emu));
    try {
      const text = await expectStatus(anonymous.listModels({ parent }), UNAUTHENTICATED);
      expect(text).toContain('requires its token');
    } finally {
      await anonymous.close();
    }
    // The library's own credentials, with another token.
    const wrong = new VertexClients({
      kind: 'emulator',
      endpoint: async () => ({ host: emu.host, grpcPort: emu.grpcPort, httpPort: emu.httpPort, token: 'x'.repeat(33) }),
      project: 'test-project',
      location: 'us-central1',
    });
    try {
      const text = await expectStatus((await wrong.models()).listModels({ parent }), UNAUTHENTICATED);
      expect(text).toContain('does not match');
    } finally {
      await wrong.close();
    }
  });

  it('refuses a raw @grpc/grpc-js call without the secret, and takes one with it', async () => {
    const raw = new grpcJs.Client(`127.0.0.1:${emu.grpcPort}`, grpcJs.credentials.createInsecure());
    const call = (metadata: grpcJs.Metadata) =>
      new Promise<{ code: number; details: string }>((resolve) => {
        raw.makeUnaryRequest(
          '/google.cloud.aiplatform.v1.ModelService/ListModels',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          metadata,
          (err) => resolve({ code: err?.code ?? 0, details: err?.details ?? '' }),
        );
      });
    try {
      expect((await call(new grpcJs.Metadata())).code).toBe(UNAUTHENTICATED);
      const bearer = new grpcJs.Metadata();
      bearer.set('authorization', `Bearer ${TOKEN}`);
      // Past authentication: an empty ListModels request fails on its missing parent instead.
      expect((await call(bearer)).code).toBe(INVALID_ARGUMENT);
    } finally {
      raw.close();
    }
  });

  it('refuses anonymous and wrong-token GCS requests (401), reading and deleting nothing', async () => {
    const base = `http://${emu.host}:${emu.httpPort}/storage/v1`;
    const anonymous = await fetch(`${base}/b?project=test-project`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const body = (await anonymous.json()) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(401);
    expect(body.error.message).toContain('requires its token');
    const wrong = await fetch(`${base}/b/x/o/y`, { method: 'DELETE', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const upload = await fetch(`http://${emu.host}:${emu.httpPort}/upload/storage/v1/b/x/o?uploadType=media&name=y`, {
      method: 'POST',
      body: 'z'.repeat(1 << 20),
    });
    expect(upload.status).toBe(401);
    const withToken = await fetch(`${base}/b?project=test-project`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(withToken.status).toBe(200);
  });

  it("serves the server's own calls: tools over gRPC (long-running operations included) and GCS", async () => {
    const backend = emulatorBackend(emu); // its endpoint carries emu.token, as the CLI's does
    const lib = createLibrary(backend);
    const mcp = createServer({ backend, lib });
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'host-test', version: '1' });
    await Promise.all([mcp.server.connect(b), client.connect(a)]);
    const clients = new VertexClients(backend);
    try {
      const up = (await client.callTool({
        name: 'upload_model',
        arguments: { name: 'secret-model', version: '1.0.0', serving_container_uri: CONTAINER },
      })) as any;
      expect(up.isError, up.content?.[0]?.text).toBeFalsy();
      const got = (await client.callTool({
        name: 'get_model',
        arguments: { name: 'secret-model', version: '1.0.0' },
      })) as any;
      expect(got.structuredContent).toMatchObject({ name: 'secret-model', version: '1.0.0' });
      const ep = (await client.callTool({
        name: 'create_endpoint',
        arguments: { display_name: 'secret-endpoint' },
      })) as any;
      expect(ep.isError, ep.content?.[0]?.text).toBeFalsy();
      // GCS through the library's storage client: simple and resumable uploads, list, read, delete.
      const storage = await clients.storage();
      await storage.createBucket('secret-bucket');
      const bucket = storage.bucket('secret-bucket');
      await bucket.file('small.txt').save('hello', { resumable: false });
      await bucket.file('big.bin').save(Buffer.alloc(9 << 20, 7), { resumable: true });
      const [files] = await bucket.getFiles();
      expect(files.map((f) => f.name).sort()).toEqual(['big.bin', 'small.txt']);
      expect((await bucket.file('small.txt').download())[0].toString()).toBe('hello');
      expect((await bucket.file('big.bin').download())[0].length).toBe(9 << 20);
      await bucket.file('small.txt').delete();
    } finally {
      await client.close();
      await mcp.close();
      await lib.close();
      await clients.close();
    }
  });
});
