// Typed arrays <-> base64 (little-endian whatever the host), for JSON artifacts that round-trip
// bit-exactly: weights are Float32 during training, so nothing is lost in serialisation.

export function encodeF32(a: Float32Array): string {
  const buf = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) buf.writeFloatLE(a[i]!, i * 4);
  return buf.toString('base64');
}

export function decodeF32(s: string, expected: number, what: string): Float32Array {
  const buf = decode(s, expected * 4, what);
  const out = new Float32Array(expected);
  for (let i = 0; i < expected; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export function encodeU16(a: ArrayLike<number>): string {
  const buf = Buffer.alloc(a.length * 2);
  for (let i = 0; i < a.length; i++) buf.writeUInt16LE(a[i]!, i * 2);
  return buf.toString('base64');
}

export function decodeU16(s: string, expected: number, what: string): Uint16Array {
  const buf = decode(s, expected * 2, what);
  const out = new Uint16Array(expected);
  for (let i = 0; i < expected; i++) out[i] = buf.readUInt16LE(i * 2);
  return out;
}

export function encodeU8(a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export function decodeU8(s: string, expected: number, what: string): Uint8Array {
  return new Uint8Array(decode(s, expected, what));
}

function decode(s: string, bytes: number, what: string): Buffer {
  if (typeof s !== 'string') throw new Error(`artifact field ${what} must be a base64 string`);
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== bytes) throw new Error(`artifact field ${what} holds ${buf.length} bytes, expected ${bytes}`);
  return buf;
}
