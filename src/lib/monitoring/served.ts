// The predictions this library made (input, output, version), kept in the ledger: what feedback
// refers to and what serving-side drift is measured on. Vertex AI does not return served inputs
// through an API (request-response logging goes to BigQuery), so the library keeps its own record.
import type { Statement } from 'better-sqlite3';
import type { RatioSums } from '../experiments/stats.js';
import type { Ledger } from './ledger.js';

export interface ServedPrediction {
  prediction_id: string;
  endpoint: string;
  deployed_model_id: string;
  version: string | null;
  input: string | null;
  output: string | null;
  at: number;
}

/**
 * Per-request sums of one outcome (x = correct answers or summed scores, y = labelled or scored
 * instances) over the feedback on the predictions a deployed model served in (from, to].
 */
function outcomeSql(outcome: 'correct' | 'score'): string {
  return `SELECT COUNT(*) AS n, TOTAL(x) AS sx, TOTAL(y) AS sy, TOTAL(x * x) AS sxx, TOTAL(y * y) AS syy,
      TOTAL(x * y) AS sxy
    FROM (
      SELECT TOTAL(f.${outcome}) AS x, COUNT(*) AS y FROM served s
      JOIN feedback f ON f.id = (
        SELECT MAX(id) FROM feedback WHERE prediction_id = s.prediction_id AND ${outcome} IS NOT NULL)
      WHERE s.endpoint = ? AND s.deployed_model_id = ? AND s.at_ms > ? AND s.at_ms <= ?
      GROUP BY COALESCE(s.request_id, s.id))`;
}

export class ServedLog {
  private readonly stmts: {
    insert: Statement;
    fix: Statement;
    setRequest: Statement;
    get: Statement;
    recent: Statement;
    outcome: Record<'correct' | 'score', Statement>;
  };

  constructor(private readonly ledger: Ledger) {
    ledger.db.exec(`
      CREATE TABLE IF NOT EXISTS served (
        id INTEGER PRIMARY KEY, prediction_id TEXT, endpoint TEXT NOT NULL, deployed_model_id TEXT NOT NULL,
        version TEXT, input TEXT, output TEXT, at_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS served_by_endpoint_time ON served (endpoint, at_ms);
      CREATE INDEX IF NOT EXISTS served_by_prediction ON served (prediction_id);
      CREATE INDEX IF NOT EXISTS feedback_by_prediction ON feedback (prediction_id);`);
    // request_id groups the instances of one Predict call: Vertex routes per request, so A/B
    // statistics treat the request as the unit (added to ledgers written before it existed).
    const columns = ledger.db.prepare('PRAGMA table_info(served)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'request_id')) ledger.db.exec('ALTER TABLE served ADD COLUMN request_id TEXT');
    // Compiled once here, not per call (after the migration above: a schema change recompiles them).
    const db = ledger.db;
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO served (prediction_id, endpoint, deployed_model_id, version, input, output, at_ms, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      fix: db.prepare('UPDATE served SET prediction_id = ? WHERE id = ?'),
      setRequest: db.prepare('UPDATE served SET request_id = ? WHERE id >= ? AND id <= ?'),
      get: db.prepare(
        'SELECT prediction_id, endpoint, deployed_model_id, version, input, output, at_ms AS at FROM served WHERE prediction_id = ? ORDER BY id DESC LIMIT 1',
      ),
      recent: db.prepare(
        'SELECT prediction_id, endpoint, deployed_model_id, version, input, output, at_ms AS at FROM served WHERE endpoint = ? AND at_ms >= ? ORDER BY id DESC LIMIT ?',
      ),
      outcome: {
        correct: db.prepare(outcomeSql('correct')),
        score: db.prepare(outcomeSql('score')),
      },
    };
  }

  /** Records predictions; those without an id from the backend get `lib-<n>`. Returns the ids. */
  record(rows: {
    endpoint: string;
    deployed_model_id: string;
    version: string | null;
    prediction_ids: (string | null)[];
    inputs: (string | null)[];
    outputs: (string | null)[];
  }): string[] {
    const { insert, fix, setRequest } = this.stmts;
    const now = Date.now();
    return this.ledger.db.transaction(() => {
      let first = 0;
      let last = 0;
      const ids = rows.inputs.map((input, i) => {
        const given = rows.prediction_ids[i];
        const r = insert.run(
          given ?? null,
          rows.endpoint,
          rows.deployed_model_id,
          rows.version,
          clip(input),
          clip(rows.outputs[i] ?? null),
          now,
          null,
        );
        last = Number(r.lastInsertRowid);
        if (i === 0) first = last;
        if (given) return given;
        const id = `lib-${r.lastInsertRowid}`;
        fix.run(id, r.lastInsertRowid);
        return id;
      });
      // The request is named by its first row.
      if (ids.length) setRequest.run(`r${first}`, first, last);
      return ids;
    })();
  }

  /**
   * Per-request sums of one outcome over the feedback on predictions a deployed model served in
   * (fromMs, toMs]: x = correct answers (or summed scores), y = labelled (or scored) instances, per
   * request; the newest feedback on a prediction counts. What the A/B statistics' delta method needs.
   */
  outcomeSums(
    endpoint: string,
    deployedModelId: string,
    outcome: 'correct' | 'score',
    fromMs: number,
    toMs: number,
  ): RatioSums {
    const row = this.stmts.outcome[outcome].get(endpoint, deployedModelId, fromMs, toMs) as RatioSums;
    return row;
  }

  get(predictionId: string): ServedPrediction | undefined {
    return this.stmts.get.get(predictionId) as ServedPrediction | undefined;
  }

  recent(endpoint: string, sinceMs: number, limit = 20_000): ServedPrediction[] {
    return this.stmts.recent.all(endpoint, sinceMs, limit) as ServedPrediction[];
  }
}

const clip = (s: string | null) => (s === null ? null : s.slice(0, 2000));
