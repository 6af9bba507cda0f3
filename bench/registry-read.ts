// Budget (SPEC 9): a registry read through MCP against the emulator, p50 at most 2x the protocol
// floor on the same server, after warm-up. There is no no-op tool, so the floor is a `ping`
// request: the same stdio framing, JSON-RPC dispatch and client bookkeeping, with no tool behind it.
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { percentile, serverArgs } from './util.js';

export interface LatencyStats {
  n: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
}

export interface RegistryReadResult {
  warmup: number;
  get_model: LatencyStats;
  ping: LatencyStats;
  /** Diagnostic: tools/call of a name the server does not know (the tools/call path, no handler). */
  unknown_tool: LatencyStats;
  ratio_p50: number;
  ratio_p50_vs_unknown_tool: number;
  target_ratio: number;
}

const stats = (xs: number[]): LatencyStats => ({
  n: xs.length,
  p50_ms: percentile(xs, 50),
  p99_ms: percentile(xs, 99),
  mean_ms: xs.reduce((a, b) => a + b, 0) / xs.length,
});

export async function registryRead(calls = 500, warmup = 50): Promise<RegistryReadResult> {
  const transport = new StdioClientTransport({ command: process.execPath, args: serverArgs(), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < 16_000) stderr += c.toString();
  });
  const client = new Client({ name: 'vertex-mcp-bench', version: '1.0.0' });
  await client.connect(transport);
  try {
    const up = await client.callTool({
      name: 'upload_model',
      arguments: {
        name: 'bench-model',
        version: '1.0.0',
        serving_container_uri: 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest',
        performance_metrics: { accuracy: 0.9 },
      },
    });
    if (up.isError) throw new Error(`upload_model failed: ${JSON.stringify(up.content)} ${stderr}`);
    const get = async () => {
      const r = await client.callTool({ name: 'get_model', arguments: { name: 'bench-model', version: '1.0.0' } });
      if (r.isError) throw new Error(`get_model failed: ${JSON.stringify(r.content)}`);
    };
    const ping = async () => {
      await client.ping();
    };
    const unknown = async () => {
      const r = await client.callTool({ name: 'bench_no_such_tool', arguments: {} });
      if (!r.isError) throw new Error('bench_no_such_tool unexpectedly succeeded');
    };
    for (let i = 0; i < warmup; i++) {
      await get();
      await ping();
      await unknown();
    }
    const g: number[] = [];
    const p: number[] = [];
    const u: number[] = [];
    // Interleaved, so both see the same machine state (GC, other load) over the run.
    for (let i = 0; i < calls; i++) {
      let t = performance.now();
      await get();
      g.push(performance.now() - t);
      t = performance.now();
      await ping();
      p.push(performance.now() - t);
      t = performance.now();
      await unknown();
      u.push(performance.now() - t);
    }
    const gs = stats(g);
    const ps = stats(p);
    const us = stats(u);
    return {
      warmup,
      get_model: gs,
      ping: ps,
      unknown_tool: us,
      ratio_p50: gs.p50_ms / ps.p50_ms,
      ratio_p50_vs_unknown_tool: gs.p50_ms / us.p50_ms,
      target_ratio: 2,
    };
  } finally {
    await client.close();
  }
}
