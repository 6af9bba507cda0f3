// ModelRegistry: semver-versioned models with stages and metrics, stored in Vertex AI's Model
// Registry itself (see naming.ts for the mapping), so other Vertex tools see the same state.
//
// Invariants, kept under concurrent calls, crashes between steps and transient failures:
// - one version per (model, semver): the version alias is unique per model and UploadModel refuses
//   an alias another version holds, so of concurrent uploads one creates; an upload that fails
//   ambiguously (or loses a race) reads the state again and converges to the existing version when
//   it is the same upload;
// - at most one production (and one staging) version: the `production` / `staging` aliases say
//   which, and Vertex moves an alias atomically (MergeVersionAliases);
// - the stage a version shows is the one its aliases say (consistency.ts): promotion moves the
//   aliases first, in one call, then reconciles the `stage` labels with etag-guarded writes; a
//   retry (or check_model) completes an interrupted promotion;
// - the metrics a version shows are its newest `performance` / `cost` evaluations: a copy in the
//   version description (naming.ts, MetricsMirror) lets one GetModel return them, and is trusted
//   only when no metric write is in flight (see writeMetrics).
import { createHash, randomUUID } from 'node:crypto';
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import type { VertexClients } from '../clients.js';
import { callVertex, invalid, notFound, precondition, toVertexMcpError, VertexMcpError } from '../errors.js';
import { compareMetrics, type MetricComparison, verdict } from './compare.js';
import { findIssues, holdsBothStages, type StageTarget, versionOf, wantedLabels, wantedStage } from './consistency.js';
import {
  ALIASED_STAGES,
  buildLabels,
  checkModelName,
  checkVersion,
  clip,
  type DescriptionDoc,
  decodeDescription,
  encodeDescription,
  encodeVersion,
  labelFilter,
  legacyVersionAlias,
  MANAGED_LABEL,
  type MetricsMirror,
  mirroredMetrics,
  ownsDescription,
  type Stage,
  stageFromLabels,
  stageOf,
  tagsFromLabels,
} from './naming.js';
import {
  Metrics as MetricsSchema,
  type ModelMetadata,
  ModelMetadataSchema,
  type ModelVersionRecord,
  type ModelVersionSummary,
  type RegistryIssue,
  type ServingRef,
} from './types.js';

type IModel = google.cloud.aiplatform.v1.IModel;
type IModelEvaluation = google.cloud.aiplatform.v1.IModelEvaluation;
type Metrics = { performance: Record<string, number>; cost: Record<string, number> };

const EVAL_SCHEMA = 'gs://google-cloud-aiplatform/schema/modelevaluation/general_evaluation_metrics_1.0.0.yaml';
const STAGE_ORDER: Record<Stage, number> = { development: 0, staging: 1, production: 2, archived: -1 };
/** Failures after which the state must be read again to know whether a write happened. */
const TRANSIENT = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED']);
const UPLOAD_ATTEMPTS = 4;
const LABEL_ATTEMPTS = 6;
/**
 * A metric write's `pending` entry older than this is taken for one that died half-way and dropped
 * by the next writer (a write takes seconds: a handful of RPCs, each retried within 15 s).
 */
const PENDING_LEASE_MS = 5 * 60_000;
/** Metrics whose JSON exceeds this are not mirrored (readers list the evaluations instead). */
const MIRROR_MAX_CHARS = 8_000;

/** list_models pages: versions per page by default and at most, and a byte budget per page. */
export const LIST_PAGE = {
  default_size: 40,
  max_size: 50,
  /** Summaries (JSON) plus one text line each, so an MCP answer stays under 16 KB with its envelope. */
  max_bytes: 12_000,
} as const;
/** Page sizes asked of Vertex: models per ListModels page; versions per page when the stage is filtered here. */
const MODELS_PAGE = 100;
const STAGE_SCAN_PAGE = 200;
/** The old whole-list calls read pages this large (Vertex's list maximum). */
const FULL_LIST_PAGE = 1000;

export interface ListModelsQuery {
  name?: string;
  stage?: Stage;
  source?: string;
  tags?: string[];
}

export interface ListModelsPageQuery extends ListModelsQuery {
  /** next_page_token of the previous page of the same query; omitted: the first page. */
  page_token?: string;
  /** Versions per page: default 40, at most 50 (a page also stops at LIST_PAGE.max_bytes). */
  page_size?: number;
}

export interface ModelVersionPage {
  versions: ModelVersionSummary[];
  /** Present exactly when more versions match: pass it as page_token for the next page. */
  next_page_token: string | null;
}

/** Where a version walk stands: the version a page starts at (see listModelsPage). */
interface Cursor {
  /** The ListModels page token of the page holding the model ('' = the first page). */
  mt: string;
  /** The model's index in that page, and its ID (checked on resume). */
  mi: number;
  m: string;
  /**
   * The ListModelVersions page token of the page holding the version, the page size it was read
   * with (so a later call with another page_size reads the same page), and the version's index there.
   */
  vt: string;
  vs: number;
  vi: number;
}

export interface PromotionGate {
  /** Metric that must meet `min` (higher is better) or `max` (lower is better). */
  metric?: string;
  min?: number;
  max?: number;
  /** Require the candidate to beat the current production version (compareVersions verdict). */
  beat_production?: boolean;
}

export interface PromoteOptions {
  target_stage?: Stage;
  /** Allows skipping a stage; never bypasses a gate. */
  force?: boolean;
  gate?: PromotionGate;
  /** The A/B test the promotion rests on: kept as the version's `ab-test` label. */
  evidence?: { ab_test: string };
}

export interface PromoteResult {
  name: string;
  version: string;
  from_stage: Stage;
  to_stage: Stage;
  /** The stage the version is in when the call returns (a concurrent promotion may have moved it on). */
  stage_now: Stage | null;
  /** The version that holds `to_stage`'s alias now, when it is not this one. */
  superseded_by: string | null;
  previous_production: { version: string | null; now: 'archived'; serving: ServingRef[] } | null;
  /** Stage labels brought in line with the aliases on the way (this and other versions). */
  labels_fixed: string[];
  gate: { metric: string | null; value: number | null; passed: boolean; reason: string } | null;
}

export interface CheckResult {
  name: string;
  versions: number;
  dry_run: boolean;
  issues: RegistryIssue[];
}

