// Reading and writing dataset and artifact files by URI: gs://bucket/path through
// @google-cloud/storage (the emulator's GCS in emulator mode), or a local path inside the allowed
// roots (--allow-path) and outside the server's data directory. Streams, so callers keep constant
// memory whatever the file size.
//
// Every write checks its final status before it reports success:
//   - gs://: the upload must complete, and the object the server reports must have the size and MD5
//     of the bytes sent (the client also checks CRC32C); a missing bucket, a name GCS refuses, an
//     unreachable endpoint or a lost connection fail the write and leave no object;
//   - local: bytes go to a temporary sibling (`.<name>.<pid>-<hex8>.tmp`), are fsynced, and the file
//     is renamed (or, without overwrite, hard-linked, which fails if the name exists) into place and
//     the directory fsynced: a reader sees the old file or the whole new one, never a part. A failed
//     write removes its temporary; the next write into the directory removes those left by a killed
//     process (its pid is gone, or the file is older than STALE_TEMP_MS).
//
// Errors are VertexMcpErrors that name the field and the URI: a missing input is INVALID_ARGUMENT
// (`dataset "gs://b/x.jsonl" does not exist`), a local path outside the roots or inside the data
// directory PERMISSION_DENIED, an existing output without overwrite ALREADY_EXISTS.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable, Writable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';
import type { VertexClients } from './clients.js';
import { invalid, VertexMcpError } from './errors.js';

export interface FileInfo {
  uri: string;
  size: number;
}

/** What a stat or listing knows about a file or object. */
export interface FileStat extends FileInfo {
  /** Last modification (local mtime; gs:// `updated`), ms since the epoch. */
  updatedMs: number;
  /**
   * Changes whenever the content is replaced: the object generation on gs://, device/inode/size/mtime
   * locally. Pass it back as `ifVersion` to write only if nobody replaced the file meanwhile.
   */
  version: string;
  /** gs:// only: base64 MD5 and CRC32C computed by the server. */
  md5?: string;
  crc32c?: string;
}

/** A write that completed: what was stored, with digests of the bytes sent. */
export interface WrittenFile {
  uri: string;
  size: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** Base64 MD5 of the bytes (as GCS reports md5Hash). */
  md5: string;
  /** gs:// only: base64 CRC32C as the server computed it. */
  crc32c?: string;
  /** As FileStat.version. */
  version: string;
}

export interface WriteOptions {
  /**
   * Replace a file or object that already exists. Default true for these low-level writes (a plain
   * put, like fs.writeFile or an upload without precondition); tools pass their `overwrite`
   * argument (default false) so that nothing is replaced without the caller asking.
   */
  overwrite?: boolean;
  /**
   * Compare-and-swap: write only if the target is still at this version (FileStat.version), or does
   * not exist when null; otherwise ABORTED. Atomic on gs:// (ifGenerationMatch); locally checked just
   * before the rename.
   */
  ifVersion?: string | null;
  /** Known size (bytes), when the caller has it: gs:// then uses a single-request upload when small. */
  size?: number;
}

/** A stream that writes one file; `result` is set once 'finish' was emitted (the bytes are stored). */
export interface FileWriter extends Writable {
  readonly result: WrittenFile | undefined;
}

/** Above this, uploads are resumable (GCS's advice for objects over a few MB). */
const SIMPLE_UPLOAD_MAX = 8 << 20;
const MAX_SYMLINK_HOPS = 40;
/** readText never holds more than this in memory (V8 strings stop at ~512M characters). */
export const MAX_TEXT_BYTES = 256 << 20;
/** A temporary file whose pid is alive is removed only when it was not touched for this long. */
export const STALE_TEMP_MS = 5 * 60_000;
/** `.<name>.<pid>-<hex8>.tmp`: the temporaries this library writes (files, and dataset generations). */
export const TEMP_RE = /^\.(.+)\.(\d+)-([0-9a-f]{8})\.tmp$/;
/**
 * A file that marks a directory as a vertex-mcp data directory (or the emulator's object store):
 * nothing under such a directory is read or written through Files.
 */
export const DATA_DIR_MARKERS = [
  'ledger.sqlite',
  'emulator.sqlite',
  'emulator.lock',
  '.vertex-mcp-gcs',
  'tasks.sqlite',
];

/** Temporaries of writes in flight in this process: never cleaned as stale. */
const ACTIVE_TEMPS = new Set<string>();

