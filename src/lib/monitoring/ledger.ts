// The server's own ledger: alert rules with their current state and state history, and feedback
// records (the ground truth accuracy is computed from). One SQLite file (WAL) under the data
// directory, or in memory. Times are epoch milliseconds.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { invalid, notFound, VertexMcpError } from '../errors.js';
import { parseOrThrow } from './validate.js';

export const LEDGER_FILE = 'ledger.sqlite';
export const COMPARISONS = ['gt', 'ge', 'lt', 'le', 'eq'] as const;
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Comparison = (typeof COMPARISONS)[number];
export type Severity = (typeof SEVERITIES)[number];

/** Longest alert window: 30 days (a longer one is usually milliseconds given as seconds). */
export const MAX_WINDOW_SECONDS = 30 * 24 * 3600;
const MAX_TEXT = 20_000;

export const AlertRuleInput = z.object({
  name: z
    .string()
    .trim()
    .min(1, 'give the rule a name')
    .max(100, 'at most 100 characters')
    .regex(/\D/, 'a name needs a non-digit (digits alone are a rule id)'),
  metric: z.string().trim().min(1, 'name the metric the rule watches'),
  comparison: z.enum(COMPARISONS, `comparison must be one of ${COMPARISONS.join('|')}`),
  threshold: z.number('threshold must be a number').finite('threshold must be a finite number'),
  window_seconds: z
    .number('window_seconds must be a number of seconds')
    .int('window_seconds must be a whole number of seconds')
    .positive('window_seconds must be a positive number of seconds')
    .max(MAX_WINDOW_SECONDS, `window_seconds must be at most ${MAX_WINDOW_SECONDS} (30 days)`),
  severity: z.enum(SEVERITIES, `severity must be one of ${SEVERITIES.join('|')}`),
  endpoint: z.string().trim().min(1).nullish(),
  deployed_model: z.string().trim().min(1).nullish(),
});
export type AlertRuleInput = z.input<typeof AlertRuleInput>;

export interface AlertState {
  firing: boolean;
  /** When the rule last started firing; null when it is not firing. */
  firing_since: number | null;
  last_value: number | null;
  /** Why the last evaluation had no value (or what it found). */
  last_reason: string | null;
  last_evaluated_at: number | null;
}

export interface AlertRule {
  id: number;
  name: string;
  metric: string;
  comparison: Comparison;
  threshold: number;
  window_seconds: number;
  severity: Severity;
  endpoint: string | null;
  deployed_model: string | null;
  created_at: number;
  updated_at: number;
  state: AlertState;
}

export type Transition = 'fired' | 'cleared';

export interface Evaluation {
  value: number | null;
  firing: boolean;
  at: number;
  reason?: string | null;
}

export interface EvaluationRecord {
  rule_id: number;
  name: string;
  firing: boolean;
  /** The change this evaluation made, or null when the state held. */
  transition: Transition | null;
  firing_since: number | null;
  value: number | null;
  at: number;
}

export interface TransitionRecord {
  rule_id: number;
  transition: Transition;
  at: number;
  value: number | null;
  reason: string | null;
}

export const FeedbackInput = z
  .object({
    endpoint: z.string().trim().min(1, 'name the endpoint the feedback is about'),
    prediction_id: z.union([z.string().min(1), z.number().int().nonnegative()]).nullish(),
    input: z.string().max(MAX_TEXT).nullish(),
    expected_output: z.string().max(MAX_TEXT).nullish(),
    score: z.number('score must be a number').finite().nullish(),
    correct: z.boolean('correct must be true or false').nullish(),
    at: z.number().int().nonnegative().optional(),
  })
  .refine((f) => f.correct != null || f.score != null || f.expected_output != null, {
    message: 'feedback needs at least one of correct, score or expected_output',
  });
export type FeedbackInput = z.input<typeof FeedbackInput>;

export interface FeedbackRecord {
  id: number;
  endpoint: string;
  prediction_id: string | null;
  input: string | null;
  expected_output: string | null;
  score: number | null;
  correct: boolean | null;
  at: number;
}

