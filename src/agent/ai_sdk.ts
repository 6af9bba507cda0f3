// Vercel AI SDK adapter: each tool as an `ai` tool() keyed by name (a ToolSet for generateText and
// streamText). The JSON Schema the model reads is the server's; the arguments are validated by the
// tool's own execute (so bad input reads as the MCP server words it), and a refusal reaches the
// model as an error-text tool result, not a thrown exception.
import type { ToolSet } from 'ai';
import type { AgentTool, AgentTools } from './index.js';
import { peer } from './peer.js';

export interface AiSdkOptions {
  /**
   * Use the AI SDK's own tool approval (`needsApproval`) for destructive tools, other than dry
   * runs: the run stops with a tool-approval-request for the application to answer.
   */
  needsApproval?: boolean;
}

/**
 * An AI SDK `ToolSet` (what generateText / streamText take). Declared without `ai`'s types, so
 * these declarations type-check for a project that does not install `ai` (skipLibCheck off).
 */
export type AiSdkToolSet = Record<string, any>;

const isDryRun = (input: unknown) => (input as { dry_run?: unknown } | null)?.dry_run === true;

/** `tools` as an AI SDK ToolSet. Async: it loads `ai` (an optional peer dependency) on first use. */
export async function toAiSdkTools(tools: AgentTool[] | AgentTools, opts: AiSdkOptions = {}): Promise<AiSdkToolSet> {
  const { tool, jsonSchema } = await peer('ai', 'toAiSdkTools', () => import('ai'));
  const list = Array.isArray(tools) ? tools : tools.tools;
  const set: ToolSet = {};
  for (const t of list) {
    const gated = opts.needsApproval === true && t.kind === 'destructive';
    set[t.name] = tool({
      description: t.description,
      // No validate: execute validates, with the server's messages.
      inputSchema: jsonSchema<Record<string, unknown>>(t.inputJsonSchema as never),
      ...(gated ? { needsApproval: (input: Record<string, unknown>) => !isDryRun(input) } : {}),
      // The SDK runs a gated tool only once the application approved it: that approval is the confirm.
      execute: (input: unknown, { abortSignal }: { abortSignal?: AbortSignal }) =>
        t.execute(gated && !isDryRun(input) ? { ...(input as object), confirm: true } : input, {
          ...(abortSignal ? { signal: abortSignal } : {}),
        }),
      toModelOutput: ({ output }: { output: unknown }) => {
        const r = output as Awaited<ReturnType<AgentTool['execute']>>;
        return r.isError ? { type: 'error-text', value: r.text } : { type: 'json', value: r as never };
      },
    }) as ToolSet[string];
  }
  return set;
}
