// Crashes: the built CLI (`node dist/src/cli.js serve --data-dir <dir>`, over stdio with the MCP
// StdioClientTransport) is killed with SIGKILL at seeded offsets inside promote_model, upload_model,
// prepare_dataset, deploy_model and a tuning job (submit with wait: training, then registration, in
// the embedded emulator), and restarted on the same data directory. Every gRPC call waits 25 ms
// (--faults latency=25ms), so an operation spans a few hundred milliseconds and the offsets land
// between its steps: per operation, offsets stratified over the first nine tenths of its calibrated
// duration plus one in its last tenth (commits); prepare_dataset is also killed on the first file or
// object its commit makes visible (local and gs:// outputs). CI: 2 kills per operation (4 for
// prepare_dataset); RELIABILITY_SCALE=n gives n+1 (n+3).
//
// After each kill the stopped data directory is opened by an in-process emulator and checked
// through the official clients (invariants.ts): registry and endpoint invariants and the stage
// get_model reports must hold at once — label-level ones may wait for a repair when the server
// lists a `check_model` tool. Then the agent retries the interrupted call, which must converge (the
// state one uninterrupted call gives). A last test checks every invariant, stray files included,
// once all retries are done.
//
// The standalone emulator (`node dist/src/cli.js emulator`, the server on --emulator-endpoint) is
// killed the same way in the middle of promote, upload and deploy, restarted on the same data
// directory and gRPC port, and checked; a server still pointing at the old GCS port must not
// report a dataset it did not store.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibrary, VertexClients } from '../../src/lib/index.js';
import { emulatorBackend, type ToolResult } from '../helpers.js';
import { checkInvariants, describeViolations, INV, type Violation } from './invariants.js';
import {
  cleanupDirs,
  emulatorClientConfig,
  emulatorTakesToken,
  errorCode,
  figures,
  haloLog,
  kill9,
  prng,
  routerArtifact,
  routingJsonl,
  SEED,
  type Spawned,
  type SpawnedEmulator,
  scaled,
  spawnEmulator,
  spawnedBackend,
  spawnServer,
  TRANSIENT,
  textOf,
  tmpDir,
  withEmulatorOn,
} from './support.js';

const PROJECT = 'vertex-mcp-local'; // what the CLI uses in emulator mode
const LATENCY = process.env.RELIABILITY_LATENCY ?? '25ms';
/** Kills per operation at offsets: stratified over the first 90% of the duration, plus one in the last 10%. */
const STRATA = scaled(1);
const CONTAINER = 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest';

const started = Date.now();
const stats: Record<string, Record<string, unknown>> = {};
const allViolations: Violation[] = [];

afterAll(() => {
  figures('crash.test.ts', {
    latency: LATENCY,
    kills: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v.kills])),
    operations: stats,
    violations: allViolations.length,
    seconds: (Date.now() - started) / 1000,
  });
  cleanupDirs();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Cycle {
  /** Call made, not killed, before the op (e.g. the version to promote). */
  prepare?: (srv: Spawned) => Promise<void>;
  tool: string;
  args: Record<string, unknown>;
  /** After the retry, through the restarted server: what the converged state must show. */
  expectAfter?: (srv: Spawned) => Promise<string[]>;
  /** The agent's retry after the restart; default: the same call again until not transient. */
  retry?: (srv: Spawned) => Promise<string[]>;
  models: string[];
}

type Has = (tool: string, prop?: string) => boolean;

/** A kill: at an offset after the call, or on the first change in `dir` whose name `match`es. */
interface Plan {
  offset: number;
  cycle?: number;
  dir?: string;
  label?: string;
  match?: (name: string) => boolean;
}

interface CrashOp {
  name: string;
  /** Seeds the data directory through an in-process emulator (state the op needs). */
  seed?: (emu: import('../../src/emulator/index.js').Emulator, lib: ReturnType<typeof createLibrary>) => Promise<void>;
  /** Before the first op, through the server. */
  init?: (srv: Spawned, work: string) => Promise<void>;
  /** Dataset outputs to check. */
  datasets?: (work: string) => string[];
  /** Kills on the op's first visible change in a directory (its commit), besides the offsets. */
  watch?: (work: string, dataDir: string) => Omit<Plan, 'offset'>[];
  cycle: (i: number, work: string, has: Has) => Cycle;
}

