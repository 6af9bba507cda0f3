// How registry metadata maps onto Vertex AI's Model resource (documented in the README):
//   name              -> model ID and display name
//   version (semver)  -> version alias v1-2-0 (aliases cannot hold dots) + exact text in the description
//   deployment_stage  -> label `stage`, plus aliases `staging` / `production` that move on promotion
//   source, tags      -> labels `source`, `tag-<tag>` = "true"
//   base_model, description -> the version description, a small JSON document
import semver from 'semver';
import { invalid } from '../errors.js';

export const STAGES = ['development', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];

/** Stages that own a version alias of the same name (at most one version holds each). */
export const ALIASED_STAGES: ReadonlySet<Stage> = new Set(['staging', 'production']);

export const MODEL_ID_RE = /^[a-z][a-z0-9_-]{0,62}$/;
export const LABEL_VALUE_RE = /^[a-z0-9_-]{1,63}$/;
export const TAG_RE = /^[a-z0-9_-]{1,59}$/; // "tag-" + tag must fit a 63-character label key
export const MANAGED_LABEL = 'managed-by';
export const MANAGED_VALUE = 'vertex-mcp';

export function checkModelName(name: string): void {
  if (!MODEL_ID_RE.test(name)) {
    throw invalid(
      `name "${name}" is not a valid Vertex model ID`,
      'Use 1-63 characters: a lowercase letter first, then lowercase letters, digits, "_" or "-" (e.g. "halo-router")',
    );
  }
}

export function checkVersion(version: string): string {
  const v = semver.valid(version);
  if (!v || version.includes('+')) {
    throw invalid(
      `version "${version}" is not a semantic version`,
      'Use MAJOR.MINOR.PATCH, optionally with a pre-release such as 1.2.0 or 2.0.0-rc.1 (no build metadata)',
    );
  }
  return v;
}

/** "1.2.0" -> "v1-2-0"; "2.0.0-rc.1" -> "v2-0-0-rc-1". */
export function versionAlias(version: string): string {
  return `v${checkVersion(version).replace(/\./g, '-')}`;
}

const ALIAS_VERSION_RE = /^v(\d+)-(\d+)-(\d+)(?:-(.+))?$/;

/** Best-effort inverse of versionAlias, for models registered by other tools. */
export function versionFromAliases(aliases: string[]): string | null {
  for (const a of aliases) {
    const m = ALIAS_VERSION_RE.exec(a);
    if (m) return `${m[1]}.${m[2]}.${m[3]}${m[4] ? `-${m[4].replace(/-/g, '.')}` : ''}`;
  }
  return null;
}

export interface DescriptionDoc {
  version?: string;
  base_model?: string;
  description?: string;
  /** Provenance of tuned versions. */
  tuning_job?: string;
  dataset?: string;
}

/** The version description: a small JSON document for what labels cannot hold exactly. */
export function encodeDescription(doc: DescriptionDoc): string {
  return JSON.stringify(Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined)));
}

/** Plain-text descriptions (models registered elsewhere) come back as `description`. */
export function decodeDescription(text: string | null | undefined): DescriptionDoc {
  if (!text) return {};
  try {
    const doc = JSON.parse(text) as unknown;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as DescriptionDoc;
  } catch {
    // not ours: fall through
  }
  return { description: text };
}

export function buildLabels(stage: Stage, source: string, tags: string[]): Record<string, string> {
  if (!LABEL_VALUE_RE.test(source)) {
    throw invalid(`source "${source}" cannot be stored as a label`, 'Use 1-63 lowercase letters, digits, "_" or "-"');
  }
  const labels: Record<string, string> = { [MANAGED_LABEL]: MANAGED_VALUE, stage, source };
  for (const tag of tags) {
    if (!TAG_RE.test(tag)) {
      throw invalid(`tag "${tag}" cannot be stored as a label`, 'Tags are 1-59 lowercase letters, digits, "_" or "-"');
    }
    labels[`tag-${tag}`] = 'true';
  }
  return labels;
}

export function tagsFromLabels(labels: Record<string, string> | null | undefined): string[] {
  return Object.keys(labels ?? {})
    .filter((k) => k.startsWith('tag-'))
    .map((k) => k.slice(4))
    .sort();
}

export function stageFromLabels(labels: Record<string, string> | null | undefined): Stage | null {
  const s = labels?.stage;
  return (STAGES as readonly string[]).includes(s ?? '') ? (s as Stage) : null;
}
