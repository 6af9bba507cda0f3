// A dataset is published whole or not at all: generations, the manifest written last, the reader's
// check (checkDataset), what a reader would see if the process died at each commit step, failures
// at each step, and the clean-up of what killed runs left behind.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateArchive } from '../../scripts/gen-archive.js';
import {
  type CommitStep,
  checkDataset,
  prepareSeDarwinDataset,
  readDatasetManifest,
  setCommitHook,
} from '../../src/lib/datasets/index.js';
import { VertexMcpError } from '../../src/lib/errors.js';
import { ARCHIVE, EXAMPLES, localFiles, tempDir, tree } from './helpers.js';

const tmp = tempDir();
const files = localFiles(EXAMPLES, tmp);
let n = 0;
const outDir = () => path.join(tmp, `out-${++n}`);
/** A pid that cannot exist (Linux pid_max is at most 2^22). */
const DEAD_PID = 4194399;
let big = '';

beforeAll(async () => {
  big = (await generateArchive({ out: path.join(tmp, 'gen'), mb: 3, seed: 11, fileMb: 1 })).archive_dir;
});
afterEach(() => setCommitHook(undefined));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

async function refusal(p: Promise<unknown>): Promise<VertexMcpError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e, 'expected a refusal').toBeInstanceOf(VertexMcpError);
  return e as VertexMcpError;
}

/** What a reader sees in `output` right now: the manifest's generation and its files' digests. */
function visible(output: string): { generation: string; seed: number; digests: Record<string, string> } | null {
  const mf = path.join(output, 'manifest.json');
  if (!fs.existsSync(mf)) return null;
  const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
  const digests: Record<string, string> = {};
  for (const [name, f] of Object.entries<any>(m.files)) {
    digests[name] = fs.existsSync(f.uri) ? sha(f.uri) : 'missing';
    if (digests[name] !== f.sha256) digests[name] = `mismatch:${digests[name]}`;
  }
  const stats = JSON.parse(fs.readFileSync(m.files['stats.json'].uri, 'utf8'));
  return { generation: m.generation, seed: stats.options.seed, digests };
}

