// Monitoring toolset: performance, cost and quality of endpoints; feedback; alert rules; Grafana.
import { z } from 'zod';
import { ALERT_METRICS } from '../lib/index.js';
import { confirmed, safetyInput } from './confirm.js';
import { defineTool } from './define.js';
import { ms, num, pct, usd } from './format.js';

// Shared parameter (described in the server instructions): no description of its own.
const endpoint = z.string().min(1).max(1024);
const METRICS = Object.keys(ALERT_METRICS) as [keyof typeof ALERT_METRICS, ...(keyof typeof ALERT_METRICS)[]];
const rule = z.object({
  name: z.string(),
  metric: z.string(),
  comparison: z.string(),
  threshold: z.number(),
  window_seconds: z.number(),
  severity: z.string(),
  endpoint: z.string().nullable(),
  firing: z.boolean(),
  firing_since: z.string().nullable(),
  last_value: z.number().nullable(),
});
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const toRule = (r: import('../lib/index.js').AlertRule) => ({
  name: r.name,
  metric: r.metric,
  comparison: r.comparison,
  threshold: r.threshold,
  window_seconds: r.window_seconds,
  severity: r.severity,
  endpoint: r.endpoint,
  firing: r.state.firing,
  firing_since: iso(r.state.firing_since),
  last_value: r.state.last_value,
});
const who = (v: { name?: string | null; version: string | null; deployed_model_id: string }) =>
  `${v.name && v.version ? `${v.name}@${v.version}` : 'a model outside the registry'} (deployed model ${v.deployed_model_id})`;

export const getMetrics = defineTool({
  name: 'get_metrics',
  description:
    "An endpoint's measured performance (requests, errors, p50/p95/p99 per version), cost (price table x replica-hours) or quality (feedback accuracy, drift) over window_seconds; unmeasured: null with a reason.",
  toolset: 'monitoring',
  kind: 'read',
  input: {
    endpoint,
    kind: z.enum(['performance', 'cost', 'quality']),
    window_seconds: z.number().int().min(60).max(2_592_000).default(300),
  },
  output: {
    kind: z.string(),
    endpoint: z.string(),
    window_seconds: z.number(),
    metrics: z.record(z.string(), z.unknown()),
  },
  async handler(args, { lib }) {
    const m = lib.monitoring;
    if (args.kind === 'performance') {
      const p = await m.collectPerformanceMetrics(args.endpoint, args.window_seconds);
      const per = p.versions
        .map((v) => `${who(v)}: ${v.requests} requests, error rate ${pct(v.error_rate)}, p95 ${ms(v.p95_ms)}`)
        .join('; ');
      return {
        structured: {
          kind: args.kind,
          endpoint: p.endpoint_id,
          window_seconds: args.window_seconds,
          metrics: p as never,
        },
        text: `Endpoint ${p.endpoint_id}, last ${args.window_seconds} s: in all ${p.endpoint.requests} requests (${p.endpoint.instances} predictions), error rate ${pct(p.endpoint.error_rate)}, p50 ${ms(p.endpoint.p50_ms)}, p95 ${ms(p.endpoint.p95_ms)}, p99 ${ms(p.endpoint.p99_ms)}. ${per || 'Nothing deployed'}.`,
      };
    }
    if (args.kind === 'cost') {
      const c = await m.calculateCostMetrics(args.endpoint, args.window_seconds);
      const total = (f: { total_usd: number | null; reasons: Record<string, string> }) =>
        f.total_usd === null ? `unknown (${f.reasons.total_usd})` : usd(f.total_usd);
      const rows = (c.vertex_equivalent ?? c).breakdown
        .map(
          (b) =>
            `deployed model ${b.deployed_model_id}: ${b.machine_type}${b.accelerator_type ? ` + ${b.accelerator_count} ${b.accelerator_type}` : ''} x ${num(b.replica_hours)} replica-hours = ${b.total_usd === null ? `unknown (${b.reason})` : usd(b.total_usd)}`,
        )
        .join('; ');
      const eq = c.vertex_equivalent;
      const perReq = (f: { total_usd: number | null }) =>
        f.total_usd !== null && c.requests ? `, ${usd(f.total_usd / c.requests)} per request` : '';
      // In emulator mode the bill is the local one; what the same usage would cost on Vertex AI is the useful figure.
      const head = eq
        ? `emulator ${total(c)} (local models are not billed); on Vertex AI the same usage would cost ${total(eq)}${perReq(eq)}`
        : `on Vertex AI ${total(c)}${perReq(c)}`;
      const left = Object.keys(c.reasons).filter(
        (k) => k.endsWith('_usd') && !k.startsWith('per_') && k !== 'total_usd',
      );
      const notes = left.length ? ` Not measured: ${left.map((k) => `${k} (${c.reasons[k]})`).join('; ')}.` : '';
      return {
        structured: { kind: args.kind, endpoint: c.endpoint, window_seconds: args.window_seconds, metrics: c as never },
        text: `Cost of endpoint ${c.endpoint} over ${args.window_seconds} s, ${c.requests} requests: ${head} (prices as of ${c.prices_as_of ?? 'n/a'}). ${rows || 'No deployments in the period'}.${notes}`,
      };
    }
    const q = await m.collectQualityMetrics(args.endpoint, args.window_seconds);
    const psi = (d: (typeof q.versions)[number]['output_drift']) =>
      d && 'psi' in d && typeof d.psi === 'number'
        ? `PSI ${num(d.psi)}${d.drifted ? ' (drifted)' : ''}`
        : 'not measured';
    const drifts = q.versions
      .map(
        (v) =>
          `${who(v)}: accuracy ${v.accuracy === null ? 'n/a' : `${pct(v.accuracy)} of ${v.labelled}`}, output drift ${psi(v.output_drift)}`,
      )
      .join('; ');
    return {
      structured: {
        kind: args.kind,
        endpoint: q.endpoint,
        window_seconds: args.window_seconds,
        metrics: q as never,
      },
      text: `Endpoint ${q.endpoint}, last ${args.window_seconds} s: feedback ${q.feedback.count}, accuracy ${pct(q.feedback.accuracy)}; ${drifts || 'nothing deployed'}.`,
    };
  },
});

