// The server's SQLite ledger: alert rules (validation, state transitions, history) and feedback.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AlertRuleInput, LEDGER_FILE, Ledger } from '../../src/lib/monitoring/ledger.js';
import { errorOf } from '../helpers.js';

const open: Ledger[] = [];
function ledger(dir = ':memory:', opts: ConstructorParameters<typeof Ledger>[1] = {}): Ledger {
  const l = new Ledger(dir, opts);
  open.push(l);
  return l;
}
afterEach(() => {
  for (const l of open.splice(0)) l.close();
});

const rule: AlertRuleInput = {
  name: 'high error rate',
  metric: 'error_rate',
  comparison: 'gt',
  threshold: 0.05,
  window_seconds: 300,
  severity: 'critical',
  endpoint: '123',
};

describe('alert rules', () => {
  it('adds, lists, gets and deletes', () => {
    const l = ledger(':memory:', { now: () => 1000 });
    const r = l.addRule(rule);
    expect(r).toEqual({
      id: 1,
      name: 'high error rate',
      metric: 'error_rate',
      comparison: 'gt',
      threshold: 0.05,
      window_seconds: 300,
      severity: 'critical',
      endpoint: '123',
      deployed_model: null,
      created_at: 1000,
      updated_at: 1000,
      state: { firing: false, firing_since: null, last_value: null, last_reason: null, last_evaluated_at: null },
    });
    const p95 = l.addRule({
      ...rule,
      name: 'slow',
      metric: 'p95_latency_ms',
      comparison: 'ge',
      threshold: 250,
      endpoint: null,
    });
    l.addRule({ ...rule, name: 'other endpoint', endpoint: '999' });
    expect(l.listRules().map((x) => x.name)).toEqual(['high error rate', 'slow', 'other endpoint']);
    expect(l.listRules({ endpoint: '123' }).map((x) => x.name)).toEqual(['high error rate', 'slow']);
    expect(l.getRule('slow').id).toBe(p95.id);
    expect(l.getRule(String(p95.id)).name).toBe('slow');

    expect(l.deleteRule('slow')).toMatchObject({ id: p95.id, name: 'slow', threshold: 250 });
    const gone = errorOf(() => l.getRule('slow'));
    expect(gone.code).toBe('NOT_FOUND');
    expect(gone.hint).toContain('1 (high error rate)');
    expect(errorOf(() => l.deleteRule(42)).code).toBe('NOT_FOUND');
  });

  it('refuses a bad comparison, listing the valid ones', () => {
    const e = errorOf(() => ledger().addRule({ ...rule, comparison: 'gte' as never }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('comparison: comparison must be one of gt|ge|lt|le|eq');
  });

  it('refuses an empty, negative or fractional window', () => {
    const l = ledger();
    for (const w of [0, -60]) {
      expect(errorOf(() => l.addRule({ ...rule, window_seconds: w })).message).toContain(
        'window_seconds: window_seconds must be a positive number of seconds',
      );
    }
    expect(errorOf(() => l.addRule({ ...rule, window_seconds: 1.5 })).message).toContain('whole number');
    expect(errorOf(() => l.addRule({ ...rule, window_seconds: undefined as never })).message).toContain(
      'window_seconds',
    );
    expect(errorOf(() => l.addRule({ ...rule, window_seconds: 90 * 86400 })).message).toContain('at most 2592000');
  });

  it('refuses other bad fields', () => {
    const l = ledger();
    expect(errorOf(() => l.addRule({ ...rule, severity: 'page' as never })).message).toContain('info|warning|critical');
    expect(errorOf(() => l.addRule({ ...rule, threshold: Number.NaN })).message).toContain('threshold');
    expect(errorOf(() => l.addRule({ ...rule, name: '  ' })).message).toContain('give the rule a name');
    expect(errorOf(() => l.addRule({ ...rule, name: '42' })).message).toContain('non-digit');
  });

  it('checks metric names when it knows them', () => {
    const l = ledger(':memory:', { metrics: ['error_rate', 'p95_latency_ms'] });
    const e = errorOf(() => l.addRule({ ...rule, metric: 'eror_rate' }));
    expect(e.message).toContain('unknown metric "eror_rate"');
    expect(e.hint).toBe('Use one of: error_rate, p95_latency_ms');
  });

  it('refuses a duplicate name unless replacing, which keeps id and state', () => {
    let now = 1000;
    const l = ledger(':memory:', { now: () => now });
    const first = l.addRule(rule);
    l.recordEvaluation(first.id, { value: 0.2, firing: true, at: 1500 });
    expect(errorOf(() => l.addRule(rule)).code).toBe('ALREADY_EXISTS');
    now = 2000;
    const replaced = l.addRule({ ...rule, threshold: 0.5 }, { replace: true });
    expect(replaced).toMatchObject({ id: first.id, threshold: 0.5, created_at: 1000, updated_at: 2000 });
    expect(replaced.state.firing).toBe(true);
    expect(l.listRules()).toHaveLength(1);
  });
});

describe('recordEvaluation', () => {
  it('returns transitions and firing_since, and keeps the history', () => {
    const l = ledger();
    const r = l.addRule(rule);
    expect(l.recordEvaluation(r.id, { value: 0.01, firing: false, at: 100 })).toMatchObject({
      transition: null,
      firing: false,
      firing_since: null,
    });
    expect(l.recordEvaluation(r.id, { value: 0.08, firing: true, at: 200 })).toEqual({
      rule_id: r.id,
      name: 'high error rate',
      firing: true,
      transition: 'fired',
      firing_since: 200,
      value: 0.08,
      at: 200,
    });
    expect(l.recordEvaluation(r.name, { value: 0.09, firing: true, at: 300 })).toMatchObject({
      transition: null,
      firing_since: 200,
    });
    expect(l.getRule(r.id).state).toEqual({
      firing: true,
      firing_since: 200,
      last_value: 0.09,
      last_reason: null,
      last_evaluated_at: 300,
    });
    expect(
      l.recordEvaluation(r.id, { value: null, firing: false, at: 400, reason: 'not measured: no requests' }),
    ).toMatchObject({ transition: 'cleared', firing_since: null, value: null });
    expect(l.getRule(r.id).state.last_reason).toBe('not measured: no requests');
    expect(l.history(r.id)).toEqual([
      { rule_id: r.id, transition: 'cleared', at: 400, value: null, reason: 'not measured: no requests' },
      { rule_id: r.id, transition: 'fired', at: 200, value: 0.08, reason: null },
    ]);
  });

  it('refuses to fire on an unmeasured value, and unknown rules', () => {
    const l = ledger();
    const r = l.addRule(rule);
    expect(() => l.recordEvaluation(r.id, { value: null, firing: true, at: 1 })).toThrow('not measured');
    expect(errorOf(() => l.recordEvaluation(77, { value: 1, firing: false, at: 1 })).code).toBe('NOT_FOUND');
  });

  it('deleting a rule deletes its history', () => {
    const l = ledger();
    const r = l.addRule(rule);
    l.recordEvaluation(r.id, { value: 1, firing: true, at: 1 });
    l.deleteRule(r.id);
    expect(l.db.prepare('SELECT COUNT(*) AS n FROM alert_transitions').get()).toEqual({ n: 0 });
  });
});

describe('feedback', () => {
  it('records feedback and computes accuracy and mean score', () => {
    const l = ledger();
    const rec = l.recordFeedback({
      endpoint: 'ep1',
      prediction_id: 17,
      input: 'refund please',
      expected_output: 'billing',
      correct: true,
      at: 1000,
    });
    expect(rec).toEqual({
      id: 1,
      endpoint: 'ep1',
      prediction_id: '17',
      input: 'refund please',
      expected_output: 'billing',
      score: null,
      correct: true,
      at: 1000,
    });
    l.recordFeedback({ endpoint: 'ep1', correct: false, score: 0.2, at: 2000 });
    l.recordFeedback({ endpoint: 'ep1', correct: true, score: 0.9, at: 3000 });
    l.recordFeedback({ endpoint: 'ep1', score: 0.7, at: 4000 });
    l.recordFeedback({ endpoint: 'ep2', correct: false, at: 4000 });

    const all = l.feedbackStats('ep1', 0);
    expect(all).toMatchObject({ endpoint: 'ep1', count: 4, labelled: 3, scored: 3, reasons: {} });
    expect(all.accuracy).toBeCloseTo(2 / 3, 12);
    expect(all.mean_score).toBeCloseTo((0.2 + 0.9 + 0.7) / 3, 12);

    const recent = l.feedbackStats('ep1', 3500);
    expect(recent).toMatchObject({ count: 1, labelled: 0, accuracy: null, scored: 1, mean_score: 0.7 });
    expect(recent.reasons.accuracy).toMatch(/^not measured: no feedback with correct=true\/false on ep1 since/);

    const none = l.feedbackStats('ep3', 0);
    expect(none).toMatchObject({ count: 0, accuracy: null, mean_score: null });
    expect(none.reasons.mean_score).toMatch(/^not measured/);

    expect(l.listFeedback('ep1', 2000).map((f) => f.at)).toEqual([2000, 3000, 4000]);
  });

  it('refuses feedback that says nothing', () => {
    const l = ledger();
    expect(errorOf(() => l.recordFeedback({ endpoint: 'ep1', input: 'x' })).message).toContain(
      'at least one of correct, score or expected_output',
    );
    expect(errorOf(() => l.recordFeedback({ endpoint: '', correct: true })).message).toContain('endpoint');
    expect(errorOf(() => l.recordFeedback({ endpoint: 'e', score: Number.POSITIVE_INFINITY })).message).toContain(
      'score',
    );
  });
});

describe('persistence', () => {
  it('keeps rules, state and feedback across a reopen (WAL file under the data dir)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-'));
    const a = new Ledger(dir);
    const r = a.addRule(rule);
    a.recordEvaluation(r.id, { value: 0.5, firing: true, at: 10 });
    a.recordFeedback({ endpoint: 'ep1', correct: true, at: 10 });
    expect(a.db.pragma('journal_mode', { simple: true })).toBe('wal');
    a.close();
    expect(fs.existsSync(path.join(dir, LEDGER_FILE))).toBe(true);

    const b = ledger(dir);
    expect(b.getRule(r.id).state).toMatchObject({ firing: true, firing_since: 10 });
    expect(b.feedbackStats('ep1').accuracy).toBe(1);
    expect(b.addRule({ ...rule, name: 'second' }).id).toBe(2);
  });
});
