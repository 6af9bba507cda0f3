// Where a run's files go, and how they are published: whole or not at all.
//
// A run writes its files aside, into a new generation (see manifest.ts for the layout):
//   - local: a hidden temporary directory `.gen-….<pid>-<hex8>.tmp/` in the output directory, through
//     one FileHandle per file (fsynced when done), renamed to `gen-…/` when every file is complete;
//   - gs://: objects under `<output>/gen-…/`, each finalised (and checked) only when the run commits.
// Then manifest.json is replaced (locally: a temporary, fsynced, renamed; on gs://: one upload with
// ifGenerationMatch on the manifest it replaces, so two concurrent runs cannot both publish). That
// write is the commit point: a kill before it leaves the previous generation published, a kill after
// it the new one. What a killed run left behind (temporary directories, unpublished generations) is
// removed by the next run into the same output: at once when its process is gone, else after
// STALE_TEMP_MS. After publishing, the generation before the previous one is deleted.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { invalid, VertexMcpError } from '../errors.js';
import {
  cleanStaleTemps,
  type Files,
  type FileWriter,
  finishWrite,
  holdTemp,
  isHeld,
  localError,
  parseGs,
  pidAlive,
  STALE_TEMP_MS,
  shorten,
  syncDir,
  tempName,
} from '../files.js';
import {
  type DatasetGeneration,
  type DatasetManifest,
  GENERATION_RE,
  MANIFEST,
  MANIFEST_KIND,
  type ManifestFile,
  newGeneration,
  parseManifest,
} from './manifest.js';

/** The files a run can write, by name (a generation holds those it wrote). */
export const TRAIN = 'train.jsonl';
export const VALIDATION = 'validation.jsonl';
export const STATS = 'stats.json';
export const PREFERENCES = 'preferences.jsonl';
export const FAMILY = [TRAIN, VALIDATION, STATS, PREFERENCES];

export interface OutputLocation {
  /** gs:// prefix without a trailing slash, or the real absolute local directory. */
  dir: string;
  gcs: boolean;
  uri(name: string): string;
  /** True when `uri` (as Files.list returns it) lies under the output. */
  contains(uri: string): boolean;
}

/**
 * Checks a local path against the allowed roots (Files.localPath: symlinks resolved, a path that does
 * not exist yet checked through its nearest existing ancestor). Returns the real path.
 */
export function checkLocal(files: Files, p: string, field: string): { real: string; exists: boolean } {
  const real = files.localPath(p, field);
  return { real, exists: fs.existsSync(real) };
}

/**
 * Resolves the output before any input is read, so a refused or impossible output fails in
 * milliseconds: local paths are checked against the allowed roots and the data directory through
 * their nearest existing ancestor (nothing is created here); gs:// prefixes against GCS's naming rules.
 */
export function resolveOutput(files: Files, output: string): OutputLocation {
  if (files.isGcs(output)) {
    const dir = output.replace(/\/+$/, '');
    parseGs(`${dir}/`, 'output', false);
    return {
      dir,
      gcs: true,
      uri: (name) => `${dir}/${name}`,
      contains: (u) => u.startsWith(`${dir}/`),
    };
  }
  const { real, exists } = checkLocal(files, output, 'output');
  if (exists && !fs.statSync(real).isDirectory()) {
    throw invalid(
      `output "${shorten(output)}" is a file`,
      'Pass a directory (it is created if missing) or a gs:// prefix',
    );
  }
  return {
    dir: real,
    gcs: false,
    uri: (name) => path.join(real, name),
    contains: (u) => u === real || u.startsWith(real + path.sep),
  };
}

// ---------------------------------------------------------------------------------------------
// Commit steps (observed by crash tests)

export type CommitStep =
  /** Every file of the generation is complete (local: fsynced; gs://: finalised). */
  | 'files-written'
  /** Local: the temporary directory was renamed to gen-…/. */
  | 'generation-renamed'
  /** manifest.json now names the new generation (the commit point). */
  | 'manifest-published'
  /** Older generations and leftovers were removed. */
  | 'cleaned';

