// `npm run demo`: an MCP client spawns vertex-mcp over stdio (emulator backend, in-memory state)
// and drives the whole lifecycle, printing each step: logs -> datasets -> two fine-tuned versions
// (registered automatically) -> compare -> gated promotion -> an endpoint serving both at 80/20 ->
// per-version stats, cost, quality, an alert that fires, a Grafana dashboard.
import { readFileSync } from 'node:fs';
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

    // 4. Serve both versions behind one endpoint at 80/20 and send held-out tasks.
    await call('Create an endpoint', 'create_endpoint', {
      display_name: 'halo-router-ep',
      min_replicas: 1,
      max_replicas: 3,
    });
    await call('Deploy 1.0.0 (the first model takes 100%)', 'deploy_model', {
      endpoint: 'halo-router-ep',
      name: 'halo-router',
      version: '1.0.0',
    });
    await call('Deploy 1.1.0 at 20% (1.0.0 rescaled to 80%)', 'deploy_model', {
      endpoint: 'halo-router-ep',
      name: 'halo-router',
      version: '1.1.0',
      traffic_percentage: 20,
    });
    const heldout = readFileSync(path.join(process.cwd(), 'examples/halo-routing-heldout.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { task: string; agent: string });
    const served: { id: string; expected: string; output: string; version: string }[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < heldout.length; i += 4) {
        const batch = heldout.slice(i, i + 4);
        const r = (await client.callTool({
          name: 'predict',
          arguments: { endpoint: 'halo-router-ep', instances: batch.map((b) => b.task) },
        })) as Result;
        if (r.isError) throw new Error(`predict failed: ${text(r)}`);
        const sc = r.structuredContent as any;
        for (const [k, id] of (sc.prediction_ids as string[]).entries()) {
          served.push({ id, expected: batch[k]!.agent, output: sc.predictions[k].output, version: sc.version });
        }
      }
    }
    const requests = Math.ceil(heldout.length / 4) * 2;
    out(`\n${++step}. Sent ${requests} predict requests (${served.length} held-out tasks, 4 per request) through MCP`);
    for (const v of ['1.0.0', '1.1.0']) {
      const mine = served.filter((x) => x.version === v);
      const right = mine.filter((x) => x.output === x.expected).length;
      out(
        `   ${v}: ${mine.length} predictions, ${right} routed to the agent the log says succeeded (${((right / Math.max(1, mine.length)) * 100).toFixed(1)}%)`,
      );
    }
    const stats = await call('Per-version endpoint stats (last 5 minutes)', 'get_endpoint_stats', {
      endpoint: 'halo-router-ep',
    });
    out('   version  traffic  requests  errors  p50 ms  p95 ms  p99 ms  replicas');
    for (const v of stats.versions ?? []) {
      const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
      out(
        `   ${String(v.version).padEnd(8)} ${String(v.traffic_percent).padStart(6)}%  ${String(v.requests).padStart(8)}  ${String(v.errors).padStart(6)}  ${f(v.p50_ms).padStart(6)}  ${f(v.p95_ms).padStart(6)}  ${f(v.p99_ms).padStart(6)}  ${String(v.replicas).padStart(8)}`,
      );
    }

    // 5. Monitoring: feedback on half the predictions, cost, quality, an alert that fires, a dashboard.
    for (const x of served.slice(0, Math.floor(served.length / 2))) {
      await client.callTool({
        name: 'record_feedback',
        arguments: { prediction_id: x.id, expected_output: x.expected },
      });
    }
    out(`\n${++step}. Recorded feedback (the expected agent) for ${Math.floor(served.length / 2)} predictions`);
    await call('Performance', 'get_metrics', { endpoint: 'halo-router-ep', kind: 'performance' });
    const cost = await call('Cost (emulator: $0; the Vertex AI price of the same usage alongside)', 'get_metrics', {
      endpoint: 'halo-router-ep',
      kind: 'cost',
      window_seconds: 3600,
    });
    const ve = cost.metrics?.vertex_equivalent;
    if (ve)
      out(
        `   on Vertex AI at the table's prices (as of ${cost.metrics.prices_as_of}): compute $${ve.compute_usd}, total $${ve.total_usd}`,
      );
    await call('Quality: accuracy from feedback, drift against the training data', 'get_metrics', {
      endpoint: 'halo-router-ep',
      kind: 'quality',
      window_seconds: 3600,
    });
    await call('Alert when p95 latency exceeds 0.01 ms (it will)', 'set_alert_rule', {
      name: 'router-p95',
      endpoint: 'halo-router-ep',
      metric: 'p95_ms',
      comparison: 'gt',
      threshold: 0.01,
      window_seconds: 300,
      severity: 'warning',
    });
    await call('Check alerts', 'check_alerts', {});
    await call('Export a Grafana dashboard (Prometheus data source)', 'export_grafana_dashboard', {
      datasource: 'prometheus',
      endpoint: 'halo-router-ep',
      path: 'gs://vertex-mcp-emulator/demo/grafana-dashboard.json',
    });

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
