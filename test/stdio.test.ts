// The built CLI spawned over stdio, as Claude Desktop or the Inspector would start it.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelServiceClient } from '@google-cloud/aiplatform/build/src/v1/model_service_client.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { grpc } from 'google-gax';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTAINER } from './helpers.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const CLI = path.resolve('dist/src/cli.js');
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-stdio-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function spawnClient(args: string[], env: Record<string, string> = {}) {
  return (await spawnClientWithStderr(args, env)).client;
}

async function spawnClientWithStderr(args: string[], env: Record<string, string> = {}) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client({ name: 'stdio-test', version: '1' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

/** Starts `vertex-mcp emulator` and returns its one JSON line. */
async function standaloneEmulator(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, 'emulator', ...args, '--log-level', 'silent'], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString()));
    child.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  return { child, info: JSON.parse(line) as { endpoint: string; gcs: string; grpc: string; token_required: boolean } };
}

/** A raw stdio server: lines in, lines out, no client library in between. */
function rawServer(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '' } });
  const lines: string[] = [];
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const next = async (n = lines.length + 1): Promise<any> => {
    for (let i = 0; i < 200 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 25));
    if (lines.length < n) throw new Error(`no answer (have ${lines.length} lines)`);
    return JSON.parse(lines[n - 1]!);
  };
  return { child: child as ChildProcessWithoutNullStreams, lines, next };
}

describe('stdio', () => {
  it('serves tools and keeps emulator state across a restart', async () => {
    const dataDir = tmp();
    const first = await spawnClient(['serve', '--data-dir', dataDir, '--log-level', 'silent']);
    expect((await first.listTools()).tools.length).toBeGreaterThanOrEqual(21);
    const up = (await first.callTool({
      name: 'upload_model',
      arguments: {
        name: 'persisted',
        version: '1.0.0',
        serving_container_uri: CONTAINER,
        performance_metrics: { accuracy: 0.7 },
      },
    })) as any;
    expect(up.isError).toBeFalsy();
    await first.close();

    const second = await spawnClient(['--data-dir', dataDir, '--log-level', 'silent']);
    const got = (await second.callTool({
      name: 'get_model',
      arguments: { name: 'persisted', version: '1.0.0' },
    })) as any;
    expect(got.structuredContent).toMatchObject({
      name: 'persisted',
      version: '1.0.0',
      performance_metrics: { accuracy: 0.7 },
    });
    await second.close();
  });

  it('applies --read-only from its environment twin', async () => {
    const client = await spawnClient(['--data-dir', ':memory:'], {
      VERTEX_MCP_READ_ONLY: 'true',
      VERTEX_MCP_LOG_LEVEL: 'silent',
    });
    const { tools } = await client.listTools();
    expect(tools.every((t) => t.annotations?.readOnlyHint)).toBe(true);
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['get_model', 'get_tuning_job']));
    expect(tools.map((t) => t.name)).not.toContain('delete_model');
    await client.close();
  });

  it('tells how to authenticate in vertex mode without credentials', async () => {
    const home = tmp();
    // METADATA_SERVER_DETECTION=none: do not probe a GCE metadata server (no network in tests).
    const client = await spawnClient(['--project', 'my-project', '--log-level', 'silent'], {
      HOME: home,
      METADATA_SERVER_DETECTION: 'none',
    });
    const r = (await client.callTool({ name: 'list_models', arguments: {} })) as any;
    expect(r.isError).toBe(true);
    expect(r.content[0].text).toContain(
      'UNAUTHENTICATED: No Google Cloud credentials found for vertex mode (project my-project)',
    );
    expect(r.content[0].text).toContain('gcloud auth application-default login');
    expect(r.content[0].text).toContain('GOOGLE_APPLICATION_CREDENTIALS');
    await client.close();
  });

  it('shares one standalone emulator between servers (vertex-mcp emulator + --emulator-endpoint)', async () => {
    const emu = spawn(process.execPath, [CLI, 'emulator', '--data-dir', ':memory:', '--log-level', 'silent']);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        emu.stdout.once('data', (d: Buffer) => resolve(d.toString()));
        emu.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
      });
      const { endpoint, gcs } = JSON.parse(line) as { endpoint: string; gcs: string };
      expect(gcs).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const a = await spawnClient(['--emulator-endpoint', endpoint, '--log-level', 'silent']);
      const up = (await a.callTool({
        name: 'upload_model',
        arguments: { name: 'shared', version: '1.0.0', serving_container_uri: CONTAINER },
      })) as any;
      expect(up.isError).toBeFalsy();
      await a.close();
      const b = await spawnClient(['--emulator-endpoint', endpoint, '--log-level', 'silent']);
      const got = (await b.callTool({ name: 'get_model', arguments: { name: 'shared' } })) as any;
      expect(got.structuredContent).toMatchObject({ name: 'shared', version: '1.0.0' });
      await b.close();
    } finally {
      emu.kill('SIGTERM');
    }
  });

  it('rejects a bad flag with one line and exit code 2', () => {
    const bad = spawnSync(process.execPath, [CLI, '--http', '--port', 'abc'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toEqual(['vertex-mcp: --port: expected a port number, 0-65535']);
    const toolset = spawnSync(process.execPath, [CLI, '--toolsets', 'registy'], { encoding: 'utf8' });
    expect(toolset.status).toBe(2);
    expect(toolset.stderr).toContain('--toolsets');
    const prices = spawnSync(process.execPath, [CLI, '--prices', path.resolve('package.json')], { encoding: 'utf8' });
    expect(prices.status).toBe(2);
    expect(prices.stderr).toContain('--prices: price table');
    const faults = spawnSync(process.execPath, [CLI, '--faults', 'explode=1'], { encoding: 'utf8' });
    expect(faults.status).toBe(2);
    expect(faults.stderr).toContain('unknown fault "explode"');
  });
});

