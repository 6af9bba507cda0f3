// zod failures as one sentence that names the bad field, for the monitoring modules' inputs.
import type { z } from 'zod';
import { invalid } from '../errors.js';

/** "a.b.0.c" for an issue path; "(root)" for the value itself. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(root)';
}

/** Parses `input` or throws INVALID_ARGUMENT "what: field: message; field: message". */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string, hint?: string): z.output<S> {
  const res = schema.safeParse(input);
  if (res.success) return res.data;
  const issues = res.error.issues.slice(0, 5).map((i) => `${issuePath(i.path)}: ${i.message}`);
  const more = res.error.issues.length > 5 ? ` (and ${res.error.issues.length - 5} more)` : '';
  throw invalid(`${what}: ${issues.join('; ')}${more}`, hint);
}
