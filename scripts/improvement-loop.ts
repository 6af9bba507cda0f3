// The improvement loop, offline on the embedded emulator (`node dist/scripts/improvement-loop.js`
// after `npm run build`; `--seed N`, `--log <dir | gs://prefix>`):
//   route -> record outcomes -> prepare a dataset from the decision log -> tune a candidate ->
//   A/B test it against production -> ship or roll back -> repeat.
// A seeded simulated population stands in for the multi-agent system: five kinds of task, five
// agents; the agent made for a kind succeeds 90% of the time, any other 10%. Production starts
// with the bench's router (bench/router.ts), which knows three of the kinds. The router explores
// (a random agent for 20% of tasks), so the log learns which agent succeeds on the other two.
// Two iterations tune on the log and ship; a third candidate, trained on the log with its outcomes
// inverted (a bug made on purpose), must be rolled back by its A/B test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { deployRouter } from '../bench/router.js';
import type { Library } from '../src/lib/index.js';
import { createRouter, type Decision, type Router } from '../src/router/index.js';
import { rng } from './prng.js';

/** Task kinds: templates whose slots the population fills, and the agent made for them. */
const KINDS = [
  {
    agent: 'coder',
    make: (a: string, b: string) => `write a ${a} function that ${b}`,
    a: ['python', 'javascript', 'go', 'rust', 'java'],
    b: ['parses dates', 'sorts a list', 'validates emails', 'merges two maps', 'reads a csv file'],
  },
  {
    agent: 'sql_agent',
    make: (a: string, b: string) => `query the ${a} table for ${b}`,
    a: ['sales', 'orders', 'users', 'inventory', 'payments'],
    b: ['last month', 'last week', 'yesterday', 'this quarter', 'the top ten rows'],
  },
  {
    agent: 'writer',
    make: (a: string, b: string) => `draft a ${a} about ${b}`,
    a: ['blog post', 'newsletter', 'press release', 'short story', 'tweet thread'],
    b: ['llamas', 'the product launch', 'remote work', 'coffee', 'the team offsite'],
  },
  {
    agent: 'math_agent',
    make: (a: string, b: string) => `compute the ${a} of a ${b} with side 7`,
    a: ['area', 'volume', 'perimeter', 'diagonal', 'surface area'],
    b: ['square', 'cube', 'hexagon', 'triangle', 'pyramid'],
  },
  {
    agent: 'researcher',
    make: (a: string, b: string) => `give a literature review of ${a} for ${b}`,
    a: [
      'mixture of experts',
      'protein folding',
      'quantum error correction',
      'graph neural networks',
      'retrieval augmentation',
    ],
    b: ['a survey', 'a thesis chapter', 'the reading group', 'a grant proposal', 'a workshop'],
  },
] as const;
export const AGENTS = KINDS.map((k) => k.agent);

export interface Population {
  /** A task drawn at random, with the agent made for it. */
  draw(): { task: string; agent: string };
  /** Whether `agent` succeeds on a task made for `right` (seeded: the same run gives the same outcomes). */
  attempt(agent: string, right: string): boolean;
}

export function population(seed: number): Population {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  return {
    draw() {
      const k = pick(KINDS);
      return { task: k.make(pick(k.a), pick(k.b)), agent: k.agent };
    },
    attempt: (agent, right) => r() < (agent === right ? 0.9 : 0.1),
  };
}

export interface PhaseFigures {
  phase: string;
  version: string;
  /** Tasks the production model routed (not explored) and their outcomes. */
  routed: number;
  succeeded: number;
  /** succeeded / routed, with a 95% Wilson interval. */
  share: number;
  ci: [number, number];
}

export interface IterationFigures {
  iteration: number;
  candidate: string;
  dataset: { decisions: number; kept: number; train: number; validation: number };
  tuning: { validation_accuracy: number | null; epochs: number };
  ab: {
    verdict: string;
    sentence: string;
    requests: number;
    arms: { arm: string; version: string; requests: number; estimate: number | null }[];
  };
  action: 'ship' | 'rollback';
  production_after: string;
}

export interface LoopResult {
  phases: PhaseFigures[];
  iterations: IterationFigures[];
  log: { uri: string; routed: number; outcomes: number; feedback: number };
  elapsed_ms: number;
}

