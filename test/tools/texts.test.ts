// Every tool's text carries what the next call needs: driven through a real MCP client on the
// emulator with a realistic setup (a tuned model, an endpoint, deployments, predictions, feedback,
// an alert rule, an A/B test), each tool's text must name every identifier its structuredContent
// holds, print numbers rounded for people, and name versions as versions.
//
// The rule for "identifier" (idsOf below), applied recursively to structuredContent:
// - keys `id`, `*_id`, `*_ids`, and the handles tools take or print: name, version, endpoint, job,
//   test, model, control, treatment, tuned_model, generation, previous_generation, next_page_token,
//   promote, promoted, superseded_by, undeploy, undeploys, undeployed, path, and `*_uri` except
//   serving_container_uri (an input the caller gave, not a handle);
// - values that are strings (or numbers under `id` keys), alone or in arrays; null, booleans and
//   empty strings are skipped;
// - a Vertex resource name (projects/.../<collection>/<ID>) counts by its last segment, the ID
//   tools take (`tuned_model` .../models/1000000001@1 -> 1000000001@1); `resource_name` fields
//   are skipped (every record that has one also carries that ID under its own key), and so is a
//   deployment's `model` where the same object names the registry version (name + version);
// - not ids: display_name (the ID is the handle), sentences and free text;
// - a version next to its model name (`name` + `version` in one object) must appear as
//   `name@version`, the form every text uses.
// A list may be summarised past its first 20 items if the text says how to get the rest; the
// setup keeps every list shorter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogue } from '../../src/tools/index.js';
import { EXAMPLES, HALO_LOG } from '../datasets/helpers.js';
import { CONTAINER, type Stack, startStack, type ToolResult } from '../helpers.js';

const ID_KEYS = new Set([
  'id',
  'name',
  'version',
  'endpoint',
  'job',
  'test',
  'model',
  'control',
  'treatment',
  'tuned_model',
  'generation',
  'previous_generation',
  'next_page_token',
  'promote',
  'promoted',
  'superseded_by',
  'undeploy',
  'undeploys',
  'undeployed',
  'path',
]);
const isIdKey = (k: string) =>
  ID_KEYS.has(k) || k.endsWith('_id') || k.endsWith('_ids') || (k.endsWith('_uri') && k !== 'serving_container_uri');

/** The identifiers in a structuredContent, by the rule above, with where each was found. */
function idsOf(value: unknown, path = ''): { path: string; id: string }[] {
  const out: { path: string; id: string }[] = [];
  const leaf = (k: string, v: unknown, p: string) => {
    if (typeof v === 'string' && v.startsWith('projects/')) out.push({ path: p, id: v.split('/').pop()! });
    else if (typeof v === 'string' && v !== '') out.push({ path: p, id: v });
    else if (typeof v === 'number' && (k === 'id' || k.endsWith('_id'))) out.push({ path: p, id: String(v) });
  };
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...idsOf(v, `${path}[${i}]`));
  } else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const paired = typeof o.name === 'string' && typeof o.version === 'string';
    for (const [k, v] of Object.entries(o)) {
      const p = path ? `${path}.${k}` : k;
      if (paired && k === 'model' && typeof v === 'string' && v.startsWith('projects/')) continue;
      if (paired && k === 'version') {
        out.push({ path: p, id: `${o.name}@${v}` });
        continue;
      }
      if (isIdKey(k)) {
        if (Array.isArray(v)) {
          for (const [i, x] of v.entries()) leaf(k, x, `${p}[${i}]`);
        } else if (v && typeof v === 'object') out.push(...idsOf(v, p));
        else leaf(k, v, p);
      } else if (v && typeof v === 'object') out.push(...idsOf(v, p));
    }
  }
  return out;
}

const textOf = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');

let s: Stack;
/** Every successful call's result, by tool. */
const seen = new Map<string, { args: Record<string, unknown>; result: ToolResult }[]>();

async function run(name: string, args: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const result = await s.call(name, args);
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  seen.set(name, [...(seen.get(name) ?? []), { args, result }]);
  return result.structuredContent ?? {};
}

