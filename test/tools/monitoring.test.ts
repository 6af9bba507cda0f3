// Monitoring through a real MCP client: stats, metrics, cost, feedback, drift, alerts, Grafana,
// and the stats resource's update notifications, all from real predictions on the emulator.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server.js';
import { AGENTS, routingLines } from '../fixtures/routing.js';
import { type Stack, startStack } from '../helpers.js';

let s: Stack;
let endpointId: string;
const sent: { id: string; input: string; expected: string; output: string }[] = [];
const TRAIN = 'gs://vertex-mcp-emulator/mon/train.jsonl';
const tmp = mkdtempSync(path.join(process.cwd(), '.test-monitoring-'));

beforeAll(async () => {
  s = await startStack();
  await s.lib.files.writeText(TRAIN, routingLines(0, 150));
  await s.lib.files.writeText('gs://vertex-mcp-emulator/mon/val.jsonl', routingLines(150, 170));
  for (const version of ['1.0.0', '1.1.0']) {
    await s.ok('submit_tuning_job', {
      tuning_type: 'supervised',
      base_model: 'local/text-router',
      dataset: { train_uri: TRAIN, validation_uri: 'gs://vertex-mcp-emulator/mon/val.jsonl' },
      hyperparameters: { epochs: 3, seed: version === '1.0.0' ? 1 : 2 },
      output: { name: 'router', version },
      wait: true,
    });
  }
  endpointId = (await s.ok('create_endpoint', { display_name: 'mon-ep' })).endpoint;
  await s.ok('deploy_model', { endpoint: 'mon-ep', name: 'router', version: '1.0.0' });
  await s.ok('deploy_model', { endpoint: 'mon-ep', name: 'router', version: '1.1.0', traffic_percentage: 20 });
  // 200 predictions in batches of 5, drawn like the training data (held-out numbers).
  const agents = Object.entries(AGENTS);
  for (let b = 0; b < 40; b++) {
    const batch = Array.from({ length: 5 }, (_, i) => {
      const [agent, ps] = agents[(b * 5 + i) % agents.length]!;
      return { input: `${ps[(b + i) % ps.length]} item ${300 + b * 5 + i}`, expected: agent };
    });
    const r = await s.ok('predict', { endpoint: 'mon-ep', instances: batch.map((x) => x.input) });
    for (const [i, id] of (r.prediction_ids as string[]).entries()) {
      sent.push({ id, ...batch[i]!, output: r.predictions[i].output });
    }
  }
}, 120_000);
afterAll(async () => {
  await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('stats and metrics', () => {
  it('counts exactly the requests and predictions sent, per version, with latency percentiles', async () => {
    const stats = await s.ok('get_endpoint_stats', { endpoint: 'mon-ep', window_seconds: 600 });
    // 40 Predict requests of 5 instances: Vertex routes and counts requests; predictions apart.
    const sum = (k: string) => stats.versions.reduce((a: number, v: any) => a + v[k], 0);
    expect(sum('requests')).toBe(40);
    expect(sum('instances')).toBe(200);
    expect(stats.total.requests).toBe(40);
    expect(stats.total.instances).toBe(200);
    expect(stats.total.errors).toBe(0);
    for (const v of stats.versions) {
      if (v.requests === 0) continue;
      expect(v.p50_ms).toBeGreaterThan(0);
      expect(v.p95_ms).toBeGreaterThanOrEqual(v.p50_ms);
      expect(v.p99_ms).toBeGreaterThanOrEqual(v.p95_ms);
      expect(v.replicas).toBeGreaterThanOrEqual(1);
    }
    expect(stats.versions.map((v: any) => v.traffic_percent).sort()).toEqual([20, 80]);
    const perf = await s.ok('get_metrics', { endpoint: endpointId, kind: 'performance', window_seconds: 600 });
    expect(perf.metrics.endpoint.requests).toBe(40);
    expect(perf.metrics.endpoint.instances).toBe(200);
    expect(perf.metrics.endpoint.error_rate).toBe(0);
    expect(perf.metrics.duty_cycle).toBeNull();
    expect(perf.metrics.reasons.duty_cycle).toContain('accelerator');
  });

  it('adds tested live numbers to a comparison of versions serving side by side, labelled offline', async () => {
    const c = await s.ok('compare_model_versions', { name: 'router', version_a: '1.0.0', version_b: '1.1.0' });
    expect(c.live_from).toEqual({ endpoint: endpointId, window_seconds: 3600 });
    expect(c.basis).toBe('offline');
    expect(c.recommendation).toMatch(/^Offline comparison \(recorded metrics carry no sample size or uncertainty/);
    const names = c.metrics.map((m: any) => m.metric);
    expect(names).toEqual(
      expect.arrayContaining(['live_latency_p95_ms', 'live_latency_mean_ms', 'live_error_rate', 'validation_accuracy']),
    );
    const err = c.metrics.find((m: any) => m.metric === 'live_error_rate');
    expect(err).toMatchObject({ source: 'live', direction: 'lower_is_better' });
    expect(err.n_a + err.n_b).toBe(40); // requests, not instances
    // Both error-free: no difference, so no winner on it.
    expect(err.better).toBe('tie');
    const mean = c.metrics.find((m: any) => m.metric === 'live_latency_mean_ms');
    expect(mean.p_value).toBeGreaterThanOrEqual(0);
    expect(mean.better === 'tie').toBe(mean.p_value >= 0.05);
    const recorded = c.metrics.find((m: any) => m.metric === 'validation_accuracy');
    expect(recorded).toMatchObject({ source: 'recorded', n_a: null, p_value: null });
  });

  it('prices the emulator at zero and shows the Vertex equivalent', async () => {
    const c = (await s.ok('get_metrics', { endpoint: 'mon-ep', kind: 'cost', window_seconds: 3600 })).metrics;
    expect(c.backend).toBe('emulator');
    expect(c.total_usd).toBe(0);
    expect(c.vertex_equivalent.compute_usd).toBeGreaterThan(0);
    expect(c.prices_as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('rejects an empty window and an unknown kind', async () => {
    expect(await s.refused('get_metrics', { endpoint: 'mon-ep', kind: 'performance', window_seconds: 0 })).toContain(
      'window_seconds',
    );
    expect(await s.refused('get_metrics', { endpoint: 'mon-ep', kind: 'latency' })).toContain(
      '"performance"|"cost"|"quality"',
    );
  });
});

describe('quality', () => {
  it('computes accuracy from feedback and refuses feedback for an unknown prediction', async () => {
    const subset = sent.slice(0, 40);
    for (const p of subset) await s.ok('record_feedback', { prediction_id: p.id, expected_output: p.expected });
    const expected = subset.filter((p) => p.output === p.expected).length / subset.length;
    const q = (await s.ok('get_metrics', { endpoint: 'mon-ep', kind: 'quality', window_seconds: 3600 })).metrics;
    expect(q.feedback.count).toBe(40);
    expect(q.feedback.accuracy).toBeCloseTo(expected, 10);
    expect(q.hallucination_rate).toBeNull();
    expect(q.reasons.hallucination_rate).toContain('no evaluator');
    const err = await s.refused('record_feedback', { prediction_id: '999999', correct: true });
    expect(err).toContain('NOT_FOUND: prediction 999999 was not served through vertex-mcp');
  });

  it('flags drift for shifted inputs, not for a resample of the training distribution', async () => {
    const q = (await s.ok('get_metrics', { endpoint: 'mon-ep', kind: 'quality', window_seconds: 3600 })).metrics;
    const main = q.versions.find((v: any) => v.version === '1.0.0');
    expect(main.output_drift.drifted).toBe(false);
    expect(main.input_drift.drifted).toBe(false);
    // A new endpoint fed only sql questions phrased unlike anything in training.
    await s.ok('create_endpoint', { display_name: 'drift-ep' });
    await s.ok('deploy_model', { endpoint: 'drift-ep', name: 'router', version: '1.0.0' });
    for (let b = 0; b < 30; b++) {
      await s.ok('predict', {
        endpoint: 'drift-ep',
        instances: Array.from(
          { length: 5 },
          (_, i) => `quarterly revenue dashboard pivot warehouse metric ${b * 5 + i}`,
        ),
      });
    }
    const d = (await s.ok('get_metrics', { endpoint: 'drift-ep', kind: 'quality', window_seconds: 3600 })).metrics;
    expect(d.versions[0].input_drift.drifted).toBe(true);
    expect(d.versions[0].output_drift.drifted).toBe(true);
  });
});

describe('alerts', () => {
  it('fires when crossed and clears when not; bad rules are refused', async () => {
    await s.ok('set_alert_rule', {
      name: 'slow',
      endpoint: 'mon-ep',
      metric: 'p95_ms',
      comparison: 'gt',
      threshold: 0,
      window_seconds: 600,
    });
    const fired = await s.ok('check_alerts');
    expect(fired.firing).toBe(1);
    expect(fired.checks[0]).toMatchObject({ name: 'slow', status: 'firing' });
    expect(fired.checks[0].firing_since).not.toBeNull();
    await s.ok('set_alert_rule', {
      name: 'slow',
      endpoint: 'mon-ep',
      metric: 'p95_ms',
      comparison: 'gt',
      threshold: 1e9,
      window_seconds: 600,
    });
    const cleared = await s.ok('check_alerts');
    expect(cleared.firing).toBe(0);
    expect((await s.ok('list_alert_rules')).rules[0]).toMatchObject({ name: 'slow', firing: false });
    expect(
      await s.refused('set_alert_rule', {
        name: 'x',
        endpoint: 'mon-ep',
        metric: 'p95_ms',
        comparison: 'above',
        threshold: 1,
      }),
    ).toContain('"gt"|"ge"|"lt"|"le"|"eq"');
    expect(
      await s.refused('set_alert_rule', {
        name: 'x',
        endpoint: 'mon-ep',
        metric: 'vibes',
        comparison: 'gt',
        threshold: 1,
      }),
    ).toContain('p95_ms');
    expect(
      await s.refused('set_alert_rule', {
        name: 'x',
        endpoint: 'mon-ep',
        metric: 'p95_ms',
        comparison: 'gt',
        threshold: 1,
        window_seconds: -5,
      }),
    ).toContain('window_seconds');
    expect(await s.refused('delete_alert_rule', { name: 'slow' })).toContain('CONFIRMATION_REQUIRED');
    expect((await s.ok('delete_alert_rule', { name: 'slow', confirm: true })).deleted).toBe(true);
  });

  it('the background evaluator notifies the MCP client when a rule fires', async () => {
    await s.ok('set_alert_rule', {
      name: 'busy',
      endpoint: 'mon-ep',
      metric: 'requests',
      comparison: 'ge',
      threshold: 1,
      window_seconds: 600,
      severity: 'critical',
    });
    const client = new Client({ name: 'alerts', version: '1' });
    const messages: any[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      messages.push(n.params);
    });
    const mcp = createServer({ backend: s.lib.clients.backend, lib: s.lib });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([mcp.server.connect(b), client.connect(a)]);
    s.lib.monitoring.evaluator.start(200);
    for (let i = 0; i < 50 && !messages.length; i++) await new Promise((r) => setTimeout(r, 100));
    s.lib.monitoring.evaluator.stop();
    expect(messages[0]).toMatchObject({
      level: 'critical',
      logger: 'vertex-mcp.alerts',
      data: { alert: 'busy', transition: 'fired' },
    });
    await client.close();
    await mcp.close();
  });
});

describe('dashboards and resources', () => {
  it('exports a Grafana dashboard inside the allowed roots, refuses one outside', async () => {
    const file = path.join(tmp, 'dash.json');
    const r = await s.ok('export_grafana_dashboard', { datasource: 'prometheus', path: file, endpoint: 'mon-ep' });
    expect(r.panels).toBeGreaterThanOrEqual(5);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.panels.every((p: any) => p.targets?.length)).toBe(true);
    expect(
      await s.refused('export_grafana_dashboard', { datasource: 'prometheus', path: '/tmp/outside/dash.json' }),
    ).toContain('outside the allowed roots');
  });

  it('notifies a subscriber of the stats resource after traffic', async () => {
    const uri = `vertex://endpoints/${endpointId}/stats`;
    const updates: string[] = [];
    s.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    const listed = await s.client.listResources();
    expect(listed.resources.map((r) => r.uri)).toContain(uri);
    await s.client.subscribeResource({ uri });
    await s.ok('predict', { endpoint: 'mon-ep', instances: ['optimize the select over invoices'] });
    for (let i = 0; i < 30 && !updates.length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(updates).toContain(uri);
    const read = await s.client.readResource({ uri });
    expect(JSON.parse((read.contents[0] as { text: string }).text).total.requests).toBe(41);
  });
});