export interface LoopOptions {
  lib: Library;
  /** The decision log: a local directory (inside the library's allowed roots) or a gs:// prefix. */
  log: string;
  /** gs:// logs: where segments wait before they are published. */
  spoolDir?: string;
  seed?: number;
  /** Tasks routed in production between iterations. Default 600. */
  phaseTasks?: number;
  /** Most tasks an A/B test may take (it stops at its verdict, typically a few hundred per arm). Default 4000. */
  abTasks?: number;
  /** One line of progress (the script prints it; tests keep it). */
  say?: (line: string) => void;
}

const MODEL = 'halo-router';
const ENDPOINT = 'halo-router-ep';

function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [c - h, c + h];
}

/** Routes `n` tasks and records each outcome; returns the production model's share per version. */
async function serve(router: Router, pop: Population, n: number, after?: (i: number) => Promise<boolean>) {
  const per = new Map<string, { routed: number; ok: number }>();
  for (let i = 1; i <= n; i++) {
    const t = pop.draw();
    const d: Decision = await router.route(t.task);
    const ok = pop.attempt(d.agent, t.agent);
    router.recordOutcome(d, ok);
    if (d.answered_by === 'endpoint' && !d.explored && d.version) {
      const v = per.get(d.version) ?? { routed: 0, ok: 0 };
      v.routed++;
      if (ok) v.ok++;
      per.set(d.version, v);
    }
    if (after && i % 100 === 0 && (await after(i))) break;
  }
  return per;
}

