// One converter run: counters, bad-record log, de-duplication, split, label balance, outputs,
// progress and cancellation. The converters (se-darwin.ts, halo.ts) only decide what an example is.
import { performance } from 'node:perf_hooks';
import { VertexMcpError } from '../errors.js';
import type { Files } from '../files.js';
import { H, HashSet64, hash64 } from './dedup.js';
import { exampleLine } from './format.js';
import { LabelCounter } from './labels.js';
import type { DatasetManifest } from './manifest.js';
import { type OutputLocation, OutputSet, outputError, PREFERENCES, STATS, TRAIN, VALIDATION } from './output.js';
import { type InputListing, type RecordSink, readFile } from './reader.js';
import { isValidation, seedMix } from './split.js';
import type { BadRecord, DatasetFormat, DatasetReport, DroppedCounts, ProgressFn } from './types.js';

export { PREFERENCES, STATS, TRAIN, VALIDATION } from './output.js';

const MAX_BAD_LISTED = 20;
const PROGRESS_EVERY_MS = 100;
const PROGRESS_EVERY_BYTES = 8 << 20;

export interface RunSettings {
  format: DatasetFormat;
  /** Replace a dataset already published at the output. */
  overwrite: boolean;
  validation_fraction: number;
  seed: number;
  max_examples: number | undefined;
}

export class PrepRun {
  readonly started = performance.now();
  readonly dropped: DroppedCounts = {
    below_threshold: 0,
    duplicate: 0,
    malformed: 0,
    missing_fields: 0,
    other_benchmark: 0,
    below_success_rate: 0,
    too_few_decisions: 0,
  };
  readonly bad: BadRecord[] = [];
  badCount = 0;
  records = 0;
  filesRead = 0;
  train = 0;
  validation = 0;
  readonly labels = new LabelCounter();
  readonly outputs: OutputSet;
  readonly warnings: string[] = [];
  /** 11-22 bytes per distinct kept example (see HashSet64). */
  private readonly seen = new HashSet64();
  private readonly mix: number;
  private bytesDone = 0;
  private fileBytes = 0;
  private currentFile = '';
  private lastProgress = 0;
  private lastProgressBytes = 0;
  private fatal: unknown = null;

  constructor(
    private readonly files: Files,
    readonly loc: OutputLocation,
    readonly listing: InputListing,
    readonly settings: RunSettings,
    private readonly onProgress?: ProgressFn,
    private readonly signal?: AbortSignal,
  ) {
    this.outputs = new OutputSet(files, loc, { overwrite: settings.overwrite });
    this.mix = seedMix(settings.seed);
  }

  get kept(): number {
    return this.train + this.validation;
  }

  get bytesRead(): number {
    return this.bytesDone + this.fileBytes;
  }

  /** Counts a malformed or incomplete record and lists the first few with file and line. */
  addBad(line: number, reason: string, bucket: 'malformed' | 'missing_fields'): void {
    this.dropped[bucket]++;
    this.badCount++;
    if (this.bad.length < MAX_BAD_LISTED) this.bad.push({ file: this.currentFile, line, reason });
  }

  /** One record's JSON object, or null after reporting the line as malformed. */
  parseObject(text: string, line: number): Record<string, unknown> | null {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (err) {
      this.addBad(line, `not valid JSON: ${(err as Error).message}`, 'malformed');
      return null;
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) {
      this.addBad(line, `not a JSON object: ${show(o)}`, 'malformed');
      return null;
    }
    return o as Record<string, unknown>;
  }

  /** Adds one example unless its (prompt, completion) was seen; returns true when kept. */
  addExample(prompt: string, completion: string): boolean {
    hash64(prompt);
    const p1 = H[0]!;
    const p2 = H[1]!;
    hash64(completion, p1, p2);
    if (!this.seen.add(H[0]!, H[1]!)) {
      this.dropped.duplicate++;
      return false;
    }
    const val = isValidation(p1, p2, this.mix, this.settings.validation_fraction);
    this.outputs.push(val ? VALIDATION : TRAIN, exampleLine(this.settings.format, prompt, completion));
    if (val) this.validation++;
    else this.train++;
    this.labels.add(completion);
    return true;
  }

  done(): boolean {
    return this.settings.max_examples !== undefined && this.kept >= this.settings.max_examples;
  }

  /** Reads every input file through `record`, in order; a file that cannot be read is a bad record. */
  async readAll(record: (text: string, line: number) => void): Promise<void> {
    const sink: RecordSink = {
      record,
      bad: (line, reason) => {
        this.records++;
        this.addBad(line, reason, 'malformed');
      },
      done: () => this.done(),
      afterChunk: (bytes) => this.afterChunk(bytes),
    };
    for (const f of this.listing.files) {
      if (this.done()) break;
      this.signal?.throwIfAborted();
      this.currentFile = f.uri;
      this.fileBytes = 0;
      this.filesRead++;
      try {
        this.fileBytes = await readFile(this.files, f, sink);
      } catch (err) {
        if (this.fatal) throw this.fatal;
        if (this.signal?.aborted || (err instanceof VertexMcpError && err.code === 'PERMISSION_DENIED')) throw err;
        this.addBad(0, `could not read the file: ${err instanceof Error ? err.message : String(err)}`, 'malformed');
      }
      this.bytesDone += this.fileBytes;
      this.fileBytes = 0;
    }
    this.progress(true);
  }

