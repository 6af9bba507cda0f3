// Shared helpers for the benchmarks: statistics, a table printer, and a minimal line-delimited
// JSON-RPC client over a child's stdin/stdout (so start-up is timed from spawn, with nothing but
// the bytes on the pipe in between).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
export const FILESYSTEM_SERVER = path.join(
  ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'server-filesystem',
  'dist',
  'index.js',
);

/** The vertex-mcp server as the benchmarks start it: stdio, in-memory emulator state, no logs. */
export const serverArgs = (...extra: string[]) => [
  CLI,
  'serve',
  '--data-dir',
  ':memory:',
  '--log-level',
  'silent',
  ...extra,
];

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Linear interpolation between closest ranks (the usual "p50/p99" of benchmark tools). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

export const round = (x: number, digits = 3) => Number(x.toFixed(digits));
export const ms = (x: number) => `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3)} ms`;
export const ratio = (x: number) => `${x.toFixed(2)}x`;
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** Prints rows as an aligned text table (first column left-aligned, the others right-aligned). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export const out = (s = '') => process.stdout.write(`${s}\n`);

export interface RpcResponse {
  /** The parsed JSON-RPC message. */
  msg: { id: number; result?: any; error?: { code: number; message: string } };
  /** The line exactly as it came over the pipe (without the newline). */
  raw: string;
}

/** A child process spoken to with newline-delimited JSON-RPC (the MCP stdio framing). */
export class RpcChild {
  readonly proc: ChildProcess;
  stderr = '';
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: RpcResponse) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => this.onData(chunk));
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (chunk: string) => {
      if (this.stderr.length < 64_000) this.stderr += chunk;
    });
    this.proc.stdin!.on('error', () => {}); // EPIPE when the child died; reported via 'exit'
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code) => {
        const err = new Error(
          `${path.basename(args[0] ?? command)} exited (${code}): ${this.stderr.trim().slice(-800)}`,
        );
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        resolve(code);
      });
      this.proc.once('error', (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        resolve(null);
      });
    });
  }

  request(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<RpcResponse> {
    const id = this.nextId++;
    return new Promise<RpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms; stderr: ${this.stderr.slice(-800)}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          if (r.msg.error) reject(new Error(`${method}: ${r.msg.error.code} ${r.msg.error.message}`));
          else resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  notify(method: string, params: Record<string, unknown> = {}): void {
    this.proc.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  }

  /** initialize + notifications/initialized, as a client with no capabilities. */
  async initialize(): Promise<RpcResponse> {
    const r = await this.request('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'vertex-mcp-bench', version: '1.0.0' },
    });
    this.notify('notifications/initialized');
    return r;
  }

  /** Closes stdin (the stdio way to say goodbye), then SIGTERM, then SIGKILL. */
  async close(graceMs = 2_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin!.end();
    const timeout = (t: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), t).unref());
    if ((await Promise.race([this.exited, timeout(graceMs)])) !== 'timeout') return;
    this.proc.kill('SIGTERM');
    if ((await Promise.race([this.exited, timeout(graceMs)])) !== 'timeout') return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      const raw = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
      if (!raw.trim()) continue;
      let msg: any;
      try {
        msg = JSON.parse(raw);
      } catch {
        continue; // not protocol output
      }
      if (typeof msg?.id === 'number' && ('result' in msg || 'error' in msg)) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve({ msg, raw });
      }
    }
  }
}
