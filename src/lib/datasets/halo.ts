// HALO routing decisions -> router tuning dataset (SPEC 4): prompt = the task, completion = the agent.
//
// What "the same task" means: two decisions are about one task when their `task` texts are equal
// after trimming, collapsing runs of whitespace to one space, and lower-casing. Nothing fuzzier:
// paraphrases are different tasks (the router is meant to generalise across them, and merging them
// would need a model). The prompt written is the first spelling seen, whitespace collapsed.
//
// Memory: one pass aggregates success counts per (task, agent), so memory grows with the number of
// distinct tasks, not decisions: about 2 x the task text + ~200 bytes per distinct task, + ~16 bytes
// per extra agent tried on it (agent names are interned). A million distinct 100-character tasks take
// ~400 MB; a log of any length over 100k tasks, ~40 MB. Examples are then written task by task.
import { invalid } from '../errors.js';
import type { Files } from '../files.js';
import { checkFormat, checkFraction, checkInt, checkUri } from './options.js';
import { PREFERENCES, resolveOutput } from './output.js';
import { listInput } from './reader.js';
import { PrepRun, show } from './run.js';
import type { DatasetReport, HaloRoutingOptions, ProgressFn } from './types.js';

const SUCCESS = new Set(['success', 'succeeded', 'successful', 'ok', 'pass', 'passed', 'completed', 'true']);
const FAILURE = new Set(['failure', 'failed', 'fail', 'error', 'errored', 'timeout', 'rejected', 'false']);

/** `success` (boolean, or 0/1) wins over `outcome` ("success"/"failure" and common synonyms). */
export function decisionOutcome(r: Record<string, unknown>): boolean | { missing: string } | { malformed: string } {
  const s = r.success;
  if (typeof s === 'boolean') return s;
  if (s === 0 || s === 1) return s === 1;
  if (s !== undefined && s !== null) return { malformed: `success must be true or false, got ${show(s)}` };
  const o = r.outcome;
  if (typeof o === 'string') {
    const k = o.trim().toLowerCase();
    if (SUCCESS.has(k)) return true;
    if (FAILURE.has(k)) return false;
    return { malformed: `outcome must be "success" or "failure", got ${show(o)}` };
  }
  if (typeof o === 'boolean') return o;
  if (o !== undefined && o !== null) return { malformed: `outcome must be "success" or "failure", got ${show(o)}` };
  return { missing: 'no success or outcome' };
}

/** The task's display form (trimmed, whitespace collapsed); its key is this lower-cased. */
export const taskText = (t: string) => t.trim().replace(/\s+/g, ' ');

interface TaskStats {
  prompt: string;
  agents: string[];
  ok: number[];
  n: number[];
}

/**
 * Converts a HALO routing log (JSONL, a file or a directory of them) into a router dataset: per
 * (task, agent) the success rate over all decisions; pairs with rate >= min_success_rate and at least
 * min_decisions decisions become examples (prompt = task, completion = agent). With preference_pairs,
 * preferences.jsonl gets `{input, chosen, rejected}` for every qualifying agent (chosen) and every
 * agent whose rate on the same task is below min_success_rate (rejected).
 */