let commitHook: ((step: CommitStep, loc: OutputLocation) => void | Promise<void>) | undefined;

/**
 * Calls `fn` at each step of every commit (tests: to check what a reader would see if the process
 * died there, or to die there). undefined removes it.
 */
export function setCommitHook(fn: typeof commitHook): void {
  commitHook = fn;
}

// ---------------------------------------------------------------------------------------------
// Output files

/** Where one output file's bytes go. */
interface ByteSink {
  write(chunk: string): Promise<void>;
  /** Completes the file and says what was stored. */
  end(): Promise<Omit<ManifestFile, 'lines'>>;
  /** Stops without finishing (an unfinished gs:// upload leaves no object). Never throws. */
  destroy(): Promise<void>;
}

const FLUSH_CHARS = 1 << 20;

/**
 * A local file written through one FileHandle and one reused encode buffer: no Buffer per write, so
 * external memory stays flat (Writable streams allocate one per chunk and free it only on GC).
 * Hashed as written; fsynced before it is closed.
 */
class LocalSink implements ByteSink {
  private buf = Buffer.allocUnsafe(FLUSH_CHARS * 2);
  private readonly sha = createHashes();
  private size = 0;
  private constructor(
    private readonly fh: fs.promises.FileHandle,
    private readonly file: string,
    private readonly final: string,
  ) {}

  static async open(file: string, final: string): Promise<LocalSink> {
    return new LocalSink(await fs.promises.open(file, 'wx'), file, final);
  }

  async write(chunk: string): Promise<void> {
    const need = Buffer.byteLength(chunk);
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    const n = this.buf.write(chunk, 0, 'utf8');
    const bytes = this.buf.subarray(0, n);
    this.sha.update(bytes);
    this.size += n;
    for (let off = 0; off < n; ) off += (await this.fh.write(this.buf, off, n - off)).bytesWritten;
  }

  async end(): Promise<Omit<ManifestFile, 'lines'>> {
    await this.fh.sync();
    const st = await this.fh.stat();
    await this.fh.close();
    if (st.size !== this.size) throw new Error(`${this.file}: wrote ${this.size} bytes, ${st.size} stored`);
    return { uri: this.final, size: this.size, ...this.sha.digest() };
  }

  async destroy(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}

/** SHA-256 and MD5 of one stream of bytes. */
function createHashes() {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  return {
    update(b: Buffer) {
      sha.update(b);
      md5.update(b);
    },
    digest(): { sha256: string; md5: string } {
      return { sha256: sha.digest('hex'), md5: md5.digest('base64') };
    },
  };
}

/** A FileWriter from Files.openWrite (gs:// uploads), with back-pressure. */
class StreamSink implements ByteSink {
  constructor(private readonly w: FileWriter) {
    // Errors are read from w.errored and through finishWrite; this keeps them from being unhandled.
    w.on('error', () => {});
  }

  async write(chunk: string): Promise<void> {
    if (this.w.errored) throw this.w.errored;
    if (this.w.destroyed) throw new Error('the upload was aborted');
    if (this.w.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        this.w.off('drain', onDrain);
        this.w.off('close', onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(this.w.errored ?? new Error('the upload was aborted'));
      };
      this.w.once('drain', onDrain);
      this.w.once('close', onClose);
    });
  }

  async end(): Promise<Omit<ManifestFile, 'lines'>> {
    await finishWrite(this.w);
    const r = this.w.result;
    if (!r) throw new Error('the upload ended without a result');
    return { uri: r.uri, size: r.size, sha256: r.sha256, md5: r.md5, ...(r.crc32c ? { crc32c: r.crc32c } : {}) };
  }

  async destroy(): Promise<void> {
    if (this.w.destroyed) return;
    const closed = new Promise<void>((r) => {
      this.w.once('close', () => r());
      setTimeout(r, 2000).unref();
    });
    this.w.destroy();
    await closed;
  }
}

interface OutFile {
  name: string;
  sink: ByteSink | null;
  parts: string[];
  buffered: number;
  lines: number;
}

