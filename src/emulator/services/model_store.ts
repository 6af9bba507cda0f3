// Model Registry state for the emulated ModelService (and EndpointService, which resolves
// `model@version` names and records deployments in `deployedModels`).
//
// Storage layout (Store kinds):
//   'model'            name = projects/{p}/locations/{l}/models/{id}, parent = the location.
//                      Model-level fields shared by every version: displayName, description,
//                      createTime, updateTime; plus lastVersionId so version IDs are never reused.
//   'model_version'    name = {model}@{versionId}, parent = {model}. Version-level fields:
//                      versionId, versionAliases, version times, versionDescription, labels,
//                      artifactUri, containerSpec, metadata, ..., deployedModels, etag.
//                      Every write of a version (labels, description, aliases, deployments)
//                      gives it a new etag (Model.etag: "Used to perform consistent
//                      read-modify-write updates"), so UpdateModel can refuse a stale one.
//   'model_evaluation' name = {model}/evaluations/{id}, parent = {model}@{versionId}: evaluations
//                      belong to a version, while their resource name (as in Vertex) does not say which.
//
// The alias index (table model_version_aliases, one row per (model, alias) -> version ID) is kept in
// the same transaction as every version write, so resolving `model@alias`, checking an alias is
// free and moving one cost the same at 1,000 versions as at 10 (no version is read to find one).
// Its primary key is the uniqueness rule itself: two versions of one model can never hold one alias.
// Data directories written before the index existed are indexed once, when it is created.
import type Database from 'better-sqlite3';
import { invalidArgument, notFound } from '../errors.js';
import type { Store } from '../store.js';
import type { Timestamp } from '../util.js';

export const MODEL_KIND = 'model';
export const VERSION_KIND = 'model_version';
export const EVALUATION_KIND = 'model_evaluation';

export const DEFAULT_ALIAS = 'default';

export interface ModelDoc {
  name: string;
  displayName: string;
  description?: string;
  createTime: Timestamp;
  updateTime: Timestamp;
  lastVersionId: number;
}

export interface DeployedModelRef {
  endpoint: string;
  deployedModelId: string;
}

/** A version: the version-level fields of google.cloud.aiplatform.v1.Model (camelCase). */
export interface VersionDoc {
  versionId: string;
  versionAliases: string[];
  versionCreateTime: Timestamp;
  versionUpdateTime: Timestamp;
  versionDescription?: string;
  labels?: Record<string, string>;
  deployedModels: DeployedModelRef[];
  /** Changes on every write of the version; absent in data written by older releases. */
  etag?: string;
  [field: string]: unknown;
}

export interface EvaluationDoc {
  name: string;
  createTime: Timestamp;
  displayName?: string;
  [field: string]: unknown;
}

/** A parsed model name: `.../models/{id}` with an optional `@{versionId|alias}` (or `@-`). */
export interface ModelRef {
  location: string;
  model: string;
  modelId: string;
  version?: string;
}

const MODEL_NAME = /^(projects\/[^/]+\/locations\/[^/]+)\/models\/([^/@]+)(?:@([^/@]+))?$/;
export const MODEL_ID = /^[a-z][a-z0-9_-]{0,62}$/;
export const VERSION_ALIAS = /^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$/;
const VERSION_ID = /^[0-9]+$/;

export function parseModelName(name: string | undefined, field: string): ModelRef {
  const m = MODEL_NAME.exec(name ?? '');
  if (!m) {
    throw invalidArgument(
      `${field} "${name ?? ''}" must look like projects/{project}/locations/{location}/models/{model}[@{version_id|alias}]`,
    );
  }
  return { location: m[1]!, model: `${m[1]}/models/${m[2]}`, modelId: m[2]!, version: m[3] };
}

export function validateAlias(alias: string, field: string): void {
  if (VERSION_ALIAS.test(alias)) return;
  throw invalidArgument(
    `${field} "${alias}" is invalid: aliases must match [a-z][a-zA-Z0-9-]{0,126}[a-z0-9] (start with a lowercase letter, no dots, so they cannot be confused with a version ID)`,
  );
}

export const versionName = (model: string, versionId: string) => `${model}@${versionId}`;

/** A version's etag; versions stored before etags existed get one from their update time. */
export function etagOf(v: VersionDoc): string {
  return (
    v.etag ??
    Buffer.from(`${v.versionId}/t${v.versionUpdateTime.seconds}.${v.versionUpdateTime.nanos}`).toString('base64')
  );
}

const ALIAS_TABLE = 'model_version_aliases';

