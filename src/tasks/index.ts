// MCP tasks (protocol 2025-11-25, experimental in the SDK) for the long tools: a task-augmented
// tools/call of submit_tuning_job, prepare_dataset, deploy_model or start_ab_test returns a task at
// once and the work goes on in the background (manager.ts); tasks/get, tasks/result, tasks/list
// and tasks/cancel are the SDK's, over our SQLite store. A call without a task is untouched.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  McpError,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Extra, ToolDef } from '../tools/define.js';
import type { TaskManager } from './manager.js';
import { TASK_OPS } from './ops.js';
import { POLL_INTERVAL_MS } from './store.js';

export { TaskManager } from './manager.js';
export { TASK_OPS } from './ops.js';
export { SqliteTaskStore, TASKS_FILE } from './store.js';

/** The tools that accept a task, in a selection. */
export const taskToolsOf = (tools: ToolDef[]) => new Set(tools.map((t) => t.name).filter((n) => n in TASK_OPS));

/** The server's tasks capability: tools/call may be task-augmented; tasks can be listed and cancelled. */
export const TASKS_CAPABILITY: NonNullable<ServerCapabilities['tasks']> = {
  list: {},
  cancel: {},
  requests: { tools: { call: {} } },
};

type Handler = (request: unknown, extra: Extra) => Promise<unknown>;

/**
 * Wraps the McpServer's tools/call handler: a task-augmented call of a task tool starts a task;
 * any other call goes to the McpServer as before (its results unchanged). The McpServer would
 * itself turn a call without a task to a task tool into a task and poll it to its end (its
 * registerToolTask), which would change what clients without tasks get: hence the wrapper.
 */
export function enableTaskTools(server: McpServer, tools: ToolDef[], manager: TaskManager): void {
  // The SDK keeps no public way to reach a registered handler; checked here so an SDK change fails at start.
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, Handler> })._requestHandlers;
  const plain = handlers?.get('tools/call');
  if (!plain) throw new Error('the MCP SDK no longer exposes its tools/call handler: task tools cannot be wired');
  const byName = new Map(tools.map((t) => [t.name, t]));
  manager.use(server);
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args = {}, task } = request.params;
    if (!task) return (await plain(request, extra)) as never;
    const def = byName.get(name);
    if (!def) throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`);
    if (!TASK_OPS[name]) {
      const which = [...byName.keys()].filter((n) => n in TASK_OPS).join(', ') || 'none in this selection';
      throw new McpError(
        ErrorCode.MethodNotFound,
        `Tool ${name} does not run as a task (execution.taskSupport forbidden): call it without "task". Tools that do: ${which}`,
      );
    }
    // The same checks as a call without a task, answered at once (before any task exists).
    const parsed = z.object(def.input).safeParse(args);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || 'arguments'}: ${i.message.slice(0, 200)}`)
        .join('; ');
      throw new McpError(ErrorCode.InvalidParams, `Invalid arguments for tool ${name}: ${issues}`);
    }
    if (!extra.taskStore) throw new McpError(ErrorCode.InternalError, 'no task store configured');
    const created = await extra.taskStore.createTask({ ttl: task.ttl, pollInterval: POLL_INTERVAL_MS });
    manager.start(created.taskId, name, args, { server, extra });
    return { task: created } as never;
  });
}
