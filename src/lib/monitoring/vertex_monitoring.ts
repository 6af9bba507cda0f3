// VertexAIMonitoring: how each deployed version performs (Cloud Monitoring), what it costs (a
// dated price table x measured usage), whether its quality holds (feedback, drift), and alert
// rules over those numbers. Every figure is measured or null with the reason.
import { EventEmitter } from 'node:events';
import type { VertexClients } from '../clients.js';
import type { ModelEndpoints, PredictResult } from '../endpoints/endpoints.js';
import type { EndpointRecord } from '../endpoints/types.js';
import { invalid, notFound, VertexMcpError } from '../errors.js';
import type { Files } from '../files.js';
import type { ModelRegistry } from '../registry/registry.js';
import { AlertEvaluator } from './alerts.js';
// Cost, drift and Grafana code load on first use (start-up does not need them).
import type { CostResult } from './cost.js';
import type { DriftOutcome } from './drift.js';
import type { DashboardDatasource } from './grafana.js';
import { type AlertRule, type AlertRuleInput, type FeedbackInput, Ledger } from './ledger.js';
import { PerformanceQueries, type PerformanceReport, type VersionPerformance } from './performance.js';
import { loadPriceTable, type PriceTable } from './prices.js';
import { ServedLog } from './served.js';

/** What alert rules can watch, and where each number comes from. */
export const ALERT_METRICS = {
  requests: 'Predict requests in the window (Cloud Monitoring response_count)',
  error_rate: 'failed requests / requests (response_count by response code)',
  throughput_rps: 'requests per second over the window',
  p50_ms: 'median model latency, pooled over versions',
  p95_ms: '95th percentile model latency, pooled',
  p99_ms: '99th percentile model latency, pooled',
  replicas: 'replicas serving now',
  accuracy: 'share of feedback marked correct',
  output_drift_psi: 'PSI of predicted labels vs the training labels',
  input_drift_psi: 'PSI of input words vs the training inputs',
  cost_total_usd: 'cost of the window from the price table',
} as const;
export type AlertMetric = keyof typeof ALERT_METRICS;

export interface MonitoringOptions {
  /** The ledger's directory (alert rules, feedback, served predictions), or ':memory:'. */
  dataDir: string;
  /** A price table file or object merged over the shipped one (--prices). */
  prices?: string | Record<string, unknown>;
}

export interface QualityReport {
  /** The endpoint's ID. */
  endpoint: string;
  window_seconds: number;
  feedback: { count: number; accuracy: number | null; mean_score: number | null };
  versions: {
    deployed_model_id: string;
    /** The registry model and version served (null for a model outside the registry). */
    name: string | null;
    version: string | null;
    served: number;
    /** Share of labelled predictions of this version marked correct; null when none is labelled. */
    accuracy: number | null;
    labelled: number;
    mean_score: number | null;
    scored: number;
    output_drift: DriftOutcome | null;
    input_drift: DriftOutcome | null;
  }[];
  hallucination_rate: null;
  toxicity: null;
  reasons: Record<string, string>;
}

