// The one place where failures become messages an agent can act on. Google/gRPC errors are mapped
// by status code to a short sentence with what to do next; only idempotent reads are retried, within
// a time budget. Texts are capped: an error never echoes a whole (possibly huge) input.

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'ABORTED'
  | 'CONFIRMATION_REQUIRED'
  | 'INTERNAL';

/** The longest message (and, separately, hint) an error carries, in UTF-8 bytes. */
export const MAX_ERROR_MESSAGE_BYTES = 1024;
export const MAX_ERROR_HINT_BYTES = 512;

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes, ending with "… (N bytes)" (N: the whole text's
 * size) when it was cut. Never splits a character.
 */
export function capText(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text; // a UTF-16 unit is at most 3 UTF-8 bytes
  const total = Buffer.byteLength(text);
  if (total <= maxBytes) return text;
  const suffix = `… (${total} bytes)`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(suffix));
  let head = text.slice(0, room);
  for (let over = Buffer.byteLength(head) - room; over > 0; over = Buffer.byteLength(head) - room) {
    head = head.slice(0, head.length - Math.ceil(over / 3));
  }
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1); // half a surrogate pair
  return `${head}${suffix}`;
}

/** An error whose message is safe and useful to show an agent as is (and short: see capText). */
export class VertexMcpError extends Error {
  /** What to do about it, when there is something better than retrying. */
  readonly hint?: string;

  constructor(
    readonly code: ErrorCode,
    message: string,
    hint?: string,
  ) {
    super(capText(message, MAX_ERROR_MESSAGE_BYTES));
    this.name = 'VertexMcpError';
    if (hint !== undefined) this.hint = capText(hint, MAX_ERROR_HINT_BYTES);
  }

  /** "message. hint" — the text a tool result shows. */
  get text(): string {
    return this.hint ? `${this.message}. ${this.hint}` : this.message;
  }
}

export const invalid = (message: string, hint?: string) => new VertexMcpError('INVALID_ARGUMENT', message, hint);
export const notFound = (message: string, hint?: string) => new VertexMcpError('NOT_FOUND', message, hint);
export const precondition = (message: string, hint?: string) =>
  new VertexMcpError('FAILED_PRECONDITION', message, hint);

// gRPC status numbers (google.rpc.Code), so this module needs no gRPC import at start-up.
const GRPC_CODES: Record<number, ErrorCode> = {
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  PERMISSION_DENIED:
    'The credentials lack a Vertex AI role on this project: grant roles/aiplatform.user (or check --project)',
  UNAUTHENTICATED:
    'Authenticate with `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file',
  RESOURCE_EXHAUSTED: 'Quota or rate limit reached: wait and retry, or request more quota for this region',
  UNAVAILABLE: 'Vertex AI is unreachable right now: retry in a few seconds',
  DEADLINE_EXCEEDED: 'The call timed out: retry, or check the operation later',
  ABORTED: 'Another change to the same resource won the race: read it again and retry',
};

/** Maps anything thrown by a Google client (or our own code) to a VertexMcpError. */
export function toVertexMcpError(err: unknown, what?: string): VertexMcpError {
  if (err instanceof VertexMcpError) return err;
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  // Cut before any regex or concatenation: a status may quote a multi-megabyte input.
  const raw = capText(
    typeof e?.details === 'string' && e.details ? e.details : String(e?.message ?? err),
    MAX_ERROR_MESSAGE_BYTES,
  );
  if (/Could not load the default credentials|Unable to detect a Project Id/i.test(raw)) {
    return new VertexMcpError(
      'UNAUTHENTICATED',
      'No Google Cloud credentials found for vertex mode',
      HINTS.UNAUTHENTICATED,
    );
  }
  const code = typeof e?.code === 'number' ? GRPC_CODES[e.code] : undefined;
  // gax prefixes messages with "5 NOT_FOUND: "; the status code already says that.
  const message = raw.replace(/^\d+ [A-Z_]+: /, '');
  const prefix = what ? `${what}: ` : '';
  // The emulator's own token check (a standalone `vertex-mcp emulator --emulator-token`), not Google's.
  const hint =
    code === 'UNAUTHENTICATED' && /emulator (requires its token|token does not match)/.test(message)
      ? 'Pass the token the emulator was started with: --emulator-token or VERTEX_MCP_EMULATOR_TOKEN'
      : code
        ? HINTS[code]
        : undefined;
  return new VertexMcpError(code ?? 'INTERNAL', `${prefix}${message}`, hint);
}

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED']);

/** No retry starts once this long has passed since the first attempt began. */
export const RETRY_BUDGET_MS = 15_000;

export interface CallOptions {
  /** Only calls that can be repeated without effect (reads) are retried. */
  idempotent: boolean;
  attempts?: number;
  /** Time after which no retry starts, counted from the first attempt (default RETRY_BUDGET_MS). */
  retryBudgetMs?: number;
}

/**
 * Runs one Vertex call: maps its failure, and retries transient failures of idempotent calls with
 * exponential backoff and jitter (100 ms, 400 ms, ...), never starting a retry past the budget: a
 * read that timed out once is not sent again for another full deadline.
 */
export async function callVertex<T>(what: string, fn: () => Promise<T>, opts: CallOptions): Promise<T> {
  const attempts = opts.idempotent ? (opts.attempts ?? 4) : 1;
  const budget = opts.retryBudgetMs ?? RETRY_BUDGET_MS;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const mapped = toVertexMcpError(err, what);
      if (attempt >= attempts || !RETRYABLE.has(mapped.code)) throw mapped;
      const delay = 100 * 4 ** (attempt - 1) * (0.5 + Math.random());
      if (Date.now() - started + delay > budget) throw mapped;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
