// ABTests: the lifecycle of an A/B test of two registry versions on one endpoint (SPEC 10).
// start -> (get, as often as wanted) -> conclude, with a background evaluator that rolls a test
// back on its own when a guardrail fails, the split is broken (SRM), the treatment is
// significantly worse, or the limits pass without a decision.
// Data: requests, errors and latency per arm from Cloud Monitoring (what Vertex counts, per
// request), outcomes from the ledger's feedback joined to the served predictions; the test itself
// in Vertex AI Experiments (store.ts).
import { EventEmitter } from 'node:events';
import type { VertexClients } from '../clients.js';
import type { ModelEndpoints } from '../endpoints/endpoints.js';
import type { Split } from '../endpoints/split.js';
import type { EndpointRecord } from '../endpoints/types.js';
import { invalid, precondition, VertexMcpError } from '../errors.js';
import { PerformanceQueries } from '../monitoring/performance.js';
import { machinePrice } from '../monitoring/prices.js';
import type { VertexAIMonitoring } from '../monitoring/vertex_monitoring.js';
import type { ModelRegistry } from '../registry/registry.js';
import type { ArmData, Report } from './analysis.js';
import {
  type Action,
  DEFAULT_GUARDRAILS,
  type Decision,
  DIRECTION,
  type Guardrail,
  MARGIN_KIND,
  type Plan,
  type PrimaryMetric,
  type TestState,
} from './plan.js';
import { ExperimentStore, type StoredTest } from './store.js';

export interface StartInput {
  endpoint: string;
  name: string;
  model: string;
  control: string;
  treatment: string;
  traffic_percentage?: number;
  primary_metric: PrimaryMetric;
  minimum_detectable_effect: number;
  baseline?: { value: number; sd?: number } | undefined;
  alpha?: number;
  power?: number;
  guardrails?: Guardrail[];
  max_requests?: number | undefined;
  max_duration_seconds?: number;
  auto_rollback?: boolean;
}

export interface StartPlan {
  plan: Plan;
  deploy_treatment: boolean;
  split_before: Split;
  split_after: Split;
  /** True when the split takes traffic away from a version serving it now (needs confirmation). */
  moves_traffic: boolean;
}

export interface TestReport extends Report {
  test: string;
  state: TestState;
  plan: Plan;
  decision: Decision | null;
  ended_at: number | null;
}

export interface ConcludeInput {
  action: Action;
  force?: boolean;
  reason?: string | undefined;
  /** Ship: undeploy the control afterwards; rollback: undeploy the treatment. */
  undeploy?: boolean;
}

export interface ConcludePlan {
  test: string;
  action: 'ship' | 'rollback' | 'abandon';
  verdict: Report['verdict'];
  sentence: string;
  against_verdict: boolean;
  split_after: Split | null;
  promote: string | null;
  undeploy: string[];
}

const WEEK_MS = 7 * 86_400_000;
// The statistics load on first use: their distributions (@stdlib, ~440 small CommonJS modules)
// must not be on the server's start-up path.
const stats = () => import('./stats.js');
const ceilSecond = (ms: number) => Math.ceil(ms / 1000) * 1000;

export class ABTests {
  /** 'changed' (test id, endpoint id) when a test's results or state move; 'rolled_back' (test, sentence). */
  readonly events = new EventEmitter().setMaxListeners(0);
  readonly store: ExperimentStore;
  readonly perf: PerformanceQueries;
  private readonly locks = new Map<string, Promise<unknown>>();
  private background?: NodeJS.Timeout;

  constructor(
    clients: VertexClients,
    private readonly endpoints: ModelEndpoints,
    private readonly registry: ModelRegistry,
    private readonly monitoring: VertexAIMonitoring,
  ) {
    this.store = new ExperimentStore(clients);
    this.perf = new PerformanceQueries(clients);
  }

  // ---- start ----

