// Streaming record reader for the converters. Lists the input (a directory, one file, or a gs://
// prefix) through Files, and hands each record's text to a synchronous callback:
//   - .jsonl / .ndjson (and any explicitly named file not ending in .json): one record a line; the
//     bytes are cut at the last newline of each chunk and decoded once, so a multi-byte character is
//     never split; a line longer than MAX_RECORD_BYTES is skipped (reported) without being buffered;
//   - .json: a top-level array (each element a record), one object, or several concatenated values;
//     a byte-level scanner finds the value boundaries, so a large array streams in constant memory;
//   - .gz of either is gunzipped on the fly.
// Memory: one chunk (1 MiB locally) plus the longest record, whatever the input size.
import { isAscii } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalid } from '../errors.js';
import type { FileInfo, Files } from '../files.js';
import { GENERATION_RE, MANIFEST } from './manifest.js';
import { checkLocal, FAMILY, type OutputLocation } from './output.js';

export const MAX_RECORD_BYTES = 64 << 20;
const CHUNK = 1 << 20;
const DATA_FILE = /\.(jsonl|ndjson|json)(\.gz)?$/i;
/** Files a converter writes: skipped when the output lies inside the input. */
const OUTPUT_NAMES = new Set([...FAMILY, MANIFEST]);

export interface InputFile extends FileInfo {
  mode: 'lines' | 'json';
  gzip: boolean;
}

export interface InputListing {
  files: InputFile[];
  skipped: number;
  total_bytes: number;
}

/**
 * The files a converter reads, in a stable (sorted) order: .json/.jsonl/.ndjson(.gz) of a directory
 * or prefix (any file named on its own); hidden files and this converter's own outputs (when the
 * output lies inside the input) are skipped.
 */
export async function listInput(files: Files, input: string, out: OutputLocation): Promise<InputListing> {
  if (!files.isGcs(input) && !checkLocal(files, input, 'input').exists) {
    throw invalid(`input "${input}" does not exist`, 'Pass the archive directory, a log file, or a gs:// prefix');
  }
  const all = await files.list(input, 'input');
  const single =
    all.length === 1 && (files.isGcs(input) ? all[0]!.uri === input : all[0]!.uri === files.localPath(input, 'input'));
  const chosen: InputFile[] = [];
  let skipped = 0;
  for (const f of all) {
    const base = path.basename(f.uri);
    const ours = out.contains(f.uri) && (OUTPUT_NAMES.has(base) || inGeneration(out, f.uri));
    if (ours || (!single && (!DATA_FILE.test(base) || base.startsWith('.')))) {
      skipped++;
      continue;
    }
    const gzip = /\.gz$/i.test(f.uri);
    const mode = /\.json(\.gz)?$/i.test(f.uri) ? 'json' : 'lines';
    chosen.push({ ...f, mode, gzip });
  }
  if (chosen.length === 0) {
    throw invalid(
      all.length === 0
        ? `input "${input}" has no files`
        : `input "${input}" has no .json, .jsonl or .ndjson files (${all.length} other file(s) skipped)`,
      'Point input at the archive directory, a log file, or a gs:// prefix holding them',
    );
  }
  return { files: chosen, skipped, total_bytes: chosen.reduce((s, f) => s + f.size, 0) };
}

/** True when `uri` (under the output) lies in a generation or a hidden (temporary) entry of it. */
function inGeneration(out: OutputLocation, uri: string): boolean {
  const rel = uri.slice(out.dir.length + 1).split(out.gcs ? '/' : path.sep);
  return rel.some((seg) => seg.startsWith('.') || GENERATION_RE.test(seg));
}

export interface RecordSink {
  /** One record: a line's text (without newline) or a JSON value's text; `line` is 1-based. */
  record(text: string, line: number): void;
  /** A record the reader itself could not deliver (too large, truncated file). */
  bad(line: number, reason: string): void;
  /** True to stop reading (max_examples reached). Checked after every record. */
  done(): boolean;
  /** After each chunk: back-pressure on outputs, progress, cancellation. `bytes` = raw bytes read so far in this file. */
  afterChunk(bytes: number): Promise<void>;
}

