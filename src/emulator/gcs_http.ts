// The GCS JSON API subset @google-cloud/storage (and gsutil-style clients) use, over node:http:
// buckets (insert/get/list/patch/delete), objects (get/list/patch/delete/rewrite/copy/compose),
// media download with Range, and uploads (media, multipart, resumable with chunked PUTs).
// Anonymous: it serves loopback clients of the emulator and checks no credentials.
import fs from 'node:fs';
import http from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  bucketResource,
  type ContentRange,
  type Gcs,
  type ListOptions,
  type ObjectDoc,
  objectMetaFrom,
  objectResource,
  type Preconditions,
} from './gcs.js';
import { badRequest, GcsError, noSuchObject } from './gcs_errors.js';
import { parseGoogHash } from './gcs_hash.js';
import { boundaryOf, parseMultipart } from './gcs_multipart.js';

type Log = (msg: string) => void;

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  q: URLSearchParams;
  method: string;
  /** `http://host:port` as the client addressed us, for selfLink / session URIs. */
  base: string;
  /** A media request: errors go out as plain text, as GCS sends them (the client shows the body). */
  media?: boolean;
}

const JSON_TYPE = 'application/json; charset=UTF-8';
const MAX_JSON = 16 << 20;

export function createGcsServer(gcs: Gcs, log: Log): http.Server {
  const server = http.createServer((req, res) => {
    void handle(gcs, log, req, res);
  });
  // Large uploads and downloads may take long: no whole-request deadline.
  server.requestTimeout = 0;
  return server;
}

export function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function handle(gcs: Gcs, log: Log, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const ctx: Ctx = {
    req,
    res,
    url,
    q: url.searchParams,
    method: (req.method ?? 'GET').toUpperCase(),
    base: `http://${req.headers.host ?? 'localhost'}`,
  };
  try {
    await route(gcs, ctx);
  } catch (err) {
    if (isClientGone(err, req, res)) return;
    let e: GcsError;
    if (err instanceof GcsError) e = err;
    else {
      log(`emulator: GCS ${ctx.method} ${url.pathname} failed: ${err instanceof Error ? err.stack : String(err)}`);
      e = new GcsError(500, 'Internal error in the vertex-mcp emulator GCS', 'backendError');
    }
    sendError(ctx, e);
  }
}

function isClientGone(err: unknown, req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const code = (err as { code?: string })?.code;
  return (
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    (req.destroyed && !req.complete) ||
    res.destroyed
  );
}

function decodeSeg(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`Invalid percent-encoding in the ${what} name`);
  }
}