  /** The frozen plan and what starting would change; changes nothing. */
  async planStart(input: StartInput): Promise<StartPlan> {
    if (input.control === input.treatment)
      throw invalid('control and treatment are the same version', 'Compare two different versions');
    const taken = await this.store.get(input.name).catch(() => null);
    const e = await this.endpoints.getEndpoint(input.endpoint);
    // The same start again (a retry after an ambiguous failure) converges; anything else is taken.
    if (taken && !this.sameStart(taken, input, e.endpoint)) {
      throw new VertexMcpError(
        'ALREADY_EXISTS',
        `an A/B test named "${input.name}" already exists (${taken.state}, ${taken.plan.model} ${taken.plan.treatment.version} vs ${taken.plan.control.version})`,
        'Choose another name, or read it with get_ab_test',
      );
    }
    const control = e.deployed.find((d) => d.name === input.model && d.version === input.control);
    if (!control) {
      const here = e.deployed.map((d) => `${d.name}@${d.version}`).join(', ') || 'none';
      throw precondition(
        `control ${input.model} ${input.control} is not deployed on endpoint ${e.display_name}`,
        `Deploy it first with deploy_model (deployed there: ${here})`,
      );
    }
    await this.registry.getModel(input.model, input.treatment); // NOT_FOUND names the known versions
    const running = (await this.store.list()).find(
      (t) => t.state === 'running' && t.plan.endpoint === e.endpoint && t.test !== input.name,
    );
    if (running) {
      throw precondition(
        `A/B test "${running.test}" is already running on endpoint ${e.display_name}`,
        'Conclude it first (conclude_ab_test): two tests on one endpoint would share and bias the traffic',
      );
    }
    const treatment = e.deployed.find((d) => d.name === input.model && d.version === input.treatment);
    const p = input.traffic_percentage ?? 50;
    const before = { ...e.traffic_split };
    const after: Split = Object.fromEntries(e.deployed.map((d) => [d.deployed_model_id, 0]));
    after[control.deployed_model_id] = 100 - p;
    if (treatment) after[treatment.deployed_model_id] = p;
    else after['(treatment, once deployed)'] = p;
    const moves = Object.entries(before).some(([k, v]) => v > 0 && (after[k] ?? 0) < v);
    const alpha = input.alpha ?? 0.05;
    const power = input.power ?? 0.8;
    const base = await this.baseline(input, e, control.deployed_model_id);
    const { csMultiplier, sampleSize } = await stats();
    const ss = sampleSize({
      mde: input.minimum_detectable_effect,
      sdControl: base.sd,
      treatmentShare: p / 100,
      alpha,
      power,
    });
    const plan: Plan = {
      endpoint: e.endpoint,
      endpoint_name: e.display_name,
      model: input.model,
      control: { version: input.control, deployed_model_id: control.deployed_model_id },
      treatment: { version: input.treatment, deployed_model_id: treatment?.deployed_model_id ?? '' },
      traffic_percentage: p,
      primary_metric: input.primary_metric,
      direction: DIRECTION[input.primary_metric],
      minimum_detectable_effect: input.minimum_detectable_effect,
      alpha,
      power,
      guardrails: (input.guardrails ?? DEFAULT_GUARDRAILS).map((g) => ({ ...g, margin_kind: MARGIN_KIND[g.metric] })),
      max_requests: input.max_requests ?? 3 * ss.total,
      max_duration_seconds: input.max_duration_seconds ?? 14 * 86_400,
      auto_rollback: input.auto_rollback ?? true,
      sample_size: {
        baseline: base.value,
        sd: base.sd,
        baseline_from: base.from,
        control: ss.control,
        treatment: ss.treatment,
        total: ss.total,
        fixed_horizon_total: ss.fixed_horizon_total,
        planned_se: ss.planned_se,
        method: `always-valid: mde = se x (${csMultiplier(alpha).toFixed(2)} + z_${power}); per-request sd ${round(base.sd)}`,
      },
      started_at: 0,
    };
    return { plan, deploy_treatment: !treatment, split_before: before, split_after: after, moves_traffic: moves };
  }

