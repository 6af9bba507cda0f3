// The in-process channel (src/emulator/in_process.ts): the official clients reach the embedded
// emulator without a socket, and see the same answers, statuses and deadlines as over gRPC.
import { ModelServiceClient } from '@google-cloud/aiplatform/build/src/v1/model_service_client.js';
import { grpc } from 'google-gax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { createLibrary } from '../../src/lib/index.js';
import { countingChannelFactory, expectStatus } from './grpc.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const parent = 'projects/test-project/locations/us-central1';

describe('in-process channel to the embedded emulator', () => {
  let emu: Emulator;
  let created = 0;
  const base = () => ({
    apiEndpoint: '127.0.0.1',
    port: emu.grpcPort,
    sslCreds: grpc.credentials.createInsecure(),
    projectId: 'test-project',
    universeDomain: 'googleapis.com',
  });
  const inProcess = () =>
    new ModelServiceClient({
      ...base(),
      'grpc.channelFactoryOverride': countingChannelFactory(emu, () => created++),
    });
  const overGrpc = () => new ModelServiceClient(base());

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('carries the library: every call of a registry round trip goes through the in-process channel', async () => {
    let calls = 0;
    const endpoint = { ...emu, channelFactory: countingChannelFactory(emu, () => calls++) };
    const lib = createLibrary({
      kind: 'emulator',
      endpoint: async () => endpoint,
      project: 'test-project',
      location: 'us-central1',
    });
    try {
      await lib.registry.uploadModel({
        name: 'inproc',
        version: '1.0.0',
        serving_container_uri: 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest',
        performance_metrics: { accuracy: 0.9 },
      });
      const before = calls;
      const m = await lib.registry.getModel('inproc', '1.0.0');
      expect(m.version).toBe('1.0.0');
      expect(m.performance_metrics).toEqual({ accuracy: 0.9 });
      expect(calls - before).toBeGreaterThanOrEqual(1);
      expect(before).toBeGreaterThanOrEqual(2); // upload: UploadModel + its operation, at least
    } finally {
      await lib.close();
    }
  });

  it('answers what gRPC answers: the same model, and the same status and message for a missing one', async () => {
    const a = inProcess();
    const b = overGrpc();
    try {
      const [op] = await a.uploadModel({
        parent,
        modelId: 'same',
        model: { displayName: 'same', containerSpec: { imageUri: 'us-docker.pkg.dev/x/y:1' }, labels: { k: 'v' } },
      });
      const [res] = await op.promise();
      const name = String(res.model);
      const [viaProcess] = await a.getModel({ name });
      const [viaGrpc] = await b.getModel({ name });
      expect(viaProcess).toEqual(viaGrpc);
      expect(viaProcess.labels).toEqual({ k: 'v' });
      const missing = `${parent}/models/nope`;
      const t1 = await expectStatus(a.getModel({ name: missing }), 5);
      const t2 = await expectStatus(b.getModel({ name: missing }), 5);
      expect(t1).toBe(t2);
      expect(created).toBeGreaterThanOrEqual(3); // UploadModel, GetModel twice
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps deadlines: a call slower than its timeout ends DEADLINE_EXCEEDED, and the channel serves the next', async () => {
    const client = inProcess();
    try {
      emu.setFaults('latency=300ms');
      const t0 = Date.now();
      await expectStatus(client.getModel({ name: `${parent}/models/same` }, { timeout: 50, retry: null }), 4);
      expect(Date.now() - t0).toBeLessThan(280);
      emu.setFaults('');
      const [m] = await client.getModel({ name: `${parent}/models/same` });
      expect(m.displayName).toBe('same');
    } finally {
      emu.setFaults('');
      await client.close();
    }
  });

  it('refuses a method the emulator does not serve with UNIMPLEMENTED, naming it', async () => {
    const client = inProcess();
    try {
      // ExportModel exists in the proto; the emulator does not implement it.
      const text = await expectStatus(
        client.exportModel({ name: `${parent}/models/same`, outputConfig: {} }) as Promise<unknown>,
        12,
      );
      expect(text).toMatch(/ExportModel/);
    } finally {
      await client.close();
    }
  });
});
