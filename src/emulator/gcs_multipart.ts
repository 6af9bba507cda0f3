// Streaming parser for GCS multipart uploads (`uploadType=multipart`, `multipart/related`): a JSON
// metadata part, then the media part. The metadata is buffered (bounded); the media is yielded
// chunk by chunk, holding back only enough bytes to recognise the closing delimiter, so a large
// multipart upload never sits in memory.
import { GcsError } from './gcs_errors.js';

const MAX_HEAD = 1 << 20; // metadata part + part headers

export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

export interface MultipartUpload {
  metadata: Record<string, unknown>;
  /** The media part's Content-Type header, if any. */
  mediaType?: string;
  media: AsyncGenerator<Buffer>;
}

function partHeaders(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Reads the head of the body (metadata part); the returned generator streams the media part. */
export async function parseMultipart(body: AsyncIterable<Buffer>, boundary: string): Promise<MultipartUpload> {
  const it = body[Symbol.asyncIterator]();
  const open = Buffer.from(`--${boundary}`);
  const delim = Buffer.from(`\r\n--${boundary}`);
  const sep = Buffer.from('\r\n\r\n');
  let head = Buffer.alloc(0);
  let ended = false;

  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const r = await it.next();
    if (r.done) {
      ended = true;
      return false;
    }
    head = head.length ? Buffer.concat([head, r.value]) : Buffer.from(r.value);
    if (head.length > MAX_HEAD * 2) throw new GcsError(400, 'Multipart upload metadata part is too large');
    return true;
  };
  const bad = (why: string) => new GcsError(400, `Malformed multipart body: ${why}`);

  // --boundary CRLF headers CRLF CRLF metadata CRLF --boundary CRLF headers CRLF CRLF media...
  const find = async (needle: Buffer, from: number, why: string): Promise<number> => {
    for (;;) {
      const i = head.indexOf(needle, from);
      if (i >= 0) return i;
      if (!(await more())) throw bad(why);
    }
  };
  const i0 = await find(open, 0, 'no opening boundary');
  const h0 = await find(sep, i0, 'unterminated part headers');
  const i1 = await find(delim, h0 + 4, 'only one part');
  const h1 = await find(sep, i1, 'unterminated media part headers');

  const metaHeaders = partHeaders(head.subarray(i0 + open.length, h0).toString('utf8'));
  const metaText = head
    .subarray(h0 + 4, i1)
    .toString('utf8')
    .trim();
  let metadata: Record<string, unknown> = {};
  if (metaText) {
    try {
      metadata = JSON.parse(metaText) as Record<string, unknown>;
    } catch {
      throw bad(`the first part must be JSON object metadata (Content-Type ${metaHeaders['content-type'] ?? 'none'})`);
    }
  }
  const mediaHeaders = partHeaders(head.subarray(i1 + delim.length, h1).toString('utf8'));
  let held = head.subarray(h1 + 4);
  head = Buffer.alloc(0);

  async function* media(): AsyncGenerator<Buffer> {
    for (;;) {
      const at = held.indexOf(delim);
      if (at >= 0) {
        if (at > 0) yield held.subarray(0, at);
        // Drain whatever follows the closing delimiter (epilogue).
        while (!ended) {
          const r = await it.next();
          if (r.done) ended = true;
        }
        return;
      }
      const keep = delim.length - 1;
      if (held.length > keep) {
        yield held.subarray(0, held.length - keep);
        held = held.subarray(held.length - keep);
      }
      if (ended) throw bad('missing closing boundary');
      const r = await it.next();
      if (r.done) {
        ended = true;
        continue;
      }
      held = held.length ? Buffer.concat([held, r.value]) : Buffer.from(r.value);
    }
  }

  return { metadata, mediaType: mediaHeaders['content-type'], media: media() };
}
