// Rule evaluation, and the evaluator that checks every rule on demand and in the background,
// emitting 'fired' / 'cleared' on transitions only.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertEvaluator, type AlertEvent, evaluateRule, type Measurement } from '../../src/lib/monitoring/alerts.js';
import { Ledger } from '../../src/lib/monitoring/ledger.js';

const base = { name: 'r', metric: 'error_rate', comparison: 'gt' as const, threshold: 0.05 };

describe('evaluateRule', () => {
  it('compares with each operator', () => {
    expect(evaluateRule(base, 0.07)).toEqual({
      status: 'firing',
      firing: true,
      value: 0.07,
      message: 'error_rate 0.07 > 0.05',
    });
    expect(evaluateRule(base, 0.05)).toMatchObject({ status: 'ok', message: 'error_rate 0.05 is not > 0.05' });
    expect(evaluateRule({ ...base, comparison: 'ge' }, 0.05).firing).toBe(true);
    expect(evaluateRule({ ...base, comparison: 'lt' }, 0.01).firing).toBe(true);
    expect(evaluateRule({ ...base, comparison: 'le' }, 0.06).firing).toBe(false);
    expect(evaluateRule({ ...base, comparison: 'eq', threshold: 0.3 }, 0.1 + 0.2).firing).toBe(true);
    expect(evaluateRule({ ...base, comparison: 'eq', threshold: 0.3 }, 0.31).firing).toBe(false);
  });

  it('never fires on a value that was not measured', () => {
    expect(evaluateRule({ ...base, comparison: 'lt' }, null, 'no requests in the window')).toEqual({
      status: 'not_measured',
      firing: false,
      value: null,
      message: 'not measured: no requests in the window',
    });
    expect(evaluateRule(base, null).message).toBe('not measured: no value for error_rate');
  });
});