async function route(gcs: Gcs, ctx: Ctx): Promise<void> {
  const p = ctx.url.pathname;
  const { method, q } = ctx;
  let m: string[] = [];
  const at = (re: RegExp): boolean => {
    const r = re.exec(p);
    m = r ? [...r] : [];
    return r !== null;
  };

  // Uploads.
  if (at(/^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/)) {
    const bucket = decodeSeg(m[1]!, 'bucket');
    const uploadId = q.get('upload_id');
    if (uploadId) {
      if (method === 'PUT' || method === 'POST') return resumablePut(gcs, ctx, uploadId);
      if (method === 'DELETE') {
        await drainReq(ctx.req);
        gcs.cancelUpload(uploadId);
        ctx.res.writeHead(499, { 'Content-Length': 0 }).end();
        return;
      }
    }
    if (method === 'POST') return upload(gcs, ctx, bucket);
    throw methodNotAllowed(method, p);
  }

  // Object copy / rewrite / compose (POST only, checked before the plain object route).
  if (method === 'POST') {
    if (at(/^\/storage\/v1\/b\/([^/]+)\/o\/(.+)\/(rewriteTo|copyTo)\/b\/([^/]+)\/o\/(.+)$/)) {
      const src = { bucket: decodeSeg(m[1]!, 'bucket'), name: decodeSeg(m[2]!, 'object') };
      const dst = { bucket: decodeSeg(m[4]!, 'bucket'), name: decodeSeg(m[5]!, 'object') };
      const body = await readJson(ctx.req);
      const meta = Object.keys(body).length ? objectMetaFrom(body) : undefined;
      const doc = await gcs.copyObject(src, dst, meta, preconditions(q));
      const resource = objectResource(doc, ctx.base);
      if (m[3] === 'copyTo') return sendJson(ctx, 200, resource);
      return sendJson(ctx, 200, {
        kind: 'storage#rewriteResponse',
        totalBytesRewritten: String(doc.size),
        objectSize: String(doc.size),
        done: true,
        resource,
      });
    }
    if (at(/^\/storage\/v1\/b\/([^/]+)\/o\/(.+)\/compose$/)) {
      const bucket = decodeSeg(m[1]!, 'bucket');
      const dst = decodeSeg(m[2]!, 'object');
      const body = await readJson(ctx.req);
      const sources = Array.isArray(body.sourceObjects) ? (body.sourceObjects as { name?: unknown }[]) : [];
      const names = sources.map((s) => String(s?.name ?? ''));
      const dest = (body.destination ?? {}) as Record<string, unknown>;
      const doc = await gcs.composeObject(bucket, names, dst, objectMetaFrom(dest), preconditions(q));
      return sendJson(ctx, 200, objectResource(doc, ctx.base));
    }
  }

  // Media download (the client uses /storage/v1/...?alt=media; others use /download/storage/v1/...).
  if (at(/^\/download\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/)) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, p);
    return download(gcs, ctx, decodeSeg(m[1]!, 'bucket'), decodeSeg(m[2]!, 'object'));
  }

  // Objects.
  if (at(/^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/)) {
    const bucket = decodeSeg(m[1]!, 'bucket');
    const name = decodeSeg(m[2]!, 'object');
    switch (method) {
      case 'GET':
      case 'HEAD': {
        if (q.get('alt') === 'media') return download(gcs, ctx, bucket, name);
        const doc = currentGeneration(gcs.getObject(bucket, name), q);
        return sendJson(ctx, 200, objectResource(doc, ctx.base));
      }
      case 'DELETE':
        await drainReq(ctx.req);
        currentGeneration(gcs.getObject(bucket, name), q);
        gcs.deleteObject(bucket, name, preconditions(q));
        ctx.res.writeHead(204).end();
        return;
      case 'PATCH':
      case 'PUT': {
        const body = await readJson(ctx.req);
        if (method === 'PUT') {
          // Update replaces the writable metadata: unset fields are cleared.
          for (const k of ['contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl', 'metadata']) {
            if (!(k in body)) body[k] = null;
          }
        }
        const doc = gcs.patchObject(bucket, name, body, preconditions(q));
        return sendJson(ctx, 200, objectResource(doc, ctx.base));
      }
      default:
        throw methodNotAllowed(method, p);
    }
  }
  if (at(/^\/storage\/v1\/b\/([^/]+)\/o\/?$/)) {
    if (method !== 'GET') throw methodNotAllowed(method, p);
    const bucket = decodeSeg(m[1]!, 'bucket');
    const opts: ListOptions = {
      prefix: q.get('prefix') ?? undefined,
      delimiter: q.get('delimiter') ?? undefined,
      maxResults: q.has('maxResults') ? Number(q.get('maxResults')) : undefined,
      pageToken: q.get('pageToken') ?? undefined,
      startOffset: q.get('startOffset') ?? undefined,
      endOffset: q.get('endOffset') ?? undefined,
      includeTrailingDelimiter: q.get('includeTrailingDelimiter') === 'true',
    };
    if (q.get('versions') === 'true') {
      // Versioning is not emulated: the live generation is the only one.
    }
    const page = gcs.listObjects(bucket, opts);
    const out: Record<string, unknown> = { kind: 'storage#objects' };
    if (page.prefixes.length) out.prefixes = page.prefixes;
    if (page.items.length) out.items = page.items.map((d) => objectResource(d, ctx.base));
    if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
    return sendJson(ctx, 200, out);
  }

  // Buckets.
  if (at(/^\/storage\/v1\/b\/([^/]+)\/?$/)) {
    const bucket = decodeSeg(m[1]!, 'bucket');
    switch (method) {
      case 'GET':
        return sendJson(ctx, 200, bucketResource(gcs.getBucket(bucket), ctx.base));
      case 'DELETE':
        await drainReq(ctx.req);
        gcs.deleteBucket(bucket);
        ctx.res.writeHead(204).end();
        return;
      case 'PATCH':
      case 'PUT':
        return sendJson(ctx, 200, bucketResource(gcs.patchBucket(bucket, await readJson(ctx.req)), ctx.base));
      default:
        throw methodNotAllowed(method, p);
    }
  }
  if (/^\/storage\/v1\/b\/?$/.test(p)) {
    if (method === 'GET') {
      const page = gcs.listBuckets({
        prefix: q.get('prefix') ?? undefined,
        maxResults: q.has('maxResults') ? Number(q.get('maxResults')) : undefined,
        pageToken: q.get('pageToken') ?? undefined,
      });
      const out: Record<string, unknown> = { kind: 'storage#buckets' };
      if (page.items.length) out.items = page.items.map((b) => bucketResource(b, ctx.base));
      if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
      return sendJson(ctx, 200, out);
    }
    if (method === 'POST') {
      const body = await readJson(ctx.req);
      const name = typeof body.name === 'string' ? body.name : '';
      if (!name) throw badRequest('Bucket name is required (body field "name")');
      return sendJson(ctx, 200, bucketResource(gcs.createBucket(name, body), ctx.base));
    }
    throw methodNotAllowed(method, p);
  }

  await drainReq(ctx.req);
  throw new GcsError(
    /^\/(upload\/|download\/)?storage\/v1\//.test(p) ? 501 : 404,
    `${method} ${p} is not implemented by the vertex-mcp emulator's GCS`,
  );
}