/** Prepared statements of the alias index and the version pages, per database. */
interface Statements {
  holder: Database.Statement<[string, string], { version_id: string }>;
  clear: Database.Statement<[string, string]>;
  add: Database.Statement<[string, string, string]>;
  count: Database.Statement<[string, string], { n: number }>;
  slice: Database.Statement<[string, string, number, number], { body: string }>;
  all: Database.Statement<[string, string], { body: string }>;
}
const statements = new WeakMap<Store, Statements>();

/**
 * Creates the alias index (indexing the versions already stored, once, when the table is new) and
 * prepares the statements over it. The docs table is the Store's (store.ts): versions are read in
 * its insertion order, which is version order (version IDs are allocated and inserted in one
 * transaction, and a rewrite keeps a document's place).
 */
function prepare(store: Store): Statements {
  const known = statements.get(store);
  if (known) return known;
  const db = store.db;
  db.transaction(() => {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(ALIAS_TABLE);
    if (exists) return;
    db.exec(`
      CREATE TABLE ${ALIAS_TABLE} (
        model TEXT NOT NULL, alias TEXT NOT NULL, version_id TEXT NOT NULL, PRIMARY KEY (model, alias));
      CREATE INDEX ${ALIAS_TABLE}_by_version ON ${ALIAS_TABLE} (model, version_id);`);
    const add = db.prepare(`INSERT OR REPLACE INTO ${ALIAS_TABLE} (model, alias, version_id) VALUES (?, ?, ?)`);
    for (const { parent, doc } of store.list<VersionDoc>(VERSION_KIND)) {
      for (const alias of doc.versionAliases ?? []) add.run(parent ?? '', alias, doc.versionId);
    }
  })();
  const made: Statements = {
    holder: db.prepare<[string, string], { version_id: string }>(
      `SELECT version_id FROM ${ALIAS_TABLE} WHERE model = ? AND alias = ?`,
    ),
    clear: db.prepare<[string, string]>(`DELETE FROM ${ALIAS_TABLE} WHERE model = ? AND version_id = ?`),
    add: db.prepare<[string, string, string]>(`INSERT INTO ${ALIAS_TABLE} (model, alias, version_id) VALUES (?, ?, ?)`),
    count: db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM docs WHERE kind = ? AND parent = ?'),
    slice: db.prepare<[string, string, number, number], { body: string }>(
      'SELECT body FROM docs WHERE kind = ? AND parent = ? ORDER BY seq LIMIT ? OFFSET ?',
    ),
    all: db.prepare<[string, string], { body: string }>(
      'SELECT body FROM docs WHERE kind = ? AND parent = ? ORDER BY seq',
    ),
  };
  statements.set(store, made);
  return made;
}

/** Reads and writes models, versions and evaluations; callers wrap writes in store.tx. */
export class ModelRepo {
  private readonly sql: Statements;

  constructor(readonly store: Store) {
    this.sql = prepare(store);
  }

  findModel(model: string): ModelDoc | undefined {
    return this.store.get<ModelDoc>(MODEL_KIND, model);
  }

  model(model: string): ModelDoc {
    const doc = this.findModel(model);
    if (!doc) throw notFound(`Model ${model} does not exist`);
    return doc;
  }

  /** All versions of a model in version order (1, 2, 3...). */
  versions(model: string): VersionDoc[] {
    return this.store
      .list<VersionDoc>(VERSION_KIND, model)
      .map((d) => d.doc)
      .sort((a, b) => Number(a.versionId) - Number(b.versionId));
  }

  /** How many versions a model has (nothing parsed). */
  countVersions(model: string): number {
    return this.sql.count.get(VERSION_KIND, model)?.n ?? 0;
  }

  /**
   * Versions in version order from `offset`, at most `limit` of those `matches` accepts, and
   * whether another accepted one follows. Rows are parsed only as far as needed; without a
   * predicate the offset is skipped in SQL, so a page costs its own size, not the model's.
   */
  versionsPage(
    model: string,
    offset: number,
    limit: number,
    matches?: (v: VersionDoc) => boolean,
  ): { page: VersionDoc[]; more: boolean } {
    if (!matches) {
      const rows = this.sql.slice.all(VERSION_KIND, model, limit + 1, offset);
      const page = rows.slice(0, limit).map((r) => JSON.parse(r.body) as VersionDoc);
      return { page, more: rows.length > limit };
    }
    const page: VersionDoc[] = [];
    let skipped = 0;
    for (const row of this.sql.all.iterate(VERSION_KIND, model)) {
      const v = JSON.parse(row.body) as VersionDoc;
      if (!matches(v)) continue;
      if (skipped < offset) skipped++;
      else if (page.length < limit) page.push(v);
      else return { page, more: true };
    }
    return { page, more: false };
  }

