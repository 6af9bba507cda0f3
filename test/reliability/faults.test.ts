// The whole lifecycle on a flaky network: the emulator fails a share of gRPC calls with UNAVAILABLE
// (--faults unavailable=0.2) and a seeded proxy in front of its GCS fails a share of HTTP requests
// with 503 (half before the request reaches GCS, half after: an ambiguous failure). An agent retries
// each transient failure a bounded number of times. Each run ends with the invariants
// (invariants.ts) and no duplicated resource: one endpoint per display name, one deployment per
// version, one version per semver; success reported only for what is stored.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { describeViolations, tally, type Violation } from './invariants.js';
import {
  type AgentLog,
  agentCall,
  cleanupDirs,
  figures,
  haloLog,
  newAgentLog,
  prng,
  putRouter,
  type RStack,
  routerArgs,
  SEED,
  scaled,
  startRStack,
  task,
  textOf,
} from './support.js';

const RUNS = scaled(3);
const GRPC_UNAVAILABLE = Number(process.env.RELIABILITY_UNAVAILABLE ?? 0.2);
const GCS_FAULTS = Number(process.env.RELIABILITY_GCS_FAULTS ?? 0.05);
/** Tools a retry must converge on (annotated idempotent, or made idempotent by issue 9). */
const MUST_CONVERGE = new Set([
  'upload_model',
  'promote_model',
  'update_model_metrics',
  'deploy_model',
  'register_tuned_model',
]);

const started = Date.now();
const runs: Record<string, unknown>[] = [];
const allViolations: Violation[] = [];

afterAll(() => {
  figures('faults.test.ts', {
    fault_runs: runs.length,
    grpc_unavailable: GRPC_UNAVAILABLE,
    gcs_fault_rate: GCS_FAULTS,
    tool_calls: runs.reduce((n, r) => n + (r.calls as number), 0),
    attempts: runs.reduce((n, r) => n + (r.attempts as number), 0),
    transient_failures: runs.reduce((n, r) => n + (r.transient as number), 0),
    gcs_faults: runs.reduce((n, r) => n + (r.gcs_faults as number), 0),
    violations: allViolations.length,
    by_invariant: tally(allViolations),
    runs,
    seconds: (Date.now() - started) / 1000,
  });
  cleanupDirs();
});

