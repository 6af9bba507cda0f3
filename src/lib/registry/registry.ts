// ModelRegistry: semver-versioned models with stages and metrics, stored in Vertex AI's Model
// Registry itself (see naming.ts for the mapping), so other Vertex tools see the same state.
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import type { VertexClients } from '../clients.js';
import { callVertex, invalid, notFound, precondition, VertexMcpError } from '../errors.js';
import { compareMetrics, type MetricComparison, verdict } from './compare.js';
import {
  ALIASED_STAGES,
  buildLabels,
  checkModelName,
  checkVersion,
  decodeDescription,
  encodeDescription,
  type Stage,
  stageFromLabels,
  tagsFromLabels,
  versionAlias,
  versionFromAliases,
} from './naming.js';
import { type ModelMetadata, ModelMetadataSchema, type ModelVersionRecord, type ModelVersionSummary } from './types.js';

type IModel = google.cloud.aiplatform.v1.IModel;
type IModelEvaluation = google.cloud.aiplatform.v1.IModelEvaluation;
type Metrics = { performance: Record<string, number>; cost: Record<string, number> };

const EVAL_SCHEMA = 'gs://google-cloud-aiplatform/schema/modelevaluation/general_evaluation_metrics_1.0.0.yaml';
const STAGE_ORDER: Record<Stage, number> = { development: 0, staging: 1, production: 2, archived: -1 };

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
  force?: boolean;
  gate?: PromotionGate;
  /** The A/B test the promotion rests on: kept as the version's `ab-test` label. */
  evidence?: { ab_test: string };
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

export class ModelRegistry {
  evidence?: EvidenceSource;

  constructor(private readonly clients: VertexClients) {}

  /** Names are checked against the model ID rule; all-digit IDs are Vertex-generated ones (tuned models). */
  private modelPath(name: string): string {
    if (!/^\d{1,19}$/.test(name)) checkModelName(name);
    return `${this.clients.parent}/models/${name}`;
  }

