// Grafana dashboard export: importable JSON for Prometheus (this server's /metrics) and for
// Cloud Monitoring (Vertex AI metrics); every panel has targets; every PromQL expression parses.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardQueries, exportGrafanaDashboard, type GrafanaDashboard } from '../../src/lib/monitoring/grafana.js';
import { METRIC } from '../../src/lib/monitoring/metric_names.js';

/** Grafana variables, written as Grafana spells them. */
const DATASOURCE_VAR = ['$', '{datasource}'].join('');
const PROJECT_VAR = ['$', '{project}'].join('');

const promtool = spawnSync('promtool', ['--version']).status === 0;

function checkShape(d: GrafanaDashboard) {
  expect(d.schemaVersion).toBe(39);
  expect(d.uid).toMatch(/^vertex-mcp-[0-9a-z]+$/);
  expect(d.uid.length).toBeLessThanOrEqual(40);
  expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  expect(d.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource' });
  const ids = d.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const p of d.panels) {
    expect(p.type).toBe('timeseries');
    expect(p.targets.length).toBeGreaterThan(0);
    expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    expect(p.datasource.uid).toBe(DATASOURCE_VAR);
    for (const t of p.targets) expect(t.refId).toMatch(/^[A-Z]$/);
    expect(new Set(p.targets.map((t) => t.refId)).size).toBe(p.targets.length);
  }
  const titles = d.panels.map((p) => p.title).join(' | ');
  for (const word of [/latency p50 \/ p95 \/ p99/i, /traffic/i, /error rate/i, /replicas/i, /cost|nodes/i]) {
    expect(titles).toMatch(word);
  }
}

describe('Prometheus dashboard', () => {
  const d = exportGrafanaDashboard({ datasource: 'prometheus', endpoint_id: '4567' });

  it('has the panels, each with targets', () => {
    checkShape(d);
    expect(d.title).toBe('Vertex AI endpoint 4567 (prometheus)');
    expect(d.panels[0]?.datasource.type).toBe('prometheus');
    expect(d.panels[0]?.targets.map((t) => t.legendFormat)).toEqual([
      '{{endpoint}} {{version}} p50',
      '{{endpoint}} {{version}} p95',
      '{{endpoint}} {{version}} p99',
    ]);
  });

  it('queries the server metric names, restricted to the endpoint', () => {
    const qs = dashboardQueries(d);
    expect(qs.every((q) => q.kind === 'promql')).toBe(true);
    const all = qs.map((q) => q.expr).join('\n');
    for (const name of [
      METRIC.predictionLatency,
      METRIC.predictionRequests,
      METRIC.predictionErrors,
      METRIC.replicas,
      METRIC.cost,
    ]) {
      expect(all).toContain(`${name}{endpoint="4567"`);
    }
    expect(qs.find((q) => q.panel.startsWith('Latency') && q.refId === 'B')?.expr).toBe(
      'max by (endpoint, version) (vertex_mcp_prediction_latency_seconds{endpoint="4567", quantile="0.95"})',
    );
    expect(qs.find((q) => q.panel.startsWith('Error rate'))?.expr).toBe(
      'sum by (endpoint, version) (rate(vertex_mcp_prediction_errors_total{endpoint="4567"}[5m])) / ' +
        '(sum by (endpoint, version) (rate(vertex_mcp_prediction_requests_total{endpoint="4567"}[5m])) > 0)',
    );
    // No Grafana macros: each expression runs as is against Prometheus's query API.
    expect(all).not.toMatch(/\$/);
  });

  it('escapes label values and covers all endpoints without one', () => {
    const quoted = dashboardQueries(exportGrafanaDashboard({ datasource: 'prometheus', endpoint_id: 'a"b\\c' }));
    expect(quoted[0]?.expr).toContain('endpoint="a\\"b\\\\c"');
    const all = exportGrafanaDashboard({ datasource: 'prometheus', title: 'Mine' });
    expect(all.title).toBe('Mine');
    expect(dashboardQueries(all)[3]?.expr).toBe(
      'sum by (endpoint, version) (rate(vertex_mcp_prediction_requests_total[5m]))',
    );
    expect(all.uid).not.toBe(d.uid);
  });

  it.skipIf(!promtool)('every expression is valid PromQL (promtool check rules)', () => {
    const exprs = [
      ...dashboardQueries(d),
      ...dashboardQueries(exportGrafanaDashboard({ datasource: 'prometheus', endpoint_id: 'a"b\\c' })),
      ...dashboardQueries(exportGrafanaDashboard({ datasource: 'prometheus' })),
    ].map((q) => q.expr);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promql-'));
    const file = path.join(dir, 'rules.yml');
    // JSON is YAML: no quoting surprises.
    fs.writeFileSync(
      file,
      JSON.stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `q${i}`, expr })) }] }),
    );
    const res = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(res.stdout + res.stderr).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(res.status).toBe(0);
  });
});

