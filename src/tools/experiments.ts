// Experiments toolset: A/B tests of two registry versions on one endpoint, with a frozen plan,
// statistics that stay valid however often they are read, guardrails that roll back on their own,
// and a verdict wired to the traffic split and the registry (SPEC 10; src/lib/experiments).
import { z } from 'zod';
import { ACTIONS, StartAbTestInput, TEST_STATES, type TestReport, VERDICTS } from '../lib/index.js';
import { confirmed, safetyInput } from './confirm.js';
import { defineTool, redescribe } from './define.js';
import { share, splitByVersion } from './format.js';

// Shared parameter (described in the server instructions): no description of its own.
const test = z.string().max(63);
const pair = z.tuple([z.number(), z.number()]);
const interval = pair.nullable();
const split = z.record(z.string(), z.number());

const Report = {
  test: z.string(),
  state: z.enum(TEST_STATES),
  model: z.string(),
  endpoint: z.string(),
  control: z.string(),
  treatment: z.string(),
  primary_metric: z.string(),
  arms: z.array(
    z.object({
      arm: z.enum(['control', 'treatment']),
      version: z.string(),
      deployed_model_id: z.string(),
      requests: z.number(),
      outcomes: z.number(),
      estimate: z.number().nullable(),
      ci: interval,
      error_rate: z.number().nullable(),
      p50_ms: z.number().nullable(),
      p95_ms: z.number().nullable(),
      cost_per_request_usd: z.number().nullable(),
    }),
  ),
  effect: z
    .object({
      absolute: z.number(),
      relative: z.number().nullable(),
      relative_ci: interval,
      ci: pair,
      p_value: z.number(),
      sequential_ci: pair,
    })
    .nullable()
    .describe('treatment - control; ci/p_value fixed-horizon Welch, sequential_ci always-valid'),
  srm: z.object({ observed: pair, expected_share: pair, p_value: z.number(), flagged: z.boolean() }).nullable(),
  guardrails: z.array(
    z.object({
      metric: z.string(),
      margin: z.number(),
      margin_kind: z.enum(['absolute', 'relative']),
      control: z.number().nullable(),
      treatment: z.number().nullable(),
      status: z.enum(['pass', 'fail', 'inconclusive']),
      interval,
    }),
  ),
  progress: z.object({
    outcomes: pair,
    planned: pair,
    fraction: z.number(),
    requests: z.number(),
    max_requests: z.number(),
    elapsed_seconds: z.number(),
    max_duration_seconds: z.number(),
  }),
  verdict: z.enum(VERDICTS),
  sentence: z.string(),
  sample_size: z.object({
    control: z.number(),
    treatment: z.number(),
    total: z.number(),
    fixed_horizon_total: z.number(),
    baseline: z.number(),
    sd: z.number(),
    baseline_from: z.string(),
    method: z.string(),
  }),
  decision: z
    .object({
      action: z.string(),
      by: z.string(),
      verdict: z.string(),
      force: z.boolean(),
      reason: z.string().nullable(),
      at: z.number(),
      promoted: z.string().nullable(),
      undeployed: z.array(z.string()),
    })
    .nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
};

/** The trimmed report an agent reads (the frozen plan's key numbers included). */
export function reportOut(r: TestReport) {
  const { baseline, sd, baseline_from, control, treatment, total, fixed_horizon_total, method } = r.plan.sample_size;
  return {
    test: r.test,
    state: r.state,
    model: r.plan.model,
    endpoint: r.plan.endpoint,
    control: r.plan.control.version,
    treatment: r.plan.treatment.version,
    primary_metric: r.plan.primary_metric,
    arms: r.arms,
    effect: r.effect,
    srm: r.srm ? { ...r.srm, observed: r.srm.observed, expected_share: r.srm.expected_share } : null,
    guardrails: r.guardrails,
    progress: r.progress,
    verdict: r.verdict,
    sentence: r.sentence,
    sample_size: { control, treatment, total, fixed_horizon_total, baseline, sd, baseline_from, method },
    decision: r.decision
      ? {
          action: r.decision.action,
          by: r.decision.by,
          verdict: r.decision.verdict,
          force: r.decision.force,
          reason: r.decision.reason,
          at: r.decision.at,
          promoted: r.decision.promoted,
          undeployed: r.decision.undeployed,
        }
      : null,
    started_at: new Date(r.plan.started_at).toISOString(),
    ended_at: r.ended_at ? new Date(r.ended_at).toISOString() : null,
  };
}

