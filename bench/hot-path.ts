// Budgets (SPEC 9): a registry read (get_model) and a predict through MCP over stdio against the
// embedded emulator, p50 at most 3x a no-op tool call over stdio, after warm-up; and the first
// get_model right after start at most 3x the cold start itself.
// The no-op tool call is a tools/call of a name the server does not have: the same stdio framing,
// JSON-RPC dispatch and tools/call bookkeeping, answered at once (an isError result, no handler).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { BUNDLED_CLI } from './coldstart.js';
import { deployRouterOverMcp, routingLines, TASKS } from './router.js';
import { median, percentile, serverArgs } from './util.js';

/** What users run: the bundled CLI (bench/coldstart.ts), with the bench's server flags. */
const bundledArgs = (...extra: string[]) => [BUNDLED_CLI, ...serverArgs(...extra).slice(1)];

export interface LatencyStats {
  n: number;
  p50_ms: number;
  p99_ms: number;
}

export interface HotPathResult {
  warmup: number;
  get_model: LatencyStats;
  predict: LatencyStats;
  noop_tool: LatencyStats;
  ping: LatencyStats;
  get_model_ratio: number;
  predict_ratio: number;
  target_ratio: number;
}

const stats = (xs: number[]): LatencyStats => ({
  n: xs.length,
  p50_ms: percentile(xs, 50),
  p99_ms: percentile(xs, 99),
});

async function connect(args: string[]): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args, stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (c: Buffer) => {
    if (err.length < 16_000) err += c.toString();
  });
  const client = new Client({ name: 'vertex-mcp-bench', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err };
}

async function ok(client: Client, name: string, args: Record<string, unknown>) {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
  return r.structuredContent as Record<string, unknown>;
}

export async function benchHotPath(calls = 400, warmup = 50): Promise<HotPathResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-bench-'));
  const train = path.join(dir, 'train.jsonl');
  writeFileSync(train, routingLines(300));
  const { client } = await connect(bundledArgs('--allow-path', dir));
  try {
    const ep = (await deployRouterOverMcp((tool, args) => ok(client, tool, args), {
      name: 'bench-router',
      endpoint: 'bench-ep',
      train,
    })) as Record<string, unknown>;
    const kinds: Record<string, () => Promise<unknown>> = {
      get_model: () => ok(client, 'get_model', { name: 'bench-router', version: '1.0.0' }),
      predict: () => ok(client, 'predict', { endpoint: String(ep.endpoint ?? 'bench-ep'), instances: [TASKS[0]] }),
      noop_tool: async () => {
        const r = await client.callTool({ name: 'bench_no_such_tool', arguments: {} });
        if (!r.isError) throw new Error('bench_no_such_tool unexpectedly succeeded');
      },
      ping: () => client.ping(),
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
    for (let i = 0; i < warmup; i++) for (const f of Object.values(kinds)) await f();
    // Interleaved, so all see the same machine state (GC, other load) over the run.
    for (let i = 0; i < calls; i++) {
      for (const [k, f] of Object.entries(kinds)) {
        const t = performance.now();
        await f();
        times[k]!.push(performance.now() - t);
      }
    }
    const s = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, stats(xs)])) as Record<
      string,
      LatencyStats
    >;
    return {
      warmup,
      get_model: s.get_model!,
      predict: s.predict!,
      noop_tool: s.noop_tool!,
      ping: s.ping!,
      get_model_ratio: s.get_model!.p50_ms / s.noop_tool!.p50_ms,
      predict_ratio: s.predict!.p50_ms / s.noop_tool!.p50_ms,
      target_ratio: 3,
    };
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface FirstCallResult {
  runs: number;
  /** spawn -> initialize -> tools/list answered. */
  cold_start_median_ms: number;
  /** The get_model sent as soon as tools/list is answered (the emulator and clients start for it). */
  first_get_model_median_ms: number;
  cold_start_ms: number[];
  first_get_model_ms: number[];
  ratio: number;
  target_ratio: number;
}

/** The first call right after start: a fresh server, then get_model at once (NOT_FOUND: nothing is registered). */
export async function benchFirstCall(runs = 5): Promise<FirstCallResult> {
  const cold: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const { client } = await connect(bundledArgs());
    try {
      await client.listTools();
      const t1 = performance.now();
      const r = await client.callTool({ name: 'get_model', arguments: { name: 'bench-model', version: '1.0.0' } });
      const t2 = performance.now();
      const text = JSON.stringify(r.content);
      if (!r.isError || !/not found/i.test(text)) throw new Error(`get_model: expected NOT_FOUND, got ${text}`);
      cold.push(t1 - t0);
      first.push(t2 - t1);
    } finally {
      await client.close();
    }
  }
  const c = median(cold);
  const f = median(first);
  return {
    runs,
    cold_start_median_ms: c,
    first_get_model_median_ms: f,
    cold_start_ms: cold,
    first_get_model_ms: first,
    ratio: f / c,
    target_ratio: 3,
  };
}