/** A fresh temporary name for `base` in the same directory. */
export function tempName(base: string): string {
  return `.${base}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

/** Marks a temporary path as in use by this process (cleanStaleTemps skips it) until released. */
export function holdTemp(p: string): () => void {
  ACTIVE_TEMPS.add(p);
  return () => ACTIVE_TEMPS.delete(p);
}

/** True while a write in this process holds `p` (see holdTemp). */
export function isHeld(p: string): boolean {
  return ACTIVE_TEMPS.has(p);
}

/** True when a process with this pid exists (on this host). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The newest mtime of a path and, for a directory, of its direct entries. */
async function newestMtime(p: string): Promise<number> {
  const st = await fs.promises.lstat(p);
  let t = st.mtimeMs;
  if (st.isDirectory()) {
    for (const e of await fs.promises.readdir(p).catch(() => [] as string[])) {
      const s = await fs.promises.lstat(path.join(p, e)).catch(() => null);
      if (s && s.mtimeMs > t) t = s.mtimeMs;
    }
  }
  return t;
}

/**
 * Removes the temporaries (TEMP_RE) in `dir` that no write in flight owns: those of a process that is
 * gone (or of this pid, but not held by this process: a previous incarnation), and any not touched
 * for `maxAgeMs`. Returns the paths removed. Never throws.
 */
export async function cleanStaleTemps(dir: string, maxAgeMs = STALE_TEMP_MS): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const full = path.join(dir, name);
    if (ACTIVE_TEMPS.has(full)) continue;
    const pid = Number(m[2]);
    try {
      const orphan = pid === process.pid || !pidAlive(pid);
      if (orphan || Date.now() - (await newestMtime(full)) > maxAgeMs) {
        await fs.promises.rm(full, { recursive: true, force: true });
        removed.push(full);
      }
    } catch {
      // raced with its owner finishing, or not ours to remove: leave it
    }
  }
  return removed;
}

/** fsyncs a directory so a rename in it survives a crash; a no-op where directories cannot be synced. */
export async function syncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on platforms without directory fsync
  } finally {
    await fh?.close().catch(() => {});
  }
}

export class Files {
  /** The data directory's real path (its SQLite files and the emulator's objects), if on disk. */
  private readonly dataDir: string | undefined;

  constructor(
    private readonly clients: VertexClients,
    /** Absolute directories local paths must stay inside. */
    readonly allowedRoots: string[],
    opts: {
      /** The server's data directory: refused whatever the roots (':memory:' for none). */
      dataDir?: string;
    } = {},
  ) {
    this.dataDir = opts.dataDir && opts.dataDir !== ':memory:' ? realOrResolved(opts.dataDir) : undefined;
  }

  /**
   * Resolves a local path and refuses it outside the allowed roots, or inside the data directory (or
   * any directory holding a vertex-mcp ledger, emulator database or object store). Symlinks are
   * resolved (dangling ones too, so a link cannot point a new output outside); a path that does not
   * exist yet (an output) is checked through its nearest existing ancestor. `file://` URIs and `~`
   * are refused (they are not expanded: they would name a literal directory). Returns the real
   * path: open that, not `p`.
   */
  localPath(p: string, field = 'path'): string {
    if (typeof p !== 'string' || !p) throw invalid(`${field} is empty`);
    if (this.isGcs(p)) throw invalid(`${field} "${p}" is a gs:// URI where a local path is expected`);
    if (p.includes('\0')) throw invalid(`${field} contains a NUL character`, 'Give a plain file path');
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(p);
    if (scheme) {
      const plain = scheme[1]!.toLowerCase() === 'file' ? p.replace(/^file:\/\/(localhost)?/i, '') : '';
      throw invalid(
        `${field} "${shorten(p)}" is a ${scheme[1]}:// URI: local outputs and inputs are plain paths`,
        plain ? `Give a plain absolute or relative path, e.g. "${shorten(plain)}"` : 'Give a plain path or a gs:// URI',
      );
    }
    if (p === '~' || /^~[^/\\]*([/\\]|$)/.test(p)) {
      throw invalid(
        `${field} "${shorten(p)}" starts with "~", which is not expanded here (it would create a directory named "~")`,
        'Give a plain absolute or relative path, e.g. /home/me/out',
      );
    }
    const real = resolveReal(path.resolve(p), field, p);
    const dataDir = this.dataDirOf(real);
    if (dataDir) {
      throw new VertexMcpError(
        'PERMISSION_DENIED',
        `${field} "${shorten(p)}" is inside the vertex-mcp data directory ${dataDir}, which holds the server's own state (ledger.sqlite, emulator.sqlite, the emulator's GCS objects): it is never read or written as a file`,
        'Use a path outside the data directory, or a gs:// URI',
      );
    }
    const roots = this.realRoots();
    const inside = roots.some((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
    if (!inside) {
      throw new VertexMcpError(
        'PERMISSION_DENIED',
        `${field} "${shorten(p)}" is outside the allowed roots (${this.allowedRoots.join(', ')})`,
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
      throw invalid(`${field} "${shorten(uri)}" does not exist`);
    });
    if (stat.isFile()) return [{ uri: root, size: stat.size }];
    const out: FileInfo[] = [];
    const entries = await fs.promises.readdir(root, { recursive: true, withFileTypes: true });
    // A data directory found under the input is skipped whole (its files are never read).
    const skip = entries
      .filter((e) => DATA_DIR_MARKERS.includes(e.name))
      .map((e) => e.parentPath + path.sep)
      .concat(this.dataDir ? [this.dataDir + path.sep] : []);
    for (const entry of entries) {
      const full = path.join(entry.parentPath, entry.name);
      if (skip.some((d) => full.startsWith(d))) continue;
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

  /**
   * Every file (recursively) or object under a directory or gs:// prefix with its modification time
   * and version; [] when there is none. Unlike list(), a missing location is not an error and a
   * gs:// URI is a prefix only. `namePrefix` (gs:// only) lists just the names under `uri` that
   * start with it.
   */
  async entries(uri: string, field = 'path', opts: { namePrefix?: string } = {}): Promise<FileStat[]> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, false);
      // namePrefix: only the objects whose name under `uri` starts with it (one listing, not all).
      const prefix = (!name || name.endsWith('/') ? name : `${name}/`) + (opts.namePrefix ?? '');
      const b = (await this.storage()).bucket(bucket);
      const out: FileStat[] = [];
      try {
        let pageToken: string | undefined;
        do {
          const [items, next] = await b.getFiles({ prefix, autoPaginate: false, maxResults: 1000, pageToken });
          for (const f of items) out.push(gcsStat(`gs://${bucket}/${f.name}`, f.metadata));
          pageToken = (next as { pageToken?: string } | null)?.pageToken;
        } while (pageToken);
      } catch (err) {
        if (statusOf(err) === 404) return [];
        throw gcsError(err, field, uri, 'read');
      }
      return out;
    }
    const root = this.localPath(uri, field);
    const out: FileStat[] = [];
    let list: fs.Dirent[];
    try {
      list = await fs.promises.readdir(root, { recursive: true, withFileTypes: true });
    } catch {
      return [];
    }
    for (const e of list) {
      if (!e.isFile()) continue;
      const full = path.join(e.parentPath, e.name);
      const st = await fs.promises.stat(full).catch(() => null);
      if (st) out.push(localStat(full, st));
    }
    return out;
  }

  /** The file's or object's size, time and version; null when it does not exist. */
  async stat(uri: string, field = 'path'): Promise<FileStat | null> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const file = (await this.storage()).bucket(bucket).file(name);
      try {
        const [meta] = await file.getMetadata();
        return gcsStat(uri, meta);
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw gcsError(err, field, uri, 'read');
      }
    }
    const p = this.localPath(uri, field);
    const st = await fs.promises.stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw localError(err, field, uri, 'read');
    });
    if (!st) return null;
    if (st.isDirectory()) throw isDirectory(field, uri);
    return localStat(p, st);
  }

  async openRead(uri: string, field = 'path'): Promise<Readable> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const storage = await this.storage();
      const inner = storage.bucket(bucket).file(name).createReadStream();
      return mapReadable(inner, (e) => gcsError(e, field, uri, 'read'));
    }
    const p = this.localPath(uri, field);
    const fh = await fs.promises.open(p, 'r').catch((err: NodeJS.ErrnoException) => {
      throw localError(err, field, uri, 'read');
    });
    const st = await fh.stat();
    if (st.isDirectory()) {
      await fh.close();
      throw isDirectory(field, uri);
    }
    return fh.createReadStream();
  }

  /**
   * A stream that writes the file. It emits 'finish' only once the bytes are stored and checked (for
   * gs://, the upload is complete and the object has the size and MD5 sent; locally, the file is
   * fsynced and renamed into place); `result` then says what was written. Destroying it before then,
   * or any failure, leaves nothing (no object, no temporary file).
   */
  async openWrite(uri: string, field = 'output', opts: WriteOptions = {}): Promise<FileWriter> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const storage = await this.storage();
      const file = storage.bucket(bucket).file(name);
      return new GcsWriter(file, uri, field, opts);
    }
    const p = this.localPath(uri, field);
    const dir = path.dirname(p);
    await fs.promises.mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw localError(err, field, uri, 'write');
    });
    await refuseExisting(p, field, uri, opts);
    await cleanStaleTemps(dir);
    const tmp = path.join(dir, tempName(path.basename(p)));
    const release = holdTemp(tmp);
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(tmp, 'wx');
    } catch (err) {
      release();
      throw localError(err, field, uri, 'write');
    }
    return new LocalWriter(fh, tmp, p, uri, field, opts, release);
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

  /**
   * The whole file as text. Files over `maxBytes` (default MAX_TEXT_BYTES, 256 MiB) are refused
   * rather than read: stream them with openRead, or read the start with readHead.
   */
  async readText(uri: string, field = 'path', maxBytes = MAX_TEXT_BYTES): Promise<string> {
    return (await this.readCapped(uri, field, maxBytes, false)).text;
  }

  /**
   * At most the first `maxBytes` of the file, cut after its last complete line when it is longer
   * (`truncated` says so). For samples of large datasets without holding them in memory.
   */
  async readHead(uri: string, field = 'path', maxBytes = 16 << 20): Promise<{ text: string; truncated: boolean }> {
    return this.readCapped(uri, field, maxBytes, true);
  }

  /**
   * readText with the version read (null when the file does not exist): pass the version back as
   * `ifVersion` to replace the file only if nobody else did meanwhile.
   */
  async readVersioned(uri: string, field = 'path'): Promise<{ text: string; version: string } | null> {
    const st = await this.stat(uri, field);
    if (!st) return null;
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      if (st.size > MAX_TEXT_BYTES) throw tooLarge(field, uri, st.size, MAX_TEXT_BYTES);
      const file = (await this.storage()).bucket(bucket).file(name, { generation: Number(st.version) });
      try {
        const [buf] = await file.download();
        return { text: buf.toString('utf8'), version: st.version };
      } catch (err) {
        if (statusOf(err) === 404) return this.readVersioned(uri, field); // replaced in between
        throw gcsError(err, field, uri, 'read');
      }
    }
    const text = await this.readText(uri, field);
    return { text, version: st.version };
  }

  /** Size and SHA-256 of a file, streamed. */
  async digest(uri: string, field = 'path'): Promise<{ size: number; sha256: string }> {
    const h = createHash('sha256');
    let size = 0;
    for await (const c of await this.openRead(uri, field)) {
      h.update(c as Buffer);
      size += (c as Buffer).length;
    }
    return { size, sha256: h.digest('hex') };
  }

  /** Writes a whole file (see openWrite for what "written" means). */
  async writeText(uri: string, text: string | Buffer, field = 'output', opts: WriteOptions = {}): Promise<WrittenFile> {
    const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    const w = await this.openWrite(uri, field, { ...opts, size: buf.length });
    await finishWrite(w, buf);
    return w.result!;
  }

  /** Streams one file or object to another (either side local or gs://), with openWrite's checks. */
  async copy(from: string, to: string, opts: WriteOptions & { fromField?: string; toField?: string } = {}) {
    const src = await this.openRead(from, opts.fromField ?? 'path');
    let w: FileWriter;
    try {
      w = await this.openWrite(to, opts.toField ?? 'output', opts);
    } catch (err) {
      src.destroy();
      throw err;
    }
    w.on('error', () => {}); // read through w.errored and finishWrite
    try {
      for await (const c of src) {
        if (w.errored) throw w.errored;
        if (!w.write(c as Buffer)) await drainOf(w);
      }
      await finishWrite(w);
    } catch (err) {
      src.destroy();
      w.destroy();
      throw err;
    }
    return w.result!;
  }

  /** Deletes one file or object; a missing one is not an error. `ifVersion`: only that version. */
  async delete(uri: string, field = 'path', opts: { ifVersion?: string } = {}): Promise<void> {
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const storage = await this.storage();
      try {
        await storage
          .bucket(bucket)
          .file(name)
          .delete({
            ignoreNotFound: true,
            ...(opts.ifVersion ? { ifGenerationMatch: Number(opts.ifVersion) } : {}),
          });
      } catch (err) {
        const status = statusOf(err);
        if (status === 404 || (status === 412 && opts.ifVersion)) return; // gone, or replaced: not ours
        throw gcsError(err, field, uri, 'write');
      }
      return;
    }
    const p = this.localPath(uri, field);
    await fs.promises.rm(p, { force: true }).catch((err: NodeJS.ErrnoException) => {
      throw localError(err, field, uri, 'write');
    });
  }

  /** The roots with their symlinks resolved (a root may itself be reached through one, e.g. /tmp). */
  private realRoots(): string[] {
    return this.allowedRoots.map(realOrResolved);
  }

  /**
   * The data directory `real` lies in (the configured one, or any ancestor holding a marker file),
   * or undefined.
   */
  private dataDirOf(real: string): string | undefined {
    const d = this.dataDir;
    if (d && (real === d || real.startsWith(d + path.sep))) return d;
    for (let dir = real; ; ) {
      for (const m of DATA_DIR_MARKERS) {
        if (fs.existsSync(path.join(dir, m))) return dir;
      }
      const parent = path.dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }

  private storage(): Promise<Storage> {
    return this.clients.storage();
  }

  private async readCapped(
    uri: string,
    field: string,
    maxBytes: number,
    head: boolean,
  ): Promise<{ text: string; truncated: boolean }> {
    let size: number;
    let read: () => Promise<Buffer>;
    if (this.isGcs(uri)) {
      const { bucket, name } = parseGs(uri, field, true);
      const file = (await this.storage()).bucket(bucket).file(name);
      try {
        size = Number((await file.getMetadata())[0].size ?? 0);
      } catch (err) {
        throw gcsError(err, field, uri, 'read');
      }
      if (size > maxBytes && !head) throw tooLarge(field, uri, size, maxBytes);
      read = async () => {
        try {
          if (size > maxBytes) return (await file.download({ start: 0, end: maxBytes - 1, validation: false }))[0];
          return (await file.download())[0];
        } catch (err) {
          throw gcsError(err, field, uri, 'read');
        }
      };
    } else {
      const p = this.localPath(uri, field);
      const st = await fs.promises.stat(p).catch((err: NodeJS.ErrnoException) => {
        throw localError(err, field, uri, 'read');
      });
      if (st.isDirectory()) throw isDirectory(field, uri);
      size = st.size;
      if (size > maxBytes && !head) throw tooLarge(field, uri, size, maxBytes);
      read = async () => {
        const fh = await fs.promises.open(p, 'r').catch((err: NodeJS.ErrnoException) => {
          throw localError(err, field, uri, 'read');
        });
        try {
          const buf = Buffer.allocUnsafe(Math.min(size, maxBytes));
          let n = 0;
          while (n < buf.length) {
            const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
            if (bytesRead === 0) break;
            n += bytesRead;
          }
          return buf.subarray(0, n);
        } finally {
          await fh.close();
        }
      };
    }
    let buf = await read();
    const truncated = size > maxBytes;
    if (truncated) {
      const nl = buf.lastIndexOf(10);
      buf = buf.subarray(0, nl + 1);
    }
    return { text: buf.toString('utf8'), truncated };
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
      if (out.length === 0)
        throw invalid(`${field} "${shorten(uri)}" does not exist (no object with that name or under it)`);
      return out;
    } catch (err) {
      throw gcsError(err, field, uri, 'read');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writers

/** Ends `w` (after writing `last`) and resolves once it finished, or rejects with its error. */
export function finishWrite(w: Writable, last?: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const settle = (err?: Error | null) => {
      if (done) return;
      done = true;
      w.off('error', settle);
      w.off('finish', onFinish);
      w.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onFinish = () => settle();
    // 'close' without 'finish' and without an error: destroyed by someone else.
    const onClose = () => settle(w.writableFinished ? null : (w.errored ?? new Error('the write was aborted')));
    w.once('error', settle);
    w.once('finish', onFinish);
    w.once('close', onClose);
    if (w.errored) return settle(w.errored);
    if (last) w.end(last);
    else w.end();
  });
}

function drainOf(w: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      w.off('error', onError);
      w.off('close', onClose);
      resolve();
    };
    const onError = (err: Error) => {
      w.off('drain', onDrain);
      w.off('close', onClose);
      reject(err);
    };
    const onClose = () => onError(w.errored ?? new Error('the write was aborted'));
    w.once('drain', onDrain);
    w.once('error', onError);
    w.once('close', onClose);
  });
}

