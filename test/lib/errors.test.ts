// The central error wrapper: gRPC status -> actionable message; retries only for idempotent calls.
import { describe, expect, it } from 'vitest';
import { callVertex, toVertexMcpError, VertexMcpError } from '../../src/lib/errors.js';

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

  it('gives up after the attempt budget', async () => {
    const f = flaky(10);
    await expect(callVertex('read', f.fn, { idempotent: true, attempts: 2 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(f.calls()).toBe(2);
  });
});