  private async afterChunk(bytes: number): Promise<void> {
    this.fileBytes = bytes;
    try {
      await this.outputs.flush();
    } catch (err) {
      this.fatal = outputError(err, this.loc.dir);
      throw this.fatal;
    }
    this.progress(false);
    if (this.signal?.aborted) {
      this.fatal = this.signal.reason ?? new VertexMcpError('INTERNAL', 'dataset preparation was cancelled');
      throw this.fatal;
    }
  }

  /**
   * Checked after every chunk (1 MiB): reports when 100 ms have passed or 8 MiB were read since the
   * last report, whichever comes first, and once at the end.
   */
  progress(force: boolean): void {
    if (!this.onProgress) return;
    const now = performance.now();
    const bytes = this.bytesRead;
    if (
      !force &&
      now - this.lastProgress < PROGRESS_EVERY_MS &&
      bytes - this.lastProgressBytes < PROGRESS_EVERY_BYTES
    ) {
      return;
    }
    this.lastProgress = now;
    this.lastProgressBytes = bytes;
    try {
      this.onProgress({ bytes_read: bytes, total_bytes: this.listing.total_bytes, records: this.records });
    } catch {
      // A failing progress listener (a closed client, say) must not make a file count as unreadable.
    }
  }

  /** The report; `extra` holds the converter's own fields. */
  report(
    kind: DatasetReport['kind'],
    input: string,
    options: Record<string, unknown>,
    extra: Partial<DatasetReport> = {},
  ): DatasetReport {
    const elapsed = performance.now() - this.started;
    const hasPrefs = this.outputs.has(PREFERENCES);
    const out = this.outputs;
    return {
      kind,
      format: this.settings.format,
      input,
      output: {
        train_uri: out.fileUri(TRAIN),
        validation_uri: this.validation > 0 ? out.fileUri(VALIDATION) : null,
        stats_uri: out.fileUri(STATS),
        ...(hasPrefs ? { preferences_uri: out.fileUri(PREFERENCES) } : {}),
        manifest_uri: out.manifestUri,
        generation: out.generation,
      },
      options,
      files_read: this.filesRead,
      files_skipped: this.listing.skipped,
      bytes_read: this.bytesRead,
      total_bytes: this.listing.total_bytes,
      records_read: this.records,
      kept: this.kept,
      train_examples: this.train,
      validation_examples: this.validation,
      dropped: this.dropped,
      label_balance: this.labels.balance(20),
      bad_records: this.bad,
      bad_records_count: this.badCount,
      stopped_at_max_examples: this.done(),
      warnings: this.warnings,
      elapsed_ms: Math.round(elapsed),
      throughput_mb_s: mbPerS(this.bytesRead, elapsed),
      ...extra,
    };
  }

  /**
   * Checks the split, then writes stats.json and publishes the generation (see output.ts); on any
   * failure before the commit point, removes what this run wrote.
   */
  async commit(build: () => DatasetReport): Promise<DatasetReport> {
    let manifest: DatasetManifest;
    let report: DatasetReport;
    try {
      // Cancelled at the last progress report (or while the converter finished): publish nothing.
      this.signal?.throwIfAborted();
      if (this.train === 0) {
        throw new VertexMcpError(
          'INVALID_ARGUMENT',
          `all ${this.kept} kept example(s) fell into the validation split, none into train`,
          'Lower validation_fraction, change seed, or add data',
        );
      }
      if (this.settings.validation_fraction > 0 && this.validation === 0) {
        this.warnings.push(
          `no example landed in validation (validation_fraction ${this.settings.validation_fraction}, ${this.kept} kept): validation.jsonl was not written`,
        );
      }
      const top = this.labels.balance(2);
      if (top.exact && top.distinct > 1 && top.distinct <= 100 && (top.top[0]?.share ?? 0) > 0.5) {
        this.warnings.push(
          `label "${top.top[0]!.label}" is ${(top.top[0]!.share * 100).toFixed(1)}% of the examples: a model may learn to always answer it`,
        );
      }
      report = build();
      await this.outputs.writeWhole(STATS, `${JSON.stringify(report, null, 2)}\n`);
      this.signal?.throwIfAborted();
      manifest = await this.outputs.commit({
        source: report.kind,
        format: report.format,
        train_examples: this.train,
        validation_examples: this.validation,
      });
    } catch (err) {
      await this.outputs.abort();
      throw outputError(err, this.loc.dir);
    }
    report = {
      ...report,
      warnings: [...report.warnings, ...this.outputs.warnings],
      previous_generation: manifest.previous?.generation ?? null,
      elapsed_ms: Math.round(performance.now() - this.started),
    };
    report.throughput_mb_s = mbPerS(report.bytes_read, report.elapsed_ms);
    return report;
  }

  async abort(): Promise<void> {
    await this.outputs.abort();
  }
}

/** A value as it appears in a bad-record reason: JSON, cut to 40 characters. */
export const show = (v: unknown): string => {
  const t = JSON.stringify(v) ?? String(v);
  return t.length > 40 ? `${t.slice(0, 37)}...` : t;
};

export const mbPerS = (bytes: number, ms: number) =>
  ms > 0 ? Math.round((bytes / 1048576 / (ms / 1000)) * 10) / 10 : 0;
