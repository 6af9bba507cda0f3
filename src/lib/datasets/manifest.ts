// The dataset manifest: what prepare_dataset published, and the check a reader (the tuning pipeline)
// runs before using a train/validation pair.
//
// An output directory (or gs:// prefix) holds generations and one manifest:
//
//   <output>/manifest.json                       written last: the commit point of a run
//   <output>/gen-20250601T120000123Z-4242-a1b2/  one run's files, never modified once published
//       train.jsonl  validation.jsonl  stats.json  [preferences.jsonl]
//
// manifest.json names the current generation with each file's URI, size, SHA-256 (and, on gs://,
// the MD5/CRC32C the server computed), and the previous generation (kept until the next run, so a
// tuning job reading it is not cut off). Until manifest.json is replaced, readers see the previous
// generation whole; after, the new one whole: there is no moment at which a train file of one run
// sits beside a validation file of another.
import path from 'node:path';
import { VertexMcpError } from '../errors.js';
import type { Files } from '../files.js';

export const MANIFEST = 'manifest.json';
export const MANIFEST_KIND = 'vertex-mcp#datasetManifest';
/** `gen-<UTC yyyymmddThhmmssmmmZ>-<pid>-<hex4>`. */
export const GENERATION_RE = /^gen-(\d{8}T\d{9}Z)-(\d+)-([0-9a-f]{4})$/;

export interface ManifestFile {
  uri: string;
  size: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  /** Base64 MD5 of the bytes (what GCS reports as md5Hash). */
  md5: string;
  /** gs:// only: base64 CRC32C as the server computed it. */
  crc32c?: string;
  /** JSONL files: the number of lines (examples or pairs). */
  lines?: number;
}

export interface DatasetGeneration {
  generation: string;
  /** ISO time of publication. */
  created: string;
  /** By file name: train.jsonl, validation.jsonl (when any example landed there), stats.json, preferences.jsonl. */
  files: Record<string, ManifestFile>;
}

export interface DatasetManifest extends DatasetGeneration {
  kind: typeof MANIFEST_KIND;
  version: 1;
  /** The output directory (real path) or gs:// prefix. */
  output: string;
  source: 'se_darwin' | 'halo_routing';
  format: string;
  train_examples: number;
  validation_examples: number;
  /** The generation this one replaced, still on disk; null for the first run. */
  previous: DatasetGeneration | null;
}

