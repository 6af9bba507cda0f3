// Building blocks shared by the converters: a 64-bit string hash, a bounded-memory de-duplication set,
// the seeded train/validation split, a bounded label counter, output formatting, and the output set
// that writes to temporary names and commits (or removes) them at the end.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { invalid, VertexMcpError } from '../errors.js';
import type { Files } from '../storage.js';
import type { DatasetFormat, LabelBalance, LabelCount } from './types.js';

// ---------------------------------------------------------------------------------------------
// Hashing

/** The last hash64() result: [low 32 bits, high 32 bits] (no allocation per call). */
export const H = new Uint32Array(2);

/**
 * A 64-bit non-cryptographic hash of a string's UTF-16 code units (cyrb53's two lanes, kept whole),
 * seeded by (s1, s2). The result is left in H. About 1 ns a character.
 */
export function hash64(s: string, s1 = 0, s2 = 0): void {
  let h1 = 0xdeadbeef ^ s1;
  let h2 = 0x41c6ce57 ^ s2;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  H[0] = h1;
  H[1] = h2;
}

/** murmur3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The split: true when the prompt whose hash64 is (p1, p2) goes to validation. Depends only on the
 * prompt and the seed, so it is streaming, stable across runs and input order, and every example of
 * one prompt lands on the same side (validation measures unseen prompts, not memorised ones).
 */
export function isValidation(p1: number, p2: number, seedMix: number, fraction: number): boolean {
  if (fraction <= 0) return false;
  const u = fmix32(p1 ^ seedMix ^ Math.imul(p2, 0x27d4eb2d)) / 4294967296;
  return u < fraction;
}

export const seedMix = (seed: number) => fmix32((seed | 0) ^ 0x9e3779b9 ^ Math.floor(seed / 4294967296));

/**
 * A set of 64-bit hashes in one open-addressing table (linear probing, two Uint32 a slot, grown x2
 * at 75% full). Memory: 8 bytes a slot at 37-75% load = 11-22 bytes per distinct kept example (16 MB
 * for a million; 24 MB for a moment while growing), against ~80 bytes a BigInt entry in a Set. Two
 * different examples share a hash with probability ~n^2/2^65 (3e-8 for a million examples): the only
 * way dedup can drop a unique example.
 */
