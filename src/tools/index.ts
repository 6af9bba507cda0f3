// The tool catalogue: every tool is one definition object (name, title, description, zod input and
// output shapes, a `kind` from which the MCP annotations follow, its toolset and its handler).
// The catalogue is filtered (toolsets, tool names, read-only) before anything is registered.
import { readFileSync } from 'node:fs';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ListToolsRequestSchema,
  type ServerNotification,
  type ServerRequest,
  type Tool,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { toVertexMcpError } from '../lib/errors.js';
import type { Library } from '../lib/index.js';
import { endpointTools } from './endpoints.js';
import { monitoringTools } from './monitoring.js';
import { registryTools } from './registry.js';
import { tuningTools } from './tuning.js';

export const TOOLSETS = ['registry', 'tuning', 'endpoints', 'monitoring', 'experiments'] as const;
export type Toolset = (typeof TOOLSETS)[number];

/**
 * read: no side effects. create: adds resources. update: changes existing ones without losing
 * data. destructive: deletes or moves traffic; needs `confirm` and supports `dry_run`.
 */
export type ToolKind = 'read' | 'create' | 'update' | 'destructive';

export function annotationsFor(kind: ToolKind): ToolAnnotations {
  return {
    readOnlyHint: kind === 'read',
    destructiveHint: kind === 'destructive',
    idempotentHint: kind === 'read' || kind === 'update',
    // Every tool reaches Vertex AI (or its emulator), a system outside this server.
    openWorldHint: true,
  };
}

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolContext {
  lib: Library;
  server: McpServer;
  extra: Extra;
}

export interface ToolResult<O> {
  structured: O;
  /** A sentence or two for people and for clients that ignore structuredContent. */
  text: string;
}

export interface ToolDef<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  kind: ToolKind;
  input: I;
  output: O;
  handler: (args: z.infer<z.ZodObject<I>>, ctx: ToolContext) => Promise<ToolResult<z.infer<z.ZodObject<O>>>>;
}

/** Identity at runtime; ties the handler's types to the schemas. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}

/** Every tool, in catalogue order. */
export function catalogue(): ToolDef[] {
  return [...registryTools, ...tuningTools, ...endpointTools, ...monitoringTools] as unknown as ToolDef[];
}

export interface ToolSelection {
  toolsets?: string[];
  tools?: string[];
  excludeTools?: string[];
  readOnly?: boolean;
}

/**
 * Applies --toolsets, --tools (added on top of the toolsets), --exclude-tools, then --read-only,
 * which wins over everything. Unknown names are errors listing the valid ones.
 */
export function selectTools(all: ToolDef[], sel: ToolSelection): ToolDef[] {
  const names = new Set(all.map((t) => t.name));
  for (const ts of sel.toolsets ?? []) {
    if (ts !== 'all' && !(TOOLSETS as readonly string[]).includes(ts)) {
      throw new Error(`unknown toolset "${ts}"; valid: all, ${TOOLSETS.join(', ')}`);
    }
  }
  for (const n of [...(sel.tools ?? []), ...(sel.excludeTools ?? [])]) {
    if (!names.has(n)) throw new Error(`unknown tool "${n}"; valid: ${[...names].join(', ')}`);
  }
  const sets = sel.toolsets?.length && !sel.toolsets.includes('all') ? new Set(sel.toolsets) : undefined;
  const picked = new Set(sel.tools ?? []);
  return all.filter(
    (t) =>
      (!sets || sets.has(t.toolset) || picked.has(t.name)) &&
      !sel.excludeTools?.includes(t.name) &&
      (!sel.readOnly || t.kind === 'read'),
  );
}

/**
 * Drops what carries no meaning for a client ($schema, `propertyNames: string`, closed-object
 * markers on outputs), to keep the whole tools/list answer within its size budget (SPEC 9).
 */
