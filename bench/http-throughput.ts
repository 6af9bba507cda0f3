// Budget (SPEC 9): MCP over Streamable HTTP with 8 concurrent callers, predict throughput at least
// 60% of the library's with 8 concurrent callers. One emulator and one library serve both; the
// HTTP server and its 8 client sessions run in this process too, so the figure carries the
// client's cost as well (a conservative measure).
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startEmulator } from '../src/emulator/index.js';
import { serveHttp } from '../src/http.js';
import { createLibrary } from '../src/lib/index.js';

export interface HttpThroughputResult {
  callers: number;
  seconds_each: number;
  library_predictions_per_s: number;
  http_predictions_per_s: number;
  ratio: number;
  target_ratio: number;
}

const TASKS = ['write a python function that parses dates', 'query the sales table', 'draft a blog post about llamas'];
const AGENTS = ['coder', 'sql_agent', 'writer'];
const TOKEN = 'bench-token';

/** Calls `f` from `callers` loops for `seconds`; returns completed calls per second. */
async function throughput(callers: number, seconds: number, f: (i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        await f(c * 1_000_000 + i);
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

export async function benchHttpThroughput(callers = 8, seconds = 3, rounds = 3): Promise<HttpThroughputResult> {
  const emu = await startEmulator({ dataDir: ':memory:' });
  const backend = { kind: 'emulator' as const, endpoint: async () => emu, project: 'bench', location: 'us-central1' };
  const lib = createLibrary(backend);
  const http = await serveHttp({ backend, lib }, { host: '127.0.0.1', port: 0, authToken: TOKEN });
  const clients: Client[] = [];
  try {
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({
        contents: [
          { role: 'user', parts: [{ text: `${TASKS[i % 3]} ${i}` }] },
          { role: 'model', parts: [{ text: AGENTS[i % 3] }] },
        ],
      }),
    );
    await lib.files.writeText('gs://vertex-mcp-emulator/bench/http-train.jsonl', lines.join('\n'));
    const job = await lib.tuning.submitTuningJob(
      {
        tuning_type: 'supervised',
        base_model: 'local/text-router',
        dataset: { train_uri: 'gs://vertex-mcp-emulator/bench/http-train.jsonl' },
        hyperparameters: { epochs: 2 },
        output: { name: 'http-router', version: '1.0.0' },
      },
      { wait: true },
    );
    if (job.state !== 'SUCCEEDED') throw new Error(`tuning ${job.state}`);
    await lib.endpoints.createEndpoint({
      display_name: 'http-ep',
      machine_type: 'n1-standard-2',
      accelerator_count: 0,
      min_replicas: 1,
      max_replicas: 1,
      target_utilization: 60,
    });
    await lib.endpoints.deployModel({ endpoint: 'http-ep', name: 'http-router', version: '1.0.0' });
    for (let c = 0; c < callers; c++) {
      const client = new Client({ name: `bench-${c}`, version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(http.url), {
          requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
        }),
      );
      clients.push(client);
    }
    const viaLib = (i: number) => lib.endpoints.predict('http-ep', [TASKS[i % 3]!]);
    const viaHttp = async (i: number) => {
      const r = await clients[Math.floor(i / 1_000_000)]!.callTool({
        name: 'predict',
        arguments: { endpoint: 'http-ep', instances: [TASKS[i % 3]] },
      });
      if (r.isError) throw new Error(`predict failed: ${JSON.stringify(r.content)}`);
    };
    await throughput(callers, 0.5, viaLib); // warm-up
    await throughput(callers, 0.5, viaHttp);
    const libRates: number[] = [];
    const httpRates: number[] = [];
    // Alternated rounds, so both see the same machine state.
    for (let r = 0; r < rounds; r++) {
      libRates.push(await throughput(callers, seconds, viaLib));
      httpRates.push(await throughput(callers, seconds, viaHttp));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const l = med(libRates);
    const h = med(httpRates);
    return {
      callers,
      seconds_each: seconds,
      library_predictions_per_s: Math.round(l),
      http_predictions_per_s: Math.round(h),
      ratio: h / l,
      target_ratio: 0.6,
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await http.close();
    await lib.close();
    await emu.close();
  }
}
