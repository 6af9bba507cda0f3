// OpenAI Agents SDK adapter: each tool as an `@openai/agents` function tool. Non-strict, with the
// server's JSON Schema: strict mode would need every optional field made required-and-nullable,
// which changes the schema the catalogue defines; the tool's execute validates instead, with the
// server's messages. A refusal is returned as the tool's output (the model reads it), not thrown.
import type { FunctionTool } from '@openai/agents';
import type { AgentTool, AgentTools } from './index.js';
import { peer } from './peer.js';

export interface OpenAIAgentsOptions {
  /**
   * Use the SDK's human approval (`needsApproval`) for destructive tools, other than dry runs: the
   * run stops with an interruption the application approves or rejects (result.interruptions).
   */
  needsApproval?: boolean;
}

/**
 * An `@openai/agents` FunctionTool (what an Agent's `tools` take). Declared without the SDK's types,
 * so these declarations type-check for a project that does not install it (skipLibCheck off).
 */
export type OpenAIAgentsTool = any;

const isDryRun = (input: unknown) => (input as { dry_run?: unknown } | null)?.dry_run === true;

/** `tools` as OpenAI Agents function tools. Async: it loads `@openai/agents` (an optional peer). */
export async function toOpenAIAgentsTools(
  tools: AgentTool[] | AgentTools,
  opts: OpenAIAgentsOptions = {},
): Promise<OpenAIAgentsTool[]> {
  const { tool } = await peer('@openai/agents', 'toOpenAIAgentsTools', () => import('@openai/agents'));
  const list = Array.isArray(tools) ? tools : tools.tools;
  return list.map((t) => {
    const gated = opts.needsApproval === true && t.kind === 'destructive';
    return tool({
      name: t.name,
      description: t.description,
      parameters: t.inputJsonSchema as never,
      strict: false,
      ...(gated ? { needsApproval: async (_ctx: unknown, input: unknown) => !isDryRun(input) } : {}),
      // The SDK runs a gated tool only once it was approved: that approval is the confirm.
      execute: async (input: unknown, _ctx?: unknown, details?: { signal?: AbortSignal }) =>
        t.execute(gated && !isDryRun(input) ? { ...(input as object), confirm: true } : input, {
          ...(details?.signal ? { signal: details.signal } : {}),
        }),
    }) as unknown as FunctionTool;
  });
}
