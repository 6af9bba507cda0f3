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

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** A pid that cannot exist (Linux pid_max is at most 2^22). */
const DEAD_PID = 4194399;

describe('every write checks its final status', () => {
  const names = async () => emu.gcs.list('gs://vertex-mcp-emulator/').map((o) => o.name);

  it('a missing bucket fails the write and stores nothing, whole or streamed', async () => {
    const before = emu.gcs.listBuckets().items.map((b) => b.name);
    let err = await refusal(lib.files.writeText('gs://no-such-bucket/out.json', '{}', 'output'));
    expect([err.code, err.message]).toEqual([
      'INVALID_ARGUMENT',
      'output "gs://no-such-bucket/out.json": bucket "no-such-bucket" does not exist; nothing was written',
    ]);
    const w = await lib.files.openWrite('gs://no-such-bucket/big.jsonl', 'output');
    err = await refusal(writeAll(w, crypto.randomBytes(3 << 20)));
    expect(err.message).toMatch(/bucket "no-such-bucket" does not exist; nothing was written/);
    expect(w.result).toBeUndefined();
    expect(emu.gcs.listBuckets().items.map((b) => b.name)).toEqual(before);
  });

  it('refuses the object names GCS refuses (and control characters) before sending anything', async () => {
    const before = await names();
    const cases: [string, RegExp][] = [
      ['gs://vertex-mcp-emulator/a\u0000b.json', /the object name contains NUL \(U\+0000\)/],
      ['gs://vertex-mcp-emulator/a\u0007b.json', /contains a control character \(U\+0007\)/],
      ['gs://vertex-mcp-emulator/a\nb.json', /cannot contain carriage returns or line feeds/],
      ['gs://vertex-mcp-emulator/a\rb.json', /cannot contain carriage returns or line feeds/],
      ['gs://vertex-mcp-emulator/..', /an object cannot be named "\.\."/],
      ['gs://vertex-mcp-emulator/.well-known/acme-challenge/x', /cannot start with \.well-known\/acme-challenge\//],
      [`gs://vertex-mcp-emulator/${'x'.repeat(1025)}`, /the object name is 1025 bytes \(GCS allows 1024\)/],
      ['gs://vertex-mcp-emulator/a\ud800b', /not valid Unicode/],
      ['gs://UPPER/x.json', /is not a valid gs:\/\/bucket\/path URI/],
      ['gs:///x.json', /is not a valid gs:\/\/bucket\/path URI/],
    ];
    for (const [uri, re] of cases) {
      const err = await refusal(lib.files.writeText(uri, 'x', 'output'));
      expect(err.code, uri).toBe('INVALID_ARGUMENT');
      expect(err.message, uri).toMatch(re);
      // The message never carries the raw control character.
      expect([...err.message].some((c) => c.charCodeAt(0) < 32)).toBe(false);
    }
    expect(await names()).toEqual(before);
  });

  it('an unreachable Cloud Storage endpoint fails the write as UNAVAILABLE', async () => {
    const { Storage } = await import('@google-cloud/storage');
    const closed = await import('node:net').then(
      (net) =>
        new Promise<number>((resolve) => {
          const s = net.createServer().listen(0, '127.0.0.1', () => {
            const port = (s.address() as { port: number }).port;
            s.close(() => resolve(port));
          });
        }),
    );
    const storage = new Storage({
      apiEndpoint: `http://127.0.0.1:${closed}`,
      projectId: 'p',
      token: 'x',
      retryOptions: { autoRetry: false },
    } as never);
    const { Files } = await import('../../src/lib/files.js');
    const files = new Files({ storage: async () => storage } as never, [root]);
    for (const write of [
      () => files.writeText('gs://vertex-mcp-emulator/x.json', '{}', 'path'),
      async () => writeAll(await files.openWrite('gs://vertex-mcp-emulator/y.json', 'path'), Buffer.alloc(100)),
    ]) {
      const err = await refusal(write());
      expect(err.code).toBe('UNAVAILABLE');
      expect(err.message).toMatch(/Cloud Storage is unreachable \(ECONNREFUSED\); nothing was written$/);
    }
  });

  it('returns what was stored: size, SHA-256, and the MD5/CRC32C/generation the server reports', async () => {
    const text = '{"a":1}\n'.repeat(1000);
    const r = await lib.files.writeText('gs://vertex-mcp-emulator/w/result.jsonl', text);
    const st = emu.gcs.stat('gs://vertex-mcp-emulator/w/result.jsonl')!;
    expect(r).toEqual({
      uri: 'gs://vertex-mcp-emulator/w/result.jsonl',
      size: Buffer.byteLength(text),
      sha256: crypto.createHash('sha256').update(text).digest('hex'),
      md5: st.md5Hash,
      crc32c: st.crc32c,
      version: st.generation,
    });
    expect(await lib.files.stat('gs://vertex-mcp-emulator/w/result.jsonl')).toMatchObject({
      size: st.size,
      version: st.generation,
      md5: st.md5Hash,
    });
    expect(await lib.files.stat('gs://vertex-mcp-emulator/w/none.jsonl')).toBeNull();
  });

  it('overwrite: false refuses an existing object; ifVersion writes only over the version read', async () => {
    const uri = 'gs://vertex-mcp-emulator/w/dash.json';
    await lib.files.writeText(uri, 'one', 'path', { overwrite: false });
    const err = await refusal(lib.files.writeText(uri, 'two', 'path', { overwrite: false }));
    expect([err.code, err.message, err.hint]).toEqual([
      'ALREADY_EXISTS',
      `path "${uri}" already exists; nothing was written`,
      'Pass overwrite: true to replace it, or choose another path',
    ]);
    expect(await lib.files.readText(uri)).toBe('one');
    // Streamed, too.
    const w = await lib.files.openWrite(uri, 'path', { overwrite: false });
    expect((await refusal(writeAll(w, Buffer.alloc(10 << 20)))).code).toBe('ALREADY_EXISTS');
    expect(await lib.files.readText(uri)).toBe('one');
    await lib.files.writeText(uri, 'two', 'path', { overwrite: true });
    expect(await lib.files.readText(uri)).toBe('two');

    const read = (await lib.files.readVersioned(uri))!;
    expect(read.text).toBe('two');
    await lib.files.writeText(uri, 'three'); // someone else
    const lost = await refusal(lib.files.writeText(uri, 'mine', 'path', { ifVersion: read.version }));
    expect(lost.code).toBe('ABORTED');
    expect(await lib.files.readText(uri)).toBe('three');
    const fresh = (await lib.files.readVersioned(uri))!;
    await lib.files.writeText(uri, 'mine', 'path', { ifVersion: fresh.version });
    expect(await lib.files.readText(uri)).toBe('mine');
    expect((await refusal(lib.files.writeText(uri, 'x', 'path', { ifVersion: null }))).code).toBe('ABORTED');
  });
});

describe('local writes: aside, fsynced, renamed', () => {
  const temps = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));

  it('replaces a file whole, refuses it without overwrite, and leaves no temporary', async () => {
    const dir = path.join(root, 'atomic');
    const f = path.join(dir, 'dash.json');
    const r = await lib.files.writeText(f, 'first\n', 'path', { overwrite: false });
    expect(r).toMatchObject({ uri: path.join(fs.realpathSync(root), 'atomic', 'dash.json'), size: 6 });
    expect(r.sha256).toBe(crypto.createHash('sha256').update('first\n').digest('hex'));
    const err = await refusal(lib.files.writeText(f, 'second\n', 'path', { overwrite: false }));
    expect([err.code, err.message]).toEqual(['ALREADY_EXISTS', `path "${f}" already exists; nothing was written`]);
    expect(fs.readFileSync(f, 'utf8')).toBe('first\n');
    await lib.files.writeText(f, 'second\n', 'path', { overwrite: true });
    expect(fs.readFileSync(f, 'utf8')).toBe('second\n');
    expect(temps(dir)).toEqual([]);

    // A stream destroyed half-way: the old file stays, no temporary is left.
    const w = await lib.files.openWrite(f, 'path');
    w.on('error', () => {});
    w.write(Buffer.alloc(1 << 20, 1));
    expect(temps(dir)).toHaveLength(1);
    expect(temps(dir)[0]).toMatch(new RegExp(`^\\.dash\\.json\\.${process.pid}-[0-9a-f]{8}\\.tmp$`));
    const closed = new Promise((res) => w.on('close', res));
    w.destroy();
    await closed;
    expect(fs.readFileSync(f, 'utf8')).toBe('second\n');
    expect(temps(dir)).toEqual([]);

    // Replaced meanwhile: a compare-and-swap write is refused.
    const st = (await lib.files.stat(f))!;
    fs.writeFileSync(f, 'someone else\n');
    expect((await refusal(lib.files.writeText(f, 'mine\n', 'path', { ifVersion: st.version }))).code).toBe('ABORTED');
    expect(fs.readFileSync(f, 'utf8')).toBe('someone else\n');
    expect(temps(dir)).toEqual([]);
  });

  it('removes stale temporaries of dead processes (and old ones) when it next writes into the directory', async () => {
    const dir = path.join(root, 'stale');
    fs.mkdirSync(dir);
    const dead = `.out.json.${DEAD_PID}-deadbeef.tmp`;
    const liveFresh = `.out.json.${process.ppid}-00112233.tmp`;
    const liveOld = `.out.json.${process.ppid}-44556677.tmp`;
    const notOurs = '.something.tmp';
    for (const n of [dead, liveFresh, liveOld, notOurs]) fs.writeFileSync(path.join(dir, n), 'x'.repeat(1000));
    const old = new Date(Date.now() - 10 * 60_000);
    fs.utimesSync(path.join(dir, liveOld), old, old);
    await lib.files.writeText(path.join(dir, 'out.json'), '{}');
    expect(fs.readdirSync(dir).sort()).toEqual([liveFresh, notOurs, 'out.json'].sort());
  });

  it('a directory where a file is expected is INVALID_ARGUMENT, for reads and writes', async () => {
    const dir = path.join(root, 'a-dir');
    fs.mkdirSync(path.join(dir, 'inner'), { recursive: true });
    for (const op of [
      () => lib.files.readText(dir, 'dataset.train_uri'),
      () => lib.files.openRead(dir, 'dataset.train_uri'),
      () => lib.files.readHead(dir, 'dataset.train_uri'),
      () => lib.files.digest(dir, 'dataset.train_uri'),
      () => lib.files.writeText(path.join(dir, 'inner'), 'x', 'dataset.train_uri'),
    ]) {
      const err = await refusal(op());
      expect([err.code, err.message]).toEqual([
        'INVALID_ARGUMENT',
        expect.stringMatching(/^dataset\.train_uri ".*a-dir(\/inner)?" is a directory, not a file$/),
      ]);
    }
    expect(temps(dir)).toEqual([]);
  });

  it('reads at most a bounded amount into memory, and says so', async () => {
    const f = path.join(root, 'big.jsonl');
    fs.writeFileSync(f, 'line one\nline two\nline three\n');
    const err = await refusal(lib.files.readText(f, 'dataset', 12));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(
      /^dataset ".*big\.jsonl" is 0\.0 MiB: more than the 0 MiB this operation reads into memory$/,
    );
    expect(await lib.files.readHead(f, 'dataset', 12)).toEqual({ text: 'line one\n', truncated: true });
    expect(await lib.files.readHead(f, 'dataset', 1000)).toEqual({
      text: 'line one\nline two\nline three\n',
      truncated: false,
    });
    await emu.gcs.write('gs://vertex-mcp-emulator/w/big.jsonl', 'line one\nline two\nline three\n');
    expect((await refusal(lib.files.readText('gs://vertex-mcp-emulator/w/big.jsonl', 'dataset', 12))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await lib.files.readHead('gs://vertex-mcp-emulator/w/big.jsonl', 'dataset', 12)).toEqual({
      text: 'line one\n',
      truncated: true,
    });
  });

  it('refuses file:// URIs, ~, other schemes and NUL with a message saying what to give instead', async () => {
    const cases: [string, RegExp, RegExp][] = [
      [
        `file://${root}/x.json`,
        /is a file:\/\/ URI: local outputs and inputs are plain paths$/,
        /^Give a plain absolute or relative path, e\.g\. "\//,
      ],
      ['file://localhost/tmp/x.json', /is a file:\/\/ URI/, /e\.g\. "\/tmp\/x\.json"$/],
      ['~/x.json', /starts with "~", which is not expanded here/, /^Give a plain absolute or relative path/],
      ['~', /starts with "~"/, /plain absolute/],
      ['~root/x.json', /starts with "~"/, /plain absolute/],
      ['https://example.com/x.json', /is a https:\/\/ URI/, /Give a plain path or a gs:\/\/ URI/],
      [`${root}/a\u0000b.json`, /^path contains a NUL character$/, /plain file path/],
    ];
    for (const [p, msg, hint] of cases) {
      const err = await refusal(lib.files.writeText(p, 'x', 'path'));
      expect(err.code, p).toBe('INVALID_ARGUMENT');
      expect(err.message, p).toMatch(msg);
      expect(err.hint, p).toMatch(hint);
    }
    expect(fs.existsSync(path.join(process.cwd(), '~'))).toBe(false);
    expect(fs.existsSync(path.join(process.cwd(), 'file:'))).toBe(false);
  });
});

