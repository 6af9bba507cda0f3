// The tool framework: the definition object every tool is written as (name, title, description,
// zod input and output shapes, a `kind` from which the MCP annotations follow, its toolset and its
// handler). Tool files import only this; the catalogue (index.ts) and registration (register.ts)
// import the tool files, so there is no import cycle.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Library } from '../lib/index.js';

export const TOOLSETS = ['registry', 'tuning', 'endpoints', 'monitoring', 'experiments'] as const;
export type Toolset = (typeof TOOLSETS)[number];

/**
 * read: no side effects. create: adds resources. update: changes existing ones without losing
 * data (retry-safe). destructive: deletes or moves traffic; needs `confirm` and supports `dry_run`.
 */
export type ToolKind = 'read' | 'create' | 'update' | 'destructive';

/**
 * The MCP annotations of a kind, only the hints that differ from the spec's defaults
 * (readOnlyHint false, destructiveHint true, idempotentHint false, openWorldHint true); a client
 * reads an absent hint as its default, so the meaning is the full set's:
 * read        readOnlyHint true (destructive/idempotent are meaningless for a read)
 * create      destructiveHint false (additive), not idempotent
 * update      destructiveHint false, idempotentHint true
 * destructive every default: may destroy, not idempotent
 * openWorldHint stays at its default (true): every tool reaches Vertex AI or its emulator.
 */
export function annotationsFor(kind: ToolKind): ToolAnnotations {
  switch (kind) {
    case 'read':
      return { readOnlyHint: true };
    case 'create':
      return { destructiveHint: false };
    case 'update':
      return { destructiveHint: false, idempotentHint: true };
    case 'destructive':
      return {};
  }
}

/**
 * Parameters described once, in the server instructions (src/server.ts), and listed without a
 * description where they mean what the instructions say. A tool where one means more (an alert
 * rule's name, a version whose absence widens a delete) says so in its description or schema.
 */
export const SHARED_PARAMS = [
  'name',
  'version',
  'endpoint',
  'job',
  'test',
  'dry_run',
  'confirm',
  'wait',
  'wait_seconds',
  'overwrite',
] as const;

/** A schema without its description (a shared parameter): same type and checks. */
export function undescribed<T extends z.ZodType>(schema: T): T {
  return schema.describe(undefined as unknown as string) as T; // describe(undefined) clears it
}

/**
 * A shape with some fields' descriptions replaced; null removes a description (a shared parameter).
 * Types, checks and defaults are unchanged: for shapes the library defines with longer texts.
 */
export function redescribe<S extends z.ZodRawShape>(shape: S, texts: { [K in keyof S]?: string | null }): S {
  const out: Record<string, unknown> = { ...shape };
  for (const [k, text] of Object.entries(texts) as [string, string | null][]) {
    const field = shape[k] as unknown as z.ZodType;
    out[k] = text === null ? undescribed(field) : field.describe(text);
  }
  return out as unknown as S;
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
  /** Only where it adds words to the name (clients show the name otherwise). */
  title?: string;
  /** What it does and what it returns; shared parameters are described in the server instructions. */
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
