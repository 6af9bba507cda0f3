// Reading and writing dataset and artifact files by URI: gs://bucket/path through
// @google-cloud/storage (the emulator's GCS in emulator mode), or a local path inside the allowed
// roots (--allow-path). Streams, so callers keep constant memory whatever the file size.
//
// Errors are VertexMcpErrors that name the field and the URI: a missing input is INVALID_ARGUMENT
// (`dataset "gs://b/x.jsonl" does not exist`), a local path outside the roots PERMISSION_DENIED.
import fs from 'node:fs';
import path from 'node:path';
import { finished, PassThrough, type Readable, Writable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';
import type { VertexClients } from './clients.js';
import { invalid, VertexMcpError } from './errors.js';

export interface FileInfo {
  uri: string;
  size: number;
}

/** Above this, writeText uses a resumable upload (GCS's advice for objects over a few MB). */
const SIMPLE_UPLOAD_MAX = 8 << 20;
const MAX_SYMLINK_HOPS = 40;

export class Files {
  constructor(
    private readonly clients: VertexClients,
    /** Absolute directories local paths must stay inside. */
    readonly allowedRoots: string[],
  ) {}

  /**
   * Resolves a local path and refuses it outside the allowed roots. Symlinks are resolved
   * (dangling ones too, so a link cannot point a new output outside); a path that does not exist
   * yet (an output) is checked through its nearest existing ancestor. Returns the real path:
   * open that, not `p`.
   */
  localPath(p: string, field = 'path'): string {
    if (!p) throw invalid(`${field} is empty`);
    if (this.isGcs(p)) throw invalid(`${field} "${p}" is a gs:// URI where a local path is expected`);
    const real = resolveReal(path.resolve(p), field, p);
    const roots = this.realRoots();
    const inside = roots.some((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
    if (!inside) {
      throw new VertexMcpError(
        'PERMISSION_DENIED',
        `${field} "${p}" is outside the allowed roots (${this.allowedRoots.join(', ')})`,
        'Use a path inside them, a gs:// URI, or start the server with --allow-path',
      );
    }
    return real;
  }

  isGcs(uri: string): boolean {
    return uri.startsWith('gs://');
  }

  /**
   * The one file named, or every file under a directory (recursively) or gs:// prefix, sorted.
   * `gs://b/dir` names the object `dir` if there is one, else everything under `dir/`; a missing
   * object or an empty prefix is INVALID_ARGUMENT naming the field.
   */
  async list(uri: string, field = 'path'): Promise<FileInfo[]> {
    if (this.isGcs(uri)) return this.listGcs(uri, field);
    const root = this.localPath(uri, field);
    const stat = await fs.promises.stat(root).catch(() => {
      throw invalid(`${field} "${uri}" does not exist`);
    });
    if (stat.isFile()) return [{ uri: root, size: stat.size }];
    const out: FileInfo[] = [];
    for (const entry of await fs.promises.readdir(root, { recursive: true, withFileTypes: true })) {
      const full = path.join(entry.parentPath, entry.name);
      if (entry.isFile()) {
        out.push({ uri: full, size: (await fs.promises.stat(full)).size });
      } else if (entry.isSymbolicLink()) {
        // Followed only when it lands on a file inside the roots.
        try {
          const real = this.localPath(full, field);
          const s = await fs.promises.stat(real);
          if (s.isFile()) out.push({ uri: full, size: s.size });
        } catch {
          // outside the roots or dangling: skipped
        }
      }
    }
    return out.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  }

  async openRead(uri: string, field = 'path'): Promise<Readable> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const storage = await this.storage();
      const inner = storage.bucket(bucket).file(name).createReadStream();
      return mapReadable(inner, (e) => gcsError(e, field, uri, 'read'));
    }
    return fs.createReadStream(this.localPath(uri, field));
  }

  /**
   * A stream that writes the file. It emits 'finish' only once the bytes are stored (for gs://,
   * the upload is complete and its checksum verified); destroying it before then leaves no object.
   */
  async openWrite(uri: string, field = 'output'): Promise<Writable> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const storage = await this.storage();
      // Resumable: one streamed PUT whatever the size, no buffering, and real GCS recommends it
      // for anything over a few MB. Content type comes from the name's extension.
      const inner = storage.bucket(bucket).file(name).createWriteStream({ resumable: true });
      return mapWritable(inner, (e) => gcsError(e, field, uri, 'write'));
    }
    const p = this.localPath(uri, field);
    await fs.promises.mkdir(path.dirname(p), { recursive: true });
    return fs.createWriteStream(p);
  }

  /** True for an existing file or directory; for gs://, an object or a non-empty prefix (or bucket). */
  async exists(uri: string, field = 'path'): Promise<boolean> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, false);
      const storage = await this.storage();
      const b = storage.bucket(bucket);
      try {
        if (!name) return (await b.exists())[0];
        if (!name.endsWith('/') && (await b.file(name).exists())[0]) return true;
        const [files] = await b.getFiles({
          prefix: name.endsWith('/') ? name : `${name}/`,
          maxResults: 1,
          autoPaginate: false,
        });
        return files.length > 0;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw gcsError(err, field, uri, 'read');
      }
    }
    return fs.existsSync(this.localPath(uri, field));
  }

  async readText(uri: string, field = 'path'): Promise<string> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const storage = await this.storage();
      try {
        const [buf] = await storage.bucket(bucket).file(name).download();
        return buf.toString('utf8');
      } catch (err) {
        throw gcsError(err, field, uri, 'read');
      }
    }
    return fs.promises.readFile(this.localPath(uri, field), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? invalid(`${field} "${uri}" does not exist`) : err;
    });
  }

  async writeText(uri: string, text: string, field = 'output'): Promise<void> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const storage = await this.storage();
      try {
        await storage
          .bucket(bucket)
          .file(name)
          .save(text, { resumable: Buffer.byteLength(text) > SIMPLE_UPLOAD_MAX });
      } catch (err) {
        throw gcsError(err, field, uri, 'write');
      }
      return;
    }
    const w = await this.openWrite(uri, field);
    await new Promise<void>((resolve, reject) => {
      w.on('error', reject);
      w.end(text, () => resolve());
    });
  }

  /** Deletes one file or object; a missing one is not an error. */
  async delete(uri: string, field = 'path'): Promise<void> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const storage = await this.storage();
      try {
        await storage.bucket(bucket).file(name).delete({ ignoreNotFound: true });
      } catch (err) {
        if (statusOf(err) === 404) return; // the bucket is gone too
        throw gcsError(err, field, uri, 'write');
      }
      return;
    }
    await fs.promises.rm(this.localPath(uri, field), { force: true });
  }

  /** The roots with their symlinks resolved (a root may itself be reached through one, e.g. /tmp). */
  private realRoots(): string[] {
    return this.allowedRoots.map((r) => {
      try {
        return fs.realpathSync(r);
      } catch {
        return path.resolve(r);
      }
    });
  }

  private storage(): Promise<Storage> {
    return this.clients.storage();
  }

  private async listGcs(uri: string, field: string): Promise<FileInfo[]> {
    const { bucket, name } = parseGs(uri, field, false);
    const storage = await this.storage();
    const b = storage.bucket(bucket);
    try {
      if (name && !name.endsWith('/')) {
        try {
          const [meta] = await b.file(name).getMetadata();
          return [{ uri, size: Number(meta.size ?? 0) }];
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      }
      const prefix = !name || name.endsWith('/') ? name : `${name}/`;
      const out: FileInfo[] = [];
      let pageToken: string | undefined;
      do {
        const [files, next] = await b.getFiles({ prefix, autoPaginate: false, maxResults: 1000, pageToken });
        for (const f of files) {
          if (f.name.endsWith('/')) continue; // "folder" placeholder objects
          out.push({ uri: `gs://${bucket}/${f.name}`, size: Number(f.metadata.size ?? 0) });
        }
        pageToken = (next as { pageToken?: string } | null)?.pageToken;
      } while (pageToken);
      if (out.length === 0) throw invalid(`${field} "${uri}" does not exist (no object with that name or under it)`);
      return out;
    } catch (err) {
      throw gcsError(err, field, uri, 'read');
    }
  }
}

