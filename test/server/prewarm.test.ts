// The prewarm (src/server.ts, VertexClients.prewarm): after `notifications/initialized` the server
// starts the emulator and builds its clients before any tool asks, and the tools/list answer does
// not wait for it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { createServer } from '../../src/server.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ dataDir: ':memory:' });
});
afterAll(async () => {
  await emu.close();
});

async function connect(asked: string[]) {
  const backend = {
    kind: 'emulator' as const,
    endpoint: async () => {
      asked.push('endpoint');
      return emu;
    },
    project: 'test-project',
    location: 'us-central1',
  };
  const mcp = createServer({ backend, alertIntervalSeconds: 0 });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'prewarm-test', version: '1.0.0' });
  await Promise.all([mcp.server.connect(b), client.connect(a)]);
  return { mcp, client };
}

describe('prewarm', () => {
  it('reaches the emulator shortly after initialized, with no tool call, and tools/list answers first', async () => {
    const asked: string[] = [];
    const { mcp, client } = await connect(asked);
    try {
      const tools = await client.listTools();
      expect(tools.tools.length).toBeGreaterThan(30);
      expect(asked).toEqual([]); // tools/list did not wait for the prewarm
      for (let i = 0; i < 100 && asked.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(asked).toEqual(['endpoint']);
      const r = await client.callTool({ name: 'list_models', arguments: {} });
      expect(r.isError).toBeFalsy();
      expect(asked).toEqual(['endpoint']); // resolved once, shared with the first call
    } finally {
      await mcp.close();
    }
  });

  it('does nothing once the server is closed before it starts', async () => {
    const asked: string[] = [];
    const { mcp } = await connect(asked);
    await mcp.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(asked).toEqual([]);
  });
});
