// The server side of the dashboard without a browser: the ui:// resource as hosts read it, the
// tools' `_meta` as the ext-apps extension specifies it (read back with ext-apps' own parser), tool
// results unchanged by it, and GET /dashboard's sign-in rules.
import type { Server } from 'node:http';
import { getToolUiResourceUri } from '@modelcontextprotocol/ext-apps/app-bridge';
import { RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleApp } from '../../scripts/bundle-app.js';
import { dashboardRoutes, SESSION_COOKIE } from '../../src/app/http.js';
import { APP_MIME_TYPE, APP_TOOLS, DASHBOARD_URI } from '../../src/app/meta.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { createLibrary, type Library } from '../../src/lib/index.js';
import { createServer } from '../../src/server.js';
import { catalogue, listEntry } from '../../src/tools/index.js';
import { emulatorBackend } from '../helpers.js';

let emu: Emulator;
let lib: Library;
let wired: Client;

async function connect(mcp: { server: { connect(t: unknown): Promise<void> } }): Promise<Client> {
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'app-test', version: '1' });
  await Promise.all([mcp.server.connect(b), client.connect(a)]);
  return client;
}

beforeAll(async () => {
  await bundleApp();
  emu = await startEmulator({ dataDir: ':memory:' });
  const backend = emulatorBackend(emu);
  lib = createLibrary(backend);
  wired = await connect(createServer({ backend, lib }));
}, 60_000);
afterAll(async () => {
  await wired?.close();
  await lib?.close();
  await emu?.close();
});

describe('the ui:// resource and the tools that link to it', () => {
  it('lists and reads the dashboard as one self-contained mcp-app HTML document', async () => {
    expect(APP_MIME_TYPE).toBe(RESOURCE_MIME_TYPE);
    const { resources } = await wired.listResources();
    const entry = resources.find((r) => r.uri === DASHBOARD_URI);
    expect(entry).toMatchObject({ uri: 'ui://vertex-mcp/dashboard', mimeType: 'text/html;profile=mcp-app' });
    const read = await wired.readResource({ uri: DASHBOARD_URI });
    expect(read.contents).toHaveLength(1);
    const html = (read.contents[0] as { text: string; mimeType: string }).text;
    expect(read.contents[0]!.mimeType).toBe('text/html;profile=mcp-app');
    expect(html).toMatch(/^<!doctype html>/);
    // Offline: no script, style sheet, image or font fetched from anywhere.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import|url\(\s*['"]?https?:/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  it('links get_ab_test and get_endpoint_stats by _meta, the way ext-apps reads it, and no other tool', async () => {
    const { tools } = await wired.listTools();
    const linked = tools.filter((t) => getToolUiResourceUri(t) !== undefined).map((t) => t.name);
    expect(linked.sort()).toEqual(['get_ab_test', 'get_endpoint_stats']);
    expect(Object.keys(APP_TOOLS).sort()).toEqual(linked);
    for (const name of linked) {
      const t = tools.find((x) => x.name === name)!;
      expect(t._meta).toEqual({ ui: { resourceUri: DASHBOARD_URI } });
    }
    // The whole tools/list answer stays within its 24 KB budget (SPEC 9) with the links.
    const bytes = Buffer.byteLength(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools } }));
    expect(bytes).toBeLessThan(24 * 1024);
    // Apart from _meta, the entries are the catalogue's (the build's tools-list cache included).
    const plainEntries = catalogue()
      .map(listEntry)
      .map(({ _meta, ...t }) => t);
    expect(tools.map(({ _meta, ...t }) => t)).toEqual(plainEntries);
  });

  it('leaves tool results as they were', async () => {
    await lib.endpoints.createEndpoint({
      display_name: 'quiet',
      machine_type: 'n1-standard-2',
      accelerator_count: 0,
      min_replicas: 1,
      max_replicas: 1,
      target_utilization: 60,
    });
    const args = { name: 'get_endpoint_stats', arguments: { endpoint: 'quiet', window_seconds: 300 } };
    const a = await wired.callTool(args);
    expect(a.isError).toBeFalsy();
    // The result is the tool's own: text and structured content, no app metadata in it.
    expect(Object.keys(a).sort()).toEqual(['content', 'structuredContent']);
    expect((a.structuredContent as { window_seconds: number }).window_seconds).toBe(300);
    expect(a._meta).toBeUndefined();
  });
});

describe('GET /dashboard sign-in', () => {
  const TOKEN = 'sign-in-token-0123456789';
  let http: Server;
  let base: string;
  const dash = dashboardRoutes({ authToken: TOKEN, loginTtlMs: 50 });

  beforeAll(async () => {
    const app = express();
    app.use(dash.router);
    app.get('/probe', (req, res) => void res.status(dash.hasSession(req) ? 200 : 401).end());
    http = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  const cookie = (res: Response) => res.headers.get('set-cookie')?.split(';')[0] ?? '';

  it('takes the token in a form, refuses a wrong one, and keeps the query', async () => {
    const post = (token: string) =>
      fetch(`${base}/dashboard/login?next=${encodeURIComponent('?test=t1')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
        redirect: 'manual',
      });
    const wrong = await post('nope');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Wrong token.');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const right = await post(TOKEN);
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/dashboard?test=t1');
    expect(cookie(right)).toMatch(new RegExp(`^${SESSION_COOKIE}=[\\w-]{43}$`));
    expect((await fetch(`${base}/probe`, { headers: { cookie: cookie(right) } })).status).toBe(200);
    expect((await fetch(`${base}/probe`, { headers: { cookie: `${SESSION_COOKIE}=forged` } })).status).toBe(401);
  });

  it('lets a login link expire unused', async () => {
    const url = dash.loginUrl(`${base}/`);
    expect(url.startsWith(`${base}/dashboard?login=`)).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('already used or has expired');
  });

  it('is open, with no link token, when the server has no auth token', async () => {
    expect(dashboardRoutes({}).loginUrl('http://127.0.0.1:9')).toBe('http://127.0.0.1:9/dashboard');
  });
});