  /** The version named by a version ID or alias; none means the one holding "default". */
  version(model: string, spec: string | undefined): VersionDoc {
    if (spec !== undefined && VERSION_ID.test(spec)) {
      const doc = this.store.get<VersionDoc>(VERSION_KIND, versionName(model, spec));
      if (!doc) throw notFound(`Model ${model} has no version ${spec}`);
      return doc;
    }
    const alias = spec ?? DEFAULT_ALIAS;
    const doc = this.aliasHolder(model, alias);
    if (!doc) throw notFound(`Model ${model} has no version with alias "${alias}"`);
    return doc;
  }

  /** Resolves `.../models/{id}[@{version|alias}]` to the model and the version it names. */
  resolve(name: string | undefined, field: string): { ref: ModelRef; model: ModelDoc; version: VersionDoc } {
    const ref = parseModelName(name, field);
    const model = this.model(ref.model);
    return { ref, model, version: this.version(ref.model, ref.version === '-' ? undefined : ref.version) };
  }

  putModel(doc: ModelDoc): void {
    this.store.put(MODEL_KIND, doc.name, doc, doc.name.slice(0, doc.name.indexOf('/models/')));
  }

  /**
   * Writes a version with a new etag (every write is a change readers must be able to detect),
   * and its aliases into the index, atomically. An alias another version holds fails the write
   * (callers move aliases with takeAliases first).
   */
  putVersion(model: string, doc: VersionDoc): void {
    doc.etag = Buffer.from(`${doc.versionId}/${this.store.next('model_version.etag')}`).toString('base64');
    this.store.tx(() => {
      this.store.put(VERSION_KIND, versionName(model, doc.versionId), doc, model);
      this.sql.clear.run(model, doc.versionId);
      for (const alias of new Set(doc.versionAliases)) this.sql.add.run(model, alias, doc.versionId);
    });
  }

  /** The version of the model holding `alias`, if any (aliases are unique per model): one index read. */
  aliasHolder(model: string, alias: string): VersionDoc | undefined {
    const row = this.sql.holder.get(model, alias);
    return row ? this.store.get<VersionDoc>(VERSION_KIND, versionName(model, row.version_id)) : undefined;
  }

  /** Removes `aliases` from the versions of the model holding them, except `keep` (Vertex moves aliases). */
  takeAliases(model: string, aliases: string[], keep: string | undefined, now: Timestamp): void {
    const holders = new Set<string>();
    for (const alias of aliases) {
      const id = this.sql.holder.get(model, alias)?.version_id;
      if (id !== undefined && id !== keep) holders.add(id);
    }
    for (const id of holders) {
      const v = this.store.get<VersionDoc>(VERSION_KIND, versionName(model, id));
      if (!v) continue;
      v.versionAliases = v.versionAliases.filter((a) => !aliases.includes(a));
      v.versionUpdateTime = now;
      this.putVersion(model, v);
    }
  }

  /** Records that a version is deployed (EndpointService.DeployModel). */
  addDeployment(model: string, versionId: string, ref: DeployedModelRef): void {
    const doc = this.store.get<VersionDoc>(VERSION_KIND, versionName(model, versionId));
    if (!doc) throw notFound(`Model ${model} has no version ${versionId}`);
    doc.deployedModels = [
      ...(doc.deployedModels ?? []).filter(
        (d) => !(d.endpoint === ref.endpoint && d.deployedModelId === ref.deployedModelId),
      ),
      ref,
    ];
    this.putVersion(model, doc);
  }

  /** Forgets a deployment (EndpointService.UndeployModel); a missing version is ignored. */
  removeDeployment(model: string, versionId: string, ref: DeployedModelRef): void {
    const doc = this.store.get<VersionDoc>(VERSION_KIND, versionName(model, versionId));
    if (!doc) return;
    doc.deployedModels = (doc.deployedModels ?? []).filter(
      (d) => !(d.endpoint === ref.endpoint && d.deployedModelId === ref.deployedModelId),
    );
    this.putVersion(model, doc);
  }

  evaluations(model: string, versionId: string): EvaluationDoc[] {
    return this.store.list<EvaluationDoc>(EVALUATION_KIND, versionName(model, versionId)).map((d) => d.doc);
  }

  deleteVersion(model: string, versionId: string): void {
    this.store.tx(() => {
      for (const e of this.evaluations(model, versionId)) this.store.delete(EVALUATION_KIND, e.name);
      this.store.delete(VERSION_KIND, versionName(model, versionId));
      this.sql.clear.run(model, versionId);
    });
  }

  /** The google.cloud.aiplatform.v1.Model clients see: model-level fields over a version. */
  toModel(model: ModelDoc, version: VersionDoc): Record<string, unknown> {
    return {
      ...version,
      etag: etagOf(version),
      name: model.name,
      displayName: model.displayName,
      description: model.description,
      createTime: model.createTime,
      updateTime: model.updateTime,
    };
  }
}
