// google.cloud.aiplatform.v1.ModelService: the Vertex AI Model Registry. Models with versions,
// version aliases, labels, evaluations, and long-running upload/delete, with Vertex's
// validation rules and status codes. Methods not listed here answer UNIMPLEMENTED.
import { aborted, alreadyExists, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { compileFilter, compileOrderBy, snakeCase } from '../filter.js';
import type { ServiceImpl } from '../host.js';
import type { ServiceContext } from '../index.js';
import { locationOf, paginate, timestamp } from '../util.js';
import { validateDisplayName, validateLabels } from '../validation.js';
import {
  DEFAULT_ALIAS,
  EVALUATION_KIND,
  type EvaluationDoc,
  etagOf,
  MODEL_ID,
  MODEL_KIND,
  type ModelDoc,
  ModelRepo,
  parseModelName,
  type VersionDoc,
  validateAlias,
  versionName,
} from './model_store.js';

type Model = Record<string, any>;

// Output-only or model-level fields of an uploaded Model that must not be stored on the version.
const NOT_VERSION_FIELDS = [
  'name',
  'versionId',
  'versionAliases',
  'versionCreateTime',
  'versionUpdateTime',
  'displayName',
  'description',
  'createTime',
  'updateTime',
  'deployedModels',
  'supportedExportFormats',
  'trainingPipeline',
  'supportedDeploymentResourcesTypes',
  'supportedInputStorageFormats',
  'supportedOutputStorageFormats',
  'modelSourceInfo',
  'originalModelInfo',
  'metadataArtifact',
  'satisfiesPzs',
  'satisfiesPzi',
  'checkpoints',
  'etag',
];

// UpdateModel: updatable paths and where they live. Aliases move through MergeVersionAliases, and
// metadata / artifact / container are IMMUTABLE in Vertex's Model proto.
const MODEL_PATHS = ['display_name', 'description'];
const VERSION_PATHS = ['labels', 'version_description'];

// List pages: page_size is honoured up to MAX_PAGE_SIZE (larger sizes are clamped, as AIP-158
// allows); without one, DEFAULT_PAGE_SIZE.
const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;

/** The offset an opaque page token (util.paginate's form) stands for; a bad token is INVALID_ARGUMENT. */
function pageOffset(pageToken: string | undefined): number {
  if (!pageToken) return 0;
  const offset = Number(Buffer.from(pageToken, 'base64url').toString());
  if (!Number.isInteger(offset) || offset < 0) throw invalidArgument(`page_token "${pageToken}" is not valid`);
  return offset;
}

const deployedMessage = (name: string, v: VersionDoc) => {
  const d = v.deployedModels[0]!;
  return `Model ${name}@${v.versionId} is deployed to endpoint ${d.endpoint} (deployed model ${d.deployedModelId}); undeploy it first`;
};

export function createModelService(ctx: ServiceContext): ServiceImpl {
  const { store, operations } = ctx;
  const repo = new ModelRepo(store);

  function upload(req: { parent: string; parentModel?: string; modelId?: string; model?: Model }) {
    const location = locationOf(req.parent, 'parent');
    if (location !== req.parent)
      throw invalidArgument(`parent "${req.parent}" must be projects/{project}/locations/{location}`);
    const input = req.model;
    if (!input) throw invalidArgument('model is required');
    validateDisplayName(input.displayName, 'model.display_name');
    if (!input.containerSpec?.imageUri) throw invalidArgument('model.container_spec.image_uri is required');
    validateLabels(input.labels, 'model.labels');
    const requested = [...new Set<string>(input.versionAliases ?? [])];
    for (const a of requested) validateAlias(a, 'model.version_aliases');

    let modelName: string;
    if (req.parentModel) {
      const ref = parseModelName(req.parentModel, 'parent_model');
      if (ref.version !== undefined) throw invalidArgument('parent_model must name a model without @version');
      if (ref.location !== location) {
        throw invalidArgument(`parent_model ${req.parentModel} is not in ${location}`);
      }
      if (req.modelId && req.modelId !== ref.modelId) {
        throw invalidArgument(`model_id "${req.modelId}" does not match parent_model ${req.parentModel}`);
      }
      modelName = ref.model;
    } else if (req.modelId) {
      if (!MODEL_ID.test(req.modelId)) {
        throw invalidArgument(
          `model_id "${req.modelId}" is invalid: it must match [a-z][a-z0-9_-]{0,62} (start with a lowercase letter; lowercase letters, digits, "_" and "-"; at most 63 characters)`,
        );
      }
      modelName = `${location}/models/${req.modelId}`;
    } else {
      // Vertex generates numeric model IDs; user IDs start with a letter, so these never collide.
      modelName = `${location}/models/${1_000_000_000 + store.next('model.id')}`;
    }

    const now = timestamp();
    const versionId = store.tx(() => {
      let model = repo.findModel(modelName);
      if (req.parentModel && !model) throw notFound(`parent_model ${modelName} does not exist`);
      if (!model) {
        model = {
          name: modelName,
          displayName: input.displayName,
          description: input.description,
          createTime: now,
          updateTime: now,
          lastVersionId: 0,
        };
        // Creating the model is one insert-if-absent: of concurrent uploads with one model_id, one
        // creates it and the others get ALREADY_EXISTS.
        if (!store.insert(MODEL_KIND, modelName, model, location)) model = undefined;
      } else if (!req.parentModel) model = undefined;
      if (!model) {
        throw alreadyExists(`Model ${modelName} already exists; set parent_model to upload a new version of it`);
      }
      // model.proto, version_aliases: "A default version alias will be created for the first
      // version of the model, and there must be exactly one default version alias for a model";
      // asking for "default" moves it to the new version (what is_default_version does). Any other
      // alias is unique per model ("an alias can only be assigned to a single version, by model,
      // at a time"): an upload never takes one from another version; MergeVersionAliases moves it.
      for (const alias of requested) {
        if (alias === DEFAULT_ALIAS) continue;
        const holder = repo.aliasHolder(modelName, alias);
        if (holder) {
          throw alreadyExists(
            `version alias "${alias}" is already held by version ${holder.versionId} of ${modelName}; aliases are unique per model: move it with MergeVersionAliases`,
          );
        }
      }
      model.lastVersionId += 1;
      model.updateTime = now;
      const id = String(model.lastVersionId);
      // The first version always holds "default"; later ones only when they ask for it.
      const aliases =
        model.lastVersionId === 1 ? [DEFAULT_ALIAS, ...requested.filter((a) => a !== DEFAULT_ALIAS)] : requested;
      repo.takeAliases(modelName, aliases, id, now);
      const fields = Object.fromEntries(Object.entries(input).filter(([k]) => !NOT_VERSION_FIELDS.includes(k)));
      repo.putModel(model);
      repo.putVersion(modelName, {
        ...fields,
        versionId: id,
        versionAliases: aliases,
        versionCreateTime: now,
        versionUpdateTime: now,
        labels: input.labels ?? {},
        deployedModels: [],
        // Custom-container models deploy to dedicated resources (what Vertex reports for them).
        supportedDeploymentResourcesTypes: ['DEDICATED_RESOURCES'],
      });
      return id;
    });
    return operations.completed(
      modelName,
      'UploadModelOperationMetadata',
      'google.cloud.aiplatform.v1.UploadModelResponse',
      {
        model: modelName,
        modelVersionId: versionId,
      },
    );
  }

  type Candidate = { model: ModelDoc; version: VersionDoc };
  function compileListFilter(filter: string | undefined, scope: 'models' | 'versions') {
    return compileFilter<Candidate>(filter, {
      fields:
        scope === 'models'
          ? { model: 'string', display_name: 'string', labels: 'map' }
          : // version_aliases is an emulator extension; Vertex documents only labels here.
            { labels: 'map', version_aliases: 'list' },
      resolve: ({ model, version }, field) =>
        field === 'model'
          ? model.name.slice(model.name.lastIndexOf('/') + 1)
          : field === 'display_name'
            ? model.displayName
            : field === 'labels'
              ? version.labels
              : version.versionAliases,
    });
  }

  /** Filters, orders and pages one model's versions or many models' default versions. */
  function listPage(
    candidates: Candidate[],
    req: { filter?: string; orderBy?: string; pageSize?: number; pageToken?: string },
    scope: 'models' | 'versions',
  ) {
    const matches = compileListFilter(req.filter, scope);
    type C = (typeof candidates)[number];
    const order = compileOrderBy<C>(
      req.orderBy,
      scope === 'models'
        ? {
            create_time: (c) => c.model.createTime,
            update_time: (c) => c.model.updateTime,
            display_name: (c) => c.model.displayName,
          }
        : { create_time: (c) => c.version.versionCreateTime, update_time: (c) => c.version.versionUpdateTime },
    );
    const selected = candidates.filter(matches);
    if (order) selected.sort(order);
    const { page, nextPageToken } = paginate(selected, req.pageSize, req.pageToken, MAX_PAGE_SIZE);
    return { models: page.map((c) => repo.toModel(c.model, c.version)), nextPageToken };
  }

  /**
   * One model's versions in version order, one page read from the store as far as the page needs
   * (the versions before the page are skipped in SQL when there is no filter), so walking 1,000
   * versions costs each page its own size. Tokens are the offsets util.paginate uses.
   */
  function versionsPage(
    model: ModelDoc,
    req: { filter?: string; pageSize?: number; pageToken?: string },
  ): { models: Model[]; nextPageToken: string } {
    const matches = req.filter ? compileListFilter(req.filter, 'versions') : undefined;
    const offset = pageOffset(req.pageToken);
    if (req.pageSize !== undefined && req.pageSize < 0) throw invalidArgument('page_size must not be negative');
    const size = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const { page, more } = repo.versionsPage(
      model.name,
      offset,
      size,
      matches && ((version) => matches({ model, version })),
    );
    return {
      models: page.map((v) => repo.toModel(model, v)),
      nextPageToken: more ? Buffer.from(String(offset + page.length)).toString('base64url') : '',
    };
  }

  function update(req: { model?: Model; updateMask?: { paths?: string[] } }) {
    if (!req.model) throw invalidArgument('model is required');
    const paths = (req.updateMask?.paths ?? []).map(snakeCase);
    if (paths.length === 0) throw invalidArgument('update_mask is required and must list the fields to update');
    for (const p of paths) {
      if (p === 'version_aliases') {
        throw invalidArgument('version_aliases cannot be updated with UpdateModel; use MergeVersionAliases');
      }
      if (!MODEL_PATHS.includes(p) && !VERSION_PATHS.includes(p)) {
        throw invalidArgument(
          `update_mask path "${p}" cannot be updated; updatable: ${[...MODEL_PATHS, ...VERSION_PATHS].join(', ')}`,
        );
      }
    }
    const input = req.model;
    if (paths.includes('display_name')) validateDisplayName(input.displayName, 'model.display_name');
    if (paths.includes('labels')) validateLabels(input.labels, 'model.labels');
    return store.tx(() => {
      // Without @version (or with @-) the version-level fields go to the default version.
      const { ref, model, version } = repo.resolve(input.name, 'model.name');
      // model.proto, etag: "Used to perform consistent read-modify-write updates. If not set, a
      // blind "overwrite" update happens." A stale etag means the resource changed since it was
      // read: ABORTED, as Google APIs answer a failed etag check on update (AIP-154).
      const current = etagOf(version);
      if (input.etag && input.etag !== current) {
        throw aborted(
          `model.etag does not match the current etag of ${ref.model}@${version.versionId}: it changed since it was read; read it again and retry`,
        );
      }
      const now = timestamp();
      if (paths.includes('display_name')) model.displayName = input.displayName;
      if (paths.includes('description')) model.description = input.description;
      if (paths.includes('labels')) version.labels = input.labels ?? {};
      if (paths.includes('version_description')) version.versionDescription = input.versionDescription;
      if (paths.some((p) => VERSION_PATHS.includes(p))) version.versionUpdateTime = now;
      model.updateTime = now;
      repo.putModel(model);
      repo.putVersion(ref.model, version);
      // Model-level fields show on every version: each of them changed.
      if (paths.some((p) => MODEL_PATHS.includes(p))) {
        for (const v of repo.versions(ref.model)) if (v.versionId !== version.versionId) repo.putVersion(ref.model, v);
      }
      return repo.toModel(model, version);
    });
  }

  function mergeAliases(req: { name: string; versionAliases?: string[] }) {
    const ref = parseModelName(req.name, 'name');
    if (ref.version === undefined || ref.version === '-') {
      throw invalidArgument(`name "${req.name}" must name a version: {model}@{version_id}`);
    }
    const entries = req.versionAliases ?? [];
    if (entries.length === 0) throw invalidArgument('version_aliases is required');
    const add = new Set<string>();
    const remove = new Set<string>();
    for (const entry of entries) {
      const alias = entry.startsWith('-') ? entry.slice(1) : entry;
      validateAlias(alias, 'version_aliases');
      (entry.startsWith('-') ? remove : add).add(alias);
    }
    for (const a of add) {
      if (remove.has(a)) throw invalidArgument(`version_aliases both adds and removes "${a}"; send one or the other`);
    }
    if (remove.has(DEFAULT_ALIAS)) {
      throw invalidArgument(
        `the "${DEFAULT_ALIAS}" alias cannot be removed; add it to another version to move it there`,
      );
    }
    return store.tx(() => {
      const model = repo.model(ref.model);
      const version = repo.version(ref.model, ref.version);
      const now = timestamp();
      repo.takeAliases(ref.model, [...add], version.versionId, now);
      version.versionAliases = [
        ...version.versionAliases.filter((a) => !remove.has(a)),
        ...[...add].filter((a) => !version.versionAliases.includes(a)),
      ];
      version.versionUpdateTime = now;
      model.updateTime = now;
      repo.putModel(model);
      repo.putVersion(ref.model, version);
      return repo.toModel(model, version);
    });
  }

  function deleteModel(req: { name: string }) {
    const ref = parseModelName(req.name, 'name');
    if (ref.version !== undefined) throw invalidArgument(`name "${req.name}" names a version; use DeleteModelVersion`);
    store.tx(() => {
      repo.model(ref.model);
      const versions = repo.versions(ref.model);
      const deployed = versions.find((v) => v.deployedModels.length > 0);
      if (deployed) throw failedPrecondition(deployedMessage(ref.model, deployed));
      for (const v of versions) repo.deleteVersion(ref.model, v.versionId);
      store.delete(MODEL_KIND, ref.model);
    });
    return operations.completed(ref.model, 'DeleteOperationMetadata', 'google.protobuf.Empty', {});
  }

  function deleteVersion(req: { name: string }) {
    const ref = parseModelName(req.name, 'name');
    if (ref.version === undefined || ref.version === '-') {
      throw invalidArgument(`name "${req.name}" must name a version: {model}@{version_id|alias}`);
    }
    store.tx(() => {
      const model = repo.model(ref.model);
      const version = repo.version(ref.model, ref.version);
      if (version.deployedModels.length > 0) throw failedPrecondition(deployedMessage(ref.model, version));
      if (repo.countVersions(ref.model) === 1) {
        throw failedPrecondition(
          `version ${version.versionId} is the only version of ${ref.model}; use DeleteModel to delete the model`,
        );
      }
      if (version.versionAliases.includes(DEFAULT_ALIAS)) {
        throw failedPrecondition(
          `version ${version.versionId} of ${ref.model} holds the "${DEFAULT_ALIAS}" alias; move the default alias to another version first (MergeVersionAliases)`,
        );
      }
      repo.deleteVersion(ref.model, version.versionId);
      model.updateTime = timestamp();
      repo.putModel(model);
    });
    return operations.completed(ref.model, 'DeleteOperationMetadata', 'google.protobuf.Empty', {});
  }

  function importEvaluation(req: { parent: string; modelEvaluation?: Record<string, unknown> }) {
    if (!req.modelEvaluation) throw invalidArgument('model_evaluation is required');
    const { name: _n, createTime: _c, ...fields } = req.modelEvaluation;
    return store.tx(() => {
      const { ref, version } = repo.resolve(req.parent, 'parent');
      const doc: EvaluationDoc = {
        ...fields,
        name: `${ref.model}/evaluations/${store.next('model_evaluation.id')}`,
        createTime: timestamp(),
      };
      store.put(EVALUATION_KIND, doc.name, doc, versionName(ref.model, version.versionId));
      return doc;
    });
  }

  return {
    UploadModel: upload,
    GetModel: (req: { name: string }) => {
      const { model, version } = repo.resolve(req.name, 'name');
      return repo.toModel(model, version);
    },
    ListModels: (req: { parent: string; filter?: string; orderBy?: string; pageSize?: number; pageToken?: string }) => {
      const location = locationOf(req.parent, 'parent');
      if (location !== req.parent)
        throw invalidArgument(`parent "${req.parent}" must be projects/{project}/locations/{location}`);
      const candidates = store.list<ModelDoc>(MODEL_KIND, location).map(({ doc }) => ({
        model: doc,
        version: repo.version(doc.name, undefined),
      }));
      return listPage(candidates, req, 'models');
    },
    // Versions come in version order (1, 2, 3...), as Vertex lists them, unless order_by says otherwise.
    ListModelVersions: (req: {
      name: string;
      filter?: string;
      orderBy?: string;
      pageSize?: number;
      pageToken?: string;
    }) => {
      const ref = parseModelName(req.name, 'name');
      const model = repo.model(ref.model);
      if (!req.orderBy) return versionsPage(model, req);
      return listPage(
        repo.versions(ref.model).map((version) => ({ model, version })),
        req,
        'versions',
      );
    },
    UpdateModel: update,
    MergeVersionAliases: mergeAliases,
    DeleteModel: deleteModel,
    DeleteModelVersion: deleteVersion,
    ImportModelEvaluation: importEvaluation,
    GetModelEvaluation: (req: { name: string }) => {
      const doc = store.get<EvaluationDoc>(EVALUATION_KIND, req.name ?? '');
      if (!doc) {
        if (!/^projects\/[^/]+\/locations\/[^/]+\/models\/[^/@]+\/evaluations\/[^/]+$/.test(req.name ?? '')) {
          throw invalidArgument(
            `name "${req.name ?? ''}" must look like projects/{p}/locations/{l}/models/{model}/evaluations/{id}`,
          );
        }
        throw notFound(`ModelEvaluation ${req.name} does not exist`);
      }
      return doc;
    },
    // Newest first, so "the latest evaluation named X" is the first match (the registry's rule).
    ListModelEvaluations: (req: { parent: string; filter?: string; pageSize?: number; pageToken?: string }) => {
      const { ref, version } = repo.resolve(req.parent, 'parent');
      const matches = compileFilter<EvaluationDoc>(req.filter, {
        fields: { display_name: 'string' },
        resolve: (e) => e.displayName,
      });
      const all = repo.evaluations(ref.model, version.versionId).filter(matches).reverse();
      const { page, nextPageToken } = paginate(all, req.pageSize, req.pageToken);
      return { modelEvaluations: page, nextPageToken };
    },
  };
}
