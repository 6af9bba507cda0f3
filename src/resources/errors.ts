// Resource reads answer with the protocol's error codes: a resource that does not exist is
// -32002 (MCP "Resource not found"), a malformed URI part -32602 (invalid params). Without this
// the SDK sends -32603 (internal error) for anything a read callback throws, since the library's
// errors carry a string code (NOT_FOUND), not a JSON-RPC number.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  McpError,
  type ReadResourceRequest,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
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

type Handler = (request: ReadResourceRequest, extra: unknown) => Promise<unknown>;

/**
 * A read of a URI that no resource or template matches is "not found" too (-32002); the SDK's own
 * handler answers -32602 for it. Call after every resource is registered.
 */
export function answerUnknownResources(server: McpServer): void {
  // The SDK keeps no public way to reach a registered handler; checked so an SDK change fails at start.
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, Handler> })._requestHandlers;
  const plain = handlers?.get('resources/read');
  if (!plain) throw new Error('the MCP SDK no longer exposes its resources/read handler');
  server.server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    try {
      return (await plain(request, extra)) as never;
    } catch (err) {
      if (err instanceof McpError && err.code === ErrorCode.InvalidParams && / not found$/.test(err.message)) {
        const uri = request.params.uri;
        throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource ${uri} not found: no resource has this URI`, { uri });
      }
      throw err;
    }
  });
}
