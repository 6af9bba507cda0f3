// Checksums the emulated GCS reports for every object, as GCS does: CRC32C (Castagnoli) and MD5,
// both base64 of the big-endian digest. Node 20 has no built-in CRC32C, so this is a
// slicing-by-8 table implementation (several hundred MB/s), computed while bytes stream to disk.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const POLY = 0x82f63b78; // CRC32C, reflected

const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = t[0]!;
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = t0[i]!;
    for (let s = 1; s < 8; s++) {
      c = (t0[c & 0xff]! ^ (c >>> 8)) >>> 0;
      t[s]![i] = c;
    }
  }
  return t;
})();

/** Continues a CRC32C over `buf`; start with 0. Returns the unsigned 32-bit value. */
export function crc32cUpdate(crc: number, buf: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = ~crc >>> 0;
  let i = 0;
  const n = buf.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const lo = (c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) >>> 0;
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[buf[i + 4]!]! ^
      t2[buf[i + 5]!]! ^
      t1[buf[i + 6]!]! ^
      t0[buf[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = t0[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** GCS's wire form of a CRC32C: base64 of the 4 big-endian bytes. */
export function crc32cBase64(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
}

/** Running MD5 + CRC32C + byte count over everything written through it. */
export class Hasher {
  private md5: Hash = createHash('md5');
  private crc = 0;
  bytes = 0;

  update(chunk: Buffer): void {
    this.md5.update(chunk);
    this.crc = crc32cUpdate(this.crc, chunk);
    this.bytes += chunk.length;
  }

  digest(): { md5Hash: string; crc32c: string; size: number } {
    return { md5Hash: this.md5.digest('base64'), crc32c: crc32cBase64(this.crc), size: this.bytes };
  }
}

/** A pass-through stream that feeds a Hasher. */
export class HashingStream extends Transform {
  constructor(readonly hasher: Hasher = new Hasher()) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hasher.update(chunk);
    cb(null, chunk);
  }
}

/** Parses an `X-Goog-Hash: crc32c=...,md5=...` header. */
export function parseGoogHash(header: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const key = part.slice(0, eq).trim().toLowerCase();
      const value = part.slice(eq + 1).trim();
      if (key === 'crc32c') out.crc32c = value;
      else if (key === 'md5') out.md5 = value;
    }
  }
  return out;
}
