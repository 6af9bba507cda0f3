// Registration: each selected tool on the McpServer, wrapped so every failure becomes a short,
// actionable isError result, and the compacted tools/list answer (from the build's cache when fresh).
import { readFileSync } from 'node:fs';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type CallToolResult, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { APP_TOOLS } from '../app/meta.js';
import { toVertexMcpError, VertexMcpError } from '../lib/errors.js';
import type { Library } from '../lib/index.js';
import { annotationsFor, type Extra, type ToolDef, type ToolResult } from './define.js';

type Schema = Record<string, unknown>;

/** A default that says nothing an agent would not assume (the instructions say so once). */
const trivialDefault = (v: unknown) =>
  v === false ||
  v === null ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

const jsonType = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;

/** The JSON types a schema admits, 'integer' folded into 'number'; undefined when it admits anything. */
function typesOf(s: Schema): string[] | undefined {
  let types: string[] | undefined;
  if (s.const !== undefined) types = [jsonType(s.const)];
  else if (Array.isArray(s.enum)) types = s.enum.map(jsonType);
  else if (typeof s.type === 'string') types = [s.type];
  else if (Array.isArray(s.type)) types = s.type as string[];
  else {
    const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
    if (!alts) return undefined;
    const each = alts.map(typesOf);
    if (each.some((t) => t === undefined)) return undefined;
    types = each.flat() as string[];
  }
  const set = new Set(types.map((t) => (t === 'integer' && types?.includes('number') ? 'number' : t)));
  return [...set];
}

/** Sizes of strings and lists: limits against abuse, enforced by the server with a clear message. */
const SIZE_BOUNDS = new Set(['minLength', 'maxLength', 'minItems', 'maxItems']);

/**
 * An input schema as listed: the same fields, types, enums, numeric ranges, patterns, defaults and
 * required lists, without what carries no meaning for an agent: $schema, `propertyNames: string`,
 * string and list sizes (where one matters, the description says it), trivial defaults (false,
 * empty; the instructions say so once), `anyOf` of consts (an enum) and `anyOf [X, null]` (X
 * admitting null).
 */