export interface DeletePlan {
  action: 'delete_version' | 'delete_model';
  name: string;
  versions: string[];
  /** When deleting the version holding Vertex's "default" alias, the version that takes it over. */
  default_moves_to: string | null;
  deployed: { version: string | null; endpoint: string }[];
}

/** The A/B and live evidence for a pair of versions (set by createLibrary; see experiments/evidence.ts). */
export type EvidenceSource = (
  name: string,
  a: string,
  b: string,
) => Promise<{
  ab: { test: string; state: string; verdict: string; sentence: string; winner: 'a' | 'b' | 'tie' | 'unknown' } | null;
  live: { endpoint: string; window_seconds: number; rows: MetricComparison[] } | null;
}>;

const backoff = (attempt: number) =>
  new Promise((r) => setTimeout(r, 50 * 2 ** Math.min(attempt, 5) * (0.5 + Math.random())));

export class ModelRegistry {
  evidence?: EvidenceSource;

  constructor(private readonly clients: VertexClients) {}

  /** Names are checked against the model ID rule; all-digit IDs are Vertex-generated ones (tuned models). */
  private modelPath(name: string): string {
    if (!/^\d{1,19}$/.test(name)) checkModelName(name);
    return `${this.clients.parent}/models/${name}`;
  }

  /** Raw Vertex model (one version), or null when it does not exist. */
  private async fetch(path: string): Promise<IModel | null> {
    const client = await this.clients.models();
    try {
      const [m] = await callVertex('get model', () => client.getModel({ name: path }), { idempotent: true });
      return m;
    } catch (err) {
      if (err instanceof VertexMcpError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
  }

  /** A version by its semver alias (or the alias older releases gave a pre-release), or null. */
  private async findVersion(name: string, version: string): Promise<IModel | null> {
    const v = checkVersion(version);
    const found = await this.fetch(`${this.modelPath(name)}@${encodeVersion(v)}`);
    if (found) return found;
    const legacy = legacyVersionAlias(v);
    if (!legacy) return null;
    const old = await this.fetch(`${this.modelPath(name)}@${legacy}`);
    return old && versionOf(old) === v ? old : null;
  }

  private async require(name: string, version?: string): Promise<IModel> {
    const m = version ? await this.findVersion(name, version) : await this.fetch(this.modelPath(name));
    if (m) return m;
    if (version && (await this.fetch(this.modelPath(name)))) {
      const known = (await this.listVersions(name)).map((v) => v.version ?? `id ${v.version_id}`);
      throw notFound(`model "${name}" has no version ${clip(version)}`, `Known versions: ${known.join(', ')}`);
    }
    throw notFound(`model "${clip(name)}" not found`, 'List models with list_models, or upload it with upload_model');
  }

  /** Every version of one model, raw, oldest first (in pages of FULL_LIST_PAGE). */
  private async rawVersions(name: string, filter?: string): Promise<IModel[]> {
    const out: IModel[] = [];
    let token = '';
    do {
      const page = await this.versionsPage(name, filter, token, FULL_LIST_PAGE, false);
      out.push(...page.versions);
      token = page.next;
    } while (token);
    return out;
  }

  /**
   * Uploads a version. Idempotent: when the version exists already (a retry after an ambiguous
   * failure, or a concurrent call that won), the same upload (artifact, container, base model,
   * description, provenance) returns it with `created: false` and records metrics it lacks; a
   * different one is ALREADY_EXISTS. `provenance` records where a tuned version came from.
   */
  async uploadModel(
    input: ModelMetadata,
    provenance: { tuning_job?: string; dataset?: string } = {},
  ): Promise<ModelVersionRecord & { created: boolean }> {
    const meta = ModelMetadataSchema.parse(input);
    checkModelName(meta.name); // new versions need a real name, not a generated ID
    const version = checkVersion(meta.version);
    const modelPath = this.modelPath(meta.name);
    const labels = buildLabels(meta.deployment_stage, meta.source, meta.tags);
    const stageAlias = ALIASED_STAGES.has(meta.deployment_stage) ? meta.deployment_stage : null;
    const wanted = {
      artifact_uri: meta.artifact_uri ?? null,
      serving_container_uri: meta.serving_container_uri,
      base_model: meta.base_model ?? null,
      description: meta.description ?? null,
      tuning_job: provenance.tuning_job ?? null,
      dataset: provenance.dataset ?? null,
    };
    const client = await this.clients.models();
    // The version's first description carries the metrics mirror: empty and trusted when no
    // metrics are given (one read returns the version whole from the start), else marked pending
    // until the evaluations are imported (writeMetrics), by an entry this call (and its retries) owns.
    const token = pendingToken();
    const hasMetrics =
      Object.keys(meta.performance_metrics ?? {}).length > 0 || Object.keys(meta.cost_metrics ?? {}).length > 0;
    const mirror: MetricsMirror = { performance: {}, cost: {}, ...(hasMetrics ? { pending: [token] } : {}) };
    let versionId = '';
    let created = false;
    let found: IModel | null = null;
    for (let attempt = 1; !versionId; attempt++) {
      const existing = await this.fetch(modelPath);
      if (existing) {
        const same = await this.findVersion(meta.name, version);
        if (same) {
          this.assertSameUpload(meta.name, version, same, wanted);
          versionId = String(same.versionId);
          found = same;
          break;
        }
        const holder = stageAlias && (await this.fetch(`${modelPath}@${stageAlias}`));
        if (holder) {
          throw precondition(
            `model "${meta.name}" already has a ${stageAlias} version (${versionOf(holder) ?? `id ${holder.versionId}`})`,
            `Upload as development, then promote_model it to ${stageAlias} (promotion moves the ${stageAlias} alias)`,
          );
        }
      }
      const model: IModel = {
        displayName: meta.name,
        versionAliases: [
          encodeVersion(version),
          ...(stageAlias ? [stageAlias] : []),
          ...(stageAlias === 'production' && existing ? ['default'] : []), // unversioned reads follow production
        ],
        labels,
        versionDescription: encodeDescription({
          version,
          base_model: meta.base_model,
          description: meta.description,
          ...provenance,
          metrics: mirror,
        }),
        containerSpec: { imageUri: meta.serving_container_uri },
        ...(meta.artifact_uri ? { artifactUri: meta.artifact_uri } : {}),
      };
      try {
        const [op] = await callVertex(
          'upload model',
          () =>
            client.uploadModel(
              existing
                ? { parent: this.clients.parent, parentModel: modelPath, model }
                : { parent: this.clients.parent, modelId: meta.name, model },
            ),
          { idempotent: false },
        );
        const [res] = await callVertex('upload model', () => op.promise(), { idempotent: false });
        versionId = String(res.modelVersionId);
        created = true;
      } catch (err) {
        // ALREADY_EXISTS (the model or an alias was taken meanwhile) or a transient failure after
        // which the upload may or may not have happened: the next round reads the state again.
        const e = toVertexMcpError(err);
        if (attempt >= UPLOAD_ATTEMPTS || !(e.code === 'ALREADY_EXISTS' || TRANSIENT.has(e.code))) throw e;
        if (TRANSIENT.has(e.code)) await backoff(attempt);
      }
    }
    // Created here: the version is as uploaded (its description holds this call's entry when metrics
    // are given); found: as read, and only the kinds it lacks are recorded.
    const m: IModel = found ?? {
      name: modelPath,
      versionId,
      versionDescription: encodeDescription({ version, metrics: mirror }),
    };
    let written: IModel | null;
    try {
      written =
        found || hasMetrics
          ? await this.writeMetrics(m, meta.performance_metrics, meta.cost_metrics, { onlyMissing: !created, token })
          : null;
    } catch (err) {
      const e = toVertexMcpError(err);
      throw new VertexMcpError(
        e.code,
        `${meta.name} ${version} is registered (version id ${versionId}) but its metrics were not recorded: ${e.message}`,
        'Call upload_model again with the same arguments (it converges on this version and records the metrics), or use update_model_metrics',
      );
    }
    const record =
      written?.etag && written.versionAliases
        ? this.toRecord(written, await this.metricsFor(written))
        : await this.getModel(meta.name, version);
    return { ...record, created };
  }

  private assertSameUpload(
    name: string,
    version: string,
    m: IModel,
    wanted: Record<'artifact_uri' | 'serving_container_uri' | 'base_model' | 'description', string | null> &
      Record<'tuning_job' | 'dataset', string | null>,
  ): void {
    const doc = decodeDescription(m.versionDescription);
    const has: Record<keyof typeof wanted, string | null> = {
      artifact_uri: m.artifactUri || null,
      serving_container_uri: m.containerSpec?.imageUri || null,
      base_model: doc.base_model ?? null,
      description: doc.description ?? null,
      tuning_job: doc.tuning_job ?? null,
      dataset: doc.dataset ?? null,
    };
    const differ = (Object.keys(wanted) as (keyof typeof wanted)[]).filter((k) => has[k] !== wanted[k]);
    if (differ.length) {
      throw new VertexMcpError(
        'ALREADY_EXISTS',
        `model "${name}" already has version ${version} (version id ${m.versionId}) with a different ${differ.join(', ')}`,
        'Versions are immutable: upload a higher version number, or update its metrics with update_model_metrics',
      );
    }
  }

  /**
   * One version with its latest metrics: one GetModel (by the version's alias) when the version
   * carries the metrics mirror; versions without one (older releases) or with a metric write in
   * flight also list their evaluations.
   */
  async getModel(name: string, version?: string): Promise<ModelVersionRecord> {
    const m = version
      ? ((await this.fetch(`${this.modelPath(name)}@${encodeVersion(checkVersion(version))}`)) ??
        (await this.require(name, version))) // a legacy alias, or the helpful NOT_FOUND
      : await this.require(name);
    return this.toRecord(m, await this.metricsFor(m));
  }

  /** Every version of one model, oldest first. */
  async listVersions(name: string, filter?: string): Promise<ModelVersionSummary[]> {
    return (await this.rawVersions(name, filter)).map((m) => this.toSummary(m));
  }

  /**
   * Versions across models, filtered by stage, source and tags (all given tags must match).
   * Source and tags go into a label filter (validated against the label rules first, so nothing
   * is quoted); the stage is the aliases' (production/staging) or the label's, so it is applied here.
   */
  async listModels(q: ListModelsQuery = {}): Promise<ModelVersionSummary[]> {
    const filter = labelFilter(q);
    let versions: ModelVersionSummary[];
    if (q.name) versions = await this.listVersions(q.name, filter);
    else {
      const names: string[] = [];
      let token = '';
      do {
        const page = await this.modelsPage(token, FULL_LIST_PAGE);
        names.push(...page.ids);
        token = page.next;
      } while (token);
      versions = (await Promise.all(names.map((n) => this.listVersions(n, filter)))).flat();
    }
    return q.stage ? versions.filter((v) => v.deployment_stage === q.stage) : versions;
  }

  /**
   * One page of listModels: the same versions in the same order (models in Vertex's order, each
   * model's versions oldest first), at most `page_size` (default 40, at most 50) and at most
   * LIST_PAGE.max_bytes of summaries and text lines, so an MCP answer stays under 16 KB however
   * many versions there are and however many tags they carry (a page holds at least one version).
   *
   * `next_page_token` is present exactly when more matching versions exist: after filling a page
   * the walk reads on to the next match (the stage is filtered here, so a filtered walk never
   * answers an empty page with a token, nor a token with nothing behind it). The token is opaque:
   * base64url JSON of the query's hash and the position of that next version (the Vertex
   * ListModels page token and the model's index and ID, the ListModelVersions page token, the
   * page size it was read with and the version's index). The same token gives the same page while the registry does not change; it
   * is refused (INVALID_ARGUMENT) with other filters. Each page costs one ListModelVersions per
   * Vertex page read (plus one ListModels when no name is given).
   */
  async listModelsPage(q: ListModelsPageQuery = {}): Promise<ModelVersionPage> {
    const filter = labelFilter(q);
    if (q.name) this.modelPath(q.name); // the name rule, before any call
    const size = pageSize(q.page_size);
    const key = queryKey(q);
    const start = q.page_token ? decodeCursor(q.page_token, key) : null;
    const versionsPage = q.stage ? STAGE_SCAN_PAGE : size;
    let vs = start?.vs ?? versionsPage; // the resumed page is read as it was first read
    const out: ModelVersionSummary[] = [];
    let bytes = 0;
    let next: Cursor | null = null;
    let mt = start?.mt ?? '';
    let mi = start?.mi ?? 0;
    let vt = start?.vt ?? '';
    let vi = start?.vi ?? 0;
    let models = q.name ? { ids: [q.name], next: '' } : await this.modelsPage(mt);
    if (start && models.ids[mi] !== start.m) {
      // The models page changed since the token was made: find the model again, or (deleted)
      // go on with the model now at its place.
      const at = models.ids.indexOf(start.m);
      if (at >= 0) mi = at;
      else {
        vt = '';
        vi = 0;
        vs = versionsPage;
      }
    }
    walk: for (;;) {
      for (; mi < models.ids.length; mi++) {
        const id = models.ids[mi]!;
        for (;;) {
          const page = await this.versionsPage(id, filter, vt, vs, !q.name);
          for (; vi < page.versions.length; vi++) {
            const s = this.toSummary(page.versions[vi]!);
            if (q.stage && s.deployment_stage !== q.stage) continue;
            const cost = summaryBytes(s);
            if (out.length >= size || (out.length > 0 && bytes + cost > LIST_PAGE.max_bytes)) {
              next = { mt, mi, m: id, vt, vs, vi };
              break walk;
            }
            out.push(s);
            bytes += cost;
          }
          if (!page.next) break;
          vt = page.next;
          vi = 0;
          vs = versionsPage;
          if (!q.stage && out.length >= size) {
            // Without a stage filter every version Vertex lists matches: its next page token says
            // more exist, and the next call reads that page.
            next = { mt, mi, m: id, vt, vs, vi };
            break walk;
          }
        }
        vt = '';
        vi = 0;
        vs = versionsPage;
      }
      if (!models.next) break;
      mt = models.next;
      mi = 0;
      models = await this.modelsPage(mt);
    }
    return { versions: out, next_page_token: next ? encodeCursor(key, next) : null };
  }

  /** One ListModels page: the model IDs and the next page token ('' at the end). */
  private async modelsPage(pageToken: string, size = MODELS_PAGE): Promise<{ ids: string[]; next: string }> {
    const client = await this.clients.models();
    const [models, , res] = await callVertex(
      'list models',
      () =>
        client.listModels(
          { parent: this.clients.parent, pageSize: size, ...(pageToken ? { pageToken } : {}) },
          { autoPaginate: false },
        ),
      { idempotent: true },
    );
    return {
      ids: models.filter((m) => !isTuningOutput(m)).map((m) => String(m.name).split('/').pop()!),
      next: res?.nextPageToken ?? '',
    };
  }

  /** One ListModelVersions page; a model deleted meanwhile reads as empty when `missingOk`. */
  private async versionsPage(
    name: string,
    filter: string | undefined,
    pageToken: string,
    size: number,
    missingOk: boolean,
  ): Promise<{ versions: IModel[]; next: string }> {
    const client = await this.clients.models();
    try {
      const [versions, , res] = await callVertex(
        'list model versions',
        () =>
          client.listModelVersions(
            {
              name: this.modelPath(name),
              pageSize: size,
              ...(filter ? { filter } : {}),
              ...(pageToken ? { pageToken } : {}),
            },
            { autoPaginate: false },
          ),
        { idempotent: true },
      );
      return { versions, next: res?.nextPageToken ?? '' };
    } catch (err) {
      if (missingOk && err instanceof VertexMcpError && err.code === 'NOT_FOUND') return { versions: [], next: '' };
      throw err;
    }
  }

  async updateMetrics(
    name: string,
    version: string,
    metrics: { performance_metrics?: Record<string, number>; cost_metrics?: Record<string, number> },
  ): Promise<ModelVersionRecord> {
    if (!metrics.performance_metrics && !metrics.cost_metrics) {
      throw invalid('no metrics given', 'Pass performance_metrics and/or cost_metrics as {"name": number}');
    }
    // The rules upload_model applies (names, count, finite numbers).
    const performance = metrics.performance_metrics && MetricsSchema.parse(metrics.performance_metrics);
    const cost = metrics.cost_metrics && MetricsSchema.parse(metrics.cost_metrics);
    const m = await this.require(name, version);
    const current = await this.metricsFor(m);
    // One evaluation per update, holding the merged values, so the newest evaluation is complete
    // (and a retry after an ambiguous failure writes the same values again: newest wins).
    const updated = await this.writeMetrics(
      m,
      performance && { ...current.performance, ...performance },
      cost && { ...current.cost, ...cost },
    );
    return updated ? this.toRecord(updated, await this.metricsFor(updated)) : this.getModel(name, version);
  }
  /**
   * Compares two versions on the best evidence there is: an A/B test of the pair decides when one
   * exists; otherwise recorded metrics (offline: no sample size, no uncertainty) and live numbers
   * from the versions serving side by side, which count only when their difference is significant.
   */
  async compareVersions(name: string, versionA: string, versionB: string) {
    const [a, b, ev] = await Promise.all([
      this.getModel(name, versionA),
      this.getModel(name, versionB),
      this.evidence ? this.evidence(name, versionA, versionB) : Promise.resolve(null),
    ]);
    const rows: MetricComparison[] = [
      ...compareMetrics(
        { ...a.performance_metrics, ...a.cost_metrics },
        { ...b.performance_metrics, ...b.cost_metrics },
      ),
      ...(ev?.live?.rows ?? []),
    ];
    const live_from = ev?.live ? { endpoint: ev.live.endpoint, window_seconds: ev.live.window_seconds } : null;
    const ab = ev?.ab ?? null;
    if (ab && ab.winner !== 'unknown') {
      return {
        name,
        a: versionA,
        b: versionB,
        metrics: rows,
        basis: 'ab_test' as const,
        ab_test: ab,
        live_from,
        winner: ab.winner,
        recommendation: `A/B test ${ab.test} (${ab.state}): ${ab.sentence}`,
      };
    }
    const v = verdict(versionA, versionB, rows);
    const running = ab ? ` A/B test ${ab.test} is still running (${ab.verdict}): ${ab.sentence}` : '';
    return {
      name,
      a: versionA,
      b: versionB,
      metrics: rows,
      basis: 'offline' as const,
      ab_test: ab,
      live_from,
      winner: v.winner,
      recommendation: `Offline comparison (recorded metrics carry no sample size or uncertainty; live differences count only when significant at 95%): ${v.recommendation}.${running}`,
    };
  }

  /**
   * Moves a version to `target_stage` (default: the next stage). The aliases move first, in one
   * MergeVersionAliases call (production also takes `default`, so unversioned reads follow it);
   * then the stage labels of every version are reconciled from the aliases. A call that finds the
   * aliases already moved (a retry after a crash or a failure between the steps) completes the
   * labels instead of answering "already there".
   */
  async promoteModel(name: string, version: string, opts: PromoteOptions = {}): Promise<PromoteResult> {
    const m = await this.require(name, version);
    const from = stageOf(m.versionAliases, m.labels) ?? 'development';
    const to = opts.target_stage ?? nextStage(from);
    const target: StageTarget = {
      versionId: String(m.versionId),
      stage: to,
      ...(opts.evidence ? { extra: { 'ab-test': opts.evidence.ab_test } } : {}),
    };
    const base = { name, version, from_stage: from, to_stage: to, previous_production: null, gate: null };
    if (to === from) {
      const fixed = await this.reconcile(name, target);
      if (fixed.length === 0) {
        throw precondition(
          `${name} ${version} is already in ${from}`,
          'Nothing to do; check_model reports any inconsistency left in the registry',
        );
      }
      return { ...base, ...(await this.outcome(name, m, to)), labels_fixed: fixed };
    }
    const forward = STAGE_ORDER[to] > STAGE_ORDER[from];
    const oneStep = from === 'archived' ? to !== 'production' : STAGE_ORDER[to] - STAGE_ORDER[from] === 1;
    if (forward && !oneStep && !opts.force) {
      throw precondition(
        `promotion from ${from} to ${to} skips a stage`,
        `Promote one stage at a time (${from} -> ${nextStage(from)}), or pass force: true to skip stages (force never bypasses a gate)`,
      );
    }
    const prod = to === 'production' ? await this.fetch(`${this.modelPath(name)}@production`) : null;
    const previous = prod && prod.versionId !== m.versionId ? prod : null;
    const gate = to === 'production' && opts.gate ? await this.checkGate(name, version, m, prod, opts.gate) : null;
    const serving = previous ? await this.servingOf(previous) : [];

    const held = (m.versionAliases ?? []).filter((a) => a === 'production' || a === 'staging');
    const aliasChanges = [
      ...(ALIASED_STAGES.has(to) ? [to] : []),
      ...(to === 'production' ? ['default'] : []),
      ...held.filter((a) => a !== to).map((a) => `-${a}`),
    ];
    if (aliasChanges.length) {
      const client = await this.clients.models();
      // Retried on transient failures: merging the same aliases again is a no-op.
      await callVertex(
        'move version aliases',
        () => client.mergeVersionAliases({ name: this.versionName(m), versionAliases: aliasChanges }),
        { idempotent: true },
      );
    }
    let fixed: string[];
    try {
      fixed = await this.reconcile(name, target);
    } catch (err) {
      const e = toVertexMcpError(err);
      throw new VertexMcpError(
        e.code,
        `${name} ${version} moved to ${to} (its aliases say so) but the stage labels were not all updated: ${e.message}`,
        'Call promote_model again (it completes the promotion), or check_model with dry_run: false',
      );
    }
    return {
      ...base,
      ...(await this.outcome(name, m, to)),
      previous_production: previous ? { version: versionOf(previous), now: 'archived' as const, serving } : null,
      labels_fixed: fixed,
      gate,
    };
  }

  /** Where the promoted version ended up, and who holds the stage's alias when it is not it. */
  private async outcome(name: string, m: IModel, to: Stage) {
    const now = await this.fetch(this.versionName(m));
    const stage_now = now ? stageOf(now.versionAliases, now.labels) : null;
    let superseded_by: string | null = null;
    if (stage_now !== to && ALIASED_STAGES.has(to)) {
      const holder = await this.fetch(`${this.modelPath(name)}@${to}`);
      superseded_by = holder ? (versionOf(holder) ?? `id ${holder.versionId}`) : null;
    }
    return { stage_now, superseded_by };
  }

  /** The endpoints a version is deployed to, with the share of traffic each gives it. */
  private async servingOf(m: IModel): Promise<ServingRef[]> {
    const deployed = m.deployedModels ?? [];
    if (deployed.length === 0) return [];
    const client = await this.clients.endpoints();
    const out: ServingRef[] = [];
    for (const d of deployed) {
      const endpoint = String(d.endpoint);
      const e = await callVertex('get endpoint', () => client.getEndpoint({ name: endpoint }), {
        idempotent: true,
      }).then(
        ([x]) => x,
        () => null,
      );
      const pct = Number(e?.trafficSplit?.[String(d.deployedModelId)] ?? 0);
      out.push({ endpoint, deployed_model_id: String(d.deployedModelId), traffic_percentage: pct });
    }
    return out;
  }

  /**
   * Brings every version's stage label in line with the aliases (and the promotion being completed,
   * if any). Each write is a read-modify-write guarded by the version's etag, re-read and retried
   * when another writer got there first (ABORTED). Returns what was changed.
   */
  private async reconcile(name: string, target?: StageTarget): Promise<string[]> {
    let versions = await this.rawVersions(name);
    const crossed = versions.filter(holdsBothStages);
    if (crossed.length) {
      const client = await this.clients.models();
      for (const v of crossed) {
        await callVertex(
          'drop a crossed staging alias',
          () => client.mergeVersionAliases({ name: this.versionName(v), versionAliases: ['-staging'] }),
          { idempotent: true },
        );
      }
      versions = await this.rawVersions(name);
    }
    const results = await Promise.all(
      versions.filter((v) => wantedLabels(v, target)).map((v) => this.fixLabels(this.versionName(v), target)),
    );
    return [
      ...crossed.map((v) => `${versionOf(v) ?? `id ${v.versionId}`}: staging alias dropped (it holds production)`),
      ...results.filter((r): r is string => r !== null),
    ];
  }

  private async fixLabels(versionName: string, target?: StageTarget): Promise<string | null> {
    const client = await this.clients.models();
    let wrote: string | null = null;
    for (let attempt = 1; attempt <= LABEL_ATTEMPTS; attempt++) {
      const m = await this.fetch(versionName);
      if (!m) return null; // deleted meanwhile
      const labels = wantedLabels(m, target);
      if (!labels) return wrote; // right already (possibly by our own write whose answer was lost)
      const what = `${versionOf(m) ?? `id ${m.versionId}`}: stage ${stageFromLabels(m.labels) ?? '(none)'} -> ${labels.stage}`;
      try {
        await client.updateModel({
          model: { name: versionName, labels, etag: m.etag ?? '' },
          updateMask: { paths: ['labels'] },
        });
        return what;
      } catch (err) {
        const e = toVertexMcpError(err, 'update model labels');
        if (e.code !== 'ABORTED' && !TRANSIENT.has(e.code)) throw e;
        if (TRANSIENT.has(e.code)) wrote = what; // it may have been applied
        await backoff(attempt);
      }
    }
    throw new VertexMcpError(
      'ABORTED',
      `the labels of ${versionName} kept changing under concurrent writes (${LABEL_ATTEMPTS} attempts)`,
      'Retry the call',
    );
  }

  /**
   * The repair path: lists what breaks the registry's invariants for one model (stage labels that
   * disagree with the aliases, several production labels, versions without their semver alias,
   * one semver on several versions) and, unless a dry run, fixes the labels.
   */
  async checkModel(name: string, opts: { dry_run?: boolean } = {}): Promise<CheckResult> {
    const dry = opts.dry_run ?? true;
    const versions = await this.rawVersions(name);
    if (versions.length === 0) throw notFound(`model "${clip(name)}" not found`);
    const found = findIssues(versions);
    const labelKinds = new Set(['stage_label', 'duplicate_production_label', 'two_stage_aliases']);
    let fixedIds = new Set<string>();
    if (!dry && found.some((i) => labelKinds.has(i.kind))) {
      await this.reconcile(name);
      fixedIds = new Set(
        (await this.rawVersions(name))
          .filter((v) => !wantedLabels(v) && !holdsBothStages(v))
          .map((v) => String(v.versionId)),
      );
    }
    return {
      name,
      versions: versions.length,
      dry_run: dry,
      issues: found.map((i) => ({ ...i, fixed: labelKinds.has(i.kind) && fixedIds.has(i.version_id) })),
    };
  }

  private async checkGate(name: string, version: string, m: IModel, prod: IModel | null, gate: PromotionGate) {
    const metrics = await this.metricsFor(m);
    const all = { ...metrics.performance, ...metrics.cost };
    const result: { metric: string | null; value: number | null; passed: boolean; reason: string } = {
      metric: gate.metric ?? null,
      value: null,
      passed: true,
      reason: 'no gate conditions',
    };
    const neverBypassed =
      'A gate is never bypassed (force only skips stages): improve the version and record its metrics with update_model_metrics, or A/B test it against production, then promote again';
    if (gate.metric) {
      const value = all[gate.metric];
      if (value === undefined) {
        throw precondition(
          `gate metric "${clip(gate.metric)}" is not recorded on ${name} ${version}`,
          `Recorded: ${Object.keys(all).join(', ') || 'none'}. Record it with update_model_metrics, then promote again`,
        );
      }
      result.value = value;
      if ((gate.min !== undefined && value < gate.min) || (gate.max !== undefined && value > gate.max)) {
        throw precondition(
          `gate failed: ${gate.metric} = ${value}, required ${gate.min !== undefined ? `>= ${gate.min}` : `<= ${gate.max}`}`,
          neverBypassed,
        );
      }
      result.reason = `${gate.metric} = ${value} meets the threshold`;
    }
    if (gate.beat_production) {
      const prodVersion = prod ? versionOf(prod) : null;
      if (!prodVersion) {
        throw precondition(
          `gate beat_production: model "${name}" has no production version to beat`,
          'Drop beat_production for the first production version (or use a metric threshold)',
        );
      }
      const cmp = await this.compareVersions(name, prodVersion, version);
      if (cmp.winner !== 'b') {
        throw precondition(
          `gate failed: ${version} does not beat production ${prodVersion}`,
          `${cmp.recommendation} ${neverBypassed}`,
        );
      }
      result.reason = cmp.recommendation;
    }
    return result;
  }

  /** What deleteModel would do, with the deployments that block it. Changes nothing. */
  async planDelete(name: string, version?: string): Promise<DeletePlan> {
    const versions = await this.rawVersions(name);
    if (versions.length === 0) throw notFound(`model "${name}" not found`);
    const targets = version ? [await this.require(name, version)] : versions;
    const rest = versions.filter((v) => !targets.some((t) => t.versionId === v.versionId));
    const holdsDefault = targets.some((t) => t.versionAliases?.includes('default'));
    const successor =
      holdsDefault && rest.length ? (rest.find((v) => v.versionAliases?.includes('production')) ?? rest.at(-1)!) : null;
    return {
      action: rest.length === 0 ? 'delete_model' : 'delete_version',
      name,
      versions: targets.map((t) => this.toSummary(t).version ?? `id ${t.versionId}`),
      default_moves_to: successor ? (this.toSummary(successor).version ?? `id ${successor.versionId}`) : null,
      deployed: targets.flatMap((t) =>
        (t.deployedModels ?? []).map((d) => ({ version: this.toSummary(t).version, endpoint: String(d.endpoint) })),
      ),
    };
  }

  /** Deletes a version, or the whole model; refused while anything to delete is deployed. */
  async deleteModel(name: string, version?: string): Promise<DeletePlan> {
    const plan = await this.planDelete(name, version);
    if (plan.deployed.length) {
      const where = plan.deployed.map((d) => `${d.version ?? 'a version'} on ${d.endpoint}`).join(', ');
      throw precondition(
        `cannot delete: deployed (${where})`,
        'Undeploy it first with undeploy_model; nothing was deleted',
      );
    }
    const modelPath = this.modelPath(name);
    if (plan.action === 'delete_model') {
      await this.deleteRaw(modelPath, null);
      return plan;
    }
    const client = await this.clients.models();
    if (plan.default_moves_to) {
      // MergeVersionAliases names the version by its ID ("with a version ID explicitly included").
      const successor = plan.default_moves_to.startsWith('id ')
        ? plan.default_moves_to.slice(3)
        : String((await this.require(name, plan.default_moves_to)).versionId);
      await callVertex(
        'move default alias',
        () => client.mergeVersionAliases({ name: `${modelPath}@${successor}`, versionAliases: ['default'] }),
        { idempotent: true },
      );
    }
    const target = await this.require(name, version);
    await this.deleteRaw(modelPath, String(target.versionId));
    return plan;
  }

  private async deleteRaw(modelPath: string, versionId: string | null): Promise<void> {
    const client = await this.clients.models();
    const [op] = await callVertex(
      'delete model',
      () =>
        versionId
          ? client.deleteModelVersion({ name: `${modelPath}@${versionId}` })
          : client.deleteModel({ name: modelPath }),
      { idempotent: false },
    );
    await callVertex('delete model', () => op.promise(), { idempotent: false });
  }

  /**
   * Records metrics on a version: one evaluation per kind given (the record), and the mirror in
   * its description (what one GetModel returns). The protocol keeps every reader consistent with
   * the newest evaluations under concurrent writers, crashes and retries:
   *   1. add this write's `pending` entry to the mirror (etag-guarded read-modify-write), so
   *      readers take the evaluations from now on;
   *   2. import the evaluations (retried on transient failures: the same values again, newest wins);
   *   3. read the version, list its evaluations, and write the mirror from the newest of them
   *      without this write's entry, guarded by the etag of that read (re-read on ABORTED).
   * A concurrent writer's entry is kept by step 3 (its step 1 came before the read, else the etag
   * check fails), so the mirror is trusted again only when every write in flight has finished.
   * A write that dies between steps leaves its entry: readers list the evaluations until the next
   * writer drops it after PENDING_LEASE_MS. `token` lets an upload reuse the entry it put in the
   * version's first description; `onlyMissing` (an upload converging on an existing version)
   * records a kind only when the version has none yet. Returns the version as written last, or
   * null when the mirror could not be written (the evaluations are recorded; readers list them).
   */
  private async writeMetrics(
    m: IModel,
    performance?: Record<string, number>,
    cost?: Record<string, number>,
    opts: { onlyMissing?: boolean; token?: string } = {},
  ): Promise<IModel | null> {
    const versionName = this.versionName(m);
    const token = opts.token ?? pendingToken();
    let kinds: [string, Record<string, number>][] = [];
    if (performance && Object.keys(performance).length) kinds.push(['performance', performance]);
    if (cost && Object.keys(cost).length) kinds.push(['cost', cost]);
    if (opts.onlyMissing && kinds.length) {
      const recorded = await this.evaluationKinds(versionName);
      kinds = kinds.filter(([k]) => !recorded.has(k));
    }
    // A plain-text description another tool wrote is left alone: such a version keeps reading
    // its evaluations.
    const mirrored = ownsDescription(m.versionDescription);
    const doc = decodeDescription(m.versionDescription);
    const ours = doc.metrics?.pending?.includes(token) ?? false;
    // Nothing to import: done, unless this call's own entry is to be cleared or the version has
    // no mirror yet (an older release's version: written now, from its evaluations).
    if (kinds.length === 0 && !ours && (doc.metrics || !mirrored)) return m;
    let base: IModel | undefined = m;
    if (kinds.length && !ours && mirrored) {
      base = await this.editDescription(
        versionName,
        (d) => ({
          ...d,
          metrics: { ...(d.metrics ?? {}), pending: [...new Set([...(d.metrics?.pending ?? []), token])] },
        }),
        m,
      );
    }
    try {
      const client = await this.clients.models();
      for (const [displayName, values] of kinds) {
        const fields = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { numberValue: v }]));
        await callVertex(
          'import model evaluation',
          () =>
            client.importModelEvaluation({
              parent: versionName,
              modelEvaluation: { displayName, metricsSchemaUri: EVAL_SCHEMA, metrics: { structValue: { fields } } },
            }),
          { idempotent: true },
        );
      }
    } catch (err) {
      if (mirrored) await this.refreshMirror(versionName, token, base).catch(() => null); // clear the entry; best effort
      throw err;
    }
    return mirrored ? this.refreshMirror(versionName, token, base).catch(() => null) : null;
  }

  /** Step 3 of writeMetrics: the mirror from the evaluations, without `token`'s entry. */
  private refreshMirror(versionName: string, token: string, start?: IModel): Promise<IModel> {
    return this.editDescription(
      versionName,
      async (d) => {
        const metrics = await this.metricsOf(versionName); // listed after the read the write is guarded by
        const now = Date.now();
        const pending = (d.metrics?.pending ?? []).filter((p) => p !== token && pendingAlive(p, now));
        return { ...d, metrics: mirrorOf(metrics, pending) };
      },
      start,
    );
  }

  /**
   * A read-modify-write of a version's description, guarded by the etag of the read (`start`, or
   * a fresh read); re-read and retried when another writer got there first (ABORTED) or the answer
   * was lost. Returns the version as the write left it.
   */
  private async editDescription(
    versionName: string,
    edit: (doc: DescriptionDoc) => DescriptionDoc | Promise<DescriptionDoc>,
    start?: IModel,
  ): Promise<IModel> {
    const client = await this.clients.models();
    let m = start?.etag ? start : undefined;
    for (let attempt = 1; ; attempt++) {
      m ??= (await this.fetch(versionName)) ?? undefined;
      if (!m) throw notFound(`model version ${versionName} not found (deleted meanwhile?)`);
      const doc = await edit(decodeDescription(m.versionDescription));
      try {
        const [updated] = await client.updateModel({
          model: { name: versionName, versionDescription: encodeDescription(doc), etag: m.etag ?? '' },
          updateMask: { paths: ['version_description'] },
        });
        return updated;
      } catch (err) {
        const e = toVertexMcpError(err, 'update model version description');
        if ((e.code !== 'ABORTED' && !TRANSIENT.has(e.code)) || attempt >= LABEL_ATTEMPTS) throw e;
        m = undefined;
        await backoff(attempt);
      }
    }
  }

  private async evaluationKinds(versionName: string): Promise<Set<string>> {
    const client = await this.clients.models();
    const [evals] = await callVertex(
      'list model evaluations',
      () => client.listModelEvaluations({ parent: versionName }),
      {
        idempotent: true,
      },
    );
    return new Set(evals.map((e) => String(e.displayName)));
  }

  /** The latest metrics: the mirror when it can be trusted, else the evaluations. */
  private async metricsFor(m: IModel): Promise<Metrics> {
    return mirroredMetrics(decodeDescription(m.versionDescription)) ?? this.metricsOf(this.versionName(m));
  }

  /** The newest `performance` and `cost` evaluations of one version (by id or alias). */
  private async metricsOf(versionName: string): Promise<Metrics> {
    const client = await this.clients.models();
    const [evals] = await callVertex(
      'list model evaluations',
      () => client.listModelEvaluations({ parent: versionName }),
      {
        idempotent: true,
      },
    );
    const newest = (displayName: string): IModelEvaluation | undefined =>
      evals
        .filter((e) => e.displayName === displayName)
        .sort((x, y) => seconds(y.createTime) - seconds(x.createTime))[0];
    return { performance: numbers(newest('performance')), cost: numbers(newest('cost')) };
  }

  private versionName(m: IModel): string {
    return `${m.name}@${m.versionId}`;
  }

  private toSummary(m: IModel): ModelVersionSummary {
    return {
      name: String(m.name).split('/').pop()!,
      version: versionOf(m),
      version_id: String(m.versionId),
      deployment_stage: wantedStage(m),
      aliases: [...(m.versionAliases ?? [])],
      source: m.labels?.source ?? null,
      tags: tagsFromLabels(m.labels),
      created_at: iso(m.versionCreateTime),
    };
  }

  private toRecord(
    m: IModel,
    metrics: { performance: Record<string, number>; cost: Record<string, number> },
  ): ModelVersionRecord {
    const doc = decodeDescription(m.versionDescription);
    return {
      ...this.toSummary(m),
      base_model: doc.base_model ?? null,
      artifact_uri: m.artifactUri || null,
      serving_container_uri: m.containerSpec?.imageUri || null,
      description: doc.description ?? null,
      performance_metrics: metrics.performance,
      cost_metrics: metrics.cost,
      deployed_to: (m.deployedModels ?? []).map((d) => ({
        endpoint: String(d.endpoint),
        deployed_model_id: String(d.deployedModelId),
      })),
      provenance:
        doc.tuning_job || doc.dataset ? { tuning_job: doc.tuning_job ?? null, dataset: doc.dataset ?? null } : null,
      resource_name: this.versionName(m),
      updated_at: iso(m.versionUpdateTime),
    };
  }
}

