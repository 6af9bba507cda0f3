// Contract tests for the emulator's GCS JSON API, through Google's official @google-cloud/storage
// client (plus raw HTTP where the client hides the protocol: resumable sessions, error bodies).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CRC32C, type File, Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GCS_MARKER } from '../../src/emulator/gcs.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';

function connect(emu: Emulator): Storage {
  return new Storage({
    apiEndpoint: `http://${emu.host}:${emu.httpPort}`,
    projectId: 'test-project',
    token: 'emulator',
  } as never);
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const md5b64 = (b: Buffer) => crypto.createHash('md5').update(b).digest('base64');
const crc32c = (b: Buffer) => {
  const c = new CRC32C();
  c.update(b);
  return c.toString();
};

/** Random bytes as a stream of 1 MiB chunks (what a large dataset upload looks like). */
function chunks(data: Buffer, size = 1 << 20): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );
}

async function hashDownload(file: File, opts: { start?: number; end?: number } = {}): Promise<string> {
  const h = crypto.createHash('sha256');
  await pipeline(file.createReadStream(opts), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) h.update(c);
  });
  return h.digest('hex');
}

/** The failure of a call; `code` is the HTTP status (ApiError.code, or GaxiosError.status for resumable uploads). */
async function failure(p: Promise<unknown>): Promise<{ code?: number; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { code?: number; status?: number; message: string },
  );
  expect(err, 'expected the call to fail').toBeDefined();
  return { code: typeof err!.code === 'number' ? err!.code : err!.status, message: err!.message };
}

