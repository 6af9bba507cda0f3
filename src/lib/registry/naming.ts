// How registry metadata maps onto Vertex AI's Model resource (documented in the README):
//   name              -> model ID and display name
//   version (semver)  -> version alias v1-2-0 (aliases cannot hold dots; see encodeVersion) + the
//                        exact text in the description
//   deployment_stage  -> aliases `staging` / `production` (the truth: an alias sits on one version
//                        at a time, moved atomically by Vertex), mirrored in the label `stage`;
//                        `development` / `archived` live in the label only
//   source, tags      -> labels `source`, `tag-<tag>` = "true"
//   base_model, description -> the version description, a small JSON document, which also
//                        mirrors the latest metrics (MetricsMirror) so one read returns them
// Two functions, not the package: the whole of semver is 47 modules on the start path.
import parse from 'semver/functions/parse.js';
import valid from 'semver/functions/valid.js';
import { invalid } from '../errors.js';

export const STAGES = ['development', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];

/** Stages that own a version alias of the same name (at most one version holds each). */
export const ALIASED_STAGES: ReadonlySet<Stage> = new Set(['staging', 'production']);

export const MODEL_ID_RE = /^[a-z][a-z0-9_-]{0,62}$/;
export const LABEL_VALUE_RE = /^[a-z0-9_-]{1,63}$/;
export const TAG_RE = /^[a-z0-9_-]{1,59}$/; // "tag-" + tag must fit a 63-character label key
/** Vertex's version alias rule (model.proto, version_aliases). */
export const ALIAS_RE = /^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$/;
export const METRIC_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
export const MANAGED_LABEL = 'managed-by';
export const MANAGED_VALUE = 'vertex-mcp';

/** Size limits of registry inputs, named in the errors that enforce them. */
export const LIMITS = {
  name: 63,
  version: 100,
  base_model: 256,
  description: 2000,
  serving_container_uri: 1024,
  artifact_uri: 1024,
  tags: 50,
  tag: 59,
  source: 63,
  metric_name: 63,
  metrics: 100,
} as const;

export function checkModelName(name: string): void {
  if (!MODEL_ID_RE.test(name)) {
    throw invalid(
      `name "${clip(name)}" is not a valid Vertex model ID`,
      'Use 1-63 characters: a lowercase letter first, then lowercase letters, digits, "_" or "-" (e.g. "halo-router")',
    );
  }
}

/** Validates and normalises a version ("v1.2.0" -> "1.2.0"); build metadata is refused. */
export function checkVersion(version: string): string {
  if (version.length > LIMITS.version) {
    throw invalid(`version "${clip(version)}" is too long: at most ${LIMITS.version} characters`);
  }
  const v = valid(version);
  if (!v) {
    throw invalid(
      `version "${clip(version)}" is not a semantic version`,
      'Use MAJOR.MINOR.PATCH, optionally with a pre-release such as 1.2.0 or 2.0.0-rc.1',
    );
  }
  if (version.includes('+')) {
    throw invalid(
      `version "${clip(version)}" carries build metadata`,
      'Drop the "+..." part: semver ignores build metadata for precedence, so 1.2.0+a and 1.2.0+b would be one version',
    );
  }
  if (encodeVersion(v).length > 128) {
    throw invalid(
      `version "${clip(version)}" is too long for a Vertex version alias (at most 128 characters once encoded)`,
      'Use a shorter pre-release',
    );
  }
  return v;
}

// Version aliases. Aliases allow [a-zA-Z0-9-] only, start with a lowercase letter and end with a
// lowercase letter or digit, so the semver text is encoded, injectively and reversibly:
//   "v" MAJOR "-" MINOR "-" PATCH, then "-" + enc(pre-release) and "B" + enc(build) when present,
//   where enc keeps [a-z0-9], writes "." as "-", "-" as "H" and an upper-case letter X as "Ux";
//   an alias that would end in "H" (a trailing hyphen) gets the terminator "U0" (never produced
//   otherwise). So 1.2.0 -> v1-2-0 (as before), 2.0.0-rc.1 -> v2-0-0-rc-1, 2.0.0-rc-1 -> v2-0-0-rcH1.
// Upper-case letters never stand for themselves, so every alias decodes to exactly one version.

function encPart(s: string): string {
  let out = '';
  for (const c of s) {
    if (c === '.') out += '-';
    else if (c === '-') out += 'H';
    else if (c >= 'A' && c <= 'Z') out += `U${c.toLowerCase()}`;
    else out += c;
  }
  return out;
}