function nextStage(from: Stage): Stage {
  return from === 'development' || from === 'archived' ? 'staging' : 'production';
}

type ITimestamp = google.protobuf.ITimestamp | null | undefined;
function seconds(t: ITimestamp): number {
  return t ? Number(t.seconds ?? 0) + (t.nanos ?? 0) / 1e9 : 0;
}
function iso(t: ITimestamp): string | null {
  return t ? new Date(seconds(t) * 1000).toISOString() : null;
}
function numbers(e: IModelEvaluation | undefined): Record<string, number> {
  const fields = e?.metrics?.structValue?.fields ?? {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v?.numberValue === 'number') out[k] = v.numberValue;
  return out;
}

/** A metric write's `pending` entry: when it started (ms since the epoch), and a random part. */
function pendingToken(): string {
  return `${Date.now()}.${randomUUID()}`;
}

/** Whether a `pending` entry may still belong to a write in flight (malformed ones never do). */
function pendingAlive(entry: string, now: number): boolean {
  const started = Number(entry.split('.')[0]);
  return Number.isFinite(started) && now - started < PENDING_LEASE_MS;
}

/** The mirror of the newest evaluations, or `omitted` when too large to copy. */
function mirrorOf(metrics: Metrics, pending: string[]): MetricsMirror {
  const rest = pending.length ? { pending } : {};
  if (JSON.stringify(metrics).length > MIRROR_MAX_CHARS) return { omitted: true, ...rest };
  return { performance: metrics.performance, cost: metrics.cost, ...rest };
}

