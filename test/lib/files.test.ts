// Files: gs:// through the official storage client against a real emulator, and local paths kept
// inside the allowed roots (../ and symlink escapes refused).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { createLibrary, type Library, VertexMcpError } from '../../src/lib/index.js';
import { emulatorBackend } from '../helpers.js';

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<VertexMcpError> {
  const promise = typeof p === 'function' ? Promise.resolve().then(p) : p;
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a refusal').toBeInstanceOf(VertexMcpError);
  return err as VertexMcpError;
}

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function writeAll(w: NodeJS.WritableStream, data: Buffer): Promise<void> {
  await pipeline(
    Readable.from(
      (function* () {
        for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
      })(),
    ),
    w,
  );
}

let emu: Emulator;
let lib: Library;
let tmp: string;
let root: string;
let outside: string;

beforeAll(async () => {
  emu = await startEmulator({ dataDir: ':memory:' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-files-'));
  root = path.join(tmp, 'root');
  outside = path.join(tmp, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  lib = createLibrary(emulatorBackend(emu), { allowedRoots: [root] });
  await emu.gcs.write('gs://vertex-mcp-emulator/data/a.jsonl', '{"a":1}\n');
  await emu.gcs.write('gs://vertex-mcp-emulator/data/sub/b.jsonl', '{"b":2}\n{"b":3}\n');
  await emu.gcs.write('gs://vertex-mcp-emulator/data2/c.jsonl', 'c');
});

afterAll(async () => {
  await lib?.close();
  await emu?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Files on gs://', () => {
  it('writes and reads text', async () => {
    await lib.files.writeText('gs://vertex-mcp-emulator/out/stats.json', '{"kept":3}');
    expect(await lib.files.readText('gs://vertex-mcp-emulator/out/stats.json')).toBe('{"kept":3}');
    expect(emu.gcs.stat('gs://vertex-mcp-emulator/out/stats.json')?.contentType).toBe('application/json');
  });

  it('streams a large object through openWrite / openRead', async () => {
    const data = crypto.randomBytes(6 * 1024 * 1024 + 3);
    const w = await lib.files.openWrite('gs://vertex-mcp-emulator/out/big.bin', 'output');
    await writeAll(w, data);
    // 'finish' means stored: the object is there with the right size right away.
    expect(emu.gcs.stat('gs://vertex-mcp-emulator/out/big.bin')?.size).toBe(data.length);
    const back = await readAll(await lib.files.openRead('gs://vertex-mcp-emulator/out/big.bin'));
    expect(back.equals(data)).toBe(true);
  });

  it('lists a prefix recursively with sizes, or the one object named', async () => {
    expect(await lib.files.list('gs://vertex-mcp-emulator/data')).toEqual([
      { uri: 'gs://vertex-mcp-emulator/data/a.jsonl', size: 8 },
      { uri: 'gs://vertex-mcp-emulator/data/sub/b.jsonl', size: 16 },
    ]);
    expect(await lib.files.list('gs://vertex-mcp-emulator/data/')).toHaveLength(2);
    expect(await lib.files.list('gs://vertex-mcp-emulator/data/sub/b.jsonl', 'input')).toEqual([
      { uri: 'gs://vertex-mcp-emulator/data/sub/b.jsonl', size: 16 },
    ]);
  });

  it('answers exists for objects, prefixes, buckets and missing ones', async () => {
    expect(await lib.files.exists('gs://vertex-mcp-emulator/data/a.jsonl')).toBe(true);
    expect(await lib.files.exists('gs://vertex-mcp-emulator/data')).toBe(true);
    expect(await lib.files.exists('gs://vertex-mcp-emulator/dat')).toBe(false);
    expect(await lib.files.exists('gs://vertex-mcp-emulator/data/none.jsonl')).toBe(false);
    expect(await lib.files.exists('gs://vertex-mcp-emulator')).toBe(true);
    expect(await lib.files.exists('gs://no-such-bucket/x')).toBe(false);
  });

  it('names the field and the URI when something is missing', async () => {
    let err = await refusal(lib.files.list('gs://vertex-mcp-emulator/nothing/here', 'dataset'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/^dataset "gs:\/\/vertex-mcp-emulator\/nothing\/here" does not exist/);

    err = await refusal(lib.files.readText('gs://vertex-mcp-emulator/nothing.json', 'dataset'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('dataset "gs://vertex-mcp-emulator/nothing.json" does not exist');

    err = await refusal(readAll(await lib.files.openRead('gs://vertex-mcp-emulator/nothing.json', 'input')));
    expect(err.message).toBe('input "gs://vertex-mcp-emulator/nothing.json" does not exist');

    err = await refusal(lib.files.list('gs://no-such-bucket/x', 'input'));
    expect(err.message).toMatch(/input "gs:\/\/no-such-bucket\/x"/);

    err = await refusal(lib.files.writeText('gs://no-such-bucket/out.json', '{}', 'output'));
    expect(err.message).toMatch(/output "gs:\/\/no-such-bucket\/out.json": bucket "no-such-bucket" does not exist/);

    const w = await lib.files.openWrite('gs://no-such-bucket/out.jsonl', 'output');
    err = await refusal(writeAll(w, Buffer.from('x\n')));
    expect(err.message).toMatch(/bucket "no-such-bucket" does not exist/);

    err = await refusal(lib.files.openWrite('gs://vertex-mcp-emulator/dir/', 'output'));
    expect(err.message).toMatch(/must name an object/);
    err = await refusal(lib.files.list('gs://', 'input'));
    expect(err.message).toMatch(/not a valid gs:\/\/bucket\/path URI/);
  });

  it('leaves no object when a write is destroyed before it finishes', async () => {
    const w = await lib.files.openWrite('gs://vertex-mcp-emulator/out/aborted.jsonl');
    w.on('error', () => {});
    w.write(Buffer.alloc(1 << 20, 1));
    await new Promise((r) => setTimeout(r, 50));
    const closed = new Promise((r) => w.on('close', r));
    w.destroy();
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(await lib.files.exists('gs://vertex-mcp-emulator/out/aborted.jsonl')).toBe(false);
  });

  it('deletes objects (missing ones are not an error)', async () => {
    await lib.files.writeText('gs://vertex-mcp-emulator/out/del.txt', 'x');
    await lib.files.delete('gs://vertex-mcp-emulator/out/del.txt');
    expect(await lib.files.exists('gs://vertex-mcp-emulator/out/del.txt')).toBe(false);
    await lib.files.delete('gs://vertex-mcp-emulator/out/del.txt');
  });
});

describe('Files on local paths', () => {
  it('writes into directories that do not exist yet, reads back and lists recursively', async () => {
    const out = path.join(root, 'new', 'deeper', 'train.jsonl');
    await lib.files.writeText(out, '{"x":1}\n');
    expect(await lib.files.readText(out)).toBe('{"x":1}\n');
    const w = await lib.files.openWrite(path.join(root, 'new', 'v.jsonl'));
    await writeAll(w, Buffer.from('v\n'));
    const real = fs.realpathSync(root);
    expect(await lib.files.list(path.join(root, 'new'))).toEqual([
      { uri: path.join(real, 'new', 'deeper', 'train.jsonl'), size: 8 },
      { uri: path.join(real, 'new', 'v.jsonl'), size: 2 },
    ]);
    expect(await lib.files.exists(out)).toBe(true);
    expect(await lib.files.exists(path.join(root, 'nope'))).toBe(false);
  });

  it('refuses a path outside the roots, for reads and for writes', async () => {
    let err = await refusal(() => lib.files.readText(path.join(outside, 'secret.txt'), 'dataset'));
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toMatch(/^dataset ".*secret.txt" is outside the allowed roots/);
    err = await refusal(() => lib.files.writeText(path.join(outside, 'new', 'x.txt'), 'x', 'output'));
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(fs.existsSync(path.join(outside, 'new'))).toBe(false);
    err = await refusal(() => lib.files.list('/etc', 'input'));
    expect(err.code).toBe('PERMISSION_DENIED');
  });

  it('refuses a ../ escape', async () => {
    const dotdot = `${root}/../outside/secret.txt`;
    const err = await refusal(() => lib.files.readText(dotdot, 'dataset'));
    expect(err.code).toBe('PERMISSION_DENIED');
    const rel = path.relative(process.cwd(), path.join(root, 'a', '..', '..', 'outside', 'y.txt'));
    expect((await refusal(() => lib.files.writeText(rel, 'y'))).code).toBe('PERMISSION_DENIED');
    expect(fs.existsSync(path.join(outside, 'y.txt'))).toBe(false);
  });

  it('refuses symlink escapes: a linked directory, a linked file, and a dangling link as an output', async () => {
    fs.symlinkSync(outside, path.join(root, 'link-dir'));
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link-file'));
    fs.symlinkSync(path.join(outside, 'created-by-link.txt'), path.join(root, 'dangling'));

    expect((await refusal(() => lib.files.readText(path.join(root, 'link-dir', 'secret.txt')))).code).toBe(
      'PERMISSION_DENIED',
    );
    expect((await refusal(() => lib.files.readText(path.join(root, 'link-file')))).code).toBe('PERMISSION_DENIED');
    expect((await refusal(() => lib.files.openWrite(path.join(root, 'link-dir', 'new', 'out.txt')))).code).toBe(
      'PERMISSION_DENIED',
    );
    expect((await refusal(() => lib.files.writeText(path.join(root, 'dangling'), 'pwned'))).code).toBe(
      'PERMISSION_DENIED',
    );
    expect(fs.existsSync(path.join(outside, 'created-by-link.txt'))).toBe(false);
    expect(fs.existsSync(path.join(outside, 'new'))).toBe(false);

    // Listing the root skips links that lead outside.
    const listed = (await lib.files.list(root)).map((f) => path.basename(f.uri));
    expect(listed).not.toContain('secret.txt');
    expect(listed).not.toContain('link-file');
  });

  it('follows a symlink that stays inside the roots', async () => {
    fs.mkdirSync(path.join(root, 'real'), { recursive: true });
    fs.writeFileSync(path.join(root, 'real', 'data.jsonl'), 'ok\n');
    fs.symlinkSync(path.join(root, 'real', 'data.jsonl'), path.join(root, 'alias.jsonl'));
    expect(await lib.files.readText(path.join(root, 'alias.jsonl'))).toBe('ok\n');
    expect(lib.files.localPath(path.join(root, 'alias.jsonl'))).toBe(
      path.join(fs.realpathSync(root), 'real', 'data.jsonl'),
    );
  });

  it('names the field when a local input does not exist', async () => {
    const err = await refusal(lib.files.list(path.join(root, 'missing-dir'), 'input'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/^input ".*missing-dir" does not exist$/);
  });
});
