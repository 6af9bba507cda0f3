// Budget (SPEC 9): cold start to a tools/list answer over stdio at most 0.85x
// @modelcontextprotocol/server-filesystem started the same way; no Google client loaded before the
// first call that needs it.
// The main figure is the bundled CLI (dist/bundle/bin/cli.js, the package's `bin`: what users run);
// the tsc output (dist/src/cli.js) is measured in the same interleaved runs for comparison.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CLI, FILESYSTEM_SERVER, kb, median, ms, ROOT, RpcChild, ratio, serverArgs, table } from './util.js';

/** The bundled CLI (scripts/bundle.ts), as `npm i vertex-mcp` installs it. */
export const BUNDLED_CLI = path.join(ROOT, 'dist', 'bundle', 'bin', 'cli.js');
/** The tsc output, for comparison. */
export const UNBUNDLED_CLI = CLI;

/** serverArgs() with another entry point. */
const argsFor = (cli: string) => [cli, ...serverArgs().slice(1)];

function requireBundle(): void {
  if (!existsSync(BUNDLED_CLI)) throw new Error(`${path.relative(ROOT, BUNDLED_CLI)} is missing: run npm run build`);
}

export interface ColdStartResult {
  runs: number;
  /** The bundled CLI (the main figure). */
  vertex_mcp_ms: number[];
  filesystem_ms: number[];
  vertex_mcp_median_ms: number;
  filesystem_median_ms: number;
  /** Bundled median / baseline median. */
  ratio: number;
  target_ratio: number;
  /** dist/src/cli.js (tsc output, not bundled), same runs. */
  unbundled_ms: number[];
  unbundled_median_ms: number;
  unbundled_ratio: number;
  tools: { vertex_mcp: number; unbundled: number; filesystem: number };
  /**
   * Median CPU time to the tools/list answer (Linux /proc; null elsewhere): bundled, tsc output,
   * baseline, and bundled / baseline. A steadier view on a busy machine than wall time.
   */
  cpu_median_ms: { vertex_mcp: number; unbundled: number; filesystem: number } | null;
  cpu_ratio: number | null;
}

/**
 * CPU time (user + system, all threads) a process has used so far, in milliseconds, from
 * /proc/<pid>/stat (Linux; 10 ms ticks); undefined elsewhere. Less sensitive than wall time to
 * other work on a shared machine.
 */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Spawn -> initialize -> notifications/initialized -> tools/list answer: wall and CPU milliseconds. */
async function timeToToolsList(args: string[]): Promise<{ ms: number; cpu?: number; tools: number }> {
  const t0 = performance.now();
  const child = new RpcChild(process.execPath, args);
  try {
    await child.initialize();
    const r = await child.request('tools/list');
    const ms = performance.now() - t0;
    const cpu = cpuMs(child.proc.pid);
    return { ms, ...(cpu === undefined ? {} : { cpu }), tools: (r.msg.result?.tools ?? []).length };
  } finally {
    await child.close();
  }
}

