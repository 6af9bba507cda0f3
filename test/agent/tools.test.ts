// vertex-mcp/agent's framework-neutral tools against the MCP server over the same library: the same
// catalogue and schemas, the same results and the same refusal texts, word for word.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentTool, type AgentTools, createAgentTools } from '../../src/agent/index.js';
import { routingLines as lines } from '../fixtures/routing.js';
import { modelArgs, type Stack, startStack } from '../helpers.js';

let s: Stack;
let agent: AgentTools;
let byName: Map<string, AgentTool>;
const run = (name: string, args: unknown = {}, opts = {}) => byName.get(name)!.execute(args, opts);
/** The text of an MCP error result. */
const mcpText = async (name: string, args: Record<string, unknown>) =>
  (await s.call(name, args)).content.map((c) => c.text ?? '').join('\n');

beforeAll(async () => {
  s = await startStack();
  agent = await createAgentTools({ lib: s.lib });
  byName = new Map(agent.tools.map((t) => [t.name, t]));
});
afterAll(async () => {
  await agent.close();
  await s.close();
});

describe('the catalogue in process', () => {
  it('has the MCP tools, in order, with the listed input schemas and annotations', async () => {
    const { tools } = await s.client.listTools();
    expect(agent.tools.map((t) => t.name)).toEqual(tools.map((t) => t.name));
    expect(agent.tools.length).toBeGreaterThanOrEqual(33);
    for (const t of tools) {
      const a = byName.get(t.name)!;
      expect(a.inputJsonSchema).toEqual(t.inputSchema);
      expect(a.description).toBe(t.description);
      expect(a.annotations).toEqual(t.annotations ?? {});
      expect(a.inputSchema.safeParse({}).success).toBe(t.inputSchema.required === undefined);
    }
  });

  it('uploads and lists a model version with the same structured result as MCP', async () => {
    const up = await run('upload_model', modelArgs('agent-router', '1.0.0', { tags: ['halo'] }));
    expect(up.isError).toBeFalsy();
    if (up.isError) return;
    expect(up.structured).toMatchObject({ name: 'agent-router', version: '1.0.0', created: true, tags: ['halo'] });
    expect(up.text).toMatch(/^Uploaded agent-router.1\.0\.0 /);
    const listed = await run('list_models', { name: 'agent-router' });
    const viaMcp = await s.ok('list_models', { name: 'agent-router' });
    expect(listed).toEqual({ structured: viaMcp, text: expect.stringMatching(/agent-router.1\.0\.0/) });
    expect(viaMcp.count).toBe(1);
  });

  it('refuses bad input with the MCP server text, naming the field and the allowed values', async () => {
    const bad = { name: 'agent-router', stage: 'prod' };
    const r = await run('list_models', bad);
    expect(r).toEqual({ isError: true, code: 'INVALID_ARGUMENT', text: await mcpText('list_models', bad) });
    expect(r.text).toContain('"development"|"staging"|"production"');
    expect(r.text).toContain('at stage');
    const version = modelArgs('agent-router', '1.0');
    expect((await run('upload_model', version)).text).toBe(await mcpText('upload_model', version));
  });

  it('maps handler failures as the MCP wrapper does', async () => {
    const args = { name: 'no-such-model', version: '1.0.0' };
    const r = await run('get_model', args);
    expect(r.isError).toBe(true);
    expect(r.isError && r.code).toBe('NOT_FOUND');
    expect(r.text).toBe(await mcpText('get_model', args));
  });

  it('refuses a destructive call without confirm, plans it with dry_run, asks a confirm callback', async () => {
    await run('upload_model', modelArgs('agent-doomed', '1.0.0'));
    const args = { name: 'agent-doomed' };
    const refused = await run('delete_model', args);
    expect(refused).toEqual({
      isError: true,
      code: 'CONFIRMATION_REQUIRED',
      text: await mcpText('delete_model', args),
    });
    expect(refused.text).toMatch(/needs confirm: true; nothing was changed/);
    const dry = await run('delete_model', { ...args, dry_run: true });
    expect(dry.isError).toBeFalsy();
    expect(!dry.isError && dry.structured).toMatchObject({ deleted: false, plan: { action: 'delete_model' } });
    const asked: string[] = [];
    const declined = await run('delete_model', args, {
      confirm: ({ tool, message }: { tool: string; message: string }) => {
        asked.push(`${tool}: ${message}`);
        return false;
      },
    });
    expect(declined.isError && declined.code).toBe('CONFIRMATION_REQUIRED');
    expect(declined.text).toMatch(/not confirmed \(decline\); nothing was changed/);
    expect(asked).toEqual([expect.stringMatching(/^delete_model: Confirm: delete model agent-doomed\b.*\?$/)]);
    expect((await s.ok('list_models', args)).count).toBe(1);
    const accepted = await run('delete_model', args, { confirm: () => true });
    expect(!accepted.isError && accepted.structured.deleted).toBe(true);
    expect(await s.refused('get_model', args)).toMatch(/^NOT_FOUND: /);
  });

  it('reports progress of long work to a callback', async () => {
    const TRAIN = 'gs://vertex-mcp-emulator/agent/train.jsonl';
    await s.lib.files.writeText(TRAIN, lines(0, 120));
    const notes: string[] = [];
    const r = await run(
      'submit_tuning_job',
      {
        base_model: 'local/text-router',
        dataset: { train_uri: TRAIN },
        tuning_type: 'supervised',
        hyperparameters: { epochs: 3 },
        wait: true,
      },
      { onProgress: (p: { progress: number; total?: number }) => notes.push(`${p.progress}/${p.total}`) },
    );
    expect(!r.isError && r.structured.state).toBe('SUCCEEDED');
    expect(notes.at(-1)).toBe('3/3');
  });

  it('honours an abort signal', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stopped by the caller'));
    const input = 'gs://vertex-mcp-emulator/agent/halo.jsonl';
    await s.lib.files.writeText(input, '{"task":"t","agent":"a","success":true}\n');
    const args = { source: 'halo_routing', input, output: 'gs://vertex-mcp-emulator/agent/out' };
    expect(await run('prepare_dataset', args, { signal: ac.signal })).toEqual({
      isError: true,
      code: 'INTERNAL',
      text: 'INTERNAL: stopped by the caller',
    });
  });
});

