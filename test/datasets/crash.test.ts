// kill -9 of real processes running prepare_dataset re-runs into an existing output: at seeded random
// times during the run, and exactly at each commit step. After every kill a reader must see one
// run's set whole (train, validation and stats of the same run, as the manifest lists them), and
// after the next complete run no temporary or unpublished generation is left. Bounded: 2 lanes in
// parallel, 20 kills each; the child is bundled once with esbuild (tsx's) so each start costs ~0.1 s
// instead of ~0.6 s through tsx (the fallback, then 6 kills a lane): about 4 s on 2 cores.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateArchive } from '../../scripts/gen-archive.js';
import { rng } from '../../scripts/prng.js';
import {
  type CommitStep,
  checkDataset,
  prepareSeDarwinDataset,
  readDatasetManifest,
} from '../../src/lib/datasets/index.js';
import { localFiles, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
const STEPS: CommitStep[] = ['files-written', 'generation-renamed', 'manifest-published', 'cleaned'];
const LANES = 2;
/** Kills per lane: 20 with the bundled child, 6 through tsx. */
let KILLS_PER_LANE = 6;
const SEEDS = [1, 2, 3];

const tmp = tempDir('vertex-mcp-crash-');
/** How to start the child: its esbuild bundle (only node: imports) when esbuild is there, else tsx. */
let childCmd = ['--import', 'tsx', CHILD];
const files = localFiles(tmp);
let input = '';
const expected = new Map<number, { train: string; validation: string }>();

const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** The shared seeded PRNG (mulberry32, scripts/prng.ts). */
const prng = rng;

/** Runs the child; kills it `killAfterMs` after it printed "start" (if given). Resolves how it ended. */
function runChild(
  output: string,
  seed: number,
  opts: { killAfterMs?: number; step?: CommitStep } = {},
): Promise<{ completed: boolean; killed: boolean; runMs: number }> {
  return new Promise((resolve, reject) => {
    const args = [...childCmd, input, output, String(seed), ...(opts.step ? [opts.step] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let started = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!started && out.includes('start')) {
        started = performance.now();
        if (opts.killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`child exited ${code}: ${err}`));
      else
        resolve({
          completed: out.includes('done'),
          killed: signal === 'SIGKILL',
          runMs: started ? performance.now() - started : 0,
        });
    });
  });
}

/** The run whose set a reader sees, or a description of what is wrong with it. */
async function visibleRun(output: string): Promise<{ seed: number; generation: string } | { violation: string }> {
  const m = await readDatasetManifest(files, output);
  if (!m) return { violation: 'no manifest' };
  const train = m.files['train.jsonl'];
  const val = m.files['validation.jsonl'];
  const stats = m.files['stats.json'];
  if (!train || !val || !stats) return { violation: `files missing from the manifest: ${Object.keys(m.files)}` };
  for (const f of [train, val, stats]) {
    if (!fs.existsSync(f.uri)) return { violation: `${f.uri} is missing` };
    if (sha(f.uri) !== f.sha256) return { violation: `${f.uri} does not match the manifest` };
  }
  const seed = JSON.parse(fs.readFileSync(stats.uri, 'utf8')).options.seed as number;
  const want = expected.get(seed);
  if (!want || want.train !== train.sha256 || want.validation !== val.sha256) {
    return { violation: `train/validation are not the set of seed ${seed}` };
  }
  await checkDataset(files, { train_uri: train.uri, validation_uri: val.uri });
  return { seed, generation: m.generation };
}

/** Temporaries and unpublished generations left in an output. */
function leftovers(output: string): string[] {
  const m = JSON.parse(fs.readFileSync(path.join(output, 'manifest.json'), 'utf8'));
  const keep = new Set([m.generation, m.previous?.generation, 'manifest.json']);
  return fs.readdirSync(output).filter((e) => !keep.has(e));
}

beforeAll(async () => {
  try {
    const name = 'esbuild'; // tsx's own dependency; a variable, so the type check does not need it
    const { build } = (await import(name)) as { build(o: Record<string, unknown>): Promise<unknown> };
    const outfile = path.join(tmp, 'kill-child.mjs');
    await build({ entryPoints: [CHILD], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile });
    childCmd = [outfile];
    KILLS_PER_LANE = 20;
  } catch {
    // keep tsx
  }
  input = (await generateArchive({ out: path.join(tmp, 'gen'), mb: 4, seed: 21, fileMb: 1 })).archive_dir;
  for (const seed of SEEDS) {
    const r = await prepareSeDarwinDataset(files, {
      input,
      output: path.join(tmp, `expected-${seed}`),
      seed,
      validation_fraction: 0.25,
    });
    expected.set(seed, { train: sha(r.output.train_uri), validation: sha(r.output.validation_uri!) });
  }
}, 60_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('kill -9 during prepare_dataset re-runs', () => {
  it('leaves one whole set (old or new) after every kill, and nothing stale after the next run', async () => {
    const rand = prng(20250601);
    // Calibrate: how long one run takes in a child, from "start" to "done".
    const cal = await runChild(path.join(tmp, 'calibrate'), 1);
    expect(cal.completed).toBe(true);
    const runMs = cal.runMs;
    const plan = Array.from({ length: LANES }, (_, lane) =>
      Array.from({ length: KILLS_PER_LANE }, (_, k) => ({
        seed: SEEDS[(lane + k + 1) % SEEDS.length]!,
        // Even kills: at a random time in [0, 1.5 x run]; odd: exactly at a random commit step.
        ...(k % 2 === 0 ? { killAfterMs: Math.round(rand() * runMs * 1.5) } : { step: STEPS[Math.floor(rand() * 4)]! }),
      })),
    );
    const figures = { kills: 0, completedAnyway: 0, oldVisible: 0, newVisible: 0, violations: [] as string[] };
    await Promise.all(
      plan.map(async (kills, lane) => {
        const output = path.join(tmp, `lane-${lane}`);
        expect((await runChild(output, SEEDS[lane % SEEDS.length]!)).completed).toBe(true);
        let before = await visibleRun(output);
        for (const k of kills) {
          const r = await runChild(output, k.seed, k);
          if (r.killed) figures.kills++;
          else figures.completedAnyway++;
          const now = await visibleRun(output);
          if ('violation' in now) {
            figures.violations.push(`lane ${lane}, ${JSON.stringify(k)}: ${now.violation}`);
            continue;
          }
          if ('generation' in before && now.generation === before.generation) figures.oldVisible++;
          else if (now.seed === k.seed) figures.newVisible++;
          else figures.violations.push(`lane ${lane}: generation changed but is not seed ${k.seed}'s`);
          before = now;
        }
        // The next complete run removes everything the killed ones left.
        expect((await runChild(output, 1)).completed).toBe(true);
        expect(leftovers(output)).toEqual([]);
        expect(await visibleRun(output)).toMatchObject({ seed: 1 });
      }),
    );
    console.log(`crash test: ${JSON.stringify({ runMs: Math.round(runMs), ...figures })}`);
    expect(figures.violations).toEqual([]);
    expect(figures.kills + figures.completedAnyway).toBe(LANES * KILLS_PER_LANE);
    expect(figures.kills).toBeGreaterThanOrEqual(LANES * KILLS_PER_LANE * 0.6);
    expect(figures.oldVisible).toBeGreaterThan(0);
    expect(figures.newVisible).toBeGreaterThan(0);
  }, 60_000);
});