function pageSize(requested: number | undefined): number {
  if (requested === undefined) return LIST_PAGE.default_size;
  if (!Number.isInteger(requested) || requested < 1) {
    throw invalid(`page_size ${requested} is not a positive whole number`, `Use 1-${LIST_PAGE.max_size}`);
  }
  return Math.min(requested, LIST_PAGE.max_size);
}

/**
 * A model a tuning job wrote and the registry never adopted: Vertex AI (and the emulator) upload
 * each job's tuned model as a model of its own, with a numeric ID and the job in its labels
 * (`google-vertex-llm-tuning-*` on Vertex, `tuning-job` in the emulator). register_tuned_model
 * copies it into the registry under a name and version, so listings leave the original out; it is
 * still reachable by its ID (list_models name=<ID>, the job's tuned_model).
 */
export function isTuningOutput(m: IModel): boolean {
  const keys = Object.keys(m.labels ?? {});
  return (
    !keys.includes(MANAGED_LABEL) && keys.some((k) => k === 'tuning-job' || k.startsWith('google-vertex-llm-tuning'))
  );
}

/** A version as list_models prints it: `router@1.2.0 (id 3, staging)`; the byte budget counts it. */
export function summaryLine(s: ModelVersionSummary): string {
  const who = s.version
    ? `${s.name}@${s.version} (id ${s.version_id}`
    : `${s.name} (version id ${s.version_id}, no semver`;
  return `${who}, ${s.deployment_stage ?? 'no stage'})`;
}