/** A semver's canonical text, build metadata included (semver.valid drops it); null if invalid. */
export function canonicalVersion(version: string): string | null {
  const p = parse(version);
  return p ? `${p.version}${p.build.length ? `+${p.build.join('.')}` : ''}` : null;
}

/** The alias of any valid semver (build metadata included); see above. */
export function encodeVersion(version: string): string {
  const p = parse(version);
  if (!p) throw invalid(`version "${clip(version)}" is not a semantic version`);
  let alias = `v${p.major}-${p.minor}-${p.patch}`;
  if (p.prerelease.length) alias += `-${encPart(p.prerelease.join('.'))}`;
  if (p.build.length) alias += `B${encPart(p.build.join('.'))}`;
  return alias.endsWith('H') ? `${alias}U0` : alias;
}

/** The inverse of encodeVersion; null for aliases it does not produce. */
export function decodeVersion(alias: string): string | null {
  const m = /^v(0|[1-9]\d*)-(0|[1-9]\d*)-(0|[1-9]\d*)(.*)$/.exec(alias);
  if (!m) return null;
  let rest = m[4]!;
  if (rest.endsWith('U0')) rest = rest.slice(0, -2);
  let out = `${m[1]}.${m[2]}.${m[3]}`;
  let section: 'start' | 'pre' | 'build' = 'start';
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (section === 'start') {
      if (c === '-') section = 'pre';
      else if (c === 'B') section = 'build';
      else return null;
      out += section === 'pre' ? '-' : '+';
      continue;
    }
    if (c === 'B' && section === 'pre') {
      section = 'build';
      out += '+';
    } else if (c === '-') out += '.';
    else if (c === 'H') out += '-';
    else if (c === 'U') {
      const next = rest[++i];
      if (!next || !/[a-z]/.test(next)) return null;
      out += next.toUpperCase();
    } else if (/[a-z0-9]/.test(c)) out += c;
    else return null;
  }
  // Only canonical encodings decode: the round trip must give the alias back.
  return canonicalVersion(out) === out && encodeVersion(out) === alias ? out : null;
}

/** "1.2.0" -> "v1-2-0"; "2.0.0-rc.1" -> "v2-0-0-rc-1"; "2.0.0-rc-1" -> "v2-0-0-rcH1". */
export function versionAlias(version: string): string {
  return encodeVersion(checkVersion(version));
}

/**
 * The alias older releases gave a pre-release ("." and "-" both became "-"), tried when the
 * current alias finds nothing; null when it is the current one.
 */
export function legacyVersionAlias(version: string): string | null {
  const legacy = `v${version.replace(/\./g, '-')}`;
  return legacy !== encodeVersion(version) && ALIAS_RE.test(legacy) ? legacy : null;
}

/** The version named by a model's aliases (models registered by other tools carry no description). */
export function versionFromAliases(aliases: string[]): string | null {
  for (const a of aliases) {
    const v = decodeVersion(a);
    if (v) return v;
  }
  return null;
}

