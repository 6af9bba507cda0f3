// The emulator's Cloud Storage: buckets and objects with GCS semantics (generations, MD5/CRC32C,
// preconditions, lexicographic listing with prefixes), served over the GCS JSON API by
// gcs_http.ts and used in-process by the other emulated services through gs:// URIs.
//
// Object bytes live in files, one per generation, under `<dataDir>/gcs/<bucket>/<blob-id>`
// (in a temp directory removed on close when dataDir is ':memory:'); metadata lives in the SQLite
// store (kinds gcs_bucket, gcs_object, gcs_upload). Uploads stream to `<root>/.uploads/` and are
// renamed into place when complete, so a 1 GB upload never sits in memory and a reader never sees
// a partial object.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { badRequest, GcsError, noSuchBucket, noSuchObject } from './gcs_errors.js';
import { Hasher, HashingStream } from './gcs_hash.js';
import type { Store } from './store.js';

export { GcsError } from './gcs_errors.js';

/** The bucket the emulator creates for its own artifacts (tuning outputs, model files). */
export const EMULATOR_BUCKET = 'vertex-mcp-emulator';

const OBJ = 'gcs_object';
const BUCKET = 'gcs_bucket';
const UPLOAD = 'gcs_upload';
/** Sorts after every other character: `prefix + MAX` bounds a prefix range. */
const MAX = '\u{10FFFF}';
const UPLOAD_TTL_MS = 7 * 24 * 3600 * 1000; // GCS resumable sessions expire after a week
const PAGE_MAX = 1000;

export interface BucketDoc {
  name: string;
  location: string;
  storageClass: string;
  metageneration: number;
  timeCreated: string;
  updated: string;
  labels?: Record<string, string>;
}

/** The object metadata a writer may set. */
export interface ObjectMeta {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

export interface ObjectDoc extends ObjectMeta {
  bucket: string;
  name: string;
  generation: string;
  metageneration: number;
  size: number;
  md5Hash: string;
  crc32c: string;
  timeCreated: string;
  updated: string;
  /** File name of the bytes under `<root>/<bucket>/`. */
  blob: string;
}

export interface Preconditions {
  ifGenerationMatch?: string;
  ifGenerationNotMatch?: string;
  ifMetagenerationMatch?: string;
  ifMetagenerationNotMatch?: string;
}

interface UploadDoc {
  id: string;
  bucket: string;
  name: string;
  meta: ObjectMeta;
  /** Total size when announced (X-Upload-Content-Length or a Content-Range total). */
  total: number | null;
  received: number;
  /** File name under `<root>/.uploads/`. */
  tmp: string;
  pre: Preconditions;
  created: number;
  done?: ObjectDoc;
}

/** A resumable upload's `Content-Range`: `bytes a-b/t`, `bytes a-*\/t`, `bytes *\/t`; null = none. */
export interface ContentRange {
  /** null: no bytes in this request (a status query or an empty final request). */
  start: number | null;
  end: number | '*' | null;
  total: number | '*';
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  maxResults?: number;
  pageToken?: string;
  startOffset?: string;
  endOffset?: string;
  includeTrailingDelimiter?: boolean;
}

export interface GcsObjectInfo {
  uri: string;
  bucket: string;
  name: string;
  size: number;
  contentType: string;
  md5Hash: string;
  crc32c: string;
  generation: string;
  updated: string;
}

/** A GCS JSON API object resource (int64 fields as strings, as the API sends them). */
export function objectResource(doc: ObjectDoc, baseUrl = ''): Record<string, unknown> {
  const enc = encodeURIComponent(doc.name);
  const out: Record<string, unknown> = {
    kind: 'storage#object',
    id: `${doc.bucket}/${doc.name}/${doc.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${doc.bucket}/o/${enc}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${doc.bucket}/o/${enc}?generation=${doc.generation}&alt=media`,
    name: doc.name,
    bucket: doc.bucket,
    generation: doc.generation,
    metageneration: String(doc.metageneration),
    contentType: doc.contentType ?? 'application/octet-stream',
    storageClass: 'STANDARD',
    size: String(doc.size),
    md5Hash: doc.md5Hash,
    crc32c: doc.crc32c,
    etag: etag(doc.generation, doc.metageneration),
    timeCreated: doc.timeCreated,
    updated: doc.updated,
    timeStorageClassUpdated: doc.timeCreated,
  };
  for (const k of ['contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl', 'metadata'] as const) {
    if (doc[k] !== undefined) out[k] = doc[k];
  }
  return out;
}

export function bucketResource(doc: BucketDoc, baseUrl = ''): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: doc.name,
    selfLink: `${baseUrl}/storage/v1/b/${doc.name}`,
    projectNumber: '0',
    name: doc.name,
    timeCreated: doc.timeCreated,
    updated: doc.updated,
    metageneration: String(doc.metageneration),
    location: doc.location,
    locationType: 'multi-region',
    storageClass: doc.storageClass,
    etag: etag('0', doc.metageneration),
    ...(doc.labels ? { labels: doc.labels } : {}),
  };
}