/**
 * The files of one run, written into a new generation and published with a manifest (see the top of
 * this file). Nothing is created until the first line is pushed.
 */
export class OutputSet {
  readonly generation = newGeneration();
  private readonly open = new Map<string, OutFile>();
  /** Local: the temporary directory the generation is written in. */
  private readonly tmpDir: string;
  private releaseTmp: (() => void) | null = null;
  private createdDir: string | null = null;
  private dirReady = false;
  /** gs:// objects finalised by this run (deleted if it fails before publishing). */
  private readonly finalised: string[] = [];
  private renamed = false;
  private published = false;
  /** The manifest found by prepare() and its version (for the compare-and-swap publish). */
  private old: DatasetManifest | null = null;
  private oldVersion: string | null = null;
  /** Set by commit(): what could not be cleaned after publishing. */
  readonly warnings: string[] = [];

  constructor(
    private readonly files: Files,
    readonly loc: OutputLocation,
    private readonly opts: { overwrite: boolean },
  ) {
    this.tmpDir = loc.gcs ? '' : path.join(loc.dir, tempName(this.generation));
  }

  /** The URI a file of this run will have once published. */
  fileUri(name: string): string {
    return this.loc.uri(`${this.generation}/${name}`);
  }

  get manifestUri(): string {
    return this.loc.uri(MANIFEST);
  }

  /**
   * Before any input is read: refuses an output that already holds a dataset unless overwrite, and
   * removes what killed runs left there.
   */
  async prepare(): Promise<void> {
    if (this.loc.gcs) {
      const bucket = /^gs:\/\/[^/]+/.exec(this.loc.dir)![0];
      if (!(await this.files.exists(bucket, 'output'))) {
        throw invalid(
          `output "${shorten(this.loc.dir)}": bucket "${bucket.slice(5)}" does not exist; nothing was written`,
          'Create the bucket first, or use a URI in an existing bucket',
        );
      }
    }
    const current = await this.files.readVersioned(this.manifestUri, 'output');
    if (current) {
      try {
        this.old = parseManifest(current.text, this.manifestUri);
      } catch (err) {
        if (!this.opts.overwrite) throw err;
      }
      this.oldVersion = current.version;
    }
    if (!this.opts.overwrite) {
      if (current) {
        throw new VertexMcpError(
          'ALREADY_EXISTS',
          `output "${shorten(this.loc.dir)}" already holds a dataset (generation ${this.old?.generation}, ${this.old?.train_examples} train and ${this.old?.validation_examples} validation examples); nothing was written`,
          'Pass overwrite: true to publish a new generation in its place (the one it replaces is kept until the next run), or choose another output',
        );
      }
      for (const name of FAMILY) {
        if (await this.files.exists(this.loc.uri(name), 'output')) {
          throw new VertexMcpError(
            'ALREADY_EXISTS',
            `output "${shorten(this.loc.dir)}" already holds ${name}; nothing was written`,
            'Pass overwrite: true to replace the files there with a published generation, or choose another output',
          );
        }
      }
    }
    await this.cleanLeftovers(false);
  }

  has(name: string): boolean {
    return this.open.has(name);
  }

  /** Characters buffered and not yet written, over all files. */
  get pending(): number {
    let n = 0;
    for (const f of this.open.values()) n += f.buffered;
    return n;
  }

  /** Buffers one line for `name`; call flush() regularly (after each input chunk). */
  push(name: string, line: string): void {
    let f = this.open.get(name);
    if (!f) {
      f = { name, sink: null, parts: [], buffered: 0, lines: 0 };
      this.open.set(name, f);
    }
    f.parts.push(line);
    f.buffered += line.length;
    f.lines++;
  }

  /** Writes buffered lines of every file holding at least 1 M characters (all with force). */
  async flush(force = false): Promise<void> {
    for (const f of this.open.values()) {
      if (f.buffered === 0 || (!force && f.buffered < FLUSH_CHARS)) continue;
      const sink = await this.sinkOf(f);
      const chunk = f.parts.join('');
      f.parts = [];
      f.buffered = 0;
      await sink.write(chunk);
    }
  }

