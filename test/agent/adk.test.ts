// The ADK adapter through `@google/adk` itself: an LlmAgent on a scripted BaseLlm (no network) in an
// InMemoryRunner, with and without the confirmation plugin; what the model reads back is checked.
import {
  BaseLlm,
  type BaseLlmConnection,
  type Event,
  getAskUserConfirmationFunctionCalls,
  InMemoryRunner,
  LlmAgent,
  type LlmRequest,
  type LlmResponse,
} from '@google/adk';
import type { Content, Part } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentTools, createAdkConfirmationPlugin, createAgentTools, toAdkTools } from '../../src/agent/index.js';
import { CONTAINER } from '../helpers.js';

let agent: AgentTools;
beforeAll(async () => {
  agent = await createAgentTools({ selection: { toolsets: ['registry'] } });
});
afterAll(async () => {
  await agent.close();
});

/** A model that answers each turn with the next scripted parts and records the requests. */
class ScriptedLlm extends BaseLlm {
  readonly requests: LlmRequest[] = [];
  constructor(private readonly turns: Part[][]) {
    super({ model: 'scripted' });
  }
  async *generateContentAsync(request: LlmRequest): AsyncGenerator<LlmResponse, void> {
    this.requests.push(structuredClone({ contents: request.contents, config: request.config }) as LlmRequest);
    const parts = this.turns.shift();
    if (!parts) throw new Error('script exhausted');
    yield { content: { role: 'model', parts } };
  }
  async connect(): Promise<BaseLlmConnection> {
    throw new Error('no live connection');
  }
}

const call = (id: string, name: string, args: Record<string, unknown>): Part => ({ functionCall: { id, name, args } });

/** The function responses in a request, by call id, as the model reads them. */
function responses(request: LlmRequest): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const c of request.contents as Content[]) {
    for (const p of c.parts ?? [])
      if (p.functionResponse?.id) out[p.functionResponse.id] = p.functionResponse.response!;
  }
  return out;
}

async function drain(events: AsyncGenerator<Event>): Promise<Event[]> {
  const all: Event[] = [];
  for await (const e of events) all.push(e);
  return all;
}

async function session(runner: InMemoryRunner) {
  const s = await runner.sessionService.createSession({ appName: runner.appName, userId: 'u' });
  const send = (parts: Part[]) =>
    drain(runner.runAsync({ userId: 'u', sessionId: s.id, newMessage: { role: 'user', parts } }));
  return send;
}

const getModel = (name: string) => agent.tools.find((t) => t.name === 'get_model')!.execute({ name });

