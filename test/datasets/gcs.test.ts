// The converters over gs:// (the official storage client against the emulator's GCS): the same
// results as with local paths, and nothing left behind when a run fails.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateArchive } from '../../scripts/gen-archive.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import {
  type CommitStep,
  checkDataset,
  prepareSeDarwinDataset,
  readDatasetManifest,
  setCommitHook,
} from '../../src/lib/datasets/index.js';
import { createLibrary, type Library } from '../../src/lib/index.js';
import { emulatorBackend } from '../helpers.js';
import { ARCHIVE, EXAMPLES, localFiles, pairOf, pub, readJsonl, tempDir } from './helpers.js';

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
    const g = r.output.generation;
    expect(r.output).toEqual({
      train_uri: `${BUCKET}/prepared/${g}/train.jsonl`,
      validation_uri: `${BUCKET}/prepared/${g}/validation.jsonl`,
      stats_uri: `${BUCKET}/prepared/${g}/stats.json`,
      manifest_uri: `${BUCKET}/prepared/manifest.json`,
      generation: g,
    });
    const local = path.join(tmp, 'local');
    const l = await prepareSeDarwinDataset(localFiles(EXAMPLES, tmp), { input: ARCHIVE, output: local });
    expect(r.dropped).toEqual(l.dropped);
    expect(r.kept).toBe(l.kept);
    expect(r.bad_records.map((b) => [b.file.replace(`${BUCKET}/archive/`, ''), b.line, b.reason])).toEqual(
      l.bad_records.map((b) => [path.relative(ARCHIVE, b.file), b.line, b.reason]),
    );
    const train = lines(await lib.files.readText(r.output.train_uri)).map(pairOf);
    expect(train).toEqual(readJsonl(pub(local, 'train.jsonl')).map(pairOf));
    // The manifest lists each object with the MD5 and CRC32C the server computed.
    const m = JSON.parse(await lib.files.readText(r.output.manifest_uri));
    for (const name of ['train.jsonl', 'validation.jsonl', 'stats.json']) {
      const st = emu.gcs.stat(`${BUCKET}/prepared/${g}/${name}`)!;
      expect(m.files[name]).toMatchObject({ size: st.size, md5: st.md5Hash, crc32c: st.crc32c });
    }
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
      [ok.output.manifest_uri, ok.output.stats_uri, ok.output.train_uri, ok.output.validation_uri!].sort(),
    );
  });

  it('a missing gs:// input names the field', async () => {
    await expect(
      prepareSeDarwinDataset(lib.files, { input: `${BUCKET}/nothing-here`, output: `${BUCKET}/x` }),
    ).rejects.toThrow(/^input "gs:\/\/vertex-mcp-emulator\/nothing-here" does not exist/);
  });
});

describe('publishing over gs://: whole or not at all', () => {
  const objectsUnder = (prefix: string) =>
    emu.gcs.list(`${BUCKET}/${prefix}/`).map((o) => o.name.slice(prefix.length + 1));

  it('a reader sees the old set or the new set whole at every commit step', async () => {
    const output = `${BUCKET}/steps`;
    const a = await prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed: 1 });
    const seen: [CommitStep, string][] = [];
    setCommitHook(async (step) => {
      const m = (await readDatasetManifest(lib.files, output))!;
      await checkDataset(lib.files, {
        train_uri: m.files['train.jsonl']!.uri,
        validation_uri: m.files['validation.jsonl']!.uri,
      });
      seen.push([step, m.generation]);
    });
    try {
      const b = await prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed: 2, overwrite: true });
      expect(seen).toEqual([
        ['files-written', a.output.generation],
        ['manifest-published', b.output.generation],
        ['cleaned', b.output.generation],
      ]);
      // checkDataset on gs:// compares the server's MD5 with the manifest (no download).
      const check = await checkDataset(lib.files, {
        train_uri: b.output.train_uri,
        validation_uri: b.output.validation_uri,
      });
      expect(check.checked.map((c) => c.by)).toEqual(['md5', 'md5']);
      expect(
        (await checkDataset(lib.files, { train_uri: b.output.train_uri }, { hashes: 'full' })).checked[0]!.by,
      ).toBe('sha256');
    } finally {
      setCommitHook(undefined);
    }
  });

  it('a failure before the manifest deletes the new objects; the old set stays published', async () => {
    const output = `${BUCKET}/fail-commit`;
    const a = await prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed: 1 });
    const before = objectsUnder('fail-commit');
    setCommitHook((step) => {
      if (step === 'files-written') throw new Error('simulated crash after the uploads');
    });
    try {
      await expect(
        prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed: 2, overwrite: true }),
      ).rejects.toThrow(/simulated crash/);
    } finally {
      setCommitHook(undefined);
    }
    expect(objectsUnder('fail-commit')).toEqual(before);
    expect((await readDatasetManifest(lib.files, output))!.generation).toBe(a.output.generation);
  });

  it('objects of a killed run are removed by a later run once stale (STALE_TEMP_MS), not before', async () => {
    const output = `${BUCKET}/killed`;
    await prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed: 1 });
    // What kill -9 after uploading train.jsonl leaves: an unpublished generation.
    const orphan = 'gen-20200101T000000000Z-4194399-abcd';
    await emu.gcs.write(`${output}/${orphan}/train.jsonl`, '{"partial":true}\n');
    await prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed: 2, overwrite: true });
    expect(objectsUnder('killed').some((n) => n.startsWith(orphan))).toBe(true); // young: maybe a run in flight
    // Ten minutes later (the object's time set back).
    const key = `vertex-mcp-emulator/killed/${orphan}/train.jsonl`;
    const doc = emu.store.get<Record<string, unknown>>('gcs_object', key)!;
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    emu.store.put('gcs_object', key, { ...doc, updated: old, timeCreated: old }, 'vertex-mcp-emulator');
    const c = await prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed: 3, overwrite: true });
    const left = objectsUnder('killed');
    expect(left.some((n) => n.startsWith(orphan))).toBe(false);
    expect(
      left.every(
        (n) => n === 'manifest.json' || n.startsWith(c.previous_generation!) || n.startsWith(c.output.generation),
      ),
    ).toBe(true);
  });

  it('two concurrent runs into one output: one publishes, the other is ABORTED and leaves nothing', async () => {
    const output = `${BUCKET}/race`;
    await prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed: 1 });
    const runs = await Promise.allSettled(
      [2, 3].map((seed) => prepareSeDarwinDataset(lib.files, { input: ARCHIVE, output, seed, overwrite: true })),
    );
    const won = runs.filter((r) => r.status === 'fulfilled');
    const lost = runs.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect([won.length, lost.length]).toEqual([1, 1]);
    for (const l of lost) expect(l.reason).toMatchObject({ code: 'ABORTED' });
    const m = (await readDatasetManifest(lib.files, output))!;
    await checkDataset(lib.files, {
      train_uri: m.files['train.jsonl']!.uri,
      validation_uri: m.files['validation.jsonl']!.uri,
    });
    const gens = new Set(
      objectsUnder('race')
        .filter((n) => n !== 'manifest.json')
        .map((n) => n.split('/')[0]),
    );
    expect(gens).toEqual(new Set([m.generation, m.previous!.generation]));
  });
});