  /** Writes `text` as a whole file `name` (e.g. stats.json), published with the others. */
  async writeWhole(name: string, text: string): Promise<void> {
    this.push(name, text);
    this.open.get(name)!.lines = 0;
    await this.flush(true);
  }

  /**
   * Completes every file, then publishes the generation with a new manifest.json (the commit point),
   * then removes the generation that dropped out of the kept two and any leftovers. Failures after
   * the commit point are only warnings: the dataset is published.
   */
  async commit(meta: Pick<DatasetManifest, 'source' | 'format' | 'train_examples' | 'validation_examples'>) {
    await this.flush(true);
    const entries: Record<string, ManifestFile> = {};
    for (const f of this.open.values()) {
      const sink = await this.sinkOf(f);
      const stored = await sink.end();
      f.sink = null;
      if (this.loc.gcs) this.finalised.push(stored.uri);
      entries[f.name] = {
        ...stored,
        uri: this.fileUri(f.name),
        ...(f.name.endsWith('.jsonl') ? { lines: f.lines } : {}),
      };
    }
    await commitHook?.('files-written', this.loc);
    if (!this.loc.gcs) {
      const genDir = this.loc.uri(this.generation);
      await syncDir(this.tmpDir);
      const releaseGen = holdTemp(genDir);
      try {
        await fs.promises.rename(this.tmpDir, genDir);
        this.renamed = true;
        this.releaseTmp?.();
        this.releaseTmp = releaseGen;
      } catch (err) {
        releaseGen();
        throw err;
      }
      await syncDir(this.loc.dir);
      await commitHook?.('generation-renamed', this.loc);
    }
    const previous: DatasetGeneration | null = this.old
      ? { generation: this.old.generation, created: this.old.created, files: this.old.files }
      : null;
    const manifest: DatasetManifest = {
      kind: MANIFEST_KIND,
      version: 1,
      generation: this.generation,
      created: new Date().toISOString(),
      output: this.loc.dir,
      ...meta,
      files: entries,
      previous,
    };
    // The commit point. ifVersion: the manifest read by prepare() (or none) must still be there.
    await this.files.writeText(this.manifestUri, `${JSON.stringify(manifest, null, 2)}\n`, 'output', {
      ifVersion: this.oldVersion,
    });
    this.published = true;
    this.releaseTmp?.();
    this.releaseTmp = null;
    await commitHook?.('manifest-published', this.loc);
    try {
      await this.afterPublish(manifest);
    } catch (err) {
      this.warnings.push(
        `published, but cleaning the output failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    await commitHook?.('cleaned', this.loc);
    return manifest;
  }

  /** Removes everything this run wrote unless it was published; never throws. */
  async abort(): Promise<void> {
    if (this.published) return;
    for (const f of this.open.values()) {
      if (f.sink) await f.sink.destroy();
      f.sink = null;
    }
    if (!this.loc.gcs) {
      const dir = this.renamed ? this.loc.uri(this.generation) : this.tmpDir;
      await fs.promises.rm(dir, { recursive: true, force: true }).catch(() => {});
      this.releaseTmp?.();
      this.releaseTmp = null;
      if (this.createdDir) {
        // Remove the directories mkdir created, innermost first, only while they are empty.
        let d = this.loc.dir;
        for (;;) {
          try {
            await fs.promises.rmdir(d);
          } catch {
            break;
          }
          if (d === this.createdDir) break;
          d = path.dirname(d);
        }
      }
    } else {
      for (const uri of this.finalised) await this.files.delete(uri, 'output').catch(() => {});
    }
    this.open.clear();
  }

  /** After publishing: drop the generation before the previous one, legacy top-level files, leftovers. */
  private async afterPublish(m: DatasetManifest): Promise<void> {
    const dropped = this.old?.previous?.generation;
    if (dropped && dropped !== m.previous?.generation && dropped !== m.generation) {
      await this.removeGeneration(dropped);
    }
    // Files of the layout before generations (train.jsonl … at the top): replaced by this dataset.
    for (const name of FAMILY) await this.files.delete(this.loc.uri(name), 'output').catch(() => {});
    await this.cleanLeftovers(true, m);
  }

  private async removeGeneration(gen: string): Promise<void> {
    if (!this.loc.gcs) {
      await fs.promises.rm(this.loc.uri(gen), { recursive: true, force: true });
      return;
    }
    for (const e of await this.files.entries(this.loc.uri(gen), 'output')) await this.files.delete(e.uri, 'output');
  }

  /**
   * Removes temporaries and unpublished generations of runs that are gone: locally, those whose
   * process is gone (or of this process but not in flight) or untouched for STALE_TEMP_MS; on gs://,
   * generations not in the manifest whose newest object is older than STALE_TEMP_MS.
   */
  private async cleanLeftovers(after: boolean, m: DatasetManifest | null = this.old): Promise<void> {
    const keep = new Set([m?.generation, m?.previous?.generation, this.generation]);
    if (!this.loc.gcs) {
      await cleanStaleTemps(this.loc.dir);
      let names: string[];
      try {
        names = await fs.promises.readdir(this.loc.dir);
      } catch {
        return;
      }
      for (const name of names) {
        const g = GENERATION_RE.exec(name);
        const full = path.join(this.loc.dir, name);
        if (!g || keep.has(name) || isHeld(full)) continue;
        const pid = Number(g[2]);
        const gone = pid === process.pid || !pidAlive(pid);
        const st = await fs.promises.stat(full).catch(() => null);
        if (st && (gone || Date.now() - st.mtimeMs > STALE_TEMP_MS)) {
          await fs.promises.rm(full, { recursive: true, force: true }).catch(() => {});
        }
      }
      return;
    }
    if (after && !m) return;
    const byGen = new Map<string, { uris: string[]; newest: number }>();
    for (const e of await this.files.entries(this.loc.dir, 'output', { namePrefix: 'gen-' })) {
      const rel = e.uri.slice(this.loc.dir.length + 1);
      const gen = rel.split('/')[0]!;
      if (!GENERATION_RE.test(gen) || keep.has(gen) || !rel.includes('/')) continue;
      const g = byGen.get(gen) ?? { uris: [], newest: 0 };
      g.uris.push(e.uri);
      g.newest = Math.max(g.newest, e.updatedMs);
      byGen.set(gen, g);
    }
    for (const g of byGen.values()) {
      if (Date.now() - g.newest <= STALE_TEMP_MS) continue;
      for (const uri of g.uris) await this.files.delete(uri, 'output').catch(() => {});
    }
  }

  private async sinkOf(f: OutFile): Promise<ByteSink> {
    if (f.sink) return f.sink;
    if (this.loc.gcs) {
      f.sink = new StreamSink(await this.files.openWrite(this.fileUri(f.name), 'output', { overwrite: false }));
      return f.sink;
    }
    if (!this.dirReady) {
      this.createdDir = (await fs.promises.mkdir(this.loc.dir, { recursive: true })) ?? null;
      // Checked against the roots by resolveOutput; again now that it exists, in case a symlink
      // appeared in between.
      this.files.localPath(this.loc.dir, 'output');
      this.releaseTmp = holdTemp(this.tmpDir);
      await fs.promises.mkdir(this.tmpDir);
      this.dirReady = true;
    }
    f.sink = await LocalSink.open(path.join(this.tmpDir, f.name), this.fileUri(f.name));
    return f.sink;
  }
}

/** Wraps a write failure as an error that says where. */
export function outputError(err: unknown, output: string): VertexMcpError {
  if (err instanceof VertexMcpError) return err;
  if (typeof (err as NodeJS.ErrnoException)?.code === 'string') return localError(err, 'output', output, 'write');
  const msg = err instanceof Error ? err.message : String(err);
  return new VertexMcpError('INTERNAL', `writing the dataset to output "${shorten(output)}" failed: ${msg}`);
}
