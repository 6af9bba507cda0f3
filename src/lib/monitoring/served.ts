// The predictions this library made (input, output, version), kept in the ledger: what feedback
// refers to and what serving-side drift is measured on. Vertex AI does not return served inputs
// through an API (request-response logging goes to BigQuery), so the library keeps its own record.
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

export class ServedLog {
  constructor(private readonly ledger: Ledger) {
    ledger.db.exec(`
      CREATE TABLE IF NOT EXISTS served (
        id INTEGER PRIMARY KEY, prediction_id TEXT, endpoint TEXT NOT NULL, deployed_model_id TEXT NOT NULL,
        version TEXT, input TEXT, output TEXT, at_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS served_by_endpoint_time ON served (endpoint, at_ms);
      CREATE INDEX IF NOT EXISTS served_by_prediction ON served (prediction_id);`);
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
    const insert = this.ledger.db.prepare(
      'INSERT INTO served (prediction_id, endpoint, deployed_model_id, version, input, output, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const fix = this.ledger.db.prepare('UPDATE served SET prediction_id = ? WHERE id = ?');
    const now = Date.now();
    return this.ledger.db.transaction(() =>
      rows.inputs.map((input, i) => {
        const given = rows.prediction_ids[i];
        const r = insert.run(
          given ?? null,
          rows.endpoint,
          rows.deployed_model_id,
          rows.version,
          clip(input),
          clip(rows.outputs[i] ?? null),
          now,
        );
        if (given) return given;
        const id = `lib-${r.lastInsertRowid}`;
        fix.run(id, r.lastInsertRowid);
        return id;
      }),
    )();
  }

  get(predictionId: string): ServedPrediction | undefined {
    return this.ledger.db
      .prepare(
        'SELECT prediction_id, endpoint, deployed_model_id, version, input, output, at_ms AS at FROM served WHERE prediction_id = ? ORDER BY id DESC LIMIT 1',
      )
      .get(predictionId) as ServedPrediction | undefined;
  }

  recent(endpoint: string, sinceMs: number, limit = 20_000): ServedPrediction[] {
    return this.ledger.db
      .prepare(
        'SELECT prediction_id, endpoint, deployed_model_id, version, input, output, at_ms AS at FROM served WHERE endpoint = ? AND at_ms >= ? ORDER BY id DESC LIMIT ?',
      )
      .all(endpoint, sinceMs, limit) as ServedPrediction[];
  }
}

const clip = (s: string | null) => (s === null ? null : s.slice(0, 2000));