/** Both arms as versions, with the deployed-model IDs they serve as. */
const arms = (r: TestReport) => {
  const { model, treatment, control } = r.plan;
  return `treatment ${model}@${treatment.version} (deployed model ${treatment.deployed_model_id}) vs control ${model}@${control.version} (deployed model ${control.deployed_model_id})`;
};

const headline = (r: TestReport) =>
  `A/B test ${r.test} (${r.state}): ${arms(r)} on endpoint ${r.plan.endpoint_name} (${r.plan.endpoint}), ${share(r.plan.traffic_percentage)} to the treatment. Verdict ${r.verdict}: ${r.sentence}${r.decision?.promoted ? ` Promoted ${r.plan.model}@${r.decision.promoted}.` : ''}${r.decision?.undeployed.length ? ` Undeployed ${r.decision.undeployed.map((v) => `${r.plan.model}@${v}`).join(', ')}.` : ''}`;

export const startAbTest = defineTool({
  name: 'start_ab_test',
  description:
    'Start an A/B test of treatment vs control (versions of model) on an endpoint: deploys the treatment if needed, sets the split, freezes the plan (sample per arm by power analysis). Returns splits, sample size, report.',
  toolset: 'experiments',
  kind: 'destructive',
  input: {
    ...redescribe(StartAbTestInput, {
      endpoint: null,
      name: null,
      model: null,
      control: null,
      treatment: null,
      power: null,
    }),
    ...safetyInput,
  },
  output: {
    started: z.boolean(),
    test: z.string(),
    split_before: split,
    split_after: split,
    deploy_treatment: z.boolean(),
    sample_size: Report.sample_size,
    max_requests: z.number(),
    report: z.object(Report).nullable(),
  },
  async handler(args, ctx) {
    const s = await ctx.lib.experiments.planStart(args);
    const ss = s.plan.sample_size;
    const sizing = `needs ${ss.control.toLocaleString('en-US')} / ${ss.treatment.toLocaleString('en-US')} outcomes (control / treatment; fixed-horizon would need ${ss.fixed_horizon_total.toLocaleString('en-US')} in all), baseline ${Number(ss.baseline.toPrecision(3))} from ${ss.baseline_from}`;
    const { deployed } = await ctx.lib.endpoints.getEndpoint(s.plan.endpoint); // names the split's IDs by version
    const what = `start A/B test ${args.name}: split ${splitByVersion(s.split_after, deployed)} on endpoint ${s.plan.endpoint_name} (${s.plan.endpoint})${s.deploy_treatment ? ` after deploying ${args.model}@${args.treatment}` : ''}`;
    const base = {
      test: args.name,
      split_before: s.split_before,
      split_after: s.split_after,
      deploy_treatment: s.deploy_treatment,
      sample_size: { ...ss },
      max_requests: s.plan.max_requests,
    };
    if (args.dry_run || (s.moves_traffic && !(await confirmed(ctx, args, what)))) {
      return {
        structured: { ...base, started: false, report: null },
        text: `Dry run: would ${what}. The test ${sizing}.`,
      };
    }
    const r = await ctx.lib.experiments.start(args);
    const now = await ctx.lib.endpoints.getEndpoint(r.plan.endpoint);
    return {
      structured: { ...base, split_after: now.traffic_split, started: true, report: reportOut(r) },
      text: `Started A/B test ${r.test}: ${arms(r)}; the treatment gets ${share(r.plan.traffic_percentage)} on endpoint ${r.plan.endpoint_name} (${r.plan.endpoint}). It ${sizing}. Read it with get_ab_test test="${r.test}".`,
    };
  },
});

export const getAbTest = defineTool({
  name: 'get_ab_test',
  description:
    'Live A/B test results, valid at any time: per-arm estimates, effect with Welch and always-valid intervals, SRM, guardrails, progress, verdict with its numbers.',
  toolset: 'experiments',
  kind: 'read',
  input: { test },
  output: Report,
  async handler(args, { lib }) {
    const r = await lib.experiments.get(args.test);
    return { structured: reportOut(r), text: headline(r) };
  },
});

