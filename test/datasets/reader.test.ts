import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { H, HashSet64, hash64 } from '../../src/lib/datasets/dedup.js';
import { peekQualityScore, prepareSeDarwinDataset } from '../../src/lib/datasets/index.js';
import { LabelCounter } from '../../src/lib/datasets/labels.js';
import { localFiles, pairOf, pub, readJsonl, tempDir } from './helpers.js';

const tmp = tempDir();
const files = localFiles(tmp);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** Writes `entries` (relative path -> content) into a fresh input dir; returns it. */
function archive(entries: Record<string, string | Buffer>): string {
  const dir = path.join(tmp, `in-${++n}`);
  for (const [rel, content] of Object.entries(entries)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

async function prep(input: string, extra: Record<string, unknown> = {}) {
  const output = path.join(tmp, `out-${++n}`);
  const r = await prepareSeDarwinDataset(files, {
    input,
    output,
    validation_fraction: 0,
    format: 'prompt_completion',
    ...extra,
  });
  const kept = readJsonl(pub(output, 'train.jsonl')).map(pairOf);
  const bad = r.bad_records.map((b) => `${path.basename(b.file)}:${b.line} ${b.reason}`);
  return { r, kept, bad };
}

const rec = (prompt: string, completion: string, q = 0.9) => JSON.stringify({ prompt, completion, quality_score: q });

describe('record reader', () => {
  it('reads .json arrays, single objects and concatenated values, with the line of each record', async () => {
    const dir = archive({
      'a.json': `[\n  ${rec('p1 [with] {brackets}', 'c1')},\n  ${rec('p2 "quoted \\" ]', 'c2')},\n  5,\n  {"prompt": "p3", "solution": {"code": "x = [1, 2]"}, "quality_score": 0.95}\n]\n`,
      'b.json': JSON.stringify(
        { task: 'p4', requirements: ['r1', 'r2'], best_agent: 'coder', quality_score: 1 },
        null,
        2,
      ),
      'c.json': `${rec('p5', 'c5')}\n${rec('p6', 'c6')}\n"stray"\n`,
      'd.json': `[\n${rec('p7', 'c7')},\n{"prompt": "cut`,
    });
    const { r, kept, bad } = await prep(dir);
    expect(kept).toEqual([
      ['p1 [with] {brackets}', 'c1'],
      ['p2 "quoted \\" ]', 'c2'],
      ['p3', '{"code":"x = [1, 2]"}'],
      ['p4\n\nRequirements:\n- r1\n- r2', 'coder'],
      ['p5', 'c5'],
      ['p6', 'c6'],
      ['p7', 'c7'],
    ]);
    expect(bad).toEqual([
      'a.json:4 not a JSON object: 5',
      expect.stringMatching(/^c\.json:3 not a JSON object: "stray"/),
      'd.json:3 file ends inside a JSON value (truncated)',
    ]);
    expect(r.records_read).toBe(10);
  });

  it('handles CRLF, a byte-order mark, blank lines and a last line without newline', async () => {
    const dir = archive({
      'a.jsonl': `\uFEFF${rec('p1', 'c1')}\r\n\r\n${rec('p2', 'c2')}\r\n   \n{bad\r\n${rec('p3', 'c3')}`,
    });
    const { r, kept, bad } = await prep(dir);
    expect(kept).toEqual([
      ['p1', 'c1'],
      ['p2', 'c2'],
      ['p3', 'c3'],
    ]);
    expect(bad).toEqual([expect.stringMatching(/^a\.jsonl:5 not valid JSON/)]);
    expect(r.records_read).toBe(4);
  });

  it('reads gzipped JSONL and JSON', async () => {
    const dir = archive({
      'a.jsonl.gz': gzipSync(`${rec('p1', 'c1')}\n${rec('p2', 'c2', 0.1)}\n`),
      'b.json.gz': gzipSync(`[${rec('p3', 'c3')}]`),
    });
    const { r, kept } = await prep(dir);
    expect(kept).toEqual([
      ['p1', 'c1'],
      ['p3', 'c3'],
    ]);
    expect(r.bytes_read).toBe(r.total_bytes); // compressed bytes
  });

  it('never splits a multi-byte character at a chunk boundary', async () => {
    // ~3 MiB of lines full of 2-, 3- and 4-byte characters, so chunk edges fall inside them.
    const lines: string[] = [];
    const expected: [string, string][] = [];
    for (let i = 0, bytes = 0; bytes < 3 << 20; i++) {
      const p = `tâche ${i}: 日本語のテキスト ${'é漢😀'.repeat(i % 17)} ünïcödé`;
      lines.push(rec(p, `agent-${i % 7}`));
      expected.push([p, `agent-${i % 7}`]);
      bytes += Buffer.byteLength(lines.at(-1)!) + 1;
    }
    const dir = archive({ 'u.jsonl': `${lines.join('\n')}\n`, 'v.json': `[${lines.join(',\n')}]` });
    expect(fs.statSync(path.join(dir, 'u.jsonl')).size).toBeGreaterThan(2 << 20);
    const { r, kept } = await prep(dir);
    expect(r.bad_records_count).toBe(0);
    expect(kept).toEqual(expected); // v.json repeats u.jsonl: all duplicates
    expect(r.dropped.duplicate).toBe(expected.length);
  });

  it('a single named file is read whatever its extension', async () => {
    const dir = archive({ 'log.txt': `${rec('p1', 'c1')}\n` });
    const { kept } = await prep(path.join(dir, 'log.txt'));
    expect(kept).toEqual([['p1', 'c1']]);
  });
});

describe('peekQualityScore (the pre-filter)', () => {
  it('reads the score of a plain line without parsing it', () => {
    expect(peekQualityScore('{"prompt":"x","quality_score":0.42,"y":1}', 0.8)).toBe(0.42);
    expect(peekQualityScore('{"quality_score" : 1e-1 }', 0.8)).toBe(0.1);
    expect(peekQualityScore('{"quality_score":0.95}', 0.8)).toBe(0.95);
  });

  it('declines (NaN) whenever the full parse could disagree', () => {
    const no = [
      '{"prompt":"x"}', // absent
      '{"quality_score":"0.1"}', // a string
      '{"quality_score":.5}', // not JSON
      '{"quality_score":0.1', // truncated
      '{"meta":{"quality_score":0.1},"quality_score":0.9}', // twice
      '{"quality_score":0.1,"quality_score":0.9}', // duplicate key: JSON.parse keeps the last
      '[{"quality_score":0.1}]', // not an object
      '{"quality_score":0.1 x}',
    ];
    for (const line of no) expect(peekQualityScore(line, 0.8), line).toBeNaN();
    // Escaped quotes inside a string never look like the key.
    expect(peekQualityScore('{"prompt":"say \\"quality_score\\": 0.1"}', 0.8)).toBeNaN();
  });
});

describe('building blocks', () => {
  it('hash64 is stable and seed-dependent', () => {
    hash64('hello');
    const a = [H[0], H[1]];
    hash64('hello');
    expect([H[0], H[1]]).toEqual(a);
    hash64('hello', 1, 2);
    expect([H[0], H[1]]).not.toEqual(a);
    hash64('hellp');
    expect([H[0], H[1]]).not.toEqual(a);
  });

  it('HashSet64 finds duplicates across growth', () => {
    const s = new HashSet64(16);
    for (let i = 0; i < 50_000; i++) {
      hash64(`k${i}`);
      expect(s.add(H[0]!, H[1]!)).toBe(true);
    }
    for (let i = 0; i < 50_000; i += 7) {
      hash64(`k${i}`);
      expect(s.add(H[0]!, H[1]!)).toBe(false);
    }
    expect(s.size).toBe(50_000);
    expect(s.add(0, 0)).toBe(true);
    expect(s.add(0, 0)).toBe(false);
    expect(s.bytes).toBeLessThanOrEqual(16 * 2 * 50_001 + 16);
  });

  it('LabelCounter is exact up to its capacity, then keeps the heavy hitters', () => {
    const c = new LabelCounter(8);
    for (let i = 0; i < 1000; i++) c.add(i % 3 === 0 ? 'frequent' : `rare-${i}`);
    const b = c.balance(3);
    expect(b.exact).toBe(false);
    expect(b.top[0]!.label).toBe('frequent');
    expect(b.top[0]!.count).toBeGreaterThan(334 - 1000 / 8);
    expect(b.top[0]!.count).toBeLessThanOrEqual(334);
    const e = new LabelCounter();
    for (const l of ['a', 'b', 'a', 'x'.repeat(200)]) e.add(l);
    expect(e.balance()).toEqual({
      top: [
        { label: 'a', count: 2, share: 0.5 },
        { label: 'b', count: 1, share: 0.25 },
        { label: `${'x'.repeat(79)}…`, count: 1, share: 0.25 },
      ],
      other: { count: 0, share: 0 },
      distinct: 3,
      exact: true,
    });
  });
});