/** Resolves every symlink in `abs`, including dangling ones and through missing tails. */
function resolveReal(abs: string, field: string, shown: string): string {
  let existing = abs;
  const rest: string[] = [];
  for (let hops = 0; ; ) {
    try {
      return path.join(fs.realpathSync(existing), ...rest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw invalid(`${field} "${shown}" cannot be resolved: ${(err as Error).message}`);
      }
    }
    const st = fs.lstatSync(existing, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      // A dangling link: follow it by hand, or a write would create its target wherever it points.
      if (++hops > MAX_SYMLINK_HOPS) throw invalid(`${field} "${shown}": too many levels of symbolic links`);
      existing = path.resolve(path.dirname(existing), fs.readlinkSync(existing));
      continue;
    }
    const parent = path.dirname(existing);
    if (parent === existing) return path.join(existing, ...rest);
    rest.unshift(path.basename(existing));
    existing = parent;
  }
}

function parseGs(uri: string, field: string, needObject: boolean): { bucket: string; name: string } {
  const m = /^gs:\/\/([^/]+)(?:\/(.*))?$/s.exec(uri);
  if (!m || !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(m[1]!)) {
    throw invalid(`${field} "${uri}" is not a valid gs://bucket/path URI`);
  }
  const name = m[2] ?? '';
  if (needObject && (!name || name.endsWith('/'))) {
    throw invalid(`${field} "${uri}" must name an object (gs://bucket/path/file), not a bucket or prefix`);
  }
  return { bucket: m[1]!, name };
}