describe('Cloud Monitoring dashboard', () => {
  const d = exportGrafanaDashboard({ datasource: 'cloud-monitoring', endpoint_id: '4567', project: 'my-proj' });

  it('has the panels, each with targets', () => {
    checkShape(d);
    expect(d.panels[0]?.datasource.type).toBe('stackdriver');
    expect(d.templating.list.map((v) => v.name)).toEqual(['datasource']);
  });

  it('pools latency percentiles with ALIGN_DELTA + REDUCE_PERCENTILE_* per deployed model', () => {
    const [p50, p95, p99] = d.panels[0]!.targets;
    expect(p95).toMatchObject({
      queryType: 'timeSeriesList',
      aliasBy: '{{metric.label.deployed_model_id}} p95',
      timeSeriesList: {
        projectName: 'my-proj',
        filters: [
          'metric.type',
          '=',
          'aiplatform.googleapis.com/prediction/online/prediction_latencies',
          'AND',
          'resource.type',
          '=',
          'aiplatform.googleapis.com/Endpoint',
          'AND',
          'resource.label.endpoint_id',
          '=',
          '4567',
          'AND',
          'metric.label.latency_type',
          '=',
          'total',
        ],
        perSeriesAligner: 'ALIGN_DELTA',
        crossSeriesReducer: 'REDUCE_PERCENTILE_95',
        groupBys: ['metric.label.deployed_model_id'],
        alignmentPeriod: 'cloud-monitoring-auto',
      },
    });
    expect(p50?.timeSeriesList).toMatchObject({ crossSeriesReducer: 'REDUCE_PERCENTILE_50' });
    expect(p99?.timeSeriesList).toMatchObject({ crossSeriesReducer: 'REDUCE_PERCENTILE_99' });
  });

  it('computes the error rate with a math expression over hidden queries', () => {
    const panel = d.panels.find((p) => p.title.startsWith('Error rate'))!;
    expect(panel.targets.map((t) => [t.refId, t.hide ?? false, t.datasource.type])).toEqual([
      ['A', true, 'stackdriver'],
      ['B', true, 'stackdriver'],
      ['C', false, '__expr__'],
    ]);
    expect(panel.targets[2]).toMatchObject({ type: 'math', expression: '$A / $B' });
  });

  it('lists its queries in Cloud Monitoring filter syntax', () => {
    const qs = dashboardQueries(d);
    expect(qs.find((q) => q.panel.startsWith('Traffic'))).toEqual({
      panel: 'Traffic (requests/s) by deployed model',
      refId: 'A',
      kind: 'timeSeriesList',
      expr: 'metric.type = "aiplatform.googleapis.com/prediction/online/prediction_count" AND resource.type = "aiplatform.googleapis.com/Endpoint" AND resource.label.endpoint_id = "4567" | ALIGN_RATE | REDUCE_SUM by metric.label.deployed_model_id',
    });
    expect(qs.filter((q) => q.kind === 'math').map((q) => q.expr)).toEqual(['$A / $B']);
  });

  it('charts cost from replicas x an hourly rate when given one', () => {
    const withRate = exportGrafanaDashboard({
      datasource: 'cloud-monitoring',
      hourly_rate_usd: 0.5115,
      prices_as_of: '2025-07-01',
    });
    const cost = withRate.panels.find((p) => p.title.startsWith('Estimated cost'))!;
    expect(cost.targets[1]).toMatchObject({ type: 'math', expression: '$A * 0.5115' });
    expect(cost.description).toContain('as of 2025-07-01');
    expect(d.panels.find((p) => p.title.startsWith('Nodes'))?.description).toMatch(/no cost metric/);
    // No project: a variable to fill in.
    expect(withRate.templating.list.map((v) => v.name)).toEqual(['datasource', 'project']);
    expect(cost.targets[0]?.timeSeriesList).toMatchObject({ projectName: PROJECT_VAR });
  });

  it('refuses bad options', () => {
    expect(() => exportGrafanaDashboard({ datasource: 'datadog' as never })).toThrow('cloud-monitoring or prometheus');
    expect(() => exportGrafanaDashboard({ datasource: 'prometheus', endpoint_id: ' ' })).toThrow('endpoint_id');
    expect(() => exportGrafanaDashboard({ datasource: 'cloud-monitoring', hourly_rate_usd: -1 })).toThrow(
      'hourly_rate_usd',
    );
  });
});
