// Google ADK adapter: each tool as a FunctionTool whose declaration carries the server's JSON Schema
// (parametersJsonSchema, so the model reads what an MCP client reads and execute validates with the
// server's messages), and a plugin that asks the user, through ADK's tool-confirmation flow
// (adk_request_confirmation), before any destructive tool runs other than a dry run.
import type { Context, FunctionTool } from '@google/adk';
import type { AgentTool, AgentTools } from './index.js';
import { peer } from './peer.js';

/** Marks the FunctionTools made here, so the plugin knows the catalogue tool behind one. */
const AGENT_TOOL = Symbol.for('vertex-mcp.agentTool');

type Tagged = { [AGENT_TOOL]?: AgentTool };

const isDryRun = (input: unknown) => (input as { dry_run?: unknown } | null)?.dry_run === true;

/**
 * An ADK FunctionTool and an ADK BasePlugin (what LlmAgent's `tools` and a Runner's `plugins`
 * take). Declared without ADK's types, so these declarations type-check for a project that does not
 * install `@google/adk` (skipLibCheck off).
 */
export type AdkTool = any;
export type AdkPlugin = any;

/** The confirmation plugin's name: one per runner. */
export const ADK_CONFIRMATION_PLUGIN = 'vertex_mcp_confirmation';
const PLUGIN_MARK = Symbol.for('vertex-mcp.adkConfirmationPlugin');

/** Whether the runner of this call has the confirmation plugin. */
const gated = (ctx?: Context) =>
  (ctx?.invocationContext.pluginManager.getPlugin(ADK_CONFIRMATION_PLUGIN) as { [PLUGIN_MARK]?: true } | undefined)?.[
    PLUGIN_MARK
  ] === true;

/** `tools` as ADK FunctionTools. Async: it loads `@google/adk` (an optional peer dependency). */
export async function toAdkTools(tools: AgentTool[] | AgentTools): Promise<AdkTool[]> {
  const { FunctionTool } = await peer('@google/adk', 'toAdkTools', () => import('@google/adk'));
  class CatalogueTool extends FunctionTool {
    constructor(readonly agentTool: AgentTool) {
      super({
        name: agentTool.name,
        description: agentTool.description,
        // Gated only where the plugin is installed; ADK checks this before it resumes an approved call.
        requireConfirmation: (input: unknown, ctx?: Context) =>
          agentTool.kind === 'destructive' && !isDryRun(input) && gated(ctx),
        // The user approved this very call (see the plugin): that approval is the confirm.
        execute: (input: unknown, ctx?: Context) =>
          agentTool.execute(
            ctx?.toolConfirmation?.confirmed === true && !isDryRun(input)
              ? { ...(input as object), confirm: true }
              : input,
            ctx?.abortSignal ? { signal: ctx.abortSignal } : {},
          ),
      });
      (this as Tagged)[AGENT_TOOL] = agentTool;
    }

    override _getDeclaration() {
      return { name: this.name, description: this.description, parametersJsonSchema: this.agentTool.inputJsonSchema };
    }
  }
  const list = Array.isArray(tools) ? tools : tools.tools;
  return list.map((t) => new CatalogueTool(t) as FunctionTool);
}

/**
 * An ADK plugin (pass it to the Runner's `plugins`) that pauses every destructive catalogue tool
 * call, other than a dry run, for the user's confirmation, whatever `confirm` the model sent: the run
 * ends with an `adk_request_confirmation` call; answer it with a FunctionResponse
 * `{ confirmed: true | false }` to run the tool or refuse it. Async: it loads `@google/adk`.
 */
export async function createAdkConfirmationPlugin(): Promise<AdkPlugin> {
  const { BasePlugin } = await peer('@google/adk', 'createAdkConfirmationPlugin', () => import('@google/adk'));
  class ConfirmationPlugin extends BasePlugin {
    readonly [PLUGIN_MARK] = true;

    override async beforeToolCallback({
      tool,
      toolArgs,
      toolContext,
    }: {
      tool: object;
      toolArgs: Record<string, unknown>;
      toolContext: Context;
    }): Promise<Record<string, unknown> | undefined> {
      const t = (tool as Tagged)[AGENT_TOOL];
      if (t?.kind !== 'destructive' || isDryRun(toolArgs)) return undefined; // not ours, or harmless
      const answer = toolContext.toolConfirmation;
      if (answer?.confirmed) return undefined; // the tool runs, with confirm: true
      if (answer) {
        return {
          isError: true,
          code: 'CONFIRMATION_REQUIRED',
          text: `${t.name}: rejected by the user; nothing was changed`,
        };
      }
      toolContext.requestConfirmation({
        hint: `${t.name} changes or deletes resources (${t.description}) Approve or reject this call; a dry run (dry_run: true) shows the plan.`,
      });
      toolContext.actions.skipSummarization = true;
      return {
        isError: true,
        code: 'CONFIRMATION_REQUIRED',
        text: `${t.name}: waiting for the user's confirmation; nothing was changed`,
      };
    }
  }
  return new ConfirmationPlugin(ADK_CONFIRMATION_PLUGIN);
}
