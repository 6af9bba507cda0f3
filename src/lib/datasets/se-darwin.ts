// SE-Darwin evolution archive -> tuning dataset (SPEC 4). One pass, constant memory (a chunk, the
// longest record, and 11-22 bytes per distinct kept example for de-duplication).
import { invalid } from '../errors.js';
import type { Files } from '../files.js';
import { LabelCounter } from './labels.js';
import { checkFormat, checkFraction, checkInt, checkUri } from './options.js';
import { resolveOutput } from './output.js';
import { listInput } from './reader.js';
import { PrepRun, show } from './run.js';
import type { DatasetReport, ProgressFn, SeDarwinOptions } from './types.js';

const QS = '"quality_score"';

/**
 * The top-level-looking `"quality_score": <number>` of a line, read without parsing the line, or NaN
 * when that cannot be decided cheaply: the key is absent, the value is not a plain number, or (for a
 * score under `below`) the key appears twice or the line is not `{...}`. The key text can only match
 * a real key: inside a JSON string its quotes would be escaped.
 */
export function peekQualityScore(line: string, below = Number.POSITIVE_INFINITY): number {
  const i = line.indexOf(QS);
  if (i < 0) return Number.NaN;
  let j = i + QS.length;
  let c = line.charCodeAt(j);
  while (c === 32 || c === 9 || c === 10 || c === 13) c = line.charCodeAt(++j);
  if (c !== 58) return Number.NaN; // ':'
  c = line.charCodeAt(++j);
  while (c === 32 || c === 9 || c === 10 || c === 13) c = line.charCodeAt(++j);
  const start = j;
  // digits . - + e E
  while ((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 43 || c === 101 || c === 69) c = line.charCodeAt(++j);
  if (j === start) return Number.NaN;
  while (c === 32 || c === 9 || c === 10 || c === 13) c = line.charCodeAt(++j);
  if (c !== 44 && c !== 125) return Number.NaN; // ',' or '}'
  const first = line.charCodeAt(start);
  if (first !== 45 && (first < 48 || first > 57)) return Number.NaN;
  const score = Number(line.slice(start, j));
  // The remaining checks cost a scan of the line: only pay them for a line about to be dropped
  // (`below`: the caller only acts on scores under it).
  if (!(score < below)) return score;
  if (line.indexOf(QS, j) >= 0) return Number.NaN; // a second "quality_score" (nested, or duplicate key)
  if (line.charCodeAt(0) !== 123) return Number.NaN; // '{'
  let e = line.length - 1;
  while (e > 0 && line.charCodeAt(e) <= 32) e--;
  if (line.charCodeAt(e) !== 125) return Number.NaN; // '}'
  return score;
}

/** The prompt of a trajectory: `prompt`, or `task` + "\n\nRequirements:\n" + requirements. */
export function trajectoryPrompt(r: Record<string, unknown>): string | { missing: string } | { malformed: string } {
  const p = r.prompt;
  if (typeof p === 'string' && p.trim()) return p;
  if (p !== undefined && p !== null && typeof p !== 'string')
    return { malformed: `prompt must be a string, got ${show(p)}` };
  const t = r.task;
  if (typeof t === 'string' && t.trim()) {
    const req = r.requirements;
    if (req === undefined || req === null || req === '' || (Array.isArray(req) && req.length === 0)) return t;
    if (Array.isArray(req)) {
      const items = req.map((x) => `- ${typeof x === 'string' ? x : JSON.stringify(x)}`).join('\n');
      return `${t}\n\nRequirements:\n${items}`;
    }
    return `${t}\n\nRequirements:\n${typeof req === 'string' ? req : JSON.stringify(req)}`;
  }
  if (t !== undefined && t !== null && typeof t !== 'string')
    return { malformed: `task must be a string, got ${show(t)}` };
  return { missing: 'no prompt or task' };
}

/** The chosen result: `completion`, `best_agent` or `solution` (objects as JSON text). */
export function trajectoryCompletion(r: Record<string, unknown>): string | null {
  for (const key of ['completion', 'best_agent', 'solution'] as const) {
    const v = r[key];
    if (v === undefined || v === null || v === '') continue;
    return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return null;
}

/**
 * Converts an SE-Darwin evolution archive into train.jsonl / validation.jsonl / stats.json under
 * `output`, keeping trajectories with `quality_score >= quality_threshold`, de-duplicated on
 * (prompt, completion), split by a seeded hash of the prompt. Nothing is left in `output` when it
 * fails (see OutputSet). Bad records are counted and listed with file and line; they never stop the
 * run.
 */
export async function prepareSeDarwinDataset(
  files: Files,
  opts: SeDarwinOptions,
  onProgress?: ProgressFn,
  signal?: AbortSignal,
): Promise<DatasetReport> {
  const input = checkUri('input', opts.input);
  const output = checkUri('output', opts.output);
  const threshold = checkFraction('quality_threshold', opts.quality_threshold, 0.8, { max1: true });
  const format = checkFormat(opts.format);
  const validation_fraction = checkFraction('validation_fraction', opts.validation_fraction, 0.1);
  const seed = checkInt('seed', opts.seed, 0)!;
  const max_examples = checkInt('max_examples', opts.max_examples, undefined, 1);
  if (
    opts.benchmarks !== undefined &&
    (!Array.isArray(opts.benchmarks) || opts.benchmarks.some((b) => typeof b !== 'string'))
  ) {
    throw invalid('benchmarks must be a list of benchmark names', 'Pass e.g. benchmarks: ["halo-routing"]');
  }
  const benchmarks = opts.benchmarks?.length ? new Set(opts.benchmarks) : null;
  const fast = opts.fast_filter !== false;
  signal?.throwIfAborted();

  const loc = resolveOutput(files, output);
  const listing = await listInput(files, input, loc);
  const overwrite = opts.overwrite === true;
  const run = new PrepRun(
    files,
    loc,
    listing,
    { format, overwrite, validation_fraction, seed, max_examples },
    onProgress,
    signal,
  );
  await run.outputs.prepare();
  const byBenchmark = new LabelCounter(256);
  let bestScore = Number.NEGATIVE_INFINITY;
  const dropped = run.dropped;

  const record = (text: string, line: number): void => {
    run.records++;
    if (fast) {
      const s = peekQualityScore(text, threshold);
      if (s >= 0 && s < threshold) {
        dropped.below_threshold++;
        if (s > bestScore) bestScore = s;
        return;
      }
    }
    const r = run.parseObject(text, line);
    if (!r) return;
    const q = r.quality_score;
    if (q === undefined || q === null) {
      run.addBad(line, 'quality_score missing', 'missing_fields');
      return;
    }
    if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
      run.addBad(line, `quality_score must be a number in [0, 1], got ${show(q)}`, 'malformed');
      return;
    }
    if (q > bestScore) bestScore = q;
    if (q < threshold) {
      dropped.below_threshold++;
      return;
    }
    const bench = typeof r.benchmark === 'string' ? r.benchmark : null;
    if (benchmarks && (bench === null || !benchmarks.has(bench))) {
      dropped.other_benchmark++;
      return;
    }
    const prompt = trajectoryPrompt(r);
    if (typeof prompt !== 'string') {
      if ('missing' in prompt) run.addBad(line, prompt.missing, 'missing_fields');
      else run.addBad(line, prompt.malformed, 'malformed');
      return;
    }
    const completion = trajectoryCompletion(r);
    if (completion === null) {
      run.addBad(line, 'no completion, best_agent or solution', 'missing_fields');
      return;
    }
    if (run.addExample(prompt, completion)) byBenchmark.add(bench ?? '(none)');
  };

  try {
    await run.readAll(record);
  } catch (err) {
    await run.abort();
    throw err;
  }

  if (run.kept === 0) {
    await run.abort();
    const parts = [`${dropped.below_threshold} below threshold`];
    if (dropped.malformed) parts.push(`${dropped.malformed} malformed`);
    if (dropped.missing_fields) parts.push(`${dropped.missing_fields} missing fields`);
    if (dropped.other_benchmark) parts.push(`${dropped.other_benchmark} of other benchmarks`);
    const where = run.bad[0] ? `; first bad record: ${run.bad[0].file}:${run.bad[0].line} ${run.bad[0].reason}` : '';
    throw invalid(
      `no record has quality_score >= ${threshold} (read ${run.records}: ${parts.join(', ')})${where}`,
      Number.isFinite(bestScore)
        ? `The best quality_score seen is ${bestScore}: lower quality_threshold, or check the input`
        : 'No record had a usable quality_score: check that input points at SE-Darwin trajectories',
    );
  }

  const options = {
    quality_threshold: threshold,
    format,
    validation_fraction,
    seed,
    max_examples: max_examples ?? null,
    benchmarks: benchmarks ? [...benchmarks] : null,
    fast_filter: fast,
    overwrite,
  };
  return run.commit(() =>
    run.report('se_darwin', input, options, { kept_by_benchmark: byBenchmark.top(20, run.kept) }),
  );
}
