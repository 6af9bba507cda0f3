// MCP tasks for the long tools, through a real MCP Client with the tasks capability over an
// in-memory transport, on the embedded emulator: a task-augmented call returns a task at once,
// tasks/get reports it working then completed, tasks/result returns the tool result (the shape a
// call with wait returns), tasks/cancel cancels the tuning job, and a restarted server (same data
// dir) still answers for a task started before, re-attached to its job. Clients without tasks get
// the plain result.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ErrorCode,
  type Task,
  TaskStatusNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type BackendConfig, createLibrary, type Library } from '../../src/lib/index.js';
import { createServer, type VertexMcpServer } from '../../src/server.js';
import { SqliteTaskStore, TASKS_FILE } from '../../src/tasks/index.js';
import { catalogue } from '../../src/tools/index.js';
import { EXAMPLES, HALO_LOG } from '../datasets/helpers.js';
import { routingLines as lines } from '../fixtures/routing.js';
import { emulatorBackend } from '../helpers.js';

const TRAIN = 'gs://vertex-mcp-emulator/tasks/train.jsonl';
const VAL = 'gs://vertex-mcp-emulator/tasks/validation.jsonl';
const base = { base_model: 'local/text-router', dataset: { train_uri: TRAIN, validation_uri: VAL } };
const outputOf = (tool: string) => z.object(catalogue().find((t) => t.name === tool)?.output ?? {});

let emu: Emulator;
let backend: BackendConfig;
let files: Library;
let dataDir: string;
/** A routing log of ~10 MB (the example's, 40 times over with distinct tasks): long enough to cancel or interrupt. */
let bigLog: string;

interface Conn {
  mcp: VertexMcpServer;
  client: Client;
  close(): Promise<void>;
}

/** A server owning its library and tasks on `dataDir`, and a client (with or without the tasks capability). */
async function connect(opts: { tasks?: boolean } = {}): Promise<Conn> {
  const mcp = createServer({ backend, dataDir, allowedRoots: [EXAMPLES, path.dirname(bigLog)] });
  const client = new Client(
    { name: 'tasks-test', version: '1.0.0' },
    { capabilities: opts.tasks === false ? {} : { tasks: { list: {}, cancel: {} } } },
  );
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([mcp.server.connect(b), client.connect(a)]);
  return {
    mcp,
    client,
    async close() {
      await client.close();
      await mcp.close();
    },
  };
}

/** A task-augmented tools/call: the CreateTaskResult the server answers with. */
async function startTask(c: Client, name: string, args: Record<string, unknown>, ttl = 600_000) {
  const started = performance.now();
  const r = await c.request(
    { method: 'tools/call', params: { name, arguments: args, task: { ttl } } },
    CreateTaskResultSchema,
  );
  return { task: r.task, ms: performance.now() - started };
}

