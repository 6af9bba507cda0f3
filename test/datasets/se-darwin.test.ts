import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateArchive } from '../../scripts/gen-archive.js';
import { GENERATION_RE, prepareSeDarwinDataset } from '../../src/lib/datasets/index.js';
import { VertexMcpError } from '../../src/lib/errors.js';
import { ARCHIVE, EXAMPLES, localFiles, pairOf, pub, readJsonl, referenceSeDarwin, tempDir, tree } from './helpers.js';

const tmp = tempDir();
const files = localFiles(EXAMPLES, tmp);
let n = 0;
const outDir = () => path.join(tmp, `out-${++n}`);
const rel = (f: string) => path.relative(ARCHIVE, f);

/** A generated 12 MiB archive (about 15k trajectories in 12 files) for split and equivalence checks. */
let big = '';
beforeAll(async () => {
  big = (await generateArchive({ out: path.join(tmp, 'gen'), mb: 12, seed: 3, fileMb: 1 })).archive_dir;
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('prepareSeDarwinDataset on examples/se-darwin-archive', () => {
  it('keeps, drops and counts exactly what a plain reference implementation does', async () => {
    const output = outDir();
    const r = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, validation_fraction: 0.2, seed: 5 });
    const ref = referenceSeDarwin(ARCHIVE, 0.8);
    expect(r.records_read).toBe(ref.records);
    expect(r.dropped.below_threshold).toBe(ref.below);
    expect(r.dropped.duplicate).toBe(ref.duplicate);
    expect(r.dropped.malformed + r.dropped.missing_fields).toBe(ref.bad);
    expect(r.kept).toBe(ref.kept.length);
    expect(r.records_read).toBe(r.kept + r.dropped.below_threshold + r.dropped.duplicate + r.bad_records_count);
    expect(r.files_read).toBe(24);
    expect(r.files_skipped).toBe(1); // README.md
    expect(r.bytes_read).toBe(r.total_bytes);
    // Train + validation hold the reference's examples, in input order on each side.
    const train = readJsonl(pub(output, 'train.jsonl')).map(pairOf);
    const val = readJsonl(pub(output, 'validation.jsonl')).map(pairOf);
    expect(train.length).toBe(r.train_examples);
    expect(val.length).toBe(r.validation_examples);
    const key = (p: [string, string]) => JSON.stringify(p);
    expect(new Set([...train, ...val].map(key))).toEqual(new Set(ref.kept.map(key)));
    const order = new Map(ref.kept.map((p, i) => [key(p), i]));
    const idx = train.map((p) => order.get(key(p))!);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    // stats.json is the report.
    const stats = JSON.parse(fs.readFileSync(pub(output, 'stats.json'), 'utf8'));
    expect(stats.kept).toBe(r.kept);
    expect(stats.dropped).toEqual(r.dropped);
    const g = r.output.generation;
    expect(g).toMatch(GENERATION_RE);
    expect(r.output).toEqual({
      train_uri: path.join(output, g, 'train.jsonl'),
      validation_uri: path.join(output, g, 'validation.jsonl'),
      stats_uri: path.join(output, g, 'stats.json'),
      manifest_uri: path.join(output, 'manifest.json'),
      generation: g,
    });
    // Nothing but the generation and its manifest is left (no temporary files).
    expect(tree(output)).toEqual([g, `${g}/stats.json`, `${g}/train.jsonl`, `${g}/validation.jsonl`, 'manifest.json']);
    // The manifest lists the three files with their sizes and SHA-256.
    const m = JSON.parse(fs.readFileSync(path.join(output, 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({ kind: 'vertex-mcp#datasetManifest', version: 1, generation: g, previous: null });
    expect(m.train_examples).toBe(r.train_examples);
    for (const name of ['train.jsonl', 'validation.jsonl', 'stats.json']) {
      const bytes = fs.readFileSync(path.join(output, g, name));
      expect(m.files[name]).toMatchObject({
        uri: path.join(output, g, name),
        size: bytes.length,
        sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      });
    }
    expect(m.files['train.jsonl'].lines).toBe(r.train_examples);
    expect(r.throughput_mb_s).toBeGreaterThan(0);
  });

  it('reports every malformed or incomplete record with its file and line, and carries on', async () => {
    const r = await prepareSeDarwinDataset(files, { input: ARCHIVE, output: outDir() });
    expect(r.bad_records_count).toBe(8);
    expect(r.dropped.malformed).toBe(5);
    expect(r.dropped.missing_fields).toBe(3);
    const bad = r.bad_records.map((b) => `${rel(b.file)}:${b.line} ${b.reason}`);
    expect(bad).toEqual([
      'iteration-02/halo-routing/retries/shard-1.jsonl:42 quality_score missing',
      expect.stringMatching(/^iteration-02\/halo-routing\/shard-0\.jsonl:2 not valid JSON: /),
      'iteration-03/halo-routing/retries/shard-1.jsonl:42 quality_score must be a number in [0, 1], got 1.4',
      'iteration-04/halo-routing/retries/shard-1.jsonl:40 no prompt or task',
      'iteration-04/halo-routing/retries/shard-1.jsonl:41 quality_score must be a number in [0, 1], got "high"',
      'iteration-04/swe-lite/trajectories.json:415 no completion, best_agent or solution',
      'iteration-05/halo-routing/retries/shard-1.jsonl:38 quality_score must be a number in [0, 1], got -0.2',
      expect.stringMatching(/^iteration-05\/halo-routing\/retries\/shard-1\.jsonl:39 not valid JSON: /),
    ]);
    // The line numbers point at the records themselves.
    const line = (f: string, n: number) => fs.readFileSync(path.join(ARCHIVE, f), 'utf8').split('\n')[n - 1];
    expect(line('iteration-05/halo-routing/retries/shard-1.jsonl', 39)).toBe('not json at all');
    expect(line('iteration-04/swe-lite/trajectories.json', 415)).toBe(' {');
    expect(line('iteration-04/swe-lite/trajectories.json', 416)).toContain('Implement an LRU cache in Go');
  });

  it('writes Gemini tuning JSONL by default and prompt/completion JSONL on request', async () => {
    const g = outDir();
    await prepareSeDarwinDataset(files, { input: ARCHIVE, output: g, seed: 1 });
    for (const x of readJsonl(pub(g, 'train.jsonl'))) {
      expect(Object.keys(x)).toEqual(['contents']);
      expect(x.contents).toHaveLength(2);
      expect(x.contents[0]).toEqual({ role: 'user', parts: [{ text: expect.any(String) }] });
      expect(x.contents[1]).toEqual({ role: 'model', parts: [{ text: expect.any(String) }] });
      expect(x.contents[0].parts[0].text.length).toBeGreaterThan(0);
    }
    const pc = outDir();
    await prepareSeDarwinDataset(files, { input: ARCHIVE, output: pc, seed: 1, format: 'prompt_completion' });
    const lines = readJsonl(pub(pc, 'train.jsonl'));
    for (const x of lines) expect(Object.keys(x)).toEqual(['prompt', 'completion']);
    // Same examples in both formats.
    expect(lines.map(pairOf)).toEqual(readJsonl(pub(g, 'train.jsonl')).map(pairOf));
  });

  it('builds task + requirements prompts and JSON-stringifies object solutions', async () => {
    const output = outDir();
    await prepareSeDarwinDataset(files, {
      input: ARCHIVE,
      output,
      validation_fraction: 0,
      format: 'prompt_completion',
    });
    const ex = readJsonl(pub(output, 'train.jsonl'));
    const withList = ex.find((x) => /\n\nRequirements:\n- /.test(x.prompt));
    const withString = ex.find((x) => /\n\nRequirements:\n[^-]/.test(x.prompt));
    expect(withList).toBeDefined();
    expect(withString).toBeDefined();
    const obj = ex.find((x) => x.completion.startsWith('{"language":'));
    expect(JSON.parse(obj!.completion)).toMatchObject({ language: expect.any(String), code: expect.any(String) });
    // Routing trajectories: the completion is the agent name.
    const agents = new Set(['coder', 'sql_agent', 'math_agent', 'writer', 'researcher', 'devops']);
    expect(ex.filter((x) => agents.has(x.completion)).length).toBeGreaterThan(150);
  });

  it('removes duplicate (prompt, completion) pairs', async () => {
    const output = outDir();
    const r = await prepareSeDarwinDataset(files, { input: ARCHIVE, output });
    expect(r.dropped.duplicate).toBeGreaterThan(5);
    const all = [...readJsonl(pub(output, 'train.jsonl')), ...readJsonl(pub(output, 'validation.jsonl'))].map((x) =>
      JSON.stringify(pairOf(x)),
    );
    expect(new Set(all).size).toBe(all.length);
  });

  it('splits about validation_fraction of the prompts off, the same way for the same seed', async () => {
    const runs = [];
    for (const seed of [1, 1, 2]) {
      const output = outDir();
      const r = await prepareSeDarwinDataset(files, { input: big, output, seed, validation_fraction: 0.2 });
      runs.push({ r, output });
    }
    const [a, b, c] = runs;
    const share = a!.r.validation_examples / a!.r.kept;
    expect(a!.r.kept).toBeGreaterThan(3000);
    expect(Math.abs(share - 0.2)).toBeLessThan(0.025);
    const read = (o: string, f: string) => fs.readFileSync(pub(o, f), 'utf8');
    expect(read(b!.output, 'train.jsonl')).toBe(read(a!.output, 'train.jsonl'));
    expect(read(b!.output, 'validation.jsonl')).toBe(read(a!.output, 'validation.jsonl'));
    // Another seed: another split of the same examples.
    expect(read(c!.output, 'validation.jsonl')).not.toBe(read(a!.output, 'validation.jsonl'));
    expect(c!.r.kept).toBe(a!.r.kept);
    // A prompt never lands on both sides.
    const prompts = (o: string, f: string) => new Set(readJsonl(pub(o, f)).map((x) => pairOf(x)[0]));
    const tp = prompts(a!.output, 'train.jsonl');
    for (const p of prompts(a!.output, 'validation.jsonl')) expect(tp.has(p)).toBe(false);
  });

  it('writes the same files with and without the fast pre-filter', async () => {
    for (const input of [ARCHIVE, big]) {
      const o1 = outDir();
      const o2 = outDir();
      const fast = await prepareSeDarwinDataset(files, { input, output: o1, seed: 9 });
      const full = await prepareSeDarwinDataset(files, { input, output: o2, seed: 9, fast_filter: false });
      for (const f of ['train.jsonl', 'validation.jsonl']) {
        expect(fs.readFileSync(pub(o1, f), 'utf8')).toBe(fs.readFileSync(pub(o2, f), 'utf8'));
      }
      expect(fast.dropped).toEqual(full.dropped);
      expect(fast.bad_records).toEqual(full.bad_records);
    }
  });

  it('fails with the counts when no record reaches the threshold, and leaves nothing behind', async () => {
    // The routing shards of iteration 2: trajectories scored below 1, a truncated line, one without score.
    const input = path.join(tmp, 'routing-2');
    fs.cpSync(path.join(ARCHIVE, 'iteration-02', 'halo-routing'), input, { recursive: true });
    const output = path.join(tmp, 'none', 'deeper');
    const err = await prepareSeDarwinDataset(files, { input, output, quality_threshold: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VertexMcpError);
    const e = err as VertexMcpError;
    expect(e.code).toBe('INVALID_ARGUMENT');
    const lines = ['shard-0.jsonl', 'retries/shard-1.jsonl']
      .flatMap((f) => fs.readFileSync(path.join(input, f), 'utf8').split('\n'))
      .filter((l) => l.trim()).length;
    expect(e.message).toBe(
      `no record has quality_score >= 1 (read ${lines}: ${lines - 2} below threshold, 1 malformed, 1 missing fields); ` +
        `first bad record: ${path.join(input, 'retries', 'shard-1.jsonl')}:42 quality_score missing`,
    );
    expect(e.hint).toMatch(/^The best quality_score seen is 0\.9\d*: lower quality_threshold/);
    expect(fs.existsSync(path.join(tmp, 'none'))).toBe(false);
  });

  it('removes its partial outputs when cancelled, and reports progress until then', async () => {
    const output = outDir();
    const ac = new AbortController();
    const seen: number[] = [];
    let partial: string[] = [];
    let abortedAt = -1;
    const totals = new Set<number>();
    const p = prepareSeDarwinDataset(
      files,
      { input: big, output },
      (pr) => {
        seen.push(pr.bytes_read);
        totals.add(pr.total_bytes);
        if (ac.signal.aborted || pr.bytes_read < 2 << 20) return;
        // Cancelled once train.jsonl has been partly written (the output directory appears then).
        partial = fs.existsSync(output) ? tree(output) : [];
        if (partial.some((f) => f.endsWith('train.jsonl'))) {
          abortedAt = pr.bytes_read;
          ac.abort();
        }
      },
      ac.signal,
    );
    await expect(p).rejects.toThrow(/abort/i);
    // Written aside: a hidden temporary generation directory, removed when cancelled.
    expect(partial).toContainEqual(expect.stringMatching(/^\.gen-.*\.\d+-[0-9a-f]{8}\.tmp\/train\.jsonl$/));
    // Reading stopped at the cancellation: no report after it.
    expect(seen.at(-1)).toBe(abortedAt);
    expect([...totals]).toEqual([expect.any(Number)]);
    expect([...totals][0]).toBeGreaterThan(12_000_000);
    expect(fs.existsSync(output)).toBe(false);

    // A full run ends with a progress call at 100%.
    const calls: { bytes_read: number; total_bytes: number; records: number }[] = [];
    const r = await prepareSeDarwinDataset(files, { input: big, output: outDir() }, (pr) => calls.push(pr));
    expect(calls.at(-1)).toEqual({ bytes_read: r.total_bytes, total_bytes: r.total_bytes, records: r.records_read });
    for (let i = 1; i < calls.length; i++)
      expect(calls[i]!.bytes_read).toBeGreaterThanOrEqual(calls[i - 1]!.bytes_read);
  });

  it('stops at max_examples and can keep only some benchmarks', async () => {
    const r = await prepareSeDarwinDataset(files, { input: ARCHIVE, output: outDir(), max_examples: 50 });
    expect(r.kept).toBe(50);
    expect(r.stopped_at_max_examples).toBe(true);
    expect(r.records_read).toBeLessThan(608);

    const output = outDir();
    const b = await prepareSeDarwinDataset(files, {
      input: ARCHIVE,
      output,
      benchmarks: ['swe-lite'],
      format: 'prompt_completion',
    });
    expect(b.kept_by_benchmark).toEqual([{ label: 'swe-lite', count: b.kept, share: 1 }]);
    expect(b.dropped.other_benchmark).toBeGreaterThan(100);
    for (const x of readJsonl(pub(output, 'train.jsonl'))) expect(x.prompt).toMatch(/Requirements:|^[A-Z]/);
  });

  it('reports label balance over the completions', async () => {
    const r = await prepareSeDarwinDataset(files, { input: ARCHIVE, output: outDir(), benchmarks: ['halo-routing'] });
    const lb = r.label_balance;
    expect(lb.exact).toBe(true);
    expect(lb.distinct).toBe(6);
    expect(lb.top.map((l) => l.label).sort()).toEqual([
      'coder',
      'devops',
      'math_agent',
      'researcher',
      'sql_agent',
      'writer',
    ]);
    expect(lb.top.reduce((s, l) => s + l.count, 0)).toBe(r.kept);
    expect(lb.other).toEqual({ count: 0, share: 0 });
    for (const l of lb.top) expect(l.share).toBeCloseTo(l.count / r.kept, 3);
  });
});

describe('prepareSeDarwinDataset: inputs, outputs and options', () => {
  it('refuses an input or output outside the allowed roots', async () => {
    const onlyTmp = localFiles(tmp);
    const a = await prepareSeDarwinDataset(onlyTmp, { input: ARCHIVE, output: outDir() }).catch((e: unknown) => e);
    expect(a).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(/^input ".*" is outside the allowed roots/),
    });
    const b = await prepareSeDarwinDataset(files, { input: ARCHIVE, output: '/etc/vertex-mcp-out' }).catch(
      (e: unknown) => e,
    );
    expect(b).toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(/^output "\/etc\/vertex-mcp-out" is outside/),
    });
    expect(fs.existsSync('/etc/vertex-mcp-out')).toBe(false);
    // A symlink inside the roots pointing outside is refused too.
    const link = path.join(tmp, 'escape');
    fs.symlinkSync('/etc', link);
    const c = await prepareSeDarwinDataset(files, { input: link, output: outDir() }).catch((e: unknown) => e);
    expect(c).toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  it('names the field when input is missing or an option is invalid', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ input: path.join(tmp, 'nope'), output: outDir() }, /^input ".*nope" does not exist/],
      [{ input: '', output: outDir() }, /^input is required/],
      [{ input: ARCHIVE }, /^output is required/],
      [
        { input: ARCHIVE, output: outDir(), quality_threshold: 1.5 },
        /^quality_threshold must be a number in \[0, 1\], got 1.5/,
      ],
      [
        { input: ARCHIVE, output: outDir(), validation_fraction: 1 },
        /^validation_fraction must be a number in \[0, 1\)/,
      ],
      [{ input: ARCHIVE, output: outDir(), format: 'csv' }, /^format must be "gemini" or "prompt_completion"/],
      [{ input: ARCHIVE, output: outDir(), max_examples: 0 }, /^max_examples must be an integer >= 1/],
      [{ input: ARCHIVE, output: outDir(), seed: 1.5 }, /^seed must be an integer/],
      [{ input: 'gs://', output: outDir() }, /^input "gs:\/\/" is not a valid gs:\/\/ URI/],
    ];
    for (const [opts, re] of cases) {
      const e = await prepareSeDarwinDataset(files, opts as never).catch((x: unknown) => x);
      expect(e, JSON.stringify(opts)).toBeInstanceOf(VertexMcpError);
      expect((e as VertexMcpError).code).toBe('INVALID_ARGUMENT');
      expect((e as Error).message).toMatch(re);
    }
    const f = path.join(tmp, 'a-file.txt');
    fs.writeFileSync(f, 'x');
    await expect(prepareSeDarwinDataset(files, { input: ARCHIVE, output: f })).rejects.toThrow(
      /^output ".*a-file.txt" is a file/,
    );
    const empty = path.join(tmp, 'no-data');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'notes.txt'), 'x');
    await expect(prepareSeDarwinDataset(files, { input: empty, output: outDir() })).rejects.toThrow(
      /has no .json, .jsonl or .ndjson files \(1 other file\(s\) skipped\)/,
    );
  });

  it('a second run into the same output needs overwrite, then publishes a new generation', async () => {
    const output = outDir();
    const first = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, validation_fraction: 0.3 });
    const g1 = first.output.generation;
    const refused = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, validation_fraction: 0 }).catch(
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({
      code: 'ALREADY_EXISTS',
      message: expect.stringMatching(
        /^output ".*" already holds a dataset \(generation gen-.*\); nothing was written$/,
      ),
    });
    expect(tree(output)).toEqual([
      g1,
      `${g1}/stats.json`,
      `${g1}/train.jsonl`,
      `${g1}/validation.jsonl`,
      'manifest.json',
    ]);

    const r = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, validation_fraction: 0, overwrite: true });
    const g2 = r.output.generation;
    expect(r.output.validation_uri).toBeNull();
    expect(r.previous_generation).toBe(g1);
    // The first generation is kept (a job may still read it); the manifest names the second.
    expect(tree(output)).toEqual([
      g1,
      `${g1}/stats.json`,
      `${g1}/train.jsonl`,
      `${g1}/validation.jsonl`,
      g2,
      `${g2}/stats.json`,
      `${g2}/train.jsonl`,
      'manifest.json',
    ]);
    expect(readJsonl(pub(output, 'train.jsonl'))).toHaveLength(r.kept);
    const m = JSON.parse(fs.readFileSync(path.join(output, 'manifest.json'), 'utf8'));
    expect([m.generation, m.previous.generation, Object.keys(m.files).sort()]).toEqual([
      g2,
      g1,
      ['stats.json', 'train.jsonl'],
    ]);
    // A third run drops the first generation.
    const third = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, seed: 4, overwrite: true });
    const g3 = third.output.generation;
    expect(fs.readdirSync(output).sort()).toEqual([g2, g3, 'manifest.json']);
  });

  it('does not read its own earlier outputs when the output lies inside the input', async () => {
    const dir = path.join(tmp, 'self');
    fs.cpSync(path.join(ARCHIVE, 'iteration-01'), dir, { recursive: true });
    const first = await prepareSeDarwinDataset(files, { input: dir, output: path.join(dir, 'prepared') });
    const again = await prepareSeDarwinDataset(files, {
      input: dir,
      output: path.join(dir, 'prepared'),
      overwrite: true,
    });
    expect(again.records_read).toBe(first.records_read);
    // gen-…/train.jsonl, validation.jsonl, stats.json and manifest.json
    expect(again.files_skipped).toBe(first.files_skipped + 4);
  });
});
