// The registry's invariants and their repair. The `production` / `staging` aliases are the truth
// (Vertex keeps each on one version and moves it atomically); the `stage` label mirrors them and
// is reconciled from them after every promotion and by check_model. Pure functions over Vertex
// Model messages; registry.ts does the reads and the etag-guarded writes.
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import {
  ALIASED_STAGES,
  decodeDescription,
  encodeVersion,
  legacyVersionAlias,
  type Stage,
  stageFromLabels,
  stageOf,
  versionFromAliases,
} from './naming.js';
import type { RegistryIssue } from './types.js';

type IModel = google.cloud.aiplatform.v1.IModel;

/** The version a promotion moved, and where to: it alone may take a label stage with no alias. */
export interface StageTarget {
  versionId: string;
  stage: Stage;
  /** Labels the promotion adds to the target (e.g. the A/B test it rests on). */
  extra?: Record<string, string>;
}

/** The stage a version should show, given the promotion that is being completed (if any). */
export function wantedStage(m: IModel, target?: StageTarget): Stage | null {
  const aliases = m.versionAliases ?? [];
  if (
    target &&
    String(m.versionId) === target.versionId &&
    !aliases.some((a) => a === 'production' || a === 'staging')
  ) {
    // Promoted to staging/production but the alias has moved on since (a later promotion won): displaced.
    return ALIASED_STAGES.has(target.stage) ? 'archived' : target.stage;
  }
  return stageOf(aliases, m.labels);
}

/** The labels a version should carry, or null when they are right already. */
export function wantedLabels(m: IModel, target?: StageTarget): Record<string, string> | null {
  const stage = wantedStage(m, target);
  const labels: Record<string, string> = { ...(m.labels ?? {}) };
  let changed = false;
  if (stage && labels.stage !== stage) {
    labels.stage = stage;
    changed = true;
  }
  if (target && String(m.versionId) === target.versionId) {
    for (const [k, v] of Object.entries(target.extra ?? {})) {
      if (labels[k] !== v) {
        labels[k] = v;
        changed = true;
      }
    }
  }
  return changed ? labels : null;
}

/**
 * A version holding both stage aliases: two promotions crossed (each read the version before the
 * other moved its alias). It is production (never dropped silently); its staging alias goes.
 */
export function holdsBothStages(m: IModel): boolean {
  const a = m.versionAliases ?? [];
  return a.includes('production') && a.includes('staging');
}

/** The semver a version carries: its description's, else its alias's. */
export function versionOf(m: IModel): string | null {
  return decodeDescription(m.versionDescription).version ?? versionFromAliases(m.versionAliases ?? []);
}

const label = (m: IModel) => `${versionOf(m) ?? `id ${m.versionId}`}`;

/** Every broken invariant among one model's versions (nothing is fixed here). */
export function findIssues(versions: IModel[]): Omit<RegistryIssue, 'fixed'>[] {
  const issues: Omit<RegistryIssue, 'fixed'>[] = [];
  const prodLabelled = versions.filter((v) => stageFromLabels(v.labels) === 'production');
  for (const v of versions) {
    const base = { version: versionOf(v), version_id: String(v.versionId) };
    const want = wantedStage(v);
    const has = stageFromLabels(v.labels);
    if (holdsBothStages(v)) {
      issues.push({
        ...base,
        kind: 'two_stage_aliases',
        detail: `${label(v)} holds both the production and staging aliases (crossed promotions): it is production, and its staging alias is to be dropped`,
      });
    }
    if (want && has !== want) {
      const truth = ALIASED_STAGES.has(want) ? want : null;
      issues.push({
        ...base,
        kind: prodLabelled.length > 1 && has === 'production' ? 'duplicate_production_label' : 'stage_label',
        detail: `${label(v)} is labelled stage=${has ?? '(none)'} but is ${want} (${truth ? `it holds the ${truth} alias` : `it holds no ${has} alias`})`,
      });
    }
    const semver = versionOf(v);
    if (!semver) {
      issues.push({
        ...base,
        kind: 'no_semver_alias',
        detail: `version id ${v.versionId} carries no semantic version (no vX-Y-Z alias, no version in its description)`,
      });
    } else {
      const aliases = v.versionAliases ?? [];
      const legacy = legacyVersionAlias(semver);
      if (!aliases.includes(encodeVersion(semver)) && !(legacy && aliases.includes(legacy))) {
        issues.push({
          ...base,
          kind: 'no_semver_alias',
          detail: `${semver} (version id ${v.versionId}) lacks its alias ${encodeVersion(semver)}, so it cannot be named by version`,
        });
      }
    }
  }
  const byVersion = new Map<string, IModel[]>();
  for (const v of versions) {
    const s = versionOf(v);
    if (s) byVersion.set(s, [...(byVersion.get(s) ?? []), v]);
  }
  for (const [semver, vs] of byVersion) {
    if (vs.length < 2) continue;
    const ids = vs.map((v) => v.versionId).join(', ');
    for (const v of vs.filter((x) => !(x.versionAliases ?? []).includes(encodeVersion(semver)))) {
      issues.push({
        version: semver,
        version_id: String(v.versionId),
        kind: 'duplicate_version',
        detail: `${semver} is claimed by version ids ${ids}; version id ${v.versionId} does not hold its alias (delete it with the Vertex console or API once nothing uses it)`,
      });
    }
  }
  return issues;
}