describe('generations and the manifest', () => {
  it('publishes each run as a new generation; checkDataset accepts a pair of one generation only', async () => {
    const output = outDir();
    const a = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, seed: 1, validation_fraction: 0.3 });
    const b = await prepareSeDarwinDataset(files, {
      input: ARCHIVE,
      output,
      seed: 2,
      validation_fraction: 0.3,
      overwrite: true,
    });
    expect(b.previous_generation).toBe(a.output.generation);
    const m = (await readDatasetManifest(files, output))!;
    expect(m.generation).toBe(b.output.generation);
    expect(m.previous?.generation).toBe(a.output.generation);
    expect(m.files['train.jsonl']).toMatchObject({ uri: b.output.train_uri, lines: b.train_examples });
    expect(await readDatasetManifest(files, path.join(output, 'manifest.json'))).toEqual(m);
    expect(await readDatasetManifest(files, outDir())).toBeNull();

    const cur = await checkDataset(files, { train_uri: b.output.train_uri, validation_uri: b.output.validation_uri });
    expect(cur).toEqual({
      managed: true,
      generation: b.output.generation,
      current: true,
      manifest_uri: path.join(output, 'manifest.json'),
      checked: [
        { uri: b.output.train_uri, size: fs.statSync(b.output.train_uri).size, by: 'sha256' },
        { uri: b.output.validation_uri, size: fs.statSync(b.output.validation_uri!).size, by: 'sha256' },
      ],
      warnings: [],
    });
    // The previous generation is still whole and accepted, with a warning.
    const prev = await checkDataset(files, { train_uri: a.output.train_uri, validation_uri: a.output.validation_uri });
    expect([prev.current, prev.generation]).toEqual([false, a.output.generation]);
    expect(prev.warnings[0]).toMatch(/is no longer current/);

    // Train of one run, validation of the other: refused.
    let e = await refusal(
      checkDataset(files, { train_uri: b.output.train_uri, validation_uri: a.output.validation_uri }),
    );
    expect(e.code).toBe('FAILED_PRECONDITION');
    expect(e.message).toBe(
      `dataset.train_uri is from generation ${b.output.generation} and dataset.validation_uri from ${a.output.generation}: they are not one prepared dataset`,
    );
    // A file changed after publication: refused.
    fs.appendFileSync(b.output.validation_uri!, '{"contents":[]}\n');
    e = await refusal(checkDataset(files, { train_uri: b.output.train_uri, validation_uri: b.output.validation_uri }));
    expect(e.message).toMatch(
      /^dataset\.validation_uri ".*" changed after it was published in generation gen-.* \(\d+ bytes, the manifest says \d+\)$/,
    );
    // The same size, other bytes: the SHA-256 tells.
    const t = fs.readFileSync(b.output.train_uri);
    t[10] = t[10] === 0x41 ? 0x42 : 0x41;
    fs.writeFileSync(b.output.train_uri, t);
    e = await refusal(checkDataset(files, { train_uri: b.output.train_uri }));
    expect(e.message).toMatch(/its SHA-256 differs from the manifest/);
    expect((await checkDataset(files, { train_uri: b.output.train_uri }, { hashes: 'none' })).checked[0]!.by).toBe(
      'size',
    );

    // A generation directory the manifest does not publish (a run that never finished).
    const orphan = path.join(output, 'gen-20200101T000000000Z-1-abcd');
    fs.cpSync(path.join(output, a.output.generation), orphan, { recursive: true });
    e = await refusal(checkDataset(files, { train_uri: path.join(orphan, 'train.jsonl') }));
    expect(e.message).toMatch(
      /belongs to dataset generation gen-20200101T000000000Z-1-abcd, which .*manifest\.json does not publish/,
    );
    // The top-level names of the layout before generations: refused with the right URI.
    e = await refusal(checkDataset(files, { train_uri: path.join(output, 'train.jsonl') }));
    expect(e.message).toMatch(/is not part of the dataset published in .*manifest\.json/);
    expect(e.hint).toBe(`Use ${b.output.train_uri}`);
    // Outside any prepared output (a hand-made dataset): accepted unchecked.
    const hand = path.join(tmp, 'hand.jsonl');
    fs.writeFileSync(hand, '{"prompt":"a","completion":"b"}\n');
    expect(await checkDataset(files, { train_uri: hand })).toMatchObject({ managed: false, checked: [] });
    const mixed = await checkDataset(files, { train_uri: a.output.train_uri, validation_uri: hand });
    expect(mixed.warnings).toContain(
      'dataset.validation_uri is not a prepare_dataset output: it was not checked against the manifest',
    );
  });

  it('a generation whose run never published is refused by the reader', async () => {
    const output = outDir();
    fs.mkdirSync(path.join(output, 'gen-20200101T000000000Z-1-abcd'), { recursive: true });
    fs.writeFileSync(path.join(output, 'gen-20200101T000000000Z-1-abcd', 'train.jsonl'), '{}\n');
    const e = await refusal(
      checkDataset(files, { train_uri: path.join(output, 'gen-20200101T000000000Z-1-abcd', 'train.jsonl') }),
    );
    expect(e.message).toMatch(
      /which was never published \(.*manifest\.json does not exist\): the run that wrote it did not finish$/,
    );
    fs.writeFileSync(path.join(output, 'manifest.json'), '{"kind":"something else"}');
    expect((await refusal(readDatasetManifest(files, output))).message).toMatch(
      /is not a valid vertex-mcp dataset manifest/,
    );
  });
});