  /** The per-request sd of the primary metric for the power analysis, and where it came from. */
  private async baseline(input: StartInput, e: EndpointRecord, controlId: string) {
    const m = input.primary_metric;
    const given = input.baseline;
    const proportion = (p: number, from: string) => {
      const q = Math.min(0.99, Math.max(0.01, p));
      return {
        value: p,
        sd: Math.sqrt(q * (1 - q)),
        from: q === p ? from : `${from} (clamped to ${q} for the variance)`,
      };
    };
    const now = Date.now();
    if (m === 'accuracy' || m === 'error_rate') {
      if (given) {
        if (!(given.value >= 0 && given.value <= 1))
          throw invalid(`baseline.value ${given.value} must be a rate in [0, 1] for ${m}`);
        return proportion(given.value, 'given');
      }
      if (m === 'accuracy') {
        const s = this.monitoring.served.outcomeSums(e.endpoint, controlId, 'correct', now - WEEK_MS, now);
        if (s.n >= 30) return proportion(s.sx / s.sy, `control feedback, last 7 days (${s.n} requests)`);
        const pm = (await this.registry.getModel(input.model, input.control)).performance_metrics;
        const key = pm.accuracy !== undefined ? 'accuracy' : 'validation_accuracy';
        if (pm[key] !== undefined) return proportion(pm[key], `control registry metric ${key} (offline)`);
      } else {
        const t = (await this.perf.armTraffic(e.endpoint, ceilSecond(now) - 3_600_000, ceilSecond(now))).get(controlId);
        if (t && t.requests >= 100)
          return proportion(t.errors / t.requests, `control, last hour (${t.requests} requests)`);
      }
    } else if (given?.sd) {
      return { value: given.value, sd: given.sd, from: 'given' };
    } else if (m === 'score') {
      const s = this.monitoring.served.outcomeSums(e.endpoint, controlId, 'score', now - WEEK_MS, now);
      const v = (await stats()).ratioEstimate(s);
      if (s.n >= 30 && v.variance !== null && v.variance > 0)
        return {
          value: v.estimate ?? 0,
          sd: Math.sqrt(v.variance * s.n),
          from: `control feedback, last 7 days (${s.n} requests)`,
        };
    } else {
      const t = (await this.perf.armTraffic(e.endpoint, ceilSecond(now) - 3_600_000, ceilSecond(now))).get(controlId);
      if (t?.latency && t.latency.count >= 30 && t.latency.variance > 0)
        return {
          value: t.latency.mean_ms,
          sd: Math.sqrt(t.latency.variance),
          from: `control, last hour (${t.latency.count} requests)`,
        };
    }
    throw invalid(
      `cannot size the test: no baseline for ${m} on the control (not enough measured data)`,
      m === 'accuracy' || m === 'error_rate'
        ? `Pass baseline: {"value": <the control's current ${m}, e.g. 0.9>}`
        : `Pass baseline: {"value": <current mean>, "sd": <per-request standard deviation>}`,
    );
  }

  /** The stored test is this start: same endpoint, model and versions, still running. */
  private sameStart(t: StoredTest, input: StartInput, endpointId: string): boolean {
    return (
      t.state === 'running' &&
      t.plan.endpoint === endpointId &&
      t.plan.model === input.model &&
      t.plan.control.version === input.control &&
      t.plan.treatment.version === input.treatment
    );
  }

