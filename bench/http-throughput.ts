// Budget (SPEC 9): MCP over Streamable HTTP with 8 concurrent callers, predict throughput at least
// 60% of the library's with 8 concurrent callers. Two shapes: the server as users run it
// (`vertex-mcp --http`, the bundled CLI, its own process and embedded emulator: the figure), and
// the HTTP server inside this process on the library's own emulator (client and server share one
// core: a diagnostic).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serveHttp } from '../src/http.js';
import { BUNDLED_CLI } from './coldstart.js';
import { benchStack, deployRouter, deployRouterOverMcp, routingLines, TASKS } from './router.js';

export interface HttpThroughputResult {
  callers: number;
  seconds_each: number;
  library_predictions_per_s: number;
  /** `vertex-mcp --http` in its own process. */
  http_predictions_per_s: number;
  /** The HTTP server in this process, next to its 8 clients. */
  http_same_process_predictions_per_s: number;
  ratio: number;
  ratio_same_process: number;
  target_ratio: number;
}

const TOKEN = 'bench-token-0123456789';

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
  let own: Awaited<ReturnType<typeof ownProcessServer>> | undefined;
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
    const viaHttp = (cs: Client[]) => async (i: number) => {
      const r = await cs[Math.floor(i / 1_000_000)]!.callTool({
        name: 'predict',
        arguments: { endpoint: 'http-ep', instances: [TASKS[i % 3]] },
      });
      if (r.isError) throw new Error(`predict failed: ${JSON.stringify(r.content)}`);
    };
    own = await ownProcessServer(callers);
    const paths = { lib: viaLib, same: viaHttp(clients), own: viaHttp(own.clients) };
    for (const f of Object.values(paths)) await throughput(callers, 0.5, f); // warm-up
    const rates: Record<keyof typeof paths, number[]> = { lib: [], same: [], own: [] };
    // Alternated rounds, so all see the same machine state.
    for (let r = 0; r < rounds; r++) {
      for (const [k, f] of Object.entries(paths))
        rates[k as keyof typeof paths].push(await throughput(callers, seconds, f));
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const l = med(rates.lib);
    const h = med(rates.own);
    const hs = med(rates.same);
    return {
      callers,
      seconds_each: seconds,
      library_predictions_per_s: Math.round(l),
      http_predictions_per_s: Math.round(h),
      http_same_process_predictions_per_s: Math.round(hs),
      ratio: h / l,
      ratio_same_process: hs / l,
      target_ratio: 0.6,
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await own?.close();
    await http.close();
    await close();
  }
}

/** `vertex-mcp --http` (the bundled CLI) with a router deployed through MCP, and `callers` sessions on it. */
export async function ownProcessServer(
  callers: number,
  nodeArgs: string[] = [],
): Promise<{ clients: Client[]; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-bench-http-'));
  const train = path.join(dir, 'train.jsonl');
  writeFileSync(train, routingLines(300));
  const args = [BUNDLED_CLI, '--http', '--port', '0', '--auth-token', TOKEN, '--data-dir', ':memory:'];
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, ...args, '--allow-path', dir, '--alert-interval', '0'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const clients: Client[] = [];
  const close = async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /Streamable HTTP on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`vertex-mcp --http exited ${code}: ${err}`)));
    });
    for (let c = 0; c < callers; c++) {
      const client = new Client({ name: `bench-own-${c}`, version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
        }),
      );
      clients.push(client);
    }
    const call = async (name: string, a: Record<string, unknown>) => {
      const r = await clients[0]!.callTool({ name, arguments: a });
      if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
    };
    await deployRouterOverMcp(call, { name: 'http-router', endpoint: 'http-ep', train });
    return { clients, close };
  } catch (err) {
    await close();
    throw err;
  }
}