function methodNotAllowed(method: string, p: string): GcsError {
  return new GcsError(405, `Method ${method} is not allowed on ${p}`, 'methodNotAllowed');
}

function preconditions(q: URLSearchParams): Preconditions {
  const pre: Preconditions = {};
  for (const k of [
    'ifGenerationMatch',
    'ifGenerationNotMatch',
    'ifMetagenerationMatch',
    'ifMetagenerationNotMatch',
  ] as const) {
    const v = q.get(k);
    if (v !== null) pre[k] = v;
  }
  return pre;
}

/** Only the live generation exists (no versioning): asking for another one is a 404. */
function currentGeneration(doc: ObjectDoc, q: URLSearchParams): ObjectDoc {
  const g = q.get('generation');
  if (g && g !== doc.generation) throw noSuchObject(doc.bucket, `${doc.name}#${g}`);
  return doc;
}

async function download(gcs: Gcs, ctx: Ctx, bucket: string, name: string): Promise<void> {
  ctx.media = true;
  await drainReq(ctx.req);
  const doc = currentGeneration(gcs.getObject(bucket, name), ctx.q);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(gcs.blobPath(doc), 'r');
  } catch {
    throw noSuchObject(bucket, name); // replaced or deleted in between
  }
  try {
    const size = doc.size;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': doc.contentType ?? 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: objectResource(doc).etag as string,
      'Last-Modified': new Date(doc.updated).toUTCString(),
      'x-goog-generation': doc.generation,
      'x-goog-metageneration': String(doc.metageneration),
      'x-goog-hash': `crc32c=${doc.crc32c},md5=${doc.md5Hash}`,
      'x-goog-stored-content-encoding': doc.contentEncoding ?? 'identity',
      'x-goog-stored-content-length': String(size),
    };
    if (doc.contentDisposition) headers['Content-Disposition'] = doc.contentDisposition;
    if (doc.cacheControl) headers['Cache-Control'] = doc.cacheControl;
    if (doc.contentLanguage) headers['Content-Language'] = doc.contentLanguage;
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(ctx.req.headers.range ?? '').trim());
    if (range && (range[1] || range[2]) && size > 0) {
      if (range[1]) {
        start = Number(range[1]);
        end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      } else {
        start = Math.max(0, size - Number(range[2]));
      }
      if (start >= size || start > end || (!range[1] && Number(range[2]) === 0)) {
        ctx.res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Type': JSON_TYPE });
        ctx.res.end(
          JSON.stringify(new GcsError(416, 'The requested range cannot be satisfied.', 'requestedRangeNotSatisfiable')),
        );
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = String(Math.max(0, end - start + 1));
    ctx.res.writeHead(status, headers);
    if (ctx.method === 'HEAD' || end < start) {
      ctx.res.end();
      return;
    }
    await pipeline(fh.createReadStream({ start, end, autoClose: false }), ctx.res);
  } finally {
    await fh.close().catch(() => {});
  }
}