async function openInput(files: Files, f: InputFile): Promise<{ stream: Readable; raw: Readable }> {
  // Local .gz files are opened here with a 1 MiB highWaterMark (Files.openRead uses the 64 KiB
  // default); the path was checked against the allowed roots by Files.localPath.
  const raw = files.isGcs(f.uri)
    ? await files.openRead(f.uri, 'input')
    : fs.createReadStream(files.localPath(f.uri, 'input'), { highWaterMark: CHUNK });
  if (!f.gzip) return { stream: raw, raw };
  const gunzip = createGunzip({ chunkSize: CHUNK });
  raw.on('error', (err: Error) => gunzip.destroy(err));
  return { stream: raw.pipe(gunzip), raw };
}

/** Reads one file, delivering its records to `sink`. Returns the raw bytes read. */
export async function readFile(files: Files, f: InputFile, sink: RecordSink): Promise<number> {
  if (!f.gzip && !files.isGcs(f.uri)) return readLocal(files.localPath(f.uri, 'input'), f, sink);
  const { stream, raw } = await openInput(files, f);
  let rawBytes = 0;
  if (f.gzip) raw.on('data', (c: Buffer) => (rawBytes += c.length));
  const reader = f.mode === 'lines' ? new LineSplitter(sink) : new JsonValueSplitter(sink);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!f.gzip) rawBytes += chunk.length;
      reader.push(chunk);
      await sink.afterChunk(rawBytes);
      if (sink.done()) break;
    }
    if (!sink.done()) reader.end();
  } finally {
    stream.destroy();
    if (raw !== stream) raw.destroy();
  }
  return rawBytes;
}

/**
 * A local uncompressed file, read into one reused 1 MiB buffer (no allocation per chunk: the
 * splitters copy what they keep), which keeps external memory flat.
 */
async function readLocal(file: string, f: InputFile, sink: RecordSink): Promise<number> {
  const reader = f.mode === 'lines' ? new LineSplitter(sink) : new JsonValueSplitter(sink);
  const fh = await fs.promises.open(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      reader.push(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      await sink.afterChunk(bytes);
      if (sink.done()) return bytes;
    }
    reader.end();
  } finally {
    await fh.close();
  }
  return bytes;
}

/** Newline-delimited records. */
class LineSplitter {
  private carry: Buffer | null = null;
  private carryTooLong = false;
  private line = 0;

  constructor(private readonly sink: RecordSink) {}

  push(buf: Buffer): void {
    const sink = this.sink;
    let start = 0;
    if (this.carry || this.carryTooLong) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        this.keep(buf, 0);
        return;
      }
      this.line++;
      if (this.carryTooLong) {
        sink.bad(this.line, `line longer than ${MAX_RECORD_BYTES >> 20} MiB skipped`);
        this.carryTooLong = false;
      } else {
        this.emit(Buffer.concat([this.carry!, buf.subarray(0, nl)]).toString('utf8'));
      }
      this.carry = null;
      if (sink.done()) return;
      start = nl + 1;
    }
    const last = buf.lastIndexOf(10);
    if (last < start) {
      this.keep(buf, start);
      return;
    }
    // ASCII (the common case for JSON logs) decodes as latin1: a copy, no UTF-8 state machine.
    const text = isAscii(buf.subarray(start, last))
      ? buf.toString('latin1', start, last)
      : buf.toString('utf8', start, last);
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      const end = nl < 0 ? text.length : nl;
      this.line++;
      if (end > pos) this.emit(text.slice(pos, end));
      if (nl < 0 || sink.done()) break;
      pos = nl + 1;
    }
    if (last + 1 < buf.length) this.keep(buf, last + 1);
  }

  end(): void {
    if (this.carryTooLong) {
      this.sink.bad(this.line + 1, `line longer than ${MAX_RECORD_BYTES >> 20} MiB skipped`);
    } else if (this.carry) {
      this.line++;
      this.emit(this.carry.toString('utf8'));
    }
    this.carry = null;
  }

  private keep(buf: Buffer, from: number): void {
    if (this.carryTooLong || from >= buf.length) return;
    // Copy: the chunk is not retained, only the unfinished line.
    const rest = buf.subarray(from);
    const next = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
    if (next.length > MAX_RECORD_BYTES) {
      this.carry = null;
      this.carryTooLong = true;
    } else this.carry = next;
  }

  private emit(s: string): void {
    let c = s.charCodeAt(0);
    if (c === 0xfeff) {
      s = s.slice(1); // a byte-order mark
      c = s.charCodeAt(0);
    }
    // Blank lines (including a lone "\r") are not records.
    if (!(c > 32) && s.trim() === '') return;
    this.sink.record(s, this.line);
  }
}

