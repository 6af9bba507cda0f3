// The stdio transport: newline-delimited JSON-RPC on stdin/stdout, as the SDK's
// StdioServerTransport speaks it, except that a line the server cannot take is answered with a
// JSON-RPC error instead of being dropped (or, past 10 MB, ending the server silently): a line over
// the size cap (read no further than the cap, the rest skipped), a JSON-RPC batch (MCP removed
// batching in 2025-06-18), invalid JSON, or JSON that is not a JSON-RPC message. The server keeps
// serving after each.
import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';

/** The longest line (one JSON-RPC message) read from stdin: well above predict's 1.5 MB. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
/** How much of an oversized line's start and end is kept, to find its id. */
const WINDOW = 512;

type Id = string | number | null;

const mb = (bytes: number) => `${Number((bytes / (1024 * 1024)).toFixed(2))} MB`;

function headOf(parts: Buffer[], n: number): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  for (const p of parts) {
    if (size >= n) break;
    out.push(p.subarray(0, n - size));
    size += Math.min(p.length, n - size);
  }
  return Buffer.concat(out);
}

function tailOf(parts: Buffer[], n: number): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  for (let i = parts.length - 1; i >= 0 && size < n; i--) {
    const p = parts[i]!;
    out.unshift(p.subarray(Math.max(0, p.length - (n - size))));
    size += Math.min(p.length, n - size);
  }
  return Buffer.concat(out);
}

const ID = String.raw`(-?\d{1,20}|"(?:[^"\\]|\\.){0,200}")`;
const ID_AT_START = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}\s*[,}]`);
const ID_AT_END = new RegExp(String.raw`[,{]\s*"id"\s*:\s*${ID}\s*\}\s*$`);

/**
 * The id of a message seen only by its first and last bytes, when it sits at the top level at
 * either end (`{"jsonrpc":"2.0","id":7,...` or the SDK's `...,"jsonrpc":"2.0","id":7}`); else null.
 */
export function idOfWindows(head: string, tail: string): Id {
  const m = ID_AT_START.exec(head) ?? ID_AT_END.exec(tail.replace(/\r$/, ''));
  if (!m) return null;
  try {
    return JSON.parse(m[1]!) as string | number;
  } catch {
    return null;
  }
}

function idOf(value: unknown): Id {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
}

function errorResponse(id: Id, code: number, message: string) {
  return { jsonrpc: '2.0' as const, id, error: { code, message } };
}

export interface StdioOptions {
  /** Longest accepted line in bytes (default MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly maxLineBytes: number;
  private parts: Buffer[] = [];
  private size = 0;
  /** Skipping the rest of an oversized line: its size so far and its first and last bytes. */
  private skipping?: { size: number; head: Buffer; tail: Buffer };
  private started = false;

  constructor(
    private readonly stdin: Readable = process.stdin,
    private readonly stdout: Writable = process.stdout,
    opts: StdioOptions = {},
  ) {
    this.maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('StdioTransport already started');
    this.started = true;
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStdinError);
  }

  async send(message: JSONRPCMessage | JSONRPCMessage[]): Promise<void> {
    const line = `${JSON.stringify(message)}\n`;
    await new Promise<void>((resolve) => {
      if (this.stdout.write(line)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStdinError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.parts = [];
    this.size = 0;
    this.skipping = undefined;
    this.onclose?.();
  }

  private readonly onStdinError = (error: Error) => this.onerror?.(error);

  private readonly onData = (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start <= buf.length) {
      const nl = buf.indexOf(0x0a, start);
      const piece = buf.subarray(start, nl === -1 ? buf.length : nl);
      this.take(piece);
      if (nl === -1) break;
      this.endLine();
      start = nl + 1;
    }
  };

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.skipping) {
      this.skipping.size += piece.length;
      this.skipping.tail = tailOf([this.skipping.tail, piece], WINDOW);
      return;
    }
    if (this.size + piece.length <= this.maxLineBytes) {
      this.parts.push(piece);
      this.size += piece.length;
      return;
    }
    // Over the cap: keep only the ends (for the id) and skip the rest of the line.
    const all = [...this.parts, piece];
    this.skipping = { size: this.size + piece.length, head: headOf(all, WINDOW), tail: tailOf(all, WINDOW) };
    this.parts = [];
    this.size = 0;
  }

  private endLine(): void {
    if (this.skipping) {
      const { size, head, tail } = this.skipping;
      this.skipping = undefined;
      const message = `Request too large: this message is ${mb(size)}, over the ${mb(this.maxLineBytes)} limit for one stdio message (predict takes up to 1.5 MB of instances): send less per call`;
      this.onerror?.(new Error(message));
      void this.send(
        errorResponse(idOfWindows(head.toString('utf8'), tail.toString('utf8')), INVALID_REQUEST, message) as never,
      );
      return;
    }
    const line = Buffer.concat(this.parts, this.size).toString('utf8').replace(/\r$/, '');
    this.parts = [];
    this.size = 0;
    if (line.trim() === '') return;
    this.handleLine(line);
  }

  private handleLine(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.reject(null, PARSE_ERROR, 'Parse error: the line is not valid JSON (send one JSON-RPC message per line)');
      return;
    }
    if (Array.isArray(value)) {
      const message =
        'JSON-RPC batches are not supported: send each message on its own line (MCP removed batching in 2025-06-18)';
      const ids = value.map(idOf).filter((id): id is string | number => id !== null);
      this.onerror?.(new Error(message));
      // JSON-RPC answers a batch with an array: one error per request in it.
      void this.send(
        (ids.length
          ? ids.map((id) => errorResponse(id, INVALID_REQUEST, message))
          : errorResponse(null, INVALID_REQUEST, message)) as never,
      );
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      this.reject(
        idOf(value),
        INVALID_REQUEST,
        'Invalid Request: not a JSON-RPC 2.0 message (jsonrpc "2.0" with a method, or a result or error for an id)',
      );
      return;
    }
    try {
      this.onmessage?.(parsed.data);
    } catch (err) {
      this.onerror?.(err as Error);
    }
  }

  private reject(id: Id, code: number, message: string): void {
    this.onerror?.(new Error(message));
    void this.send(errorResponse(id, code, message) as never);
  }
}