async function upload(gcs: Gcs, ctx: Ctx, bucket: string): Promise<void> {
  const { q, req } = ctx;
  const type = q.get('uploadType') ?? 'media';
  const pre = preconditions(q);
  if (type === 'resumable') {
    const body = await readJson(req);
    const name = q.get('name') ?? (typeof body.name === 'string' ? body.name : '');
    const meta = objectMetaFrom(body);
    const headerType = req.headers['x-upload-content-type'];
    if (!meta.contentType && typeof headerType === 'string' && headerType) meta.contentType = headerType;
    const lenHeader = req.headers['x-upload-content-length'];
    const total = typeof lenHeader === 'string' && /^\d+$/.test(lenHeader) ? Number(lenHeader) : null;
    const id = gcs.startUpload(bucket, name, meta, total, pre);
    const location = `${ctx.base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
    ctx.res.writeHead(200, { Location: location, 'X-GUploader-UploadID': id, 'Content-Length': 0 }).end();
    return;
  }
  if (type === 'multipart') {
    const boundary = boundaryOf(req.headers['content-type']);
    if (!boundary) throw badRequest('A multipart upload needs Content-Type multipart/related with a boundary');
    const mp = await parseMultipart(req, boundary);
    const name = q.get('name') ?? (typeof mp.metadata.name === 'string' ? mp.metadata.name : '');
    const meta = objectMetaFrom(mp.metadata);
    if (!meta.contentType && mp.mediaType) meta.contentType = mp.mediaType;
    const expect = {
      md5: typeof mp.metadata.md5Hash === 'string' ? mp.metadata.md5Hash : undefined,
      crc32c: typeof mp.metadata.crc32c === 'string' ? mp.metadata.crc32c : undefined,
    };
    const doc = await gcs.writeFrom(mp.media, bucket, name, meta, pre, expect);
    return sendJson(ctx, 200, objectResource(doc, ctx.base));
  }
  if (type === 'media') {
    const name = q.get('name') ?? '';
    const ct = req.headers['content-type'];
    const meta = objectMetaFrom({
      contentType: ct || 'application/octet-stream',
      contentEncoding: q.get('contentEncoding') ?? undefined,
    });
    const hash = parseGoogHash(req.headers['x-goog-hash']);
    const doc = await gcs.writeFrom(req, bucket, name, meta, pre, hash);
    return sendJson(ctx, 200, objectResource(doc, ctx.base));
  }
  throw badRequest(`Unsupported uploadType "${type}"; use media, multipart or resumable`);
}

/** Parses a resumable PUT's Content-Range; undefined when malformed. */
export function parseContentRange(h: string | undefined): ContentRange | null | undefined {
  if (h === undefined || h.trim() === '') return null;
  const m = /^bytes\s+(?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(h.trim());
  if (!m) return undefined;
  const total = m[3] === '*' ? '*' : Number(m[3]);
  if (m[1] === undefined) return { start: null, end: null, total };
  return { start: Number(m[1]), end: m[2] === '*' ? '*' : Number(m[2]), total };
}

async function resumablePut(gcs: Gcs, ctx: Ctx, id: string): Promise<void> {
  const range = parseContentRange(ctx.req.headers['content-range'] as string | undefined);
  if (range === undefined) throw badRequest(`Invalid Content-Range header "${ctx.req.headers['content-range']}"`);
  let result: { object?: ObjectDoc; received: number };
  if (range && range.start === null && range.total === '*') {
    await drainReq(ctx.req);
    result = gcs.uploadStatus(id);
  } else {
    result = await gcs.putChunk(id, ctx.req, range, parseGoogHash(ctx.req.headers['x-goog-hash']));
  }
  if (result.object) return sendJson(ctx, 200, objectResource(result.object, ctx.base));
  const headers: http.OutgoingHttpHeaders = { 'Content-Length': 0, 'X-GUploader-UploadID': id };
  if (result.received > 0) headers.Range = `bytes=0-${result.received - 1}`;
  ctx.res.writeHead(308, headers).end();
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_JSON) throw new GcsError(413, 'Request body too large', 'uploadTooLarge');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw badRequest('The request body must be a JSON object');
  }
}

async function drainReq(req: http.IncomingMessage): Promise<void> {
  if (req.complete) return;
  for await (const _ of req) {
    // discard
  }
}

function sendJson(ctx: Ctx, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  ctx.res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
  ctx.res.end(text);
}

function sendError(ctx: Ctx, e: GcsError): void {
  const { req, res } = ctx;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = ctx.media ? e.message : JSON.stringify(e.toJSON());
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': ctx.media ? 'text/plain; charset=UTF-8' : JSON_TYPE,
    'Content-Length': Buffer.byteLength(text),
  };
  if (!req.complete) {
    // We answer before reading the whole body: do not reuse the connection, discard the rest.
    headers.Connection = 'close';
    req.resume();
  }
  res.writeHead(e.code, headers);
  res.end(text);
}
