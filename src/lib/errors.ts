// The one place where failures become messages an agent can act on. Google/gRPC errors are mapped
// by status code to a short sentence with what to do next; only idempotent reads are retried.

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

/** An error whose message is safe and useful to show an agent as is. */
export class VertexMcpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** What to do about it, when there is something better than retrying. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'VertexMcpError';
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
  const raw = typeof e?.details === 'string' && e.details ? e.details : String(e?.message ?? err);
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
  return new VertexMcpError(code ?? 'INTERNAL', `${prefix}${message}`, code ? HINTS[code] : undefined);
}

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED']);

export interface CallOptions {
  /** Only calls that can be repeated without effect (reads) are retried. */
  idempotent: boolean;
  attempts?: number;
}

/**
 * Runs one Vertex call: maps its failure, and retries transient failures of idempotent calls with
 * exponential backoff and jitter (100 ms, 400 ms, ...).
 */
export async function callVertex<T>(what: string, fn: () => Promise<T>, opts: CallOptions): Promise<T> {
  const attempts = opts.idempotent ? (opts.attempts ?? 4) : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const mapped = toVertexMcpError(err, what);
      if (attempt >= attempts || !RETRYABLE.has(mapped.code)) throw mapped;
      const delay = 100 * 4 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
