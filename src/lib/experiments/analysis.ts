// Reading an A/B test: per-arm estimates, the effect with a fixed-horizon (Welch) and an
// always-valid (confidence sequence) interval, the sample-ratio check, guardrails and the verdict
// with the sentence that carries its numbers. Pure: the data comes in, the report goes out.
// The checks run in SPEC 10's order: SRM -> guardrails -> primary metric -> limits.
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import type { LatencySummary } from '../monitoring/performance.js';
import type { Plan, Verdict } from './plan.js';
import {
  confidenceSequence,
  type Difference,
  type Estimate,
  type GuardrailCheck,
  meanSums,
  nonInferiority,
  proportionSums,
  quantileInterval,
  type RatioSums,
  ratioEstimate,
  srm,
  welch,
} from './stats.js';

/** Outcomes per arm before any primary-metric decision or guardrail failure (the normal approximation needs them). */
export const MIN_PER_ARM = 50;

export interface ArmData {
  version: string;
  deployed_model_id: string;
  requests: number;
  errors: number;
  latency: LatencySummary | null;
  /** Per-request outcome sums from feedback (accuracy: correct; score: score). */
  outcomes: RatioSums | null;
  /** Vertex price of the arm's machine, USD per node hour (null when the price table has none). */
  usd_per_node_hour: number | null;
}

export interface ArmReport {
  arm: 'control' | 'treatment';
  version: string;
  deployed_model_id: string;
  requests: number;
  outcomes: number;
  estimate: number | null;
  ci: [number, number] | null;
  error_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  cost_per_request_usd: number | null;
}

export interface GuardrailReport {
  metric: string;
  margin: number;
  margin_kind: 'absolute' | 'relative';
  control: number | null;
  treatment: number | null;
  status: GuardrailCheck['status'];
  /** Always-valid interval of treatment - control (p95: of the treatment's p95). */
  interval: [number, number] | null;
}

export interface Report {
  arms: ArmReport[];
  effect: {
    absolute: number;
    relative: number | null;
    relative_ci: [number, number] | null;
    ci: [number, number];
    p_value: number;
    sequential_ci: [number, number];
  } | null;
  srm: { observed: [number, number]; expected_share: [number, number]; p_value: number; flagged: boolean } | null;
  guardrails: GuardrailReport[];
  progress: {
    outcomes: [number, number];
    planned: [number, number];
    fraction: number;
    requests: number;
    max_requests: number;
    elapsed_seconds: number;
    max_duration_seconds: number;
  };
  verdict: Verdict;
  sentence: string;
}

/** The primary metric's per-request sums for one arm. */
function primarySums(plan: Plan, a: ArmData): RatioSums | null {
  switch (plan.primary_metric) {
    case 'accuracy':
    case 'score':
      return a.outcomes;
    case 'error_rate':
      return proportionSums(a.requests, a.errors);
    case 'latency_ms':
      return a.latency ? meanSums(a.latency.count, a.latency.mean_ms, a.latency.variance) : null;
  }
}

function latencyQuantile(l: LatencySummary | null, q: number, alpha: number) {
  return l ? quantileInterval(l.histogram, q, alpha) : { n: 0, estimate: null, ci: null };
}

/** USD per request at full utilisation: the machine's price for the request's serving time. */
function costEstimate(a: ArmData): Estimate | null {
  if (!a.latency || a.usd_per_node_hour === null) return null;
  const k = a.usd_per_node_hour / 3_600_000;
  const e = ratioEstimate(meanSums(a.latency.count, a.latency.mean_ms, a.latency.variance));
  return {
    n: e.n,
    estimate: e.estimate === null ? null : e.estimate * k,
    variance: e.variance === null ? null : e.variance * k * k,
  };
}

function armReport(arm: 'control' | 'treatment', plan: Plan, a: ArmData, alpha: number): ArmReport {
  const sums = primarySums(plan, a);
  const est = sums ? ratioEstimate(sums) : null;
  const z = normalQuantile(1 - alpha / 2, 0, 1);
  const ci: [number, number] | null =
    est?.estimate != null && est.variance != null
      ? [est.estimate - z * Math.sqrt(est.variance), est.estimate + z * Math.sqrt(est.variance)]
      : null;
  return {
    arm,
    version: a.version,
    deployed_model_id: a.deployed_model_id,
    requests: a.requests,
    outcomes: sums?.n ?? 0,
    estimate: est?.estimate ?? null,
    ci,
    error_rate: a.requests ? a.errors / a.requests : null,
    p50_ms: latencyQuantile(a.latency, 0.5, alpha).estimate,
    p95_ms: latencyQuantile(a.latency, 0.95, alpha).estimate,
    cost_per_request_usd: costEstimate(a)?.estimate ?? null,
  };
}

/** The standard error the plan expects at the planned sample, scaled to another metric by sample size. */
function plannedSeLike(d: Difference | null, n: number, plannedN: number): number | null {
  if (!d || n <= 0) return null;
  return d.se * Math.sqrt(n / Math.max(plannedN, 1));
}

