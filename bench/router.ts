// What several benchmarks stand on: an embedded emulator with a library, a routing dataset, and a
// tuned router version deployed on an endpoint, made through the library as a user would.
import { type Emulator, startEmulator } from '../src/emulator/index.js';
import { type BackendConfig, createLibrary, type Library } from '../src/lib/index.js';

export const TASKS = [
  'write a python function that parses dates',
  'query the sales table for last month',
  'draft a blog post about llamas',
];
const AGENTS = ['coder', 'sql_agent', 'writer'];

/** `n` Gemini-format routing examples (task -> agent), as JSONL. */
export function routingLines(n: number): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      contents: [
        { role: 'user', parts: [{ text: `${TASKS[i % 3]} item ${i}` }] },
        { role: 'model', parts: [{ text: AGENTS[i % 3] }] },
      ],
    }),
  ).join('\n');
}

export interface BenchStack {
  emu: Emulator;
  backend: BackendConfig;
  lib: Library;
  close(): Promise<void>;
}

export async function benchStack(dataDir = ':memory:'): Promise<BenchStack> {
  const emu = await startEmulator({ dataDir });
  const backend = { kind: 'emulator' as const, endpoint: async () => emu, project: 'bench', location: 'us-central1' };
  const lib = createLibrary(backend);
  return {
    emu,
    backend,
    lib,
    async close() {
      await lib.close();
      await emu.close();
    },
  };
}

/** Tunes `name` 1.0.0 on `examples` routing lines and deploys it alone on a new endpoint `endpoint`. */
export async function deployRouter(
  lib: Library,
  opts: { name: string; endpoint: string; examples?: number; epochs?: number },
): Promise<void> {
  const uri = `gs://vertex-mcp-emulator/bench/${opts.name}-train.jsonl`;
  await lib.files.writeText(uri, routingLines(opts.examples ?? 300));
  const job = await lib.tuning.submitTuningJob(
    {
      tuning_type: 'supervised',
      base_model: 'local/text-router',
      dataset: { train_uri: uri },
      hyperparameters: { epochs: opts.epochs ?? 2 },
      output: { name: opts.name, version: '1.0.0' },
    },
    { wait: true },
  );
  if (job.state !== 'SUCCEEDED') throw new Error(`tuning ${job.state}: ${job.error}`);
  await lib.endpoints.createEndpoint({
    display_name: opts.endpoint,
    machine_type: 'n1-standard-2',
    accelerator_count: 0,
    min_replicas: 1,
    max_replicas: 1,
    target_utilization: 60,
  });
  await lib.endpoints.deployModel({ endpoint: opts.endpoint, name: opts.name, version: '1.0.0' });
}

/**
 * The same through MCP tools (a server in another process): tunes `name` 1.0.0 on the local file
 * `train` (routing lines, inside the server's --allow-path) and deploys it on a new endpoint.
 * Returns create_endpoint's structured result.
 */
export async function deployRouterOverMcp(
  call: (tool: string, args: Record<string, unknown>) => Promise<unknown>,
  opts: { name: string; endpoint: string; train: string },
): Promise<unknown> {
  await call('submit_tuning_job', {
    tuning_type: 'supervised',
    base_model: 'local/text-router',
    dataset: { train_uri: opts.train },
    hyperparameters: { epochs: 2 },
    output: { name: opts.name, version: '1.0.0' },
    wait: true,
  });
  const ep = await call('create_endpoint', { display_name: opts.endpoint });
  await call('deploy_model', { endpoint: opts.endpoint, name: opts.name, version: '1.0.0' });
  return ep;
}