describe('a re-run killed during its commit', () => {
  const STEPS: CommitStep[] = ['files-written', 'generation-renamed', 'manifest-published', 'cleaned'];

  it('shows the old set or the new set whole at every step of the commit', async () => {
    const output = outDir();
    const a = await prepareSeDarwinDataset(files, { input: big, output, seed: 1, validation_fraction: 0.25 });
    const old = visible(output)!;
    expect(old.generation).toBe(a.output.generation);
    const seen: { step: CommitStep; generation: string; seed: number; whole: boolean }[] = [];
    setCommitHook(async (step) => {
      const v = visible(output)!;
      // Whole: every file the manifest lists is there with its digest.
      const whole = Object.values(v.digests).every((d) => !d.startsWith('mismatch'));
      seen.push({ step, generation: v.generation, seed: v.seed, whole });
      // The reader's check agrees at every step.
      const m = (await readDatasetManifest(files, output))!;
      await checkDataset(files, {
        train_uri: m.files['train.jsonl']!.uri,
        validation_uri: m.files['validation.jsonl']!.uri,
      });
    });
    const b = await prepareSeDarwinDataset(files, {
      input: big,
      output,
      seed: 2,
      validation_fraction: 0.25,
      overwrite: true,
    });
    expect(seen).toEqual([
      { step: 'files-written', generation: a.output.generation, seed: 1, whole: true },
      { step: 'generation-renamed', generation: a.output.generation, seed: 1, whole: true },
      { step: 'manifest-published', generation: b.output.generation, seed: 2, whole: true },
      { step: 'cleaned', generation: b.output.generation, seed: 2, whole: true },
    ]);
    expect(visible(output)!.digests).not.toEqual(old.digests);
  });

  for (const step of STEPS.slice(0, 2)) {
    it(`a failure at "${step}" leaves the old set published and nothing of the new run`, async () => {
      const output = outDir();
      const a = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, seed: 1 });
      const before = tree(output);
      const old = visible(output);
      setCommitHook((s) => {
        if (s === step) throw new Error(`simulated crash at ${s}`);
      });
      const e = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, seed: 2, overwrite: true }).catch(
        (x: unknown) => x,
      );
      expect((e as Error).message).toMatch(new RegExp(`simulated crash at ${step}`));
      expect(visible(output)).toEqual(old);
      expect(tree(output)).toEqual(before);
      expect((await readDatasetManifest(files, output))!.generation).toBe(a.output.generation);
    });
  }

  it('the next run removes what a killed run left: temporaries, unpublished generations, old-layout temps', async () => {
    const output = outDir();
    const a = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, seed: 1 });
    // What kill -9 at various points leaves, from a process that is gone.
    const leftovers = [
      `.gen-20200101T000000000Z-${DEAD_PID}-0001.${DEAD_PID}-0a0b0c0d.tmp`, // killed while writing
      `gen-20200101T000000000Z-${DEAD_PID}-0002`, // killed between the rename and the manifest
      `.manifest.json.${DEAD_PID}-1a2b3c4d.tmp`, // killed while writing the manifest
      `.train.jsonl.${DEAD_PID}-deadbeef.tmp`, // the layout before generations
    ];
    for (const l of leftovers) {
      if (!/^\.?gen-/.test(l)) fs.writeFileSync(path.join(output, l), 'x');
      else {
        fs.mkdirSync(path.join(output, l));
        fs.writeFileSync(path.join(output, l, 'train.jsonl'), 'partial');
      }
    }
    // A temporary of a live process (this one is in flight elsewhere): kept while fresh.
    const live = `.stats.json.${process.ppid}-00112233.tmp`;
    fs.writeFileSync(path.join(output, live), 'x');
    const b = await prepareSeDarwinDataset(files, { input: ARCHIVE, output, seed: 2, overwrite: true });
    expect(fs.readdirSync(output).sort()).toEqual(
      [live, a.output.generation, b.output.generation, 'manifest.json'].sort(),
    );
  });
});

describe('concurrent runs into one local output', () => {
  it('one publishes; the other is ABORTED and removes its generation', async () => {
    const output = outDir();
    await prepareSeDarwinDataset(files, { input: ARCHIVE, output, seed: 1 });
    const runs = await Promise.allSettled(
      [2, 3].map((seed) => prepareSeDarwinDataset(files, { input: ARCHIVE, output, seed, overwrite: true })),
    );
    const lost = runs.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({
      code: 'ABORTED',
      message: expect.stringMatching(/manifest\.json" was replaced by another writer meanwhile; nothing was written$/),
    });
    const m = (await readDatasetManifest(files, output))!;
    await checkDataset(files, {
      train_uri: m.files['train.jsonl']!.uri,
      validation_uri: m.files['validation.jsonl']!.uri,
    });
    expect(fs.readdirSync(output).sort()).toEqual([m.previous!.generation, m.generation, 'manifest.json'].sort());
  });
});
