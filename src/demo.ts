// `npm run demo`: an MCP client spawns vertex-mcp over stdio (emulator backend, in-memory state)
// and drives the lifecycle, printing each step: logs -> datasets -> two fine-tuned versions
// (registered automatically) -> compare -> gated promotion. Later capabilities extend this script.
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

    // 1. Logs -> datasets (local example files in, the emulator's GCS out).
    const halo = await call('Turn the HALO routing log into a tuning dataset', 'prepare_dataset', {
      source: 'halo_routing',
      input: 'examples/halo-routing.jsonl',
      output: 'gs://vertex-mcp-emulator/demo/halo',
      min_success_rate: 0.6,
      preference_pairs: true,
    });
    out(`   label balance: ${halo.top_labels.map((l: any) => `${l.label} ${(l.share * 100).toFixed(0)}%`).join(', ')}`);
    const darwin = await call('Turn the SE-Darwin evolution archive into a tuning dataset', 'prepare_dataset', {
      source: 'se_darwin',
      input: 'examples/se-darwin-archive',
      output: 'gs://vertex-mcp-emulator/demo/se-darwin',
      quality_threshold: 0.8,
    });
    if (darwin.bad_records_count) out(`   first bad record: ${JSON.stringify(darwin.bad_records[0])}`);

    // 2. Fine-tune two versions; each is registered automatically on success.
    const tune = async (
      title: string,
      version: string,
      tuning_type: string,
      hyperparameters: Record<string, unknown>,
    ) => {
      const progress: string[] = [];
      const r = (await client.callTool(
        {
          name: 'submit_tuning_job',
          arguments: {
            tuning_type,
            base_model: 'local/text-router',
            dataset: { train_uri: halo.train_uri, validation_uri: halo.validation_uri },
            hyperparameters,
            output: { name: 'halo-router', version, tags: ['routing'] },
            wait: true,
          },
        },
        undefined,
        { onprogress: (p) => progress.push(`${p.progress}/${p.total ?? '?'}`) },
      )) as Result;
      out(`\n${++step}. ${title}\n   -> submit_tuning_job (${tuning_type}, wait: true)`);
      out(`   progress notifications: ${progress.join(' ') || 'none'}`);
      out(`   ${text(r)}`);
      if (r.isError) throw new Error(`tuning ${version} failed`);
      const job = r.structuredContent as any;
      if (job.state !== 'SUCCEEDED') throw new Error(`tuning ${version} ended ${job.state}: ${job.error}`);
      return job;
    };
    const v1 = await tune('Fine-tune the router (supervised) as 1.0.0', '1.0.0', 'supervised', { epochs: 8, seed: 1 });
    const v2 = await tune('Fine-tune a LoRA adapter (peft, rank 8) as 1.1.0', '1.1.0', 'peft', {
      epochs: 12,
      adapter_size: 8,
      seed: 1,
    });
    for (const [v, j] of [
      ['1.0.0', v1],
      ['1.1.0', v2],
    ] as const) {
      const b = j.progress.best;
      out(
        `   ${v}: validation accuracy ${b.validation_accuracy?.toFixed(3)} at epoch ${b.epoch} (kept; ${j.progress.epochs_completed} epochs run)`,
      );
    }

    // 3. The registry lifecycle on the tuned versions.
    await call('Promote 1.0.0 to staging', 'promote_model', { name: 'halo-router', version: '1.0.0' });
    await call('Promote 1.0.0 to production', 'promote_model', { name: 'halo-router', version: '1.0.0' });
    await call('Record the latency and cost measured offline', 'update_model_metrics', {
      name: 'halo-router',
      version: '1.1.0',
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
        `      ${m.metric.padEnd(26)} ${String(m.a).slice(0, 8).padStart(8)} -> ${String(m.b).slice(0, 8).padEnd(8)} (${rel}, better: ${m.better ?? 'n/a'})`,
      );
    }
    await call(
      'Try to skip staging (refused: one stage at a time)',
      'promote_model',
      { name: 'halo-router', version: '1.1.0', target_stage: 'production' },
      true,
    );
    await call('Promote 1.1.0 to staging', 'promote_model', { name: 'halo-router', version: '1.1.0' });
    await call(
      cmp.winner === 'b'
        ? 'Promote 1.1.0 to production, gated on beating production'
        : 'Gate 1.1.0 on beating production (refused: it does not)',
      'promote_model',
      { name: 'halo-router', version: '1.1.0', gate: { beat_production: true } },
      cmp.winner !== 'b',
    );
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
    out(
      `\nDone: ${prod.name} ${prod.version} is in production (validation accuracy ${prod.performance_metrics?.validation_accuracy}).`,
    );
  } finally {
    await client.close();
  }
}
