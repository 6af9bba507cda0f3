// A whole stack for tests: the emulator on a free port (in-memory state), the MCP server over the
// library, and a real MCP Client on an in-memory transport pair.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import {
  type BackendConfig,
  createLibrary,
  type Library,
  type LibraryOptions,
  VertexMcpError,
} from '../src/lib/index.js';
import { createServer } from '../src/server.js';
import type { ToolSelection } from '../src/tools/index.js';

export interface ToolResult {
  isError?: boolean;
  structuredContent?: Record<string, any>;
  content: { type: string; text?: string }[];
}

export interface Stack {
  emu: Emulator;
  lib: Library;
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  /** Calls a tool and fails the test unless it succeeded; returns structuredContent. */
  ok(name: string, args?: Record<string, unknown>): Promise<Record<string, any>>;
  /** Calls a tool and fails the test unless it was refused; returns the error text. */
  refused(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/**
 * The library's backend for a test emulator: the in-process channel, as `vertex-mcp` uses it, or
 * real gRPC over loopback when VERTEX_MCP_TEST_CHANNEL=grpc (vitest.config.ts runs the tool tests
 * a second time that way).
 */
export function emulatorBackend(emu: Emulator): BackendConfig {
  const endpoint =
    process.env.VERTEX_MCP_TEST_CHANNEL === 'grpc'
      ? { host: emu.host, grpcPort: emu.grpcPort, httpPort: emu.httpPort, token: emu.token }
      : emu;
  return { kind: 'emulator', endpoint: async () => endpoint, project: 'test-project', location: 'us-central1' };
}

export async function startStack(
  opts: { selection?: ToolSelection; dataDir?: string; library?: LibraryOptions } = {},
): Promise<Stack> {
  const emu = await startEmulator({ dataDir: opts.dataDir ?? ':memory:' });
  const backend = emulatorBackend(emu);
  const lib = createLibrary(backend, opts.library);
  const mcp = createServer({ backend, lib, selection: opts.selection });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '1.0.0' });
  await Promise.all([mcp.server.connect(serverSide), client.connect(clientSide)]);
  const text = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as ToolResult;
  return {
    emu,
    lib,
    client,
    call,
    async ok(name, args) {
      const r = await call(name, args);
      if (r.isError) throw new Error(`${name} failed: ${text(r)}`);
      return r.structuredContent ?? {};
    },
    async refused(name, args) {
      const r = await call(name, args);
      if (!r.isError) throw new Error(`${name} should have been refused: ${JSON.stringify(r.structuredContent)}`);
      return text(r);
    },
    async close() {
      await client.close();
      await mcp.close();
      await lib.close();
      await emu.close();
    },
  };
}

export const CONTAINER = 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest';

export function modelArgs(name: string, version: string, extra: Record<string, unknown> = {}) {
  return { name, version, serving_container_uri: CONTAINER, ...extra };
}

/** The VertexMcpError a synchronous call throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): VertexMcpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof VertexMcpError) return err;
    throw err;
  }
  throw new Error('expected an error');
}