/** What a summary adds to a list_models answer: its JSON and its text line. */
function summaryBytes(s: ModelVersionSummary): number {
  return Buffer.byteLength(JSON.stringify(s)) + Buffer.byteLength(summaryLine(s)) + 3;
}

/** The query a page token belongs to (everything but the page size and token). */
function queryKey(q: ListModelsQuery): string {
  const canonical = JSON.stringify([q.name ?? '', q.stage ?? '', q.source ?? '', [...(q.tags ?? [])].sort()]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 12);
}

function encodeCursor(key: string, c: Cursor): string {
  return Buffer.from(JSON.stringify({ k: key, ...c })).toString('base64url');
}

function decodeCursor(token: string, key: string): Cursor {
  const bad = (why: string) =>
    invalid(
      `page_token is not valid: ${why}`,
      'Pass the next_page_token of the previous call with the same name, stage, source and tags, or omit page_token to start over',
    );
  let c: Partial<Cursor> & { k?: unknown };
  try {
    c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof c;
  } catch {
    throw bad('it is not a token this server issued');
  }
  if (
    !c ||
    typeof c !== 'object' ||
    typeof c.mt !== 'string' ||
    typeof c.m !== 'string' ||
    typeof c.vt !== 'string' ||
    !Number.isInteger(c.mi) ||
    !Number.isInteger(c.vi) ||
    !Number.isInteger(c.vs) ||
    c.mi! < 0 ||
    c.vi! < 0 ||
    c.vs! < 1 ||
    c.vs! > FULL_LIST_PAGE
  ) {
    throw bad('it is not a token this server issued');
  }
  if (c.k !== key) throw bad('it belongs to a list with other filters');
  return { mt: c.mt, mi: c.mi!, m: c.m, vt: c.vt, vs: c.vs!, vi: c.vi! };
}