beforeAll(async () => {
  s = await startStack({ library: { allowedRoots: [EXAMPLES] } });
  // Dataset -> tuning -> registry.
  await run('list_base_models');
  const ds = await run('prepare_dataset', {
    source: 'halo_routing',
    input: HALO_LOG,
    output: 'gs://vertex-mcp-emulator/texts/ds',
    validation_fraction: 0.2,
  });
  const dataset = { train_uri: ds.train_uri, validation_uri: ds.validation_uri };
  const tune = (version: string, seed: number) =>
    run('submit_tuning_job', {
      tuning_type: 'supervised',
      base_model: 'local/text-router',
      dataset,
      hyperparameters: { epochs: 3, seed },
      output: { name: 'router', version },
      wait: true,
    });
  const first = await tune('1.0.0', 1);
  await tune('1.1.0', 2);
  await run('get_tuning_job', { job: first.job });
  await run('list_tuning_jobs');
  await run('register_tuned_model', { job: first.job });
  const long = await s.ok('submit_tuning_job', {
    tuning_type: 'supervised',
    base_model: 'local/text-router',
    dataset,
    hyperparameters: { epochs: 100, early_stopping_patience: 0 },
  });
  await run('cancel_tuning_job', { job: long.job, dry_run: true });
  await run('cancel_tuning_job', { job: long.job, confirm: true });

  await run('upload_model', { name: 'scratch', version: '0.1.0', serving_container_uri: CONTAINER });
  await run('get_model', { name: 'router', version: '1.0.0' });
  await run('list_models', {});
  await run('list_models', { page_size: 1 });
  await run('update_model_metrics', {
    name: 'router',
    version: '1.1.0',
    performance_metrics: { accuracy: 0.9166666666666666 },
    cost_metrics: { usd_per_1k: 0.123456 },
  });
  await run('compare_model_versions', { name: 'router', version_a: '1.0.0', version_b: '1.1.0' });
  await run('promote_model', { name: 'router', version: '1.0.0' });
  await run('check_model', { name: 'router' });
  await run('delete_model', { name: 'scratch', version: '0.1.0', dry_run: true });
  await run('delete_model', { name: 'scratch', confirm: true });

  // Endpoint, deployment, traffic, feedback, alerts.
  await run('create_endpoint', { display_name: 'texts-ep' });
  await run('deploy_model', { endpoint: 'texts-ep', name: 'router', version: '1.0.0' });
  await run('list_endpoints');
  const p = await run('predict', {
    endpoint: 'texts-ep',
    instances: ['Implement topological sort in Java', 'Compute the area of a sphere of radius 3', 'Write a haiku'],
  });
  await run('record_feedback', { prediction_id: p.prediction_ids[0], correct: true });
  await run('set_alert_rule', {
    name: 'texts-errors',
    endpoint: 'texts-ep',
    metric: 'error_rate',
    comparison: 'gt',
    threshold: 0.05,
  });
  await run('list_alert_rules');
  await run('check_alerts');
  await run('get_endpoint_stats', { endpoint: 'texts-ep', window_seconds: 3600 });
  for (const kind of ['performance', 'cost', 'quality'])
    await run('get_metrics', { endpoint: 'texts-ep', kind, window_seconds: 3600 });
  await run('export_grafana_dashboard', { datasource: 'prometheus', path: 'gs://vertex-mcp-emulator/texts/d.json' });

  // An A/B test of the two tuned versions.
  const ab = {
    endpoint: 'texts-ep',
    name: 'texts-ab',
    model: 'router',
    control: '1.0.0',
    treatment: '1.1.0',
    primary_metric: 'accuracy',
    minimum_detectable_effect: 0.1,
    baseline: { value: 0.7 },
  };
  await run('start_ab_test', { ...ab, dry_run: true });
  await run('start_ab_test', { ...ab, confirm: true });
  for (let i = 0; i < 6; i++) {
    const r = await s.ok('predict', { endpoint: 'texts-ep', instances: [`Implement a heap in Go, case ${i}`] });
    await s.ok('record_feedback', { prediction_id: r.prediction_ids[0], correct: i % 2 === 0 });
  }
  await run('get_ab_test', { test: 'texts-ab' });
  await run('list_ab_tests');
  await run('set_traffic_split', { endpoint: 'texts-ep', traffic_split: { '1.0.0': 70, '1.1.0': 30 }, dry_run: true });
  await run('conclude_ab_test', { test: 'texts-ab', action: 'abandon', dry_run: true });
  await run('conclude_ab_test', { test: 'texts-ab', action: 'abandon', confirm: true });
  await run('set_traffic_split', { endpoint: 'texts-ep', traffic_split: { '1.0.0': 70, '1.1.0': 30 }, confirm: true });
  await run('undeploy_model', { endpoint: 'texts-ep', name: 'router', version: '1.1.0', dry_run: true });
  await run('undeploy_model', { endpoint: 'texts-ep', name: 'router', version: '1.1.0', confirm: true });
  await run('delete_alert_rule', { name: 'texts-errors', dry_run: true });
  await run('delete_alert_rule', { name: 'texts-errors', confirm: true });
  await run('delete_endpoint', { endpoint: 'texts-ep', force: true, dry_run: true });
  await run('delete_endpoint', { endpoint: 'texts-ep', force: true, confirm: true });
}, 240_000);

afterAll(async () => {
  await s?.close();
});

