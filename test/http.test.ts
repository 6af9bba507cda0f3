// Streamable HTTP: a real MCP client over HTTP, plus the requests a hostile page, a broken client or
// a flood would send, and the start-up refusal of unauthenticated network exposure.
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { type HttpServer, MAX_BODY_BYTES, serveHttp } from '../src/http.js';
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
const post = (body: string, headers: Record<string, string> = {}, url = http.url) =>
  fetch(url, {
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

describe('HTTP limits', () => {
  it('/healthz says ok and nothing else, without a token', async () => {
    const res = await fetch(http.url.replace('/mcp', '/healthz'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('answers a body over 2 MB with 413 and a JSON-RPC error, and takes one just under', async () => {
    const padded = (bytes: number) =>
      JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { pad: 'p'.repeat(bytes) } });
    for (const size of [MAX_BODY_BYTES + 1024, 12 * 1024 * 1024]) {
      const res = await post(padded(size), auth);
      expect(res.status).toBe(413);
      const body = (await res.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(-32000);
      expect(body.error.message).toMatch(
        /^Payload Too Large: the request body \(\d+(\.\d+)? MB\) is over this server's 2 MB limit/,
      );
      expect(body.error.message).not.toMatch(/at .*\.js/); // no stack
    }
    // 1.6 MB (a full predict request) is read and parsed: refused only for having no session.
    const under = await post(padded(1_600_000), auth);
    expect(under.status).toBe(400);
    expect((await under.json()).error.message).toContain('no session');
  });

  it('caps open sessions with 503, and frees a slot when a session ends', async () => {
    const capped = await serveHttp(
      { backend: emulatorBackend(emu) },
      { host: '127.0.0.1', port: 0, maxSessions: 3, sessionIdleMs: 60_000 },
    );
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post(JSON.stringify(INIT), {}, capped.url);
        expect(res.status).toBe(200);
        ids.push(res.headers.get('mcp-session-id')!);
        await res.text();
      }
      const full = await post(JSON.stringify(INIT), {}, capped.url);
      expect(full.status).toBe(503);
      expect(full.headers.get('retry-after')).toBe('60');
      expect((await full.json()).error).toMatchObject({
        code: -32000,
        message: expect.stringContaining('Service Unavailable: 3 sessions are open, the most this server allows'),
      });
      // Existing sessions keep working at the cap.
      const listed = await post(
        JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
        {
          'mcp-session-id': ids[0]!,
          'mcp-protocol-version': '2025-06-18',
        },
        capped.url,
      );
      expect(listed.status).toBe(200);
      await listed.text();
      const ended = await fetch(capped.url, { method: 'DELETE', headers: { 'mcp-session-id': ids[1]! } });
      expect(ended.status).toBe(200);
      const again = await post(JSON.stringify(INIT), {}, capped.url);
      expect(again.status).toBe(200);
      await again.text();
    } finally {
      await capped.close();
    }
  });

  it('expires idle sessions, which frees their slots', async () => {
    const short = await serveHttp(
      { backend: emulatorBackend(emu) },
      { host: '127.0.0.1', port: 0, maxSessions: 1, sessionIdleMs: 300 },
    );
    try {
      const first = await post(JSON.stringify(INIT), {}, short.url);
      expect(first.status).toBe(200);
      const id = first.headers.get('mcp-session-id')!;
      await first.text();
      expect((await post(JSON.stringify(INIT), {}, short.url)).status).toBe(503);
      await new Promise((r) => setTimeout(r, 700));
      const second = await post(JSON.stringify(INIT), {}, short.url);
      expect(second.status).toBe(200);
      await second.text();
      const gone = await post(
        JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
        { 'mcp-session-id': id },
        short.url,
      );
      expect(gone.status).toBe(404);
    } finally {
      await short.close();
    }
  });
});

describe('network boundary', () => {
  it('refuses a non-loopback host without a token, unless explicitly allowed', async () => {
    const backend = emulatorBackend(emu);
    const refused = await serveHttp({ backend }, { host: '0.0.0.0', port: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toBe(
      '--host 0.0.0.0: HTTP beyond loopback needs --auth-token <token> (VERTEX_MCP_AUTH_TOKEN); to serve anyone who can reach the port without one, add --allow-unauthenticated-network',
    );
    const open = await serveHttp({ backend }, { host: '0.0.0.0', port: 0, allowUnauthenticatedNetwork: true });
    expect(open.unauthenticatedNetwork).toBe(true);
    await open.close();
    const withToken = await serveHttp({ backend }, { host: '0.0.0.0', port: 0, authToken: TOKEN });
    expect(withToken.unauthenticatedNetwork).toBe(false);
    await withToken.close();
    const loopback = await serveHttp({ backend }, { host: 'localhost', port: 0 });
    expect(loopback.unauthenticatedNetwork).toBe(false);
    await loopback.close();
  });

  const CLI = path.resolve('dist/src/cli.js');

  it('the CLI exits 2 with one line naming the flags', () => {
    const r = spawnSync(process.execPath, [CLI, '--http', '--host', '0.0.0.0', '--port', '0'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      'vertex-mcp: --host 0.0.0.0: HTTP beyond loopback needs --auth-token <token> (VERTEX_MCP_AUTH_TOKEN); to serve anyone who can reach the port without one, add --allow-unauthenticated-network',
    ]);
  });

  it('the CLI starts with --allow-unauthenticated-network and warns on stderr', async () => {
    const child = spawn(
      process.execPath,
      [CLI, '--http', '--host', '0.0.0.0', '--port', '0', '--data-dir', ':memory:'],
      {
        env: { PATH: process.env.PATH ?? '', VERTEX_MCP_ALLOW_UNAUTHENTICATED_NETWORK: 'true' },
      },
    );
    try {
      const stderr = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stderr.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('Streamable HTTP on')) resolve(text);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
      });
      expect(stderr).toMatch(
        / warn HTTP on 0\.0\.0\.0 without --auth-token \(--allow-unauthenticated-network\): anyone who can reach port \d+ may call every tool/,
      );
    } finally {
      child.kill('SIGTERM');
    }
  });
});