describe('AlertEvaluator', () => {
  const ledgers: Ledger[] = [];
  const evaluators: AlertEvaluator[] = [];
  afterEach(() => {
    for (const e of evaluators.splice(0)) e.stop();
    for (const l of ledgers.splice(0)) l.close();
  });

  function setup(measure: (metric: string) => Promise<Measurement> | Measurement, timeoutMs?: number) {
    const ledger = new Ledger(':memory:');
    ledgers.push(ledger);
    let t = 1000;
    const ev = new AlertEvaluator(ledger, async (rule) => measure(rule.metric), { now: () => t++, timeoutMs });
    evaluators.push(ev);
    const events: AlertEvent[] = [];
    ev.on('fired', (e) => events.push(e));
    ev.on('cleared', (e) => events.push(e));
    return { ledger, ev, events };
  }

  it('fires and clears, emitting on transitions only', async () => {
    const values: Record<string, number | null> = { error_rate: 0.01, p95_latency_ms: 120 };
    const { ledger, ev, events } = setup((m) => ({
      value: values[m] ?? null,
      reason: values[m] === null ? 'no requests' : undefined,
    }));
    ledger.addRule({ ...base, name: 'errors', window_seconds: 300, severity: 'critical' });
    ledger.addRule({
      name: 'slow',
      metric: 'p95_latency_ms',
      comparison: 'ge',
      threshold: 200,
      window_seconds: 60,
      severity: 'warning',
    });

    let checks = await ev.checkAll();
    expect(checks.map((c) => [c.name, c.status, c.transition])).toEqual([
      ['errors', 'ok', null],
      ['slow', 'ok', null],
    ]);
    expect(events).toHaveLength(0);

    values.error_rate = 0.2;
    checks = await ev.checkAll();
    expect(checks[0]).toMatchObject({
      name: 'errors',
      status: 'firing',
      transition: 'fired',
      value: 0.2,
      severity: 'critical',
      message: 'error_rate 0.2 > 0.05',
    });
    expect(checks[0]?.firing_since).toBe(checks[0]?.at);
    expect(events.map((e) => [e.transition, e.rule.name])).toEqual([['fired', 'errors']]);

    await ev.checkAll(); // still firing: no new event
    expect(events).toHaveLength(1);
    expect(ledger.getRule('errors').state.firing_since).toBe(checks[0]?.at);

    values.error_rate = 0.01;
    await ev.checkAll();
    expect(events.map((e) => e.transition)).toEqual(['fired', 'cleared']);
    expect(ledger.history('errors').map((h) => h.transition)).toEqual(['cleared', 'fired']);
  });

  it('treats failed, timed-out and non-numeric measurements as not measured', async () => {
    const { ledger, ev, events } = setup((m) => {
      if (m === 'boom') throw new Error('Cloud Monitoring is unreachable');
      if (m === 'hang') return new Promise<Measurement>(() => {});
      return { value: Number.NaN };
    }, 50);
    for (const metric of ['boom', 'hang', 'nan']) {
      ledger.addRule({ name: metric, metric, comparison: 'lt', threshold: 1e9, window_seconds: 60, severity: 'info' });
    }
    const checks = await ev.checkAll();
    expect(checks.map((c) => [c.status, c.message])).toEqual([
      ['not_measured', 'not measured: measurement failed: Cloud Monitoring is unreachable'],
      ['not_measured', 'not measured: measurement timed out after 50 ms'],
      ['not_measured', 'not measured: measurement returned NaN, not a number'],
    ]);
    expect(events).toHaveLength(0);
  });

  it('clears a firing rule whose metric is no longer measured', async () => {
    let value: number | null = 1;
    const { ledger, ev, events } = setup(() => ({ value, reason: 'no requests in the window' }));
    ledger.addRule({ ...base, window_seconds: 60, severity: 'warning' });
    await ev.checkAll();
    value = null;
    const [check] = await ev.checkAll();
    expect(check).toMatchObject({ status: 'not_measured', transition: 'cleared' });
    expect(events.map((e) => e.transition)).toEqual(['fired', 'cleared']);
  });

  it('runs in the background until stopped, with an unref-ed timer', async () => {
    let value = 0;
    let calls = 0;
    const { ledger, ev } = setup(() => {
      calls++;
      return { value };
    });
    ledger.addRule({ ...base, window_seconds: 60, severity: 'warning' });
    ev.start(5);
    expect(ev.running).toBe(true);
    expect((ev as unknown as { timer: NodeJS.Timeout }).timer.hasRef()).toBe(false);
    value = 1;
    const [fired] = (await once(ev, 'fired')) as [AlertEvent];
    expect(fired.check.value).toBe(1);
    value = 0;
    const [cleared] = (await once(ev, 'cleared')) as [AlertEvent];
    expect(cleared.rule.name).toBe('r');
    ev.stop();
    expect(ev.running).toBe(false);
    const after = calls;
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(after);
    expect(() => ev.start(0)).toThrow('at least 1 ms');
  });

  it('serialises concurrent checks', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { ledger, ev } = setup(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { value: 0 };
    });
    ledger.addRule({ ...base, window_seconds: 60, severity: 'info' });
    await Promise.all([ev.checkAll(), ev.checkAll(), ev.checkAll()]);
    expect(maxInFlight).toBe(1);
  });

  it('skips a rule deleted while it was being measured', async () => {
    let ledgerRef: Ledger | undefined;
    const { ledger, ev } = setup(async (m) => {
      if (m === 'gone') ledgerRef?.deleteRule('gone');
      return { value: 1 };
    });
    ledgerRef = ledger;
    ledger.addRule({
      name: 'gone',
      metric: 'gone',
      comparison: 'gt',
      threshold: 0,
      window_seconds: 60,
      severity: 'info',
    });
    ledger.addRule({ ...base, window_seconds: 60, severity: 'info' });
    const checks = await ev.checkAll();
    expect(checks.map((c) => c.name)).toEqual(['r']);
  });
});
