// Budget (SPEC 9): cold start to a tools/list answer over stdio at most 1.1x
// @modelcontextprotocol/server-filesystem started the same way; no Google client loaded before the
// first call that needs it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { FILESYSTEM_SERVER, median, ROOT, RpcChild, serverArgs } from './util.js';

export interface ColdStartResult {
  runs: number;
  vertex_mcp_ms: number[];
  filesystem_ms: number[];
  vertex_mcp_median_ms: number;
  filesystem_median_ms: number;
  ratio: number;
  target_ratio: number;
  tools: { vertex_mcp: number; filesystem: number };
}

/** Spawn -> initialize -> notifications/initialized -> tools/list answer, in milliseconds. */
async function timeToToolsList(args: string[]): Promise<{ ms: number; tools: number }> {
  const t0 = performance.now();
  const child = new RpcChild(process.execPath, args);
  try {
    await child.initialize();
    const r = await child.request('tools/list');
    const ms = performance.now() - t0;
    return { ms, tools: (r.msg.result?.tools ?? []).length };
  } finally {
    await child.close();
  }
}

export async function coldStart(runs = 7): Promise<ColdStartResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vertex-mcp-bench-fs-'));
  const ours = serverArgs();
  const theirs = [FILESYSTEM_SERVER, dir];
  try {
    // One discarded start of each, so both find their files in the page cache.
    await timeToToolsList(ours);
    await timeToToolsList(theirs);
    const a: number[] = [];
    const b: number[] = [];
    let tools = { vertex_mcp: 0, filesystem: 0 };
    for (let i = 0; i < runs; i++) {
      // Alternate (and swap who goes first) so drift on a noisy machine hits both alike.
      const order = i % 2 === 0 ? (['ours', 'theirs'] as const) : (['theirs', 'ours'] as const);
      for (const who of order) {
        const r = await timeToToolsList(who === 'ours' ? ours : theirs);
        if (who === 'ours') {
          a.push(r.ms);
          tools = { ...tools, vertex_mcp: r.tools };
        } else {
          b.push(r.ms);
          tools = { ...tools, filesystem: r.tools };
        }
      }
    }
    const ma = median(a);
    const mb = median(b);
    return {
      runs,
      vertex_mcp_ms: a,
      filesystem_ms: b,
      vertex_mcp_median_ms: ma,
      filesystem_median_ms: mb,
      ratio: ma / mb,
      target_ratio: 1.1,
      tools,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ModuleCheckResult {
  /** Google client modules (files) loaded when tools/list has been answered. */
  at_tools_list: string[];
  /** The same after the first tool call that needs Vertex AI (the control: the trace does see them). */
  after_first_call: string[];
  /** Package -> file count, after the first call. */
  after_first_call_packages: Record<string, number>;
  modules_at_tools_list: number;
}

/** The packages that make up the Google clients and their transport. */
const GOOGLE =
  /[\\/]node_modules[\\/]((?:@google-cloud[\\/][^\\/]+)|google-gax|google-auth-library|gcp-metadata|gtoken|googleapis-common|(?:@grpc[\\/][^\\/]+)|protobufjs|proto3-json-serializer)[\\/]/;

function googlePackage(file: string): string | undefined {
  return GOOGLE.exec(file)?.[1]?.replace(/\\/g, '/');
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
 * Starts the server with the module trace preloaded, asks for tools/list, snapshots the loaded
 * modules, then makes one call that needs Vertex AI (get_model of an unknown model: the emulator
 * starts and the ModelService client is created) and snapshots again.
 */
export async function googleModulesAtToolsList(): Promise<ModuleCheckResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vertex-mcp-bench-mod-'));
  const base = path.join(dir, 'trace');
  const loader = pathToFileURL(path.join(ROOT, 'dist', 'bench', 'modtrace.js')).href;
  const env = {
    ...process.env,
    BENCH_MODTRACE: base,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${loader}`.trim(),
  };
  const child = new RpcChild(process.execPath, serverArgs(), env);
  try {
    await child.initialize();
    await child.request('tools/list');
    const before = await snapshot(child, `${base}.1.json`);
    await child.request('tools/call', { name: 'get_model', arguments: { name: 'bench-no-such-model' } }, 60_000);
    const after = await snapshot(child, `${base}.2.json`);
    const g = (files: string[]) => files.filter((f) => googlePackage(f) !== undefined);
    const packages: Record<string, number> = {};
    for (const f of g(after)) {
      const p = googlePackage(f)!;
      packages[p] = (packages[p] ?? 0) + 1;
    }
    return {
      at_tools_list: g(before).map((f) => path.relative(ROOT, f)),
      after_first_call: g(after).map((f) => path.relative(ROOT, f)),
      after_first_call_packages: packages,
      modules_at_tools_list: before.length,
    };
  } finally {
    await child.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
