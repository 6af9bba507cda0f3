// gRPC status errors raised by the emulator's services, with the codes Vertex AI uses.
import { status } from '@grpc/grpc-js';

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (msg: string) => new RpcError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string) => new RpcError(status.NOT_FOUND, msg);
export const alreadyExists = (msg: string) => new RpcError(status.ALREADY_EXISTS, msg);
export const failedPrecondition = (msg: string) => new RpcError(status.FAILED_PRECONDITION, msg);
export const unimplemented = (msg: string) => new RpcError(status.UNIMPLEMENTED, msg);
export const aborted = (msg: string) => new RpcError(status.ABORTED, msg);

/**
 * The longest status message the emulator sends, in UTF-8 bytes. A status message travels in an
 * HTTP/2 trailer (percent-encoded, so up to 3x this on the wire); past HTTP/2's header-block limit
 * (~64 KB) the call hangs to its deadline and every call sharing the connection waits with it.
 */
export const MAX_STATUS_MESSAGE_BYTES = 1024;

/**
 * `message` cut to at most `maxBytes` UTF-8 bytes, ending with "… (N bytes)" (N: the whole
 * message's size) when it was cut. Never splits a character.
 */
export function capMessage(message: string, maxBytes = MAX_STATUS_MESSAGE_BYTES): string {
  if (message.length * 3 <= maxBytes) return message; // a UTF-16 unit is at most 3 UTF-8 bytes
  const total = Buffer.byteLength(message);
  if (total <= maxBytes) return message;
  const suffix = `… (${total} bytes)`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(suffix));
  let head = message.slice(0, room);
  for (let over = Buffer.byteLength(head) - room; over > 0; over = Buffer.byteLength(head) - room) {
    head = head.slice(0, head.length - Math.ceil(over / 3));
  }
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1); // half a surrogate pair
  return `${head}${suffix}`;
}
