// Shared by the reliability tests: scale and seed, a seeded PRNG, figures on stderr, in-process
// stacks with a real data directory and allowed roots, spawned CLI servers and emulators, routers
// that the emulator can serve, and an agent that retries failed calls a bounded number of times.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { rng } from '../../scripts/prng.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { train } from '../../src/emulator/runtime/index.js';
import { type BackendConfig, createLibrary, type Library, VertexClients } from '../../src/lib/index.js';
import { createServer } from '../../src/server.js';
import { AGENTS } from '../fixtures/routing.js';
import { emulatorBackend, type ToolResult } from '../helpers.js';
import { type CheckOptions, type CheckResult, checkInvariants } from './invariants.js';

/** RELIABILITY_SCALE multiplies every count (calls, kills, runs); CI runs at 1. */
export const SCALE = Math.max(0.1, Number(process.env.RELIABILITY_SCALE ?? 1) || 1);
/** RELIABILITY_SEED changes every seeded choice; the default is what CI runs. */
export const SEED = Number(process.env.RELIABILITY_SEED ?? 9_090_909) >>> 0;

export const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE));

export const CLI = path.resolve('dist/src/cli.js');

/** The shared seeded PRNG (mulberry32, scripts/prng.ts). */
export const prng = rng;

/** Prints one file's figures on stderr as one line of JSON (CI logs keep them). */
export function figures(file: string, data: Record<string, unknown>): void {
  process.stderr.write(`[reliability] ${file} ${JSON.stringify({ scale: SCALE, seed: SEED, ...data })}\n`);
}

const dirs: string[] = [];
/** A fresh directory under the OS temp dir, removed by cleanupDirs(). */
export function tmpDir(prefix: string): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `vertex-mcp-rel-${prefix}-`)));
  dirs.push(d);
  return d;
}
export function cleanupDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export const textOf = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');

/**
 * The error code of an isError result: ours are "CODE: message"; the SDK's own input validation is
 * "MCP error -32602: ..." (InvalidParams, i.e. INVALID_ARGUMENT). null when the text has neither.
 */
export function errorCode(r: ToolResult): string | null {
  const t = textOf(r);
  const ours = /^([A-Z][A-Z_]+):/.exec(t);
  if (ours) return ours[1]!;
  const sdk = /^MCP error (-?\d+):/.exec(t);
  if (sdk) return sdk[1] === '-32602' ? 'INVALID_PARAMS' : `MCP_${sdk[1]}`;
  return null;
}

export const TRANSIENT = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'ABORTED', 'RESOURCE_EXHAUSTED']);

// ---------------------------------------------------------------------------------------------
// Servable routers

const NAMES = Object.keys(AGENTS);

/** The i-th routing task and its right agent. */
export function task(i: number): { text: string; agent: string } {
  const agent = NAMES[i % NAMES.length]!;
  const ps = AGENTS[agent]!;
  return { text: `${ps[Math.floor(i / NAMES.length) % ps.length]} item ${i}`, agent };
}

const artifacts = new Map<number, string>();
/** A small trained local/text-router artifact (JSON), cached per seed. */
export function routerArtifact(seed = 1): string {
  let a = artifacts.get(seed);
  if (!a) {
    const examples = [];
    for (let i = 0; i < 120; i++) examples.push({ input: task(i).text, output: task(i).agent });
    const { artifact } = train(
      { train: examples },
      { baseModel: 'local/text-router', method: 'supervised', epochs: 2, learningRate: 0.05, batchSize: 16, seed },
    );
    a = JSON.stringify(artifact);
    artifacts.set(seed, a);
  }
  return a;
}

/** Writes a router artifact into the emulator's GCS; returns the artifact directory. */
export async function putRouter(emu: Emulator, dir: string, seed = 1): Promise<string> {
  const uri = `gs://vertex-mcp-emulator/${dir}`;
  await emu.gcs.write(`${uri}/model.json`, routerArtifact(seed));
  return uri;
}

/** Arguments of upload_model for a servable router version. */
export function routerArgs(name: string, version: string, artifactUri: string, extra: Record<string, unknown> = {}) {
  return { name, version, serving_container_uri: 'local/text-router', artifact_uri: artifactUri, ...extra };
}

/** JSONL of routing examples in the Gemini tuning format, lines [from, to). */
export function routingJsonl(from: number, to: number): string {
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    const t = task(i);
    out.push(
      JSON.stringify({
        contents: [
          { role: 'user', parts: [{ text: t.text }] },
          { role: 'model', parts: [{ text: t.agent }] },
        ],
      }),
    );
  }
  return `${out.join('\n')}\n`;
}