function guardrail(
  plan: Plan,
  c: ArmData,
  t: ArmData,
  g: Plan['guardrails'][number],
  alphaEach: number,
): GuardrailReport {
  const base = { metric: g.metric, margin: g.margin, margin_kind: g.margin_kind };
  const enough = Math.min(c.requests, t.requests) >= MIN_PER_ARM;
  const plannedN = plan.sample_size.total;
  if (g.metric === 'latency_p95_ms') {
    // Two one-sided rank intervals, each at alphaEach / 2 (Bonferroni over the two arms).
    const qc = latencyQuantile(c.latency, 0.95, alphaEach);
    const qt = latencyQuantile(t.latency, 0.95, alphaEach);
    let status: GuardrailCheck['status'] = 'inconclusive';
    if (qc.ci && qt.ci && Math.min(qc.n, qt.n) >= MIN_PER_ARM) {
      if (qt.ci[0] > qc.ci[1] * (1 + g.margin)) status = 'fail';
      else if (qt.ci[1] < qc.ci[0] * (1 + g.margin)) status = 'pass';
    }
    return { ...base, control: qc.estimate, treatment: qt.estimate, status, interval: qt.ci };
  }
  // Error rates: Agresti-Caffo's one error and one success added per arm (Agresti & Caffo 2000,
  // Am. Stat. 54(4)), so arms with no errors yet still carry a standard error.
  const adjusted = (a: ArmData) => ratioEstimate(proportionSums(a.requests + 2, a.errors + 1));
  const [ec, et] = g.metric === 'error_rate' ? [adjusted(c), adjusted(t)] : [costEstimate(c), costEstimate(t)];
  const d = ec && et ? welch(ec, et, alphaEach * 2) : null;
  const margin = g.margin_kind === 'absolute' ? g.margin : g.margin * Math.abs(ec?.estimate ?? 0);
  const check =
    d && enough && margin > 0
      ? nonInferiority(d.effect, d.se, margin, plannedSeLike(d, c.requests + t.requests, plannedN), alphaEach)
      : { status: 'inconclusive' as const, interval: null };
  const value = (a: ArmData, e: Estimate | null) =>
    g.metric === 'error_rate' ? (a.requests ? a.errors / a.requests : null) : (e?.estimate ?? null);
  return { ...base, control: value(c, ec), treatment: value(t, et), ...check };
}

export function analyse(plan: Plan, c: ArmData, t: ArmData, nowMs: number): Report {
  const alpha = plan.alpha;
  const arms = [armReport('control', plan, c, alpha), armReport('treatment', plan, t, alpha)];
  const sc = primarySums(plan, c);
  const st = primarySums(plan, t);
  const d = sc && st ? welch(ratioEstimate(sc), ratioEstimate(st), alpha) : null;
  const seq = d ? confidenceSequence(d.effect, d.se, plan.sample_size.planned_se, alpha) : null;
  const effect =
    d && seq
      ? {
          absolute: d.effect,
          relative: d.relative?.lift ?? null,
          relative_ci: d.relative?.ci ?? null,
          ci: d.ci,
          p_value: d.p_value,
          sequential_ci: seq,
        }
      : null;
  const share = plan.traffic_percentage / 100;
  // Chi-square needs expected counts of at least 5 per arm.
  const total = c.requests + t.requests;
  const s = total * Math.min(share, 1 - share) >= 5 ? srm(c.requests, t.requests, share) : null;
  const alphaEach = alpha / Math.max(plan.guardrails.length, 1);
  const guardrails = plan.guardrails.map((g) => guardrail(plan, c, t, g, alphaEach));
  const outcomes: [number, number] = [sc?.n ?? 0, st?.n ?? 0];
  const planned: [number, number] = [plan.sample_size.control, plan.sample_size.treatment];
  const elapsed = Math.max(0, Math.round((nowMs - plan.started_at) / 1000));
  const progress = {
    outcomes,
    planned,
    fraction: Math.min(1, outcomes[0] / planned[0], outcomes[1] / planned[1]),
    requests: total,
    max_requests: plan.max_requests,
    elapsed_seconds: elapsed,
    max_duration_seconds: plan.max_duration_seconds,
  };
  const { verdict, sentence } = decide(plan, { arms, effect, srm: s, guardrails, progress });
  return { arms, effect, srm: s, guardrails, progress, verdict, sentence };
}

