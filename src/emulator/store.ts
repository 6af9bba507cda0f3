// The emulator's state: one SQLite database (WAL) of JSON documents keyed by kind and resource
// name. Services keep Vertex's resource shapes as documents, so a restart loses nothing and a new
// service needs no schema change. Statements are compiled once per Store (statement()) and reused.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export interface StoredDoc<T> {
  name: string;
  parent: string | null;
  seq: number;
  doc: T;
}

interface Row {
  name: string;
  parent: string | null;
  seq: number;
  body: string;
}

export class Store {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  /** dataDir ':memory:' keeps everything in memory (tests). */
  constructor(dataDir: string) {
    let file = ':memory:';
    if (dataDir !== ':memory:') {
      fs.mkdirSync(dataDir, { recursive: true });
      file = path.join(dataDir, 'emulator.sqlite');
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS docs (
        kind TEXT NOT NULL, name TEXT NOT NULL, parent TEXT, seq INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (kind, name));
      CREATE INDEX IF NOT EXISTS docs_by_parent ON docs (kind, parent, seq);
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);`);
  }

  /**
   * The prepared statement for `sql`, compiled on first use and cached for the Store's life
   * (compiling costs more than running a small statement). Shared by every caller of the same SQL
   * text: callers must not switch its mode (pluck, raw, expand), and must not run it again while an
   * iterate() over it is still open.
   */
  statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  get<T>(kind: string, name: string): T | undefined {
    const row = this.statement('SELECT body FROM docs WHERE kind = ? AND name = ?').get(kind, name) as
      | Pick<Row, 'body'>
      | undefined;
    return row ? (JSON.parse(row.body) as T) : undefined;
  }

  /** Inserts or replaces; a replaced document keeps its original insertion order. */
  put<T>(kind: string, name: string, doc: T, parent: string | null = null): void {
    this.statement(
      `INSERT INTO docs (kind, name, parent, seq, body) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (kind, name) DO UPDATE SET parent = excluded.parent, body = excluded.body`,
    ).run(kind, name, parent, this.next('docs.seq'), JSON.stringify(doc));
  }

  /**
   * Inserts only if (kind, name) is free; false when it is taken. One statement, so two writers
   * racing for one name cannot both win.
   */
  insert<T>(kind: string, name: string, doc: T, parent: string | null = null): boolean {
    return (
      this.statement(
        `INSERT INTO docs (kind, name, parent, seq, body) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (kind, name) DO NOTHING`,
      ).run(kind, name, parent, this.next('docs.seq'), JSON.stringify(doc)).changes > 0
    );
  }

  delete(kind: string, name: string): boolean {
    return this.statement('DELETE FROM docs WHERE kind = ? AND name = ?').run(kind, name).changes > 0;
  }

  /** Documents of a kind, oldest first; with parent, only that parent's children. */
  list<T>(kind: string, parent?: string): StoredDoc<T>[] {
    const rows = (
      parent === undefined
        ? this.statement('SELECT name, parent, seq, body FROM docs WHERE kind = ? ORDER BY seq').all(kind)
        : this.statement('SELECT name, parent, seq, body FROM docs WHERE kind = ? AND parent = ? ORDER BY seq').all(
            kind,
            parent,
          )
    ) as Row[];
    return rows.map((r) => ({ name: r.name, parent: r.parent, seq: r.seq, doc: JSON.parse(r.body) as T }));
  }

  /** A monotonically increasing counter that survives restarts (resource IDs, ordering). */
  next(counter: string): number {
    const row = this.statement(
      `INSERT INTO counters (name, value) VALUES (?, 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`,
    ).get(counter) as { value: number };
    return row.value;
  }

  /** Runs fn atomically: a service that fails half-way leaves no partial state. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