/** The HTTP status of a storage client failure (ApiError.code, or GaxiosError.status from uploads). */
function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const v of [e?.code, e?.status, e?.response?.status]) {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\d{3}$/.test(v)) return Number(v);
  }
  return undefined;
}

/** Maps a storage client failure to a VertexMcpError naming the field and the URI. */
function gcsError(err: unknown, field: string, uri: string, op: 'read' | 'write'): VertexMcpError {
  if (err instanceof VertexMcpError) return err;
  const status = statusOf(err);
  const raw = err instanceof Error ? err.message : String(err);
  const detail = raw.length > 300 ? `${raw.slice(0, 300)}...` : raw;
  const bucket = /^gs:\/\/([^/]+)/.exec(uri)?.[1] ?? '';
  switch (status) {
    case 404:
      if (op === 'write' || /bucket does not exist/i.test(raw)) {
        return invalid(
          `${field} "${uri}": bucket "${bucket}" does not exist`,
          'Create the bucket first, or use a URI in an existing bucket',
        );
      }
      return invalid(`${field} "${uri}" does not exist`);
    case 400:
      return invalid(`${field} "${uri}": ${detail}`);
    case 401:
      return new VertexMcpError(
        'UNAUTHENTICATED',
        `${field} "${uri}": not authenticated to Cloud Storage`,
        'Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS',
      );
    case 403:
      return new VertexMcpError(
        'PERMISSION_DENIED',
        `${field} "${uri}": permission denied: ${detail}`,
        `Grant the credentials ${op === 'read' ? 'roles/storage.objectViewer' : 'roles/storage.objectAdmin'} on bucket ${bucket}`,
      );
    case 412:
      return new VertexMcpError('FAILED_PRECONDITION', `${field} "${uri}": ${detail}`);
    case 429:
      return new VertexMcpError(
        'RESOURCE_EXHAUSTED',
        `${field} "${uri}": rate limited by Cloud Storage`,
        'Retry later',
      );
    case 408:
    case 500:
    case 502:
    case 503:
    case 504:
      return new VertexMcpError(
        'UNAVAILABLE',
        `${field} "${uri}": Cloud Storage is unavailable (${status})`,
        'Retry in a few seconds',
      );
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'ENOTFOUND') {
    return new VertexMcpError(
      'UNAVAILABLE',
      `${field} "${uri}": Cloud Storage is unreachable (${code})`,
      'Retry in a few seconds',
    );
  }
  return new VertexMcpError('INTERNAL', `${field} "${uri}": ${op} failed: ${detail}`);
}

/** Re-emits the stream's data; its errors come out mapped. Destroying the result aborts the source. */
function mapReadable(inner: Readable, map: (e: unknown) => Error): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  inner.on('error', (e) => out.destroy(map(e)));
  out.on('close', () => {
    if (!inner.destroyed) inner.destroy();
  });
  inner.pipe(out);
  return out;
}

/** Forwards writes; 'finish' once the inner stream finished (upload complete); errors mapped. */
function mapWritable(inner: Writable, map: (e: unknown) => Error): Writable {
  const out = new Writable({
    highWaterMark: 1 << 20,
    write(chunk, enc, cb) {
      inner.write(chunk, enc, (e) => cb(e ? map(e) : null));
    },
    final(cb) {
      finished(inner, { readable: false }, (e) => cb(e ? map(e) : null));
      inner.end();
    },
    destroy(err, cb) {
      if (!inner.destroyed) inner.destroy();
      cb(err);
    },
  });
  inner.on('error', (e) => {
    if (!out.destroyed) out.destroy(map(e));
  });
  return out;
}
