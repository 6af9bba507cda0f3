// The central error wrapper: gRPC status -> actionable message; retries only for idempotent calls.
import { describe, expect, it } from 'vitest';
import {
  callVertex,
  capText,
  MAX_ERROR_HINT_BYTES,
  MAX_ERROR_MESSAGE_BYTES,
  toVertexMcpError,
  VertexMcpError,
} from '../../src/lib/errors.js';

const grpcError = (code: number, details: string) =>
  Object.assign(new Error(`${code} X: ${details}`), { code, details });

describe('toVertexMcpError', () => {
  it('maps status codes to codes and hints', () => {
    expect(toVertexMcpError(grpcError(5, 'Model x not found'), 'get model').text).toBe('get model: Model x not found');
    const denied = toVertexMcpError(grpcError(7, 'denied'));
    expect(denied.code).toBe('PERMISSION_DENIED');
    expect(denied.text).toContain('roles/aiplatform.user');
    expect(toVertexMcpError(grpcError(9, 'busy')).code).toBe('FAILED_PRECONDITION');
    expect(toVertexMcpError(grpcError(8, 'quota')).text).toContain('Quota or rate limit');
    expect(toVertexMcpError(grpcError(14, 'down')).text).toContain('retry in a few seconds');
    expect(toVertexMcpError(new Error('Could not load the default credentials. Browse to ...')).text).toContain(
      'gcloud auth application-default login',
    );
    expect(toVertexMcpError(new TypeError('boom')).code).toBe('INTERNAL');
  });

  it('never echoes a whole input: a 2.2 MB status becomes about 1 KB of text', () => {
    const huge = `filter "labels.tag=${'x'.repeat(2_200_000)}" is not valid`;
    const e = toVertexMcpError(grpcError(3, huge), 'list models');
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(Buffer.byteLength(e.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(e.message).toMatch(/^list models: filter "labels\.tag=x+… \(\d+ bytes\)$/);
    expect(Buffer.byteLength(e.text)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES + MAX_ERROR_HINT_BYTES + 2);
    // Our own errors are capped the same way, message and hint.
    const own = new VertexMcpError('INVALID_ARGUMENT', `name ${'n'.repeat(100_000)}`, `hint ${'h'.repeat(5000)}`);
    expect(Buffer.byteLength(own.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(own.message).toContain('… (100005 bytes)');
    expect(Buffer.byteLength(own.hint!)).toBeLessThanOrEqual(MAX_ERROR_HINT_BYTES);
    expect(own.hint).toContain('… (5005 bytes)');
  });
});

describe('capText', () => {
  it('leaves short text alone and cuts long text on a character boundary', () => {
    expect(capText('abc', 10)).toBe('abc');
    expect(capText('a'.repeat(10), 10)).toBe('a'.repeat(10));
    expect(capText('a'.repeat(100), 30)).toBe(`${'a'.repeat(15)}… (100 bytes)`);
    const emoji = capText('😀'.repeat(100), 40); // 4 bytes each
    expect(Buffer.byteLength(emoji)).toBeLessThanOrEqual(40);
    expect(emoji).toMatch(/^(😀)+… \(400 bytes\)$/u);
  });
});

describe('callVertex', () => {
  const flaky = (failures: number, code = 14) => {
    let calls = 0;
    const fn = async () => {
      calls++;
      if (calls <= failures) throw grpcError(code, 'transient');
      return 'ok';
    };
    return { fn, calls: () => calls };
  };

  it('retries transient failures of idempotent calls', async () => {
    const f = flaky(2);
    await expect(callVertex('read', f.fn, { idempotent: true })).resolves.toBe('ok');
    expect(f.calls()).toBe(3);
  });

  it('never retries a write', async () => {
    const f = flaky(1);
    await expect(callVertex('write', f.fn, { idempotent: false })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(f.calls()).toBe(1);
  });

  it('does not retry errors that will not change', async () => {
    const f = flaky(1, 3);
    await expect(callVertex('read', f.fn, { idempotent: true })).rejects.toBeInstanceOf(VertexMcpError);
    expect(f.calls()).toBe(1);
  });

  it('starts no retry past the time budget (a read that timed out is not sent again for minutes)', async () => {
    let calls = 0;
    const slow = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 600)); // stands in for a call that ran to its deadline
      throw grpcError(4, 'Deadline exceeded');
    };
    const t0 = Date.now();
    await expect(callVertex('read', slow, { idempotent: true, retryBudgetMs: 1000 })).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    // 600 ms + a 50-150 ms backoff: one retry fits the 1 s budget; a third attempt would start past it.
    expect(calls).toBe(2);
    expect(Date.now() - t0).toBeLessThan(1600);
  });

  it('gives up after the attempt budget', async () => {
    const f = flaky(10);
    await expect(callVertex('read', f.fn, { idempotent: true, attempts: 2 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(f.calls()).toBe(2);
  });
});