/** Polls tasks/get until the task ends; returns every status (and message) seen. */
async function until(c: Client, taskId: string, timeoutMs = 60_000): Promise<{ seen: Task[]; last: Task }> {
  const seen: Task[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await c.experimental.tasks.getTask(taskId);
    seen.push(t);
    if (['completed', 'failed', 'cancelled'].includes(t.status)) return { seen, last: t };
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${t.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const result = (c: Client, taskId: string) => c.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);

beforeAll(async () => {
  emu = await startEmulator({ dataDir: ':memory:' });
  backend = emulatorBackend(emu);
  files = createLibrary(backend);
  await files.files.writeText(TRAIN, lines(0, 200));
  await files.files.writeText(VAL, lines(200, 240));
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-tasks-'));
  const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-tasks-logs-'));
  bigLog = path.join(logs, 'halo.jsonl');
  const example = fs.readFileSync(HALO_LOG, 'utf8').trim().split('\n');
  for (let i = 0; i < 40; i++) {
    const copy = example.map((l) => l.replace(/"task":"/, `"task":"#${i} `));
    fs.appendFileSync(bigLog, `${copy.join('\n')}\n`);
  }
});
afterAll(async () => {
  await files?.close();
  await emu?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (bigLog) fs.rmSync(path.dirname(bigLog), { recursive: true, force: true });
});

describe('task-augmented submit_tuning_job', () => {
  let c: Conn;
  beforeAll(async () => {
    c = await connect();
  });
  afterAll(async () => {
    await c?.close();
  });

  it('lists the long tools with taskSupport optional, the others without execution', async () => {
    const { tools } = await c.client.listTools();
    const optional = tools.filter((t) => t.execution?.taskSupport === 'optional').map((t) => t.name);
    expect(optional.sort()).toEqual(['deploy_model', 'prepare_dataset', 'start_ab_test', 'submit_tuning_job']);
    expect(tools.filter((t) => t.execution && t.execution.taskSupport !== 'optional')).toEqual([]);
    expect(c.client.getServerCapabilities()?.tasks).toEqual({
      list: {},
      cancel: {},
      requests: { tools: { call: {} } },
    });
  });

  it('returns a task at once; tasks/get shows working then completed; tasks/result is the wait: true result', async () => {
    const args = {
      ...base,
      tuning_type: 'supervised',
      hyperparameters: { epochs: 4 },
      output: { name: 'task-router', version: '1.0.0' },
    };
    const statuses: { taskId: string; status: string }[] = [];
    c.client.setNotificationHandler(TaskStatusNotificationSchema, (n) => void statuses.push(n.params));
    const { task, ms } = await startTask(c.client, 'submit_tuning_job', args);
    expect(task).toMatchObject({ status: 'working', ttl: 600_000, pollInterval: 1000 });
    expect(task.taskId).toMatch(/^[0-9a-f]{32}$/);
    const { seen, last } = await until(c.client, task.taskId);
    expect(seen[0]?.status).toBe('working');
    expect(last.status).toBe('completed');
    // The end is also announced (notifications/tasks/status), once.
    await expect
      .poll(() => statuses.filter((t) => t.taskId === task.taskId).map((t) => t.status))
      .toEqual(['completed']);
    // Progress while working, from the tool's own summaries.
    expect(
      seen.map((t) => t.statusMessage ?? '').some((m) => /^Tuning job \S+ (PENDING|RUNNING|SUCCEEDED)/.test(m)),
    ).toBe(true);
    const r = await result(c.client, task.taskId);
    expect(r.isError).toBeFalsy();
    const job = r.structuredContent as Record<string, any>;
    expect(job).toMatchObject({
      state: 'SUCCEEDED',
      done: true,
      tuning_type: 'supervised',
      registered: { name: 'task-router', version: '1.0.0' },
    });
    expect(job.progress.epochs_planned).toBe(4);
    expect(outputOf('submit_tuning_job').safeParse(job).success).toBe(true);
    expect(r.content).toEqual([{ type: 'text', text: expect.stringMatching(/^Tuning job \S+ SUCCEEDED/) }]);
    // The same shape as a call without a task that waits.
    const waitStart = performance.now();
    const waited = (await c.client.callTool({
      name: 'submit_tuning_job',
      arguments: { ...args, output: { name: 'task-router', version: '1.0.1' }, wait: true },
    })) as { structuredContent: Record<string, any>; content: unknown[] };
    // At once: the task came back in a fraction of the time the same training takes with wait.
    expect(ms).toBeLessThan((performance.now() - waitStart) / 4);
    expect(waited.structuredContent).toMatchObject({ state: 'SUCCEEDED', registered: { version: '1.0.1' } });
    expect(Object.keys(job).sort()).toEqual(Object.keys(waited.structuredContent).sort());
    expect(Object.keys(job.registration).sort()).toEqual(Object.keys(waited.structuredContent.registration).sort());
    expect(r.content.length).toBe(waited.content.length);
    // The version the task registered is in the registry.
    const m = (await c.client.callTool({ name: 'get_model', arguments: { name: 'task-router', version: '1.0.0' } }))
      .structuredContent as Record<string, any>;
    expect(m).toMatchObject({ source: 'tuning_job', version: '1.0.0' });
    // tasks/list has it.
    const listed = await c.client.experimental.tasks.listTasks();
    expect(listed.tasks.map((t) => t.taskId)).toContain(task.taskId);
  }, 120_000);

  it('callToolStream: task created, then the result, valid against the listed schema; progress reaches the client', async () => {
    await c.client.listTools(); // the client learns the task support and output schemas
    const progress: string[] = [];
    const kinds: string[] = [];
    let final: Record<string, any> | undefined;
    const stream = c.client.experimental.tasks.callToolStream(
      { name: 'submit_tuning_job', arguments: { ...base, tuning_type: 'supervised', hyperparameters: { epochs: 3 } } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p.message ?? '') },
    );
    for await (const m of stream) {
      kinds.push(m.type);
      if (m.type === 'error') throw m.error;
      if (m.type === 'result') final = m.result;
    }
    expect(kinds[0]).toBe('taskCreated');
    expect(kinds.at(-1)).toBe('result');
    expect(final?.structuredContent).toMatchObject({ state: 'SUCCEEDED', done: true });
    // The tool's own per-epoch progress, sent with the request's progress token while the task works.
    expect(progress.some((m) => /^Tuning job \S+ (RUNNING|SUCCEEDED), epoch \d\/3/.test(m))).toBe(true);
  }, 60_000);

  it('tasks/cancel cancels the tuning job', async () => {
    const { task } = await startTask(c.client, 'submit_tuning_job', {
      ...base,
      tuning_type: 'supervised',
      hyperparameters: { epochs: 100, early_stopping_patience: 0 },
    });
    // Wait until the job exists (its summary is the status message), then cancel.
    let t = await c.client.experimental.tasks.getTask(task.taskId);
    for (let i = 0; i < 100 && !t.statusMessage; i++) {
      await new Promise((r) => setTimeout(r, 50));
      t = await c.client.experimental.tasks.getTask(task.taskId);
    }
    const job = /^Tuning job (\S+)/.exec(t.statusMessage ?? '')?.[1];
    expect(job).toBeTruthy();
    const cancelled = await c.client.experimental.tasks.cancelTask(task.taskId);
    expect(cancelled.status).toBe('cancelled');
    const j = (await c.client.callTool({ name: 'get_tuning_job', arguments: { job } })).structuredContent as Record<
      string,
      any
    >;
    expect(j.state).toBe('CANCELLED');
    // tasks/result: the cancelled job, as the tool reports it.
    const r = await result(c.client, task.taskId);
    expect(r.structuredContent).toMatchObject({ job, state: 'CANCELLED' });
    expect((await c.client.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
    // A task that ended cannot be cancelled again.
    await expect(c.client.experimental.tasks.cancelTask(task.taskId)).rejects.toThrow(
      /Cannot cancel task in terminal status: cancelled/,
    );
  }, 60_000);

  it('refuses a task for a tool without task support, before running it', async () => {
    const err = await c.client
      .request(
        {
          method: 'tools/call',
          params: {
            name: 'create_endpoint',
            arguments: { display_name: 'not-as-a-task' },
            task: {},
          },
        },
        CreateTaskResultSchema,
      )
      .then(
        () => null,
        (e: { code: number; message: string }) => e,
      );
    expect(err?.code).toBe(ErrorCode.MethodNotFound);
    expect(err?.message).toMatch(
      /Tool create_endpoint does not run as a task .*Tools that do: prepare_dataset, submit_tuning_job, deploy_model, start_ab_test/,
    );
    const eps = (await c.client.callTool({ name: 'list_endpoints', arguments: {} })).structuredContent as {
      endpoints: { display_name: string }[];
    };
    expect(eps.endpoints.map((e) => e.display_name)).not.toContain('not-as-a-task');
  });

  it('refuses bad arguments at once, naming the field', async () => {
    const err = await c.client
      .request(
        {
          method: 'tools/call',
          params: { name: 'submit_tuning_job', arguments: { ...base, tuning_type: 'magic' }, task: {} },
        },
        CreateTaskResultSchema,
      )
      .then(
        () => null,
        (e: { code: number; message: string }) => e,
      );
    expect(err?.code).toBe(ErrorCode.InvalidParams);
    expect(err?.message).toMatch(/Invalid arguments for tool submit_tuning_job: tuning_type: .*"supervised"/);
  });

  it('prepare_dataset and deploy_model run as tasks to the same results', async () => {
    const { task } = await startTask(c.client, 'prepare_dataset', {
      source: 'halo_routing',
      input: HALO_LOG,
      output: 'gs://vertex-mcp-emulator/tasks/ds',
    });
    const { last } = await until(c.client, task.taskId);
    expect(last.status).toBe('completed');
    const ds = (await result(c.client, task.taskId)).structuredContent as Record<string, any>;
    expect(outputOf('prepare_dataset').safeParse(ds).success).toBe(true);
    expect(ds.train_uri).toMatch(/^gs:\/\/vertex-mcp-emulator\/tasks\/ds\//);
    expect(ds.kept).toBeGreaterThan(0);
    expect(ds.manifest_uri).toBe('gs://vertex-mcp-emulator/tasks/ds/manifest.json');
    expect(await files.files.exists(ds.manifest_uri)).toBe(true);

    await c.client.callTool({ name: 'create_endpoint', arguments: { display_name: 'tasks-ep' } });
    const dep = await startTask(c.client, 'deploy_model', {
      endpoint: 'tasks-ep',
      name: 'task-router',
      version: '1.0.0',
    });
    // A deploy has no cancellation in the library: refused (or already over), never a false 'cancelled'.
    const refusal = await c.client.experimental.tasks.cancelTask(dep.task.taskId).then(
      (t) => `status ${t.status}`,
      (e: Error) => e.message,
    );
    expect(refusal).toMatch(/deploy_model cannot be cancelled: the library has no cancellation|terminal status/);
    const done = await until(c.client, dep.task.taskId);
    expect(done.last.status).toBe('completed');
    const d = (await result(c.client, dep.task.taskId)).structuredContent as Record<string, any>;
    expect(outputOf('deploy_model').safeParse(d).success).toBe(true);
    expect(d).toMatchObject({ done: true, already_deployed: false });
    expect(d.endpoint.traffic_split).toEqual({ [d.deployed_model_id]: 100 });

    // start_ab_test deploys the treatment (1.0.1, registered by the wait: true call above) in a task.
    const ab = await startTask(c.client, 'start_ab_test', {
      endpoint: 'tasks-ep',
      name: 'task-ab',
      model: 'task-router',
      control: '1.0.0',
      treatment: '1.0.1',
      primary_metric: 'accuracy',
      minimum_detectable_effect: 0.1,
      baseline: { value: 0.7 },
      guardrails: [],
      max_requests: 400,
      confirm: true,
    });
    expect((await until(c.client, ab.task.taskId)).last.status).toBe('completed');
    const started = (await result(c.client, ab.task.taskId)).structuredContent as Record<string, any>;
    expect(outputOf('start_ab_test').safeParse(started).success).toBe(true);
    expect(started).toMatchObject({ started: true, test: 'task-ab', deploy_treatment: true });
    expect(Object.values(started.split_after).sort()).toEqual([50, 50]);
  }, 60_000);

  it('tasks/cancel stops prepare_dataset, and nothing is published', async () => {
    const out = 'gs://vertex-mcp-emulator/tasks/ds-cancelled';
    const { task } = await startTask(c.client, 'prepare_dataset', {
      source: 'halo_routing',
      input: bigLog,
      output: out,
    });
    const cancelled = await c.client.experimental.tasks.cancelTask(task.taskId);
    expect(cancelled.status).toBe('cancelled');
    const r = await result(c.client, task.taskId);
    expect(r).toMatchObject({ isError: true, content: [{ type: 'text', text: 'Client cancelled task execution.' }] });
    // The work stopped: the task stays cancelled and no generation appears.
    await new Promise((res) => setTimeout(res, 500));
    expect((await c.client.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
    expect(await files.files.exists(`${out}/manifest.json`)).toBe(false);
  });

  it('a client without the tasks capability gets the plain result', async () => {
    const plain = await connect({ tasks: false });
    try {
      const r = (await plain.client.callTool({
        name: 'submit_tuning_job',
        arguments: { ...base, tuning_type: 'supervised', hyperparameters: { epochs: 1 } },
      })) as Record<string, any>;
      expect(r.task).toBeUndefined();
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent.state).toMatch(/^(PENDING|RUNNING|SUCCEEDED)$/);
      expect(r.content[0].text).toMatch(/^Tuning job \S+ /);
      // Its tools/list is as before: no execution field (it could not use one).
      const { tools } = await plain.client.listTools();
      expect(tools.length).toBe(catalogue().length);
      expect(tools.filter((t) => t.execution)).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});

describe('a selection without long tools', () => {
  it('declares no tasks capability (read-only)', async () => {
    const mcp = createServer({ backend, selection: { readOnly: true } });
    const client = new Client({ name: 'ro', version: '1' }, { capabilities: { tasks: { list: {}, cancel: {} } } });
    const [a, b] = InMemoryTransport.createLinkedPair();
    try {
      await Promise.all([mcp.server.connect(b), client.connect(a)]);
      expect(client.getServerCapabilities()?.tasks).toBeUndefined();
      expect((await client.listTools()).tools.filter((t) => t.execution)).toEqual([]);
    } finally {
      await client.close();
      await mcp.close();
    }
  });
});

describe('a restarted server', () => {
  it('answers tasks/get and tasks/result for a task started before, re-attached to its tuning job', async () => {
    const first = await connect();
    const { task } = await startTask(first.client, 'submit_tuning_job', {
      ...base,
      tuning_type: 'supervised',
      hyperparameters: { epochs: 6 },
      output: { name: 'restart-router', version: '1.0.0' },
    });
    // Until the job is recorded (the status message names it), then the server goes away mid-training.
    let t = await first.client.experimental.tasks.getTask(task.taskId);
    for (let i = 0; i < 100 && !t.statusMessage; i++) {
      await new Promise((r) => setTimeout(r, 50));
      t = await first.client.experimental.tasks.getTask(task.taskId);
    }
    expect(t.status).toBe('working');
    await first.close();
    expect(fs.existsSync(path.join(dataDir, TASKS_FILE))).toBe(true);

    const second = await connect();
    try {
      const again = await second.client.experimental.tasks.getTask(task.taskId);
      expect(again.taskId).toBe(task.taskId);
      expect(again.createdAt).toBe(task.createdAt);
      const { last } = await until(second.client, task.taskId);
      expect(last.status).toBe('completed');
      const r = await result(second.client, task.taskId);
      expect(r.structuredContent).toMatchObject({
        state: 'SUCCEEDED',
        registered: { name: 'restart-router', version: '1.0.0' },
      });
      expect(outputOf('submit_tuning_job').safeParse(r.structuredContent).success).toBe(true);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('re-attaches a deploy task to its operation by name', async () => {
    // A deploy whose operation a task was following when the server stopped (the tool's own call made it).
    const first = await connect();
    await first.client.callTool({ name: 'create_endpoint', arguments: { display_name: 'reattach-ep' } });
    const args = { endpoint: 'reattach-ep', name: 'task-router', version: '1.0.0' };
    const plain = (await first.client.callTool({ name: 'deploy_model', arguments: args })).structuredContent as Record<
      string,
      any
    >;
    expect(plain.operation).toMatch(/\/operations\//);
    await first.close();
    const store = new SqliteTaskStore(dataDir);
    const t = await store.createTask({}, 1, {
      method: 'tools/call',
      params: { name: 'deploy_model', arguments: args },
    });
    store.setRef(t.taskId, { operation: plain.operation });
    store.close();

    const second = await connect();
    try {
      const { last } = await until(second.client, t.taskId);
      expect(last.status).toBe('completed');
      const r = (await result(second.client, t.taskId)).structuredContent as Record<string, any>;
      expect(outputOf('deploy_model').safeParse(r).success).toBe(true);
      expect(r).toMatchObject({
        done: true,
        already_deployed: false,
        operation: plain.operation,
        deployed_model_id: plain.deployed_model_id,
      });
      expect(r.endpoint.traffic_split).toEqual({ [plain.deployed_model_id]: 100 });
    } finally {
      await second.close();
    }
  });

  it('marks a task whose work ran in the old process as failed, saying what to do', async () => {
    const first = await connect();
    const { task } = await startTask(first.client, 'prepare_dataset', {
      source: 'halo_routing',
      input: bigLog,
      output: 'gs://vertex-mcp-emulator/tasks/ds-restart',
    });
    await first.close();
    const second = await connect();
    try {
      const t = await second.client.experimental.tasks.getTask(task.taskId);
      expect(t.status).toBe('failed');
      expect(t.statusMessage).toMatch(/^Interrupted: the server restarted while preparing the dataset/);
      const r = await result(second.client, task.taskId);
      expect(r.isError).toBe(true);
      expect(r.content).toEqual([{ type: 'text', text: t.statusMessage }]);
      expect(await files.files.exists('gs://vertex-mcp-emulator/tasks/ds-restart/manifest.json')).toBe(false);
    } finally {
      await second.close();
    }
  });
});