export async function coldStart(runs = 7): Promise<ColdStartResult> {
  requireBundle();
  const dir = mkdtempSync(path.join(tmpdir(), 'vertex-mcp-bench-fs-'));
  const who = {
    bundled: argsFor(BUNDLED_CLI),
    unbundled: argsFor(UNBUNDLED_CLI),
    filesystem: [FILESYSTEM_SERVER, dir],
  };
  const names = Object.keys(who) as (keyof typeof who)[];
  try {
    // One discarded start of each, so all find their files in the page cache.
    for (const n of names) await timeToToolsList(who[n]);
    const times: Record<keyof typeof who, number[]> = { bundled: [], unbundled: [], filesystem: [] };
    const cpu: Record<keyof typeof who, number[]> = { bundled: [], unbundled: [], filesystem: [] };
    const tools: Record<keyof typeof who, number> = { bundled: 0, unbundled: 0, filesystem: 0 };
    for (let i = 0; i < runs; i++) {
      // Interleaved, each in every position in turn, so drift on a noisy machine hits all alike.
      const order = names.map((_, k) => names[(i + k) % names.length]!);
      for (const n of order) {
        const r = await timeToToolsList(who[n]);
        times[n].push(r.ms);
        if (r.cpu !== undefined) cpu[n].push(r.cpu);
        tools[n] = r.tools;
      }
    }
    const base = median(times.filesystem);
    return {
      runs,
      vertex_mcp_ms: times.bundled,
      filesystem_ms: times.filesystem,
      vertex_mcp_median_ms: median(times.bundled),
      filesystem_median_ms: base,
      ratio: median(times.bundled) / base,
      target_ratio: 0.85,
      unbundled_ms: times.unbundled,
      unbundled_median_ms: median(times.unbundled),
      unbundled_ratio: median(times.unbundled) / base,
      tools: { vertex_mcp: tools.bundled, unbundled: tools.unbundled, filesystem: tools.filesystem },
      cpu_median_ms: cpu.bundled.length
        ? { vertex_mcp: median(cpu.bundled), unbundled: median(cpu.unbundled), filesystem: median(cpu.filesystem) }
        : null,
      cpu_ratio: cpu.bundled.length ? median(cpu.bundled) / median(cpu.filesystem) : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ModuleCheckResult {
  /** Google client modules (files) loaded when tools/list has been answered (bundled CLI). */
  at_tools_list: string[];
  /** The same after the first tool call that needs Vertex AI (the control: the trace does see them). */
  after_first_call: string[];
  /** Package -> file count, after the first call. */
  after_first_call_packages: Record<string, number>;
  /** Modules (files and node: built-ins) loaded before the tools/list answer, bundled CLI. */
  modules_at_tools_list: number;
  /** Of which files of the bundle, and their bytes. */
  bundle_files_at_tools_list: number;
  bundle_bytes_at_tools_list: number;
  /** The same count for the tsc output (dist/src/cli.js), and its largest packages. */
  unbundled_modules_at_tools_list: number;
  unbundled_packages_at_tools_list: Record<string, number>;
  /** Google modules loaded at tools/list by the tsc output (must be none too). */
  unbundled_google_at_tools_list: string[];
}

/** The packages that make up the Google clients and their transport. */
const GOOGLE =
  /[\\/]node_modules[\\/]((?:@google-cloud[\\/][^\\/]+)|google-gax|google-auth-library|gcp-metadata|gtoken|googleapis-common|(?:@grpc[\\/][^\\/]+)|protobufjs|proto3-json-serializer)[\\/]/;

function googlePackage(file: string): string | undefined {
  return GOOGLE.exec(file)?.[1]?.replace(/\\/g, '/');
}

/** The package a loaded file belongs to: `zod`, `@modelcontextprotocol/sdk`, `node:` or the repo folder. */
function packageOf(file: string): string {
  if (file.startsWith('node:')) return 'node:';
  const m = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(file);
  if (m) return m[1]!.replace(/\\/g, '/');
  return path.relative(ROOT, file).split(path.sep).slice(0, 2).join('/');
}

async function snapshot(child: RpcChild, file: string): Promise<string[]> {
  child.proc.kill('SIGUSR2');
  const deadline = Date.now() + 5_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`module trace: no snapshot ${file}; stderr: ${child.stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const { esm, cjs } = JSON.parse(readFileSync(file, 'utf8')) as { esm: string[]; cjs: string[] };
  const files = [...esm.map((u) => (u.startsWith('file:') ? new URL(u).pathname : u)), ...cjs];
  return [...new Set(files)];
}

/**
 * Starts `cli` with the module trace preloaded, asks for tools/list and snapshots the loaded
 * modules; with `firstCall`, then makes one call that needs Vertex AI (get_model of an unknown
 * model: the emulator starts and the ModelService client is created) and snapshots again.
 */
async function traceModules(cli: string, firstCall: boolean): Promise<{ before: string[]; after: string[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vertex-mcp-bench-mod-'));
  const base = path.join(dir, 'trace');
  const loader = pathToFileURL(path.join(ROOT, 'dist', 'bench', 'modtrace.js')).href;
  const env = {
    ...process.env,
    BENCH_MODTRACE: base,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${loader}`.trim(),
  };
  const child = new RpcChild(process.execPath, argsFor(cli), env);
  try {
    await child.initialize();
    await child.request('tools/list');
    const before = await snapshot(child, `${base}.1.json`);
    if (!firstCall) return { before, after: before };
    await child.request('tools/call', { name: 'get_model', arguments: { name: 'bench-no-such-model' } }, 60_000);
    return { before, after: await snapshot(child, `${base}.2.json`) };
  } finally {
    await child.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What the bundled CLI has loaded when it answers tools/list (no Google module; how many modules),
 * the control after its first get_model call, and the same count for the tsc output.
 */
export async function googleModulesAtToolsList(): Promise<ModuleCheckResult> {
  requireBundle();
  const bundled = await traceModules(BUNDLED_CLI, true);
  const unbundled = await traceModules(UNBUNDLED_CLI, false);
  const g = (files: string[]) => files.filter((f) => googlePackage(f) !== undefined);
  const packages: Record<string, number> = {};
  for (const f of g(bundled.after)) {
    const p = googlePackage(f)!;
    packages[p] = (packages[p] ?? 0) + 1;
  }
  const bundleDir = path.dirname(BUNDLED_CLI) + path.sep;
  const bundleFiles = bundled.before.filter((f) => f.startsWith(bundleDir));
  const unbundledPackages: Record<string, number> = {};
  for (const f of unbundled.before) unbundledPackages[packageOf(f)] = (unbundledPackages[packageOf(f)] ?? 0) + 1;
  return {
    at_tools_list: g(bundled.before).map((f) => path.relative(ROOT, f)),
    after_first_call: g(bundled.after).map((f) => path.relative(ROOT, f)),
    after_first_call_packages: packages,
    modules_at_tools_list: bundled.before.length,
    bundle_files_at_tools_list: bundleFiles.length,
    bundle_bytes_at_tools_list: bundleFiles.reduce((n, f) => n + statSync(f).size, 0),
    unbundled_modules_at_tools_list: unbundled.before.length,
    unbundled_packages_at_tools_list: Object.fromEntries(Object.entries(unbundledPackages).sort((a, b) => b[1] - a[1])),
    unbundled_google_at_tools_list: g(unbundled.before).map((f) => path.relative(ROOT, f)),
  };
}

/** Section 1 of `npm run bench`, as printed lines: the timings, the ratio, what loaded before tools/list. */
export function coldStartLines(cold: ColdStartResult, mods: ModuleCheckResult): string[] {
  const row = (name: string, xs: number[], tools: number) => [
    name,
    ms(median(xs)),
    ms(Math.min(...xs)),
    ms(Math.max(...xs)),
    tools,
    xs.length,
  ];
  const within = cold.ratio <= cold.target_ratio ? 'within budget' : 'OVER BUDGET';
  const top = Object.entries(mods.unbundled_packages_at_tools_list)
    .slice(0, 6)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  const pk = Object.entries(mods.after_first_call_packages)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  return [
    table(
      ['server (serve --data-dir :memory:)', 'median', 'min', 'max', 'tools', 'runs'],
      [
        row('vertex-mcp, bundled (dist/bundle/bin/cli.js: the bin)', cold.vertex_mcp_ms, cold.tools.vertex_mcp),
        row('vertex-mcp, tsc output (dist/src/cli.js)', cold.unbundled_ms, cold.tools.unbundled),
        row('baseline: @modelcontextprotocol/server-filesystem', cold.filesystem_ms, cold.tools.filesystem),
      ],
    ),
    `ratio (median / baseline median): bundled ${ratio(cold.ratio)} (target <= ${cold.target_ratio}x: ${within}); tsc output ${ratio(cold.unbundled_ratio)}`,
    ...(cold.cpu_median_ms
      ? [
          `CPU time to the answer (medians): bundled ${ms(cold.cpu_median_ms.vertex_mcp)}, tsc output ${ms(cold.cpu_median_ms.unbundled)}, ` +
            `baseline ${ms(cold.cpu_median_ms.filesystem)}: bundled ${ratio(cold.cpu_ratio!)} (steadier than wall time on a busy machine)`,
        ]
      : []),
    `modules loaded before the tools/list answer: bundled ${mods.modules_at_tools_list} (${mods.bundle_files_at_tools_list} bundle files, ${kb(mods.bundle_bytes_at_tools_list)}; the rest node: built-ins); ` +
      `tsc output ${mods.unbundled_modules_at_tools_list} (${top}, ...)`,
    `google modules loaded at tools/list: ${mods.at_tools_list.length} bundled, ${mods.unbundled_google_at_tools_list.length} tsc output` +
      `${mods.at_tools_list.length ? ` (${mods.at_tools_list.join(', ')})` : ''}`,
    `control: google modules loaded after the first get_model call: ${mods.after_first_call.length} (${pk || 'none'})`,
  ];
}
