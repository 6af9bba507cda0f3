// Budgets (SPEC 9): predict through MCP against the emulator, p50 at most 2x the protocol floor
// (ping, and a tools/call with no handler) on the same server; and predictions per second through
// the library next to the model's in-process inference rate (the floor without gRPC).
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { loadPredictor } from '../src/emulator/runtime/index.js';
import { createServer } from '../src/server.js';
import { benchStack, deployRouter, TASKS } from './router.js';
import { percentile } from './util.js';

export async function benchPredict(n = 1000) {
  const { emu, backend, lib, close } = await benchStack();
  try {
    await deployRouter(lib, { name: 'bench-router', endpoint: 'bench-ep', examples: 600, epochs: 3 });

    // In-process inference: the floor without gRPC.
    const artifact = JSON.parse(await emu.gcs.readText('gs://vertex-mcp-emulator/tuning-jobs/1001/model.json'));
    const predictor = loadPredictor(artifact);
    for (let i = 0; i < 200; i++) predictor.predict(TASKS[i % 3]!);
    let t = performance.now();
    for (let i = 0; i < n * 10; i++) predictor.predict(`${TASKS[i % 3]} ${i}`);
    const inProcess = (n * 10) / ((performance.now() - t) / 1000);

    // Through the library (official PredictionServiceClient over gRPC), one request at a time.
    for (let i = 0; i < 50; i++) await lib.endpoints.predict('bench-ep', [TASKS[i % 3]!]);
    t = performance.now();
    for (let i = 0; i < n; i++) await lib.endpoints.predict('bench-ep', [`${TASKS[i % 3]} ${i}`]);
    const viaLibrary = n / ((performance.now() - t) / 1000);

    // Through MCP (in-memory transport): predict vs ping vs a tools/call with no handler.
    const mcp = createServer({ backend, lib });
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'bench', version: '1' });
    await Promise.all([mcp.server.connect(b), client.connect(a)]);
    const kinds = {
      predict: () => client.callTool({ name: 'predict', arguments: { endpoint: 'bench-ep', instances: [TASKS[0]] } }),
      ping: () => client.ping(),
      unknown_tool: () => client.callTool({ name: 'no_such_tool', arguments: {} }),
    };
    const times: Record<string, number[]> = { predict: [], ping: [], unknown_tool: [] };
    for (let i = 0; i < 50; i++) for (const f of Object.values(kinds)) await f();
    for (let i = 0; i < 500; i++) {
      for (const [k, f] of Object.entries(kinds)) {
        const s = performance.now();
        await f();
        times[k]!.push(performance.now() - s);
      }
    }
    await client.close();
    await mcp.close();
    const p = (k: string, q: number) => percentile(times[k]!, q);
    return {
      in_process_predictions_per_s: Math.round(inProcess),
      library_predictions_per_s: Math.round(viaLibrary),
      library_vs_in_process: viaLibrary / inProcess,
      mcp: Object.fromEntries(Object.keys(kinds).map((k) => [k, { p50_ms: p(k, 50), p99_ms: p(k, 99) }])),
      ratio_p50_vs_ping: p('predict', 50) / p('ping', 50),
      ratio_p50_vs_unknown_tool: p('predict', 50) / p('unknown_tool', 50),
      target_ratio: 2,
    };
  } finally {
    await close();
  }
}
