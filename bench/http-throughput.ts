// Budget (SPEC 9): MCP over Streamable HTTP with 8 concurrent callers, predict throughput at least
// 60% of the library's with 8 concurrent callers. One emulator and one library serve both; the
// HTTP server and its 8 client sessions run in this process too, so the figure carries the
// client's cost as well (a conservative measure).
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serveHttp } from '../src/http.js';
import { benchStack, deployRouter, TASKS } from './router.js';

export interface HttpThroughputResult {
  callers: number;
  seconds_each: number;
  library_predictions_per_s: number;
  http_predictions_per_s: number;
  ratio: number;
  target_ratio: number;
}

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
  const { backend, lib, close } = await benchStack();
  const http = await serveHttp({ backend, lib }, { host: '127.0.0.1', port: 0, authToken: TOKEN });
  const clients: Client[] = [];
  try {
    await deployRouter(lib, { name: 'http-router', endpoint: 'http-ep' });
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
    await close();
  }
}
