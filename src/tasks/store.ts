// MCP task records in SQLite (`<dataDir>/tasks.sqlite`, in memory for ':memory:'): the SDK's
// TaskStore interface (tasks/get, tasks/result, tasks/list, tasks/cancel go through it), plus
// what a restarted server needs to re-attach a task to its Vertex job: the tool and a `ref` (the
// tuning job or operation name).

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { CreateTaskOptions, TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { Request, RequestId, Result, Task } from '@modelcontextprotocol/sdk/types.js';
import type Database from 'better-sqlite3';

export const TASKS_FILE = 'tasks.sqlite';
/** Results are kept this long after a task ends when the client asks for no ttl (or a longer one). */
export const MAX_TTL_MS = 7 * 24 * 3600_000;
export const DEFAULT_TTL_MS = 24 * 3600_000;
/** What tasks/get suggests between polls: tuning epochs and deploys take seconds. */
export const POLL_INTERVAL_MS = 1000;
const PAGE = 50;

type Status = Task['status'];
const TERMINAL: readonly Status[] = ['completed', 'failed', 'cancelled'];
export const isTerminal = (s: Status) => TERMINAL.includes(s);

interface Row {
  task_id: string;
  session_id: string | null;
  tool: string;
  status: Status;
  status_message: string | null;
  ttl_ms: number | null;
  poll_ms: number;
  created_ms: number;
  updated_ms: number;
  args: string;
  ref: string | null;
  result: string | null;
}

/** A task as the runner sees it: the tool, its arguments and the job it is attached to. */
export interface TaskRecord {
  task: Task;
  tool: string;
  args: Record<string, unknown>;
  ref: Record<string, unknown> | null;
}

const toTask = (r: Row): Task => ({
  taskId: r.task_id,
  status: r.status,
  ttl: r.ttl_ms,
  createdAt: new Date(r.created_ms).toISOString(),
  lastUpdatedAt: new Date(r.updated_ms).toISOString(),
  pollInterval: r.poll_ms,
  ...(r.status_message ? { statusMessage: r.status_message } : {}),
});

export class SqliteTaskStore implements TaskStore {
  private handle: Database.Database | undefined;
  /** Called when a client cancels a task (tasks/cancel), before it is marked cancelled; may refuse by throwing. */
  onCancel?: (rec: TaskRecord) => Promise<Result | undefined>;
  /** Called once, when the database is first opened (a restarted server re-attaches its tasks then). */
  onOpen?: () => void;

  constructor(
    private readonly dataDir: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opened on first use: start-up does not load the native module. */
  private get db(): Database.Database {
    if (this.handle) return this.handle;
    if (this.closed) throw new Error('the task store is closed');
    let file = ':memory:';
    if (this.dataDir !== ':memory:') {
      fs.mkdirSync(this.dataDir, { recursive: true });
      file = path.join(this.dataDir, TASKS_FILE);
    }
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    const db = new Sqlite(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS tasks (
      task_id TEXT PRIMARY KEY, session_id TEXT, tool TEXT NOT NULL, status TEXT NOT NULL,
      status_message TEXT, ttl_ms INTEGER, poll_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL,
      updated_ms INTEGER NOT NULL, args TEXT NOT NULL, ref TEXT, result TEXT);
      CREATE INDEX IF NOT EXISTS tasks_by_created ON tasks (created_ms, task_id);`);
    this.handle = db;
    this.onOpen?.();
    return db;
  }

  private closed = false;

  /** Whether a file from an earlier run may hold tasks to re-attach. */
  persisted(): boolean {
    return this.dataDir !== ':memory:' && fs.existsSync(path.join(this.dataDir, TASKS_FILE));
  }

  close(): void {
    this.closed = true;
    if (this.handle?.open) this.handle.close();
    this.handle = undefined;
  }

  /** Deletes ended tasks whose ttl has passed since they ended. */
  private expire(): void {
    this.db
      .prepare(
        `DELETE FROM tasks WHERE status IN ('completed','failed','cancelled') AND ttl_ms IS NOT NULL AND updated_ms + ttl_ms < ?`,
      )
      .run(this.now());
  }

  /**
   * The row, from any session: a task's 128-bit random id is what grants access to it. vertex-mcp
   * has no per-session tenancy (every session sees every tuning job through the tools), and a
   * client that reconnects after a restart has a new session yet must still reach its task.
   * tasks/list, though, shows a session its own tasks (and sessionless ones) only.
   */
  private row(taskId: string): Row | undefined {
    const r = this.db.prepare('SELECT * FROM tasks WHERE task_id = ?').get(taskId) as Row | undefined;
    if (!r) return undefined;
    if (isTerminal(r.status) && r.ttl_ms !== null && r.updated_ms + r.ttl_ms < this.now()) return undefined;
    return r;
  }

  async createTask(params: CreateTaskOptions, _id: RequestId, request: Request, sessionId?: string): Promise<Task> {
    const taskId = randomBytes(16).toString('hex');
    const ttl = Math.min(params.ttl ?? DEFAULT_TTL_MS, MAX_TTL_MS);
    const p = request.params as { name?: string; arguments?: Record<string, unknown> } | undefined;
    const at = this.now();
    this.expire();
    this.db
      .prepare(
        `INSERT INTO tasks (task_id, session_id, tool, status, ttl_ms, poll_ms, created_ms, updated_ms, args)
         VALUES (?, ?, ?, 'working', ?, ?, ?, ?, ?)`,
      )
      .run(
        taskId,
        sessionId ?? null,
        String(p?.name ?? request.method),
        ttl,
        params.pollInterval ?? POLL_INTERVAL_MS,
        at,
        at,
        JSON.stringify(p?.arguments ?? {}),
      );
    return toTask(this.row(taskId) as Row);
  }

  async getTask(taskId: string, _sessionId?: string): Promise<Task | null> {
    const r = this.row(taskId);
    return r ? toTask(r) : null;
  }

  async storeTaskResult(taskId: string, status: 'completed' | 'failed', result: Result) {
    if (!this.finish(taskId, status, result)) {
      throw new Error(`Task ${taskId} not found or already ended`);
    }
  }

  async getTaskResult(taskId: string, _sessionId?: string): Promise<Result> {
    const r = this.row(taskId);
    if (!r) throw new Error(`Task ${taskId} not found`);
    if (r.result === null) throw new Error(`Task ${taskId} has no result (status ${r.status})`);
    return JSON.parse(r.result) as Result;
  }

  /** Status changes from the protocol: 'cancelled' is tasks/cancel, which cancels the job first. */
  async updateTaskStatus(taskId: string, status: Status, statusMessage?: string) {
    const r = this.row(taskId);
    if (!r) throw new Error(`Task ${taskId} not found`);
    if (isTerminal(r.status)) throw new Error(`Task ${taskId} already ended (${r.status})`);
    if (status === 'cancelled') {
      // The cancelled job as the tool reports it, or (no job to report) an error saying so.
      const result = (await this.onCancel?.(this.recordOf(r))) ?? {
        isError: true,
        content: [{ type: 'text', text: statusMessage ?? 'Cancelled.' }],
      };
      this.finish(taskId, 'cancelled', result, statusMessage);
      return;
    }
    this.setStatus(taskId, status, statusMessage);
  }

  async listTasks(cursor?: string, sessionId?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    this.expire();
    let after = { created: -1, id: '' };
    if (cursor) {
      const c = this.db.prepare('SELECT created_ms, task_id FROM tasks WHERE task_id = ?').get(cursor) as
        | { created_ms: number; task_id: string }
        | undefined;
      if (!c) throw new Error(`invalid cursor "${cursor}"`);
      after = { created: c.created_ms, id: c.task_id };
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM tasks WHERE (created_ms > ? OR (created_ms = ? AND task_id > ?))
         AND (? IS NULL OR session_id IS NULL OR session_id = ?) ORDER BY created_ms, task_id LIMIT ?`,
      )
      .all(after.created, after.created, after.id, sessionId ?? null, sessionId ?? null, PAGE + 1) as Row[];
    const page = rows.slice(0, PAGE);
    return {
      tasks: page.map(toTask),
      ...(rows.length > PAGE ? { nextCursor: page.at(-1)?.task_id } : {}),
    };
  }

  // ---- the runner's side (no session check: the runner owns the task) ----

  record(taskId: string): TaskRecord | null {
    const r = this.row(taskId);
    return r ? this.recordOf(r) : null;
  }

  private recordOf(r: Row): TaskRecord {
    return {
      task: toTask(r),
      tool: r.tool,
      args: JSON.parse(r.args) as Record<string, unknown>,
      ref: r.ref ? (JSON.parse(r.ref) as Record<string, unknown>) : null,
    };
  }

  /** Tasks still working (or waiting for input): what a restarted server re-attaches. */
  unfinished(): TaskRecord[] {
    const rows = this.db
      .prepare(`SELECT * FROM tasks WHERE status NOT IN ('completed','failed','cancelled') ORDER BY created_ms`)
      .all() as Row[];
    return rows.map((r) => this.recordOf(r));
  }

  /** Progress while working; a no-op once the task has ended (e.g. cancelled meanwhile). */
  setStatus(taskId: string, status: Status, message?: string): void {
    this.db
      .prepare(
        `UPDATE tasks SET status = ?, status_message = COALESCE(?, status_message), updated_ms = ?
         WHERE task_id = ? AND status NOT IN ('completed','failed','cancelled')`,
      )
      .run(status, message ?? null, this.now(), taskId);
  }

  /** The job a task is attached to (tuning job, operation), kept for re-attaching after a restart. */
  setRef(taskId: string, ref: Record<string, unknown>): void {
    this.db.prepare('UPDATE tasks SET ref = ? WHERE task_id = ?').run(JSON.stringify(ref), taskId);
  }

  /** Ends a working task with its result; false when it had already ended. */
  finish(taskId: string, status: Status, result: Result, message?: string): boolean {
    if (!this.row(taskId)) return false;
    const changed = this.db
      .prepare(
        `UPDATE tasks SET status = ?, result = ?, status_message = COALESCE(?, status_message), updated_ms = ?
         WHERE task_id = ? AND status NOT IN ('completed','failed','cancelled')`,
      )
      .run(status, JSON.stringify(result), message ?? null, this.now(), taskId);
    return changed.changes === 1;
  }
}
