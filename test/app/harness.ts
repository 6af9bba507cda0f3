// A real HTTP server for the dashboard tests (serveHttp, as `vertex-mcp --http` runs it, over the
// embedded emulator) and an A/B test with real traffic on two trained routers.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { serveHttp } from '../../src/http.js';
import { createLibrary, type Library } from '../../src/lib/index.js';
import { trainedRouter as router, routingTask as task } from '../fixtures/routing.js';
import { emulatorBackend } from '../helpers.js';

export interface Harness {
  emu: Emulator;
  lib: Library;
  base: string;
  /** A fresh one-time login address (what the server prints at start). */
  dashboard: { loginUrl(base: string): string };
  /** An MCP client over HTTP with the bearer token. */
  client(): Promise<Client>;
  close(): Promise<void>;
}

export async function startHarness(token: string): Promise<Harness> {
  const emu = await startEmulator({ dataDir: ':memory:' });
  const backend = emulatorBackend(emu);
  const lib = createLibrary(backend);
  const http = await serveHttp({ backend, lib }, { host: '127.0.0.1', port: 0, authToken: token });
  const base = `http://127.0.0.1:${http.port}`;
  const clients: Client[] = [];
  return {
    emu,
    lib,
    base,
    dashboard: { loginUrl: () => http.dashboardLogin() },
    async client() {
      const c = new Client({ name: 'dashboard-test', version: '1' });
      await c.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await http.close();
      await lib.close();
      await emu.close();
    },
  };
}

/** Endpoint `ab-ep` serving router 1.0.0 (worse) and an A/B test `router-ab` of 1.1.0 (better) against it. */
export async function startAbTest(h: Harness, client: Client): Promise<void> {
  for (const [version, art] of [
    ['1.0.0', router(1 / 3)],
    ['1.1.0', router(0)],
  ] as const) {
    const dir = `gs://vertex-mcp-emulator/ab/${version}`;
    await h.emu.gcs.write(`${dir}/model.json`, art);
    await h.lib.registry.uploadModel({
      name: 'router',
      version,
      serving_container_uri: 'local/text-router',
      artifact_uri: dir,
    });
  }
  const ok = async (name: string, args: Record<string, unknown>) => {
    const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text?: string }[] };
    if (r.isError) throw new Error(`${name}: ${r.content[0]?.text}`);
  };
  await ok('create_endpoint', { display_name: 'ab-ep' });
  await ok('deploy_model', { endpoint: 'ab-ep', name: 'router', version: '1.0.0' });
  await ok('start_ab_test', {
    endpoint: 'ab-ep',
    name: 'router-ab',
    model: 'router',
    control: '1.0.0',
    treatment: '1.1.0',
    primary_metric: 'accuracy',
    minimum_detectable_effect: 0.1,
    baseline: { value: 0.7 },
    guardrails: [{ metric: 'error_rate', margin: 0.02 }],
    confirm: true,
  });
}

/** `n` single-instance predictions from task `from` on, each with correct/incorrect feedback. */
export async function traffic(lib: Library, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const t = task(1000 + i);
    const r = await lib.endpoints.predict('ab-ep', [t.text]);
    const out = (r.predictions[0] as { output: string }).output;
    lib.monitoring.recordFeedback({ endpoint: 'ab-ep', prediction_id: r.prediction_ids[0]!, correct: out === t.agent });
  }
}