describe('tool texts', () => {
  it('every tool in the catalogue was driven', () => {
    expect(
      catalogue()
        .filter((t) => !seen.has(t.name))
        .map((t) => t.name),
    ).toEqual([]);
  });

  it('name every identifier of their structuredContent', () => {
    const missing: string[] = [];
    for (const [tool, calls] of seen) {
      for (const { args, result } of calls) {
        const text = textOf(result);
        for (const { path, id } of idsOf(result.structuredContent)) {
          if (!text.includes(id)) missing.push(`${tool}(${JSON.stringify(args).slice(0, 60)}) ${path}=${id}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('print numbers rounded for people (3 significant decimals at most), exact in structuredContent', () => {
    const long: string[] = [];
    for (const [tool, calls] of seen)
      for (const { result } of calls) {
        // A fraction's significant digits (after its leading zeros): 0.917, 0.00183, 91.7% pass; 0.9166666666666666 fails.
        const m = [...textOf(result).matchAll(/\d\.(\d+)/g)].filter((x) => x[1]!.replace(/^0+/, '').length > 3);
        if (m.length) long.push(`${tool}: ${m.map((x) => x[0]).join(', ')}`);
      }
    expect(long).toEqual([]);
    const metrics = seen.get('update_model_metrics')![0]!.result;
    expect(metrics.structuredContent!.performance_metrics.accuracy).toBe(0.9166666666666666);
    expect(textOf(metrics)).toContain('accuracy=0.917');
  });

  it('name versions as versions where one is known, beside any deployed-model ID', () => {
    const perf = seen.get('get_metrics')!.find((c) => c.args.kind === 'performance')!.result;
    const text = textOf(perf);
    for (const v of perf.structuredContent!.metrics.versions) {
      expect(text).toContain(`router@${v.version}`);
      expect(text).not.toMatch(new RegExp(`(^|[ ;:])${v.deployed_model_id}:`));
    }
    const stats = textOf(seen.get('get_endpoint_stats')![0]!.result);
    expect(stats).toContain('router@1.0.0');
    // Plans name the split's deployed-model IDs by version too (not a bare {"904363973": 50}).
    for (const [tool, i] of [
      ['set_traffic_split', 0],
      ['undeploy_model', 0],
      ['start_ab_test', 0],
    ] as const) {
      const text = textOf(seen.get(tool)![i]!.result);
      expect(text, tool).toMatch(/router@1\.0\.0 \(deployed model \d+\) \d+%/);
      expect(text, tool).not.toMatch(/\{"\d+":/);
    }
  });

  it('predict names every prediction id, so record_feedback works from the text alone', () => {
    const r = seen.get('predict')![0]!.result;
    const ids = r.structuredContent!.prediction_ids as string[];
    expect(ids).toHaveLength(3);
    for (const id of ids) expect(textOf(r)).toContain(id);
  });

  it('the cost text carries the Vertex AI equivalent of emulator usage', () => {
    const r = seen.get('get_metrics')!.find((c) => c.args.kind === 'cost')!.result;
    const eq = r.structuredContent!.metrics.vertex_equivalent;
    expect(eq.total_usd).toBeGreaterThan(0);
    expect(textOf(r)).toMatch(/on Vertex AI the same usage would cost \$0\.\d+, \$0\.\d+ per request/);
  });

  it('list_models leaves out the models tuning jobs write (registered copies are listed); they stay readable by ID', async () => {
    const listed = seen.get('list_models')![0]!.result;
    const versions = listed.structuredContent!.versions as { name: string; version: string }[];
    expect(versions.map((v) => `${v.name}@${v.version}`)).toEqual(['router@1.0.0', 'router@1.1.0', 'scratch@0.1.0']);
    expect(textOf(listed)).not.toMatch(/\b1000000\d{3}\b/);
    const job = seen.get('get_tuning_job')![0]!.result.structuredContent!;
    const id = String(job.tuned_model).split('/').pop()!.split('@')[0]!;
    expect(id).toMatch(/^\d+$/);
    const direct = await s.ok('list_models', { name: id });
    expect(direct.versions).toHaveLength(1);
    expect(direct.versions[0].version).toBeNull();
  });

  it('hint an agent only with parameters that exist ("pass X" in any text names an input field)', () => {
    const params = new Set(catalogue().flatMap((t) => Object.keys(t.input)));
    const bad: string[] = [];
    for (const [tool, calls] of seen)
      for (const { result } of calls)
        for (const m of textOf(result).matchAll(/\bpass ([a-z][a-z0-9]*_[a-z0-9_]+)(?: as ([a-z_]+))?/gi))
          if (!params.has(m[2] ?? m[1]!)) bad.push(`${tool}: ${m[0]}`);
    expect(bad).toEqual([]);
  });
});
