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

/** Reads and writes models, versions and evaluations; callers wrap writes in store.tx. */
export class ModelRepo {
  constructor(readonly store: Store) {}

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

  /** The version named by a version ID or alias; none means the one holding "default". */
  version(model: string, spec: string | undefined): VersionDoc {
    if (spec !== undefined && VERSION_ID.test(spec)) {
      const doc = this.store.get<VersionDoc>(VERSION_KIND, versionName(model, spec));
      if (!doc) throw notFound(`Model ${model} has no version ${spec}`);
      return doc;
    }
    const alias = spec ?? DEFAULT_ALIAS;
    const doc = this.versions(model).find((v) => v.versionAliases.includes(alias));
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

  /** Writes a version with a new etag (every write is a change readers must be able to detect). */
  putVersion(model: string, doc: VersionDoc): void {
    doc.etag = Buffer.from(`${doc.versionId}/${this.store.next('model_version.etag')}`).toString('base64');
    this.store.put(VERSION_KIND, versionName(model, doc.versionId), doc, model);
  }

  /** The version of the model holding `alias`, if any (aliases are unique per model). */
  aliasHolder(model: string, alias: string): VersionDoc | undefined {
    return this.versions(model).find((v) => v.versionAliases.includes(alias));
  }

  /** Removes `aliases` from every version of the model except `keep` (Vertex moves aliases). */
  takeAliases(model: string, aliases: string[], keep: string | undefined, now: Timestamp): void {
    for (const v of this.versions(model)) {
      if (v.versionId === keep || !v.versionAliases.some((a) => aliases.includes(a))) continue;
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
    for (const e of this.evaluations(model, versionId)) this.store.delete(EVALUATION_KIND, e.name);
    this.store.delete(VERSION_KIND, versionName(model, versionId));
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
