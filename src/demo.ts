// `npm run demo`: an MCP client spawns vertex-mcp over stdio (emulator backend, in-memory state)
// and drives the registry lifecycle, printing each step. Later capabilities extend this script.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

type Result = {
  structuredContent?: Record<string, any>;
  content?: { type: string; text?: string }[];
  isError?: boolean;
};

const out = (line = '') => process.stdout.write(`${line}\n`);
const text = (r: Result) => r.content?.find((c) => c.type === 'text')?.text ?? '';

export async function runDemo(): Promise<void> {
  const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.js');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli, 'serve', '--data-dir', ':memory:', '--log-level', 'warn'],
    stderr: 'inherit',
  });
  const client = new Client({ name: 'vertex-mcp-demo', version: '1.0.0' });
  await client.connect(transport);
  let step = 0;
  const call = async (title: string, name: string, args: Record<string, unknown>, expectError = false) => {
    const r = (await client.callTool({ name, arguments: args })) as Result;
    out(`\n${++step}. ${title}\n   -> ${name} ${JSON.stringify(args)}`);
    out(`   ${r.isError ? '[refused] ' : ''}${text(r)}`);
    if (Boolean(r.isError) !== expectError)
      throw new Error(`step ${step} (${name}) ${r.isError ? 'failed' : 'should have been refused'}`);
    return r.structuredContent ?? {};
  };

  try {
    const { tools } = await client.listTools();
    out(`vertex-mcp demo: ${tools.length} tools over stdio, embedded Vertex AI emulator, in-memory state`);

    const base = {
      name: 'halo-router',
      source: 'se_darwin_evolution',
      base_model: 'local/text-router',
      serving_container_uri: 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest',
      tags: ['routing', 'halo'],
    };
    await call('Register the current routing model as 1.0.0', 'upload_model', {
      ...base,
      version: '1.0.0',
      artifact_uri: 'gs://vertex-mcp-demo/halo-router/1.0.0',
      description: 'Router trained on the March logs',
      performance_metrics: { accuracy: 0.84, latency_p95_ms: 180 },
      cost_metrics: { cost_per_1k_requests_usd: 0.42 },
    });
    await call('Promote 1.0.0 to staging', 'promote_model', { name: 'halo-router', version: '1.0.0' });
    await call('Promote 1.0.0 to production', 'promote_model', { name: 'halo-router', version: '1.0.0' });
    await call('Register a retrained candidate as 1.1.0', 'upload_model', {
      ...base,
      version: '1.1.0',
      artifact_uri: 'gs://vertex-mcp-demo/halo-router/1.1.0',
      description: 'Router retrained on March + April logs',
      performance_metrics: { accuracy: 0.87 },
    });
    await call('Record the candidate latency and cost measured offline', 'update_model_metrics', {
      name: 'halo-router',
      version: '1.1.0',
      performance_metrics: { latency_p95_ms: 135 },
      cost_metrics: { cost_per_1k_requests_usd: 0.38 },
    });
    const cmp = await call('Compare 1.0.0 (production) with 1.1.0', 'compare_model_versions', {
      name: 'halo-router',
      version_a: '1.0.0',
      version_b: '1.1.0',
    });
    for (const m of cmp.metrics ?? []) {
      const rel = m.relative_change === null ? 'n/a' : `${(m.relative_change * 100).toFixed(1)}%`;
      out(
        `      ${m.metric.padEnd(26)} ${String(m.a).padStart(7)} -> ${String(m.b).padEnd(7)} (${rel}, better: ${m.better ?? 'n/a'})`,
      );
    }
    await call(
      'Try to skip staging (refused: one stage at a time)',
      'promote_model',
      { name: 'halo-router', version: '1.1.0', target_stage: 'production' },
      true,
    );
    await call('Promote 1.1.0 to staging', 'promote_model', { name: 'halo-router', version: '1.1.0' });
    await call('Promote 1.1.0 to production, gated on beating production', 'promote_model', {
      name: 'halo-router',
      version: '1.1.0',
      gate: { beat_production: true, metric: 'accuracy', min: 0.85 },
    });
    await call(
      'Delete 1.0.0 without confirm (refused)',
      'delete_model',
      { name: 'halo-router', version: '1.0.0' },
      true,
    );
    await call('Dry run of the same delete', 'delete_model', { name: 'halo-router', version: '1.0.0', dry_run: true });

    const list = await call('Final registry state', 'list_models', { name: 'halo-router' });
    out('\n   model         version  stage        aliases');
    for (const v of list.versions ?? []) {
      out(
        `   ${v.name.padEnd(13)} ${String(v.version).padEnd(8)} ${String(v.deployment_stage).padEnd(12)} ${v.aliases.join(', ')}`,
      );
    }
    const prod = await call('Resolve what serves by default', 'get_model', { name: 'halo-router' });
    out(`\nDone: ${prod.name} ${prod.version} is in production (accuracy ${prod.performance_metrics?.accuracy}).`);
  } finally {
    await client.close();
  }
}