describe('the data directory is never read or written', () => {
  it('refuses any path inside the configured data directory, whatever the allowed roots', async () => {
    const home = path.join(tmp, 'home');
    const data = path.join(home, '.vertex-mcp');
    fs.mkdirSync(path.join(data, 'gcs', 'vertex-mcp-emulator'), { recursive: true });
    fs.writeFileSync(path.join(data, 'ledger.sqlite'), 'db');
    fs.writeFileSync(path.join(data, 'gcs', 'vertex-mcp-emulator', '7'), 'object bytes');
    fs.writeFileSync(path.join(home, 'notes.md'), 'mine');
    const { Files } = await import('../../src/lib/files.js');
    for (const roots of [[home], [data], [tmp]]) {
      const files = new Files(null as never, roots, { dataDir: data });
      for (const p of [
        data,
        path.join(data, 'ledger.sqlite'),
        path.join(data, 'emulator.sqlite'),
        path.join(data, 'gcs', 'vertex-mcp-emulator', '7'),
        path.join(data, 'new', 'notes.md'),
        `${home}/x/../.vertex-mcp/ledger.sqlite`,
      ]) {
        for (const op of [
          () => files.writeText(p, 'x', 'path', { overwrite: true }),
          () => files.readText(p, 'path'),
        ]) {
          const err = await refusal(op());
          expect(err.code, p).toBe('PERMISSION_DENIED');
          expect(err.message, p).toMatch(
            new RegExp(
              `^path ".*" is inside the vertex-mcp data directory ${fs.realpathSync(data)}, which holds the server's own state`,
            ),
          );
        }
      }
      // A symlink into it is no way round.
      const link = path.join(home, `link-${roots.length}-${path.basename(roots[0]!)}`);
      fs.symlinkSync(data, link);
      expect((await refusal(files.writeText(path.join(link, 'ledger.sqlite'), 'x'))).code).toBe('PERMISSION_DENIED');
    }
    expect(fs.readFileSync(path.join(data, 'ledger.sqlite'), 'utf8')).toBe('db');
    expect(fs.readFileSync(path.join(data, 'gcs', 'vertex-mcp-emulator', '7'), 'utf8')).toBe('object bytes');
    // Listing a directory that contains the data directory skips it.
    const files = new Files(null as never, [home], { dataDir: data });
    expect((await files.list(home)).map((f) => path.relative(home, f.uri))).toEqual(['notes.md']);
    expect(await files.readText(path.join(home, 'notes.md'))).toBe('mine');
  });

  it('recognises any vertex-mcp data directory by its files: another ledger, a standalone emulator, an in-memory object store', async () => {
    const other = path.join(tmp, 'standalone');
    const emu2 = await startEmulator({ dataDir: other });
    try {
      const { Files } = await import('../../src/lib/files.js');
      const files = new Files(null as never, [tmp, os.tmpdir()]);
      for (const p of [
        path.join(other, 'emulator.sqlite'),
        path.join(other, 'gcs', 'vertex-mcp-emulator', 'x'),
        path.join(other, 'out.json'),
        path.join(emu.gcs.root, 'vertex-mcp-emulator', 'x'),
      ]) {
        const err = await refusal(files.writeText(p, 'x', 'path', { overwrite: true }));
        expect(err.code, p).toBe('PERMISSION_DENIED');
        expect(err.message).toMatch(/is inside the vertex-mcp data directory/);
      }
      fs.mkdirSync(path.join(tmp, 'another-home'));
      fs.writeFileSync(path.join(tmp, 'another-home', 'ledger.sqlite'), '');
      expect((await refusal(files.writeText(path.join(tmp, 'another-home', 'a.json'), '{}'))).code).toBe(
        'PERMISSION_DENIED',
      );
    } finally {
      await emu2.close();
    }
  });
});

