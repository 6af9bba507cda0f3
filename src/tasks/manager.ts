// Runs task-augmented tool calls in the background: starts the work through the tool's handler,
// follows it to its end (TASK_OPS), stores the result as the tool call would return it, cancels
// the underlying job on tasks/cancel, and on the first use after a restart re-attaches the tasks
// that were still working to their recorded jobs. One per data directory: HTTP sessions share it.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { VertexMcpError } from '../lib/errors.js';
import type { Library } from '../lib/index.js';
import { catalogue, type Extra, type ToolDef } from '../tools/index.js';
import { toCallResult, toErrorResult } from '../tools/register.js';
import { TASK_OPS, type TaskIo } from './ops.js';
import { SqliteTaskStore, type TaskRecord } from './store.js';

type Args = Record<string, unknown>;
/** The reason a task's signal carries when the client cancelled it (else the server is closing). */
const CANCEL = 'cancelled by the client';

export interface TaskContext {
  server: McpServer;
  extra: Extra;
}

export class TaskManager {
  readonly store: SqliteTaskStore;
  private readonly defs = new Map<string, ToolDef>(catalogue().map((t) => [t.name, t]));
  private readonly running = new Map<string, AbortController>();
  private readonly work = new Set<Promise<void>>();
  /** A server for the handlers of re-attached tasks (they have no request of their own). */
  private server: McpServer | undefined;
  private closed = false;

  constructor(
    private readonly lib: Library,
    dataDir: string,
    private readonly onToolCall?: (tool: string, outcome: 'ok' | 'error', seconds: number) => void,
  ) {
    this.store = new SqliteTaskStore(dataDir);
    this.store.onCancel = (rec) => this.cancel(rec);
    // Synchronously, before the request that opened the store adds a task of its own.
    this.store.onOpen = () => this.resumeAll();
  }

  /** The server re-attached tasks' handlers use; the first one connected. */
  use(server: McpServer): void {
    this.server ??= server;
  }

  /** Starts a created task's work; returns at once. */
  start(taskId: string, tool: string, args: Args, ctx: TaskContext): void {
    this.use(ctx.server);
    const op = TASK_OPS[tool];
    if (!op) throw new Error(`${tool} does not run as a task`);
    this.execute(taskId, tool, (io) => op.run(args, io), ctx);
  }

  /** Opens a persisted store (re-attaching unfinished tasks) after start-up rather than on the first request. */
  warm(): void {
    if (!this.closed && this.store.persisted()) void this.store.listTasks().catch(() => {});
  }

  private resumeAll(): void {
    if (this.closed) return;
    for (const rec of this.store.unfinished()) {
      if (this.running.has(rec.task.taskId)) continue;
      const op = TASK_OPS[rec.tool];
      const resume = op?.resume;
      if (rec.ref && resume) {
        this.execute(rec.task.taskId, rec.tool, (io) => resume(rec.ref as Args, rec.args, io));
        continue;
      }
      const why = op?.lost ?? `${rec.tool} does not run as a task`;
      const text = `Interrupted: ${why}.`;
      this.store.finish(rec.task.taskId, 'failed', { isError: true, content: [{ type: 'text', text }] }, text);
    }
  }

  private execute(taskId: string, tool: string, fn: (io: TaskIo) => Promise<unknown>, ctx?: TaskContext): void {
    const controller = new AbortController();
    this.running.set(taskId, controller);
    const started = performance.now();
    const io = this.io(taskId, controller, ctx);
    const done = (async () => {
      let result: CallToolResult;
      try {
        const out = (await fn(io)) as { structured: unknown; text: string };
        // Checked against the tool's full output schema, as a call without a task is (returned as is).
        z.object((this.defs.get(tool) as ToolDef).output).parse(out.structured);
        result = toCallResult(out);
      } catch (err) {
        result = toErrorResult(err, this.lib, tool);
      }
      this.running.delete(taskId);
      // Cancelled: tasks/cancel stored the task's end. Closing: the task stays 'working' and is
      // re-attached by the next server on this data dir.
      if (io.cancelled || this.closed) return;
      const ok = !result.isError;
      this.onToolCall?.(tool, ok ? 'ok' : 'error', (performance.now() - started) / 1000);
      const text = (result.content[0] as { text?: string } | undefined)?.text ?? '';
      this.store.finish(taskId, ok ? 'completed' : 'failed', result, text.slice(0, 500));
      // The client that started it hears of the end (MCP's optional notifications/tasks/status):
      // not tied to the request, which answered long ago, so HTTP sends it on the session's stream.
      const task = ctx && (await this.store.getTask(taskId));
      if (task) {
        await ctx.server.server
          .notification({ method: 'notifications/tasks/status', params: task } as never)
          .catch(() => {}); // the session may be gone: tasks/get still answers
      }
    })();
    this.work.add(done);
    void done
      .catch((err) => this.lib.log.warn(`task ${taskId} (${tool}) could not be recorded: ${String(err)}`))
      .finally(() => this.work.delete(done));
  }