/** A HALO routing-decision log: `n` decisions, mostly successful, a few duplicates and bad lines. */
export function haloLog(n: number, salt = 0): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = task(i + salt);
    out.push(JSON.stringify({ task: t.text, agent: t.agent, success: i % 7 !== 3, latency_ms: 10 + (i % 50) }));
    if (i % 97 === 5) out.push('{not json');
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// In-process stacks

export interface RStack {
  emu: Emulator;
  lib: Library;
  backend: BackendConfig;
  /** Official clients straight to the emulator (the invariants read through them). */
  clients: VertexClients;
  client: Client;
  /** The data directory shared by the emulator and the server's ledger, as the CLI lays it out. */
  dataDir: string;
  /** Tool names the server lists (features still being built are used only when listed). */
  tools: Set<string>;
  call(name: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<ToolResult>;
  ok(name: string, args?: Record<string, unknown>): Promise<Record<string, any>>;
  /** The invariants (invariants.ts), with the stage get_model reports through this stack's library. */
  check(o?: Omit<CheckOptions, 'clients'>): Promise<CheckResult>;
  close(): Promise<void>;
}

export interface RStackOptions {
  /** Default: a fresh temporary directory. */
  dataDir?: string;
  /** Directories local paths may use; default [dataDir's parent], like the CLI's default roots. */
  allowedRoots?: string[];
  /** Wraps the emulator's backend (golden: a recording proxy; faults: a flaky GCS). */
  backend?: (emu: Emulator, base: BackendConfig) => BackendConfig | Promise<BackendConfig>;
  faults?: string;
}

export async function startRStack(opts: RStackOptions = {}): Promise<RStack> {
  const dataDir = opts.dataDir ?? path.join(tmpDir('stack'), 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const emu = await startEmulator({ dataDir });
  if (opts.faults) emu.setFaults(opts.faults);
  const base = emulatorBackend(emu);
  const backend = opts.backend ? await opts.backend(emu, base) : base;
  const lib = createLibrary(backend, { dataDir, allowedRoots: opts.allowedRoots ?? [path.dirname(dataDir), dataDir] });
  const mcp = createServer({ backend, lib });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'reliability', version: '1.0.0' });
  await Promise.all([mcp.server.connect(serverSide), client.connect(clientSide)]);
  const tools = new Set((await client.listTools()).tools.map((t) => t.name));
  const clients = new VertexClients(emulatorBackend(emu));
  const call = async (name: string, args: Record<string, unknown> = {}, timeoutMs = 60_000) =>
    (await client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs })) as ToolResult;
  return {
    emu,
    lib,
    backend,
    clients,
    client,
    dataDir,
    tools,
    call,
    async ok(name, args) {
      const r = await call(name, args);
      if (r.isError) throw new Error(`${name} failed: ${textOf(r)}`);
      return r.structuredContent ?? {};
    },
    check: (o = {}) =>
      checkInvariants({
        clients,
        reportedStage: async (n, v) => (await lib.registry.getModel(n, v)).deployment_stage,
        ...o,
      }),
    async close() {
      await client.close().catch(() => {});
      await clients.close().catch(() => {});
      await mcp.close().catch(() => {});
      await lib.close().catch(() => {});
      await emu.close().catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The retrying agent

export interface AgentLog {
  calls: number;
  attempts: number;
  transientFailures: number;
  /** Calls that failed with a non-transient error after a transient one: the retry did not converge. */
  diverged: { tool: string; args: string; history: string[] }[];
  /** Calls still failing transiently after the last attempt. */
  gaveUp: { tool: string; history: string[] }[];
}

export function newAgentLog(): AgentLog {
  return { calls: 0, attempts: 0, transientFailures: 0, diverged: [], gaveUp: [] };
}

/**
 * Calls a tool like a careful agent on a flaky network: a transient failure (UNAVAILABLE,
 * DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED) is retried up to `attempts` times; anything else
 * ends the call. A non-transient failure after a transient one is logged as a divergence (the
 * retry of an ambiguous failure must converge). Returns the last result.
 */
export async function agentCall(
  call: (name: string, args: Record<string, unknown>) => Promise<ToolResult>,
  log: AgentLog,
  name: string,
  args: Record<string, unknown>,
  attempts = 15,
): Promise<ToolResult> {
  log.calls++;
  const history: string[] = [];
  for (let i = 1; ; i++) {
    log.attempts++;
    const r = await call(name, args);
    if (!r.isError) return r;
    const code = errorCode(r) ?? 'NO_CODE';
    history.push(`${code}: ${textOf(r).slice(0, 200)}`);
    if (!TRANSIENT.has(code)) {
      if (i > 1) log.diverged.push({ tool: name, args: JSON.stringify(args).slice(0, 300), history });
      return r;
    }
    log.transientFailures++;
    if (i >= attempts) {
      log.gaveUp.push({ tool: name, history });
      return r;
    }
    await new Promise((res) => setTimeout(res, 20 * i));
  }
}

// ---------------------------------------------------------------------------------------------
// Spawned CLI processes

export interface Spawned {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  stderr: () => string;
  call(name: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<ToolResult>;
  close(): Promise<void>;
}

/** `node dist/src/cli.js serve ...args` over stdio, with an MCP client connected. */
export async function spawnServer(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Spawned> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', '--log-level', 'warn', ...args],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stderr: 'pipe',
    ...(cwd ? { cwd } : {}),
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const client = new Client({ name: 'reliability-stdio', version: '1' });
  await client.connect(transport);
  const pid = transport.pid;
  if (!pid) throw new Error('the spawned server has no pid');
  return {
    client,
    transport,
    pid,
    stderr: () => err,
    call: async (name, a = {}, timeoutMs = 60_000) =>
      (await client.callTool({ name, arguments: a }, undefined, { timeout: timeoutMs })) as ToolResult,
    close: async () => {
      await client.close().catch(() => {});
      await waitGone(pid);
    },
  };
}

/** SIGKILL and wait until the process is gone (reaped), so its lock reads as stale. */
export async function kill9(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await waitGone(pid);
}

export async function waitGone(pid: number, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} did not exit`);
}

export interface SpawnedEmulator {
  proc: ChildProcessWithoutNullStreams;
  pid: number;
  /** The line `vertex-mcp emulator` prints, parsed. */
  info: { grpc: string; gcs: string; endpoint: string; data_dir: string } & Record<string, unknown>;
  host: string;
  grpcPort: number;
  httpPort: number;
  /** The secret both ports require, when it was started with one (--emulator-token). */
  token?: string;
}

let tokenFlag: boolean | undefined;
/** Whether `vertex-mcp emulator` takes --emulator-token (a per-start secret on both ports). */
export function emulatorTakesToken(): boolean {
  tokenFlag ??= spawnSync(process.execPath, [CLI, 'emulator', '--help'], { encoding: 'utf8' }).stdout.includes(
    '--emulator-token',
  );
  return tokenFlag;
}

/**
 * `node dist/src/cli.js emulator --data-dir dir ...args`; resolves once it printed its endpoint.
 * With `token`, the emulator requires it on both ports.
 */
export async function spawnEmulator(dataDir: string, args: string[] = [], token?: string): Promise<SpawnedEmulator> {
  const withToken = token ? ['--emulator-token', token] : [];
  const proc = spawn(
    process.execPath,
    [CLI, 'emulator', '--data-dir', dataDir, '--log-level', 'warn', ...withToken, ...args],
    {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() },
    },
  );
  let err = '';
  proc.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-5000);
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        proc.stdout.off('data', onData);
        resolve(out.slice(0, nl));
      }
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${err}`)));
  });
  const info = JSON.parse(line) as SpawnedEmulator['info'];
  const [host, grpcPort] = info.grpc.split(':');
  return {
    proc,
    pid: proc.pid!,
    info,
    host: host!,
    grpcPort: Number(grpcPort),
    httpPort: Number(new URL(info.gcs).port),
    ...(token ? { token } : {}),
  };
}