describe('copy', () => {
  it('streams local -> gs:// and back with the write checks (overwrite, result)', async () => {
    const src = path.join(root, 'copy-src.jsonl');
    const data = crypto.randomBytes(3 << 20);
    fs.writeFileSync(src, data);
    const up = await lib.files.copy(src, 'gs://vertex-mcp-emulator/copied/a.bin', { overwrite: false });
    expect(up).toMatchObject({ size: data.length, sha256: sha256(data) });
    expect(emu.gcs.stat('gs://vertex-mcp-emulator/copied/a.bin')?.size).toBe(data.length);
    const again = await refusal(lib.files.copy(src, 'gs://vertex-mcp-emulator/copied/a.bin', { overwrite: false }));
    expect(again.code).toBe('ALREADY_EXISTS');
    const down = await lib.files.copy('gs://vertex-mcp-emulator/copied/a.bin', path.join(root, 'copy-back.bin'));
    expect(down.sha256).toBe(sha256(data));
    expect(sha256(fs.readFileSync(path.join(root, 'copy-back.bin')))).toBe(sha256(data));
    expect(await lib.files.digest(path.join(root, 'copy-back.bin'))).toEqual({
      size: data.length,
      sha256: sha256(data),
    });
    const missing = await refusal(lib.files.copy(src, 'gs://no-such-bucket/x.bin'));
    expect(missing.message).toMatch(/bucket "no-such-bucket" does not exist; nothing was written/);
  });
});