export const recordFeedback = defineTool({
  name: 'record_feedback',
  description:
    'Feedback on a prediction (prediction_id from predict) or on an input (endpoint, input): correct, score or expected_output. Returns the stored record.',
  toolset: 'monitoring',
  kind: 'create',
  input: {
    prediction_id: z.string().max(100).optional(),
    endpoint: z.string().max(1024).optional(),
    input: z.string().max(20_000).optional(),
    expected_output: z.string().max(20_000).optional(),
    correct: z.boolean().optional(),
    score: z.number().optional(),
  },
  output: {
    id: z.number(),
    endpoint: z.string(),
    prediction_id: z.string().nullable(),
    correct: z.boolean().nullable(),
    score: z.number().nullable(),
  },
  async handler(args, { lib }) {
    const endpoint = args.endpoint ? (await lib.endpoints.getEndpoint(args.endpoint)).endpoint : '';
    const f = lib.monitoring.recordFeedback({ ...args, endpoint });
    const out = { id: f.id, endpoint: f.endpoint, prediction_id: f.prediction_id, correct: f.correct, score: f.score };
    return {
      structured: out,
      text: `Feedback ${f.id} recorded for ${f.prediction_id ? `prediction ${f.prediction_id}` : 'an input'} on endpoint ${f.endpoint || 'unknown'} (correct: ${f.correct ?? 'n/a'}${f.score === null ? '' : `, score ${num(f.score)}`}).`,
    };
  },
});

export const setAlertRule = defineTool({
  name: 'set_alert_rule',
  description:
    'Create or replace an alert rule: fires when the endpoint-wide metric <comparison> threshold over window_seconds (checked by check_alerts and in the background). Returns it.',
  toolset: 'monitoring',
  kind: 'update',
  input: {
    name: z.string().min(1).max(100),
    endpoint,
    metric: z.enum(METRICS),
    comparison: z.enum(['gt', 'ge', 'lt', 'le', 'eq']),
    threshold: z.number().describe("In the metric's unit; rates 0-1"),
    window_seconds: z.number().int().min(60).max(2_592_000).default(300),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  },
  output: rule.shape,
  async handler(args, { lib }) {
    const e = await lib.endpoints.getEndpoint(args.endpoint);
    const r = toRule(lib.monitoring.setAlertRule({ ...args, endpoint: e.endpoint }));
    return {
      structured: r,
      text: `Rule ${r.name}: ${r.metric} ${r.comparison} ${num(r.threshold)} over ${r.window_seconds} s on endpoint ${e.display_name} (${e.endpoint}), severity ${r.severity}.`,
    };
  },
});