export interface FeedbackStats {
  endpoint: string;
  since: number;
  count: number;
  /** Records with `correct` set, and the share of them that were correct. */
  labelled: number;
  accuracy: number | null;
  scored: number;
  mean_score: number | null;
  /** Why a figure is null. */
  reasons: { accuracy?: string; mean_score?: string };
}

export interface LedgerOptions {
  /** Metric names rules may watch; when given, addRule refuses others and lists these. */
  metrics?: readonly string[];
  /** Clock (tests). */
  now?: () => number;
}

interface RuleRow {
  id: number;
  name: string;
  metric: string;
  comparison: Comparison;
  threshold: number;
  window_seconds: number;
  severity: Severity;
  endpoint: string | null;
  deployed_model: string | null;
  created_ms: number;
  updated_ms: number;
  firing: number;
  firing_since: number | null;
  last_value: number | null;
  last_reason: string | null;
  last_evaluated_ms: number | null;
}

interface FeedbackRow {
  id: number;
  endpoint: string;
  prediction_id: string | null;
  input: string | null;
  expected_output: string | null;
  score: number | null;
  correct: number | null;
  at_ms: number;
}

const toRule = (r: RuleRow): AlertRule => ({
  id: r.id,
  name: r.name,
  metric: r.metric,
  comparison: r.comparison,
  threshold: r.threshold,
  window_seconds: r.window_seconds,
  severity: r.severity,
  endpoint: r.endpoint,
  deployed_model: r.deployed_model,
  created_at: r.created_ms,
  updated_at: r.updated_ms,
  state: {
    firing: r.firing === 1,
    firing_since: r.firing_since,
    last_value: r.last_value,
    last_reason: r.last_reason,
    last_evaluated_at: r.last_evaluated_ms,
  },
});

const toFeedback = (r: FeedbackRow): FeedbackRecord => ({
  id: r.id,
  endpoint: r.endpoint,
  prediction_id: r.prediction_id,
  input: r.input,
  expected_output: r.expected_output,
  score: r.score,
  correct: r.correct === null ? null : r.correct === 1,
  at: r.at_ms,
});

export class Ledger {
  readonly db: Database.Database;
  readonly file: string;
  private readonly now: () => number;
  private readonly metrics?: readonly string[];