/** A new generation name (sorts by time). */
export function newGeneration(now = new Date()): string {
  const ts = now.toISOString().replace(/[-:.]/g, ''); // 20250601T120000123Z
  return `gen-${ts}-${process.pid}-${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
}

const join = (dir: string, name: string) => (dir.startsWith('gs://') ? `${dir}/${name}` : path.join(dir, name));
const dirOf = (uri: string) =>
  uri.startsWith('gs://') ? uri.replace(/\/+$/, '').replace(/\/[^/]*$/, '') : path.dirname(uri);
const baseOf = (uri: string) =>
  uri.startsWith('gs://') ? uri.replace(/\/+$/, '').replace(/^.*\//, '') : path.basename(uri);

function badManifest(uri: string, why: string): VertexMcpError {
  return new VertexMcpError(
    'FAILED_PRECONDITION',
    `${uri} is not a valid vertex-mcp dataset manifest (${why})`,
    'Run prepare_dataset again into this output with overwrite: true',
  );
}

function checkGeneration(g: unknown, uri: string): DatasetGeneration {
  const o = g as Partial<DatasetGeneration> | null;
  if (!o || typeof o !== 'object' || typeof o.generation !== 'string' || !GENERATION_RE.test(o.generation)) {
    throw badManifest(uri, 'no generation');
  }
  if (!o.files || typeof o.files !== 'object') throw badManifest(uri, 'no files');
  for (const [name, f] of Object.entries(o.files)) {
    if (!f || typeof f.uri !== 'string' || typeof f.size !== 'number' || typeof f.sha256 !== 'string') {
      throw badManifest(uri, `file ${name} lacks uri, size or sha256`);
    }
  }
  return o as DatasetGeneration;
}

/** Parses and checks a manifest's text. */
export function parseManifest(text: string, uri: string): DatasetManifest {
  let m: Partial<DatasetManifest>;
  try {
    m = JSON.parse(text) as Partial<DatasetManifest>;
  } catch {
    throw badManifest(uri, 'not JSON');
  }
  if (!m || m.kind !== MANIFEST_KIND || m.version !== 1) throw badManifest(uri, `kind is not ${MANIFEST_KIND}`);
  checkGeneration(m, uri);
  if (m.previous) checkGeneration(m.previous, uri);
  return m as DatasetManifest;
}

/**
 * The manifest of a prepare_dataset output (the directory or gs:// prefix, or its manifest.json);
 * null when there is none. A manifest.json that is not one throws FAILED_PRECONDITION.
 */
export async function readDatasetManifest(files: Files, output: string): Promise<DatasetManifest | null> {
  const uri = baseOf(output) === MANIFEST ? output : join(output.replace(/\/+$/, ''), MANIFEST);
  const st = await files.stat(uri, 'output').catch((err: unknown) => {
    // A local path that is a directory named manifest.json, or unreadable: not a manifest.
    if (err instanceof VertexMcpError && err.code === 'INVALID_ARGUMENT') return null;
    throw err;
  });
  if (!st) return null;
  return parseManifest(await files.readText(uri, 'output', 16 << 20), uri);
}

export interface DatasetCheck {
  /** True when the files are a prepare_dataset output (published through a manifest). */
  managed: boolean;
  generation: string | null;
  /** The generation is the one the manifest publishes now (false: the previous one, still kept). */
  current: boolean;
  manifest_uri: string | null;
  /** What was compared for each managed file. */
  checked: { uri: string; size: number; by: 'sha256' | 'md5' | 'size' }[];
  warnings: string[];
}

interface Located {
  field: string;
  uri: string;
  managed: boolean;
  root?: string;
  generation?: string;
  current?: boolean;
  file?: ManifestFile;
}

async function locate(files: Files, field: string, uri: string): Promise<Located> {
  const real = files.isGcs(uri) ? uri : files.localPath(uri, field);
  const parent = dirOf(real);
  const gen = baseOf(parent);
  const name = baseOf(real);
  if (GENERATION_RE.test(gen)) {
    const root = dirOf(parent);
    const m = await readDatasetManifest(files, root);
    if (!m) {
      throw new VertexMcpError(
        'FAILED_PRECONDITION',
        `${field} "${uri}" belongs to dataset generation ${gen}, which was never published (${join(root, MANIFEST)} does not exist): the run that wrote it did not finish`,
        'Run prepare_dataset again and use the URIs it reports',
      );
    }
    const g = m.generation === gen ? m : m.previous?.generation === gen ? m.previous : null;
    if (!g) {
      throw new VertexMcpError(
        'FAILED_PRECONDITION',
        `${field} "${uri}" belongs to dataset generation ${gen}, which ${join(root, MANIFEST)} does not publish (current: ${m.generation}): an unfinished or superseded run`,
        `Use the current files, e.g. ${m.files['train.jsonl']?.uri ?? join(join(root, m.generation), 'train.jsonl')}`,
      );
    }
    const file = g.files[name];
    if (!file) {
      throw new VertexMcpError(
        'FAILED_PRECONDITION',
        `${field} "${uri}" is not a file of dataset generation ${gen} (it has ${Object.keys(g.files).join(', ')})`,
      );
    }
    return { field, uri, managed: true, root, generation: gen, current: g === m, file };
  }
  // Not in a generation: a file named like ours beside a manifest is a leftover of an older layout
  // (or a guess), not what the manifest publishes.
  const m = await readDatasetManifest(files, parent).catch(() => null);
  if (m) {
    const cur = m.files[name];
    throw new VertexMcpError(
      'FAILED_PRECONDITION',
      `${field} "${uri}" is not part of the dataset published in ${join(parent, MANIFEST)} (generation ${m.generation})`,
      cur ? `Use ${cur.uri}` : 'Use the URIs prepare_dataset reported',
    );
  }
  return { field, uri, managed: false };
}

/**
 * Checks that a train/validation pair is what prepare_dataset published, whole: each file that lies
 * in a generation directory must be listed by its output's manifest.json (current or previous
 * generation) with the same size and content (SHA-256 locally, streamed; the server's MD5/CRC32C on
 * gs://, or SHA-256 with `hashes: 'full'`), and train and validation must come from the same
 * generation. Files outside any prepare_dataset output (hand-made datasets) pass unchecked
 * (`managed: false`). Throws FAILED_PRECONDITION saying what is wrong.
 */
export async function checkDataset(
  files: Files,
  dataset: { train_uri: string; validation_uri?: string | null },
  opts: { hashes?: 'auto' | 'full' | 'none' } = {},
): Promise<DatasetCheck> {
  const hashes = opts.hashes ?? 'auto';
  const located = [await locate(files, 'dataset.train_uri', dataset.train_uri)];
  if (dataset.validation_uri) located.push(await locate(files, 'dataset.validation_uri', dataset.validation_uri));
  const managed = located.filter((l) => l.managed);
  const out: DatasetCheck = {
    managed: managed.length > 0,
    generation: managed[0]?.generation ?? null,
    current: managed[0]?.current ?? false,
    manifest_uri: managed[0] ? join(managed[0].root!, MANIFEST) : null,
    checked: [],
    warnings: [],
  };
  if (
    managed.length === 2 &&
    (managed[0]!.root !== managed[1]!.root || managed[0]!.generation !== managed[1]!.generation)
  ) {
    throw new VertexMcpError(
      'FAILED_PRECONDITION',
      `dataset.train_uri is from generation ${managed[0]!.generation} and dataset.validation_uri from ${managed[1]!.generation}${managed[0]!.root !== managed[1]!.root ? ' of another output' : ''}: they are not one prepared dataset`,
      'Use the train_uri and validation_uri of one prepare_dataset run',
    );
  }
  if (managed.length === 1 && located.length === 2) {
    const other = located.find((l) => !l.managed)!;
    out.warnings.push(`${other.field} is not a prepare_dataset output: it was not checked against the manifest`);
  }
  for (const l of managed) {
    const f = l.file!;
    const st = await files.stat(files.isGcs(l.uri) ? l.uri : f.uri, l.field);
    const changed = (why: string) =>
      new VertexMcpError(
        'FAILED_PRECONDITION',
        `${l.field} "${l.uri}" changed after it was published in generation ${l.generation} (${why})`,
        'Run prepare_dataset again with overwrite: true',
      );
    if (!st) throw changed('it no longer exists');
    if (st.size !== f.size) throw changed(`${st.size} bytes, the manifest says ${f.size}`);
    let by: 'sha256' | 'md5' | 'size' = 'size';
    if (hashes !== 'none') {
      if (files.isGcs(l.uri) && hashes === 'auto' && (st.md5 || st.crc32c)) {
        if (st.md5 && f.md5 && st.md5 !== f.md5) throw changed('its MD5 differs from the manifest');
        if (st.crc32c && f.crc32c && st.crc32c !== f.crc32c) throw changed('its CRC32C differs from the manifest');
        by = 'md5';
      } else {
        const d = await files.digest(files.isGcs(l.uri) ? l.uri : f.uri, l.field);
        if (d.sha256 !== f.sha256) throw changed('its SHA-256 differs from the manifest');
        by = 'sha256';
      }
    }
    out.checked.push({ uri: f.uri, size: f.size, by });
  }
  if (managed.length && !out.current) {
    out.warnings.push(
      `generation ${out.generation} is no longer current (a later prepare_dataset run replaced it; it is removed by the run after that)`,
    );
  }
  return out;
}
