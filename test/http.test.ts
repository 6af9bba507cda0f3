// Streamable HTTP: a real MCP client over HTTP, plus the requests a hostile page or a broken
// client would send.
import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { type HttpServer, serveHttp } from '../src/http.js';
import { CONTAINER, emulatorBackend } from './helpers.js';

const TOKEN = 'test-token-0123456789';
let emu: Emulator;
let http: HttpServer;

beforeAll(async () => {
  emu = await startEmulator({ dataDir: ':memory:' });
  http = await serveHttp({ backend: emulatorBackend(emu) }, { host: '127.0.0.1', port: 0, authToken: TOKEN });
});
afterAll(async () => {
  await http.close();
  await emu.close();
});

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(http.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
  });
const auth = { authorization: `Bearer ${TOKEN}` };

describe('Streamable HTTP', () => {
  it('serves a real MCP client end to end', async () => {
    const client = new Client({ name: 'http-test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers: auth } });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('upload_model');
    const up = (await client.callTool({
      name: 'upload_model',
      arguments: { name: 'http-model', version: '0.1.0', serving_container_uri: CONTAINER },
    })) as any;
    expect(up.structuredContent).toMatchObject({ name: 'http-model', version: '0.1.0', version_id: '1' });
    const bad = (await client.callTool({
      name: 'get_model',
      arguments: { name: 'http-model', version: '2.0.0' },
    })) as any;
    expect(bad.isError).toBe(true);
    expect(bad.content[0].text).toContain('has no version 2.0.0');
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await transport.terminateSession();
    await client.close();
  });

  it('refuses a request without the bearer token', async () => {
    const res = await post(JSON.stringify(INIT));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect((await res.json()).error.message).toContain('Authorization: Bearer');
    expect((await post(JSON.stringify(INIT), { authorization: 'Bearer wrong-token-000000000' })).status).toBe(401);
  });

  it('refuses a foreign Origin or Host (DNS rebinding)', async () => {
    const origin = await post(JSON.stringify(INIT), { ...auth, origin: 'https://evil.example' });
    expect(origin.status).toBe(403);
    expect((await origin.json()).error.message).toContain('Origin https://evil.example is not allowed');
    // fetch cannot set Host; node:http can.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        http.url,
        { method: 'POST', headers: { ...auth, host: 'evil.example', 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(INIT));
    });
    expect(status).toBe(403);
    const local = await post(JSON.stringify(INIT), { ...auth, origin: `http://localhost:${http.port}` });
    expect(local.status).toBe(200);
  });

  it('answers malformed JSON-RPC with a JSON-RPC error and keeps serving', async () => {
    const res = await post('{"jsonrpc": "2.0", "id": 1, "method": ', auth);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: -32700 });
    const noSession = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), auth);
    expect(noSession.status).toBe(400);
    const unknown = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }), {
      ...auth,
      'mcp-session-id': 'no-such-session',
    });
    expect(unknown.status).toBe(404);
    expect((await post(JSON.stringify(INIT), auth)).status).toBe(200);
  });
});
