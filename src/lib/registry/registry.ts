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
//   retry (or check_model) completes an interrupted promotion.
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
  decodeDescription,
  encodeDescription,
  encodeVersion,
  labelFilter,
  legacyVersionAlias,
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

  /** Every version of one model, raw, oldest first. */
  private async rawVersions(name: string, filter?: string): Promise<IModel[]> {
    const client = await this.clients.models();
    const [versions] = await callVertex(
      'list model versions',
      () => client.listModelVersions({ name: this.modelPath(name), ...(filter ? { filter } : {}) }),
      { idempotent: true },
    );
    return versions;
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
    let versionId = '';
    let created = false;
    for (let attempt = 1; !versionId; attempt++) {
      const existing = await this.fetch(modelPath);
      if (existing) {
        const same = await this.findVersion(meta.name, version);
        if (same) {
          this.assertSameUpload(meta.name, version, same, wanted);
          versionId = String(same.versionId);
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
    const versionName = `${modelPath}@${versionId}`;
    try {
      await this.importMetrics(versionName, meta.performance_metrics, meta.cost_metrics, !created);
    } catch (err) {
      const e = toVertexMcpError(err);
      throw new VertexMcpError(
        e.code,
        `${meta.name} ${version} is registered (version id ${versionId}) but its metrics were not recorded: ${e.message}`,
        'Call upload_model again with the same arguments (it converges on this version and records the metrics), or use update_model_metrics',
      );
    }
    return { ...(await this.getModel(meta.name, version)), created };
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

  async getModel(name: string, version?: string): Promise<ModelVersionRecord> {
    if (!version) {
      const m = await this.require(name);
      return this.toRecord(m, await this.latestMetrics(m));
    }
    // Both reads name the version by its alias, so they can run side by side.
    const path = `${this.modelPath(name)}@${encodeVersion(checkVersion(version))}`;
    const [m, metrics] = await Promise.all([this.fetch(path), this.metricsOf(path).catch(() => null)]);
    if (m && metrics) return this.toRecord(m, metrics);
    const found = await this.require(name, version); // throws the helpful NOT_FOUND
    return this.toRecord(found, await this.latestMetrics(found));
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
  async listModels(
    q: { name?: string; stage?: Stage; source?: string; tags?: string[] } = {},
  ): Promise<ModelVersionSummary[]> {
    const filter = labelFilter(q);
    let versions: ModelVersionSummary[];
    if (q.name) versions = await this.listVersions(q.name, filter);
    else {
      const client = await this.clients.models();
      const [models] = await callVertex('list models', () => client.listModels({ parent: this.clients.parent }), {
        idempotent: true,
      });
      const names = models.map((m) => String(m.name).split('/').pop()!);
      versions = (await Promise.all(names.map((n) => this.listVersions(n, filter)))).flat();
    }
    return q.stage ? versions.filter((v) => v.deployment_stage === q.stage) : versions;
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
    const current = await this.latestMetrics(m);
    // One evaluation per update, holding the merged values, so the newest evaluation is complete
    // (and a retry after an ambiguous failure writes the same values again: newest wins).
    await this.importMetrics(
      this.versionName(m),
      performance && { ...current.performance, ...performance },
      cost && { ...current.cost, ...cost },
    );
    return this.getModel(name, version);
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
    const metrics = await this.latestMetrics(m);
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
   * One evaluation per kind given. Retried on transient failures: a repeated import writes the
   * same values again, and the newest evaluation wins. `onlyMissing` (an upload converging on an
   * existing version) records a kind only when the version has none yet.
   */
  private async importMetrics(
    versionName: string,
    performance?: Record<string, number>,
    cost?: Record<string, number>,
    onlyMissing = false,
  ) {
    const client = await this.clients.models();
    const recorded = onlyMissing ? await this.evaluationKinds(versionName) : new Set<string>();
    for (const [displayName, values] of [
      ['performance', performance],
      ['cost', cost],
    ] as const) {
      if (!values || Object.keys(values).length === 0 || recorded.has(displayName)) continue;
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

  private latestMetrics(m: IModel): Promise<Metrics> {
    return this.metricsOf(this.versionName(m));
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
