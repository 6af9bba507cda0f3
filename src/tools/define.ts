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
