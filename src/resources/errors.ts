// Resource reads answer with the protocol's error codes: a resource that does not exist is
// -32002 (MCP "Resource not found"), a malformed URI part -32602 (invalid params). Without this
// the SDK sends -32603 (internal error) for anything a read callback throws, since the library's
// errors carry a string code (NOT_FOUND), not a JSON-RPC number.
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { toVertexMcpError } from '../lib/errors.js';

/** The MCP specification's code for a resource that does not exist. */
export const RESOURCE_NOT_FOUND = -32002;

/**
 * An error the SDK sends as is: its numeric `code`, `message` and `data` become the JSON-RPC error.
 * (Not McpError: its message already starts "MCP error <code>:", which the client then adds again.)
 */
export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Maps a library error to the protocol's code for `uri`; anything else is an internal error. */
export function protocolError(uri: string, err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const e = toVertexMcpError(err);
  if (e.code === 'NOT_FOUND')
    return new ProtocolError(RESOURCE_NOT_FOUND, `Resource ${uri} not found: ${e.text}`, { uri });
  if (e.code === 'INVALID_ARGUMENT') return new ProtocolError(ErrorCode.InvalidParams, `${uri}: ${e.text}`, { uri });
  return new ProtocolError(ErrorCode.InternalError, `${uri}: ${e.code}: ${e.text}`, { uri });
}

/** Runs a read (or a subscription's lookup) of `uri`, throwing protocol errors. */
export async function reading<T>(uri: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw protocolError(uri, err);
  }
}
