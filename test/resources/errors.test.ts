// Resource reads and subscriptions answer with the protocol's codes through a real MCP client:
// -32002 (resource not found) for what does not exist, -32602 for a malformed URI part or a URI
// that cannot be subscribed, and the resource itself when it exists.
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_NOT_FOUND } from '../../src/resources/errors.js';
import { CONTAINER, type Stack, startStack } from '../helpers.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
  await s.ok('upload_model', { name: 'res', version: '1.0.0', serving_container_uri: CONTAINER });
  await s.ok('create_endpoint', { display_name: 'res-ep' });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

/** The McpError a request fails with; fails the test when it succeeds. */
async function failure(p: Promise<unknown>): Promise<McpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

describe('resource errors', () => {
  it('reads what exists', async () => {
    const r = await s.client.readResource({ uri: 'vertex://models/res/versions/1.0.0' });
    expect(JSON.parse(String((r.contents[0] as { text: string }).text))).toMatchObject({
      name: 'res',
      version: '1.0.0',
    });
  });

  it.each([
    ['a model version', 'vertex://models/res/versions/9.9.9'],
    ['a model', 'vertex://models/nope/versions/1.0.0'],
    ['a tuning job', 'vertex://tuning-jobs/424242'],
    ['an endpoint', 'vertex://endpoints/no-such-ep/stats'],
    ['an A/B test', 'vertex://ab-tests/no-such-test'],
    ['a URI no resource or template has', 'vertex://no-such-kind/x'],
  ])('reading %s that does not exist is -32002, naming the URI', async (_what, uri) => {
    const e = await failure(s.client.readResource({ uri }));
    expect(e.code).toBe(RESOURCE_NOT_FOUND);
    expect(RESOURCE_NOT_FOUND).toBe(-32002);
    expect(e.message).toMatch(new RegExp(`^MCP error -32002: Resource ${uri.replace(/[/.]/g, '\\$&')} not found: \\S`));
    expect(e.data).toEqual({ uri });
  });

  it('a malformed URI part is -32602 with the rule it breaks', async () => {
    const e = await failure(s.client.readResource({ uri: 'vertex://models/Bad_Name!/versions/1.0.0' }));
    expect(e.code).toBe(-32602);
    expect(e.message).toBe(
      'MCP error -32602: vertex://models/Bad_Name!/versions/1.0.0: name "Bad_Name!" is not a valid Vertex model ID. Use 1-63 characters: a lowercase letter first, then lowercase letters, digits, "_" or "-" (e.g. "halo-router")',
    );
  });

  it('subscribing to a missing endpoint is -32002; to a URI that is not subscribable, -32602', async () => {
    const missing = await failure(s.client.subscribeResource({ uri: 'vertex://endpoints/no-such-ep/stats' }));
    expect(missing.code).toBe(-32002);
    const other = await failure(s.client.subscribeResource({ uri: 'vertex://models/res/versions/1.0.0' }));
    expect(other.code).toBe(-32602);
    expect(other.message).toContain('not a subscribable resource');
    await s.client.subscribeResource({ uri: 'vertex://endpoints/res-ep/stats' }); // one that exists
  });
});