/** Invariants a repair path (check_model) may restore after a crash; the others must hold at once. */
const LABEL_LEVEL = new Set<string>([INV.labelMatchesAliases, INV.oneProductionLabel]);

/** Opens a stopped server's `dataDir` with an in-process emulator and checks the invariants. */
async function checkDir(dataDir: string, work: string, datasets: string[]) {
  return withEmulatorOn(dataDir, async (emu) => {
    const backend = { ...emulatorBackend(emu), project: PROJECT };
    const lib = createLibrary(backend, { allowedRoots: [work] });
    const clients = new VertexClients(backend);
    try {
      const { violations } = await checkInvariants({
        clients,
        reportedStage: async (n, v) => (await lib.registry.getModel(n, v)).deployment_stage,
        datasets,
        tempRoots: [work, dataDir],
      });
      return violations;
    } finally {
      await clients.close();
      await lib.close();
    }
  });
}

/** The agent's retry: the same call until it is not transient (a few times). */
async function sameAgain(srv: Spawned, tool: string, args: Record<string, unknown>): Promise<ToolResult> {
  let r: ToolResult = await srv.call(tool, args);
  for (let i = 0; i < 8 && r.isError && TRANSIENT.has(errorCode(r) ?? ''); i++) {
    await sleep(250 * (i + 1));
    r = await srv.call(tool, args);
  }
  return r;
}

/** check_model (when the server lists it) repairs what a crash left; arguments from its schema. */
async function repair(srv: Spawned, models: string[]): Promise<string[]> {
  const tool = (await srv.client.listTools()).tools.find((t) => t.name === 'check_model');
  if (!tool) return [];
  const props = Object.keys((tool.inputSchema as { properties?: Record<string, unknown> }).properties ?? {});
  const notes: string[] = [];
  for (const name of models) {
    const args: Record<string, unknown> = { name };
    for (const k of ['confirm', 'fix', 'repair', 'apply']) if (props.includes(k)) args[k] = true;
    const r = await srv.call('check_model', args);
    if (r.isError && errorCode(r) !== 'NOT_FOUND') notes.push(`check_model ${name}: ${textOf(r).slice(0, 200)}`);
  }
  return notes;
}

/** A server on `dataDir`; working directory and allowed root `work`. Its emulator starts on first use. */
const serve = (dataDir: string, work: string) =>
  spawnServer(
    ['--data-dir', dataDir, '--allow-path', work, '--faults', `latency=${LATENCY}`, '--alert-interval', '0'],
    {},
    work,
  );

/** The first call pays for starting the emulator and loading the Google clients. */
async function warm(srv: Spawned) {
  await srv.call('list_models', {}, 60_000);
  await srv.call('list_endpoints', {}, 60_000);
}

/** What the running server lists: tools and their input properties (features being built). */
async function schemaOf(srv: Spawned): Promise<Has> {
  const tools = (await srv.client.listTools()).tools;
  return (tool, prop) => {
    const t = tools.find((x) => x.name === tool);
    if (!t) return false;
    return prop === undefined || Object.hasOwn((t.inputSchema as { properties?: object }).properties ?? {}, prop);
  };
}

/**
 * One data directory and one server for every operation, as a user's machine would have: each op is
 * calibrated on the running server, then killed at its offsets. After a kill the stopped directory
 * is checked while the next server boots (its emulator, and so the directory's lock, waits for the
 * first call); the next server repairs (when it can) and the agent retries. Violations found after
 * a kill are those new since the previous check: left by this kill, or by the retry before it.
 * Stray files are judged once every retry is done (a killed run's leftovers may wait for the next
 * run into the same output), in the last test.
 */
const ctx = {
  base: '',
  dataDir: '',
  work: '',
  srv: null as Spawned | null,
  has: (() => false) as Has,
  seen: new Set<string>(),
  datasets: [] as string[],
  /** The last retry before the next kill: what a violation found after that kill may come from. */
  lastRetry: 'none',
};