  /**
   * Starts a planned test: claims the id, deploys the treatment if needed, sets the split, then
   * freezes the plan. Every step converges when repeated, so calling start again with the same
   * arguments after a failure (a fault, a crash) finishes the start instead of failing on the claim.
   */
  async start(input: StartInput): Promise<TestReport> {
    const { plan, deploy_treatment } = await this.planStart(input);
    let stored = await this.store.get(input.name).catch(() => null);
    if (stored?.plan.started_at) return this.get(input.name); // already started: nothing to do
    if (!stored) {
      try {
        stored = await this.store.create(input.name, { ...plan, started_at: 0 }, 'running');
      } catch (err) {
        // Lost a race to the same start (or our own earlier attempt got through): finish it.
        const again = await this.store.get(input.name).catch(() => null);
        if (!(err instanceof VertexMcpError && err.code === 'ALREADY_EXISTS' && again)) throw err;
        if (!this.sameStart(again, input, plan.endpoint)) throw err;
        if (again.plan.started_at) return this.get(input.name);
        stored = again;
      }
    }
    try {
      await this.store.ensureArms(input.name, plan);
      let treatmentId = plan.treatment.deployed_model_id;
      if (deploy_treatment) {
        const r = await this.endpoints.deployModel({
          endpoint: plan.endpoint,
          name: plan.model,
          version: plan.treatment.version,
          traffic_percentage: 0,
        });
        if (!r.done || !r.deployed_model_id) {
          throw new VertexMcpError(
            'DEADLINE_EXCEEDED',
            `deploying ${plan.model} ${plan.treatment.version} is still running (${r.operation})`,
            'Wait for it (list_endpoints), then call start_ab_test again with the same arguments',
          );
        }
        treatmentId = r.deployed_model_id;
      }
      await this.endpoints.updateTrafficSplit(plan.endpoint, {
        [plan.control.deployed_model_id]: 100 - plan.traffic_percentage,
        [treatmentId]: plan.traffic_percentage,
      });
      // Results count from the moment the split took effect.
      const frozen: Plan = {
        ...plan,
        treatment: { ...plan.treatment, deployed_model_id: treatmentId },
        started_at: Date.now(),
      };
      const current = await this.store.get(input.name);
      if (current.plan.started_at) return this.get(input.name); // a concurrent identical start won
      await this.store.update(input.name, current.etag, { plan: frozen } as never);
    } catch (err) {
      // The claim stays (state running, not started): the same call again finishes the start, and
      // conclude_ab_test action abandon releases it.
      const e = err instanceof VertexMcpError ? err : null;
      throw new VertexMcpError(
        e?.code ?? 'INTERNAL',
        `starting A/B test "${input.name}" did not finish: ${(err as Error).message}`,
        'Call start_ab_test again with the same arguments to finish it (each step repeats safely), or conclude_ab_test with action abandon',
      );
    }
    const report = await this.get(input.name);
    this.events.emit('changed', input.name, plan.endpoint);
    return report;
  }

  // ---- read ----

  async get(id: string): Promise<TestReport> {
    const t = await this.store.get(id);
    const report = await this.read(t);
    if (t.state === 'running' && (report.verdict !== t.last_verdict || report.sentence !== t.last_sentence)) {
      // Kept so list_ab_tests shows the verdict without recomputing; a lost race only delays it.
      await this.store
        .update(id, t.etag, { last_verdict: report.verdict, last_sentence: report.sentence })
        .catch(() => {});
    }
    return report;
  }

  async list(): Promise<StoredTest[]> {
    return this.store.list();
  }

  private async read(t: StoredTest): Promise<TestReport> {
    const p = t.plan;
    if (!p.started_at)
      throw precondition(
        `A/B test "${t.test}" is still starting (or its start failed: ${t.last_sentence ?? 'no reason recorded'})`,
      );
    const toMs = t.ended_at ?? Date.now();
    const endMs = p.started_at + Math.max(60, Math.ceil((toMs - p.started_at) / 1000)) * 1000;
    const [traffic, endpoint] = await Promise.all([
      this.perf.armTraffic(p.endpoint, p.started_at, endMs),
      this.endpoints.getEndpoint(p.endpoint).catch(() => null),
    ]);
    const arm = (v: Plan['control']): ArmData => {
      const m = traffic.get(v.deployed_model_id);
      const machine = endpoint?.deployed.find((d) => d.deployed_model_id === v.deployed_model_id)?.machine_type;
      const price = machine ? machinePrice(this.monitoring.prices, machine) : null;
      const outcome = p.primary_metric === 'accuracy' ? 'correct' : p.primary_metric === 'score' ? 'score' : null;
      return {
        version: v.version,
        deployed_model_id: v.deployed_model_id,
        requests: m?.requests ?? 0,
        errors: m?.errors ?? 0,
        latency: m?.latency ?? null,
        outcomes: outcome
          ? this.monitoring.served.outcomeSums(p.endpoint, v.deployed_model_id, outcome, p.started_at, toMs)
          : null,
        usd_per_node_hour: price?.price ? price.price.usd_per_node_hour : null,
      };
    };
    const { analyse } = await import('./analysis.js');
    const r = analyse(p, arm(p.control), arm(p.treatment), toMs);
    return { test: t.test, state: t.state, plan: p, decision: t.decision, ended_at: t.ended_at, ...r };
  }