function compactInput(schema: Schema): Schema {
  const any = (schema.anyOf as Schema[] | undefined)?.map(compactInput);
  if (any) {
    const { anyOf: _, ...rest } = schema;
    // anyOf of bare types: one type list.
    if (any.every((a) => Object.keys(a).length === 1 && typeof a.type === 'string')) {
      return compactInput({ ...rest, type: any.map((a) => a.type) });
    }
    // anyOf of consts of one type: an enum.
    const declared = new Set(any.map((a) => a.type));
    if (any.every((a) => a.const !== undefined) && declared.size === 1) {
      const [type] = declared;
      return compactInput({ ...rest, ...(type ? { type } : {}), enum: any.map((a) => a.const) });
    }
    // anyOf [X, null]: X with null allowed, in a third of the bytes.
    if (any.length === 2 && any.some((a) => a.type === 'null')) {
      const other = any.find((a) => a.type !== 'null') as Schema;
      const t = other.type;
      return compactInput({
        ...other,
        ...rest,
        ...(typeof t === 'string' ? { type: [t, 'null'] } : {}),
        ...(Array.isArray(other.enum) ? { enum: [...other.enum, null] } : {}),
      });
    }
  }
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$schema' || k === 'propertyNames' || SIZE_BOUNDS.has(k)) continue;
    // zod's bounds of a safe integer: any integer an agent would send.
    if ((k === 'minimum' || k === 'maximum') && Math.abs(v as number) === Number.MAX_SAFE_INTEGER) continue;
    // Trivial defaults; values that may be anything ({} or true) and an empty property list say nothing.
    if ((k === 'default' || k === 'properties') && trivialDefault(v)) continue;
    if (k === 'additionalProperties' && (v === true || (trivialDefault(v) && v !== false))) continue;
    if (k === 'properties') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([f, s]) => [f, compactInput(s)]));
    } else if ((k === 'items' || k === 'additionalProperties') && v && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = compactInput(v as Schema);
    } else if ((k === 'items' || k === 'anyOf' || k === 'oneOf' || k === 'allOf') && Array.isArray(v)) {
      out[k] = (v as Schema[]).map(compactInput);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/**
 * How output schemas are listed, one level deep (the server validates every result against the
 * full zod schema; a client validates against the listed one, which must admit every real result):
 * - 'required' (listed): the top-level field names as a `required` list, the fields a result always
 *   has (any field that may be absent goes in `properties` instead). The cheapest form.
 * - 'names': the same names as `properties`, each `{}` (+~0.7 KB over the catalogue).
 * - 'types': `properties` with each field's JSON type, none where it may be null or anything
 *   (+~3.0 KB: the whole answer would be over its SPEC 9 budget).
 */
export type OutputForm = 'required' | 'names' | 'types';
export const OUTPUT_FORM: OutputForm = 'required';

function compactOutput(schema: Schema, shape: z.ZodRawShape, form: OutputForm = OUTPUT_FORM): Schema {
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  const names = Object.keys(props);
  // A field the full schema accepts undefined for may be absent from a result.
  const mayBeAbsent = (k: string) => !shape[k] || (shape[k] as z.ZodType).safeParse(undefined).success;
  const field = (k: string) => {
    const t = form === 'types' ? typesOf(props[k] as Schema) : undefined;
    return [k, t?.length === 1 ? { type: t[0] } : {}];
  };
  if (form !== 'required') return { type: 'object', properties: Object.fromEntries(names.map(field)) };
  const always = names.filter((k) => !mayBeAbsent(k));
  const sometimes = names.filter(mayBeAbsent);
  return {
    type: 'object',
    ...(always.length ? { required: always } : {}),
    ...(sometimes.length ? { properties: Object.fromEntries(sometimes.map(field)) } : {}),
  };
}

/**
 * The tools/list entry of a tool: JSON schemas generated from its zod shapes and compacted, the
 * title only where the tool has one, annotations only where they differ from the spec's defaults.
 */
export function listEntry(tool: ToolDef): Tool {
  const json = (shape: z.ZodRawShape, io: 'input' | 'output') =>
    z.toJSONSchema(z.object(shape), { target: 'draft-7', io }) as Schema;
  const annotations = annotationsFor(tool.kind);
  return {
    name: tool.name,
    ...(tool.title ? { title: tool.title } : {}),
    description: tool.description,
    inputSchema: compactInput(json(tool.input, 'input')) as Tool['inputSchema'],
    outputSchema: compactOutput(json(tool.output, 'output'), tool.output) as Tool['outputSchema'],
    ...(Object.keys(annotations).length ? { annotations } : {}),
    // The MCP App link (get_ab_test, get_endpoint_stats): hosts that render apps show the dashboard.
    ...(APP_TOOLS[tool.name] ? { _meta: APP_TOOLS[tool.name] } : {}),
  };
}

/** Error texts stay short whatever the input (they never echo a whole input); result texts bounded. */
export const MAX_ERROR_TEXT = 2_000;
export const MAX_RESULT_TEXT = 16_000;

/** A text bounded to `max` characters, saying how much was cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 40)}… (${text.length - max + 40} more characters)`;
}

/** A schema failure inside a handler (library-level parsing): the fields and what they allow. */
function fromZod(err: z.ZodError): VertexMcpError {
  const issues = err.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'input'}: ${clip(i.message, 200)}`);
  const more = err.issues.length > 5 ? `; and ${err.issues.length - 5} more` : '';
  return new VertexMcpError('INVALID_ARGUMENT', `${issues.join('; ')}${more}`);
}

/** A handler's result as a tool call returns it (tasks/result returns the same). */
export function toCallResult(out: ToolResult<unknown>): CallToolResult {
  return {
    content: [{ type: 'text' as const, text: clip(out.text, MAX_RESULT_TEXT) }],
    structuredContent: out.structured as Record<string, unknown>,
  };
}

/** Any failure of a handler as the short, actionable isError result a tool call returns. */
export function toErrorResult(err: unknown, lib: Library, tool: string): CallToolResult {
  const e = toFailure(err);
  lib.log.debug(`${tool} failed: ${e.code} ${clip(e.text, 500)}`);
  return { isError: true, content: [{ type: 'text' as const, text: failureText(e) }] };
}

/** Any failure of a handler as our error (code + actionable text): shared with vertex-mcp/agent. */
export function toFailure(err: unknown): VertexMcpError {
  return err instanceof z.ZodError ? fromZod(err) : toVertexMcpError(err);
}

/** The text of a failure as a tool result carries it: `CODE: text`, bounded. */
export function failureText(e: VertexMcpError): string {
  return clip(`${e.code}: ${e.text}`, MAX_ERROR_TEXT);
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

/**
 * How a task tool is listed: a client may call it with or without a task. Added to the listed
 * entry only (not to listEntry, the schema snapshots and the build's cache): 39 bytes a tool.
 */
/** How a tool that accepts task-augmented calls is listed to a client that declared tasks. */
export const TASK_EXECUTION = { execution: { taskSupport: 'optional' as const } };

/** Registers tools, wrapping each handler so every failure becomes a short, actionable isError result. */
export function registerTools(
  server: McpServer,
  tools: ToolDef[],
  lib: Library,
  onToolCall?: (tool: string, outcome: 'ok' | 'error', seconds: number) => void,
  /** Every tool's name in catalogue order: tells whether the build's tools/list cache is current. */
  catalogueNames: string[] = tools.map((t) => t.name),
  /** Tools that also run as MCP tasks (src/tasks): listed with execution.taskSupport 'optional'. */
  taskTools: ReadonlySet<string> = new Set(),
): void {
  for (const tool of tools) {
    server.registerTool(
      tool.name,
      {
        ...(tool.title ? { title: tool.title } : {}),
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
          return toCallResult(out);
        } catch (err) {
          done('error');
          return toErrorResult(err, lib, tool.name);
        }
      },
    );
  }
  // Declared even when the selection is empty (e.g. --read-only --toolsets tuning with no reads left),
  // so tools/list answers an empty list instead of the server failing to start.
  server.server.registerCapabilities({ tools: { listChanged: false } });
  // Our own tools/list answer (same schemas, compacted), computed once on first request. Task
  // support is listed only to clients that declared the tasks capability: others could not use
  // it, and their answer stays as it was (and within its size budget).
  let listed: Tool[] | undefined;
  let listedForTasks: Tool[] | undefined;
  server.server.setRequestHandler(ListToolsRequestSchema, () => {
    listed ??= listEntries(tools, catalogueNames);
    if (!taskTools.size || !server.server.getClientCapabilities()?.tasks) return { tools: listed };
    listedForTasks ??= listed.map((t) => (taskTools.has(t.name) ? { ...t, ...TASK_EXECUTION } : t));
    return { tools: listedForTasks };
  });
}