/** Local: a temporary sibling, fsynced and renamed (or linked, without overwrite) into place. */
class LocalWriter extends Writable implements FileWriter {
  result: WrittenFile | undefined;
  private readonly sha = createHash('sha256');
  private readonly md5 = createHash('md5');
  private size = 0;

  constructor(
    private readonly fh: fs.promises.FileHandle,
    private readonly tmp: string,
    private readonly final: string,
    private readonly uri: string,
    private readonly field: string,
    private readonly opts: WriteOptions,
    private readonly release: () => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sha.update(chunk);
    this.md5.update(chunk);
    this.size += chunk.length;
    writeAll(this.fh, chunk).then(
      () => cb(),
      (err) => cb(localError(err, this.field, this.uri, 'write')),
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.commit().then(
      () => cb(),
      (err) => cb(err),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.result) {
      cb(err);
      return;
    }
    this.fh
      .close()
      .catch(() => {})
      .then(() => fs.promises.rm(this.tmp, { force: true }))
      .catch(() => {})
      .finally(() => {
        this.release();
        cb(err);
      });
  }

  private async commit(): Promise<void> {
    try {
      await this.fh.sync();
      const st = await this.fh.stat();
      await this.fh.close();
      if (st.size !== this.size) {
        throw new VertexMcpError(
          'INTERNAL',
          `${this.field} "${shorten(this.uri)}": wrote ${this.size} bytes, ${st.size} stored`,
        );
      }
      await publishLocal(this.tmp, this.final, this.field, this.uri, this.opts);
      const fin = await fs.promises.stat(this.final);
      this.result = {
        uri: this.final,
        size: this.size,
        sha256: this.sha.digest('hex'),
        md5: this.md5.digest('base64'),
        version: localVersion(fin),
      };
    } catch (err) {
      await fs.promises.rm(this.tmp, { force: true }).catch(() => {});
      throw err instanceof VertexMcpError ? err : localError(err, this.field, this.uri, 'write');
    } finally {
      this.release();
    }
  }
}

async function writeAll(fh: fs.promises.FileHandle, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}

/** Refuses an existing target up front when overwrite is false (the publish step checks again). */
async function refuseExisting(p: string, field: string, uri: string, opts: WriteOptions): Promise<void> {
  const st = await fs.promises.stat(p).catch(() => null);
  if (!st) {
    if (opts.ifVersion) throw changedMeanwhile(field, uri);
    return;
  }
  if (st.isDirectory()) throw isDirectory(field, uri);
  if (opts.ifVersion !== undefined) {
    if (opts.ifVersion !== localVersion(st)) throw changedMeanwhile(field, uri);
    return;
  }
  if (opts.overwrite === false) throw alreadyExists(field, uri);
}

/** Moves a complete, fsynced temporary into place and fsyncs the directory. */
export async function publishLocal(
  tmp: string,
  final: string,
  field: string,
  uri: string,
  opts: WriteOptions = {},
): Promise<void> {
  if (opts.ifVersion !== undefined) {
    // Compare-and-swap: the check and the rename under a lock file, so two writers cannot both pass.
    await withLock(final, field, uri, async () => {
      const st = await fs.promises.stat(final).catch(() => null);
      if (st?.isDirectory()) throw isDirectory(field, uri);
      if (opts.ifVersion === null ? st !== null : !st || localVersion(st) !== opts.ifVersion) {
        throw changedMeanwhile(field, uri);
      }
      await fs.promises.rename(tmp, final);
    });
    await syncDir(path.dirname(final));
    return;
  }
  const st = await fs.promises.stat(final).catch(() => null);
  if (st?.isDirectory()) throw isDirectory(field, uri);
  if (opts.overwrite === false) {
    // link() fails with EEXIST when the name is taken: no window in which an existing file is replaced.
    try {
      await fs.promises.link(tmp, final);
      await fs.promises.rm(tmp, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw alreadyExists(field, uri);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
      // A file system without hard links: check, then rename.
      if (fs.existsSync(final)) throw alreadyExists(field, uri);
      await fs.promises.rename(tmp, final);
    }
  } else {
    await fs.promises.rename(tmp, final);
  }
  await syncDir(path.dirname(final));
}

/** Locks held by a process that is gone, or older than this, are taken over. */
const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

/**
 * Runs `fn` holding `.<name>.lock` beside `final` (created with O_EXCL, holding the pid). A lock of a
 * process that is gone, or older than LOCK_STALE_MS, is taken over; waiting longer than LOCK_WAIT_MS
 * is ABORTED.
 */
async function withLock<T>(final: string, field: string, uri: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(path.dirname(final), `.${path.basename(final)}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    if (await takeLock(lock)) break;
    const [text, st] = await Promise.all([
      fs.promises.readFile(lock, 'utf8').catch(() => ''),
      fs.promises.stat(lock).catch(() => null),
    ]);
    const pid = Number.parseInt(text, 10);
    const age = st ? Date.now() - st.mtimeMs : 0;
    const stale = st && (age > LOCK_STALE_MS || (text.endsWith('\n') ? !pidAlive(pid) : age > 1000));
    if (stale) await fs.promises.rm(lock, { force: true });
    else if (Date.now() > deadline) {
      throw new VertexMcpError('ABORTED', `${field} "${shorten(uri)}" is being replaced by another writer`, 'Retry');
    } else await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
  }
  try {
    return await fn();
  } finally {
    await fs.promises.rm(lock, { force: true }).catch(() => {});
  }
}

/**
 * Creates the lock file with this pid in it, atomically (written aside, then hard-linked: the lock
 * never exists empty). False when it is held.
 */
async function takeLock(lock: string): Promise<boolean> {
  const tmp = path.join(path.dirname(lock), tempName(path.basename(lock).slice(1)));
  const release = holdTemp(tmp);
  try {
    await fs.promises.writeFile(tmp, `${process.pid}\n`, { flag: 'wx' });
    try {
      await fs.promises.link(tmp, lock);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    }
    // No hard links here: an exclusive create (a lock killed before its pid is written is stale after 1 s).
    try {
      await fs.promises.writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  } finally {
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    release();
  }
}

/** gs://: a resumable (or, for small known sizes, single-request) upload, checked when it ends. */
class GcsWriter extends Writable implements FileWriter {
  result: WrittenFile | undefined;
  private readonly sha = createHash('sha256');
  private readonly md5 = createHash('md5');
  private size = 0;
  private readonly inner: Writable;
  private innerError: Error | null = null;

  constructor(
    private readonly file: import('@google-cloud/storage').File,
    private readonly uri: string,
    private readonly field: string,
    private readonly opts: WriteOptions,
  ) {
    super({ highWaterMark: 1 << 20 });
    const pre =
      opts.ifVersion !== undefined
        ? { ifGenerationMatch: opts.ifVersion === null ? 0 : Number(opts.ifVersion) }
        : opts.overwrite === false
          ? { ifGenerationMatch: 0 }
          : undefined;
    const resumable = opts.size === undefined || opts.size > SIMPLE_UPLOAD_MAX;
    // Content type comes from the name's extension.
    this.inner = file.createWriteStream({ resumable, ...(pre ? { preconditionOpts: pre } : {}) });
    this.inner.on('error', (e) => {
      this.innerError ??= this.map(e);
      if (!this.destroyed) this.destroy(this.innerError);
    });
  }

  override _write(chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.innerError) {
      cb(this.innerError);
      return;
    }
    this.sha.update(chunk);
    this.md5.update(chunk);
    this.size += chunk.length;
    this.inner.write(chunk, enc, (e) => cb(e ? (this.innerError ?? this.map(e)) : null));
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.innerError) {
      cb(this.innerError);
      return;
    }
    let called = false;
    const done = (err: Error | null) => {
      if (called) return;
      called = true;
      cb(err);
    };
    // 'finish' on the client's stream comes after the upload's response; an error may still follow
    // it in the same tick, so the result is checked on the next one.
    this.inner.once('finish', () => setImmediate(() => done(this.innerError ?? this.check())));
    this.inner.once('error', () => setImmediate(() => done(this.innerError)));
    this.inner.end();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.inner.destroyed && !this.result) this.inner.destroy();
    cb(err);
  }

  /** The object the server reports must hold exactly the bytes sent. */
  private check(): Error | null {
    const meta = this.file.metadata as { size?: unknown; md5Hash?: unknown; crc32c?: unknown; generation?: unknown };
    const md5 = this.md5.digest('base64');
    const stored = Number(meta?.size);
    if (meta?.generation === undefined || stored !== this.size || (meta.md5Hash && meta.md5Hash !== md5)) {
      return new VertexMcpError(
        'UNAVAILABLE',
        `${this.field} "${shorten(this.uri)}": the upload ended but the stored object does not match what was sent (${this.size} bytes sent, ${Number.isFinite(stored) ? stored : 'no'} stored)`,
        'Retry the call',
      );
    }
    this.result = {
      uri: this.uri,
      size: this.size,
      sha256: this.sha.digest('hex'),
      md5,
      ...(typeof meta.crc32c === 'string' ? { crc32c: meta.crc32c } : {}),
      version: String(meta.generation),
    };
    return null;
  }

  private map(e: unknown): VertexMcpError {
    if (statusOf(e) === 412) {
      return this.opts.ifVersion !== undefined
        ? changedMeanwhile(this.field, this.uri)
        : alreadyExists(this.field, this.uri);
    }
    return gcsError(e, this.field, this.uri, 'write');
  }
}

// ---------------------------------------------------------------------------------------------
// Paths, names and errors

function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
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
        throw invalid(`${field} "${shorten(shown)}" cannot be resolved: ${(err as Error).message}`);
      }
    }
    const st = fs.lstatSync(existing, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      // A dangling link: follow it by hand, or a write would create its target wherever it points.
      if (++hops > MAX_SYMLINK_HOPS) throw invalid(`${field} "${shorten(shown)}": too many levels of symbolic links`);
      existing = path.resolve(path.dirname(existing), fs.readlinkSync(existing));
      continue;
    }
    const parent = path.dirname(existing);
    if (parent === existing) return path.join(existing, ...rest);
    rest.unshift(path.basename(existing));
    existing = parent;
  }
}

/**
 * Why GCS (or this library) refuses an object name, or null. GCS's rules: 1-1024 bytes of UTF-8
 * (valid Unicode: no lone surrogates), no carriage return or line feed, not "." or "..", not under
 * ".well-known/acme-challenge/". This library also refuses NUL and the other control characters
 * (U+0000-U+001F, U+007F-U+009F), which GCS says to avoid: XML listings cannot carry them.
 */
export function objectNameProblem(name: string): string | null {
  if (!name) return 'the object name is empty';
  if (LONE_SURROGATE.test(name)) return 'the object name is not valid Unicode (a lone surrogate)';
  if (Buffer.byteLength(name) > 1024) return `the object name is ${Buffer.byteLength(name)} bytes (GCS allows 1024)`;
  if (/[\r\n]/.test(name)) return 'object names cannot contain carriage returns or line feeds';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what is refused
  const ctl = /[\u0000-\u001f\u007f-\u009f]/.exec(name);
  if (ctl) {
    const cp = ctl[0].charCodeAt(0);
    return `the object name contains ${cp === 0 ? 'NUL' : 'a control character'} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
  }
  if (name === '.' || name === '..') return `an object cannot be named "${name}"`;
  if (name.startsWith('.well-known/acme-challenge/'))
    return 'object names cannot start with .well-known/acme-challenge/';
  return null;
}

const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function parseGs(uri: string, field: string, needObject: boolean): { bucket: string; name: string } {
  const m = /^gs:\/\/([^/]+)(?:\/(.*))?$/s.exec(uri);
  if (!m || !BUCKET_RE.test(m[1]!)) {
    throw invalid(`${field} "${shorten(uri)}" is not a valid gs://bucket/path URI`);
  }
  const name = m[2] ?? '';
  if (needObject && (!name || name.endsWith('/'))) {
    throw invalid(`${field} "${shorten(uri)}" must name an object (gs://bucket/path/file), not a bucket or prefix`);
  }
  if (name) {
    const why = objectNameProblem(name.endsWith('/') ? name.slice(0, -1) || 'x' : name);
    if (why) throw invalid(`${field} "${shorten(uri)}": ${why}`, 'Use a name of printable characters');
  }
  return { bucket: m[1]!, name };
}

/** A URI as it appears in a message: control characters escaped, cut to 200 characters. */
export function shorten(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them for display
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return t.length > 200 ? `${t.slice(0, 197)}...` : t;
}

function localVersion(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${Math.round(st.mtimeMs * 1000)}`;
}

function localStat(p: string, st: fs.Stats): FileStat {
  return { uri: p, size: st.size, updatedMs: st.mtimeMs, version: localVersion(st) };
}

function gcsStat(uri: string, meta: Record<string, unknown> | undefined): FileStat {
  const m = meta ?? {};
  return {
    uri,
    size: Number(m.size ?? 0),
    updatedMs: Date.parse(String(m.updated ?? m.timeCreated ?? '')) || 0,
    version: String(m.generation ?? ''),
    ...(typeof m.md5Hash === 'string' ? { md5: m.md5Hash } : {}),
    ...(typeof m.crc32c === 'string' ? { crc32c: m.crc32c } : {}),
  };
}

export function alreadyExists(field: string, uri: string): VertexMcpError {
  return new VertexMcpError(
    'ALREADY_EXISTS',
    `${field} "${shorten(uri)}" already exists; nothing was written`,
    'Pass overwrite: true to replace it, or choose another path',
  );
}

function changedMeanwhile(field: string, uri: string): VertexMcpError {
  return new VertexMcpError(
    'ABORTED',
    `${field} "${shorten(uri)}" was replaced by another writer meanwhile; nothing was written`,
    'Read it again and retry',
  );
}

function isDirectory(field: string, uri: string): VertexMcpError {
  return invalid(`${field} "${shorten(uri)}" is a directory, not a file`, 'Name a file inside it');
}

function tooLarge(field: string, uri: string, size: number, max: number): VertexMcpError {
  return invalid(
    `${field} "${shorten(uri)}" is ${(size / 1048576).toFixed(1)} MiB: more than the ${(max / 1048576).toFixed(0)} MiB this operation reads into memory`,
    'Use a smaller file, or a gs:// URI (streamed)',
  );
}

/** Maps a local file system failure to a VertexMcpError naming the field and the path. */
export function localError(err: unknown, field: string, uri: string, op: 'read' | 'write'): VertexMcpError {
  if (err instanceof VertexMcpError) return err;
  const e = err as NodeJS.ErrnoException;
  const where = `${field} "${shorten(uri)}"`;
  switch (e?.code) {
    case 'ENOENT':
      return invalid(op === 'read' ? `${where} does not exist` : `${where}: a directory on the way does not exist`);
    case 'EISDIR':
    case 'ERR_FS_EISDIR':
      return isDirectory(field, uri);
    case 'ENOTDIR':
      return invalid(`${where}: a part of the path is a file, not a directory`);
    case 'EEXIST':
      return alreadyExists(field, uri);
    case 'EACCES':
    case 'EPERM':
      return new VertexMcpError('PERMISSION_DENIED', `${where}: permission denied (${op})`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new VertexMcpError('RESOURCE_EXHAUSTED', `${where}: no space left on the device; nothing was written`);
    case 'EROFS':
      return new VertexMcpError('FAILED_PRECONDITION', `${where}: the file system is read-only`);
    case 'ENAMETOOLONG':
      return invalid(`${where}: the name is too long`);
    case 'ELOOP':
      return invalid(`${where}: too many levels of symbolic links`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new VertexMcpError(
    'INTERNAL',
    `${where}: ${op} failed: ${msg.length > 300 ? `${msg.slice(0, 300)}...` : msg}`,
  );
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

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH']);

/** Maps a storage client failure to a VertexMcpError naming the field and the URI. */
export function gcsError(err: unknown, field: string, uri: string, op: 'read' | 'write'): VertexMcpError {
  if (err instanceof VertexMcpError) return err;
  const status = statusOf(err);
  const raw = err instanceof Error ? err.message : String(err);
  const detail = shorten(raw.length > 300 ? `${raw.slice(0, 300)}...` : raw);
  const bucket = /^gs:\/\/([^/]+)/.exec(uri)?.[1] ?? '';
  const where = `${field} "${shorten(uri)}"`;
  const nothing = op === 'write' ? '; nothing was written' : '';
  switch (status) {
    case 404:
      if (op === 'write' || /bucket does not exist/i.test(raw)) {
        return invalid(
          `${where}: bucket "${bucket}" does not exist${nothing}`,
          'Create the bucket first, or use a URI in an existing bucket',
        );
      }
      return invalid(`${where} does not exist`);
    case 400:
      return invalid(`${where}: ${detail}${nothing}`);
    case 401:
      return new VertexMcpError(
        'UNAUTHENTICATED',
        `${where}: not authenticated to Cloud Storage${nothing}`,
        'Run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS',
      );
    case 403:
      return new VertexMcpError(
        'PERMISSION_DENIED',
        `${where}: permission denied: ${detail}${nothing}`,
        `Grant the credentials ${op === 'read' ? 'roles/storage.objectViewer' : 'roles/storage.objectAdmin'} on bucket ${bucket}`,
      );
    case 412:
      return new VertexMcpError('FAILED_PRECONDITION', `${where}: ${detail}${nothing}`);
    case 429:
      return new VertexMcpError(
        'RESOURCE_EXHAUSTED',
        `${where}: rate limited by Cloud Storage${nothing}`,
        'Retry later',
      );
    case 408:
    case 500:
    case 502:
    case 503:
    case 504:
      return new VertexMcpError(
        'UNAVAILABLE',
        `${where}: Cloud Storage is unavailable (${status})${nothing}`,
        'Retry in a few seconds',
      );
  }
  const code = (err as { code?: unknown } | null)?.code;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  const net = [code, cause].find((c) => typeof c === 'string' && NETWORK_CODES.has(c));
  if (net || /ECONNREFUSED|socket hang up|fetch failed/i.test(raw)) {
    return new VertexMcpError(
      'UNAVAILABLE',
      `${where}: Cloud Storage is unreachable (${net ?? detail})${nothing}`,
      'Check that the emulator or network is up, then retry',
    );
  }
  return new VertexMcpError('INTERNAL', `${where}: ${op} failed: ${detail}${nothing}`);
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
