// Alert rules evaluated against measured values: on demand (checkAll) and in the background
// (start/stop). A value that was not measured never fires; state changes are stored in the ledger
// and emitted as 'fired' / 'cleared' events, on transitions only.
import { EventEmitter } from 'node:events';
import { invalid } from '../errors.js';
import type { AlertRule, Comparison, Ledger, Transition } from './ledger.js';

const SYMBOL: Record<Comparison, string> = { gt: '>', ge: '>=', lt: '<', le: '<=', eq: '==' };

/** Relative tolerance of `eq` (measured values are floating point). */
export const EQ_TOLERANCE = 1e-9;

export function compare(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case 'gt':
      return value > threshold;
    case 'ge':
      return value >= threshold;
    case 'lt':
      return value < threshold;
    case 'le':
      return value <= threshold;
    case 'eq':
      return Math.abs(value - threshold) <= EQ_TOLERANCE * Math.max(1, Math.abs(value), Math.abs(threshold));
  }
}

export type RuleLike = Pick<AlertRule, 'name' | 'metric' | 'comparison' | 'threshold'>;

export interface RuleEvaluation {
  status: 'firing' | 'ok' | 'not_measured';
  firing: boolean;
  value: number | null;
  /** "error_rate 0.07 > 0.05", "p95_latency_ms 80 is not > 200" or "not measured: <reason>". */
  message: string;
}

const fmt = (x: number) => String(Number(x.toPrecision(6)));

/** One rule against one measurement. null never fires: it reports "not measured: reason". */
export function evaluateRule(rule: RuleLike, measured: number | null, reason?: string): RuleEvaluation {
  if (measured === null || measured === undefined || Number.isNaN(measured)) {
    return {
      status: 'not_measured',
      firing: false,
      value: null,
      message: `not measured: ${reason || `no value for ${rule.metric}`}`,
    };
  }
  const firing = compare(measured, rule.comparison, rule.threshold);
  const op = SYMBOL[rule.comparison];
  return {
    status: firing ? 'firing' : 'ok',
    firing,
    value: measured,
    message: firing
      ? `${rule.metric} ${fmt(measured)} ${op} ${fmt(rule.threshold)}`
      : `${rule.metric} ${fmt(measured)} is not ${op} ${fmt(rule.threshold)}`,
  };
}

export interface Measurement {
  value: number | null;
  /** Why value is null (or a note on how it was measured). */
  reason?: string;
}

/** Measures a rule's metric over its window (for its endpoint / deployed model when set). */
export type Measure = (rule: AlertRule) => Promise<Measurement>;

export interface AlertCheck extends RuleEvaluation {
  rule_id: number;
  name: string;
  metric: string;
  comparison: Comparison;
  threshold: number;
  severity: AlertRule['severity'];
  window_seconds: number;
  endpoint: string | null;
  deployed_model: string | null;
  transition: Transition | null;
  firing_since: number | null;
  at: number;
}

export interface AlertEvent {
  transition: Transition;
  rule: AlertRule;
  check: AlertCheck;
}

export interface AlertEvaluatorOptions {
  /** Clock (tests). */
  now?: () => number;
  /** A measurement that takes longer counts as not measured (default 30 s). */
  timeoutMs?: number;
}

type Events = { fired: [AlertEvent]; cleared: [AlertEvent]; error: [Error] };

export class AlertEvaluator extends EventEmitter<Events> {
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private busy = false;

  constructor(
    private readonly ledger: Ledger,
    private readonly measure: Measure,
    opts: AlertEvaluatorOptions = {},
  ) {
    super();
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Evaluates every rule now. Calls run one after another, so each sees the previous one's state. */
  checkAll(): Promise<AlertCheck[]> {
    const run = this.chain.then(() => this.runAll());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Evaluates all rules every intervalMs in the background (restarts with the new interval). */
  start(intervalMs: number): void {
    if (!Number.isFinite(intervalMs) || intervalMs < 1) throw invalid('alert check interval must be at least 1 ms');
    this.stop();
    this.timer = setInterval(() => {
      if (this.busy) return; // the previous check is still measuring: skip this tick
      this.checkAll().catch((err: unknown) => {
        if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
      });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  private async runAll(): Promise<AlertCheck[]> {
    this.busy = true;
    try {
      const rules = this.ledger.listRules();
      const measured = await Promise.all(rules.map((r) => this.measureOne(r)));
      const out: AlertCheck[] = [];
      const events: AlertEvent[] = [];
      rules.forEach((rule, i) => {
        const m = measured[i]!;
        const ev = evaluateRule(rule, m.value, m.reason);
        const at = this.now();
        let rec: ReturnType<Ledger['recordEvaluation']>;
        try {
          rec = this.ledger.recordEvaluation(rule.id, {
            value: ev.value,
            firing: ev.firing,
            at,
            reason: m.reason ?? ev.message,
          });
        } catch (err) {
          // Deleted while it was being measured: nothing to record.
          if ((err as { code?: string }).code === 'NOT_FOUND') return;
          throw err;
        }
        const check: AlertCheck = {
          ...ev,
          rule_id: rule.id,
          name: rule.name,
          metric: rule.metric,
          comparison: rule.comparison,
          threshold: rule.threshold,
          severity: rule.severity,
          window_seconds: rule.window_seconds,
          endpoint: rule.endpoint,
          deployed_model: rule.deployed_model,
          transition: rec.transition,
          firing_since: rec.firing_since,
          at,
        };
        out.push(check);
        if (rec.transition) events.push({ transition: rec.transition, rule, check });
      });
      for (const e of events) this.emit(e.transition, e);
      return out;
    } finally {
      this.busy = false;
    }
  }

  private async measureOne(rule: AlertRule): Promise<Measurement> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Measurement>((resolve) => {
      timer = setTimeout(
        () => resolve({ value: null, reason: `measurement timed out after ${this.timeoutMs} ms` }),
        this.timeoutMs,
      );
      timer.unref();
    });
    try {
      const m = await Promise.race([this.measure(rule), timeout]);
      if (m.value !== null && (typeof m.value !== 'number' || !Number.isFinite(m.value))) {
        return { value: null, reason: `measurement returned ${String(m.value)}, not a number` };
      }
      return m;
    } catch (err) {
      const msg = (err as { text?: string; message?: string }).text ?? (err as Error).message ?? String(err);
      return { value: null, reason: `measurement failed: ${msg}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
