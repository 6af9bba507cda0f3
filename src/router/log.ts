// The router's decision log: append-only JSONL segments, rotated by size, in a local directory or
// under a gs:// prefix. Two streams:
//   <path>/routed/routed-*.jsonl  one line per decision, written before route() returns (the journal:
//                                 a decision whose outcome never comes is still on record);
//   <path>/halo/halo-*.jsonl      one HALO routing record per outcome ({task, agent, success, ...}),
//                                 what prepare_dataset (source halo_routing) reads: point it at
//                                 <path>/halo. A HALO line needs the outcome, so it is written then.
// Lines are written synchronously (fs.writeSync on an O_APPEND descriptor): once route() or
// recordOutcome() returned, a crash of this process loses nothing (a crash of the machine may lose
// what the OS had not flushed; close() fsyncs).
// gs:// cannot append: segments are written in a local spool directory and each is published as one
// object when it is rotated (size), on flush() and on close(); a segment whose upload failed stays
// in the spool and is published by the next flush, close, or router started on the same spool.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invalid } from '../lib/errors.js';
import type { Files } from '../lib/files.js';

export const STREAMS = ['routed', 'halo'] as const;
export type Stream = (typeof STREAMS)[number];

export interface DecisionLogOptions {
  /** A local directory (inside the library's allowed roots) or a gs:// prefix. */
  path: string;
  /** A segment is closed and a new one started once it holds this many bytes. Default 16 MiB. */
  max_segment_bytes?: number;
  /** gs:// only: where segments are written before they are published. Default: a directory under the OS temp dir named after the prefix. */
  spool_dir?: string;
}

export interface LogCounts {
  routed: number;
  halo: number;
  /** Segments published to gs:// (0 for a local log). */
  published: number;
  /** Uploads that failed and wait in the spool for the next flush. */
  publish_errors: number;
}

/** `YYYYMMDDTHHMMSSmmmZ`: segment names sort by the time they were started. */
const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:.]/g, '');

/** Segments this process started: orders those started within one millisecond (a burst rotates fast). */
let started = 0;

class Segments {
  private fd: number | null = null;
  private file = '';
  private bytes = 0;
  lines = 0;

  constructor(
    readonly dir: string,
    private readonly stream: Stream,
    private readonly maxBytes: number,
    private readonly onRotate: () => void,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  get current(): string {
    return this.file;
  }

  append(line: string): void {
    const buf = Buffer.from(`${line}\n`, 'utf8');
    if (this.fd !== null && this.bytes > 0 && this.bytes + buf.length > this.maxBytes) this.rotate();
    if (this.fd === null) this.open();
    fs.writeSync(this.fd!, buf);
    this.bytes += buf.length;
    this.lines++;
  }

  private open(): void {
    // time + sequence: names sort in the order segments were started (within this process);
    // pid + random: routers in several processes (or one) may share a directory.
    const seq = String(++started).padStart(8, '0');
    this.file = path.join(
      this.dir,
      `${this.stream}-${stamp(Date.now())}-${seq}-${process.pid}-${randomBytes(3).toString('hex')}.jsonl`,
    );
    this.fd = fs.openSync(this.file, 'a');
    this.bytes = 0;
  }

  /** Closes the current segment (if it has lines); the next append starts a new one. */
  rotate(): void {
    if (this.fd === null) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
    this.file = '';
    this.onRotate();
  }
}

export class DecisionLog {
  readonly path: string;
  private readonly gcs: boolean;
  private readonly segments: Record<Stream, Segments>;
  private publishing: Promise<void> = Promise.resolve();
  private published = 0;
  private publishErrors = 0;
  /** The last upload failure, for the router's stats. */
  lastError: string | null = null;

  constructor(
    private readonly files: Files,
    opts: DecisionLogOptions,
  ) {
    if (typeof opts.path !== 'string' || !opts.path.trim())
      throw invalid('log.path is empty', 'Give a local directory or a gs:// prefix for the decision log');
    const max = opts.max_segment_bytes ?? 16 << 20;
    if (!Number.isSafeInteger(max) || max < 1024)
      throw invalid(`log.max_segment_bytes must be an integer of at least 1024, got ${max}`);
    this.path = opts.path.replace(/\/+$/, '');
    this.gcs = files.isGcs(this.path);
    let root: string;
    if (this.gcs) {
      const spool =
        opts.spool_dir ??
        path.join(os.tmpdir(), 'vertex-mcp-router', createHash('sha256').update(this.path).digest('hex').slice(0, 16));
      root = path.resolve(spool);
    } else {
      root = files.localPath(this.path, 'log.path');
    }
    const make = (s: Stream) =>
      new Segments(path.join(root, s), s, max, () => {
        if (this.gcs) this.schedulePublish(s);
      });
    this.segments = { routed: make('routed'), halo: make('halo') };
    // Segments a previous router left in the spool (it crashed, or its upload failed).
    if (this.gcs) for (const s of STREAMS) this.schedulePublish(s);
  }

  /** The directory or prefix of one stream (what prepare_dataset reads for 'halo'). */
  uri(stream: Stream): string {
    return `${this.path}/${stream}`;
  }

  append(stream: Stream, record: Record<string, unknown>): void {
    this.segments[stream].append(JSON.stringify(record));
  }

  counts(): LogCounts {
    return {
      routed: this.segments.routed.lines,
      halo: this.segments.halo.lines,
      published: this.published,
      publish_errors: this.publishErrors,
    };
  }

  /** Closes the current segments; on gs:// publishes every finished segment. */
  async flush(): Promise<void> {
    for (const s of STREAMS) this.segments[s].rotate();
    if (this.gcs) for (const s of STREAMS) this.schedulePublish(s);
    await this.publishing;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  /** Uploads every finished segment of a stream in the spool (serialised; failures stay for later). */
  private schedulePublish(stream: Stream): void {
    this.publishing = this.publishing.then(async () => {
      const seg = this.segments[stream];
      const names = fs
        .readdirSync(seg.dir)
        .filter((n) => n.endsWith('.jsonl') && path.join(seg.dir, n) !== seg.current)
        .sort();
      for (const name of names) {
        const file = path.join(seg.dir, name);
        try {
          const body = fs.readFileSync(file);
          // ifVersion null: an object is never replaced. When it is already there with the same size,
          // an earlier upload landed but the spool file outlived it (a crash): it is published.
          const uri = `${this.uri(stream)}/${name}`;
          await this.files.writeText(uri, body, 'log.path', { ifVersion: null }).catch(async (err) => {
            const there = await this.files.stat(uri, 'log.path').catch(() => null);
            if (!there || there.size !== body.length) throw err;
          });
          fs.unlinkSync(file);
          this.published++;
        } catch (err) {
          this.publishErrors++;
          this.lastError = err instanceof Error ? err.message : String(err);
        }
      }
    });
  }
}