const WORD = /[a-z][a-z']+/g;
const words = (s: string) => s.toLowerCase().match(WORD) ?? [];

export class VertexAIMonitoring {
  /** Relays the background evaluator's 'fired' and 'cleared' events (servers listen here). */
  readonly alerts = new EventEmitter().setMaxListeners(0);
  /** 'feedback' (endpoint id) after each recorded feedback: A/B test resources listen. */
  readonly events = new EventEmitter().setMaxListeners(0);
  private readonly perf: PerformanceQueries;
  private _ledger?: Ledger;
  private _served?: ServedLog;
  private _evaluator?: AlertEvaluator;
  private _prices?: PriceTable;
  private background?: NodeJS.Timeout;
  private readonly trainingCache = new Map<string, { inputs: string[]; outputs: string[] } | null>();

  constructor(
    private readonly clients: VertexClients,
    private readonly endpoints: ModelEndpoints,
    private readonly registry: ModelRegistry,
    private readonly files: Files,
    private readonly opts: MonitoringOptions,
  ) {
    this.perf = new PerformanceQueries(clients);
  }

  // The ledger (a SQLite file), the price table and the evaluator are opened on first use, so
  // creating a server does no I/O.
  get ledger(): Ledger {
    this._ledger ??= new Ledger(this.opts.dataDir, { metrics: Object.keys(ALERT_METRICS) });
    return this._ledger;
  }

  get served(): ServedLog {
    this._served ??= new ServedLog(this.ledger);
    return this._served;
  }

  get prices(): PriceTable {
    this._prices ??= loadPriceTable(this.opts.prices);
    return this._prices;
  }

  get evaluator(): AlertEvaluator {
    if (!this._evaluator) {
      this._evaluator = new AlertEvaluator(this.ledger, (rule) => this.measure(rule));
      this._evaluator.on('fired', (e) => this.alerts.emit('fired', e));
      this._evaluator.on('cleared', (e) => this.alerts.emit('cleared', e));
      this._evaluator.on('error', () => {}); // a failed background check is retried next tick
    }
    return this._evaluator;
  }

  /** Evaluates alert rules every `intervalMs` in the background, from the first tick on. */
  startBackground(intervalMs: number): void {
    this.stopBackground();
    this.background = setTimeout(() => this.evaluator.start(intervalMs), intervalMs);
    this.background.unref();
  }

  stopBackground(): void {
    clearTimeout(this.background);
    this._evaluator?.stop();
  }

  close(): void {
    this.stopBackground();
    this._ledger?.close();
  }

  /** Called by ModelEndpoints after each prediction: the record feedback and drift work from. */
  recordServed(result: PredictResult, instances: unknown[]): string[] {
    const text = (x: unknown): string | null => {
      if (typeof x === 'string') return x;
      if (x && typeof x === 'object') {
        const o = x as Record<string, unknown>;
        for (const k of ['text', 'prompt', 'input', 'content', 'output'])
          if (typeof o[k] === 'string') return o[k] as string;
      }
      return null;
    };
    return this.served.record({
      endpoint: result.endpoint,
      deployed_model_id: result.deployed_model_id,
      version: result.version,
      prediction_ids: result.predictions.map((p) => {
        const id = (p as { prediction_id?: unknown })?.prediction_id;
        return id === undefined || id === null ? null : String(id);
      }),
      inputs: instances.map(text),
      outputs: result.predictions.map(text),
    });
  }

  /** Cloud Monitoring aligns by the minute at the finest, so windows are 60 s or more. */
  private checkWindow(seconds: number, field = 'window_seconds'): void {
    if (!Number.isInteger(seconds) || seconds < 60) {
      throw invalid(
        `${field} must be a whole number of seconds, at least 60 (Cloud Monitoring's finest alignment), got ${seconds}`,
      );
    }
  }

  /** The endpoint and its per-version performance over the window. */
  private async performanceOf(endpointRef: string, windowSeconds: number) {
    this.checkWindow(windowSeconds);
    const endpoint = await this.endpoints.getEndpoint(endpointRef);
    const ids = endpoint.deployed.map((d) => d.deployed_model_id);
    return { endpoint, perf: await this.perf.collect(endpoint.endpoint, ids, windowSeconds) };
  }

  /** Per deployed model, named by its registry version where it has one (null otherwise). */
  async collectPerformanceMetrics(
    endpointRef: string,
    windowSeconds = 300,
  ): Promise<
    Omit<PerformanceReport, 'versions'> & {
      versions: (VersionPerformance & { name: string | null; version: string | null })[];
      endpoint_id: string;
      traffic: Record<string, number>;
    }
  > {
    const { endpoint: e, perf } = await this.performanceOf(endpointRef, windowSeconds);
    const versions = perf.versions.map((v) => {
      const d = e.deployed.find((x) => x.deployed_model_id === v.deployed_model_id);
      return { ...v, name: d?.name ?? null, version: d?.version ?? null };
    });
    return { ...perf, versions, endpoint_id: e.endpoint, traffic: e.traffic_split };
  }

  /** Per deployed version: traffic share, requests, errors, latency percentiles, replicas. */
  async getEndpointStats(endpointRef: string, windowSeconds = 300) {
    const { endpoint: e, perf } = await this.performanceOf(endpointRef, windowSeconds);
    const alerts = this.ledger
      .listRules({ endpoint: e.endpoint })
      .map((r) => ({ name: r.name, firing: r.state.firing, since: r.state.firing_since }));
    return {
      endpoint: e.endpoint,
      display_name: e.display_name,
      window_seconds: windowSeconds,
      total: perf.endpoint,
      versions: perf.versions.map((v) => {
        const d = e.deployed.find((x) => x.deployed_model_id === v.deployed_model_id);
        return { ...v, name: d?.name ?? null, version: d?.version ?? null, traffic_percent: d?.traffic_percent ?? 0 };
      }),
      alerts,
      reasons: perf.reasons,
    };
  }

  async calculateCostMetrics(endpointRef: string, periodSeconds = 3600): Promise<CostResult & { endpoint: string }> {
    this.checkWindow(periodSeconds, 'period_seconds');
    const e = await this.endpoints.getEndpoint(endpointRef);
    const endMs = Date.now();
    const startMs = endMs - periodSeconds * 1000;
    // Cost needs only the request count and the replica-hours, not the latency percentiles.
    const [requests, replicaHours] = await Promise.all([
      this.perf.requestCount(e.endpoint, periodSeconds),
      this.perf.replicaHours(e.endpoint, periodSeconds),
    ]);
    const served = this.served.recent(e.endpoint, startMs);
    const tokens = (rows: (string | null)[]) =>
      rows.reduce((n, s) => n + (s ? s.split(/\s+/).filter(Boolean).length : 0), 0);
    const { calculateCost } = await import('./cost.js');
    const cost = calculateCost({
      prices: this.prices,
      period: { startMs, endMs },
      backend: this.clients.backend.kind,
      location: this.clients.backend.location,
      deployments: e.deployed.map((d) => ({
        deployed_model_id: d.deployed_model_id,
        machine_type: d.machine_type ?? e.defaults.machine_type,
        accelerator_type: e.defaults.accelerator_type,
        accelerator_count: e.defaults.accelerator_count,
        replica_hours: replicaHours.get(d.deployed_model_id) ?? 0,
      })),
      requests,
      input_tokens: tokens(served.map((s) => s.input)),
      output_tokens: tokens(served.map((s) => s.output)),
    });
    return { ...cost, endpoint: e.endpoint };
  }

  /** Feedback on a prediction this library served (by id), or on an input. */
  recordFeedback(input: FeedbackInput & { prediction_id?: string | number | null }) {
    const r = this.storeFeedback(input);
    this.events.emit('feedback', r.endpoint);
    return r;
  }

  private storeFeedback(input: FeedbackInput & { prediction_id?: string | number | null }) {
    let correct = input.correct ?? null;
    if (input.prediction_id !== undefined && input.prediction_id !== null) {
      const served = this.served.get(String(input.prediction_id));
      if (!served) {
        throw notFound(
          `prediction ${input.prediction_id} was not served through vertex-mcp`,
          'Use a prediction_id returned by predict, or give the input instead',
        );
      }
      if (correct === null && input.expected_output != null && served.output !== null)
        correct = served.output === input.expected_output;
      return this.ledger.recordFeedback({
        ...input,
        endpoint: served.endpoint,
        input: input.input ?? served.input,
        correct,
      });
    }
    return this.ledger.recordFeedback({ ...input, correct });
  }

  /** The training inputs and completions of a version's dataset (its registry provenance). */
  private async trainingData(name: string | null, version: string | null) {
    const key = `${name}@${version}`;
    if (this.trainingCache.has(key)) return this.trainingCache.get(key)!;
    let data: { inputs: string[]; outputs: string[] } | null = null;
    if (name && version) {
      const dataset = (await this.registry.getModel(name, version)).provenance?.dataset;
      if (dataset) {
        const inputs: string[] = [];
        const outputs: string[] = [];
        // The first 16 MB is plenty for the 20,000 lines the comparison uses.
        const { text } = await this.files.readHead(dataset, 'dataset', 16 << 20);
        for (const line of text.split('\n').slice(0, 20_000)) {
          try {
            const r = JSON.parse(line);
            const user = r.contents?.find((c: any) => c.role === 'user')?.parts?.[0]?.text ?? r.prompt ?? r.input;
            const model =
              r.contents?.find((c: any) => c.role === 'model')?.parts?.[0]?.text ?? r.completion ?? r.chosen;
            if (typeof user === 'string' && typeof model === 'string') {
              inputs.push(user);
              outputs.push(model);
            }
          } catch {
            // a bad line was reported when the dataset was prepared
          }
        }
        data = { inputs, outputs };
      }
    }
    this.trainingCache.set(key, data);
    return data;
  }

  async collectQualityMetrics(endpointRef: string, windowSeconds = 3600): Promise<QualityReport> {
    this.checkWindow(windowSeconds);
    const e: EndpointRecord = await this.endpoints.getEndpoint(endpointRef);
    const since = Date.now() - windowSeconds * 1000;
    const fb = this.ledger.feedbackStats(e.endpoint, since);
    const served = this.served.recent(e.endpoint, since);
    const reasons: Record<string, string> = {
      hallucination_rate: 'no evaluator has measured hallucination for this endpoint',
      toxicity: 'no evaluator has measured toxicity for this endpoint',
      ...(fb.accuracy === null
        ? { accuracy: fb.reasons.accuracy ?? 'no feedback marked correct or incorrect in the window' }
        : {}),
    };
    const { drift } = await import('./drift.js');
    const versions = [];
    for (const d of e.deployed) {
      const rows = served.filter((s) => s.deployed_model_id === d.deployed_model_id);
      const training = await this.trainingData(d.name, d.version);
      if (!training)
        reasons[`drift_${d.deployed_model_id}`] =
          `${d.name ?? d.deployed_model_id} ${d.version ?? ''} records no training dataset`;
      const outs = rows.map((r) => r.output).filter((x): x is string => x !== null);
      const ins = rows.flatMap((r) => (r.input ? words(r.input) : []));
      const now = Date.now();
      const right = this.served.outcomeSums(e.endpoint, d.deployed_model_id, 'correct', since, now);
      const scores = this.served.outcomeSums(e.endpoint, d.deployed_model_id, 'score', since, now);
      if (!right.sy)
        reasons[`accuracy_${d.deployed_model_id}`] =
          `no feedback with correct=true/false on ${d.name ?? ''} ${d.version ?? d.deployed_model_id} in the window`;
      versions.push({
        deployed_model_id: d.deployed_model_id,
        name: d.name,
        version: d.version,
        served: rows.length,
        accuracy: right.sy ? right.sx / right.sy : null,
        labelled: right.sy,
        mean_score: scores.sy ? scores.sx / scores.sy : null,
        scored: scores.sy,
        output_drift: training ? drift({ training: training.outputs, serving: outs }) : null,
        input_drift: training ? drift({ training: training.inputs.flatMap(words), serving: ins }) : null,
      });
    }
    return {
      endpoint: e.endpoint,
      window_seconds: windowSeconds,
      feedback: { count: fb.count, accuracy: fb.accuracy, mean_score: fb.mean_score },
      versions,
      hallucination_rate: null,
      toxicity: null,
      reasons,
    };
  }

  // ---- alert rules ----

  setAlertRule(input: AlertRuleInput & { endpoint?: string | null }): AlertRule {
    return this.ledger.addRule(input, { replace: true });
  }

  listAlertRules(endpoint?: string): AlertRule[] {
    return this.ledger.listRules(endpoint ? { endpoint } : {});
  }

  deleteAlertRule(nameOrId: string | number): AlertRule {
    return this.ledger.deleteRule(nameOrId);
  }

  checkAlerts() {
    return this.evaluator.checkAll();
  }

  /** One rule's number, measured over its window; null with the reason when it cannot be. */
  async measure(rule: AlertRule): Promise<{ value: number | null; reason?: string }> {
    if (!rule.endpoint) return { value: null, reason: 'the rule names no endpoint' };
    const m = rule.metric as AlertMetric;
    try {
      if (m in { accuracy: 1 }) {
        const q = await this.collectQualityMetrics(rule.endpoint, rule.window_seconds);
        return { value: q.feedback.accuracy, reason: q.reasons.accuracy };
      }
      if (m === 'output_drift_psi' || m === 'input_drift_psi') {
        const q = await this.collectQualityMetrics(rule.endpoint, rule.window_seconds);
        const key = m === 'output_drift_psi' ? 'output_drift' : 'input_drift';
        const vals = q.versions.map((v) => v[key]).filter((d): d is DriftOutcome => d !== null);
        const psis = vals.map((d) => ('psi' in d ? d.psi : null)).filter((x): x is number => typeof x === 'number');
        return psis.length
          ? { value: Math.max(...psis) }
          : { value: null, reason: 'no drift could be measured in the window' };
      }
      if (m === 'cost_total_usd') {
        const c = await this.calculateCostMetrics(rule.endpoint, rule.window_seconds);
        return { value: c.total_usd, reason: c.reasons.total_usd };
      }
      const p = await this.collectPerformanceMetrics(rule.endpoint, rule.window_seconds);
      const row = rule.deployed_model
        ? p.versions.find((v) => v.deployed_model_id === rule.deployed_model)
        : p.endpoint;
      if (!row) return { value: null, reason: `deployed model ${rule.deployed_model} is not on the endpoint` };
      const value = row[m as keyof typeof row];
      return typeof value === 'number'
        ? { value }
        : { value: null, reason: p.reasons.latency ?? `${m} was not measured in the window` };
    } catch (err) {
      if (err instanceof VertexMcpError) return { value: null, reason: err.text };
      throw err;
    }
  }

  /**
   * Writes the dashboard JSON to `path` (local, checked like every local path: inside the allowed
   * roots, never the data directory; or gs://), whole or not at all. An existing file is replaced
   * only with `overwrite: true` (ALREADY_EXISTS otherwise).
   */
  async exportGrafanaDashboard(opts: {
    datasource: DashboardDatasource;
    endpoint?: string;
    path: string;
    title?: string;
    overwrite?: boolean;
  }) {
    const endpointId = opts.endpoint ? (await this.endpoints.getEndpoint(opts.endpoint)).endpoint : undefined;
    const { exportGrafanaDashboard } = await import('./grafana.js');
    const dashboard = exportGrafanaDashboard({
      datasource: opts.datasource,
      ...(endpointId ? { endpoint_id: endpointId } : {}),
      project: this.clients.backend.project,
      ...(opts.title ? { title: opts.title } : {}),
    });
    const written = await this.files.writeText(opts.path, `${JSON.stringify(dashboard, null, 2)}\n`, 'path', {
      overwrite: opts.overwrite === true,
    });
    return { path: opts.path, dashboard, written };
  }
}