function etag(generation: string, metageneration: number): string {
  return Buffer.from(`${generation}/${metageneration}`).toString('base64');
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

export function validateBucketName(name: string): void {
  if (!BUCKET_NAME.test(name) || name.includes('..') || (!name.includes('.') && name.length > 63)) {
    throw badRequest(
      `Invalid bucket name: '${name}'. Bucket names are 3-63 characters of lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
    );
  }
}

/**
 * GCS's object naming rules (https://cloud.google.com/storage/docs/objects#naming): "Object names can
 * contain any sequence of valid Unicode characters, of length 1-1024 bytes when UTF-8 encoded";
 * "cannot contain Carriage Return or Line Feed characters"; "cannot start with
 * .well-known/acme-challenge/"; "cannot be named . or ..". NUL is refused too: the JSON API cannot
 * list it in XML, and a NUL would cut the name short in the file-system-backed tools users pair
 * with the emulator.
 */
export function validateObjectName(name: string): void {
  if (!name) throw badRequest('Object name is required');
  if (Buffer.byteLength(name) > 1024) throw badRequest('The object name is longer than 1024 bytes');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what GCS refuses
  if (/[\r\n\u0000]/.test(name)) throw badRequest('Object names must not contain carriage returns, line feeds or NUL');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) {
    throw badRequest('The object name is not valid UTF-8');
  }
  if (name === '.' || name === '..') throw badRequest(`Object name '${name}' is not allowed`);
  if (name.startsWith('.well-known/acme-challenge/')) {
    throw badRequest("Object names cannot start with '.well-known/acme-challenge/'");
  }
}

/**
 * Written in the object store's root: marks it (and, through the data directory's own files, the
 * data directory) as the server's state, which the library's Files refuse to read or write.
 */
export const GCS_MARKER = '.vertex-mcp-gcs';

/** Splits `gs://bucket/path` into its bucket and object name (the name may be empty). */
export function parseGsUri(uri: string): { bucket: string; name: string } {
  const m = /^gs:\/\/([^/]+)(?:\/(.*))?$/s.exec(uri);
  if (!m) throw badRequest(`"${uri}" is not a gs://bucket/object URI`);
  return { bucket: m[1]!, name: m[2] ?? '' };
}

/** The object fields clients set directly (besides custom `metadata`). */
const META_FIELDS = [
  'contentType',
  'contentEncoding',
  'contentDisposition',
  'contentLanguage',
  'cacheControl',
] as const;

export function objectMetaFrom(src: Record<string, unknown> | undefined): ObjectMeta {
  const meta: ObjectMeta = {};
  if (!src) return meta;
  for (const k of META_FIELDS) {
    const v = src[k];
    if (typeof v === 'string' && v) meta[k] = v;
  }
  if (src.metadata && typeof src.metadata === 'object') {
    const md: Record<string, string> = {};
    for (const [k, v] of Object.entries(src.metadata as Record<string, unknown>)) {
      if (v !== null && v !== undefined) md[k] = String(v);
    }
    meta.metadata = md;
  }
  return meta;
}

export class Gcs {
  /** Directory holding the object bytes. */
  readonly root: string;
  private readonly ephemeral: boolean;
  private readonly uploadDir: string;
  private readonly hashers = new Map<string, Hasher>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private lastGeneration = 0;
  private readonly stmts: {
    objectRange: { all(lo: string, hi: string, limit: number): { name: string; body: string }[] };
    bucketRange: { all(lo: string, hi: string, limit: number): { name: string; body: string }[] };
    anyObject: { get(bucket: string): unknown };
  };

  constructor(
    private readonly store: Store,
    /** The emulator's data directory, or ':memory:' for a temp directory removed on close. */
    dataDir: string,
  ) {
    this.ephemeral = dataDir === ':memory:';
    this.root = this.ephemeral
      ? fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-gcs-'))
      : path.join(path.resolve(dataDir), 'gcs');
    this.uploadDir = path.join(this.root, '.uploads');
    fs.mkdirSync(this.uploadDir, { recursive: true });
    fs.writeFileSync(
      path.join(this.root, GCS_MARKER),
      "vertex-mcp emulator object store: object bytes by generation; the metadata is in SQLite. Don't edit.\n",
    );
    const db = store.db;
    this.stmts = {
      objectRange: db.prepare(
        `SELECT name, body FROM docs WHERE kind = '${OBJ}' AND name >= ? AND name < ? ORDER BY name LIMIT ?`,
      ) as never,
      bucketRange: db.prepare(
        `SELECT name, body FROM docs WHERE kind = '${BUCKET}' AND name >= ? AND name < ? ORDER BY name LIMIT ?`,
      ) as never,
      anyObject: db.prepare(`SELECT 1 FROM docs WHERE kind = '${OBJ}' AND parent = ? LIMIT 1`) as never,
    };
    this.cleanUploads();
    if (!this.store.get(BUCKET, EMULATOR_BUCKET)) this.createBucket(EMULATOR_BUCKET);
  }

  close(): void {
    if (this.ephemeral) fs.rmSync(this.root, { recursive: true, force: true });
  }

  // ---- buckets ----

  createBucket(name: string, body: Record<string, unknown> = {}): BucketDoc {
    validateBucketName(name);
    const now = new Date().toISOString();
    const doc: BucketDoc = {
      name,
      location: typeof body.location === 'string' ? body.location.toUpperCase() : 'US',
      storageClass: typeof body.storageClass === 'string' ? body.storageClass : 'STANDARD',
      metageneration: 1,
      timeCreated: now,
      updated: now,
      ...(body.labels && typeof body.labels === 'object' ? { labels: body.labels as Record<string, string> } : {}),
    };
    this.store.tx(() => {
      if (this.store.get(BUCKET, name)) {
        throw new GcsError(
          409,
          'Your previous request to create the named bucket succeeded and you already own it.',
          'conflict',
        );
      }
      this.store.put(BUCKET, name, doc);
    });
    fs.mkdirSync(path.join(this.root, name), { recursive: true });
    return doc;
  }

  getBucket(name: string): BucketDoc {
    const doc = this.store.get<BucketDoc>(BUCKET, name);
    if (!doc) throw noSuchBucket(name);
    return doc;
  }

  hasBucket(name: string): boolean {
    return this.store.get<BucketDoc>(BUCKET, name) !== undefined;
  }

  patchBucket(name: string, patch: Record<string, unknown>): BucketDoc {
    return this.store.tx(() => {
      const doc = this.getBucket(name);
      if (patch.labels && typeof patch.labels === 'object') {
        const labels = { ...(doc.labels ?? {}) };
        for (const [k, v] of Object.entries(patch.labels as Record<string, unknown>)) {
          if (v === null) delete labels[k];
          else labels[k] = String(v);
        }
        doc.labels = labels;
      }
      if (typeof patch.storageClass === 'string') doc.storageClass = patch.storageClass;
      doc.metageneration += 1;
      doc.updated = new Date().toISOString();
      this.store.put(BUCKET, name, doc);
      return doc;
    });
  }

  listBuckets(opts: { prefix?: string; maxResults?: number; pageToken?: string } = {}): {
    items: BucketDoc[];
    nextPageToken?: string;
  } {
    const limit = pageLimit(opts.maxResults);
    const prefix = opts.prefix ?? '';
    const lo = opts.pageToken ? decodeToken(opts.pageToken) : prefix;
    const rows = this.stmts.bucketRange.all(lo, prefix + MAX, limit + 1);
    const items = rows.slice(0, limit).map((r) => JSON.parse(r.body) as BucketDoc);
    const next = rows[limit];
    return next ? { items, nextPageToken: encodeToken(next.name) } : { items };
  }

  deleteBucket(name: string): void {
    this.getBucket(name);
    if (this.stmts.anyObject.get(name)) {
      throw new GcsError(409, `The bucket you tried to delete is not empty: ${name}`, 'conflict');
    }
    this.store.delete(BUCKET, name);
    fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
  }

  // ---- objects ----

  getObject(bucket: string, name: string): ObjectDoc {
    const doc = this.store.get<ObjectDoc>(OBJ, `${bucket}/${name}`);
    if (!doc) {
      if (!this.hasBucket(bucket)) throw noSuchBucket(bucket);
      throw noSuchObject(bucket, name);
    }
    return doc;
  }

  findObject(bucket: string, name: string): ObjectDoc | undefined {
    return this.store.get<ObjectDoc>(OBJ, `${bucket}/${name}`);
  }

  blobPath(doc: ObjectDoc): string {
    return path.join(this.root, doc.bucket, doc.blob);
  }

  /** Lists a bucket in name order, GCS style: `prefixes` roll up names past the delimiter. */
  listObjects(
    bucket: string,
    opts: ListOptions = {},
  ): { items: ObjectDoc[]; prefixes: string[]; nextPageToken?: string } {
    this.getBucket(bucket);
    const base = `${bucket}/`;
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter || undefined;
    const limit = pageLimit(opts.maxResults);
    const lo = base + prefix;
    let hi = lo + MAX;
    if (opts.endOffset && base + opts.endOffset < hi) hi = base + opts.endOffset;
    // `cur` is an inclusive lower bound on the next name to look at.
    let cur = lo;
    if (opts.startOffset && base + opts.startOffset > cur) cur = base + opts.startOffset;
    if (opts.pageToken) {
      const t = base + decodeToken(opts.pageToken);
      if (t > cur) cur = t;
    }
    const items: ObjectDoc[] = [];
    const prefixes: string[] = [];
    const BATCH = 256;
    let more = false;
    outer: for (;;) {
      const rows = this.stmts.objectRange.all(cur, hi, BATCH);
      for (const row of rows) {
        if (items.length + prefixes.length >= limit) {
          cur = row.name;
          more = true;
          break outer;
        }
        const rel = row.name.slice(lo.length);
        if (delimiter) {
          const i = rel.indexOf(delimiter);
          if (i >= 0) {
            const p = prefix + rel.slice(0, i + delimiter.length);
            prefixes.push(p);
            if (opts.includeTrailingDelimiter && i + delimiter.length === rel.length) {
              items.push(JSON.parse(row.body) as ObjectDoc);
            }
            cur = base + p + MAX; // skip everything under this prefix
            continue outer;
          }
        }
        items.push(JSON.parse(row.body) as ObjectDoc);
        cur = `${row.name}\u0000`;
      }
      if (rows.length < BATCH) break;
    }
    const out: { items: ObjectDoc[]; prefixes: string[]; nextPageToken?: string } = { items, prefixes };
    if (more) out.nextPageToken = encodeToken(cur.slice(base.length));
    return out;
  }

  deleteObject(bucket: string, name: string, pre: Preconditions = {}): void {
    const doc = this.store.tx(() => {
      const d = this.getObject(bucket, name);
      checkPreconditions(d, pre);
      this.store.delete(OBJ, `${bucket}/${name}`);
      return d;
    });
    rmQuiet(this.blobPath(doc));
  }

  /** PATCH semantics: given fields replace, `metadata` keys merge (null deletes a key). */
  patchObject(bucket: string, name: string, patch: Record<string, unknown>, pre: Preconditions = {}): ObjectDoc {
    return this.store.tx(() => {
      const doc = this.getObject(bucket, name);
      checkPreconditions(doc, pre);
      for (const k of META_FIELDS) {
        if (k in patch) {
          const v = patch[k];
          if (v === null || v === '') delete doc[k];
          else if (typeof v === 'string') doc[k] = v;
        }
      }
      if ('metadata' in patch) {
        if (patch.metadata === null) delete doc.metadata;
        else if (typeof patch.metadata === 'object') {
          const md = { ...(doc.metadata ?? {}) };
          for (const [k, v] of Object.entries(patch.metadata as Record<string, unknown>)) {
            if (v === null) delete md[k];
            else md[k] = String(v);
          }
          doc.metadata = md;
        }
      }
      doc.metageneration += 1;
      doc.updated = new Date().toISOString();
      this.store.put(OBJ, `${bucket}/${name}`, doc, bucket);
      return doc;
    });
  }

  /** Streams `source` into a new generation of bucket/name. */
  async writeFrom(
    source: AsyncIterable<Buffer> | Readable,
    bucket: string,
    name: string,
    meta: ObjectMeta = {},
    pre: Preconditions = {},
    expect: { md5?: string; crc32c?: string } = {},
  ): Promise<ObjectDoc> {
    this.checkWritable(bucket, name, pre);
    const tmp = this.tempPath();
    const hashing = new HashingStream();
    try {
      // flush: fsync before close, so a committed object survives a crash of the machine too.
      await pipeline(source, hashing, fs.createWriteStream(tmp, { flush: true }));
    } catch (err) {
      rmQuiet(tmp);
      throw err;
    }
    return this.commit(tmp, hashing.hasher, bucket, name, meta, pre, expect);
  }

  /** Copies an object (rewrite/copyTo); `meta` fields, when given, replace the source's. */
  async copyObject(
    src: { bucket: string; name: string },
    dst: { bucket: string; name: string },
    meta: ObjectMeta | undefined,
    pre: Preconditions = {},
  ): Promise<ObjectDoc> {
    const from = this.getObject(src.bucket, src.name);
    this.checkWritable(dst.bucket, dst.name, pre);
    const tmp = this.tempPath();
    await fs.promises.copyFile(this.blobPath(from), tmp);
    const keep: ObjectMeta = {};
    for (const k of META_FIELDS) {
      if (from[k] !== undefined) keep[k] = from[k];
    }
    if (from.metadata) keep.metadata = from.metadata;
    const digest = { md5Hash: from.md5Hash, crc32c: from.crc32c, size: from.size };
    return this.commitDigest(tmp, digest, dst.bucket, dst.name, { ...keep, ...(meta ?? {}) }, pre);
  }

  /** Concatenates source objects of one bucket into a new object (compose). */
  async composeObject(bucket: string, sources: string[], dst: string, meta: ObjectMeta, pre: Preconditions = {}) {
    if (sources.length === 0 || sources.length > 32) throw badRequest('compose takes between 1 and 32 source objects');
    const docs = sources.map((s) => this.getObject(bucket, s));
    const self = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      for (const d of docs) for await (const c of fs.createReadStream(self.blobPath(d))) yield c as Buffer;
    }
    const first = docs[0]!;
    return this.writeFrom(bytes(), bucket, dst, { contentType: first.contentType, ...meta }, pre);
  }

  // ---- resumable uploads ----

  startUpload(bucket: string, name: string, meta: ObjectMeta, total: number | null, pre: Preconditions): string {
    this.checkWritable(bucket, name, pre);
    const id = randomUUID().replaceAll('-', '');
    const tmp = path.basename(this.tempPath());
    fs.writeFileSync(path.join(this.uploadDir, tmp), '');
    const doc: UploadDoc = { id, bucket, name, meta, total, received: 0, tmp, pre, created: Date.now() };
    this.store.put(UPLOAD, id, doc);
    return id;
  }

  /**
   * One PUT of a resumable upload: appends the request's bytes at the persisted offset (bytes the
   * server already has are skipped, as GCS does), and finalizes when the total is reached (or the
   * request was the open-ended last one). Returns the object when done, else the bytes persisted.
   */
  putChunk(
    id: string,
    body: AsyncIterable<Buffer>,
    range: ContentRange | null,
    expect: { md5?: string; crc32c?: string } = {},
  ): Promise<{ object?: ObjectDoc; received: number }> {
    return this.withLock(id, async () => {
      const up = this.store.get<UploadDoc>(UPLOAD, id);
      if (!up) throw new GcsError(404, `No such upload session: ${id}`, 'notFound');
      if (up.done) {
        await drain(body);
        return { object: up.done, received: up.done.size };
      }
      const cr: ContentRange = range ?? { start: 0, end: '*', total: '*' };
      if (typeof cr.total === 'number') {
        if (up.total !== null && up.total !== cr.total) {
          throw badRequest(`Content-Range total ${cr.total} does not match the announced size ${up.total}`);
        }
        up.total = cr.total;
      }
      const tmp = path.join(this.uploadDir, up.tmp);
      if (cr.start !== null) {
        if (cr.start > up.received) {
          throw badRequest(
            `Invalid request. According to the Content-Range header, the upload offset is ${cr.start} byte(s), which exceeds already uploaded size of ${up.received} byte(s).`,
          );
        }
        const hasher = await this.sessionHasher(up);
        const before = up.received;
        const skip = new SkipAndHash(before - cr.start, hasher);
        try {
          await pipeline(body, skip, fs.createWriteStream(tmp, { flags: 'r+', start: before, flush: true }));
          const sent = skip.seen;
          if (typeof cr.end === 'number' && sent !== cr.end - cr.start + 1) {
            throw badRequest(
              `Content-Range ${cr.start}-${cr.end} announced ${cr.end - cr.start + 1} bytes, got ${sent}`,
            );
          }
          if (up.total !== null && before + skip.written > up.total) {
            throw badRequest(`The upload is larger than its announced size ${up.total}`);
          }
        } catch (err) {
          // Roll back to the persisted offset; the hash state is rebuilt from the file next time.
          this.hashers.delete(id);
          await fs.promises.truncate(tmp, before).catch(() => {});
          throw err;
        }
        up.received = before + skip.written;
      } else {
        await drain(body);
      }
      const final = up.total !== null ? up.received >= up.total : cr.start !== null && cr.end === '*';
      if (!final) {
        this.store.put(UPLOAD, id, up);
        return { received: up.received };
      }
      const hasher = await this.sessionHasher(up);
      this.hashers.delete(id);
      const doc = this.commit(tmp, hasher, up.bucket, up.name, up.meta, up.pre, expect);
      up.done = doc;
      this.store.put(UPLOAD, id, up);
      return { object: doc, received: doc.size };
    });
  }

  /** The persisted offset of an upload (a `bytes *\/*` status query). */
  uploadStatus(id: string): { object?: ObjectDoc; received: number } {
    const up = this.store.get<UploadDoc>(UPLOAD, id);
    if (!up) throw new GcsError(404, `No such upload session: ${id}`, 'notFound');
    return up.done ? { object: up.done, received: up.done.size } : { received: up.received };
  }

  cancelUpload(id: string): void {
    const up = this.store.get<UploadDoc>(UPLOAD, id);
    if (!up) throw new GcsError(404, `No such upload session: ${id}`, 'notFound');
    this.hashers.delete(id);
    rmQuiet(path.join(this.uploadDir, up.tmp));
    this.store.delete(UPLOAD, id);
  }

  // ---- in-process API for the other emulated services (gs:// URIs) ----

  /** The object's bytes; throws GcsError 404 when it does not exist. */
  readStream(uri: string, range?: { start?: number; end?: number }): Readable {
    const { bucket, name } = parseGsUri(uri);
    const doc = this.getObject(bucket, name);
    return fs.createReadStream(this.blobPath(doc), range ?? {});
  }

  async readText(uri: string): Promise<string> {
    const { bucket, name } = parseGsUri(uri);
    return fs.promises.readFile(this.blobPath(this.getObject(bucket, name)), 'utf8');
  }

  async write(
    uri: string,
    data: string | Buffer | Readable | AsyncIterable<Buffer>,
    opts: { contentType?: string; metadata?: Record<string, string> } = {},
  ): Promise<GcsObjectInfo> {
    const { bucket, name } = parseGsUri(uri);
    const source = typeof data === 'string' || Buffer.isBuffer(data) ? Readable.from([Buffer.from(data)]) : data;
    const meta: ObjectMeta = {
      contentType: opts.contentType ?? (typeof data === 'string' ? 'text/plain; charset=utf-8' : undefined),
    };
    if (!meta.contentType) delete meta.contentType;
    if (opts.metadata) meta.metadata = opts.metadata;
    return this.info(await this.writeFrom(source, bucket, name, meta));
  }

  /** True when the object exists; for `gs://bucket` (no object), when the bucket exists. */
  exists(uri: string): boolean {
    const { bucket, name } = parseGsUri(uri);
    return name ? this.findObject(bucket, name) !== undefined : this.hasBucket(bucket);
  }

  stat(uri: string): GcsObjectInfo | undefined {
    const { bucket, name } = parseGsUri(uri);
    const doc = this.findObject(bucket, name);
    return doc ? this.info(doc) : undefined;
  }

  /** Every object whose name starts with the URI's path (plain prefix match, recursive). */
  list(prefixUri: string): GcsObjectInfo[] {
    const { bucket, name } = parseGsUri(prefixUri);
    const out: GcsObjectInfo[] = [];
    let pageToken: string | undefined;
    do {
      const page = this.listObjects(bucket, { prefix: name, maxResults: PAGE_MAX, pageToken });
      for (const d of page.items) out.push(this.info(d));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  async delete(uri: string): Promise<void> {
    const { bucket, name } = parseGsUri(uri);
    this.deleteObject(bucket, name);
  }

  info(doc: ObjectDoc): GcsObjectInfo {
    return {
      uri: `gs://${doc.bucket}/${doc.name}`,
      bucket: doc.bucket,
      name: doc.name,
      size: doc.size,
      contentType: doc.contentType ?? 'application/octet-stream',
      md5Hash: doc.md5Hash,
      crc32c: doc.crc32c,
      generation: doc.generation,
      updated: doc.updated,
    };
  }

  // ---- internals ----

  private checkWritable(bucket: string, name: string, pre: Preconditions): void {
    this.getBucket(bucket);
    validateObjectName(name);
    checkPreconditions(this.findObject(bucket, name), pre);
  }

  private tempPath(): string {
    return path.join(this.uploadDir, randomUUID());
  }

  private commit(
    tmp: string,
    hasher: Hasher,
    bucket: string,
    name: string,
    meta: ObjectMeta,
    pre: Preconditions,
    expect: { md5?: string; crc32c?: string } = {},
  ): ObjectDoc {
    const digest = hasher.digest();
    if (expect.crc32c && expect.crc32c !== digest.crc32c) {
      rmQuiet(tmp);
      throw badRequest(`Provided CRC32C "${expect.crc32c}" doesn't match calculated CRC32C "${digest.crc32c}".`);
    }
    if (expect.md5 && expect.md5 !== digest.md5Hash) {
      rmQuiet(tmp);
      throw badRequest(`Provided MD5 hash "${expect.md5}" doesn't match calculated MD5 hash "${digest.md5Hash}".`);
    }
    return this.commitDigest(tmp, digest, bucket, name, meta, pre);
  }

  private commitDigest(
    tmp: string,
    digest: { md5Hash: string; crc32c: string; size: number },
    bucket: string,
    name: string,
    meta: ObjectMeta,
    pre: Preconditions,
  ): ObjectDoc {
    const key = `${bucket}/${name}`;
    let old: ObjectDoc | undefined;
    let doc: ObjectDoc | undefined;
    let dest = '';
    try {
      this.getBucket(bucket);
      const blob = String(this.store.next('gcs.blob'));
      dest = path.join(this.root, bucket, blob);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(tmp, dest);
      const now = new Date().toISOString();
      this.store.tx(() => {
        old = this.store.get<ObjectDoc>(OBJ, key);
        checkPreconditions(old, pre);
        const d: ObjectDoc = {
          bucket,
          name,
          ...meta,
          generation: this.nextGeneration(old?.generation),
          metageneration: 1,
          size: digest.size,
          md5Hash: digest.md5Hash,
          crc32c: digest.crc32c,
          timeCreated: now,
          updated: now,
          blob,
        };
        this.store.put(OBJ, key, d, bucket);
        doc = d;
      });
    } catch (err) {
      rmQuiet(tmp);
      if (dest) rmQuiet(dest);
      throw err;
    }
    if (old) rmQuiet(path.join(this.root, bucket, old.blob));
    return doc!;
  }

  /** Microsecond timestamps like GCS, strictly increasing. */
  private nextGeneration(previous?: string): string {
    const g = Math.max(Date.now() * 1000, this.lastGeneration + 1, previous ? Number(previous) + 1 : 0);
    this.lastGeneration = g;
    return String(g);
  }

  private async sessionHasher(up: UploadDoc): Promise<Hasher> {
    let h = this.hashers.get(up.id);
    if (!h) {
      h = new Hasher();
      if (up.received > 0) {
        const stream = fs.createReadStream(path.join(this.uploadDir, up.tmp), { start: 0, end: up.received - 1 });
        for await (const c of stream) h.update(c as Buffer);
      }
      this.hashers.set(up.id, h);
    }
    return h;
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /** Drops expired upload sessions and temp files no live session owns (left by a crash). */
  private cleanUploads(): void {
    const live = new Set<string>();
    for (const { name, doc } of this.store.list<UploadDoc>(UPLOAD)) {
      if (Date.now() - doc.created > UPLOAD_TTL_MS) {
        this.store.delete(UPLOAD, name);
      } else if (!doc.done) {
        live.add(doc.tmp);
      }
    }
    for (const f of fs.readdirSync(this.uploadDir)) if (!live.has(f)) rmQuiet(path.join(this.uploadDir, f));
  }
}

export function checkPreconditions(doc: ObjectDoc | undefined, pre: Preconditions): void {
  const fail = () =>
    new GcsError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
  if (pre.ifGenerationMatch !== undefined) {
    const want = String(pre.ifGenerationMatch);
    if (want === '0' ? doc !== undefined : doc?.generation !== want) throw fail();
  }
  if (pre.ifGenerationNotMatch !== undefined) {
    const not = String(pre.ifGenerationNotMatch);
    if (not === '0' ? doc === undefined : doc?.generation === not) throw fail();
  }
  if (pre.ifMetagenerationMatch !== undefined && String(doc?.metageneration) !== String(pre.ifMetagenerationMatch)) {
    throw fail();
  }
  if (
    pre.ifMetagenerationNotMatch !== undefined &&
    String(doc?.metageneration) === String(pre.ifMetagenerationNotMatch)
  ) {
    throw fail();
  }
}

/** Skips the first `skip` bytes (already persisted), hashes and passes on the rest. */
class SkipAndHash extends Transform {
  seen = 0;
  written = 0;

  constructor(
    private skip: number,
    private readonly hasher: Hasher,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    let c = chunk;
    if (this.skip > 0) {
      const n = Math.min(this.skip, c.length);
      this.skip -= n;
      c = c.subarray(n);
    }
    if (c.length) {
      this.hasher.update(c);
      this.written += c.length;
      cb(null, c);
    } else {
      cb();
    }
  }
}

function pageLimit(maxResults: number | undefined): number {
  if (maxResults === undefined || !Number.isFinite(maxResults) || maxResults <= 0) return PAGE_MAX;
  return Math.min(Math.floor(maxResults), PAGE_MAX);
}

function encodeToken(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

function decodeToken(t: string): string {
  return Buffer.from(t, 'base64url').toString('utf8');
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of body) {
    // discard
  }
}

function rmQuiet(p: string): void {
  try {
    fs.rmSync(p, { force: true });
  } catch {
    // best effort (a reader may still hold it open on Windows)
  }
}