export const listAlertRules = defineTool({
  name: 'list_alert_rules',
  description: 'Alert rules (of one endpoint, or all) and their state: firing since, last value.',
  toolset: 'monitoring',
  kind: 'read',
  input: { endpoint: endpoint.optional() },
  output: { rules: z.array(rule), count: z.number() },
  async handler(args, { lib }) {
    const id = args.endpoint ? (await lib.endpoints.getEndpoint(args.endpoint)).endpoint : undefined;
    const rules = lib.monitoring.listAlertRules(id).map(toRule);
    return {
      structured: { rules, count: rules.length },
      text: `${rules.length} rule(s)${rules.length ? `: ${rules.map((r) => `${r.name} (${r.metric} ${r.comparison} ${num(r.threshold)} on endpoint ${r.endpoint ?? 'any'}, last ${num(r.last_value)})${r.firing ? ' FIRING' : ''}`).join(', ')}` : ''}.`,
    };
  },
});

export const deleteAlertRule = defineTool({
  name: 'delete_alert_rule',
  description: 'Delete an alert rule. Returns it.',
  toolset: 'monitoring',
  kind: 'destructive',
  input: { name: z.string().min(1).max(100), ...safetyInput },
  output: { deleted: z.boolean(), rule },
  async handler(args, ctx) {
    const r = toRule(ctx.lib.monitoring.ledger.getRule(args.name));
    if (!(await confirmed(ctx, args, `delete alert rule ${r.name}`)))
      return {
        structured: { deleted: false, rule: r },
        text: `Dry run: would delete alert rule ${r.name} (endpoint ${r.endpoint ?? 'any'}).`,
      };
    ctx.lib.monitoring.deleteAlertRule(args.name);
    return {
      structured: { deleted: true, rule: r },
      text: `Deleted alert rule ${r.name} (endpoint ${r.endpoint ?? 'any'}).`,
    };
  },
});

export const checkAlerts = defineTool({
  name: 'check_alerts',
  description: 'Evaluate every alert rule now. Returns which fire, the value, since when.',
  toolset: 'monitoring',
  kind: 'read',
  input: {},
  output: {
    checks: z.array(
      z.object({
        name: z.string(),
        status: z.string(),
        value: z.number().nullable(),
        message: z.string(),
        firing_since: z.string().nullable(),
      }),
    ),
    firing: z.number(),
  },
  async handler(_args, { lib }) {
    const checks = (await lib.monitoring.checkAlerts()).map((c) => ({
      name: c.name,
      status: c.status,
      value: c.value ?? null,
      message: c.message,
      firing_since: iso(c.firing_since),
    }));
    const firing = checks.filter((c) => c.status === 'firing');
    return {
      structured: { checks, firing: firing.length },
      text: firing.length
        ? `${firing.length} firing: ${firing.map((c) => `${c.name} (${c.message})`).join('; ')}.`
        : `No rule firing (${checks.length} checked${checks.length ? `: ${checks.map((c) => `${c.name} ${c.status}, value ${num(c.value)}`).join('; ')}` : ''}).`,
    };
  },
});

export const exportDashboard = defineTool({
  name: 'export_grafana_dashboard',
  description:
    'Write an importable Grafana dashboard (one endpoint, or all) to path, in the allowed roots (not the data directory) or gs://. Returns path, panels, bytes, SHA-256.',
  toolset: 'monitoring',
  kind: 'create',
  input: {
    datasource: z.enum(['prometheus', 'cloud-monitoring']),
    path: z.string().min(1).max(4096),
    endpoint: endpoint.optional(),
    overwrite: z.boolean().default(false),
  },
  output: { path: z.string(), panels: z.number(), queries: z.number(), bytes: z.number(), sha256: z.string() },
  async handler(args, { lib }) {
    const { path, dashboard, written } = await lib.monitoring.exportGrafanaDashboard(args);
    const panels = dashboard.panels.length;
    const queries = dashboard.panels.reduce((n, p) => n + (p.targets?.length ?? 0), 0);
    return {
      structured: { path, panels, queries, bytes: written.size, sha256: written.sha256 },
      text: `Wrote a ${args.datasource} dashboard with ${panels} panels to ${path}.`,
    };
  },
});

export const monitoringTools = [
  getMetrics,
  recordFeedback,
  setAlertRule,
  listAlertRules,
  deleteAlertRule,
  checkAlerts,
  exportDashboard,
];