async function checkAndRestart(): Promise<Violation[]> {
  const [violations, next] = await Promise.all([
    checkDir(ctx.dataDir, ctx.work, ctx.datasets),
    serve(ctx.dataDir, ctx.work),
  ]);
  ctx.srv = next;
  ctx.has = await schemaOf(next);
  const fresh = violations.filter((v) => !ctx.seen.has(`${v.invariant}|${v.where}|${v.detail}`));
  for (const v of violations) ctx.seen.add(`${v.invariant}|${v.where}|${v.detail}`);
  allViolations.push(...fresh);
  return fresh;
}

async function runKills(op: CrashOp): Promise<string[]> {
  const rand = prng(SEED ^ [...op.name].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619), 2166136261));
  const st = {
    kills: 0,
    killed_mid_call: 0,
    completed_before_kill: 0,
    calibrated_ms: 0,
    offsets_ms: [] as number[],
    new_violations_after_kills: 0,
    label_level_repaired: 0,
    retry_failures: 0,
    check_model: ctx.has('check_model'),
    notes: [] as string[],
    /** Where the time goes: checking the stopped directory while the next server boots; the
     * agent's retry (the first calls start the server's emulator and load the Google clients). */
    ms: { check_and_boot: 0, retry: 0 },
  };
  stats[op.name] = st;
  const failures: string[] = [];
  const { work } = ctx;
  // Calibration: the op twice (cycles 0 and 50), not killed; the faster run is its duration (the
  // first may pay for loading a client or a model).
  const durations: number[] = [];
  for (const i of [0, 50]) {
    const c0 = op.cycle(i, work, ctx.has);
    await c0.prepare?.(ctx.srv!);
    const t0 = performance.now();
    const r0 = await ctx.srv!.call(c0.tool, c0.args, 120_000);
    durations.push(performance.now() - t0);
    if (r0.isError) throw new Error(`${op.name} calibration failed: ${textOf(r0)}`);
  }
  st.calibrated_ms = Math.round(Math.min(...durations));
  // Strata over the first nine tenths, then one kill in the last tenth.
  const plans: Plan[] = [];
  for (let k = 0; k < STRATA; k++) plans.push({ offset: ((k + rand()) / STRATA) * 0.9 * st.calibrated_ms });
  plans.push({ offset: (0.9 + 0.1 * rand()) * st.calibrated_ms });
  for (const w of op.watch?.(ctx.work, ctx.dataDir) ?? []) plans.push({ offset: st.calibrated_ms * 1.5, ...w });

  for (let k = 0; k < plans.length; k++) {
    const plan = plans[k]!;
    const srv = ctx.srv!;
    const c = op.cycle(plan.cycle ?? k + 1, work, ctx.has);
    await c.prepare?.(srv);
    // A watched kill fires on the first change the operation makes in `dir` (its commit), with the
    // offset as a fallback.
    let fired: number | null = null;
    const watcher = plan.dir
      ? fs.watch(plan.dir, (_event, name) => {
          if (fired !== null || !name || !plan.match!(String(name))) return;
          fired = performance.now() - sent;
          try {
            process.kill(srv.pid, 'SIGKILL');
          } catch {
            // gone
          }
        })
      : null;
    const sent = performance.now();
    const pending = srv.call(c.tool, c.args, 120_000).then(
      (r) => ({ r, ms: performance.now() - sent }),
      () => null,
    );
    const due = Math.round(plan.offset);
    while (fired === null && performance.now() - sent < due)
      await sleep(plan.dir ? 5 : Math.max(0, due - (performance.now() - sent)));
    watcher?.close();
    const offset = Math.round(fired ?? performance.now() - sent);
    await kill9(srv.pid);
    st.kills++;
    st.offsets_ms.push(offset);
    const outcome = await pending;
    const answered = Boolean(outcome && outcome.ms <= offset);
    if (answered) st.completed_before_kill++;
    else st.killed_mid_call++;
    await srv.close();
    const how = plan.dir ? (fired !== null ? ` on its first ${plan.label}` : ` (no ${plan.label} seen)`) : '';
    const where = `kill ${k + 1} of ${c.tool} at ${offset} ms${how}${answered ? ' (after it answered)' : ''} [or the retry before: ${ctx.lastRetry}]`;

    let t = performance.now();
    const fresh = await checkAndRestart();
    st.ms.check_and_boot += Math.round(performance.now() - t);
    st.new_violations_after_kills += fresh.length;
    const repairable = ctx.has('check_model');
    for (const v of fresh) {
      if (v.invariant === INV.noStrayFiles) continue; // judged after the last retry
      if (LABEL_LEVEL.has(v.invariant) && repairable) continue; // repaired below, judged at the end
      failures.push(`${where}: [${v.invariant}] ${v.where}: ${v.detail}`);
    }
    const next = ctx.srv!;
    t = performance.now();
    if (repairable && fresh.some((v) => LABEL_LEVEL.has(v.invariant))) {
      st.notes.push(...(await repair(next, c.models)));
      st.label_level_repaired++;
    }
    // The agent retries the interrupted call; the converged state is what one call gives.
    const problems = c.retry
      ? await c.retry(next)
      : await sameAgain(next, c.tool, c.args).then((r) =>
          r.isError ? [`retry of ${c.tool}: ${textOf(r).slice(0, 300)}`] : [],
        );
    st.retry_failures += problems.length;
    if (!problems.length && c.expectAfter) problems.push(...(await c.expectAfter(next)));
    st.ms.retry += Math.round(performance.now() - t);
    ctx.lastRetry = `${c.tool} after kill ${k + 1}`;
    for (const p of problems) failures.push(`kill ${k + 1} of ${c.tool} at ${offset} ms${how}, after the retry: ${p}`);
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// The operations

const semver = (i: number) => `1.${i + 1}.0`;

const OPS: CrashOp[] = [
  {
    name: 'promote_model',
    seed: async (_emu, lib) => {
      await lib.registry.uploadModel({ name: 'cr-promo', version: '1.0.0', serving_container_uri: CONTAINER });
      await lib.registry.promoteModel('cr-promo', '1.0.0', { target_stage: 'production', force: true });
    },
    cycle: (i) => ({
      prepare: async (srv) => {
        const r = await srv.call('upload_model', {
          name: 'cr-promo',
          version: semver(i),
          serving_container_uri: CONTAINER,
        });
        if (r.isError) throw new Error(`upload ${semver(i)}: ${textOf(r)}`);
      },
      tool: 'promote_model',
      args: { name: 'cr-promo', version: semver(i), target_stage: 'production', force: true },
      models: ['cr-promo'],
      retry: async (srv) => {
        const r = await sameAgain(srv, 'promote_model', {
          name: 'cr-promo',
          version: semver(i),
          target_stage: 'production',
          force: true,
        });
        // Promoting what is already in production may answer "already": the state is what counts.
        if (r.isError && !/already/i.test(textOf(r))) return [`retry of promote_model: ${textOf(r).slice(0, 300)}`];
        return [];
      },
      expectAfter: async (srv) => {
        const prod = (await srv.call('get_model', { name: 'cr-promo' })).structuredContent ?? {};
        return prod.version === semver(i) && prod.deployment_stage === 'production'
          ? []
          : [`production is ${prod.version} (${prod.deployment_stage}), not ${semver(i)}`];
      },
    }),
  },
  {
    name: 'upload_model',
    seed: async (_emu, lib) => {
      await lib.registry.uploadModel({ name: 'cr-up', version: '1.0.0', serving_container_uri: CONTAINER });
    },
    cycle: (i) => {
      const metrics = { accuracy: 0.5 + i / 100, latency_p95_ms: 100 + i };
      const cost = { cost_per_1k_requests_usd: 0.1 + i / 100 };
      return {
        tool: 'upload_model',
        args: {
          name: 'cr-up',
          version: semver(i),
          serving_container_uri: CONTAINER,
          performance_metrics: metrics,
          cost_metrics: cost,
          tags: ['crash'],
        },
        models: ['cr-up'],
        expectAfter: async (srv) => {
          const m = (await srv.call('get_model', { name: 'cr-up', version: semver(i) })).structuredContent ?? {};
          const same = JSON.stringify(m.performance_metrics) === JSON.stringify(metrics);
          const sameCost = JSON.stringify(m.cost_metrics) === JSON.stringify(cost);
          return same && sameCost
            ? []
            : [
                `${semver(i)} carries metrics ${JSON.stringify(m.performance_metrics)} / ${JSON.stringify(m.cost_metrics)}`,
              ];
        },
      };
    },
  },
  {
    name: 'prepare_dataset',
    init: async (_srv, work) => {
      fs.mkdirSync(path.join(work, 'in'), { recursive: true });
      // ~5 MB of routing decisions: a run takes about a second.
      const chunk = haloLog(15_000);
      const fd = fs.openSync(path.join(work, 'in', 'halo.jsonl'), 'w');
      for (let i = 0; i < 4; i++)
        fs.writeSync(
          fd,
          chunk.replace(/item (\d+)/g, (_m, n) => `item ${n}-${i}`),
        );
      fs.closeSync(fd);
    },
    cycle: (i, work, has) => {
      const output = i % 2 === 0 ? path.join(work, 'out', 'ds') : 'gs://vertex-mcp-emulator/crash/ds';
      return {
        tool: 'prepare_dataset',
        args: {
          source: 'halo_routing',
          input: path.join(work, 'in', 'halo.jsonl'),
          output,
          // Each run splits differently, so files from two runs cannot pass for one.
          seed: i,
          validation_fraction: 0.1 + 0.05 * (i % 3),
          min_success_rate: 0.5,
          // Where the server asks for it, replacing a published dataset is said explicitly.
          ...(has('prepare_dataset', 'overwrite') ? { overwrite: true } : {}),
        },
        models: [],
      };
    },
    datasets: (work) => [path.join(work, 'out', 'ds'), 'gs://vertex-mcp-emulator/crash/ds'],
    // The commit: the first file a run makes visible in the local output (hidden temporaries aside),
    // and the first object finalised in the emulator's bucket (a new blob file) for the gs:// one.
    watch: (work, dataDir) => [
      {
        cycle: 100,
        dir: path.join(work, 'out', 'ds'),
        label: 'visible file in the output',
        match: (name) => !name.startsWith('.'),
      },
      {
        cycle: 101,
        dir: path.join(dataDir, 'gcs', 'vertex-mcp-emulator'),
        label: 'object finalised',
        match: (name) => !name.startsWith('.'),
      },
    ],
  },
  {
    name: 'deploy_model',
    seed: async (emu, lib) => {
      await emu.gcs.write('gs://vertex-mcp-emulator/crash/router/model.json', routerArtifact());
      for (const i of [-1, ...Array.from({ length: 2 + STRATA }, (_, j) => j), 50]) {
        await lib.registry.uploadModel({
          name: 'cr-dep',
          version: i < 0 ? '1.0.0' : semver(i),
          serving_container_uri: 'local/text-router',
          artifact_uri: 'gs://vertex-mcp-emulator/crash/router',
        });
      }
      await lib.endpoints.createEndpoint({
        display_name: 'cr-ep',
        machine_type: 'n1-standard-2',
        accelerator_count: 0,
        min_replicas: 1,
        max_replicas: 1,
        target_utilization: 60,
      });
      await lib.endpoints.deployModel({ endpoint: 'cr-ep', name: 'cr-dep', version: '1.0.0', traffic_percentage: 100 });
    },
    cycle: (i) => ({
      tool: 'deploy_model',
      args: { endpoint: 'cr-ep', name: 'cr-dep', version: semver(i), traffic_percentage: 10 },
      models: ['cr-dep'],
      expectAfter: async (srv) => {
        const eps = ((await srv.call('list_endpoints', {})).structuredContent?.endpoints ?? []) as {
          display_name: string;
          deployed: { version: string | null }[];
        }[];
        const n = eps.find((e) => e.display_name === 'cr-ep')?.deployed.filter((d) => d.version === semver(i)).length;
        return n === 1 ? [] : [`${semver(i)} is deployed ${n} time(s) on cr-ep`];
      },
    }),
  },
  {
    name: 'tuning_job',
    seed: async (emu) => {
      await emu.gcs.write('gs://vertex-mcp-emulator/crash/train.jsonl', routingJsonl(0, 900));
    },
    cycle: (i) => {
      const version = semver(i);
      const args = {
        tuning_type: 'supervised',
        base_model: 'local/text-router',
        dataset: { train_uri: 'gs://vertex-mcp-emulator/crash/train.jsonl' },
        hyperparameters: { epochs: 3, early_stopping_patience: 0 },
        output: { name: 'cr-tuned', version },
        wait: true,
        wait_seconds: 40,
      };
      let known = new Set<string>();
      return {
        prepare: async (srv) => {
          const r = await srv.call('list_tuning_jobs', { limit: 200 });
          known = new Set(((r.structuredContent?.jobs ?? []) as { job: string }[]).map((j) => j.job));
        },
        tool: 'submit_tuning_job',
        args,
        models: ['cr-tuned'],
        // The agent never got the job id: it looks for a job started since, else submits again;
        // then waits for the job and registers its output if nothing did.
        retry: async (srv) => {
          const problems: string[] = [];
          const listed = await srv.call('list_tuning_jobs', { limit: 200 });
          let jobs = ((listed.structuredContent?.jobs ?? []) as { job: string }[])
            .map((j) => j.job)
            .filter((j) => !known.has(j));
          if (jobs.length === 0) {
            const r = await sameAgain(srv, 'submit_tuning_job', { ...args, wait: false });
            if (r.isError) return [`resubmitting the tuning job: ${textOf(r).slice(0, 300)}`];
            jobs = [String(r.structuredContent?.job)];
          }
          for (const job of jobs) {
            const done = await srv.call('get_tuning_job', { job, wait: true, wait_seconds: 40 }, 60_000);
            const rec = done.structuredContent as Record<string, any> | undefined;
            if (done.isError || !rec?.done) {
              problems.push(
                `tuning job ${job} after the restart: ${done.isError ? textOf(done).slice(0, 200) : rec?.state}`,
              );
              continue;
            }
            if (rec.state === 'SUCCEEDED' && !rec.registered) {
              const reg = await srv.call('register_tuned_model', { job, name: 'cr-tuned', version });
              if (reg.isError && jobs.length === 1)
                problems.push(`registering ${version}: ${textOf(reg).slice(0, 200)}`);
            }
          }
          return problems;
        },
        expectAfter: async (srv) => {
          const r = await srv.call('get_model', { name: 'cr-tuned', version });
          if (r.isError) return [`cr-tuned ${version} is not registered: ${textOf(r).slice(0, 200)}`];
          const m = r.structuredContent ?? {};
          return m.source === 'tuning_job' && m.provenance?.tuning_job
            ? []
            : [`cr-tuned ${version}: source ${m.source}, provenance ${JSON.stringify(m.provenance)}`];
        },
      };
    },
  },
];

describe(`kill -9 of the server inside each operation (${STRATA + 1} kills each, latency ${LATENCY})`, () => {
  beforeAll(async () => {
    ctx.base = tmpDir('crash');
    ctx.dataDir = path.join(ctx.base, 'data');
    ctx.work = path.join(ctx.base, 'work');
    fs.mkdirSync(ctx.work, { recursive: true });
    ctx.datasets = OPS.flatMap((op) => op.datasets?.(ctx.work) ?? []);
    await withEmulatorOn(ctx.dataDir, async (emu) => {
      const lib = createLibrary({ ...emulatorBackend(emu), project: PROJECT }, { allowedRoots: [ctx.work] });
      try {
        for (const op of OPS) await op.seed?.(emu, lib);
      } finally {
        await lib.close();
      }
    });
    ctx.srv = await serve(ctx.dataDir, ctx.work);
    ctx.has = await schemaOf(ctx.srv);
    await warm(ctx.srv);
    for (const op of OPS) await op.init?.(ctx.srv, ctx.work);
  }, 120_000);
  afterAll(async () => {
    if (ctx.srv) {
      await kill9(ctx.srv.pid);
      await ctx.srv.close();
    }
  });

  for (const op of OPS) {
    it(`${op.name}: invariants hold after each kill, and the retry converges`, async () => {
      const failures = await runKills(op);
      expect(failures, failures.join('\n')).toEqual([]);
    }, 180_000);
  }

  it('after the last retries: every invariant, no stray files', async () => {
    await kill9(ctx.srv!.pid); // idle: everything the retries did is committed
    await ctx.srv!.close();
    const end = await checkDir(ctx.dataDir, ctx.work, ctx.datasets);
    ctx.srv = null;
    stats.converged = { violations: end.length };
    allViolations.push(...end.filter((v) => !ctx.seen.has(`${v.invariant}|${v.where}|${v.detail}`)));
    expect(end, describeViolations(end)).toEqual([]);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// The standalone emulator

describe('kill -9 of the standalone emulator mid-operation', () => {
  it('restarts on the same data directory with the invariants intact; retries converge', async () => {
    const base = tmpDir('crash-emulator');
    const dataDir = path.join(base, 'data');
    const work = path.join(base, 'work');
    fs.mkdirSync(work, { recursive: true });
    const rand = prng(SEED ^ 0xe3);
    const st = {
      kills: 0,
      killed_mid_call: 0,
      violations: 0,
      retry_failures: 0,
      stale_gcs: '',
      ms_setup: 0,
      ms_restart_emulator: 0,
      ms_check_repair_retry: 0,
      ms_stale_gcs: 0,
      anonymous_refused: 'no secret (the CLI has no --emulator-token)',
    };
    const seen = new Set<string>();
    const t0 = performance.now();
    stats.emulator = st;
    const failures: string[] = [];
    // With a per-start secret when the CLI has one: the server and these checks send it.
    const token = emulatorTakesToken() ? `rel-${SEED.toString(16)}-${'0'.repeat(24)}` : undefined;
    let emu: SpawnedEmulator = await spawnEmulator(dataDir, ['--faults', `latency=${LATENCY}`], token);
    const grpcPort = emu.grpcPort;
    const firstGcsPort = emu.httpPort;
    const clientsOf = (e: SpawnedEmulator) => new VertexClients(spawnedBackend(e, PROJECT));
    let clients = clientsOf(emu);
    const storage = await clients.storage();
    await storage.bucket('vertex-mcp-emulator').file('ce/router/model.json').save(routerArtifact());
    if (token) {
      // Both ports refuse a caller without the secret.
      const anon = new VertexClients(spawnedBackend(emu, PROJECT, true));
      const grpcRefused = await (await anon.models()).listModels({ parent: anon.parent }).then(
        () => false,
        () => true,
      );
      const gcsRefused = await (await anon.storage())
        .bucket('vertex-mcp-emulator')
        .getFiles({ maxResults: 1 })
        .then(
          () => false,
          () => true,
        );
      await anon.close();
      st.anonymous_refused = `grpc ${grpcRefused}, gcs ${gcsRefused}`;
      if (!grpcRefused || !gcsRefused)
        failures.push(
          `a caller without the emulator's secret was served (gRPC refused: ${grpcRefused}, GCS refused: ${gcsRefused})`,
        );
    }
    const { args: emuArgs, env } = emulatorClientConfig(emu);
    const srv = await spawnServer([...emuArgs, '--allow-path', work, '--alert-interval', '0'], env, work);
    try {
      const ok = async (tool: string, args: Record<string, unknown>) => {
        const r = await sameAgain(srv, tool, args);
        if (r.isError) throw new Error(`${tool}: ${textOf(r)}`);
        return r.structuredContent as Record<string, any>;
      };
      const router = { serving_container_uri: 'local/text-router', artifact_uri: 'gs://vertex-mcp-emulator/ce/router' };
      await ok('upload_model', { name: 'ce', version: '1.0.0', deployment_stage: 'production', ...router });
      await ok('create_endpoint', { display_name: 'ce-ep' });
      await ok('deploy_model', { endpoint: 'ce-ep', name: 'ce', version: '1.0.0', traffic_percentage: 100 });
      st.ms_setup = Math.round(performance.now() - t0);
      const kinds = ['promote_model', 'upload_model', 'deploy_model'];
      const n = Math.max(3, scaled(3));
      for (let k = 0; k < n; k++) {
        const kind = kinds[k % kinds.length]!;
        const version = `2.${k}.0`;
        if (kind !== 'upload_model') await ok('upload_model', { name: 'ce', version, ...router });
        const [tool, args] =
          kind === 'promote_model'
            ? ['promote_model', { name: 'ce', version, target_stage: 'production', force: true }]
            : kind === 'upload_model'
              ? ['upload_model', { name: 'ce', version, performance_metrics: { accuracy: 0.7 }, ...router }]
              : ['deploy_model', { endpoint: 'ce-ep', name: 'ce', version, traffic_percentage: 10 }];
        const offset = Math.round(rand() * 250);
        const sent = performance.now();
        const pending = srv.call(tool as string, args as Record<string, unknown>).then(
          (r) => ({ r, ms: performance.now() - sent }),
          () => null,
        );
        await sleep(offset);
        await kill9(emu.pid);
        st.kills++;
        // Restarted at once on the same port (a supervisor would): the interrupted call ends, failed
        // or finished by the server's own retries, before the directory is checked.
        await clients.close();
        const te = performance.now();
        const [outcome, restarted] = await Promise.all([
          pending,
          spawnEmulator(dataDir, ['--port', String(grpcPort), '--faults', `latency=${LATENCY}`], token),
        ]);
        st.ms_restart_emulator += Math.round(performance.now() - te);
        emu = restarted;
        if (!outcome || outcome.ms > offset) st.killed_mid_call++;
        clients = clientsOf(emu);
        const t = performance.now();
        const atOnce = await checkInvariants({ clients, tempRoots: [dataDir, work] });
        const repairable = (await schemaOf(srv))('check_model');
        for (const v of atOnce.violations) {
          if (v.invariant === INV.noStrayFiles || (repairable && LABEL_LEVEL.has(v.invariant))) continue;
          failures.push(
            `emulator kill ${k + 1} (${kind} at ${offset} ms), at once: [${v.invariant}] ${v.where}: ${v.detail}`,
          );
        }
        if (repairable && atOnce.violations.some((v) => LABEL_LEVEL.has(v.invariant))) await repair(srv, ['ce']);
        const r = await sameAgain(srv, tool as string, args as Record<string, unknown>);
        if (r.isError && !(kind === 'promote_model' && /already/i.test(textOf(r)))) {
          st.retry_failures++;
          failures.push(`emulator kill ${k + 1}: retry of ${tool}: ${textOf(r).slice(0, 300)}`);
        }
        const after = await checkInvariants({ clients, tempRoots: [dataDir, work] });
        st.ms_check_repair_retry += Math.round(performance.now() - t);
        for (const v of after.violations)
          failures.push(
            `emulator kill ${k + 1} (${kind} at ${offset} ms), after the retry: [${v.invariant}] ${v.where}: ${v.detail}`,
          );
        const fresh = [...atOnce.violations, ...after.violations].filter(
          (v) => !seen.has(`${v.invariant}|${v.where}|${v.detail}`),
        );
        for (const v of fresh) seen.add(`${v.invariant}|${v.where}|${v.detail}`);
        st.violations += fresh.length;
        allViolations.push(...fresh);
      }
      // The server still has the first GCS port, where another service now answers 404 to everything
      // (with nothing there, the storage client's retries only make the same refusal slower): a
      // dataset it reports must be stored.
      const squatter = http.createServer((req, res) => {
        req.resume();
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 404, message: 'Not Found' } }));
      });
      const squatting = emu.httpPort !== firstGcsPort;
      if (squatting) await new Promise<void>((r) => squatter.listen(firstGcsPort, '127.0.0.1', () => r()));
      const tp = performance.now();
      fs.mkdirSync(path.join(work, 'in'), { recursive: true });
      fs.writeFileSync(path.join(work, 'in', 'halo.jsonl'), haloLog(300));
      const prep = await srv.call('prepare_dataset', {
        source: 'halo_routing',
        input: path.join(work, 'in', 'halo.jsonl'),
        output: 'gs://vertex-mcp-emulator/ce/ds',
        min_success_rate: 0.5,
      });
      st.stale_gcs = prep.isError ? `refused: ${textOf(prep).slice(0, 120)}` : 'reported success';
      st.ms_stale_gcs = Math.round(performance.now() - tp);
      if (squatting) await new Promise<void>((r) => squatter.close(() => r()));
      if (!prep.isError) {
        const uri = String(prep.structuredContent?.train_uri ?? '');
        const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
        const [exists] = m ? await (await clients.storage()).bucket(m[1]!).file(m[2]!).exists() : [false];
        if (!exists)
          failures.push(
            'after the emulator restarted on a new GCS port, prepare_dataset reported a dataset that is not stored',
          );
      }
      expect(failures, `${failures.join('\n')}\n${describeViolations([])}`).toEqual([]);
    } finally {
      await srv.close();
      await clients.close();
      try {
        process.kill(emu.pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
  }, 240_000);
});