  private versionPath(name: string, version: string): string {
    return `${this.modelPath(name)}@${versionAlias(version)}`;
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

  private async require(name: string, version?: string): Promise<IModel> {
    const m = await this.fetch(version ? this.versionPath(name, version) : this.modelPath(name));
    if (m) return m;
    if (version && (await this.fetch(this.modelPath(name)))) {
      const known = (await this.listVersions(name)).map((v) => v.version ?? `id ${v.version_id}`);
      throw notFound(`model "${name}" has no version ${version}`, `Known versions: ${known.join(', ')}`);
    }
    throw notFound(`model "${name}" not found`, 'List models with list_models, or upload it with upload_model');
  }

  /** `provenance` records where a tuned version came from (in the version description). */
  async uploadModel(
    input: ModelMetadata,
    provenance: { tuning_job?: string; dataset?: string } = {},
  ): Promise<ModelVersionRecord> {
    const meta = ModelMetadataSchema.parse(input);
    checkModelName(meta.name); // new versions need a real name, not a generated ID
    const version = checkVersion(meta.version);
    const modelPath = this.modelPath(meta.name);
    const labels = buildLabels(meta.deployment_stage, meta.source, meta.tags);
    const existing = await this.fetch(modelPath);
    if (existing) {
      if (await this.fetch(this.versionPath(meta.name, version))) {
        throw new VertexMcpError(
          'ALREADY_EXISTS',
          `model "${meta.name}" already has version ${version}`,
          'Versions are immutable: upload a higher version number, or update its metrics with update_model_metrics',
        );
      }
    }
    if (meta.deployment_stage === 'production' && existing && (await this.fetch(`${modelPath}@production`))) {
      throw precondition(
        `model "${meta.name}" already has a production version`,
        'Upload as development or staging, then promote_model it to production',
      );
    }
    const aliases = [versionAlias(version)];
    if (ALIASED_STAGES.has(meta.deployment_stage)) aliases.push(meta.deployment_stage);
    if (meta.deployment_stage === 'production' && existing) aliases.push('default');
    const client = await this.clients.models();
    const model: IModel = {
      displayName: meta.name,
      versionAliases: aliases,
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
    try {
      await this.importMetrics(`${modelPath}@${res.modelVersionId}`, meta.performance_metrics, meta.cost_metrics);
    } catch (err) {
      // Undo the upload so a failed metrics write leaves no version behind.
      await this.deleteRaw(modelPath, existing ? String(res.modelVersionId) : null).catch(() => {});
      throw err;
    }
    return this.getModel(meta.name, version);
  }

  async getModel(name: string, version?: string): Promise<ModelVersionRecord> {
    if (!version) {
      const m = await this.require(name);
      return this.toRecord(m, await this.latestMetrics(m));
    }
    // Both reads name the version by its alias, so they can run side by side.
    const path = this.versionPath(name, version);
    const [m, metrics] = await Promise.all([this.fetch(path), this.metricsOf(path).catch(() => null)]);
    if (m && metrics) return this.toRecord(m, metrics);
    const found = await this.require(name, version); // throws the helpful NOT_FOUND
    return this.toRecord(found, await this.latestMetrics(found));
  }

  /** Every version of one model, oldest first. */
  async listVersions(name: string, filter?: string): Promise<ModelVersionSummary[]> {
    const client = await this.clients.models();
    const [versions] = await callVertex(
      'list model versions',
      () => client.listModelVersions({ name: this.modelPath(name), ...(filter ? { filter } : {}) }),
      { idempotent: true },
    );
    return versions.map((m) => this.toSummary(m));
  }

  /** Versions across models, filtered by stage, source and tags (all given tags must match). */
  async listModels(
    q: { name?: string; stage?: Stage; source?: string; tags?: string[] } = {},
  ): Promise<ModelVersionSummary[]> {
    const terms = [
      q.stage && `labels.stage="${q.stage}"`,
      q.source && `labels.source="${q.source}"`,
      ...(q.tags ?? []).map((t) => `labels.tag-${t}="true"`),
    ].filter(Boolean);
    const filter = terms.join(' AND ') || undefined;
    if (q.name) return this.listVersions(q.name, filter);
    const client = await this.clients.models();
    const [models] = await callVertex('list models', () => client.listModels({ parent: this.clients.parent }), {
      idempotent: true,
    });
    const names = models.map((m) => String(m.name).split('/').pop()!);
    const perModel = await Promise.all(names.map((n) => this.listVersions(n, filter)));
    return perModel.flat();
  }

  async updateMetrics(
    name: string,
    version: string,
    metrics: { performance_metrics?: Record<string, number>; cost_metrics?: Record<string, number> },
  ): Promise<ModelVersionRecord> {
    if (!metrics.performance_metrics && !metrics.cost_metrics) {
      throw invalid('no metrics given', 'Pass performance_metrics and/or cost_metrics as {"name": number}');
    }
    const m = await this.require(name, version);
    const current = await this.latestMetrics(m);
    // One evaluation per update, holding the merged values, so the newest evaluation is complete.
    await this.importMetrics(
      this.versionName(m),
      metrics.performance_metrics && { ...current.performance, ...metrics.performance_metrics },
      metrics.cost_metrics && { ...current.cost, ...metrics.cost_metrics },
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

  async promoteModel(name: string, version: string, opts: PromoteOptions = {}) {
    const m = await this.require(name, version);
    const from = stageFromLabels(m.labels) ?? 'development';
    const to = opts.target_stage ?? nextStage(from);
    if (to === from) throw precondition(`${name} ${version} is already in ${from}`);
    const forward = STAGE_ORDER[to] > STAGE_ORDER[from];
    const oneStep = from === 'archived' ? to !== 'production' : STAGE_ORDER[to] - STAGE_ORDER[from] === 1;
    if (forward && !oneStep && !opts.force) {
      throw precondition(
        `promotion from ${from} to ${to} skips a stage`,
        `Promote one stage at a time (${from} -> ${nextStage(from)}), or pass force: true`,
      );
    }
    const prod = to === 'production' ? await this.fetch(`${this.modelPath(name)}@production`) : null;
    const gate = to === 'production' && opts.gate ? await this.checkGate(name, version, m, prod, opts.gate) : null;

    const client = await this.clients.models();
    const undo: (() => Promise<unknown>)[] = [];
    const setStage = async (target: IModel, stage: Stage, extra: Record<string, string> = {}) => {
      const before = target.labels ?? {};
      await callVertex(
        'update model labels',
        () =>
          client.updateModel({
            model: { name: this.versionName(target), labels: { ...before, ...extra, stage } },
            updateMask: { paths: ['labels'] },
          }),
        { idempotent: false },
      );
      undo.push(() =>
        client.updateModel({
          model: { name: this.versionName(target), labels: before },
          updateMask: { paths: ['labels'] },
        }),
      );
    };
    const aliasChanges = [
      ...(ALIASED_STAGES.has(to) ? [to] : []),
      ...(to === 'production' ? ['default'] : []), // unversioned reads resolve to what is in production
      ...[...ALIASED_STAGES].filter((s) => s !== to && m.versionAliases?.includes(s)).map((s) => `-${s}`),
    ];
    try {
      await setStage(m, to, opts.evidence ? { 'ab-test': opts.evidence.ab_test } : {});
      if (aliasChanges.length) {
        await callVertex(
          'move version aliases',
          () => client.mergeVersionAliases({ name: this.versionName(m), versionAliases: aliasChanges }),
          { idempotent: false },
        );
      }
      if (prod && prod.versionId !== m.versionId) await setStage(prod, 'archived');
    } catch (err) {
      for (const step of undo.reverse()) await step().catch(() => {});
      throw err;
    }
    return {
      name,
      version,
      from_stage: from,
      to_stage: to,
      previous_production:
        prod && prod.versionId !== m.versionId
          ? { version: this.toSummary(prod).version, now: 'archived' as const }
          : null,
      gate,
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
    if (gate.metric) {
      const value = all[gate.metric];
      if (value === undefined) {
        throw precondition(
          `gate metric "${gate.metric}" is not recorded on ${name} ${version}`,
          `Recorded: ${Object.keys(all).join(', ') || 'none'}`,
        );
      }
      result.value = value;
      if ((gate.min !== undefined && value < gate.min) || (gate.max !== undefined && value > gate.max)) {
        throw precondition(
          `gate failed: ${gate.metric} = ${value}, required ${gate.min !== undefined ? `>= ${gate.min}` : `<= ${gate.max}`}`,
          'Improve the model or pass force: true with a reason',
        );
      }
      result.reason = `${gate.metric} = ${value} meets the threshold`;
    }
    if (gate.beat_production) {
      const prodVersion = prod ? this.toSummary(prod).version : null;
      if (!prodVersion) {
        throw precondition(
          `gate beat_production: model "${name}" has no production version to beat`,
          'Drop beat_production for the first production version (or use a metric threshold)',
        );
      }
      const cmp = await this.compareVersions(name, prodVersion, version);
      if (cmp.winner !== 'b')
        throw precondition(`gate failed: ${version} does not beat production ${prodVersion}`, cmp.recommendation);
      result.reason = cmp.recommendation;
    }
    return result;
  }

  /** What deleteModel would do, with the deployments that block it. Changes nothing. */
  async planDelete(name: string, version?: string): Promise<DeletePlan> {
    const client = await this.clients.models();
    const [versions] = await callVertex(
      'list model versions',
      () => client.listModelVersions({ name: this.modelPath(name) }),
      {
        idempotent: true,
      },
    );
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
      const successor = plan.default_moves_to.startsWith('id ')
        ? plan.default_moves_to.slice(3)
        : versionAlias(plan.default_moves_to);
      await callVertex(
        'move default alias',
        () => client.mergeVersionAliases({ name: `${modelPath}@${successor}`, versionAliases: ['default'] }),
        {
          idempotent: false,
        },
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

  private async importMetrics(
    versionName: string,
    performance?: Record<string, number>,
    cost?: Record<string, number>,
  ) {
    const client = await this.clients.models();
    for (const [displayName, values] of [
      ['performance', performance],
      ['cost', cost],
    ] as const) {
      if (!values || Object.keys(values).length === 0) continue;
      const fields = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { numberValue: v }]));
      await callVertex(
        'import model evaluation',
        () =>
          client.importModelEvaluation({
            parent: versionName,
            modelEvaluation: { displayName, metricsSchemaUri: EVAL_SCHEMA, metrics: { structValue: { fields } } },
          }),
        { idempotent: false },
      );
    }
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
    const doc = decodeDescription(m.versionDescription);
    return {
      name: String(m.name).split('/').pop()!,
      version: doc.version ?? versionFromAliases(m.versionAliases ?? []),
      version_id: String(m.versionId),
      deployment_stage: stageFromLabels(m.labels),
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