describe('emulator GCS through @google-cloud/storage', () => {
  let emu: Emulator;
  let storage: Storage;
  let base: string;

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    storage = connect(emu);
    base = `http://${emu.host}:${emu.httpPort}`;
  });
  afterAll(async () => {
    await emu?.close();
  });

  describe('buckets', () => {
    it('pre-creates the emulator bucket and creates, gets, lists and refuses duplicate buckets', async () => {
      expect((await storage.bucket('vertex-mcp-emulator').exists())[0]).toBe(true);
      const [bucket] = await storage.createBucket('datasets');
      expect(bucket.name).toBe('datasets');
      const [meta] = await bucket.getMetadata();
      expect(meta).toMatchObject({ name: 'datasets', kind: 'storage#bucket', storageClass: 'STANDARD' });
      const dup = await failure(storage.createBucket('datasets'));
      expect(dup.code).toBe(409);
      const [buckets] = await storage.getBuckets();
      expect(buckets.map((b) => b.name)).toEqual(expect.arrayContaining(['datasets', 'vertex-mcp-emulator']));
      expect((await storage.bucket('no-such-bucket').exists())[0]).toBe(false);
    });

    it('refuses an invalid bucket name with 400', async () => {
      const err = await failure(storage.createBucket('Bad_Name!'));
      expect(err.code).toBe(400);
      expect(err.message).toMatch(/Invalid bucket name/);
    });

    it('refuses to delete a non-empty bucket (409), deletes an empty one', async () => {
      const [b] = await storage.createBucket('short-lived');
      await b.file('x').save('x', { resumable: false });
      expect((await failure(b.delete())).code).toBe(409);
      await b.file('x').delete();
      await b.delete();
      expect((await b.exists())[0]).toBe(false);
      expect((await failure(b.getMetadata())).code).toBe(404);
    });

    it('paginates bucket listings', async () => {
      for (const n of ['page-a', 'page-b', 'page-c']) await storage.createBucket(n);
      const [first, next] = await storage.getBuckets({ prefix: 'page-', maxResults: 2, autoPaginate: false });
      expect(first.map((b) => b.name)).toEqual(['page-a', 'page-b']);
      const [second] = await storage.getBuckets({ ...(next as object), autoPaginate: false });
      expect(second.map((b) => b.name)).toEqual(['page-c']);
    });
  });

  describe('objects', () => {
    it('uploads with a simple (multipart) upload and downloads the same bytes with checksums', async () => {
      const data = Buffer.from('{"prompt":"hi","completion":"there"}\n'.repeat(100));
      const file = storage.bucket('datasets').file('small/train.jsonl');
      await file.save(data, { resumable: false, contentType: 'application/jsonl', metadata: { metadata: { k: 'v' } } });
      const [meta] = await file.getMetadata();
      expect(meta).toMatchObject({
        name: 'small/train.jsonl',
        bucket: 'datasets',
        size: String(data.length),
        contentType: 'application/jsonl',
        md5Hash: md5b64(data),
        crc32c: crc32c(data),
        metadata: { k: 'v' },
      });
      const [down] = await file.download();
      expect(down.equals(data)).toBe(true);
      // md5 validation of the download also passes (x-goog-hash carries both)
      const [down2] = await file.download({ validation: 'md5' });
      expect(down2.equals(data)).toBe(true);
    });

    it('accepts uploadType=media and serves errors in the GCS JSON shape', async () => {
      const body = Buffer.from('raw media bytes');
      const res = await fetch(
        `${base}/upload/storage/v1/b/datasets/o?uploadType=media&name=${encodeURIComponent('raw/m.bin')}`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream' },
          body,
        },
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ name: 'raw/m.bin', size: String(body.length), md5Hash: md5b64(body) });
      const missing = await fetch(`${base}/storage/v1/b/datasets/o/${encodeURIComponent('raw/none')}`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({
        error: {
          code: 404,
          message: 'No such object: datasets/raw/none',
          errors: [{ message: 'No such object: datasets/raw/none', domain: 'global', reason: 'notFound' }],
        },
      });
    });

    it('refuses the object names GCS refuses (and NUL), on every upload path, storing nothing', async () => {
      await storage
        .bucket('names')
        .create()
        .catch(() => {});
      const media = (name: string) =>
        fetch(`${base}/upload/storage/v1/b/names/o?uploadType=media&name=${encodeURIComponent(name)}`, {
          method: 'POST',
          body: 'x',
        });
      const cases: [string, RegExp][] = [
        ['a\u0000b', /must not contain carriage returns, line feeds or NUL/],
        ['a\nb', /must not contain carriage returns, line feeds or NUL/],
        ['a\rb', /must not contain carriage returns, line feeds or NUL/],
        ['..', /Object name '\.\.' is not allowed/],
        ['.', /Object name '\.' is not allowed/],
        ['.well-known/acme-challenge/token', /cannot start with '\.well-known\/acme-challenge\/'/],
        ['x'.repeat(1025), /longer than 1024 bytes/],
      ];
      for (const [name, re] of cases) {
        const res = await media(name);
        expect(res.status, JSON.stringify(name)).toBe(400);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(re);
        // Through the client, resumable and multipart.
        for (const resumable of [true, false]) {
          const f = await failure(storage.bucket('names').file(name).save('x', { resumable }));
          expect(f.code, `${JSON.stringify(name)} resumable=${resumable}`).toBe(400);
        }
        await expect(emu.gcs.write(`gs://names/${name}`, 'x')).rejects.toMatchObject({ code: 400 });
      }
      // 1024 bytes, names GCS only advises against ('#', '[', '*', '?', spaces) and a '.well-known/' elsewhere: accepted.
      for (const name of ['y'.repeat(1024), 'a#1', 'b[x]*?', 'with space', 'dir/.well-known/acme-challenge/t']) {
        expect((await media(name)).status, name).toBe(200);
      }
      const [files] = await storage.bucket('names').getFiles();
      expect(files).toHaveLength(5);
    });

    it('a write into a bucket that does not exist fails (404) on every path and stores nothing', async () => {
      const res = await fetch(`${base}/upload/storage/v1/b/no-such-bucket/o?uploadType=media&name=x`, {
        method: 'POST',
        body: 'x',
      });
      expect(res.status).toBe(404);
      for (const resumable of [true, false]) {
        const f = await failure(storage.bucket('no-such-bucket').file('x').save('x', { resumable }));
        expect(f.code).toBe(404);
      }
      expect(emu.gcs.hasBucket('no-such-bucket')).toBe(false);
      expect(fs.readdirSync(path.join(emu.gcs.root, '.uploads'))).toEqual([]);
    });

    it('parses a multipart body that arrives in tiny pieces, with boundary look-alikes in the media', async () => {
      const boundary = 'xYzBoUnDaRy';
      const media = Buffer.from(`line\r\n--xYzBoUnD\r\n--${boundary.slice(0, 5)}\r\nend\r\n-`.repeat(50));
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Type: application/json\r\n\r\n{"name":"pieces.bin","metadata":{"a":"b"}}\r\n`,
        ),
        Buffer.from(`--${boundary}\r\nContent-Type: application/x-pieces\r\n\r\n`),
        media,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          `${base}/upload/storage/v1/b/datasets/o?uploadType=multipart`,
          { method: 'POST', headers: { 'Content-Type': `multipart/related; boundary="${boundary}"` } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        let i = 0;
        const step = () => {
          if (i >= body.length) return req.end();
          req.write(body.subarray(i, i + 7));
          i += 7;
          setImmediate(step);
        };
        step();
      });
      expect(status).toBe(200);
      const file = storage.bucket('datasets').file('pieces.bin');
      expect((await file.download())[0].equals(media)).toBe(true);
      expect((await file.getMetadata())[0]).toMatchObject({
        contentType: 'application/x-pieces',
        metadata: { a: 'b' },
      });
    });

    it('uploads a large object (> 10 MB) through a resumable createWriteStream and reads it back, whole and by range', async () => {
      const data = crypto.randomBytes(12 * 1024 * 1024 + 123);
      const file = storage.bucket('datasets').file('large/blob.bin');
      await pipeline(chunks(data), file.createWriteStream());
      const [meta] = await file.getMetadata();
      expect(Number(meta.size)).toBe(data.length);
      expect(meta.crc32c).toBe(crc32c(data));
      expect(await hashDownload(file)).toBe(sha256(data));
      expect(await hashDownload(file, { start: 5_000_000, end: 5_999_999 })).toBe(
        sha256(data.subarray(5_000_000, 6_000_000)),
      );
      // A tail range (last 1000 bytes) through raw HTTP.
      const tail = await fetch(`${base}/storage/v1/b/datasets/o/${encodeURIComponent('large/blob.bin')}?alt=media`, {
        headers: { Range: 'bytes=-1000' },
      });
      expect(tail.status).toBe(206);
      expect(tail.headers.get('content-range')).toBe(`bytes ${data.length - 1000}-${data.length - 1}/${data.length}`);
      expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 1000))).toBe(true);
      const bad = await fetch(`${base}/storage/v1/b/datasets/o/${encodeURIComponent('large/blob.bin')}?alt=media`, {
        headers: { Range: `bytes=${data.length}-` },
      });
      expect(bad.status).toBe(416);
    });

    it('takes a resumable upload in chunks (chunkSize: several PUTs with Content-Range)', async () => {
      const data = crypto.randomBytes(3 * 1024 * 1024 + 17);
      const file = storage.bucket('datasets').file('chunked/blob.bin');
      await pipeline(chunks(data, 100_000), file.createWriteStream({ chunkSize: 1024 * 1024 }));
      expect(await hashDownload(file)).toBe(sha256(data));
    });

    it('resumes an interrupted resumable session from the persisted offset (raw protocol)', async () => {
      const data = crypto.randomBytes(700_000);
      const init = await fetch(`${base}/upload/storage/v1/b/datasets/o?uploadType=resumable&name=resumed.bin`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Upload-Content-Type': 'application/x-test' },
        body: '{}',
      });
      expect(init.status).toBe(200);
      const session = init.headers.get('location')!;
      expect(session).toMatch(/upload_id=/);
      const put = (body: Buffer | null, range: string) =>
        fetch(session, {
          method: 'PUT',
          headers: { 'Content-Range': range },
          body: body ? new Uint8Array(body) : null,
        });
      let r = await put(data.subarray(0, 262144), 'bytes 0-262143/*');
      expect(r.status).toBe(308);
      expect(r.headers.get('range')).toBe('bytes=0-262143');
      // Status query.
      r = await put(null, 'bytes */*');
      expect(r.status).toBe(308);
      expect(r.headers.get('range')).toBe('bytes=0-262143');
      // A chunk starting past the persisted offset is refused; the offset stays.
      r = await put(data.subarray(300000, 400000), 'bytes 300000-399999/*');
      expect(r.status).toBe(400);
      // A resend overlapping what the server has: the overlap is skipped.
      r = await put(data.subarray(200000), `bytes 200000-${data.length - 1}/${data.length}`);
      expect(r.status).toBe(200);
      const resource = (await r.json()) as { size: string; md5Hash: string; contentType: string };
      expect(resource).toMatchObject({
        size: String(data.length),
        md5Hash: md5b64(data),
        contentType: 'application/x-test',
      });
      // Asking again after completion returns the object.
      r = await put(null, 'bytes */*');
      expect(r.status).toBe(200);
      const [down] = await storage.bucket('datasets').file('resumed.bin').download();
      expect(down.equals(data)).toBe(true);
    });

    it('refuses an upload whose X-Goog-Hash does not match the bytes', async () => {
      const r = await fetch(`${base}/upload/storage/v1/b/datasets/o?uploadType=media&name=bad-hash`, {
        method: 'POST',
        headers: { 'X-Goog-Hash': `md5=${md5b64(Buffer.from('other'))}` },
        body: 'content',
      });
      expect(r.status).toBe(400);
      expect((await storage.bucket('datasets').file('bad-hash').exists())[0]).toBe(false);
    });

    it('leaves no object when an upload is aborted half-way', async () => {
      const file = storage.bucket('datasets').file('aborted.bin');
      const w = file.createWriteStream();
      const closed = new Promise((r) => w.on('close', r));
      w.on('error', () => {});
      w.write(crypto.randomBytes(1 << 20));
      await new Promise((r) => setTimeout(r, 100));
      w.destroy();
      await closed;
      await new Promise((r) => setTimeout(r, 100));
      expect((await file.exists())[0]).toBe(false);
    });

    it('handles names that need encoding, empty objects, metadata patches, copies and preconditions', async () => {
      const b = storage.bucket('datasets');
      const name = 'odd names/ä ö #?%&+=/x y.txt';
      await b.file(name).save('odd', { resumable: false });
      expect((await b.file(name).download())[0].toString()).toBe('odd');
      const [files] = await b.getFiles({ prefix: 'odd names/' });
      expect(files.map((f) => f.name)).toEqual([name]);

      await b.file('empty').save('', { resumable: false });
      expect((await b.file('empty').download())[0].length).toBe(0);
      expect((await b.file('empty').getMetadata())[0].size).toBe('0');

      const [patched] = await b.file(name).setMetadata({ metadata: { stage: 'prod' }, contentType: 'text/plain' });
      expect(patched).toMatchObject({ metadata: { stage: 'prod' }, contentType: 'text/plain', metageneration: '2' });

      await b.file(name).copy(b.file('copies/x.txt'));
      expect((await b.file('copies/x.txt').download())[0].toString()).toBe('odd');

      const gen = (await b.file('copies/x.txt').getMetadata())[0].generation;
      const err = await failure(
        b.file('copies/x.txt').save('again', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
      );
      expect(err.code).toBe(412);
      await b
        .file('copies/x.txt')
        .save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(gen) } });
      const [m2] = await b.file('copies/x.txt').getMetadata();
      expect(Number(m2.generation)).toBeGreaterThan(Number(gen));
    });

    it('lists with prefix, delimiter and pagination in name order', async () => {
      const [b] = await storage.createBucket('listing');
      const names = ['a/1.json', 'a/2.json', 'a/b/3.json', 'a/b/c/4.json', 'a0', 'b/5.json', 'c.json', 'd/6.json'];
      for (const n of [...names].reverse()) await b.file(n).save(n, { resumable: false });

      const [all] = await b.getFiles();
      expect(all.map((f) => f.name)).toEqual(names);
      const [under] = await b.getFiles({ prefix: 'a/' });
      expect(under.map((f) => f.name)).toEqual(['a/1.json', 'a/2.json', 'a/b/3.json', 'a/b/c/4.json']);
      expect(Number(under[0]!.metadata.size)).toBe('a/1.json'.length);

      const [top, , resp] = await b.getFiles({ delimiter: '/', autoPaginate: false });
      expect(top.map((f) => f.name)).toEqual(['a0', 'c.json']);
      expect((resp as { prefixes: string[] }).prefixes).toEqual(['a/', 'b/', 'd/']);
      const [level, , resp2] = await b.getFiles({ prefix: 'a/', delimiter: '/', autoPaginate: false });
      expect(level.map((f) => f.name)).toEqual(['a/1.json', 'a/2.json']);
      expect((resp2 as { prefixes: string[] }).prefixes).toEqual(['a/b/']);

      // Pages of 3 (items and prefixes both count), following nextPageToken.
      const seen: string[] = [];
      let query: Record<string, unknown> | null = { maxResults: 3, autoPaginate: false };
      let pages = 0;
      while (query) {
        const [files, next]: [File[], object | null, unknown] = (await b.getFiles(query)) as never;
        expect(files.length).toBeLessThanOrEqual(3);
        seen.push(...files.map((f) => f.name));
        query = next ? { ...(next as object), autoPaginate: false } : null;
        pages++;
      }
      expect(seen).toEqual(names);
      expect(pages).toBe(3);

      const seenDelim: string[] = [];
      query = { delimiter: '/', maxResults: 2, autoPaginate: false };
      while (query) {
        const [files, next, raw] = (await b.getFiles(query)) as unknown as [
          File[],
          object | null,
          { prefixes?: string[] },
        ];
        seenDelim.push(...files.map((f) => f.name), ...(raw.prefixes ?? []));
        query = next ? { ...(next as object), delimiter: '/', autoPaginate: false } : null;
      }
      expect(seenDelim.sort()).toEqual(['a/', 'a0', 'b/', 'c.json', 'd/']);

      // Auto-pagination over many small pages.
      const [paged] = await b.getFiles({ maxResults: 1 });
      expect(paged.length).toBeGreaterThanOrEqual(1);
    });

    it('deletes objects and answers 404 for missing objects and buckets', async () => {
      const b = storage.bucket('datasets');
      await b.file('to-delete').save('x', { resumable: false });
      await b.file('to-delete').delete();
      expect((await b.file('to-delete').exists())[0]).toBe(false);
      expect((await failure(b.file('to-delete').delete())).code).toBe(404);

      const dl = await failure(b.file('missing.bin').download());
      expect(dl.code).toBe(404);
      expect(dl.message).toBe('No such object: datasets/missing.bin');
      expect((await failure(b.file('missing.bin').getMetadata())).code).toBe(404);

      const nb = storage.bucket('no-such-bucket');
      expect((await failure(nb.file('x').save('x', { resumable: false }))).code).toBe(404);
      expect((await failure(nb.file('x').save('x', { resumable: true }))).code).toBe(404);
      expect((await failure(nb.getFiles())).code).toBe(404);
    });
  });

  describe('in-process API (for the other emulated services)', () => {
    it('writes, reads, lists and checks gs:// URIs, interoperating with the HTTP API', async () => {
      const gcs = emu.gcs;
      const info = await gcs.write('gs://vertex-mcp-emulator/models/1/model.json', '{"w":[1,2]}', {
        contentType: 'application/json',
      });
      expect(info).toMatchObject({ uri: 'gs://vertex-mcp-emulator/models/1/model.json', size: 11 });
      expect(await gcs.readText('gs://vertex-mcp-emulator/models/1/model.json')).toBe('{"w":[1,2]}');
      expect(gcs.exists('gs://vertex-mcp-emulator/models/1/model.json')).toBe(true);
      expect(gcs.exists('gs://vertex-mcp-emulator/models/1/other.json')).toBe(false);
      expect(gcs.exists('gs://vertex-mcp-emulator')).toBe(true);

      // Through the client, the same object.
      const [down] = await storage.bucket('vertex-mcp-emulator').file('models/1/model.json').download();
      expect(down.toString()).toBe('{"w":[1,2]}');

      // And the reverse: uploaded by the client, read in-process as a stream.
      await storage
        .bucket('vertex-mcp-emulator')
        .file('models/1/weights.bin')
        .save(Buffer.alloc(5000, 7), { resumable: false });
      const parts: Buffer[] = [];
      for await (const c of gcs.readStream('gs://vertex-mcp-emulator/models/1/weights.bin')) parts.push(c as Buffer);
      expect(Buffer.concat(parts).equals(Buffer.alloc(5000, 7))).toBe(true);

      expect(gcs.list('gs://vertex-mcp-emulator/models/1/').map((o) => [o.uri, o.size])).toEqual([
        ['gs://vertex-mcp-emulator/models/1/model.json', 11],
        ['gs://vertex-mcp-emulator/models/1/weights.bin', 5000],
      ]);
      expect(() => gcs.readStream('gs://vertex-mcp-emulator/nope')).toThrow(/No such object/);
      await expect(gcs.write('gs://no-such-bucket/x', 'x')).rejects.toThrow(/bucket does not exist/);
      // A stream source.
      await gcs.write('gs://vertex-mcp-emulator/streamed.bin', chunks(Buffer.alloc(3 << 20, 1)));
      expect(gcs.stat('gs://vertex-mcp-emulator/streamed.bin')?.size).toBe(3 << 20);
    });
  });
});

describe('emulator GCS persistence', () => {
  it('keeps buckets and objects across a restart on the same data directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-gcs-test-'));
    try {
      const data = crypto.randomBytes(2 * 1024 * 1024 + 5);
      let emu = await startEmulator({ dataDir: dir });
      let storage = connect(emu);
      await storage.createBucket('keep');
      await pipeline(chunks(data), storage.bucket('keep').file('d/blob.bin').createWriteStream());
      await storage.bucket('keep').file('d/small.txt').save('small', { resumable: false });
      const [before] = await storage.bucket('keep').file('d/blob.bin').getMetadata();
      await emu.close();
      expect(fs.existsSync(path.join(dir, 'gcs', 'keep'))).toBe(true);

      emu = await startEmulator({ dataDir: dir });
      storage = connect(emu);
      try {
        const [after] = await storage.bucket('keep').file('d/blob.bin').getMetadata();
        expect(after.generation).toBe(before.generation);
        expect(await hashDownload(storage.bucket('keep').file('d/blob.bin'))).toBe(sha256(data));
        expect((await storage.bucket('keep').file('d/small.txt').download())[0].toString()).toBe('small');
        const [files] = await storage.bucket('keep').getFiles();
        expect(files.map((f) => f.name)).toEqual(['d/blob.bin', 'd/small.txt']);
        // Overwriting replaces the bytes on disk (no orphaned generation files).
        await storage.bucket('keep').file('d/small.txt').save('new', { resumable: false });
        expect(fs.readdirSync(path.join(dir, 'gcs', 'keep')).length).toBe(2);
      } finally {
        await emu.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("removes the byte store of a ':memory:' emulator on close", async () => {
    const emu = await startEmulator({ dataDir: ':memory:' });
    const root = emu.gcs.root;
    // Marked as the server's state: the library's Files refuse any path under it.
    expect(fs.existsSync(path.join(root, GCS_MARKER))).toBe(true);
    await emu.gcs.write('gs://vertex-mcp-emulator/x', 'x');
    expect(fs.existsSync(root)).toBe(true);
    await emu.close();
    expect(fs.existsSync(root)).toBe(false);
  });
});
