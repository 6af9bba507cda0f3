import { describe, expect, it } from 'vitest';
import { VertexMcpError } from '../../src/lib/errors.js';
import { CircuitBreaker } from '../../src/router/breaker.js';

function clocked(opts = { failure_threshold: 3, cooldown_ms: 100 }) {
  let t = 1000;
  const b = new CircuitBreaker(opts, () => t);
  return { b, tick: (ms: number) => (t += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures, not before', () => {
    const { b } = clocked();
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.success(); // a success resets the count
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
  });

  it('half-opens after the cool-down, lets one probe through, and closes on its success', () => {
    const { b, tick } = clocked();
    for (let i = 0; i < 3; i++) b.failure();
    tick(99);
    expect(b.allow()).toBe(false);
    tick(1);
    expect(b.state).toBe('half_open');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false); // one probe at a time
    b.success();
    expect(b.state).toBe('closed');
    expect(b.transitions.map((t) => `${t.from}>${t.to}`)).toEqual([
      'closed>open',
      'open>half_open',
      'half_open>closed',
    ]);
  });

  it('a failed probe opens it again for a whole cool-down; a released probe frees the slot', () => {
    const { b, tick } = clocked();
    for (let i = 0; i < 3; i++) b.failure();
    tick(100);
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    tick(50);
    expect(b.allow()).toBe(false);
    tick(50);
    expect(b.allow()).toBe(true);
    b.release();
    expect(b.allow()).toBe(true);
  });

  it('refuses bad options naming the field', () => {
    const err = (() => {
      try {
        new CircuitBreaker({ failure_threshold: 0 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(VertexMcpError);
    expect((err as VertexMcpError).message).toMatch(/breaker\.failure_threshold must be a positive integer, got 0/);
  });
});