  /** What the work sees: handlers called with the task's signal; their progress becomes the status. */
  private io(taskId: string, controller: AbortController, ctx?: TaskContext): TaskIo {
    const { lib, store, defs } = this;
    const token = ctx?.extra._meta?.progressToken;
    const status = (message: string, at?: { progress: number; total?: number }) => {
      if (this.closed) return;
      store.setStatus(taskId, 'working', message.slice(0, 500));
      if (at && token !== undefined && ctx) {
        const params = { progressToken: token, progress: at.progress, total: at.total, message };
        void ctx.extra.sendNotification({ method: 'notifications/progress', params }).catch(() => {});
      }
    };
    const extra = {
      ...(ctx?.extra ?? { requestId: taskId }),
      signal: controller.signal,
      // Every handler reports progress to the task; the client gets it too when it sent a token.
      _meta: { ...ctx?.extra._meta, progressToken: token ?? `task-${taskId}` },
      sendNotification: async (n: { method: string; params?: Record<string, unknown> }) => {
        if (n.method === 'notifications/progress') {
          const p = n.params as { message?: string; progress: number; total?: number };
          status(p.message ?? `${p.progress}${p.total ? `/${p.total}` : ''}`);
          if (token === undefined) return;
        }
        await ctx?.extra.sendNotification(n as never);
      },
      sendRequest:
        ctx?.extra.sendRequest ??
        (async () => {
          throw new VertexMcpError('FAILED_PRECONDITION', 'a re-attached task cannot ask the client');
        }),
    } as Extra;
    const server = () => {
      const s = ctx?.server ?? this.server;
      if (!s) throw new VertexMcpError('UNAVAILABLE', 'no MCP server is connected to run the task');
      return s;
    };
    return {
      lib,
      signal: controller.signal,
      get cancelled() {
        return controller.signal.aborted && controller.signal.reason === CANCEL;
      },
      async call(tool, args) {
        const def = defs.get(tool);
        if (!def) throw new Error(`unknown tool ${tool}`);
        const parsed = z.object(def.input).parse(args);
        return (await def.handler(parsed as never, { lib, server: server(), extra })) as Awaited<
          ReturnType<TaskIo['call']>
        >;
      },
      status,
      attach: (ref) => store.setRef(taskId, ref),
    };
  }

  /**
   * tasks/cancel: cancels the underlying job (or stops in-process work) before the task is marked
   * cancelled; throws (the client gets the reason) when the work cannot be cancelled.
   */
  private async cancel(rec: TaskRecord): Promise<CallToolResult | undefined> {
    const op = TASK_OPS[rec.tool];
    if (!op) return undefined;
    if (typeof op.cancel === 'string' && op.cancel !== 'abort') throw new Error(op.cancel);
    const controller = this.running.get(rec.task.taskId);
    let result: CallToolResult | undefined;
    if (typeof op.cancel === 'function') {
      const out = await op.cancel(rec.ref, this.lib);
      if (out) result = toCallResult(out);
    }
    controller?.abort(CANCEL);
    return result;
  }

  /** Stops following tasks (they stay 'working' for the next server on this data dir) and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.running.values()) c.abort('server closing');
    await Promise.allSettled([...this.work]);
    this.store.close();
  }
}