export async function prepareHaloRoutingDataset(
  files: Files,
  opts: HaloRoutingOptions,
  onProgress?: ProgressFn,
  signal?: AbortSignal,
): Promise<DatasetReport> {
  const input = checkUri('input', opts.input);
  const output = checkUri('output', opts.output);
  const min_success_rate = checkFraction('min_success_rate', opts.min_success_rate, 0.6, { max1: true });
  const min_decisions = checkInt('min_decisions', opts.min_decisions, 1, 1)!;
  const format = checkFormat(opts.format);
  const validation_fraction = checkFraction('validation_fraction', opts.validation_fraction, 0.1);
  const seed = checkInt('seed', opts.seed, 0)!;
  const max_examples = checkInt('max_examples', opts.max_examples, undefined, 1);
  const preference_pairs = opts.preference_pairs === true;
  signal?.throwIfAborted();

  const loc = resolveOutput(files, output);
  const listing = await listInput(files, input, loc);
  // Aggregation reads everything: max_examples only limits what is written.
  const overwrite = opts.overwrite === true;
  const run = new PrepRun(
    files,
    loc,
    listing,
    { format, overwrite, validation_fraction, seed, max_examples: undefined },
    onProgress,
    signal,
  );
  await run.outputs.prepare();
  const tasks = new Map<string, TaskStats>();
  const agentNames = new Map<string, string>();
  let decisions = 0;

  const record = (text: string, line: number): void => {
    run.records++;
    const r = run.parseObject(text, line);
    if (!r) return;
    const t = r.task;
    if (t !== undefined && t !== null && typeof t !== 'string') {
      run.addBad(line, `task must be a string, got ${show(t)}`, 'malformed');
      return;
    }
    const prompt = typeof t === 'string' ? taskText(t) : '';
    if (!prompt) {
      run.addBad(line, t === undefined || t === null ? 'no task' : 'task is empty', 'missing_fields');
      return;
    }
    const a = r.agent;
    if (a !== undefined && a !== null && typeof a !== 'string') {
      run.addBad(line, `agent must be a string, got ${show(a)}`, 'malformed');
      return;
    }
    const agentRaw = typeof a === 'string' ? a.trim() : '';
    if (!agentRaw) {
      run.addBad(line, 'no agent', 'missing_fields');
      return;
    }
    const ok = decisionOutcome(r);
    if (typeof ok !== 'boolean') {
      if ('missing' in ok) run.addBad(line, ok.missing, 'missing_fields');
      else run.addBad(line, ok.malformed, 'malformed');
      return;
    }
    let agent = agentNames.get(agentRaw);
    if (agent === undefined) {
      agent = agentRaw;
      agentNames.set(agent, agent);
    }
    decisions++;
    const key = prompt.toLowerCase();
    let ts = tasks.get(key);
    if (!ts) {
      ts = { prompt, agents: [], ok: [], n: [] };
      tasks.set(key, ts);
    }
    let i = ts.agents.indexOf(agent);
    if (i < 0) {
      i = ts.agents.push(agent) - 1;
      ts.ok.push(0);
      ts.n.push(0);
    }
    ts.n[i]!++;
    if (ok) ts.ok[i]!++;
  };

  let distinctPairs = 0;
  let keptPairs = 0;
  let tasksWithout = 0;
  let prefs = 0;
  let stopped = false;
  try {
    await run.readAll(record);
    const dropped = run.dropped;
    let sinceFlush = 0;
    for (const ts of tasks.values()) {
      distinctPairs += ts.agents.length;
      if (stopped) continue;
      const chosen: { agent: string; rate: number }[] = [];
      const rejected: { agent: string; rate: number }[] = [];
      for (let i = 0; i < ts.agents.length; i++) {
        const n = ts.n[i]!;
        const rate = ts.ok[i]! / n;
        if (rate < min_success_rate) {
          dropped.below_success_rate++;
          rejected.push({ agent: ts.agents[i]!, rate });
        } else if (n < min_decisions) dropped.too_few_decisions++;
        else chosen.push({ agent: ts.agents[i]!, rate });
      }
      if (chosen.length === 0) tasksWithout++;
      chosen.sort((x, y) => y.rate - x.rate);
      rejected.sort((x, y) => x.rate - y.rate);
      for (const c of chosen) {
        if (max_examples !== undefined && run.kept >= max_examples) {
          stopped = true;
          break;
        }
        if (run.addExample(ts.prompt, c.agent)) keptPairs++;
      }
      if (preference_pairs) {
        for (const c of chosen) {
          for (const rj of rejected) {
            run.outputs.push(
              PREFERENCES,
              `{"input":${JSON.stringify(ts.prompt)},"chosen":${JSON.stringify(c.agent)},"rejected":${JSON.stringify(rj.agent)}}\n`,
            );
            prefs++;
          }
        }
      }
      // Flushed every 4096 tasks, and whenever 1 M characters are buffered (long task texts).
      if (++sinceFlush >= 4096 || run.outputs.pending >= 1 << 20) {
        sinceFlush = 0;
        await run.outputs.flush();
        signal?.throwIfAborted();
      }
    }
  } catch (err) {
    await run.abort();
    throw err;
  }

  if (run.kept === 0) {
    await run.abort();
    const d = run.dropped;
    const parts = [`${distinctPairs} (task, agent) pairs`];
    if (d.below_success_rate) parts.push(`${d.below_success_rate} below the success rate`);
    if (d.too_few_decisions) parts.push(`${d.too_few_decisions} with fewer than ${min_decisions} decisions`);
    if (d.malformed) parts.push(`${d.malformed} malformed lines`);
    if (d.missing_fields) parts.push(`${d.missing_fields} lines missing fields`);
    const where = run.bad[0] ? `; first bad record: ${run.bad[0].file}:${run.bad[0].line} ${run.bad[0].reason}` : '';
    throw invalid(
      `no (task, agent) pair has a success rate >= ${min_success_rate}${min_decisions > 1 ? ` over >= ${min_decisions} decisions` : ''} (read ${run.records} lines, ${decisions} valid decisions: ${parts.join(', ')})${where}`,
      decisions
        ? 'Lower min_success_rate or min_decisions, or log more decisions'
        : 'No line was a usable decision: check that input points at a HALO routing log ({task, agent, success|outcome} per line)',
    );
  }
  if (preference_pairs && prefs === 0) {
    run.warnings.push(
      'no task had both an agent at or above min_success_rate and one below it: preferences.jsonl was not written',
    );
  }
  if (stopped)
    run.warnings.push(`max_examples ${max_examples} reached: the remaining (task, agent) pairs were not written`);

  const options = {
    min_success_rate,
    min_decisions,
    format,
    validation_fraction,
    seed,
    max_examples: max_examples ?? null,
    preference_pairs,
    overwrite,
  };
  return run.commit(() =>
    run.report('halo_routing', input, options, {
      halo: {
        decisions,
        distinct_tasks: tasks.size,
        distinct_pairs: distinctPairs,
        kept_pairs: keptPairs,
        tasks_without_qualifying_agent: tasksWithout,
        preference_pairs: prefs,
      },
      stopped_at_max_examples: stopped,
    }),
  );
}