/**
 * JSON values in a .json file: the elements of a top-level array, or each top-level value (one
 * object, or concatenated objects). Tracks strings, escapes and nesting byte by byte.
 */
class JsonValueSplitter {
  private line = 1;
  private depth = 0;
  private inString = false;
  private escape = false;
  /** 'start' until the first value; 'array' inside a top-level array; 'values' otherwise. */
  private mode: 'start' | 'array' | 'values' | 'after' = 'start';
  private parts: Buffer[] = [];
  private partsLen = 0;
  private inValue = false;
  private valueLine = 0;
  private tooLarge = false;
  /** A top-level scalar or stray text: runs to the end of its line. */
  private garbage = false;

  constructor(private readonly sink: RecordSink) {}

  push(buf: Buffer): void {
    let from = this.inValue ? 0 : -1;
    const n = buf.length;
    for (let i = 0; i < n; i++) {
      const c = buf[i]!;
      if (c === 10) this.line++;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 92) this.escape = true;
        else if (c === 34) this.inString = false;
        continue;
      }
      if (!this.inValue) {
        if (c === 32 || c === 10 || c === 13 || c === 9) continue;
        if (this.mode === 'start') {
          this.mode = c === 91 ? 'array' : 'values';
          if (c === 91) {
            this.depth = 1;
            continue;
          }
        }
        if (this.mode === 'array') {
          if (c === 44) continue; // ','
          if (c === 93) {
            this.mode = 'after';
            this.depth = 0;
            continue;
          }
        }
        // A value starts here.
        this.inValue = true;
        this.valueLine = this.line;
        from = i;
        this.garbage = this.mode === 'after' || (c !== 123 && c !== 91 && this.mode === 'values');
        if (this.garbage) continue;
      }
      if (this.garbage) {
        if (c === 10) {
          this.finish(buf, from, i);
          from = -1;
        }
        continue;
      }
      if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) this.depth++;
      else if (c === 125 || c === 93) {
        this.depth--;
        const base = this.mode === 'array' ? 1 : 0;
        if (this.depth === base) {
          this.finish(buf, from, i + 1);
          from = -1;
        } else if (this.depth < base) {
          // The closing bracket of the top-level array right after a scalar element.
          this.finish(buf, from, i);
          from = -1;
          this.mode = 'after';
          this.depth = 0;
        }
      } else if (c === 44 && this.mode === 'array' && this.depth === 1) {
        // ',' ending a scalar element of the array.
        this.finish(buf, from, i);
        from = -1;
      }
      if (this.sink.done()) return;
    }
    if (this.inValue && from >= 0) this.append(buf.subarray(from));
  }

  end(): void {
    if (this.inValue) {
      if (this.garbage) this.finish(Buffer.alloc(0), 0, 0);
      else if (this.tooLarge) this.sink.bad(this.valueLine, 'record larger than 64 MiB skipped');
      else this.sink.bad(this.valueLine, 'file ends inside a JSON value (truncated)');
    } else if (this.mode === 'array') {
      this.sink.bad(this.line, 'file ends inside the top-level array (missing "]")');
    }
    this.parts = [];
  }

  private append(b: Buffer): void {
    if (this.tooLarge) return;
    this.partsLen += b.length;
    if (this.partsLen > MAX_RECORD_BYTES) {
      this.tooLarge = true;
      this.parts = [];
    } else this.parts.push(Buffer.from(b));
  }

  private finish(buf: Buffer, from: number, to: number): void {
    this.append(buf.subarray(from, to));
    const line = this.valueLine;
    if (this.tooLarge) this.sink.bad(line, `record larger than ${MAX_RECORD_BYTES >> 20} MiB skipped`);
    else {
      const text = (this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)).toString('utf8').trim();
      if (text) this.sink.record(text, line);
    }
    this.parts = [];
    this.partsLen = 0;
    this.tooLarge = false;
    this.inValue = false;
    this.garbage = false;
  }
}
