// The built CLI spawned over stdio, as Claude Desktop or the Inspector would start it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTAINER } from './helpers.js';

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
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'stdio-test', version: '1' });
  await client.connect(transport);
  return client;
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
    expect(bad.stderr.trim().split('\n')).toEqual(['vertex-mcp: --port: Invalid input: expected number, received NaN']);
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
