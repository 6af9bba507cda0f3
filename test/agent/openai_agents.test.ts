// The OpenAI Agents SDK adapter through `@openai/agents` itself: a Runner with a scripted Model (the
// SDK's Model interface, no network) that calls the tools; what the model reads back is checked.
import {
  Agent,
  type AgentInputItem,
  type Model,
  type ModelRequest,
  type ModelResponse,
  Runner,
  Usage,
} from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentTools, createAgentTools, toOpenAIAgentsTools } from '../../src/agent/index.js';
import { CONTAINER } from '../helpers.js';

let agent: AgentTools;
beforeAll(async () => {
  agent = await createAgentTools({ selection: { toolsets: ['registry'] } });
});
afterAll(async () => {
  await agent.close();
});

type Output = ModelResponse['output'];
const call = (callId: string, name: string, args: unknown) =>
  ({ type: 'function_call', callId, name, arguments: JSON.stringify(args), status: 'completed' }) as Output[number];
const say = (text: string) =>
  ({
    type: 'message',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text }],
  }) as Output[number];

/** A Model that answers each turn with the next scripted output and records the requests. */
class ScriptedModel implements Model {
  readonly requests: ModelRequest[] = [];
  constructor(private readonly turns: Output[]) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(structuredClone(request));
    const output = this.turns.shift();
    if (!output) throw new Error('script exhausted');
    return { usage: new Usage(), output };
  }
  // biome-ignore lint/correctness/useYield: never streamed in these tests
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('not streamed');
  }
}

/** The function-call outputs in a request, by call id, as the model reads them. */
function outputs(request: ModelRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of request.input as AgentInputItem[]) {
    if (item.type !== 'function_call_result') continue;
    const o = item.output as { type: string; text?: string } | string;
    out[item.callId] = JSON.parse(typeof o === 'string' ? o : (o.text ?? ''));
  }
  return out;
}

const runner = new Runner({ tracingDisabled: true });

describe('toOpenAIAgentsTools', () => {
  it('lets a model register, list and be refused a delete without confirm', async () => {
    const tools = await toOpenAIAgentsTools(agent);
    const model = new ScriptedModel([
      [
        call('c1', 'upload_model', { name: 'oa-router', version: '1.0.0', serving_container_uri: CONTAINER }),
        call('c2', 'list_models', { name: 'oa-router', stage: 'prod' }),
      ],
      [call('c3', 'list_models', { name: 'oa-router' }), call('c4', 'delete_model', { name: 'oa-router' })],
      [say('done')],
    ]);
    const result = await runner.run(new Agent({ name: 'mlops', model, tools }), 'register oa-router 1.0.0');
    expect(result.finalOutput).toBe('done');
    expect(model.requests).toHaveLength(3);
    const offered = model.requests[0]!.tools.find((t) => t.name === 'upload_model') as {
      parameters: unknown;
      strict: boolean;
    };
    expect(offered).toMatchObject({ strict: false });
    expect(offered.parameters).toEqual(agent.tools.find((t) => t.name === 'upload_model')!.inputJsonSchema);
    const second = outputs(model.requests[1]!);
    expect(second.c1).toMatchObject({ structured: { name: 'oa-router', version: '1.0.0', created: true } });
    expect(second.c2).toMatchObject({
      isError: true,
      code: 'INVALID_ARGUMENT',
      text: expect.stringMatching(/^MCP error -32602: Input validation error: .*"production".* at stage$/s),
    });
    const third = outputs(model.requests[2]!);
    expect(third.c3).toMatchObject({ structured: { count: 1 } });
    expect(third.c4).toMatchObject({
      isError: true,
      code: 'CONFIRMATION_REQUIRED',
      text: expect.stringMatching(/^CONFIRMATION_REQUIRED: delete model oa-router\b.* needs confirm: true/),
    });
    const still = await agent.tools.find((t) => t.name === 'get_model')!.execute({ name: 'oa-router' });
    expect(still.isError).toBeFalsy();
  });

  it('with needsApproval, interrupts the run until the application approves', async () => {
    const tools = await toOpenAIAgentsTools(agent, { needsApproval: true });
    await agent.tools
      .find((t) => t.name === 'upload_model')!
      .execute({
        name: 'oa-gated',
        version: '1.0.0',
        serving_container_uri: CONTAINER,
      });
    const model = new ScriptedModel([[call('d1', 'delete_model', { name: 'oa-gated' })], [say('deleted')]]);
    const a = new Agent({ name: 'mlops', model, tools });
    const first = await runner.run(a, 'delete oa-gated');
    expect(first.interruptions.map((i) => i.name)).toEqual(['delete_model']);
    const get = () => agent.tools.find((t) => t.name === 'get_model')!.execute({ name: 'oa-gated' });
    expect((await get()).isError).toBeFalsy();
    first.state.approve(first.interruptions[0]!);
    const resumed = await runner.run(a, first.state);
    expect(resumed.finalOutput).toBe('deleted');
    expect(outputs(model.requests[1]!).d1).toMatchObject({ structured: { deleted: true } });
    expect((await get()).isError).toBe(true);
  });
});