export async function runImprovementLoop(opts: LoopOptions): Promise<LoopResult> {
  const started = Date.now();
  const { lib } = opts;
  const say = opts.say ?? (() => {});
  const seed = opts.seed ?? 1;
  const phaseTasks = opts.phaseTasks ?? 600;
  const abTasks = opts.abTasks ?? 4000;
  const pop = population(seed);
  const explore = rng(seed + 1);

  // Production to start with: the bench's router, tuned on three kinds, promoted and serving.
  await deployRouter(lib, { name: MODEL, endpoint: ENDPOINT, examples: 300, epochs: 2 });
  await lib.registry.promoteModel(MODEL, '1.0.0', { target_stage: 'production', force: true });
  let production = '1.0.0';
  const router = createRouter({
    library: lib,
    endpoint: ENDPOINT,
    agents: AGENTS,
    deadline_ms: 2000,
    fallbacks: [{ kind: 'rule', name: 'coder', route: () => 'coder' }],
    explore: { rate: 0.2, random: explore },
    log: { path: opts.log, ...(opts.spoolDir ? { spool_dir: opts.spoolDir } : {}) },
  });
  const phases: PhaseFigures[] = [];
  const iterations: IterationFigures[] = [];
  const bucket = 'gs://vertex-mcp-emulator/improvement-loop';

  const measure = async (phase: string) => {
    const per = await serve(router, pop, phaseTasks);
    const v = per.get(production) ?? { routed: 0, ok: 0 };
    const f: PhaseFigures = {
      phase,
      version: production,
      routed: v.routed,
      succeeded: v.ok,
      share: v.routed ? v.ok / v.routed : 0,
      ci: wilson(v.ok, v.routed),
    };
    phases.push(f);
    say(
      `${phase}: production ${production} routed ${f.routed} tasks, ${f.succeeded} to an agent that succeeded: ${(f.share * 100).toFixed(1)}% (95% CI ${(f.ci[0] * 100).toFixed(1)}-${(f.ci[1] * 100).toFixed(1)}%)`,
    );
  };

  const iterate = async (n: number, candidate: string, sabotage: boolean) => {
    // 1. The log so far -> a dataset (prepare_dataset's HALO converter, as the tool runs it).
    await router.flush(); // gs://: the segments so far become objects
    let input = router.log.uri('halo');
    if (sabotage) {
      // The candidate made worse on purpose: its log has every outcome inverted.
      input = `${bucket}/sabotaged-${n}/halo.jsonl`;
      const lines: string[] = [];
      for (const f of await lib.files.list(router.log.uri('halo'))) {
        for (const l of (await lib.files.readText(f.uri)).split('\n').filter(Boolean)) {
          const r = JSON.parse(l);
          lines.push(JSON.stringify({ ...r, success: !r.success }));
        }
      }
      await lib.files.writeText(input, `${lines.join('\n')}\n`);
    }
    const ds = await lib.tuning.prepareHaloRoutingDataset({
      input,
      output: `${bucket}/datasets/iteration-${n}`,
      min_success_rate: 0.6,
      validation_fraction: 0.1,
      seed,
    });
    say(
      `iteration ${n}: dataset from ${ds.halo?.decisions} logged decisions: ${ds.kept} (task, agent) examples (${ds.train_examples} train, ${ds.validation_examples} validation)${sabotage ? ' — outcomes inverted on purpose' : ''}`,
    );
    // 2. Tune the candidate (registered in the registry when it succeeds).
    const job = await lib.tuning.submitTuningJob(
      {
        tuning_type: 'supervised',
        base_model: 'local/text-router',
        dataset: {
          train_uri: ds.output.train_uri,
          ...(ds.output.validation_uri ? { validation_uri: ds.output.validation_uri } : {}),
        },
        hyperparameters: { epochs: 8, seed },
        output: { name: MODEL, version: candidate, tags: ['improvement-loop'] },
      },
      { wait: true, timeoutMs: 120_000 },
    );
    if (job.state !== 'SUCCEEDED') throw new Error(`tuning ${candidate} ended ${job.state}: ${job.error}`);
    const best = (job.progress as { best?: { validation_accuracy?: number | null } } | null)?.best;
    say(
      `iteration ${n}: tuned ${MODEL} ${candidate} (validation accuracy ${best?.validation_accuracy?.toFixed(3) ?? 'n/a'})`,
    );
    // 3. A/B test it against production on live traffic, outcomes as feedback.
    const test = `loop-${n}-${candidate.replace(/\./g, '-')}`;
    await lib.experiments.start({
      endpoint: ENDPOINT,
      name: test,
      model: MODEL,
      control: production,
      treatment: candidate,
      traffic_percentage: 50,
      primary_metric: 'accuracy',
      minimum_detectable_effect: 0.1,
      guardrails: [{ metric: 'error_rate', margin: 0.02 }],
      max_requests: abTasks,
    });
    let report = await lib.experiments.get(test);
    await serve(router, pop, abTasks, async () => {
      report = await lib.experiments.get(test);
      return report.verdict !== 'continue';
    });
    report = await lib.experiments.get(test);
    say(`iteration ${n}: A/B ${candidate} vs ${production}: [${report.verdict}] ${report.sentence}`);
    // 4. Ship or roll back on the verdict (a test still undecided at its limit keeps the control).
    const action = report.verdict === 'ship_treatment' ? 'ship' : 'rollback';
    await lib.experiments.conclude(test, { action, undeploy: true });
    if (action === 'ship') production = candidate;
    say(
      `iteration ${n}: ${action === 'ship' ? `shipped ${candidate}` : `rolled back ${candidate}`}; production is ${production}`,
    );
    iterations.push({
      iteration: n,
      candidate,
      dataset: {
        decisions: ds.halo?.decisions ?? 0,
        kept: ds.kept,
        train: ds.train_examples,
        validation: ds.validation_examples,
      },
      tuning: { validation_accuracy: best?.validation_accuracy ?? null, epochs: 8 },
      ab: {
        verdict: report.verdict,
        sentence: report.sentence,
        requests: report.progress.requests,
        arms: report.arms.map((a) => ({ arm: a.arm, version: a.version, requests: a.requests, estimate: a.estimate })),
      },
      action,
      production_after: production,
    });
  };

  try {
    await measure('before');
    await iterate(1, '1.1.0', false);
    await measure('after iteration 1');
    await iterate(2, '1.2.0', false);
    await measure('after iteration 2');
    await iterate(3, '1.3.0', true);
    await measure('after iteration 3');
  } finally {
    await router.close();
  }
  const s = router.stats();
  return {
    phases,
    iterations,
    log: { uri: opts.log, routed: s.log.routed, outcomes: s.log.halo, feedback: s.feedback_sent },
    elapsed_ms: Date.now() - started,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seed = Number(flag('--seed') ?? 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-loop-'));
  const log = flag('--log') ?? path.join(dir, 'decisions');
  const { startEmulator } = await import('../src/emulator/index.js');
  const { createLibrary } = await import('../src/lib/index.js');
  const emu = await startEmulator({ dataDir: ':memory:' });
  const lib = createLibrary(
    { kind: 'emulator', endpoint: async () => emu, project: 'improvement-loop', location: 'us-central1' },
    { allowedRoots: [dir, process.cwd()] },
  );
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    out(`improvement loop on the embedded emulator, seed ${seed}, decision log ${log}`);
    const r = await runImprovementLoop({ lib, log, spoolDir: path.join(dir, 'spool'), seed, say: out });
    out(
      `\ndecision log: ${r.log.routed} decisions, ${r.log.outcomes} outcomes (HALO records), ${r.log.feedback} sent as feedback; ${(r.elapsed_ms / 1000).toFixed(1)} s`,
    );
  } finally {
    await lib.close();
    await emu.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