export const listAbTests = defineTool({
  name: 'list_ab_tests',
  description: 'A/B tests (running and concluded): versions, state, last verdict.',
  toolset: 'experiments',
  kind: 'read',
  input: { state: z.enum(TEST_STATES).optional() },
  output: {
    tests: z.array(
      z.object({
        test: z.string(),
        state: z.enum(TEST_STATES),
        model: z.string(),
        control: z.string(),
        treatment: z.string(),
        endpoint: z.string(),
        primary_metric: z.string(),
        verdict: z.string().nullable(),
        started_at: z.string().nullable(),
      }),
    ),
    count: z.number(),
  },
  async handler(args, { lib }) {
    const tests = (await lib.experiments.list())
      .filter((t) => !args.state || t.state === args.state)
      .map((t) => ({
        test: t.test,
        state: t.state,
        model: t.plan.model,
        control: t.plan.control.version,
        treatment: t.plan.treatment.version,
        endpoint: t.plan.endpoint,
        primary_metric: t.plan.primary_metric,
        verdict: t.decision ? `${t.decision.action} (${t.decision.by})` : t.last_verdict,
        started_at: t.plan.started_at ? new Date(t.plan.started_at).toISOString() : null,
      }));
    const lines = tests.map(
      (t) =>
        `${t.test} ${t.state}: ${t.model}@${t.treatment} vs ${t.model}@${t.control} on endpoint ${t.endpoint} (${t.verdict ?? 'no verdict yet'})`,
    );
    return {
      structured: { tests, count: tests.length },
      text: `${tests.length} A/B test(s)${lines.length ? `: ${lines.join('; ')}` : ''}.`,
    };
  },
});

export const concludeAbTest = defineTool({
  name: 'conclude_ab_test',
  description:
    'End an A/B test: ship (treatment to 100%, promoted to production), rollback (treatment to 0%), abandon (no change) or auto (per verdict); undeploy also removes the loser. Against the verdict: force and a reason. Returns plan, report.',
  toolset: 'experiments',
  kind: 'destructive',
  input: {
    test,
    action: z.enum(ACTIONS).default('auto'),
    force: z.boolean().default(false),
    reason: z.string().max(500).optional(),
    undeploy: z.boolean().default(false),
    ...safetyInput,
  },
  output: {
    concluded: z.boolean(),
    test: z.string(),
    action: z.enum(['ship', 'rollback', 'abandon']),
    verdict: z.enum(VERDICTS),
    against_verdict: z.boolean(),
    split_after: split.nullable(),
    promote: z.string().nullable(),
    undeploy: z.array(z.string()),
    report: z.object(Report).nullable(),
  },
  async handler(args, ctx) {
    const { plan, report } = await ctx.lib.experiments.planConclude(args.test, args);
    const model = report.plan.model;
    const { deployed } = await ctx.lib.endpoints.getEndpoint(report.plan.endpoint); // names the split's IDs by version
    const what = `${plan.action} A/B test ${plan.test}${plan.split_after ? `: split ${splitByVersion(plan.split_after, deployed)}` : ''}${plan.promote ? `, promote ${model}@${plan.promote} to production` : ''}${plan.undeploy.length ? `, undeploy ${plan.undeploy.map((v) => `${model}@${v}`).join(', ')}` : ''}`;
    // The reasons and numbers behind the plan are the report's: its headline follows once concluded.
    const base = { ...plan, undeploy: plan.undeploy };
    if (!(await confirmed(ctx, args, what)))
      return {
        structured: { ...base, concluded: false, report: null },
        text: `Dry run: would ${what}. Verdict ${plan.verdict}: ${plan.sentence}`,
      };
    const r = await ctx.lib.experiments.conclude(args.test, args);
    return {
      structured: { ...base, concluded: true, report: reportOut(r) },
      text: `Concluded: ${what}. ${headline(r)}`,
    };
  },
});

export const experimentTools = [startAbTest, getAbTest, listAbTests, concludeAbTest];