/** The CLI flags that point a server at a spawned emulator (with its secret, when it has one). */
export function emulatorClientConfig(e: SpawnedEmulator): { args: string[]; env: Record<string, string> } {
  return { args: ['--emulator-endpoint', e.info.endpoint, ...(e.token ? ['--emulator-token', e.token] : [])], env: {} };
}

/** A BackendConfig for a spawned emulator (official clients pointed at it; `anonymous`: without its secret). */
export function spawnedBackend(e: SpawnedEmulator, project = 'vertex-mcp-local', anonymous = false): BackendConfig {
  return {
    kind: 'emulator',
    endpoint: async () => ({
      host: e.host,
      grpcPort: e.grpcPort,
      httpPort: e.httpPort,
      ...(e.token && !anonymous ? { token: e.token } : {}),
    }),
    project,
    location: 'us-central1',
  };
}

/** Runs `fn` with an in-process emulator opened on a data directory (after a crash), then closes it. */
export async function withEmulatorOn<T>(dataDir: string, fn: (emu: Emulator) => Promise<T>): Promise<T> {
  const emu = await startEmulator({ dataDir });
  try {
    return await fn(emu);
  } finally {
    await emu.close();
  }
}

/** Promise.race with a timeout that resolves to `onTimeout`. */
export async function within<T, U>(p: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<U>((r) => {
    timer = setTimeout(() => r(onTimeout), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