describe('selection', () => {
  it('applies toolsets, tools, exclude-tools and read-only as the server does', async () => {
    const a = await createAgentTools({
      lib: s.lib,
      selection: { toolsets: ['registry'], tools: ['predict'], excludeTools: ['get_model'] },
    });
    const registry = agent.tools.filter((t) => t.toolset === 'registry').map((t) => t.name);
    expect(registry).toEqual(expect.arrayContaining(['upload_model', 'get_model', 'list_models', 'delete_model']));
    expect(a.tools.map((t) => t.name)).toEqual([...registry.filter((n) => n !== 'get_model'), 'predict']);
    const ro = await createAgentTools({ lib: s.lib, selection: { toolsets: ['registry'] }, readOnly: true });
    const reads = agent.tools.filter((t) => t.toolset === 'registry' && t.kind === 'read').map((t) => t.name);
    expect(reads).toEqual(expect.arrayContaining(['get_model', 'list_models', 'compare_model_versions']));
    expect(ro.tools.map((t) => t.name)).toEqual(reads);
    expect(ro.tools.every((t) => t.annotations.readOnlyHint === true)).toBe(true);
  });

  it('rejects unknown names with the valid ones', async () => {
    await expect(createAgentTools({ lib: s.lib, selection: { toolsets: ['registri'] } })).rejects.toThrow(
      'unknown toolset "registri"; valid: all, registry, tuning, endpoints, monitoring, experiments',
    );
    await expect(createAgentTools({ lib: s.lib, selection: { tools: ['nope'] } })).rejects.toThrow(
      /unknown tool "nope"; valid: upload_model, /,
    );
  });
});

describe('backend', () => {
  it('runs on the embedded emulator by default (started on demand, stopped on close)', async () => {
    const a = await createAgentTools({ selection: { toolsets: ['registry'] } });
    try {
      const up = await a.tools.find((t) => t.name === 'upload_model')!.execute(modelArgs('own', '0.1.0'));
      expect(!up.isError && up.structured.version).toBe('0.1.0');
      const l = await a.tools.find((t) => t.name === 'list_models')!.execute({});
      expect(!l.isError && l.structured.count).toBe(1);
    } finally {
      await a.close();
    }
  });

  it('keeps state in dataDir across instances, as the server does', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-agent-'));
    try {
      const first = await createAgentTools({ dataDir: dir });
      const up = await first.tools.find((t) => t.name === 'upload_model')!.execute(modelArgs('kept', '2.0.0'));
      expect(up.isError).toBeFalsy();
      await first.close();
      const second = await createAgentTools({ dataDir: dir, readOnly: true });
      const got = await second.tools.find((t) => t.name === 'get_model')!.execute({ name: 'kept', version: '2.0.0' });
      await second.close();
      expect(!got.isError && got.structured).toMatchObject({ name: 'kept', version: '2.0.0' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses vertex without a project', async () => {
    const saved = process.env.GOOGLE_CLOUD_PROJECT;
    delete process.env.GOOGLE_CLOUD_PROJECT;
    try {
      await expect(createAgentTools({ backend: 'vertex' })).rejects.toThrow(/vertex needs a Google Cloud project/);
    } finally {
      if (saved !== undefined) process.env.GOOGLE_CLOUD_PROJECT = saved;
    }
  });
});
