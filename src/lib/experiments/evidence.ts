// The evidence a version comparison rests on (compare_model_versions, the beat_production gate):
// an A/B test of the pair when one exists; otherwise live numbers of the two versions serving side
// by side, each tested (Welch at 95%) so a difference inside the noise never names a winner.
import type { ModelEndpoints } from '../endpoints/endpoints.js';
import type { PerformanceQueries } from '../monitoring/performance.js';
import type { ServedLog } from '../monitoring/served.js';
import type { MetricComparison } from '../registry/compare.js';
import type { ABTests } from './ab_tests.js';
import { type Estimate, meanSums, proportionSums, quantileInterval, ratioEstimate, welch } from './stats.js';

export interface AbEvidence {
  test: string;
  state: string;
  verdict: string;
  sentence: string;
  /** Which of the compared versions the test favours ('a' or 'b'), 'tie' when inconclusive, 'unknown' while undecided. */
  winner: 'a' | 'b' | 'tie' | 'unknown';
}

export interface LiveEvidence {
  endpoint: string;
  window_seconds: number;
  rows: MetricComparison[];
}

/** The A/B test of the pair, read as a winner between a and b. */
export async function abEvidence(tests: ABTests, name: string, a: string, b: string): Promise<AbEvidence | null> {
  const t = await tests.findForPair(name, a, b);
  if (!t) return null;
  const r = await tests.get(t.test);
  const treatmentIs = r.plan.treatment.version === b ? 'b' : 'a';
  const controlIs = treatmentIs === 'b' ? 'a' : 'b';
  const verdict = r.decision?.by === 'agent' && r.decision.force ? r.decision.verdict : r.verdict;
  const inconclusive = /^Inconclusive/.test(r.sentence);
  const winner =
    verdict === 'ship_treatment'
      ? treatmentIs
      : verdict === 'keep_control'
        ? inconclusive
          ? 'tie'
          : controlIs
        : 'unknown';
  return { test: r.test, state: r.state, verdict, sentence: r.sentence, winner };
}

/** Live rows for two versions serving on one endpoint (last `windowSeconds`; feedback: last 7 days). */
export async function liveEvidence(
  deps: { endpoints: ModelEndpoints; perf: PerformanceQueries; served: ServedLog },
  name: string,
  a: string,
  b: string,
  windowSeconds = 3600,
): Promise<LiveEvidence | null> {
  const e = (await deps.endpoints.listEndpoints()).find((x) =>
    [a, b].every((v) => x.deployed.some((d) => d.name === name && d.version === v)),
  );
  if (!e) return null;
  const id = (v: string) => e.deployed.find((d) => d.name === name && d.version === v)!.deployed_model_id;
  const end = Math.ceil(Date.now() / 1000) * 1000;
  const traffic = await deps.perf.armTraffic(e.endpoint, end - windowSeconds * 1000, end);
  const [ta, tb] = [traffic.get(id(a)), traffic.get(id(b))];
  const rows: MetricComparison[] = [];
  const row = (
    metric: string,
    direction: MetricComparison['direction'],
    ea: Estimate | null,
    eb: Estimate | null,
  ): void => {
    if (ea?.estimate == null || eb?.estimate == null) return;
    const d = welch(ea, eb, 0.05);
    const delta = eb.estimate - ea.estimate;
    const significant = d !== null && d.p_value < 0.05;
    rows.push({
      metric,
      a: ea.estimate,
      b: eb.estimate,
      delta,
      relative_change: ea.estimate ? delta / Math.abs(ea.estimate) : null,
      direction,
      better: !significant ? 'tie' : delta > 0 === (direction === 'higher_is_better') ? 'b' : 'a',
      source: 'live',
      n_a: ea.n,
      n_b: eb.n,
      p_value: d?.p_value ?? null,
    });
  };
  if (ta && tb) {
    row(
      'live_error_rate',
      'lower_is_better',
      ratioEstimate(proportionSums(ta.requests, ta.errors)),
      ratioEstimate(proportionSums(tb.requests, tb.errors)),
    );
    if (ta.latency && tb.latency) {
      const mean = (l: NonNullable<typeof ta.latency>) => ratioEstimate(meanSums(l.count, l.mean_ms, l.variance));
      row('live_latency_mean_ms', 'lower_is_better', mean(ta.latency), mean(tb.latency));
      // p95: a winner only when the two always-valid rank intervals do not overlap.
      const qa = quantileInterval(ta.latency.histogram, 0.95, 0.05);
      const qb = quantileInterval(tb.latency.histogram, 0.95, 0.05);
      if (qa.estimate !== null && qb.estimate !== null) {
        const apart = qa.ci && qb.ci && (qa.ci[1] < qb.ci[0] || qb.ci[1] < qa.ci[0]);
        const delta = qb.estimate - qa.estimate;
        rows.push({
          metric: 'live_latency_p95_ms',
          a: qa.estimate,
          b: qb.estimate,
          delta,
          relative_change: qa.estimate ? delta / qa.estimate : null,
          direction: 'lower_is_better',
          better: apart ? (delta < 0 ? 'b' : 'a') : 'tie',
          source: 'live',
          n_a: qa.n,
          n_b: qb.n,
          p_value: null,
        });
      }
    }
  }
  const week = end - 7 * 86_400_000;
  const acc = (v: string) => ratioEstimate(deps.served.outcomeSums(e.endpoint, id(v), 'correct', week, end));
  row('live_accuracy', 'higher_is_better', acc(a), acc(b));
  return { endpoint: e.endpoint, window_seconds: windowSeconds, rows };
}
