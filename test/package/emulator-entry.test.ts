// vertex-mcp/emulator, the public entry library users start the emulator with (src/emulator/public.ts):
// the library reaches it in-process, over the wire, and as a separately addressed endpoint.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMULATOR_PROJECT,
  emulatorBackend,
  examplesDir,
  type RunningEmulator,
  startEmulator,
} from '../../src/emulator/public.js';
import { createLibrary } from '../../src/lib/index.js';
import { CONTAINER } from '../helpers.js';

describe('vertex-mcp/emulator', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ token: 't'.repeat(24) });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('serves createLibrary in-process, over gRPC, and through emulatorBackend(endpoint)', async () => {
    expect(emu.endpoint).toBe(`127.0.0.1:${emu.grpcPort},${emu.httpPort}`);
    const inProcess = createLibrary(emu.backend());
    const wire = createLibrary(emu.backend({ overTheWire: true, location: 'europe-west4' }));
    const remote = createLibrary(emulatorBackend(emu.endpoint, { token: 't'.repeat(24) }));
    const anonymous = createLibrary(emulatorBackend(emu.endpoint));
    try {
      const up = await inProcess.registry.uploadModel({
        name: 'entry',
        version: '1.0.0',
        serving_container_uri: CONTAINER,
      });
      expect(up).toMatchObject({ name: 'entry', version: '1.0.0', created: true });
      // Same state whichever way the library comes in (the location is part of the resource names).
      expect((await remote.registry.getModel('entry', '1.0.0')).version).toBe('1.0.0');
      await expect(wire.registry.getModel('entry', '1.0.0')).rejects.toThrow(/NOT_FOUND|not found/i);
      // The token is required on the wire.
      await expect(anonymous.registry.getModel('entry', '1.0.0')).rejects.toThrow(/token|UNAUTHENTICATED/i);
      expect(inProcess.clients.backend).toMatchObject({ kind: 'emulator', project: EMULATOR_PROJECT });
    } finally {
      await Promise.all([inProcess.close(), wire.close(), remote.close(), anonymous.close()]);
    }
  });

  it('refuses a bad endpoint and a bad fault spec by name', () => {
    expect(() => emulatorBackend('nope')).toThrow('emulator endpoint "nope": expected host:grpcPort[,gcsPort]');
    expect(() => emu.setFaults('bogus=1')).toThrow();
    expect(() => emu.setFaults('')).not.toThrow();
  });

  it('examplesDir() is the package examples folder, found from the module, not the working directory', () => {
    expect(examplesDir()).toBe(path.resolve('examples'));
    for (const f of ['halo-routing.jsonl', 'halo-routing-heldout.jsonl', 'se-darwin-archive']) {
      expect(existsSync(path.join(examplesDir(), f)), f).toBe(true);
    }
  });
});