describe('stdio: messages the server cannot take are answered', () => {
  it('answers an oversized line, a batch, bad JSON and a non-message, and keeps serving', async () => {
    const { child, next } = rawServer(['--data-dir', ':memory:', '--log-level', 'silent']);
    try {
      const send = (m: unknown) => child.stdin.write(`${typeof m === 'string' ? m : JSON.stringify(m)}\n`);
      send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      });
      expect((await next(1)).result.serverInfo.name).toBe('vertex-mcp');
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      // 12 MB in one line, the id last (as the SDK's clients write it): once a silent exit 0.
      send({
        method: 'tools/call',
        params: { name: 'predict', arguments: { instances: ['x'.repeat(12 << 20)] } },
        jsonrpc: '2.0',
        id: 2,
      });
      const big = await next(2);
      expect(big).toMatchObject({ jsonrpc: '2.0', id: 2, error: { code: -32600 } });
      expect(big.error.message).toMatch(
        /^Request too large: this message is 12(\.\d+)? MB, over the 4 MB limit for one stdio message/,
      );
      send([
        { jsonrpc: '2.0', id: 3, method: 'ping' },
        { jsonrpc: '2.0', id: 4, method: 'tools/list' },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 3 } },
      ]);
      const batch = await next(3);
      expect(batch.map((r: any) => r.id)).toEqual([3, 4]);
      expect(batch[0].error).toMatchObject({
        code: -32600,
        message: expect.stringContaining('batches are not supported'),
      });
      send('{"jsonrpc": "2.0", "id": 5, "method": ');
      expect(await next(4)).toMatchObject({ id: null, error: { code: -32700 } });
      send({ id: 6, hello: 'world' });
      expect(await next(5)).toMatchObject({ id: 6, error: { code: -32600 } });
      send({ jsonrpc: '2.0', id: 7, method: 'tools/list' });
      const listed = await next(6);
      expect(listed.id).toBe(7);
      expect(listed.result.tools.length).toBeGreaterThanOrEqual(21);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('stdio: flags and environment', () => {
  it('reads boolean twins as booleans: false, 0, no and off are false; bogus is refused', async () => {
    for (const value of ['false', '0', 'no', 'OFF']) {
      const client = await spawnClient(['--data-dir', ':memory:', '--log-level', 'silent'], {
        VERTEX_MCP_READ_ONLY: value,
      });
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names, value).toContain('delete_model');
      await client.close();
    }
    const bogus = spawnSync(process.execPath, [CLI], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', VERTEX_MCP_READ_ONLY: 'bogus' },
    });
    expect(bogus.status).toBe(2);
    expect(bogus.stderr.trim().split('\n')).toEqual([
      'vertex-mcp: VERTEX_MCP_READ_ONLY (--read-only): expected true or false (also 1/0, yes/no, on/off), got "bogus"',
    ]);
    const http = spawnSync(process.execPath, [CLI], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', VERTEX_MCP_HTTP: 'maybe' },
    });
    expect(http.status).toBe(2);
    expect(http.stderr).toContain('VERTEX_MCP_HTTP (--http): expected true or false');
  });

  it('validates ports only in the modes that use them', async () => {
    // A stray HTTP setting does not stop a stdio server.
    const client = await spawnClient(['--data-dir', ':memory:', '--log-level', 'silent'], {
      VERTEX_MCP_PORT: 'abc',
      VERTEX_MCP_MAX_SESSIONS: 'lots',
      VERTEX_MCP_AUTH_TOKEN: 'short',
    });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();
    const env = { PATH: process.env.PATH ?? '' };
    const emu = spawnSync(process.execPath, [CLI, 'emulator', '--port', '70000'], { encoding: 'utf8', env });
    expect(emu.status).toBe(2);
    expect(emu.stderr.trim()).toBe('vertex-mcp: --port: expected a port number, 0-65535');
    const sessions = spawnSync(process.execPath, [CLI, '--http', '--max-sessions', '0'], { encoding: 'utf8', env });
    expect(sessions.status).toBe(2);
    expect(sessions.stderr.trim()).toBe('vertex-mcp: --max-sessions: expected a whole number of sessions, 1-100000');
    const endpoint = spawnSync(process.execPath, [CLI, '--emulator-endpoint', '127.0.0.1:99999'], {
      encoding: 'utf8',
      env,
    });
    expect(endpoint.status).toBe(2);
    expect(endpoint.stderr.trim()).toBe('vertex-mcp: --emulator-endpoint: ports must be 1-65535');
    // In vertex mode the emulator endpoint is not used, so not checked.
    const vertex = spawnSync(
      process.execPath,
      [CLI, '--project', 'p', '--emulator-endpoint', 'nonsense', '--http', '--port', 'x'],
      {
        encoding: 'utf8',
        env,
      },
    );
    expect(vertex.stderr.trim()).toBe('vertex-mcp: --port: expected a port number, 0-65535');
  });

  it('reports a data directory locked by another emulator as FAILED_PRECONDITION', async () => {
    const dataDir = tmp();
    const { child } = await standaloneEmulator(['--data-dir', dataDir]);
    try {
      const client = await spawnClient(['--data-dir', dataDir, '--log-level', 'silent']);
      const r = (await client.callTool({ name: 'list_models', arguments: {} })) as any;
      expect(r.isError).toBe(true);
      expect(r.content[0].text).toMatch(
        new RegExp(
          `^FAILED_PRECONDITION: another emulator \\(pid ${child.pid}\\) is using ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
        ),
      );
      await client.close();
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('emulator ports', () => {
  it("the embedded emulator's ports refuse anonymous gRPC and GCS calls while the server's own work", async () => {
    const { client, stderr } = await spawnClientWithStderr(['--data-dir', ':memory:', '--log-level', 'info']);
    try {
      const up = (await client.callTool({
        name: 'upload_model',
        arguments: { name: 'guarded', version: '1.0.0', serving_container_uri: CONTAINER },
      })) as any;
      expect(up.isError, up.content?.[0]?.text).toBeFalsy();
      const grpcPort = Number(/emulator: gRPC on 127\.0\.0\.1:(\d+)/.exec(stderr())?.[1]);
      const gcsUrl = /GCS JSON API on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr())?.[1];
      expect(grpcPort).toBeGreaterThan(0);
      expect(gcsUrl).toBeDefined();
      const anonymous = new ModelServiceClient({
        apiEndpoint: '127.0.0.1',
        port: grpcPort,
        sslCreds: grpc.credentials.createInsecure(),
        projectId: 'p',
        universeDomain: 'googleapis.com',
      });
      const err = await anonymous.listModels({ parent: 'projects/vertex-mcp-local/locations/us-central1' }).then(
        () => undefined,
        (e: { code: number }) => e,
      );
      await anonymous.close();
      expect(err?.code).toBe(16); // UNAUTHENTICATED
      const gcs = await fetch(`${gcsUrl}/storage/v1/b?project=vertex-mcp-local`);
      expect(gcs.status).toBe(401);
      // The server's own calls still work.
      const got = (await client.callTool({
        name: 'get_model',
        arguments: { name: 'guarded', version: '1.0.0' },
      })) as any;
      expect(got.structuredContent).toMatchObject({ name: 'guarded', version: '1.0.0' });
    } finally {
      await client.close();
    }
  });

  it('a standalone emulator stays open, or requires --emulator-token when given one', async () => {
    const token = 'standalone-token-0123456789';
    const { child, info } = await standaloneEmulator(['--data-dir', ':memory:'], { VERTEX_MCP_EMULATOR_TOKEN: token });
    try {
      expect(info.token_required).toBe(true);
      expect(JSON.stringify(info)).not.toContain(token);
      expect((await fetch(`${info.gcs}/storage/v1/b?project=p`)).status).toBe(401);
      const without = await spawnClient(['--emulator-endpoint', info.endpoint, '--log-level', 'silent']);
      const refused = (await without.callTool({ name: 'list_models', arguments: {} })) as any;
      expect(refused.isError).toBe(true);
      expect(refused.content[0].text).toMatch(/^UNAUTHENTICATED: .*this emulator requires its token/);
      expect(refused.content[0].text).toContain('Pass the token the emulator was started with: --emulator-token');
      await without.close();
      const withToken = await spawnClient(['--emulator-endpoint', info.endpoint, '--log-level', 'silent'], {
        VERTEX_MCP_EMULATOR_TOKEN: token,
      });
      const ok = (await withToken.callTool({ name: 'list_models', arguments: {} })) as any;
      expect(ok.isError, ok.content?.[0]?.text).toBeFalsy();
      await withToken.close();
    } finally {
      child.kill('SIGTERM');
    }
    const open = await standaloneEmulator(['--data-dir', ':memory:']);
    try {
      expect(open.info.token_required).toBe(false);
      expect((await fetch(`${open.info.gcs}/storage/v1/b?project=p`)).status).toBe(200);
    } finally {
      open.child.kill('SIGTERM');
    }
  });
});
