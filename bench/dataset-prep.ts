// Budget (SPEC 9): dataset preparation at least 2x the throughput of the jq one-liner a user would
// write instead (`jq -c 'select(.quality_score >= 0.8) | {prompt, completion}'`), with
// de-duplication, split and stats included; peak memory flat (under 150 MB for a 1 GB archive).
//
// Generates a >= 1 GiB SE-Darwin archive (scripts/gen-archive.ts, seeded) in a temp dir, then times in
// the same run: `cat` of the same files (the I/O floor), the jq one-liner (when jq is installed), and
// prepareSeDarwinDataset run in a child process (so its peak RSS, getrusage maxRSS, is its own).
// Median of 3 runs each. Env: BENCH_DATASET_MB (default 1024), BENCH_DATASET_RUNS (default 3).
//
// Run alone: node dist/bench/dataset-prep.js
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateArchive } from '../scripts/gen-archive.js';
import { Files } from '../src/lib/files.js';
import { median, out, ratio, round, table } from './util.js';

const JQ_FILTER = 'select(.quality_score >= 0.8) | {prompt, completion}';
const THIS = fileURLToPath(import.meta.url);

interface ChildResult {
  elapsed_ms: number;
  bytes_read: number;
  records_read: number;
  kept: number;
  train_examples: number;
  validation_examples: number;
  duplicate: number;
  max_rss_mb: number;
  sampled_rss_mb: number;
}