describe('toAdkTools', () => {
  it('lets a model register, list and be refused a delete without confirm', async () => {
    const model = new ScriptedLlm([
      [
        call('c1', 'upload_model', { name: 'adk-router', version: '1.0.0', serving_container_uri: CONTAINER }),
        call('c2', 'list_models', { name: 'adk-router', stage: 'prod' }),
      ],
      [call('c3', 'list_models', { name: 'adk-router' }), call('c4', 'delete_model', { name: 'adk-router' })],
      [{ text: 'done' }],
    ]);
    const tools = await toAdkTools(agent);
    const runner = new InMemoryRunner({ agent: new LlmAgent({ name: 'mlops', model, tools }), appName: 'test' });
    const events = await (await session(runner))([{ text: 'register adk-router 1.0.0' }]);
    expect(events.at(-1)?.content?.parts?.[0]?.text).toBe('done');
    expect(model.requests).toHaveLength(3);
    const declared = model.requests[0]!.config!.tools!.flatMap((t) =>
      'functionDeclarations' in t ? t.functionDeclarations! : [],
    );
    expect(declared.find((d) => d.name === 'upload_model')?.parametersJsonSchema).toEqual(
      agent.tools.find((t) => t.name === 'upload_model')!.inputJsonSchema,
    );
    const second = responses(model.requests[1]!);
    expect(second.c1).toMatchObject({ structured: { name: 'adk-router', version: '1.0.0', created: true } });
    expect(second.c2).toMatchObject({
      isError: true,
      code: 'INVALID_ARGUMENT',
      text: expect.stringMatching(/^MCP error -32602: Input validation error: .*"production".* at stage$/s),
    });
    const third = responses(model.requests[2]!);
    expect(third.c3).toMatchObject({ structured: { count: 1 } });
    expect(third.c4).toMatchObject({
      isError: true,
      code: 'CONFIRMATION_REQUIRED',
      text: expect.stringMatching(/^CONFIRMATION_REQUIRED: delete model adk-router\b.* needs confirm: true/),
    });
    expect((await getModel('adk-router')).isError).toBeFalsy();
  });

  it('with the plugin, asks the user before a destructive call and runs it once approved', async () => {
    await agent.tools
      .find((t) => t.name === 'upload_model')!
      .execute({
        name: 'adk-gated',
        version: '1.0.0',
        serving_container_uri: CONTAINER,
      });
    const model = new ScriptedLlm([
      // A dry run is not gated; a delete is (the approval stands for confirm: true).
      [call('p1', 'delete_model', { name: 'adk-gated', dry_run: true })],
      [call('d1', 'delete_model', { name: 'adk-gated' })],
      [{ text: 'deleted' }],
    ]);
    const runner = new InMemoryRunner({
      agent: new LlmAgent({ name: 'mlops', model, tools: await toAdkTools(agent) }),
      appName: 'test',
      plugins: [await createAdkConfirmationPlugin()],
    });
    const send = await session(runner);
    const paused = await send([{ text: 'delete adk-gated' }]);
    expect(responses(model.requests[1]!).p1).toMatchObject({ structured: { deleted: false } });
    const asks = paused.flatMap((e) => getAskUserConfirmationFunctionCalls(e));
    expect(asks).toHaveLength(1);
    expect(asks[0]!.args).toMatchObject({
      originalFunctionCall: { id: 'd1', name: 'delete_model' },
      toolConfirmation: {
        hint: expect.stringContaining('delete_model changes or deletes resources'),
        confirmed: false,
      },
    });
    expect(model.requests).toHaveLength(2); // the run stopped at the question
    expect((await getModel('adk-gated')).isError).toBeFalsy();
    // The user approves: ADK runs the pinned call, the model reads its result.
    const answer = { id: asks[0]!.id!, name: asks[0]!.name!, response: { confirmed: true } };
    const resumed = await send([{ functionResponse: answer }]);
    expect(resumed.at(-1)?.content?.parts?.[0]?.text).toBe('deleted');
    expect(responses(model.requests[2]!).d1).toMatchObject({ structured: { deleted: true } });
    expect((await getModel('adk-gated')).isError).toBe(true);
  });

  it('with the plugin, asks even when the model sent confirm: true; a rejection changes nothing', async () => {
    await agent.tools
      .find((t) => t.name === 'upload_model')!
      .execute({
        name: 'adk-kept',
        version: '1.0.0',
        serving_container_uri: CONTAINER,
      });
    const model = new ScriptedLlm([
      [call('d2', 'delete_model', { name: 'adk-kept', confirm: true })],
      [{ text: 'kept' }],
    ]);
    const runner = new InMemoryRunner({
      agent: new LlmAgent({ name: 'mlops', model, tools: await toAdkTools(agent) }),
      appName: 'test',
      plugins: [await createAdkConfirmationPlugin()],
    });
    const send = await session(runner);
    const asks = (await send([{ text: 'delete adk-kept' }])).flatMap((e) => getAskUserConfirmationFunctionCalls(e));
    expect(asks).toHaveLength(1);
    await send([{ functionResponse: { id: asks[0]!.id!, name: asks[0]!.name!, response: { confirmed: false } } }]);
    expect(responses(model.requests[1]!).d2).toMatchObject({
      isError: true,
      code: 'CONFIRMATION_REQUIRED',
      text: 'delete_model: rejected by the user; nothing was changed',
    });
    expect((await getModel('adk-kept')).isError).toBeFalsy();
  });
});