  /** dataDir ':memory:' keeps everything in memory (tests); otherwise `<dataDir>/ledger.sqlite`. */
  constructor(dataDir: string, opts: LedgerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.metrics = opts.metrics;
    let file = ':memory:';
    if (dataDir !== ':memory:') {
      fs.mkdirSync(dataDir, { recursive: true });
      file = path.join(dataDir, LEDGER_FILE);
    }
    this.file = file;
    // Loaded on first use, not at import: start-up does not pay for the native module.
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    this.db = new Sqlite(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS alert_rules (
        id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, metric TEXT NOT NULL,
        comparison TEXT NOT NULL, threshold REAL NOT NULL, window_seconds INTEGER NOT NULL,
        severity TEXT NOT NULL, endpoint TEXT, deployed_model TEXT,
        created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
        firing INTEGER NOT NULL DEFAULT 0, firing_since INTEGER, last_value REAL, last_reason TEXT,
        last_evaluated_ms INTEGER);
      CREATE TABLE IF NOT EXISTS alert_transitions (
        id INTEGER PRIMARY KEY, rule_id INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
        at_ms INTEGER NOT NULL, transition TEXT NOT NULL, value REAL, reason TEXT);
      CREATE INDEX IF NOT EXISTS alert_transitions_by_rule ON alert_transitions (rule_id, at_ms);
      CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY, endpoint TEXT NOT NULL, prediction_id TEXT, input TEXT,
        expected_output TEXT, score REAL, correct INTEGER, at_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS feedback_by_endpoint_time ON feedback (endpoint, at_ms);`);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- alert rules ----

  /**
   * Adds a rule. A rule with the same name is ALREADY_EXISTS unless `replace` is set: then its
   * definition is updated and its id, state and history are kept.
   */
  addRule(input: AlertRuleInput, opts: { replace?: boolean } = {}): AlertRule {
    const r = parseOrThrow(AlertRuleInput, input, 'alert rule');
    if (this.metrics && !this.metrics.includes(r.metric)) {
      throw invalid(`unknown metric "${r.metric}" for an alert rule`, `Use one of: ${this.metrics.join(', ')}`);
    }
    const now = this.now();
    const existing = this.findRow(r.name);
    if (existing && !opts.replace) {
      throw new VertexMcpError(
        'ALREADY_EXISTS',
        `an alert rule named "${r.name}" already exists (id ${existing.id})`,
        'Choose another name, delete the rule first, or replace it',
      );
    }
    const values = [
      r.metric,
      r.comparison,
      r.threshold,
      r.window_seconds,
      r.severity,
      r.endpoint ?? null,
      r.deployed_model ?? null,
      now,
    ];
    if (existing) {
      this.db
        .prepare(
          `UPDATE alert_rules SET metric = ?, comparison = ?, threshold = ?, window_seconds = ?, severity = ?,
             endpoint = ?, deployed_model = ?, updated_ms = ? WHERE id = ?`,
        )
        .run(...values, existing.id);
      return this.getRule(existing.id);
    }
    const res = this.db
      .prepare(
        `INSERT INTO alert_rules (metric, comparison, threshold, window_seconds, severity, endpoint, deployed_model,
           updated_ms, name, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(...values, r.name, now);
    return this.getRule(Number(res.lastInsertRowid));
  }

  /** Rules, oldest first; with endpoint, only that endpoint's rules and the rules for every endpoint. */
  listRules(filter: { endpoint?: string } = {}): AlertRule[] {
    const rows = (
      filter.endpoint === undefined
        ? this.db.prepare('SELECT * FROM alert_rules ORDER BY id').all()
        : this.db
            .prepare('SELECT * FROM alert_rules WHERE endpoint IS NULL OR endpoint = ? ORDER BY id')
            .all(filter.endpoint)
    ) as RuleRow[];
    return rows.map(toRule);
  }

  /** A rule by id or name; NOT_FOUND otherwise. */
  getRule(idOrName: number | string): AlertRule {
    const row = this.findRow(idOrName);
    if (!row) throw this.ruleNotFound(idOrName);
    return toRule(row);
  }

  /** Deletes a rule and its history; returns what was deleted. */
  deleteRule(idOrName: number | string): AlertRule {
    const rule = this.getRule(idOrName);
    this.db.prepare('DELETE FROM alert_rules WHERE id = ?').run(rule.id);
    return rule;
  }

  /**
   * Stores one evaluation of a rule and returns the transition it made: 'fired' when a rule that
   * was not firing fires, 'cleared' when a firing rule stops, null when the state holds. A null
   * value (not measured) cannot fire.
   */
  recordEvaluation(ruleId: number | string, ev: Evaluation): EvaluationRecord {
    if (!Number.isFinite(ev.at)) throw invalid('evaluation time `at` must be epoch milliseconds');
    if (ev.value !== null && !Number.isFinite(ev.value)) throw invalid('an evaluated value must be finite or null');
    if (ev.firing && ev.value === null) throw invalid('a rule cannot fire on a value that was not measured');
    return this.db.transaction((): EvaluationRecord => {
      const row = this.findRow(ruleId);
      if (!row) throw this.ruleNotFound(ruleId);
      const was = row.firing === 1;
      const transition: Transition | null = ev.firing && !was ? 'fired' : !ev.firing && was ? 'cleared' : null;
      const since = ev.firing ? (was ? row.firing_since : ev.at) : null;
      this.db
        .prepare(
          `UPDATE alert_rules SET firing = ?, firing_since = ?, last_value = ?, last_reason = ?, last_evaluated_ms = ?
           WHERE id = ?`,
        )
        .run(ev.firing ? 1 : 0, since, ev.value, ev.reason ?? null, ev.at, row.id);
      if (transition) {
        this.db
          .prepare('INSERT INTO alert_transitions (rule_id, at_ms, transition, value, reason) VALUES (?, ?, ?, ?, ?)')
          .run(row.id, ev.at, transition, ev.value, ev.reason ?? null);
      }
      return {
        rule_id: row.id,
        name: row.name,
        firing: ev.firing,
        transition,
        firing_since: since,
        value: ev.value,
        at: ev.at,
      };
    })();
  }

  /** A rule's state changes, newest first. */
  history(idOrName: number | string, limit = 50): TransitionRecord[] {
    const rule = this.getRule(idOrName);
    return (
      this.db
        .prepare(
          `SELECT rule_id, transition, at_ms, value, reason FROM alert_transitions WHERE rule_id = ?
           ORDER BY at_ms DESC, id DESC LIMIT ?`,
        )
        .all(rule.id, limit) as {
        rule_id: number;
        transition: Transition;
        at_ms: number;
        value: number | null;
        reason: string | null;
      }[]
    ).map((r) => ({ rule_id: r.rule_id, transition: r.transition, at: r.at_ms, value: r.value, reason: r.reason }));
  }

  private findRow(idOrName: number | string): RuleRow | undefined {
    const byId = typeof idOrName === 'number' || /^\d+$/.test(idOrName);
    return (
      byId
        ? this.db.prepare('SELECT * FROM alert_rules WHERE id = ?').get(Number(idOrName))
        : this.db.prepare('SELECT * FROM alert_rules WHERE name = ?').get(idOrName)
    ) as RuleRow | undefined;
  }

  private ruleNotFound(idOrName: number | string): VertexMcpError {
    const names = this.listRules().map((r) => `${r.id} (${r.name})`);
    return notFound(
      `no alert rule ${typeof idOrName === 'number' ? idOrName : `"${idOrName}"`}`,
      names.length ? `Known rules: ${names.slice(0, 20).join(', ')}` : 'There are no alert rules yet',
    );
  }

  // ---- feedback ----

  recordFeedback(input: FeedbackInput): FeedbackRecord {
    const f = parseOrThrow(FeedbackInput, input, 'feedback');
    const at = f.at ?? this.now();
    const res = this.db
      .prepare(
        `INSERT INTO feedback (endpoint, prediction_id, input, expected_output, score, correct, at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        f.endpoint,
        f.prediction_id == null ? null : String(f.prediction_id),
        f.input ?? null,
        f.expected_output ?? null,
        f.score ?? null,
        f.correct == null ? null : f.correct ? 1 : 0,
        at,
      );
    return this.getFeedback(Number(res.lastInsertRowid));
  }

  getFeedback(id: number): FeedbackRecord {
    const row = this.db.prepare('SELECT * FROM feedback WHERE id = ?').get(id) as FeedbackRow | undefined;
    if (!row) throw notFound(`no feedback record ${id}`);
    return toFeedback(row);
  }

  /** Feedback on an endpoint at or after sinceMs, oldest first (at most `limit`). */
  listFeedback(endpoint: string, sinceMs = 0, limit = 1000): FeedbackRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM feedback WHERE endpoint = ? AND at_ms >= ? ORDER BY at_ms, id LIMIT ?')
        .all(endpoint, sinceMs, limit) as FeedbackRow[]
    ).map(toFeedback);
  }

  /** Accuracy (share of `correct` feedback) and mean score since sinceMs; null with the reason when none. */
  feedbackStats(endpoint: string, sinceMs = 0): FeedbackStats {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS count, COUNT(correct) AS labelled, SUM(correct) AS right,
           COUNT(score) AS scored, AVG(score) AS mean_score
         FROM feedback WHERE endpoint = ? AND at_ms >= ?`,
      )
      .get(endpoint, sinceMs) as {
      count: number;
      labelled: number;
      right: number | null;
      scored: number;
      mean_score: number | null;
    };
    const since = new Date(sinceMs).toISOString();
    const reasons: FeedbackStats['reasons'] = {};
    if (!row.labelled) {
      reasons.accuracy = `not measured: no feedback with correct=true/false on ${endpoint} since ${since}`;
    }
    if (!row.scored) reasons.mean_score = `not measured: no feedback with a score on ${endpoint} since ${since}`;
    return {
      endpoint,
      since: sinceMs,
      count: row.count,
      labelled: row.labelled,
      accuracy: row.labelled ? (row.right ?? 0) / row.labelled : null,
      scored: row.scored,
      mean_score: row.scored ? row.mean_score : null,
      reasons,
    };
  }
}
