// One catalogue tool as an in-process call: the MCP server's semantics without a transport. Input is
// validated as McpServer validates it (same element bound, same message), the same handler runs with
// a ToolContext whose `server` and `extra` are in-process stand-ins (confirmation callback for
// elicitation, AbortSignal, progress callback), output is checked against the output schema, and
// every failure becomes the same `CODE: text` error result registerTools gives an MCP client.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { z } from 'zod';
import type { ErrorCode } from '../lib/errors.js';
import type { Library } from '../lib/index.js';
import { MAX_INPUT_ELEMENTS } from '../runtime.js';
import type { Extra, ToolContext, ToolDef } from '../tools/define.js';
import { clip, failureText, MAX_ERROR_TEXT, MAX_RESULT_TEXT, toFailure } from '../tools/register.js';

/** A tool call's outcome as the model should see it: a result, or an error it can act on. */
export type AgentToolResult =
  | { isError?: false; structured: Record<string, unknown>; text: string }
  | { isError: true; code: ErrorCode; text: string };

/** Progress of long work (tuning, dataset preparation): what MCP sends as notifications/progress. */
export type ProgressCallback = (p: { progress: number; total?: number; message?: string }) => void;

/**
 * Asked before a destructive call that lacks `confirm: true` (the in-process twin of MCP
 * elicitation): resolve true to go ahead. Without one such calls are refused (CONFIRMATION_REQUIRED).
 */
export type ConfirmCallback = (request: { tool: string; message: string; args: unknown }) => boolean | Promise<boolean>;

export interface ExecuteOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  confirm?: ConfirmCallback;
}

/** McpError's prefix (JSON-RPC InvalidParams): kept so the text is the one an MCP client reads. */
const MCP_INVALID_PARAMS = 'MCP error -32602: ';

/** Elements (array items, object fields, any depth) in a value, counting stops past `max`. */
function elementCount(value: unknown, max: number): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (++count > max) return count;
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
  return count;
}

/** zod issues as the MCP SDK words them: "message at a.b[0]", one a line. */
function issuesText(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      if (!i.path.length) return i.message;
      const at = i.path.reduce<string>(
        (acc, seg, n) => (n === 0 ? String(seg) : typeof seg === 'number' ? `${acc}[${seg}]` : `${acc}.${String(seg)}`),
        '',
      );
      return `${i.message} at ${at}`;
    })
    .join('\n');
}

/**
 * A handler's failure as an error result, as registerTools words it: `CODE: message. hint`. A zod
 * error thrown inside a handler (library-level parsing) names at most five fields.
 */
export function failureResult(err: unknown): AgentToolResult & { isError: true } {
  const e = toFailure(err);
  return { isError: true, code: e.code, text: failureText(e) };
}

/** The in-process stand-ins for what handlers use of the MCP server and the request. */
function contextFor(def: ToolDef, lib: Library, args: unknown, opts: ExecuteOptions): ToolContext {
  const { confirm, onProgress } = opts;
  const server = {
    server: {
      // confirm.ts asks by elicitation when the client supports it: here, when there is a callback.
      getClientCapabilities: () => (confirm ? { elicitation: {} } : undefined),
      elicitInput: async (req: { message: string }) => {
        const ok = (await confirm?.({ tool: def.name, message: req.message, args })) === true;
        return ok ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
      },
    },
  } as unknown as McpServer;
  const extra = {
    signal: opts.signal ?? new AbortController().signal,
    requestId: 0,
    // progress.ts sends notifications only when the request carries a progress token.
    _meta: onProgress ? { progressToken: def.name } : {},
    sendNotification: async (n: { method: string; params?: Record<string, unknown> }) => {
      if (n.method !== 'notifications/progress' || !onProgress || !n.params) return;
      const { progress, total, message } = n.params as { progress: number; total?: number; message?: string };
      onProgress({ progress, ...(total !== undefined ? { total } : {}), ...(message ? { message } : {}) });
    },
    sendRequest: async () => {
      throw new Error('no MCP client in process');
    },
  } as unknown as Extra;
  return { lib, server, extra };
}

/** Runs one tool: validate, handle, check the output, map failures. Never throws. */
export async function runTool(
  def: ToolDef,
  input: z.ZodObject,
  output: z.ZodObject,
  lib: Library,
  args: unknown,
  opts: ExecuteOptions = {},
): Promise<AgentToolResult> {
  // What McpServer.validateToolInput answers (as a tool error result, which is what a client sees).
  if (elementCount(args, MAX_INPUT_ELEMENTS) > MAX_INPUT_ELEMENTS) {
    return {
      isError: true,
      code: 'INVALID_ARGUMENT',
      text: `${MCP_INVALID_PARAMS}Invalid arguments for tool ${def.name}: arguments contain more than the maximum of ${MAX_INPUT_ELEMENTS} elements`,
    };
  }
  const parsed = await input.safeParseAsync(args ?? {});
  if (!parsed.success) {
    return {
      isError: true,
      code: 'INVALID_ARGUMENT',
      text: clip(
        `${MCP_INVALID_PARAMS}Input validation error: Invalid arguments for tool ${def.name}: ${issuesText(parsed.error)}`,
        MAX_ERROR_TEXT,
      ),
    };
  }
  let out: Awaited<ReturnType<ToolDef['handler']>>;
  try {
    out = await def.handler(parsed.data as never, contextFor(def, lib, parsed.data, opts));
  } catch (err) {
    const r = failureResult(err);
    lib.log.debug(`${def.name} failed: ${clip(r.text, 500)}`);
    return r;
  }
  // McpServer.validateToolOutput: a result outside the declared schema is an error, not data.
  const checked = await output.safeParseAsync(out.structured);
  if (!checked.success) {
    return {
      isError: true,
      code: 'INTERNAL',
      text: clip(
        `${MCP_INVALID_PARAMS}Output validation error: Invalid structured content for tool ${def.name}: ${issuesText(checked.error)}`,
        MAX_ERROR_TEXT,
      ),
    };
  }
  return { structured: out.structured as Record<string, unknown>, text: clip(out.text, MAX_RESULT_TEXT) };
}
