// Small helpers shared by the emulator's services: timestamps, type URLs, pagination.
import { invalidArgument } from './errors.js';

export interface Timestamp {
  seconds: string;
  nanos: number;
}

export function timestamp(ms = Date.now()): Timestamp {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export function timestampMs(t: Timestamp | undefined): number {
  return t ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
}

/** google.protobuf.Any in proto-loader's json form: the message's fields plus its type URL. */
export function any(typeName: string, message: object): Record<string, unknown> {
  return { '@type': `type.googleapis.com/${typeName}`, ...message };
}

export const AIP = 'google.cloud.aiplatform.v1';

/**
 * Opaque page tokens are base64 offsets; a token that does not decode is INVALID_ARGUMENT, as
 * Vertex answers for a token from another query.
 */
export function paginate<T>(
  items: T[],
  pageSize: number | undefined,
  pageToken: string | undefined,
  maxPageSize = 1000,
  defaultPageSize = 100,
): { page: T[]; nextPageToken: string } {
  let offset = 0;
  if (pageToken) {
    offset = Number(Buffer.from(pageToken, 'base64url').toString());
    if (!Number.isInteger(offset) || offset < 0) throw invalidArgument(`page_token "${pageToken}" is not valid`);
  }
  if (pageSize !== undefined && pageSize < 0) throw invalidArgument('page_size must not be negative');
  const size = Math.min(pageSize || defaultPageSize, maxPageSize);
  const page = items.slice(offset, offset + size);
  const end = offset + page.length;
  return { page, nextPageToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : '' };
}

/** Splits `projects/{p}/locations/{l}/...` and checks the prefix; returns the location path. */
export function locationOf(name: string, field: string): string {
  const m = /^projects\/[^/]+\/locations\/[^/]+/.exec(name ?? '');
  if (!m) throw invalidArgument(`${field} "${name ?? ''}" must look like projects/{project}/locations/{location}/...`);
  return m[0];
}
