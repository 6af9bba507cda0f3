// The converters over gs:// (the official storage client against the emulator's GCS): the same
// results as with local paths, and nothing left behind when a run fails.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateArchive } from '../../scripts/gen-archive.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { prepareSeDarwinDataset } from '../../src/lib/datasets/index.js';
import { createLibrary, type Library } from '../../src/lib/index.js';
import { emulatorBackend } from '../helpers.js';
import { ARCHIVE, EXAMPLES, localFiles, pairOf, readJsonl, tempDir } from './helpers.js';

const BUCKET = 'gs://vertex-mcp-emulator';
let emu: Emulator;
let lib: Library;
const tmp = tempDir();

beforeAll(async () => {
  emu = await startEmulator({ dataDir: ':memory:' });
  lib = createLibrary(emulatorBackend(emu), { allowedRoots: [EXAMPLES, tmp] });
  for (const e of fs.readdirSync(ARCHIVE, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    await emu.gcs.write(`${BUCKET}/archive/${path.relative(ARCHIVE, full)}`, fs.readFileSync(full, 'utf8'));
  }
});

afterAll(async () => {
  await lib?.close();
  await emu?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

describe('dataset preparation over gs://', () => {
  it('reads an archive under a gs:// prefix and writes gs:// outputs, as it does locally', async () => {
    const r = await prepareSeDarwinDataset(lib.files, { input: `${BUCKET}/archive`, output: `${BUCKET}/prepared/` });
    expect(r.output).toEqual({
      train_uri: `${BUCKET}/prepared/train.jsonl`,
      validation_uri: `${BUCKET}/prepared/validation.jsonl`,
      stats_uri: `${BUCKET}/prepared/stats.json`,
    });
    const local = path.join(tmp, 'local');
    const l = await prepareSeDarwinDataset(localFiles(EXAMPLES, tmp), { input: ARCHIVE, output: local });
    expect(r.dropped).toEqual(l.dropped);
    expect(r.kept).toBe(l.kept);
    expect(r.bad_records.map((b) => [b.file.replace(`${BUCKET}/archive/`, ''), b.line, b.reason])).toEqual(
      l.bad_records.map((b) => [path.relative(ARCHIVE, b.file), b.line, b.reason]),
    );
    const train = lines(await lib.files.readText(r.output.train_uri)).map(pairOf);
    expect(train).toEqual(readJsonl(path.join(local, 'train.jsonl')).map(pairOf));
    expect(JSON.parse(await lib.files.readText(r.output.stats_uri)).kept).toBe(r.kept);
  });

  it('leaves no object behind when a run fails', async () => {
    const e = await prepareSeDarwinDataset(lib.files, {
      input: `${BUCKET}/archive`,
      output: `${BUCKET}/failed`,
      quality_threshold: 1,
      benchmarks: ['halo-routing'],
    }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/^no record has quality_score >= 1/);
    expect(await lib.files.exists(`${BUCKET}/failed`)).toBe(false);

    // Cancelled after 8 MiB, with train.jsonl's upload under way.
    const gen = await generateArchive({ out: path.join(tmp, 'gen'), mb: 12, seed: 5, fileMb: 4 });
    for (const f of fs.readdirSync(gen.archive_dir, { recursive: true, withFileTypes: true })) {
      if (!f.isFile()) continue;
      const full = path.join(f.parentPath, f.name);
      await emu.gcs.write(`${BUCKET}/big/${path.relative(gen.archive_dir, full)}`, fs.readFileSync(full, 'utf8'));
    }
    const ac = new AbortController();
    const p = prepareSeDarwinDataset(
      lib.files,
      { input: `${BUCKET}/big`, output: `${BUCKET}/cancelled` },
      (pr) => {
        if (pr.bytes_read >= 8 << 20) ac.abort();
      },
      ac.signal,
    );
    await expect(p).rejects.toThrow(/abort/i);
    expect(await lib.files.exists(`${BUCKET}/cancelled`)).toBe(false);
    // The same input, not cancelled, commits all three.
    const ok = await prepareSeDarwinDataset(lib.files, { input: `${BUCKET}/big`, output: `${BUCKET}/done` });
    expect((await lib.files.list(`${BUCKET}/done`)).map((f) => f.uri).sort()).toEqual(
      [ok.output.stats_uri, ok.output.train_uri, ok.output.validation_uri!].sort(),
    );
  });

  it('a missing gs:// input names the field', async () => {
    await expect(
      prepareSeDarwinDataset(lib.files, { input: `${BUCKET}/nothing-here`, output: `${BUCKET}/x` }),
    ).rejects.toThrow(/^input "gs:\/\/vertex-mcp-emulator\/nothing-here" does not exist/);
  });
});
