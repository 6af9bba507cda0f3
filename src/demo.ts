// `npm run demo`: an MCP client spawns vertex-mcp over stdio (emulator backend, in-memory state)
// and drives the whole lifecycle, printing each step: logs -> datasets -> two fine-tuned versions
// (registered automatically) -> an offline comparison -> an endpoint serving 1.0.0 -> an A/B test
// of 1.1.0 against it with feedback, its live verdict as it moves, and its conclusion (the traffic
// and the registry follow) -> per-version stats, cost, quality, an alert that fires, a Grafana dashboard.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { examplesDir } from './emulator/public.js';

type Result = {
  structuredContent?: Record<string, any>;
  content?: { type: string; text?: string }[];
  isError?: boolean;
};

const out = (line = '') => process.stdout.write(`${line}\n`);
const text = (r: Result) => r.content?.find((c) => c.type === 'text')?.text ?? '';

export async function runDemo(): Promise<void> {
  const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.js');
  // The example logs ship with the package: found from this module, not the working directory, so
  // `npx vertex-mcp demo` runs from anywhere; the server may read them (and nothing else locally).
  const examples = examplesDir();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli, 'serve', '--data-dir', ':memory:', '--log-level', 'warn', '--allow-path', examples],
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
      input: path.join(examples, 'halo-routing.jsonl'),
      output: 'gs://vertex-mcp-emulator/demo/halo',
      min_success_rate: 0.6,
      preference_pairs: true,
    });
    out(`   label balance: ${halo.top_labels.map((l: any) => `${l.label} ${(l.share * 100).toFixed(0)}%`).join(', ')}`);
    const darwin = await call('Turn the SE-Darwin evolution archive into a tuning dataset', 'prepare_dataset', {
      source: 'se_darwin',
      input: path.join(examples, 'se-darwin-archive'),
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
    // 1.0.0 is a quick first cut (one epoch); 1.1.0 the LoRA adapter trained properly.
    const v1 = await tune('Fine-tune a first router (supervised, one epoch) as 1.0.0', '1.0.0', 'supervised', {
      epochs: 1,
      seed: 1,
    });
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
    const cmp = await call(
      'Compare 1.0.0 (production) with 1.1.0 offline (recorded metrics only)',
      'compare_model_versions',
      {
        name: 'halo-router',
        version_a: '1.0.0',
        version_b: '1.1.0',
      },
    );
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
      'Delete 1.0.0 without confirm (refused)',
      'delete_model',
      { name: 'halo-router', version: '1.0.0' },
      true,
    );
    await call('Dry run of the same delete', 'delete_model', { name: 'halo-router', version: '1.0.0', dry_run: true });

    // 4. Serve 1.0.0, then A/B test 1.1.0 against it on live traffic with feedback.
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
    const abArgs = {
      endpoint: 'halo-router-ep',
      name: 'router-1-1-0',
      model: 'halo-router',
      control: '1.0.0',
      treatment: '1.1.0',
      traffic_percentage: 50,
      primary_metric: 'accuracy',
      minimum_detectable_effect: 0.05,
      guardrails: [
        { metric: 'error_rate', margin: 0.02 },
        { metric: 'latency_p95_ms', margin: 1 },
      ],
    };
    await call('Plan an A/B test of 1.1.0 against 1.0.0 (dry run: the split and the sample size)', 'start_ab_test', {
      ...abArgs,
      dry_run: true,
    });
    await call('Start it (moves serving traffic: confirm)', 'start_ab_test', { ...abArgs, confirm: true });
    const heldout = readFileSync(path.join(examples, 'halo-routing-heldout.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { task: string; agent: string });
    // Tasks drawn at random (seeded) from the held-out set, one per request; feedback on each.
    let seed = 7;
    const draw = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return heldout[seed % heldout.length]!;
    };
    const served: { id: string; expected: string; output: string; version: string }[] = [];
    out(
      `\n${++step}. Live traffic through MCP: predict one task a request, record_feedback on each, get_ab_test every 100`,
    );
    let report: Record<string, any> = {};
    let lastVerdict = '';
    for (let n = 1; n <= 4000; n++) {
      const t = draw();
      const r = (await client.callTool({
        name: 'predict',
        arguments: { endpoint: 'halo-router-ep', instances: [t.task] },
      })) as Result;
      if (r.isError) throw new Error(`predict failed: ${text(r)}`);
      const sc = r.structuredContent as any;
      const output = sc.predictions[0].output;
      served.push({ id: sc.prediction_ids[0], expected: t.agent, output, version: sc.version });
      await client.callTool({
        name: 'record_feedback',
        arguments: { prediction_id: sc.prediction_ids[0], correct: output === t.agent },
      });
      if (n % 100 === 0) {
        const g = (await client.callTool({ name: 'get_ab_test', arguments: { test: 'router-1-1-0' } })) as Result;
        report = g.structuredContent as any;
        if (report.verdict !== lastVerdict || n % 500 === 0)
          out(`   after ${n} requests: [${report.verdict}] ${report.sentence}`);
        lastVerdict = report.verdict;
        if (report.verdict !== 'continue') break;
      }
    }
    out('   arm        version  requests  accuracy (95% CI)        error rate  p95 ms');
    for (const a of report.arms ?? []) {
      const ci = a.ci ? `${(a.ci[0] * 100).toFixed(1)} to ${(a.ci[1] * 100).toFixed(1)}` : 'n/a';
      out(
        `   ${a.arm.padEnd(10)} ${a.version.padEnd(8)} ${String(a.requests).padStart(8)}  ${a.estimate === null ? 'n/a' : `${(a.estimate * 100).toFixed(1)}%`} (${ci})`.padEnd(
          62,
        ) +
          `${a.error_rate === null ? 'n/a' : `${(a.error_rate * 100).toFixed(1)}%`}`.padStart(10) +
          `${a.p95_ms === null ? 'n/a' : a.p95_ms.toFixed(3)}`.padStart(8),
      );
    }
    await call('Conclude on the verdict (dry run first)', 'conclude_ab_test', { test: 'router-1-1-0', dry_run: true });
    await call('Conclude it (action auto follows the verdict)', 'conclude_ab_test', {
      test: 'router-1-1-0',
      confirm: true,
    });
    await call('The comparison now rests on the A/B test', 'compare_model_versions', {
      name: 'halo-router',
      version_a: '1.0.0',
      version_b: '1.1.0',
    });
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

    // 5. Monitoring: performance, cost, quality per version, an alert that fires, a dashboard.
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