/** Strict gs://bucket/object: a GCS bucket name (lowercase, 3-63 characters) and a non-empty path. */
export function checkArtifactUri(uri: string): string | null {
  const m = /^gs:\/\/([^/]*)\/([\s\S]*)$/.exec(uri);
  const bucket = m?.[1] ?? '';
  const object = m?.[2] ?? '';
  const bucketOk =
    /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(bucket) &&
    !/\.\.|\.-|-\./.test(bucket) &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(bucket) &&
    !bucket.startsWith('goog');
  if (!m || !bucketOk) {
    return 'artifact_uri must be gs://BUCKET/PATH with a valid bucket name (3-63 lowercase letters, digits, "-", "_" or ".", starting and ending with a letter or digit)';
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: GCS object names exclude these
  if (!object || /[\r\n\u0000]/.test(object) || Buffer.byteLength(object) > 1024) {
    return 'artifact_uri must name a non-empty object path after the bucket (gs://BUCKET/PATH, at most 1024 bytes, no line breaks)';
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
  /** The latest metrics, mirrored from the evaluations (see MetricsMirror). */
  metrics?: MetricsMirror;
}

/**
 * The latest metrics where one GetModel finds them: a copy of the newest `performance` and `cost`
 * ModelEvaluations of the version (the evaluations stay the record). Written by the registry with
 * etag-guarded UpdateModel calls (update_mask `version_description`):
 * - `pending`: metric writes in flight, each "<ms since epoch>.<uuid>". A writer adds its entry
 *   before importing evaluations and, after importing, rewrites the copy from the evaluation
 *   listing and removes its entry. While any entry is listed (a write in flight, or one that died
 *   half-way) readers take the evaluations instead, so a reader never sees a copy older than the
 *   record. Entries older than a lease (registry.ts) are dropped by the next writer.
 * - `omitted`: the metrics were too large to copy; readers take the evaluations.
 * A version without `metrics` (uploaded by an older release, or by another tool) reads the
 * evaluations too, until its metrics are next written.
 */
export interface MetricsMirror {
  performance?: Record<string, number>;
  cost?: Record<string, number>;
  pending?: string[];
  omitted?: boolean;
}

const isNumbers = (x: unknown): x is Record<string, number> =>
  !!x &&
  typeof x === 'object' &&
  !Array.isArray(x) &&
  Object.values(x).every((v) => typeof v === 'number' && Number.isFinite(v));

/** The mirrored metrics when they can be trusted (complete, no write in flight), else null. */
export function mirroredMetrics(
  doc: DescriptionDoc,
): { performance: Record<string, number>; cost: Record<string, number> } | null {
  const m = doc.metrics;
  if (!m || typeof m !== 'object' || m.omitted || (Array.isArray(m.pending) && m.pending.length > 0)) return null;
  if (m.pending !== undefined && !Array.isArray(m.pending)) return null;
  if (!isNumbers(m.performance) || !isNumbers(m.cost)) return null;
  return { performance: { ...m.performance }, cost: { ...m.cost } };
}

/** The version description: a small JSON document for what labels cannot hold exactly. */
export function encodeDescription(doc: DescriptionDoc): string {
  return JSON.stringify(Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined)));
}

/** Whether a version description is this document (or empty): only then is it ours to rewrite. */
export function ownsDescription(text: string | null | undefined): boolean {
  if (!text) return true;
  try {
    const doc = JSON.parse(text) as unknown;
    return !!doc && typeof doc === 'object' && !Array.isArray(doc);
  } catch {
    return false;
  }
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

/** `source` as a label value: anything else is refused (never quoted into a filter). */
export function checkSource(source: string, field = 'source'): void {
  if (!LABEL_VALUE_RE.test(source)) {
    throw invalid(
      `${field} "${clip(source)}" cannot be stored as a label: ${field} must match [a-z0-9_-]{1,63}`,
      'Use 1-63 lowercase letters, digits, "_" or "-"',
    );
  }
}

export function checkTag(tag: string, field = 'tag'): void {
  if (!TAG_RE.test(tag)) {
    throw invalid(
      `${field} "${clip(tag)}" cannot be stored as a label: tags must match [a-z0-9_-]{1,59}`,
      'Use 1-59 lowercase letters, digits, "_" or "-"',
    );
  }
}

export function buildLabels(stage: Stage, source: string, tags: string[]): Record<string, string> {
  checkSource(source);
  const labels: Record<string, string> = { [MANAGED_LABEL]: MANAGED_VALUE, stage, source };
  for (const tag of tags) {
    checkTag(tag);
    labels[`tag-${tag}`] = 'true';
  }
  return labels;
}

/** A label filter over validated values only (each value matches the label rules: no quoting). */
export function labelFilter(q: { source?: string; tags?: string[] }): string | undefined {
  if (q.source !== undefined) checkSource(q.source);
  for (const t of q.tags ?? []) checkTag(t, 'tags[]');
  const terms = [
    ...(q.source !== undefined ? [`labels.source="${q.source}"`] : []),
    ...(q.tags ?? []).map((t) => `labels.tag-${t}="true"`),
  ];
  return terms.join(' AND ') || undefined;
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

/**
 * The stage a version is in. The `production` / `staging` aliases decide; a version holding
 * neither is in the stage its label says, except that a label naming an aliased stage the version
 * no longer holds means it was displaced (another version took the alias): archived.
 */
export function stageOf(
  aliases: readonly string[] | null | undefined,
  labels: Record<string, string> | null | undefined,
): Stage | null {
  if (aliases?.includes('production')) return 'production';
  if (aliases?.includes('staging')) return 'staging';
  const label = stageFromLabels(labels);
  return label && ALIASED_STAGES.has(label) ? 'archived' : label;
}

/** At most 80 characters of an input inside an error text (errors never echo whole inputs). */
export function clip(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;
}
