import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateArchive, generateExamples, haloDecisions } from '../../scripts/gen-archive.js';
import { EXAMPLES, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function digest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, full), createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
  }
  return out;
}

describe('scripts/gen-archive', () => {
  it('regenerates the committed examples/ byte for byte', () => {
    const dir = path.join(tmp, 'examples');
    const res = generateExamples(dir);
    const fresh = digest(dir);
    const committed = digest(EXAMPLES);
    for (const rel of res.files) expect(committed.get(rel), rel).toBe(fresh.get(rel));
    expect(res).toMatchObject({ archive_records: 608, archive_malformed: 8, halo_decisions: 1500, halo_malformed: 6 });
    expect(res.heldout).toBeGreaterThanOrEqual(200);
    // The whole examples/ folder stays small.
    let bytes = 0;
    for (const e of fs.readdirSync(EXAMPLES, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) bytes += fs.statSync(path.join(e.parentPath, e.name)).size;
    }
    expect(bytes).toBeLessThan(1.5 * 1024 * 1024);
  });

  it('writes archives of the requested size, the same for the same seed', async () => {
    const a = await generateArchive({ out: path.join(tmp, 'a'), mb: 2, seed: 4, fileMb: 0.5, haloDecisions: 300 });
    await generateArchive({ out: path.join(tmp, 'b'), mb: 2, seed: 4, fileMb: 0.5, haloDecisions: 300 });
    expect(a.bytes).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(a.bytes).toBeLessThan(2 * 1024 * 1024 + 8192);
    expect(a.files).toBe(4);
    expect(digest(path.join(tmp, 'a'))).toEqual(digest(path.join(tmp, 'b')));
    const c = await generateArchive({ out: path.join(tmp, 'c'), mb: 2, seed: 5, fileMb: 0.5 });
    expect(digest(c.archive_dir)).not.toEqual(digest(a.archive_dir));
    const lines = fs.readFileSync(a.halo_uri!, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(300);
    for (const l of lines)
      expect(Object.keys(JSON.parse(l))).toEqual(expect.arrayContaining(['task', 'agent', 'timestamp']));
  });

  it('routes most decisions to the right agent, and the right agent mostly succeeds', () => {
    const ds = [...haloDecisions(1, 3000)];
    const ok = (d: (typeof ds)[number]) => d.success ?? d.outcome === 'success';
    const rate = ds.filter(ok).length / ds.length;
    expect(rate).toBeGreaterThan(0.6);
    expect(rate).toBeLessThan(0.85);
    expect(new Set(ds.map((d) => d.agent)).size).toBe(6);
  });
});
