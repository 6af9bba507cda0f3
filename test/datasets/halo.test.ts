import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareHaloRoutingDataset } from '../../src/lib/datasets/index.js';
import { VertexMcpError } from '../../src/lib/errors.js';
import { EXAMPLES, HALO_HELDOUT, HALO_LOG, localFiles, pairOf, pub, readJsonl, tempDir, tree } from './helpers.js';

const tmp = tempDir();
const files = localFiles(EXAMPLES, tmp);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const outDir = () => path.join(tmp, `out-${++n}`);

function log(lines: (Record<string, unknown> | string)[]): string {
  const file = path.join(tmp, `log-${++n}.jsonl`);
  fs.writeFileSync(file, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
  return file;
}

// A tiny hand-made log. Success rates per (task, agent):
//   "Fix the login bug":   coder 2/3 = 0.667, writer 0/2 = 0, devops 1/1
//   "Draft the release notes": writer 3/4 = 0.75, coder 1/2 = 0.5
//   "Scale the api": devops 1/2 = 0.5
const TINY = [
  { task: 'Fix the login bug', agent: 'coder', success: true },
  { task: 'fix the  login bug ', agent: 'coder', outcome: 'failure' }, // same task after normalisation
  { task: 'Fix the login bug', agent: 'coder', outcome: 'success' },
  { task: 'Fix the login bug', agent: 'writer', success: false },
  { task: 'FIX THE LOGIN BUG', agent: 'writer', outcome: 'failed' },
  { task: 'Fix the login bug', agent: 'devops', success: true },
  { task: 'Draft the release notes', agent: 'writer', success: true },
  { task: 'Draft the release notes', agent: 'writer', success: true },
  { task: 'Draft the release notes', agent: 'writer', success: false },
  { task: 'Draft the release notes', agent: 'writer', success: true },
  { task: 'Draft the release notes', agent: 'coder', success: true },
  { task: 'Draft the release notes', agent: 'coder', success: false },
  { task: 'Scale the api', agent: 'devops', success: true },
  { task: 'Scale the api', agent: 'devops', success: false },
];

describe('prepareHaloRoutingDataset', () => {
  it('keeps (task, agent) pairs at or above min_success_rate (hand-computed)', async () => {
    const output = outDir();
    const r = await prepareHaloRoutingDataset(files, {
      input: log(TINY),
      output,
      validation_fraction: 0,
      format: 'prompt_completion',
    });
    expect(readJsonl(pub(output, 'train.jsonl'))).toEqual([
      { prompt: 'Fix the login bug', completion: 'devops' }, // 1.0 first: best rate first
      { prompt: 'Fix the login bug', completion: 'coder' }, // 0.667
      { prompt: 'Draft the release notes', completion: 'writer' }, // 0.75
    ]);
    expect(r.halo).toEqual({
      decisions: 14,
      distinct_tasks: 3,
      distinct_pairs: 6,
      kept_pairs: 3,
      tasks_without_qualifying_agent: 1,
      preference_pairs: 0,
    });
    expect(r.dropped.below_success_rate).toBe(3); // writer 0, coder 0.5, devops 0.5
    expect(r.kept).toBe(3);
    expect(r.output.preferences_uri).toBeUndefined();

    // 0.7: coder (0.667) drops out; 0.5: coder on the release notes and devops on the api come in.
    const hi = await prepareHaloRoutingDataset(files, { input: log(TINY), output: outDir(), min_success_rate: 0.7 });
    expect(hi.kept).toBe(2);
    const lo = outDir();
    await prepareHaloRoutingDataset(files, {
      input: log(TINY),
      output: lo,
      min_success_rate: 0.5,
      validation_fraction: 0,
    });
    expect(readJsonl(pub(lo, 'train.jsonl')).map(pairOf)).toEqual([
      ['Fix the login bug', 'devops'],
      ['Fix the login bug', 'coder'],
      ['Draft the release notes', 'writer'],
      ['Draft the release notes', 'coder'],
      ['Scale the api', 'devops'],
    ]);
    // min_decisions 3: only coder on the login bug (3) and writer on the notes (4) have enough.
    const md = await prepareHaloRoutingDataset(files, {
      input: log(TINY),
      output: outDir(),
      min_decisions: 3,
      validation_fraction: 0,
    });
    expect(md.kept).toBe(2);
    expect(md.dropped.too_few_decisions).toBe(1); // devops 1/1 on the login bug
  });

  it('writes preference pairs: each qualifying agent over each failing one, per task', async () => {
    const output = outDir();
    const r = await prepareHaloRoutingDataset(files, {
      input: log(TINY),
      output,
      preference_pairs: true,
      validation_fraction: 0,
    });
    expect(readJsonl(pub(output, 'preferences.jsonl'))).toEqual([
      { input: 'Fix the login bug', chosen: 'devops', rejected: 'writer' },
      { input: 'Fix the login bug', chosen: 'coder', rejected: 'writer' },
      { input: 'Draft the release notes', chosen: 'writer', rejected: 'coder' },
    ]);
    const g = r.output.generation;
    expect(r.output.preferences_uri).toBe(path.join(output, g, 'preferences.jsonl'));
    expect(r.halo!.preference_pairs).toBe(3);
    expect(tree(output)).toEqual([g, `${g}/preferences.jsonl`, `${g}/stats.json`, `${g}/train.jsonl`, 'manifest.json']);
    expect(r.output.validation_uri).toBeNull();
  });

  it('reads the example log: malformed lines reported with their line numbers', async () => {
    const output = outDir();
    const r = await prepareHaloRoutingDataset(files, { input: HALO_LOG, output, preference_pairs: true, seed: 3 });
    expect(r.records_read).toBe(1506);
    expect(r.halo!.decisions).toBe(1500);
    expect(r.bad_records.map((b) => `${path.basename(b.file)}:${b.line} ${b.reason}`)).toEqual([
      'halo-routing.jsonl:201 not valid JSON: Unexpected end of JSON input',
      'halo-routing.jsonl:431 no agent',
      'halo-routing.jsonl:661 no task',
      'halo-routing.jsonl:891 outcome must be "success" or "failure", got "maybe"',
      'halo-routing.jsonl:1121 task is empty',
      'halo-routing.jsonl:1351 not a JSON object: [1,2,3]',
    ]);
    expect(r.dropped.malformed + r.dropped.missing_fields).toBe(6);

    // Hand-check the aggregation against a plain recount of the log.
    const rates = new Map<string, { ok: number; n: number }>();
    for (const line of fs.readFileSync(HALO_LOG, 'utf8').split('\n')) {
      let d: any;
      try {
        d = JSON.parse(line);
      } catch {
        continue;
      }
      const ok =
        typeof d.success === 'boolean'
          ? d.success
          : d.outcome === 'success'
            ? true
            : d.outcome === 'failure'
              ? false
              : null;
      if (!d?.task?.trim?.() || !d.agent || ok === null) continue;
      const k = `${d.task.trim().replace(/\s+/g, ' ').toLowerCase()}\u0000${d.agent}`;
      const s = rates.get(k) ?? { ok: 0, n: 0 };
      s.n++;
      if (ok) s.ok++;
      rates.set(k, s);
    }
    const keep = [...rates.values()].filter((s) => s.ok / s.n >= 0.6).length;
    expect(r.halo!.distinct_pairs).toBe(rates.size);
    expect(r.kept).toBe(keep);
    expect(r.train_examples + r.validation_examples).toBe(keep);
    expect(r.label_balance.distinct).toBe(6);
    expect(r.halo!.preference_pairs).toBeGreaterThan(50);
    for (const p of readJsonl(pub(output, 'preferences.jsonl'))) {
      expect(Object.keys(p)).toEqual(['input', 'chosen', 'rejected']);
      expect(p.chosen).not.toBe(p.rejected);
    }
  });

  it('produces a dataset a simple router learns to route held-out phrasings from', async () => {
    const output = outDir();
    await prepareHaloRoutingDataset(files, { input: HALO_LOG, output, format: 'prompt_completion' });
    const train = readJsonl(pub(output, 'train.jsonl'));
    // Multinomial naive Bayes over lower-cased words, add-one smoothing.
    const words = (s: string) => s.toLowerCase().match(/[a-z0-9+#]+/g) ?? [];
    const counts = new Map<string, Map<string, number>>();
    const totals = new Map<string, number>();
    const prior = new Map<string, number>();
    const vocab = new Set<string>();
    for (const { prompt, completion } of train) {
      prior.set(completion, (prior.get(completion) ?? 0) + 1);
      const m = counts.get(completion) ?? new Map<string, number>();
      counts.set(completion, m);
      for (const w of words(prompt)) {
        m.set(w, (m.get(w) ?? 0) + 1);
        totals.set(completion, (totals.get(completion) ?? 0) + 1);
        vocab.add(w);
      }
    }
    const route = (task: string) => {
      let best = '';
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const [agent, p] of prior) {
        let s = Math.log(p);
        for (const w of words(task)) {
          s += Math.log(((counts.get(agent)!.get(w) ?? 0) + 1) / (totals.get(agent)! + vocab.size));
        }
        if (s > bestScore) {
          bestScore = s;
          best = agent;
        }
      }
      return best;
    };
    const held = readJsonl(HALO_HELDOUT);
    expect(held.length).toBeGreaterThanOrEqual(200);
    const trainTasks = new Set(train.map((x) => x.prompt.toLowerCase()));
    for (const h of held) expect(trainTasks.has(h.task.toLowerCase())).toBe(false);
    const accuracy = held.filter((h) => route(h.task) === h.agent).length / held.length;
    expect(accuracy).toBeGreaterThan(0.85);
  });

  it('fails with the counts when no pair qualifies, and writes nothing', async () => {
    const output = outDir();
    const e = await prepareHaloRoutingDataset(files, {
      input: log([...TINY, '{"task": 1}']),
      output,
      min_success_rate: 1,
      min_decisions: 2,
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VertexMcpError);
    expect((e as Error).message).toMatch(
      /^no \(task, agent\) pair has a success rate >= 1 over >= 2 decisions \(read 15 lines, 14 valid decisions: 6 \(task, agent\) pairs, 5 below the success rate, 1 with fewer than 2 decisions, 1 malformed lines\); first bad record: .*:15 task must be a string, got 1/,
    );
    expect(fs.existsSync(output)).toBe(false);
  });

  it('names the field of an invalid option', async () => {
    await expect(
      prepareHaloRoutingDataset(files, { input: HALO_LOG, output: outDir(), min_success_rate: 2 }),
    ).rejects.toThrow(/^min_success_rate must be a number in \[0, 1\], got 2/);
    await expect(
      prepareHaloRoutingDataset(files, { input: HALO_LOG, output: outDir(), min_decisions: 0 }),
    ).rejects.toThrow(/^min_decisions must be an integer >= 1/);
    await expect(
      prepareHaloRoutingDataset(files, { input: '/nonexistent/halo.jsonl', output: outDir() }),
    ).rejects.toThrow(/^input "\/nonexistent\/halo.jsonl" is outside the allowed roots/);
  });
});
