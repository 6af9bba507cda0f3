// Registration: each selected tool on the McpServer, wrapped so every failure becomes a short,
// actionable isError result, and the compacted tools/list answer (from the build's cache when fresh).
import { readFileSync } from 'node:fs';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { toVertexMcpError, VertexMcpError } from '../lib/errors.js';
import type { Library } from '../lib/index.js';
import { annotationsFor, type Extra, type ToolDef } from './define.js';

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

/** Error texts stay short whatever the input (they never echo a whole input); result texts bounded. */
export const MAX_ERROR_TEXT = 2_000;
export const MAX_RESULT_TEXT = 16_000;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 40)}… (${text.length - max + 40} more characters)`;
}

/** A schema failure inside a handler (library-level parsing): the fields and what they allow. */
function fromZod(err: z.ZodError): VertexMcpError {
  const issues = err.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'input'}: ${clip(i.message, 200)}`);
  const more = err.issues.length > 5 ? `; and ${err.issues.length - 5} more` : '';
  return new VertexMcpError('INVALID_ARGUMENT', `${issues.join('; ')}${more}`);
}

/** dist/tools-list.json, written by the build (scripts/gen-tools-list.ts). */
export const LIST_CACHE = new URL('../../tools-list.json', import.meta.url);

/** The entries of `tools`: from the build's cache when it covers exactly the catalogue, else generated. */
function listEntries(tools: ToolDef[], names: string[]): Tool[] {
  try {
    const cached = JSON.parse(readFileSync(LIST_CACHE, 'utf8')) as Tool[];
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
  /** Every tool's name in catalogue order: tells whether the build's tools/list cache is current. */
  catalogueNames: string[] = tools.map((t) => t.name),
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
            content: [{ type: 'text' as const, text: clip(out.text, MAX_RESULT_TEXT) }],
            structuredContent: out.structured as Record<string, unknown>,
          };
        } catch (err) {
          done('error');
          const e = err instanceof z.ZodError ? fromZod(err) : toVertexMcpError(err);
          lib.log.debug(`${tool.name} failed: ${e.code} ${clip(e.text, 500)}`);
          return {
            isError: true,
            content: [{ type: 'text' as const, text: clip(`${e.code}: ${e.text}`, MAX_ERROR_TEXT) }],
          };
        }
      },
    );
  }
  // Declared even when the selection is empty (e.g. --read-only --toolsets tuning with no reads left),
  // so tools/list answers an empty list instead of the server failing to start.
  server.server.registerCapabilities({ tools: { listChanged: false } });
  // Our own tools/list answer (same schemas, compacted), computed once on first request.
  let listed: Tool[] | undefined;
  server.server.setRequestHandler(ListToolsRequestSchema, () => {
    listed ??= listEntries(tools, catalogueNames);
    return { tools: listed };
  });
}
