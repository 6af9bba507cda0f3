// A real Prometheus scrapes the HTTP server's /metrics, and every PromQL expression of the
// exported Prometheus dashboard runs through its query API: each must parse and return data.
// .ci/run installs Debian's prometheus package; locally the test is skipped without it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { type HttpServer, serveHttp } from '../src/http.js';
import { createLibrary, type Library } from '../src/lib/index.js';
import { dashboardQueries, exportGrafanaDashboard } from '../src/lib/monitoring/grafana.js';
import { routingLines } from './fixtures/routing.js';
import { emulatorBackend } from './helpers.js';

const binary = (() => {
  try {
    return execFileSync('which', ['prometheus'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
})();
if (!binary && process.env.CI) throw new Error("CI needs Debian's prometheus package (.ci/run installs it)");

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let emu: Emulator;
let lib: Library;
let http: HttpServer;
let prom: ChildProcess | undefined;
let promUrl = '';
const dir = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-prom-'));

beforeAll(async () => {
  if (!binary) return;
  emu = await startEmulator({ dataDir: ':memory:' });
  lib = createLibrary(emulatorBackend(emu));
  http = await serveHttp({ backend: lib.clients.backend, lib }, { host: '127.0.0.1', port: 0 });
  // Traffic through MCP over HTTP, so tool-call and prediction metrics both exist.
  const client = new Client({ name: 'prom-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  await lib.files.writeText('gs://vertex-mcp-emulator/p/train.jsonl', routingLines(0, 100));
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = (await client.callTool({ name, arguments: args })) as any;
    if (r.isError) throw new Error(`${name}: ${r.content[0].text}`);
    return r.structuredContent;
  };
  for (const version of ['1.0.0', '1.1.0']) {
    await call('submit_tuning_job', {
      tuning_type: 'supervised',
      base_model: 'local/text-router',
      dataset: { train_uri: 'gs://vertex-mcp-emulator/p/train.jsonl' },
      hyperparameters: { epochs: 2 },
      output: { name: 'router', version },
      wait: true,
    });
  }
  await call('create_endpoint', { display_name: 'prom-ep' });
  await call('deploy_model', { endpoint: 'prom-ep', name: 'router', version: '1.0.0' });
  await call('deploy_model', { endpoint: 'prom-ep', name: 'router', version: '1.1.0', traffic_percentage: 50 });
  const traffic = async (n: number, pauseMs: number) => {
    for (let i = 0; i < n; i++) {
      await call('predict', { endpoint: 'prom-ep', instances: [`query the sales table for item ${i}`] });
      // An unreadable instance: a 400 the error-rate panel counts.
      if (i % 5 === 0)
        await client.callTool({ name: 'predict', arguments: { endpoint: 'prom-ep', instances: [{ image: 'x' }] } });
      await sleep(pauseMs);
    }
  };
  await traffic(10, 0);

  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vertex-mcp\n    static_configs:\n      - targets: ['127.0.0.1:${http.port}']\n`,
  );
  prom = spawn(
    binary,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    {
      stdio: 'ignore',
    },
  );
  const scrapes = () =>
    fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent('count_over_time(up{job="vertex-mcp"}[5m])')}`)
      .then((r) => r.json())
      .then((j: any) => Number(j.data?.result?.[0]?.value?.[1] ?? 0))
      .catch(() => 0);
  const waitScrapes = async (n: number) => {
    for (let i = 0; i < 120 && (await scrapes()) < n; i++) await sleep(250);
  };
  // Traffic while Prometheus scrapes, so rates are non-zero: after its first scrape, then more.
  await waitScrapes(1);
  await traffic(15, 200);
  await client.close();
  await waitScrapes((await scrapes()) + 2);
}, 120_000);

afterAll(async () => {
  prom?.kill('SIGTERM');
  await http?.close();
  await lib?.close();
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

it.skipIf(!binary)(
  'every PromQL query of the exported dashboard parses and returns data from a real Prometheus',
  async () => {
    const up = await fetch(`${promUrl}/api/v1/query?query=up`).then((r) => r.json());
    expect(up.data.result[0].value[1]).toBe('1');
    const queries = dashboardQueries(exportGrafanaDashboard({ datasource: 'prometheus' })).filter(
      (q) => q.kind === 'promql',
    );
    expect(queries.length).toBeGreaterThanOrEqual(5);
    const empty: string[] = [];
    for (const q of queries) {
      const r = (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q.expr)}`).then((x) =>
        x.json(),
      )) as any;
      expect(r.status, `${q.panel}: ${q.expr}: ${r.error}`).toBe('success');
      if (!r.data.result.length) empty.push(`${q.panel}: ${q.expr}`);
    }
    expect(empty).toEqual([]);
  },
);