export class HashSet64 {
  private keys: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialSlots = 1 << 14) {
    let cap = 16;
    while (cap < initialSlots) cap *= 2;
    this.keys = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  /** Adds (lo, hi); false when it was already there. */
  add(lo: number, hi: number): boolean {
    lo >>>= 0;
    hi >>>= 0;
    if (lo === 0 && hi === 0) lo = 1; // (0, 0) marks an empty slot
    const keys = this.keys;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const k = i * 2;
      const a = keys[k]!;
      const b = keys[k + 1]!;
      if (a === 0 && b === 0) break;
      if (a === lo && b === hi) return false;
      i = (i + 1) & this.mask;
    }
    keys[i * 2] = lo;
    keys[i * 2 + 1] = hi;
    if (++this.size * 4 > (this.mask + 1) * 3) this.grow();
    return true;
  }

  get bytes(): number {
    return this.keys.byteLength;
  }

  private grow(): void {
    const old = this.keys;
    const cap = (this.mask + 1) * 2;
    this.keys = new Uint32Array(cap * 2);
    this.mask = cap - 1;
    this.size = 0;
    for (let k = 0; k < old.length; k += 2) {
      const a = old[k]!;
      const b = old[k + 1]!;
      if (a !== 0 || b !== 0) this.add(a, b);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Label balance

const LABEL_CHARS = 80;

/**
 * Counts labels with bounded memory: exact up to `capacity` distinct labels, then Misra-Gries
 * (decrement everything when full): every label seen more than n/capacity times stays, with a count
 * that is a lower bound off by at most n/capacity. Labels are truncated to 80 characters.
 */
export class LabelCounter {
  private readonly counts = new Map<string, number>();
  private exact = true;
  private distinctLowerBound = 0;
  total = 0;

  constructor(private readonly capacity = 4096) {}

  add(label: string): void {
    const key = label.length > LABEL_CHARS ? `${label.slice(0, LABEL_CHARS - 1)}…` : label;
    this.total++;
    const c = this.counts.get(key);
    if (c !== undefined) {
      this.counts.set(key, c + 1);
      return;
    }
    if (this.counts.size < this.capacity) {
      // A truncated label is a slice of the whole completion, which it would keep alive: store a copy.
      this.counts.set(key === label ? key : JSON.parse(JSON.stringify(key)), 1);
      if (this.exact) this.distinctLowerBound++;
      return;
    }
    this.exact = false;
    for (const [k, v] of this.counts) {
      if (v <= 1) this.counts.delete(k);
      else this.counts.set(k, v - 1);
    }
  }

  top(n = 20, total = this.total): LabelCount[] {
    const share = (c: number) => (total ? Math.round((c / total) * 10000) / 10000 : 0);
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([label, count]) => ({ label, count, share: share(count) }));
  }

  balance(n = 20): LabelBalance {
    const top = this.top(n);
    const inTop = top.reduce((s, l) => s + l.count, 0);
    const other = this.total - inTop;
    return {
      top,
      other: { count: other, share: this.total ? Math.round((other / this.total) * 10000) / 10000 : 0 },
      distinct: this.exact ? this.counts.size : Math.max(this.distinctLowerBound, this.counts.size),
      exact: this.exact,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Output lines

/** One example as a JSONL line (with its newline), built by concatenation around JSON.stringify. */
export function exampleLine(format: DatasetFormat, prompt: string, completion: string): string {
  if (format === 'gemini') {
    return `{"contents":[{"role":"user","parts":[{"text":${JSON.stringify(prompt)}}]},{"role":"model","parts":[{"text":${JSON.stringify(completion)}}]}]}\n`;
  }
  return `{"prompt":${JSON.stringify(prompt)},"completion":${JSON.stringify(completion)}}\n`;
}

// ---------------------------------------------------------------------------------------------
// Options

export function checkFraction(name: string, v: unknown, def: number, opts: { max1?: boolean } = {}): number {
  if (v === undefined || v === null) return def;
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= 0 && (opts.max1 ? v <= 1 : v < 1);
  if (!ok) {
    throw invalid(
      `${name} must be a number in [0, ${opts.max1 ? '1]' : '1)'}, got ${JSON.stringify(v)}`,
      `Pass e.g. ${name}: ${def}`,
    );
  }
  return v as number;
}

export function checkInt(name: string, v: unknown, def: number | undefined, min?: number): number | undefined {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || (min !== undefined && v < min)) {
    throw invalid(`${name} must be an integer${min !== undefined ? ` >= ${min}` : ''}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function checkFormat(v: unknown): DatasetFormat {
  if (v === undefined || v === null) return 'gemini';
  if (v !== 'gemini' && v !== 'prompt_completion') {
    throw invalid(`format must be "gemini" or "prompt_completion", got ${JSON.stringify(v)}`);
  }
  return v;
}

export function checkUri(name: string, v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) {
    throw invalid(`${name} is required: a local path inside the allowed roots or a gs:// URI`);
  }
  const s = v.trim();
  if (s.startsWith('gs://') && !/^gs:\/\/[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](\/|$)/.test(s)) {
    throw invalid(`${name} "${s}" is not a valid gs:// URI`, 'Use gs://BUCKET/PATH');
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Output location

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
 * milliseconds: local paths are checked against the allowed roots through their nearest existing
 * ancestor (nothing is created here).
 */
export function resolveOutput(files: Files, output: string): OutputLocation {
  if (files.isGcs(output)) {
    const dir = output.replace(/\/+$/, '');
    return {
      dir,
      gcs: true,
      uri: (name) => `${dir}/${name}`,
      contains: (u) => u.startsWith(`${dir}/`),
    };
  }
  const { real, exists } = checkLocal(files, output, 'output');
  if (exists && fs.statSync(real).isFile()) {
    throw invalid(`output "${output}" is a file`, 'Pass a directory (it is created if missing) or a gs:// prefix');
  }
  return {
    dir: real,
    gcs: false,
    uri: (name) => path.join(real, name),
    contains: (u) => u === real || u.startsWith(real + path.sep),
  };
}

// ---------------------------------------------------------------------------------------------
// Output files

/** Where one output file's bytes go. */
interface ByteSink {
  write(chunk: string): Promise<void>;
  end(): Promise<void>;
  /** Stops without finishing (an unfinished gs:// upload leaves no object). Never throws. */
  destroy(): Promise<void>;
}

/**
 * A local file written through one FileHandle and one reused encode buffer: no Buffer per write, so
 * external memory stays flat (Writable streams allocate one per chunk and free it only on GC).
 */
class LocalSink implements ByteSink {
  private buf = Buffer.allocUnsafe(FLUSH_CHARS * 2);
  private constructor(private readonly fh: fs.promises.FileHandle) {}

  static async open(file: string): Promise<LocalSink> {
    return new LocalSink(await fs.promises.open(file, 'w'));
  }

  async write(chunk: string): Promise<void> {
    const need = Buffer.byteLength(chunk);
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    const n = this.buf.write(chunk, 0, 'utf8');
    for (let off = 0; off < n; ) off += (await this.fh.write(this.buf, off, n - off)).bytesWritten;
  }

  async end(): Promise<void> {
    await this.fh.close();
  }

  async destroy(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}

/** A Writable from Files.openWrite (gs:// uploads), with back-pressure. */
class StreamSink implements ByteSink {
  private error: Error | null = null;
  constructor(private readonly w: Writable) {
    w.on('error', (err: Error) => {
      this.error ??= err;
    });
  }

  async write(chunk: string): Promise<void> {
    if (this.error) throw this.error;
    if (this.w.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.w.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        this.w.off('drain', onDrain);
        reject(err);
      };
      this.w.once('drain', onDrain);
      this.w.once('error', onError);
    });
  }

  end(): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    return new Promise<void>((resolve, reject) => {
      this.w.once('error', reject);
      this.w.end(() => (this.error ? reject(this.error) : resolve()));
    });
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
  final: string;
  /** Where bytes go: a temporary sibling locally, the final object on gs://. */
  target: string;
  sink: ByteSink | null;
  parts: string[];
  buffered: number;
  lines: number;
}

const FLUSH_CHARS = 1 << 20;

/**
 * The files of one run. Nothing is created until the first line is pushed. Local: lines go to
 * hidden temporary files in the output directory (`.train.jsonl.<pid>-<random>.tmp`), renamed to
 * their final names by commit(); abort() (any failure, or cancellation) deletes them, and the
 * directories this run created. gs://: objects are uploaded under their final names and only
 * finalised by commit(); abort() destroys the uploads in flight (an unfinished upload leaves no
 * object) and deletes the objects already finalised.
 */
export class OutputSet {
  private readonly open = new Map<string, OutFile>();
  private readonly tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private createdDir: string | null = null;
  private committed: string[] = [];
  private dirReady = false;

  constructor(
    private readonly files: Files,
    readonly loc: OutputLocation,
  ) {}

  has(name: string): boolean {
    return this.open.has(name);
  }

  /** Buffers one line for `name`; call flush() regularly (after each input chunk). */
  push(name: string, line: string): void {
    let f = this.open.get(name);
    if (!f) {
      const final = this.loc.uri(name);
      const target = this.loc.gcs ? final : this.loc.uri(`.${name}.${this.tag}.tmp`);
      f = { name, final, target, sink: null, parts: [], buffered: 0, lines: 0 };
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

  /** Writes `text` as a whole file `name` (e.g. stats.json), committed with the others. */
  async writeWhole(name: string, text: string): Promise<void> {
    this.push(name, text);
    await this.flush(true);
  }

  /**
   * Finishes every file and moves it into place. `family`: the names a run can write; those this run
   * did not write are deleted, so a stale validation.jsonl of an earlier run cannot pass for this one's.
   */
  async commit(family: string[] = []): Promise<void> {
    await this.flush(true);
    const files = [...this.open.values()];
    for (const f of files) {
      const sink = await this.sinkOf(f);
      await sink.end();
      f.sink = null;
      if (this.loc.gcs) this.committed.push(f.final);
    }
    if (!this.loc.gcs) {
      for (const f of files) {
        await fs.promises.rename(f.target, f.final);
        this.committed.push(f.final);
      }
    }
    for (const name of family) {
      if (this.open.has(name)) continue;
      if (this.loc.gcs) await this.remove(this.loc.uri(name));
      else await fs.promises.rm(this.loc.uri(name), { force: true });
    }
  }

  /** Removes everything this run wrote; never throws. */
  async abort(): Promise<void> {
    for (const f of this.open.values()) {
      if (f.sink) await f.sink.destroy();
      if (!this.loc.gcs) await fs.promises.rm(f.target, { force: true }).catch(() => {});
    }
    for (const uri of this.committed) await this.remove(uri);
    if (this.createdDir && !this.loc.gcs) {
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
    this.open.clear();
  }

  private async remove(uri: string): Promise<void> {
    try {
      if (!this.loc.gcs) await fs.promises.rm(uri, { force: true });
      else await this.files.delete(uri, 'output');
    } catch {
      // best effort: the run's own error is the one to report
    }
  }

  private async sinkOf(f: OutFile): Promise<ByteSink> {
    if (f.sink) return f.sink;
    if (this.loc.gcs) {
      f.sink = new StreamSink(await this.files.openWrite(f.target, 'output'));
      return f.sink;
    }
    if (!this.dirReady) {
      this.createdDir = (await fs.promises.mkdir(this.loc.dir, { recursive: true })) ?? null;
      this.dirReady = true;
    }
    // Checked against the allowed roots by resolveOutput; again now that it exists, in case a
    // symlink appeared in between.
    this.files.localPath(this.loc.dir, 'output');
    f.sink = await LocalSink.open(f.target);
    return f.sink;
  }
}

/** Wraps a write failure as an error that says where. */
export function outputError(err: unknown, output: string): VertexMcpError {
  if (err instanceof VertexMcpError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new VertexMcpError('INTERNAL', `writing the dataset to output "${output}" failed: ${msg}`);
}

export const mbPerS = (bytes: number, ms: number) =>
  ms > 0 ? Math.round((bytes / 1048576 / (ms / 1000)) * 10) / 10 : 0;