  /** The newest test comparing these two versions of a model (either way round), if any. */
  async findForPair(model: string, a: string, b: string): Promise<StoredTest | null> {
    const tests = (await this.store.list()).filter(
      (t) =>
        t.plan.model === model &&
        t.plan.started_at > 0 &&
        [t.plan.control.version, t.plan.treatment.version].sort().join() === [a, b].sort().join(),
    );
    return tests.sort((x, y) => y.plan.started_at - x.plan.started_at)[0] ?? null;
  }

  // ---- conclude ----

  async planConclude(id: string, input: ConcludeInput): Promise<{ plan: ConcludePlan; report: TestReport }> {
    const stored = await this.store.get(id);
    if (!stored.plan.started_at && stored.state === 'running') {
      if (input.action !== 'abandon') {
        throw precondition(
          `A/B test "${id}" never finished starting`,
          'Call start_ab_test again with the same arguments, or conclude it with action abandon',
        );
      }
    }
    const report = stored.plan.started_at ? await this.get(id) : unstarted(stored);
    if (report.state !== 'running') {
      throw precondition(
        `A/B test "${id}" is already ${report.state}${report.decision ? ` (${report.decision.by}: ${report.decision.sentence})` : ''}`,
      );
    }
    const p = report.plan;
    const action =
      input.action === 'auto'
        ? report.verdict === 'ship_treatment'
          ? 'ship'
          : report.verdict === 'continue'
            ? null
            : 'rollback'
        : input.action;
    if (!action) {
      throw precondition(
        `the verdict is "continue": ${report.sentence.replace(/\.$/, '')}`,
        'Keep the test running, or conclude with action ship (needs force and a reason), rollback or abandon',
      );
    }
    const against = action === 'ship' && report.verdict !== 'ship_treatment';
    if (against && !(input.force && input.reason?.trim())) {
      throw precondition(
        `shipping ${p.treatment.version} goes against the verdict "${report.verdict}": ${report.sentence.replace(/\.$/, '')}`,
        'Pass force: true and a reason to ship anyway (both are kept in the decision record)',
      );
    }
    const e = await this.endpoints.getEndpoint(p.endpoint);
    let split: Split | null = null;
    if (action === 'ship') {
      split = Object.fromEntries(e.deployed.map((d) => [d.deployed_model_id, 0]));
      split[p.treatment.deployed_model_id] = 100;
    } else if (action === 'rollback') {
      split = { ...e.traffic_split };
      split[p.control.deployed_model_id] =
        (split[p.control.deployed_model_id] ?? 0) + (split[p.treatment.deployed_model_id] ?? 0);
      split[p.treatment.deployed_model_id] = 0;
    }
    const undeploy = input.undeploy
      ? action === 'ship'
        ? [p.control.version]
        : action === 'rollback'
          ? [p.treatment.version]
          : []
      : [];
    return {
      plan: {
        test: id,
        action,
        verdict: report.verdict,
        sentence: report.sentence,
        against_verdict: against,
        split_after: split,
        promote: action === 'ship' ? p.treatment.version : null,
        undeploy,
      },
      report,
    };
  }