/** An HTTP proxy in front of the emulator's GCS that fails a seeded share of requests with 503. */
async function flakyGcs(upstreamPort: number, rate: number, seed: number) {
  const rand = prng(seed);
  let faults = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const r = rand();
    const fail = () => {
      faults++;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 503, message: 'injected fault: service unavailable' } }));
    };
    if (r < rate / 2) {
      req.resume();
      req.on('end', fail);
      return;
    }
    const up = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (ur) => {
        if (r < rate) {
          // Processed upstream, answer lost: the client cannot tell whether it happened.
          ur.resume();
          ur.on('end', fail);
          return;
        }
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    stats: () => ({ faults, requests }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Math.random replaced by a seeded stream while `fn` runs (the emulator's fault draws use it). */
async function seededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = prng(seed);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}

async function lifecycle(run: number): Promise<Record<string, unknown>> {
  const seed = (SEED + run * 7919) >>> 0;
  const t0 = Date.now();
  let gcs: Awaited<ReturnType<typeof flakyGcs>> | undefined;
  const s: RStack = await startRStack({
    backend: async (emu, base) => {
      gcs = await flakyGcs(emu.httpPort, GCS_FAULTS, seed);
      if (base.kind !== 'emulator') throw new Error('expected an emulator backend');
      const endpoint = base.endpoint;
      // Everything the emulator's endpoint carries (a secret, when it has one) goes along.
      return { ...base, endpoint: async () => ({ ...(await endpoint()), httpPort: gcs!.port }) };
    },
  });
  const log: AgentLog = newAgentLog();
  const problems: string[] = [];
  const slow: Record<string, number> = {};
  const call = async (name: string, args: Record<string, unknown>) => {
    const t = Date.now();
    const r = await agentCall(s.call, log, name, args);
    slow[name] = (slow[name] ?? 0) + Date.now() - t;
    return r;
  };
  const must = async (name: string, args: Record<string, unknown>): Promise<Record<string, any>> => {
    const r = await call(name, args);
    if (r.isError) problems.push(`${name} ${JSON.stringify(args).slice(0, 120)}: ${textOf(r).slice(0, 300)}`);
    return (r.structuredContent ?? {}) as Record<string, any>;
  };
  try {
    // Setup without faults: artifacts and an input log in GCS.
    const art = await putRouter(s.emu, `flt-${run}/router`);
    await s.emu.gcs.write('gs://vertex-mcp-emulator/flt/in/halo.jsonl', haloLog(400, run));
    s.emu.setFaults(`unavailable=${GRPC_UNAVAILABLE}`);
    return await seededRandom(seed, async () => {
      const m = 'flt';
      await must('upload_model', routerArgs(m, '1.0.0', art, { performance_metrics: { accuracy: 0.8 } }));
      await must('upload_model', routerArgs(m, '1.1.0', art, { performance_metrics: { accuracy: 0.82 } }));
      await must('update_model_metrics', {
        name: m,
        version: '1.1.0',
        cost_metrics: { cost_per_1k_requests_usd: 0.3 },
      });
      await must('promote_model', { name: m, version: '1.0.0', target_stage: 'staging' });
      await must('promote_model', { name: m, version: '1.0.0', target_stage: 'production' });
      await must('create_endpoint', { display_name: 'flt-ep' });
      await must('deploy_model', { endpoint: 'flt-ep', name: m, version: '1.0.0', traffic_percentage: 100 });
      const ab = {
        endpoint: 'flt-ep',
        name: 'flt-test',
        model: m,
        control: '1.0.0',
        treatment: '1.1.0',
        primary_metric: 'accuracy',
        minimum_detectable_effect: 0.1,
        baseline: { value: 0.7 },
        confirm: true,
      };
      const startR = await call('start_ab_test', ab);
      if (startR.isError) {
        // A retry of a start that happened answers "already exists": the test must be there.
        const got = await call('get_ab_test', { test: 'flt-test' });
        if (got.isError) problems.push(`start_ab_test: ${textOf(startR).slice(0, 300)}`);
      }
      let acked = 0;
      for (let i = 0; i < 12; i++) {
        const p = await call('predict', { endpoint: 'flt-ep', instances: [task(2000 + i).text] });
        if (p.isError) continue;
        const sc = p.structuredContent as Record<string, any>;
        const out = (sc.predictions[0] as { output?: string }).output;
        const f = await call('record_feedback', {
          prediction_id: sc.prediction_ids[0],
          correct: out === task(2000 + i).agent,
        });
        if (!f.isError) acked++;
      }
      const report = await must('get_ab_test', { test: 'flt-test' });
      const outcomes = (report.arms ?? []).reduce((n: number, a: { outcomes: number }) => n + a.outcomes, 0);
      if (report.arms && outcomes !== acked) {
        problems.push(`acknowledged feedback lost: ${acked} acknowledged, the A/B test counts ${outcomes}`);
      }
      await must('conclude_ab_test', {
        test: 'flt-test',
        action: 'ship',
        force: true,
        reason: 'fault run',
        confirm: true,
      });

      // Datasets to gs:// through the flaky GCS: success only when every file is stored.
      const out = 'gs://vertex-mcp-emulator/flt/out';
      const prep = await call('prepare_dataset', {
        source: 'halo_routing',
        input: 'gs://vertex-mcp-emulator/flt/in/halo.jsonl',
        output: out,
        min_success_rate: 0.5,
      });
      if (!prep.isError) {
        const sc = prep.structuredContent as Record<string, any>;
        for (const uri of [sc.train_uri, sc.stats_uri, sc.validation_uri].filter(Boolean)) {
          if (!s.emu.gcs.exists(uri)) problems.push(`prepare_dataset reported ${uri}, which is not stored`);
        }
      }
      const nowhere = await s.call('prepare_dataset', {
        source: 'halo_routing',
        input: 'gs://vertex-mcp-emulator/flt/in/halo.jsonl',
        output: 'gs://no-such-bucket-vertex-mcp/out',
      });
      if (!nowhere.isError) problems.push('prepare_dataset into a bucket that does not exist reported success');

      // Faults off for the checks.
      s.emu.setFaults('');
      const { violations, counts } = await s.check({
        uniqueEndpointNames: true,
        datasets: [out],
        tempRoots: [s.dataDir],
      });
      const prod = await s.ok('get_model', { name: m });
      if (prod.version !== '1.1.0')
        problems.push(`after shipping, production is ${prod.version} (${prod.deployment_stage})`);
      const diverged = log.diverged.filter((d) => MUST_CONVERGE.has(d.tool));
      for (const d of diverged) {
        violations.push({
          invariant: 'a retry after a transient failure converges',
          where: d.tool,
          detail: `${d.args} -> ${d.history.join(' | ')}`,
        });
      }
      allViolations.push(...violations);
      const g = gcs!.stats();
      return {
        run,
        seed,
        calls: log.calls,
        attempts: log.attempts,
        transient: log.transientFailures,
        gcs_requests: g.requests,
        gcs_faults: g.faults,
        gave_up: log.gaveUp.map((x) => `${x.tool}: ${x.history.at(-1)}`),
        diverged_other: log.diverged
          .filter((d) => !MUST_CONVERGE.has(d.tool))
          .map((d) => `${d.tool}: ${d.history.join(' | ').slice(0, 300)}`),
        problems,
        violations,
        counts,
        seconds: (Date.now() - t0) / 1000,
        ms_by_tool: slow,
      };
    });
  } finally {
    await s.close();
    await gcs?.close();
  }
}

describe(`the lifecycle under faults (${RUNS} runs, unavailable=${GRPC_UNAVAILABLE}, GCS ${GCS_FAULTS})`, () => {
  for (let run = 0; run < RUNS; run++) {
    it(`run ${run}: invariants hold, nothing duplicated, every step converges`, async () => {
      const r = await lifecycle(run);
      runs.push({ ...r, violations: (r.violations as Violation[]).length });
      const violations = r.violations as Violation[];
      expect(violations, describeViolations(violations)).toEqual([]);
      expect(r.problems, 'steps that failed or reported what is not there').toEqual([]);
      expect(r.gave_up, 'calls still failing after the bounded retries').toEqual([]);
    }, 120_000);
  }
});