/** Runs one preparation in a child node process; returns its report figures and peak RSS. */
function runChild(mode: 'se_darwin' | 'se_darwin_full_parse' | 'halo' | 'idle', input: string, output: string) {
  return new Promise<ChildResult>((resolve, reject) => {
    const child = spawn(process.execPath, [THIS, '--child', mode, input, output], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 8000) stderr += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`prepare child (${mode}) exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(stdout) as ChildResult);
    });
  });
}

/** Wall time of a command whose stdout goes to /dev/null. */
function timeCommand(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const devnull = fs.openSync('/dev/null', 'w');
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', devnull, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      if (stderr.length < 4000) stderr += c.toString();
    });
    child.once('error', (e) => {
      fs.closeSync(devnull);
      reject(e);
    });
    child.once('exit', (code) => {
      const dt = performance.now() - t0;
      fs.closeSync(devnull);
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr}`));
      else resolve(dt);
    });
  });
}

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.jsonl'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function jqVersion(): string | null {
  const r = spawnSync('jq', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export async function benchDatasetPrep(): Promise<Record<string, unknown>> {
  const mb = Number(process.env.BENCH_DATASET_MB ?? 1024);
  const runs = Math.max(1, Number(process.env.BENCH_DATASET_RUNS ?? 3));
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-bench-dataset-')));
  try {
    const gen = await generateArchive({ out: tmp, mb, seed: 1, haloDecisions: 200_000 });
    const inputs = listFiles(gen.archive_dir);
    const totalMb = gen.bytes / 1048576;
    out(
      `archive: ${round(totalMb, 1)} MiB in ${gen.files} .jsonl files, ${gen.records} trajectories ` +
        `(generated in ${(gen.elapsed_ms / 1000).toFixed(1)} s, ${round(totalMb / (gen.elapsed_ms / 1000), 0)} MB/s)`,
    );
    await timeCommand('cat', inputs); // warm the page cache for everyone

    const catMs: number[] = [];
    for (let i = 0; i < runs; i++) catMs.push(await timeCommand('cat', inputs));

    const jq = jqVersion();
    const jqMs: number[] = [];
    if (jq) for (let i = 0; i < runs; i++) jqMs.push(await timeCommand('jq', ['-c', JQ_FILTER, ...inputs]));

    const prep: ChildResult[] = [];
    const prepFull: ChildResult[] = [];
    for (let i = 0; i < runs; i++) {
      prep.push(await runChild('se_darwin', gen.archive_dir, path.join(tmp, `out-${i}`)));
      fs.rmSync(path.join(tmp, `out-${i}`), { recursive: true, force: true });
    }
    for (let i = 0; i < runs; i++) {
      prepFull.push(await runChild('se_darwin_full_parse', gen.archive_dir, path.join(tmp, `full-${i}`)));
      fs.rmSync(path.join(tmp, `full-${i}`), { recursive: true, force: true });
    }
    const halo = await runChild('halo', gen.halo_uri!, path.join(tmp, 'halo-out'));
    const idle = await runChild('idle', gen.archive_dir, path.join(tmp, 'idle'));
    // A smaller archive: is peak memory flat in the archive size?
    const smallMb = Math.max(64, Math.round(mb / 8));
    const small = await generateArchive({ out: path.join(tmp, 'small'), mb: smallMb, seed: 2 });
    const smallRun = await runChild('se_darwin', small.archive_dir, path.join(tmp, 'small-out'));

    const mbs = (bytes: number, ms: number) => bytes / 1048576 / (ms / 1000);
    const catMbs = mbs(gen.bytes, median(catMs));
    const jqMbs = jq ? mbs(gen.bytes, median(jqMs)) : null;
    const prepMbs = median(prep.map((r) => mbs(r.bytes_read, r.elapsed_ms)));
    const fullMbs = median(prepFull.map((r) => mbs(r.bytes_read, r.elapsed_ms)));
    const prepRss = Math.max(...prep.map((r) => r.max_rss_mb));
    const fullRss = Math.max(...prepFull.map((r) => r.max_rss_mb));
    const vsJq = (x: number) => (jqMbs ? ratio(x / jqMbs) : 'n/a');
    const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    out(
      table(
        ['pass over the archive', 'median time', 'MB/s', 'vs jq', 'peak RSS'],
        [
          ['cat FILES > /dev/null (I/O floor)', secs(median(catMs)), round(catMbs, 0), vsJq(catMbs), '-'],
          [
            jq ? `jq -c '${JQ_FILTER}' (${jq})` : 'jq (not installed)',
            jq ? secs(median(jqMs)) : '-',
            jqMbs ? round(jqMbs, 1) : '-',
            jq ? '1.00x' : '-',
            '-',
          ],
          [
            'prepareSeDarwinDataset (dedup + split + stats + write)',
            secs(median(prep.map((r) => r.elapsed_ms))),
            round(prepMbs, 1),
            vsJq(prepMbs),
            `${prepRss} MB`,
          ],
          [
            '  same, fast_filter: false (JSON.parse every line)',
            secs(median(prepFull.map((r) => r.elapsed_ms))),
            round(fullMbs, 1),
            vsJq(fullMbs),
            `${fullRss} MB`,
          ],
          [
            `  same on a ${smallMb} MiB archive (memory flatness)`,
            secs(smallRun.elapsed_ms),
            round(mbs(smallRun.bytes_read, smallRun.elapsed_ms), 1),
            vsJq(mbs(smallRun.bytes_read, smallRun.elapsed_ms)),
            `${smallRun.max_rss_mb} MB`,
          ],
          [
            `prepareHaloRoutingDataset (${halo.records_read} decisions)`,
            secs(halo.elapsed_ms),
            round(mbs(halo.bytes_read, halo.elapsed_ms), 1),
            '-',
            `${halo.max_rss_mb} MB`,
          ],
          ['node floor: the child with the module loaded, idle', '-', '-', '-', `${idle.max_rss_mb} MB`],
        ],
      ),
    );
    const p0 = prep[0]!;
    out(
      `kept ${p0.kept} of ${p0.records_read} (train ${p0.train_examples}, validation ${p0.validation_examples}, ` +
        `${p0.duplicate} duplicates dropped)`,
    );
    const target = 2;
    const ok = jqMbs !== null && prepMbs / jqMbs >= target;
    out(
      `throughput vs jq: ${jqMbs ? ratio(prepMbs / jqMbs) : 'n/a'} (target >= ${target}x: ${
        jqMbs === null ? 'no jq to compare' : ok ? 'within budget' : 'OVER BUDGET'
      }); peak RSS ${prepRss} MB for ${round(totalMb / 1024, 2)} GiB (target < 150 MB: ${
        prepRss < 150 ? 'within budget' : 'OVER BUDGET'
      })`,
    );
    return {
      archive_mib: round(totalMb, 1),
      archive_files: gen.files,
      archive_records: gen.records,
      runs,
      cat_mb_s: round(catMbs, 1),
      jq: jq ?? null,
      jq_mb_s: jqMbs === null ? null : round(jqMbs, 1),
      prepare_mb_s: round(prepMbs, 1),
      prepare_runs_mb_s: prep.map((r) => round(mbs(r.bytes_read, r.elapsed_ms), 1)),
      prepare_full_parse_mb_s: round(fullMbs, 1),
      ratio_vs_jq: jqMbs === null ? null : round(prepMbs / jqMbs, 2),
      target_ratio: target,
      peak_rss_mb: prepRss,
      peak_rss_full_parse_mb: fullRss,
      peak_rss_small_archive_mb: smallRun.max_rss_mb,
      small_archive_mib: smallMb,
      idle_rss_mb: idle.max_rss_mb,
      target_rss_mb: 150,
      halo_decisions: halo.records_read,
      halo_mb_s: round(mbs(halo.bytes_read, halo.elapsed_ms), 1),
      halo_peak_rss_mb: halo.max_rss_mb,
      kept: p0.kept,
      duplicates: p0.duplicate,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The child: one preparation, figures as JSON on stdout. */
async function child(mode: string, input: string, output: string): Promise<void> {
  const { prepareSeDarwinDataset, prepareHaloRoutingDataset } = await import('../src/lib/datasets/index.js');
  let sampled = process.memoryUsage().rss;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage().rss);
  }, 25);
  const roots = [path.dirname(input), path.dirname(output)];
  const files = new Files(null as never, roots);
  const result = {
    elapsed_ms: 0,
    bytes_read: 0,
    records_read: 0,
    kept: 0,
    train_examples: 0,
    validation_examples: 0,
    duplicate: 0,
  };
  if (mode !== 'idle') {
    const r =
      mode === 'halo'
        ? await prepareHaloRoutingDataset(files, { input, output, preference_pairs: true })
        : await prepareSeDarwinDataset(files, { input, output, fast_filter: mode !== 'se_darwin_full_parse' });
    Object.assign(result, {
      elapsed_ms: r.elapsed_ms,
      bytes_read: r.bytes_read,
      records_read: r.records_read,
      kept: r.kept,
      train_examples: r.train_examples,
      validation_examples: r.validation_examples,
      duplicate: r.dropped.duplicate,
    });
  }
  clearInterval(timer);
  const maxRss = process.resourceUsage().maxRSS; // KiB
  process.stdout.write(
    JSON.stringify({ ...result, max_rss_mb: Math.round(maxRss / 1024), sampled_rss_mb: Math.round(sampled / 1048576) }),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [flag, mode, input, output] = process.argv.slice(2);
  const main =
    flag === '--child'
      ? child(mode!, input!, output!)
      : benchDatasetPrep().then((r) => out(JSON.stringify(r, null, 2)));
  main.catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
