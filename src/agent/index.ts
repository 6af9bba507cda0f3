// vertex-mcp/agent: the MCP catalogue as framework-neutral in-process tools (same names, schemas,
// handlers, selection flags and confirm/dry_run rules as the server), and thin adapters for the
// Vercel AI SDK, the OpenAI Agents SDK and Google's ADK. No framework is imported here: each adapter
// loads its (optional peer) package when it is called.
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { createLogger, type Library, type Logger } from '../lib/index.js';
import { libraryFor, startBackground } from '../runtime.js';
import {
  annotationsFor,
  catalogue,
  selectTools,
  type ToolKind,
  type ToolSelection,
  type Toolset,
} from '../tools/index.js';
import { listEntry } from '../tools/register.js';
import { type BackendOptions, resolveBackend } from './backend.js';
import { type AgentToolResult, type ConfirmCallback, type ExecuteOptions, runTool } from './execute.js';

export {
  ADK_CONFIRMATION_PLUGIN,
  type AdkPlugin,
  type AdkTool,
  createAdkConfirmationPlugin,
  toAdkTools,
} from './adk.js';
export { type AiSdkOptions, type AiSdkToolSet, toAiSdkTools } from './ai_sdk.js';
export type { BackendOptions } from './backend.js';
export type { AgentToolResult, ConfirmCallback, ExecuteOptions, ProgressCallback } from './execute.js';
export { failureResult } from './execute.js';
export { type OpenAIAgentsOptions, type OpenAIAgentsTool, toOpenAIAgentsTools } from './openai_agents.js';

/** JSON Schema (draft-7) as the MCP server lists it. */
export type JsonSchema = Record<string, unknown>;

/** One catalogue tool, callable in process. */
export interface AgentTool {
  name: string;
  title?: string;
  description: string;
  toolset: Toolset;
  /** read | create | update | destructive (destructive: needs confirm, supports dry_run). */
  kind: ToolKind;
  inputSchema: z.ZodObject;
  outputSchema: z.ZodObject;
  /** The input as JSON Schema, compacted as in the server's tools/list (what a model reads). */
  readonly inputJsonSchema: JsonSchema;
  annotations: ToolAnnotations;
  /**
   * Validates `args` against inputSchema and runs the server's handler. Never throws: a refusal or
   * failure is `{ isError: true, code, text }` with the text an MCP client would read.
   */
  execute(args: unknown, opts?: ExecuteOptions): Promise<AgentToolResult>;
}

export interface AgentToolsOptions extends BackendOptions {
  /** --toolsets, --tools, --exclude-tools, --read-only, as the server applies them. */
  selection?: ToolSelection;
  /** --read-only (wins over the selection). */
  readOnly?: boolean;
  /** Directories local paths may use (--allow-path); default the working directory. */
  allowedRoots?: string[];
  /** Price table overrides (--prices): a JSON file. */
  prices?: string;
  /** Logs go to stderr; default warnings and errors only. */
  log?: Logger;
  /** Evaluate alert rules, A/B tests and tuning registration every this many seconds (0: on demand). */
  alertIntervalSeconds?: number;
  /** Asked before a destructive call without confirm: true; per call, ExecuteOptions.confirm wins. */
  confirm?: ConfirmCallback;
  /** A library to use instead of creating one (the caller closes it); backend options are then ignored. */
  lib?: Library;
}

export interface AgentTools {
  /** The selected tools, in catalogue order. */
  tools: AgentTool[];
  /** The library under them (its registry, endpoints, ... for direct use). */
  lib: Library;
  /** Stops background work, closes the library and the embedded emulator if they were started here. */
  close(): Promise<void>;
}

/** Wraps one catalogue definition. */
function agentTool(def: ReturnType<typeof catalogue>[number], lib: Library, confirm?: ConfirmCallback): AgentTool {
  const inputSchema = z.object(def.input);
  const outputSchema = z.object(def.output);
  let json: JsonSchema | undefined;
  return {
    name: def.name,
    ...(def.title ? { title: def.title } : {}),
    description: def.description,
    toolset: def.toolset,
    kind: def.kind,
    inputSchema,
    outputSchema,
    get inputJsonSchema() {
      json ??= listEntry(def).inputSchema as JsonSchema;
      return json;
    },
    annotations: annotationsFor(def.kind),
    execute: (args, opts = {}) =>
      runTool(def, inputSchema, outputSchema, lib, args, { ...(confirm ? { confirm } : {}), ...opts }),
  };
}

/**
 * The catalogue's tools bound to one library. Rejects on an unknown toolset or tool name (the
 * message lists the valid ones) or a bad backend option; starts nothing until the first call.
 */
export async function createAgentTools(options: AgentToolsOptions = {}): Promise<AgentTools> {
  const selection: ToolSelection = {
    ...options.selection,
    readOnly: options.readOnly === true || options.selection?.readOnly === true,
  };
  const selected = selectTools(catalogue(), selection);
  const log = options.log ?? createLogger('warn');
  let lib = options.lib;
  let stop = async () => {};
  if (!lib) {
    const { backend, dataDir, stop: stopBackend } = resolveBackend(options, log);
    // The server's own recipe (ledger in dataDir, allowed roots, prices).
    lib = libraryFor({ backend, log, dataDir, allowedRoots: options.allowedRoots, prices: options.prices });
    const owned = lib;
    startBackground(owned, { backend, selection, alertIntervalSeconds: options.alertIntervalSeconds ?? 0 });
    stop = async () => {
      await owned.close();
      await stopBackend();
    };
  }
  const tools = selected.map((def) => agentTool(def, lib, options.confirm));
  let closed = false;
  return {
    tools,
    lib,
    async close() {
      if (closed) return;
      closed = true;
      await stop();
    },
  };
}