function compact(schema: unknown, output: boolean): unknown {
  if (Array.isArray(schema)) return schema.map((s) => compact(s, output));
  if (!schema || typeof schema !== 'object') return schema;
  const src = schema as Record<string, unknown>;
  // anyOf [X, null] -> X with null allowed: the same meaning in a third of the bytes.
  const any = src.anyOf as Record<string, unknown>[] | undefined;
  if (any?.length === 2 && any.some((a) => a.type === 'null') && Object.keys(src).length === 1) {
    const other = compact(
      any.find((a) => a.type !== 'null'),
      output,
    ) as Record<string, unknown>;
    const t = other.type;
    return {
      ...other,
      ...(typeof t === 'string' ? { type: [t, 'null'] } : {}),
      ...(Array.isArray(other.enum) ? { enum: [...other.enum, null] } : {}),
    };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$schema' || k === 'propertyNames') continue;
    // Outputs: clients read them; closed-object markers and required lists only add bytes.
    if (output && ((k === 'additionalProperties' && v === false) || k === 'required')) continue;
    out[k] = compact(v, output);
  }
  return out;
}

/**
 * Output schemas are listed one level deep: the top-level fields with their types; nested
 * objects and arrays of objects by type only (arrays of primitives keep their item type). The
 * server still validates every result against the full zod schema; this keeps the listing
 * within its size budget.
 */
function shallow(schema: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const { properties, items, ...rest } = schema as {
    properties?: Record<string, Record<string, unknown>>;
    items?: Record<string, unknown>;
    type?: unknown;
  };
  const isObject = rest.type === 'object' || (Array.isArray(rest.type) && rest.type.includes('object'));
  if (depth >= 1 && (isObject || items)) {
    const primitiveItems = items && !items.properties && !items.items ? { items } : {};
    return { ...rest, ...primitiveItems };
  }
  return {
    ...rest,
    ...(properties
      ? { properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, shallow(v, depth + 1)])) }
      : {}),
    ...(items ? { items: shallow(items, depth + 1) } : {}),
  };
}

/** The tools/list entry of a tool: its JSON schemas generated from the zod shapes, compacted. */
export function listEntry(tool: ToolDef): Tool {
  const schema = (shape: z.ZodRawShape, io: 'input' | 'output') =>
    compact(z.toJSONSchema(z.object(shape), { target: 'draft-7', io }), io === 'output') as Tool['inputSchema'];
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: schema(tool.input, 'input'),
    outputSchema: shallow(schema(tool.output, 'output') as Record<string, unknown>) as Tool['outputSchema'],
    annotations: annotationsFor(tool.kind),
  };
}

/** dist/tools-list.json, written by the build (scripts/gen-tools-list.ts). */
export const LIST_CACHE = new URL('../../tools-list.json', import.meta.url);

/** The entries of `tools`: from the build's cache when it covers exactly the catalogue, else generated. */
function listEntries(tools: ToolDef[]): Tool[] {
  try {
    const cached = JSON.parse(readFileSync(LIST_CACHE, 'utf8')) as Tool[];
    const names = catalogue().map((t) => t.name);
    if (cached.length === names.length && cached.every((t, i) => t.name === names[i])) {
      const wanted = new Set(tools.map((t) => t.name));
      return cached.filter((t) => wanted.has(t.name));
    }
  } catch {
    // no build cache (running from sources): generate
  }
  return tools.map(listEntry);
}

/** Registers tools, wrapping each handler so every failure becomes a short, actionable isError result. */
export function registerTools(
  server: McpServer,
  tools: ToolDef[],
  lib: Library,
  onToolCall?: (tool: string, outcome: 'ok' | 'error', seconds: number) => void,
): void {
  for (const tool of tools) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: annotationsFor(tool.kind),
      },
      async (args: Record<string, unknown>, extra: Extra) => {
        const started = performance.now();
        const done = (outcome: 'ok' | 'error') =>
          onToolCall?.(tool.name, outcome, (performance.now() - started) / 1000);
        try {
          const out = await tool.handler(args as never, { lib, server, extra });
          done('ok');
          return {
            content: [{ type: 'text' as const, text: out.text }],
            structuredContent: out.structured as Record<string, unknown>,
          };
        } catch (err) {
          done('error');
          const e = toVertexMcpError(err);
          lib.log.debug(`${tool.name} failed: ${e.code} ${e.text}`);
          return { isError: true, content: [{ type: 'text' as const, text: `${e.code}: ${e.text}` }] };
        }
      },
    );
  }
  // Our own tools/list answer (same schemas, compacted), computed once on first request.
  let listed: Tool[] | undefined;
  server.server.setRequestHandler(ListToolsRequestSchema, () => {
    listed ??= listEntries(tools);
    return { tools: listed };
  });
}
