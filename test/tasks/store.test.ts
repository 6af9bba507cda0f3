// The SQLite task store on its own: records survive reopening the file, a task is reached by its id
// from any session while tasks/list shows a session its own, ended tasks expire after their ttl,
// pages follow creation order, and an ended task never changes again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TTL_MS, MAX_TTL_MS, SqliteTaskStore, TASKS_FILE } from '../../src/tasks/store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-taskstore-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const call = (name: string, args: Record<string, unknown> = {}) => ({
  method: 'tools/call',
  params: { name, arguments: args },
});
const ok = { content: [{ type: 'text', text: 'done' }], structuredContent: { n: 1 } };

describe('SqliteTaskStore', () => {
  it('keeps tasks, their job and result across reopening the file', async () => {
    const a = new SqliteTaskStore(dir);
    expect(a.persisted()).toBe(false); // nothing written yet
    const t = await a.createTask({ ttl: 60_000 }, 1, call('submit_tuning_job', { base_model: 'm' }));
    expect(t).toMatchObject({ status: 'working', ttl: 60_000, pollInterval: 1000 });
    a.setRef(t.taskId, { job: 'projects/p/locations/l/tuningJobs/7' });
    a.setStatus(t.taskId, 'working', 'epoch 1/4');
    a.close();
    expect(fs.existsSync(path.join(dir, TASKS_FILE))).toBe(true);

    const b = new SqliteTaskStore(dir);
    expect(b.persisted()).toBe(true);
    expect(await b.getTask(t.taskId)).toMatchObject({
      taskId: t.taskId,
      status: 'working',
      statusMessage: 'epoch 1/4',
    });
    expect(b.unfinished()).toEqual([
      expect.objectContaining({
        tool: 'submit_tuning_job',
        args: { base_model: 'm' },
        ref: { job: 'projects/p/locations/l/tuningJobs/7' },
      }),
    ]);
    await b.storeTaskResult(t.taskId, 'completed', ok);
    expect(await b.getTaskResult(t.taskId)).toEqual(ok);
    // Ended: no status, result or cancellation changes it again.
    await expect(b.storeTaskResult(t.taskId, 'failed', ok)).rejects.toThrow(/not found or already ended/);
    await expect(b.updateTaskStatus(t.taskId, 'cancelled')).rejects.toThrow(/already ended \(completed\)/);
    b.setStatus(t.taskId, 'working', 'late');
    expect(await b.getTask(t.taskId)).toMatchObject({ status: 'completed', statusMessage: 'epoch 1/4' });
    expect(b.unfinished()).toEqual([]);
    b.close();
    await expect(b.getTask(t.taskId)).rejects.toThrow(/closed/);
  });

  it('reaches a task by id from any session; lists a session its own tasks and sessionless ones', async () => {
    const s = new SqliteTaskStore(':memory:');
    const mine = await s.createTask({}, 1, call('prepare_dataset'), 'session-a');
    const theirs = await s.createTask({}, 2, call('prepare_dataset'), 'session-b');
    const shared = await s.createTask({}, 3, call('prepare_dataset'));
    expect((await s.getTask(theirs.taskId, 'session-a'))?.taskId).toBe(theirs.taskId);
    const listed = (await s.listTasks(undefined, 'session-a')).tasks.map((t) => t.taskId);
    expect(listed.sort()).toEqual([mine.taskId, shared.taskId].sort());
    expect((await s.listTasks()).tasks.length).toBe(3);
    await expect(s.listTasks('no-such-cursor')).rejects.toThrow(/invalid cursor/);
    s.close();
  });

  it('caps the ttl, defaults it, and forgets ended tasks once it has passed', async () => {
    let now = 1_000_000;
    const s = new SqliteTaskStore(':memory:', () => now);
    const forever = await s.createTask({ ttl: null }, 1, call('deploy_model'));
    const long = await s.createTask({ ttl: MAX_TTL_MS * 10 }, 2, call('deploy_model'));
    const short = await s.createTask({ ttl: 1000 }, 3, call('deploy_model'));
    expect([forever.ttl, long.ttl, short.ttl]).toEqual([DEFAULT_TTL_MS, MAX_TTL_MS, 1000]);
    now += 5000; // a working task does not expire
    expect(await s.getTask(short.taskId)).not.toBeNull();
    await s.storeTaskResult(short.taskId, 'completed', ok);
    now += 999;
    expect(await s.getTaskResult(short.taskId)).toEqual(ok);
    now += 2;
    expect(await s.getTask(short.taskId)).toBeNull();
    await expect(s.getTaskResult(short.taskId)).rejects.toThrow(/not found/);
    expect((await s.listTasks()).tasks.map((t) => t.taskId).sort()).toEqual([forever.taskId, long.taskId].sort());
    s.close();
  });

  it('pages tasks/list in creation order', async () => {
    let now = 0;
    const s = new SqliteTaskStore(':memory:', () => now);
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) {
      now += 1;
      ids.push((await s.createTask({}, i, call('prepare_dataset'))).taskId);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await s.listTasks(cursor);
      seen.push(...page.tasks.map((t) => t.taskId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    s.close();
  });

  it('asks the runner before cancelling; a refusal leaves the task working', async () => {
    const s = new SqliteTaskStore(':memory:');
    const t = await s.createTask({}, 1, call('deploy_model'));
    s.onCancel = async () => {
      throw new Error('deploy_model cannot be cancelled');
    };
    await expect(s.updateTaskStatus(t.taskId, 'cancelled')).rejects.toThrow('deploy_model cannot be cancelled');
    expect((await s.getTask(t.taskId))?.status).toBe('working');
    s.onCancel = async () => ({ content: [{ type: 'text', text: 'job CANCELLED' }], structuredContent: { n: 2 } });
    await s.updateTaskStatus(t.taskId, 'cancelled', 'Client cancelled task execution.');
    expect(await s.getTask(t.taskId)).toMatchObject({
      status: 'cancelled',
      statusMessage: 'Client cancelled task execution.',
    });
    expect(await s.getTaskResult(t.taskId)).toMatchObject({ structuredContent: { n: 2 } });
    s.close();
  });
});
