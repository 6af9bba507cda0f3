// The Vercel AI SDK adapter through `ai` itself: generateText with the SDK's offline test model
// (MockLanguageModelV3) scripted to call the tools; what the model reads back is checked.
import type { LanguageModelV3GenerateResult, LanguageModelV3Prompt } from '@ai-sdk/provider';
import { generateText, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentTools, createAgentTools, toAiSdkTools } from '../../src/agent/index.js';
import { CONTAINER } from '../helpers.js';

let agent: AgentTools;
beforeAll(async () => {
  agent = await createAgentTools({ selection: { toolsets: ['registry'] } });
});
afterAll(async () => {
  await agent.close();
});

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};
const call = (id: string, name: string, input: unknown) => ({
  type: 'tool-call' as const,
  toolCallId: id,
  toolName: name,
  input: JSON.stringify(input),
});
const step = (content: LanguageModelV3GenerateResult['content']): LanguageModelV3GenerateResult => ({
  content,
  finishReason: { unified: content.some((c) => c.type === 'tool-call') ? 'tool-calls' : 'stop', raw: undefined },
  usage,
  warnings: [],
});

/** The tool results in a prompt, by call id, as the model reads them. */
function toolOutputs(prompt: LanguageModelV3Prompt): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of prompt) {
    if (m.role !== 'tool') continue;
    for (const p of m.content) if (p.type === 'tool-result') out[p.toolCallId] = p.output;
  }
  return out;
}

describe('toAiSdkTools', () => {
  it('lets a model register, list and be refused a delete without confirm', async () => {
    const tools = await toAiSdkTools(agent);
    expect(Object.keys(tools)).toEqual(agent.tools.map((t) => t.name));
    const model = new MockLanguageModelV3({
      doGenerate: [
        step([
          call('c1', 'upload_model', { name: 'ai-router', version: '1.0.0', serving_container_uri: CONTAINER }),
          call('c2', 'list_models', { name: 'ai-router', stage: 'prod' }),
        ]),
        step([call('c3', 'list_models', { name: 'ai-router' }), call('c4', 'delete_model', { name: 'ai-router' })]),
        step([{ type: 'text', text: 'done' }]),
      ],
    });
    const r = await generateText({ model, tools, prompt: 'register ai-router 1.0.0', stopWhen: stepCountIs(5) });
    expect(r.text).toBe('done');
    expect(r.steps).toHaveLength(3);
    // What the model was given: the tools with the server's schemas ...
    const offered = model.doGenerateCalls[0]!.tools!;
    const upload = offered.find((t) => t.name === 'upload_model') as { inputSchema: Record<string, unknown> };
    expect(upload.inputSchema).toEqual(agent.tools.find((t) => t.name === 'upload_model')!.inputJsonSchema);
    // ... and, on the next steps, each result.
    const second = toolOutputs(model.doGenerateCalls[1]!.prompt);
    expect(second.c1).toMatchObject({
      type: 'json',
      value: { structured: { name: 'ai-router', version: '1.0.0', created: true } },
    });
    expect(second.c2).toEqual({
      type: 'error-text',
      value: expect.stringMatching(/^MCP error -32602: Input validation error: .*"production".* at stage$/s),
    });
    const third = toolOutputs(model.doGenerateCalls[2]!.prompt);
    expect(third.c3).toMatchObject({ type: 'json', value: { structured: { count: 1 } } });
    expect(third.c4).toEqual({
      type: 'error-text',
      value: expect.stringMatching(/^CONFIRMATION_REQUIRED: delete model ai-router\b.* needs confirm: true/),
    });
    // Nothing was deleted.
    const still = await agent.tools.find((t) => t.name === 'get_model')!.execute({ name: 'ai-router' });
    expect(still.isError).toBeFalsy();
  });

  it('with needsApproval, stops for the application to approve a destructive call', async () => {
    const tools = await toAiSdkTools(agent, { needsApproval: true });
    await agent.tools
      .find((t) => t.name === 'upload_model')!
      .execute({
        name: 'ai-gated',
        version: '1.0.0',
        serving_container_uri: CONTAINER,
      });
    const model = new MockLanguageModelV3({
      doGenerate: [step([call('d1', 'delete_model', { name: 'ai-gated' })]), step([{ type: 'text', text: 'ok' }])],
    });
    const first = await generateText({ model, tools, prompt: 'delete ai-gated', stopWhen: stepCountIs(3) });
    const request = first.content.find((c) => c.type === 'tool-approval-request');
    expect(request).toMatchObject({ toolCall: { toolName: 'delete_model', toolCallId: 'd1' } });
    const get = () => agent.tools.find((t) => t.name === 'get_model')!.execute({ name: 'ai-gated' });
    expect((await get()).isError).toBeFalsy();
    // The application approves: the SDK runs the tool, which counts the approval as confirm: true.
    const approved = await generateText({
      model,
      tools,
      stopWhen: stepCountIs(3),
      messages: [
        { role: 'user', content: 'delete ai-gated' },
        ...first.response.messages,
        {
          role: 'tool',
          content: [
            {
              type: 'tool-approval-response',
              approvalId: (request as { approvalId: string }).approvalId,
              approved: true,
            },
          ],
        },
      ],
    });
    expect(approved.text).toBe('ok');
    const deleted = approved.response.messages
      .flatMap((m) => (Array.isArray(m.content) ? (m.content as { type: string }[]) : []))
      .find((p) => p.type === 'tool-result');
    expect(deleted).toMatchObject({ output: { type: 'json', value: { structured: { deleted: true } } } });
    expect((await get()).isError).toBe(true);
  });
});