function decide(plan: Plan, r: Omit<Report, 'verdict' | 'sentence'>): { verdict: Verdict; sentence: string } {
  const [c, t] = r.arms as [ArmReport, ArmReport];
  const n = `n = ${int(r.progress.outcomes[0])} / ${int(r.progress.outcomes[1])}`;
  if (r.srm?.flagged) {
    return {
      verdict: 'invalid',
      sentence: `Sample ratio mismatch: ${int(c.requests)} / ${int(t.requests)} requests against a planned ${100 - plan.traffic_percentage}/${plan.traffic_percentage} split (chi-square p = ${pval(r.srm.p_value)} < 0.001): routing is broken, so no effect can be trusted; stop and investigate.`,
    };
  }
  const failed = r.guardrails.filter((g) => g.status === 'fail');
  if (failed.length) {
    const what = failed
      .map(
        (g) =>
          `${g.metric} ${fmtGuard(g.metric, g.treatment)} vs ${fmtGuard(g.metric, g.control)} (margin ${g.margin_kind === 'absolute' ? `+${pp(g.margin)}` : `+${pct(g.margin)}`})`,
      )
      .join('; ');
    return {
      verdict: 'keep_control',
      sentence: `Guardrail failed for ${t.version}: ${what}; roll back to ${c.version}.`,
    };
  }
  const e = r.effect;
  const enough = Math.min(...r.progress.outcomes) >= MIN_PER_ARM;
  const guards = r.guardrails.length
    ? r.guardrails.every((g) => g.status === 'pass')
      ? 'guardrails pass'
      : `guardrails ${r.guardrails.map((g) => `${g.metric} ${g.status}`).join(', ')}`
    : 'no guardrails';
  if (e && enough) {
    const good = plan.direction === 'higher_is_better' ? 1 : -1;
    const [lo, hi] = e.sequential_ci;
    const desc = `${t.version} ${describe(plan.primary_metric, e.absolute)} than ${c.version} (${Math.round((1 - plan.alpha) * 100)}% always-valid CI ${fmtEffect(plan.primary_metric, lo)} to ${fmtEffect(plan.primary_metric, hi)}; fixed-horizon p = ${pval(e.p_value)}; ${n})`;
    const better = good > 0 ? lo > 0 : hi < 0;
    const worse = good > 0 ? hi < 0 : lo > 0;
    if (better && r.guardrails.every((g) => g.status === 'pass'))
      return { verdict: 'ship_treatment', sentence: `${desc}; ${guards}; ship ${t.version}.` };
    if (worse) return { verdict: 'keep_control', sentence: `${desc}; keep ${c.version}.` };
    if (better) return { verdict: 'continue', sentence: `${desc}, but ${guards}: continue until they pass.` };
  }
  const limit =
    r.progress.requests >= plan.max_requests
      ? `max_requests ${int(plan.max_requests)} reached`
      : r.progress.elapsed_seconds >= plan.max_duration_seconds
        ? `max_duration_seconds ${int(plan.max_duration_seconds)} reached`
        : null;
  const sofar = e
    ? `${plan.primary_metric} ${fmtEffect(plan.primary_metric, e.absolute)} (always-valid CI ${fmtEffect(plan.primary_metric, e.sequential_ci[0])} to ${fmtEffect(plan.primary_metric, e.sequential_ci[1])}), ${n}`
    : `no ${plan.primary_metric} outcomes on both arms yet (${n})`;
  if (limit) {
    return {
      verdict: 'keep_control',
      sentence: `Inconclusive: ${limit} without a significant difference: ${sofar}; keep ${c.version}.`,
    };
  }
  return {
    verdict: 'continue',
    sentence: `No decision yet: ${sofar} of ${int(r.progress.planned[0])} / ${int(r.progress.planned[1])} planned (${Math.round(r.progress.fraction * 100)}%); ${guards}; continue.`,
  };
}

// ---- numbers for people ----

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pp = (x: number) => `${(x * 100).toFixed(1)} pp`;
const pval = (p: number) => (p < 0.0001 ? p.toExponential(1) : p.toFixed(p < 0.01 ? 4 : 3));
const ms = (x: number) => `${x >= 10 ? x.toFixed(1) : x.toPrecision(2)} ms`;

/** An effect in the metric's units, signed: "+6.1 pp", "-3.2 ms", "+0.041". */
export function fmtEffect(metric: Plan['primary_metric'], x: number): string {
  const sign = x > 0 ? '+' : x < 0 ? '-' : '';
  const a = Math.abs(x);
  if (metric === 'accuracy' || metric === 'error_rate') return `${sign}${pp(a)}`;
  if (metric === 'latency_ms') return `${sign}${ms(a)}`;
  return `${sign}${a.toPrecision(3)}`;
}

function describe(metric: Plan['primary_metric'], x: number): string {
  const a = fmtEffect(metric, Math.abs(x)).replace(/^\+/, '');
  switch (metric) {
    case 'accuracy':
      return `is ${a} ${x >= 0 ? 'more' : 'less'} accurate`;
    case 'error_rate':
      return `has a ${a} ${x <= 0 ? 'lower' : 'higher'} error rate`;
    case 'latency_ms':
      return `is ${a} ${x <= 0 ? 'faster' : 'slower'}`;
    case 'score':
      return `scores ${a} ${x >= 0 ? 'higher' : 'lower'}`;
  }
}

function fmtGuard(metric: string, v: number | null): string {
  if (v === null) return 'n/a';
  if (metric === 'error_rate') return pct(v);
  if (metric === 'latency_p95_ms') return `p95 ${ms(v)}`;
  return `$${v.toPrecision(3)}`;
}