  /** Carries out a conclusion; serialised per test, and refused when another server concluded first. */
  async conclude(id: string, input: ConcludeInput, by: Decision['by'] = 'agent'): Promise<TestReport> {
    return this.locked(id, async () => {
      const { plan: c, report } = await this.planConclude(id, input);
      const p = report.plan;
      const t = await this.store.get(id);
      if (c.split_after) await this.endpoints.updateTrafficSplit(p.endpoint, c.split_after);
      let promoted: string | null = null;
      if (c.promote) {
        const current = await this.registry.getModel(p.model, c.promote);
        if (current.deployment_stage !== 'production') {
          await this.registry.promoteModel(p.model, c.promote, {
            target_stage: 'production',
            force: true,
            evidence: { ab_test: id },
          });
        }
        promoted = c.promote;
      }
      for (const v of c.undeploy) await this.endpoints.undeployModel(p.endpoint, p.model, v);
      const decision: Decision = {
        action: c.action,
        by,
        verdict: c.verdict,
        sentence: c.sentence,
        force: Boolean(input.force),
        reason: input.reason?.trim() || null,
        at: Date.now(),
        split_after: c.split_after,
        promoted,
        undeployed: c.undeploy,
      };
      const state: TestState = c.action === 'ship' ? 'shipped' : c.action === 'rollback' ? 'rolled_back' : 'abandoned';
      await this.store.update(id, t.etag, { state, decision, ended_at: Date.now() });
      for (const a of report.arms) {
        await this.store
          .finishArm(id, a.arm, {
            requests: a.requests,
            outcomes: a.outcomes,
            ...(a.estimate !== null ? { [p.primary_metric]: a.estimate } : {}),
          })
          .catch(() => {});
      }
      this.events.emit('changed', id, p.endpoint);
      return p.started_at ? this.get(id) : unstarted(await this.store.get(id));
    });
  }

  // ---- background evaluation ----

  /** Re-checks every running test; rolls back those whose verdict says so (auto_rollback). */
  async evaluateAll(): Promise<{ test: string; verdict: Report['verdict']; rolled_back: boolean }[]> {
    const out = [];
    for (const t of await this.store.list()) {
      if (t.state !== 'running' || !t.plan.started_at) continue;
      const r = await this.get(t.test);
      const act = t.plan.auto_rollback && (r.verdict === 'keep_control' || r.verdict === 'invalid');
      if (act) {
        await this.conclude(t.test, { action: 'rollback' }, 'auto_rollback');
        this.events.emit('rolled_back', {
          test: t.test,
          endpoint: t.plan.endpoint,
          verdict: r.verdict,
          sentence: r.sentence,
        });
      } else if (r.verdict !== t.last_verdict) {
        this.events.emit('changed', t.test, t.plan.endpoint);
      }
      out.push({ test: t.test, verdict: r.verdict, rolled_back: act });
    }
    return out;
  }

  startBackground(intervalMs: number): void {
    this.stopBackground();
    this.background = setInterval(() => {
      void this.evaluateAll().catch(() => {}); // a failed check is retried next tick
    }, intervalMs);
    this.background.unref();
  }

  stopBackground(): void {
    clearInterval(this.background);
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return next;
  }
}

const round = (x: number) => Number(x.toPrecision(4));

/** The report of a test whose start never finished: nothing was counted. */
function unstarted(t: StoredTest): TestReport {
  const p = t.plan;
  const arm = (arm: 'control' | 'treatment', v: Plan['control']) => ({
    arm,
    version: v.version,
    deployed_model_id: v.deployed_model_id,
    requests: 0,
    outcomes: 0,
    estimate: null,
    ci: null,
    error_rate: null,
    p50_ms: null,
    p95_ms: null,
    cost_per_request_usd: null,
  });
  return {
    test: t.test,
    state: t.state,
    plan: p,
    decision: t.decision,
    ended_at: t.ended_at,
    arms: [arm('control', p.control), arm('treatment', p.treatment)],
    effect: null,
    srm: null,
    guardrails: [],
    progress: {
      outcomes: [0, 0],
      planned: [p.sample_size.control, p.sample_size.treatment],
      fraction: 0,
      requests: 0,
      max_requests: p.max_requests,
      elapsed_seconds: 0,
      max_duration_seconds: p.max_duration_seconds,
    },
    verdict: 'continue',
    sentence: 'The start never finished: nothing was counted.',
  };
}
