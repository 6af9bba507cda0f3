// The invariants every reliability test checks, computed straight from the emulator through the
// official Google clients (ModelService, EndpointService, Cloud Storage) — not through our tools —
// plus the stage the library reports, dataset output directories and stray temporary files.
//
//   registry   one version per (model, semver) (semver: the version description's JSON `version`,
//              else the version alias v1-2-0); the semver's alias sits on that version; at most one
//              version holds the production alias, at most one the staging alias, at most one has
//              label stage=production; the label stage and the stage get_model reports equal what
//              the production/staging aliases say
//   endpoints  every traffic split sums to 100 over deployed models (empty when nothing is
//              deployed); one deployment per model version per endpoint; optionally one endpoint
//              per display name
//   datasets   an output holds one run's files or none: train.jsonl and stats.json together, the
//              line counts stats.json reports, no prompt in both train and validation, no stale
//              validation.jsonl; a manifest.json (when there is one) matches its files' sizes and
//              hashes; nothing else is left in the output (temporary or orphaned files)
//   temp files no `*.tmp` file anywhere under the scanned roots
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import type { VertexClients } from '../../src/lib/clients.js';
import { versionAlias } from '../../src/lib/registry/naming.js';

type IModel = google.cloud.aiplatform.v1.IModel;

export const INV = {
  oneVersionPerSemver: 'one version per (model, semver)',
  semverAlias: "the semver's version alias is on the version that describes it",
  oneProductionAlias: 'at most one version holds the production alias',
  oneStagingAlias: 'at most one version holds the staging alias',
  oneProductionLabel: 'at most one version has label stage=production',
  labelMatchesAliases: 'the stage label equals what the production/staging aliases say',
  reportedStage: 'the stage get_model reports equals what the aliases say',
  splitSums: 'every traffic split sums to 100 over deployed models (empty when none)',
  oneDeploymentPerVersion: 'one deployment per model version per endpoint',
  oneEndpointPerName: 'one endpoint per display name',
  datasetWhole: 'a dataset output is whole or absent',
  datasetOneRun: 'a dataset output holds the files of one run',
  datasetManifest: 'the dataset manifest matches its files',
  noStrayFiles: 'no stray temporary or orphaned files',
} as const;

export interface Violation {
  invariant: string;
  where: string;
  detail: string;
}

export interface CheckOptions {
  /** Official clients pointed at the emulator under test. */
  clients: VertexClients;
  /** The stage the library reports for name@version (what get_model shows); skipped when absent. */
  reportedStage?: (name: string, version: string) => Promise<string | null>;
  /** Check label-level invariants (default true). */
  labels?: boolean;
  /** Dataset outputs (local directories or gs:// prefixes) to check. */
  datasets?: string[];
  /** Local directories scanned for stray `*.tmp` files. */
  tempRoots?: string[];
  /** Require one endpoint per display name (an agent that created each name once). */
  uniqueEndpointNames?: boolean;
  /** Only these models (default: all). */
  models?: string[];
  /** Only endpoints with these display names (default: all). */
  endpoints?: string[];
}

export interface CheckResult {
  violations: Violation[];
  counts: { models: number; versions: number; endpoints: number; deployments: number; datasets: number };
}

const stageOfAliases = (aliases: string[]): string | null =>
  aliases.includes('production') ? 'production' : aliases.includes('staging') ? 'staging' : null;

/** The semver a version carries: its description's `version`, else what its v-alias spells. */
export function semverOf(m: IModel): { desc: string | null; alias: string | null } {
  let desc: string | null = null;
  try {
    const doc = JSON.parse(m.versionDescription ?? '') as unknown;
    if (doc && typeof doc === 'object' && typeof (doc as { version?: unknown }).version === 'string') {
      desc = (doc as { version: string }).version;
    }
  } catch {
    // not a JSON description
  }
  let alias: string | null = null;
  for (const a of m.versionAliases ?? []) {
    const x = /^v(\d+)-(\d+)-(\d+)(?:-(.+))?$/.exec(a);
    if (x) alias = `${x[1]}.${x[2]}.${x[3]}${x[4] ? `-${x[4]}` : ''}`;
  }
  return { desc, alias };
}

export async function checkInvariants(o: CheckOptions): Promise<CheckResult> {
  const violations: Violation[] = [];
  const counts = { models: 0, versions: 0, endpoints: 0, deployments: 0, datasets: 0 };
  const add = (invariant: string, where: string, detail: string) => violations.push({ invariant, where, detail });

  // ---- registry
  const models = await o.clients.models();
  const endpoints = await o.clients.endpoints();
  const [[all], [eps]] = await Promise.all([
    models.listModels({ parent: o.clients.parent }),
    endpoints.listEndpoints({ parent: o.clients.parent }),
  ]);
  const chosen = all.filter((m) => !o.models || o.models.includes(String(m.name).split('/').pop()!));
  const listed = await Promise.all(chosen.map((m) => models.listModelVersions({ name: String(m.name) })));
  for (const [mi, model] of chosen.entries()) {
    const id = String(model.name).split('/').pop()!;
    counts.models++;
    const [versions] = listed[mi]!;
    counts.versions += versions.length;
    const bySemver = new Map<string, IModel[]>();
    const aliasHolders = new Map<string, string[]>();
    const prodLabels: string[] = [];
    for (const v of versions) {
      const vid = `${id}@${v.versionId}`;
      const aliases = [...(v.versionAliases ?? [])];
      for (const a of aliases) aliasHolders.set(a, [...(aliasHolders.get(a) ?? []), String(v.versionId)]);
      const { desc, alias } = semverOf(v);
      const semver = desc ?? alias;
      if (semver) bySemver.set(semver, [...(bySemver.get(semver) ?? []), v]);
      if (desc) {
        let expected: string | null = null;
        try {
          expected = versionAlias(desc);
        } catch {
          add(INV.semverAlias, vid, `the description's version "${desc}" is not a semver the registry accepts`);
        }
        if (expected && !aliases.includes(expected)) {
          add(INV.semverAlias, vid, `describes ${desc} but does not hold alias ${expected} (aliases: ${aliases})`);
        }
      }
      const byAlias = stageOfAliases(aliases);
      if (aliases.includes('production') && aliases.includes('staging')) {
        add(INV.labelMatchesAliases, vid, 'holds both the production and the staging alias');
      }
      const label = v.labels?.stage ?? null;
      if (label === 'production') prodLabels.push(vid);
      if (o.labels !== false) {
        const ok = byAlias ? label === byAlias : label !== 'production' && label !== 'staging';
        if (!ok) add(INV.labelMatchesAliases, vid, `label stage=${label} but aliases [${aliases.join(', ')}]`);
      }
    }
    for (const [semver, vs] of bySemver) {
      if (vs.length > 1) {
        add(
          INV.oneVersionPerSemver,
          `${id} ${semver}`,
          `${vs.length} versions: ${vs.map((v) => `id ${v.versionId} [${(v.versionAliases ?? []).join(', ')}] stage=${v.labels?.stage}`).join('; ')}`,
        );
      }
    }
    for (const [alias, inv] of [
      ['production', INV.oneProductionAlias],
      ['staging', INV.oneStagingAlias],
    ] as const) {
      const holders = aliasHolders.get(alias) ?? [];
      if (holders.length > 1) add(inv, id, `held by version ids ${holders.join(', ')}`);
    }
    if (o.labels !== false && prodLabels.length > 1) add(INV.oneProductionLabel, id, prodLabels.join(', '));
    if (o.reportedStage) {
      const reported = o.reportedStage;
      const single = [...bySemver].filter(([, vs]) => vs.length === 1); // else ambiguous: already a violation
      const got = await Promise.all(
        single.map(([semver]) =>
          reported(id, semver).then(
            (stage) => ({ stage, err: null }),
            (err: Error) => ({ stage: null, err: String(err?.message ?? err).slice(0, 200) }),
          ),
        ),
      );
      for (const [j, [semver, vs]] of single.entries()) {
        const v = vs[0]!;
        const want = stageOfAliases(v.versionAliases ?? []);
        const { stage, err } = got[j]!;
        if (err) {
          add(INV.reportedStage, `${id} ${semver}`, `get_model failed: ${err}`);
          continue;
        }
        const ok = want ? stage === want : stage !== 'production' && stage !== 'staging';
        if (!ok) {
          add(
            INV.reportedStage,
            `${id} ${semver}`,
            `reports ${stage}, aliases [${(v.versionAliases ?? []).join(', ')}] say ${want ?? 'neither production nor staging'}`,
          );
        }
      }
    }
  }

  // ---- endpoints
  const byName = new Map<string, string[]>();
  for (const e of eps) {
    if (o.endpoints && !o.endpoints.includes(String(e.displayName))) continue;
    counts.endpoints++;
    const eid = String(e.name).split('/').pop()!;
    byName.set(String(e.displayName), [...(byName.get(String(e.displayName)) ?? []), eid]);
    const deployed = (e.deployedModels ?? []).map((d) => String(d.id));
    counts.deployments += deployed.length;
    const split = Object.entries(e.trafficSplit ?? {}).map(([k, v]) => [k, Number(v)] as const);
    const sum = split.reduce((s, [, v]) => s + v, 0);
    const stray = split.filter(([k]) => !deployed.includes(k)).map(([k]) => k);
    if ((deployed.length ? sum !== 100 : sum !== 0) || stray.length) {
      add(
        INV.splitSums,
        `endpoint ${e.displayName} (${eid})`,
        `split ${JSON.stringify(Object.fromEntries(split))} over deployed [${deployed.join(', ')}]${stray.length ? `; names undeployed ${stray.join(', ')}` : ''}`,
      );
    }
    const perVersion = new Map<string, string[]>();
    for (const d of e.deployedModels ?? []) {
      // DeployedModel.model names the model, with @version or beside model_version_id.
      const model = String(d.model ?? '');
      const key = model.includes('@') ? model : `${model}@${d.modelVersionId ?? d.displayName}`;
      perVersion.set(key, [...(perVersion.get(key) ?? []), `${d.id} (${d.displayName})`]);
    }
    for (const [model, ds] of perVersion) {
      if (ds.length > 1)
        add(
          INV.oneDeploymentPerVersion,
          `endpoint ${e.displayName} (${eid})`,
          `${model} deployed ${ds.length}x: ${ds}`,
        );
    }
  }
  if (o.uniqueEndpointNames) {
    for (const [name, ids] of byName)
      if (ids.length > 1) add(INV.oneEndpointPerName, `endpoint ${name}`, `${ids.length} endpoints: ${ids}`);
  }

  // ---- datasets and temp files
  for (const d of o.datasets ?? []) {
    counts.datasets++;
    violations.push(...(await checkDataset(o.clients, d)));
  }
  for (const root of o.tempRoots ?? []) violations.push(...strayTempFiles(root));
  return { violations, counts };
}

// ---------------------------------------------------------------------------------------------
// Datasets

const FAMILY = ['train.jsonl', 'validation.jsonl', 'stats.json', 'preferences.jsonl', 'manifest.json'];

interface Listed {
  /** Path relative to the output. */
  rel: string;
  size: number;
  read(): Promise<Buffer>;
}

async function listOutput(clients: VertexClients, dir: string): Promise<Listed[]> {
  if (dir.startsWith('gs://')) {
    const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(dir.replace(/\/+$/, ''))!;
    const bucket = (await clients.storage()).bucket(m[1]!);
    const prefix = m[2] ? `${m[2]}/` : '';
    const [files] = await bucket.getFiles({ prefix }).catch((err: { code?: number }) => {
      if (err?.code === 404) return [[]] as never;
      throw err;
    });
    return files.map((f) => ({
      rel: f.name.slice(prefix.length),
      size: Number(f.metadata.size ?? 0),
      read: async () => (await f.download())[0],
    }));
  }
  if (!fs.existsSync(dir)) return [];
  const out: Listed[] = [];
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    out.push({ rel: path.relative(dir, full), size: fs.statSync(full).size, read: async () => fs.readFileSync(full) });
  }
  return out;
}

interface ManifestEntry {
  rel: string;
  size?: number;
  hashes: { algo: string; value: string }[];
}

/**
 * Reads manifest.json whatever its exact shape: files as an array or a map, common field names.
 * With `previous`, the files of the generation it replaced (kept by design until the next run).
 */
function manifestEntries(doc: unknown, dir: string, previous = false): ManifestEntry[] | null {
  if (!doc || typeof doc !== 'object') return null;
  let d = doc as Record<string, unknown>;
  if (previous) {
    if (!d.previous || typeof d.previous !== 'object') return [];
    d = d.previous as Record<string, unknown>;
  }
  const raw = d.files ?? d.outputs ?? d.entries;
  let items: [string | undefined, Record<string, unknown>][] = [];
  if (Array.isArray(raw)) items = raw.map((x) => [undefined, x as Record<string, unknown>]);
  else if (raw && typeof raw === 'object')
    items = Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, (v ?? {}) as Record<string, unknown>]);
  else return null;
  const out: ManifestEntry[] = [];
  for (const [key, x] of items) {
    const name = [x.path, x.name, x.uri, x.file, x.object, key].find((v) => typeof v === 'string') as
      | string
      | undefined;
    if (!name) return null;
    let rel = name;
    const base = dir.replace(/\/+$/, '');
    if (rel.startsWith(`${base}/`)) rel = rel.slice(base.length + 1);
    else if (path.isAbsolute(rel) && rel.startsWith(base + path.sep)) rel = path.relative(base, rel);
    const hashes: ManifestEntry['hashes'] = [];
    for (const algo of ['sha256', 'md5', 'sha1', 'crc32c', 'md5Hash', 'hash', 'digest', 'checksum']) {
      const v = x[algo];
      if (typeof v !== 'string') continue;
      const m = /^(sha256|sha1|md5)[:-](.+)$/i.exec(v);
      if (m) hashes.push({ algo: m[1]!.toLowerCase(), value: m[2]! });
      else hashes.push({ algo: algo === 'md5Hash' ? 'md5' : algo, value: v });
    }
    const size = [x.size, x.bytes, x.size_bytes].find((v) => typeof v === 'number' || typeof v === 'string');
    out.push({ rel, ...(size !== undefined ? { size: Number(size) } : {}), hashes });
  }
  return out;
}

function hashMatches(buf: Buffer, algo: string, value: string): boolean | null {
  const known = ['sha256', 'sha1', 'md5'];
  const a = known.includes(algo) ? algo : value.length === 64 ? 'sha256' : value.length === 32 ? 'md5' : null;
  if (!a) return null; // crc32c and unknown: not checked
  const h = createHash(a).update(buf);
  const hex = h.copy().digest('hex');
  const b64 = h.digest('base64');
  return value.toLowerCase() === hex || value === b64;
}

/** The user prompt of one tuning line (gemini or prompt/completion format). */
function promptOf(line: string): string | null {
  try {
    const o = JSON.parse(line) as { contents?: { parts?: { text?: string }[] }[]; prompt?: string };
    return o.contents?.[0]?.parts?.[0]?.text ?? o.prompt ?? null;
  } catch {
    return null;
  }
}

export async function checkDataset(clients: VertexClients, dir: string): Promise<Violation[]> {
  const v: Violation[] = [];
  const add = (invariant: string, detail: string) => v.push({ invariant, where: `dataset ${dir}`, detail });
  const files = await listOutput(clients, dir);
  if (files.length === 0) return v; // absent is fine
  const byRel = new Map(files.map((f) => [f.rel, f]));
  let set = new Map<string, Listed>(); // basename -> file of the published run
  const referenced = new Set<string>();
  const manifestFile = byRel.get('manifest.json');
  let manifestCounts: { train_examples?: unknown; validation_examples?: unknown } = {};
  if (manifestFile) {
    referenced.add('manifest.json');
    let entries: ManifestEntry[] | null = null;
    let previous: ManifestEntry[] | null = [];
    try {
      const doc = JSON.parse((await manifestFile.read()).toString('utf8'));
      manifestCounts = doc ?? {};
      entries = manifestEntries(doc, dir);
      previous = manifestEntries(doc, dir, true);
    } catch {
      entries = null;
    }
    if (!entries) add(INV.datasetManifest, 'manifest.json cannot be read as a list of files');
    for (const [gen, list] of [
      ['current', entries ?? []],
      ['previous', previous ?? []],
    ] as const) {
      for (const e of list) {
        referenced.add(e.rel);
        const f = byRel.get(e.rel);
        if (!f) {
          add(INV.datasetManifest, `manifest names ${e.rel} (${gen} generation), which is missing`);
          continue;
        }
        const buf = await f.read();
        if (e.size !== undefined && e.size !== buf.length)
          add(INV.datasetManifest, `${e.rel}: manifest size ${e.size}, file ${buf.length}`);
        for (const h of e.hashes) {
          if (hashMatches(buf, h.algo, h.value) === false)
            add(INV.datasetManifest, `${e.rel}: ${h.algo} differs from the manifest`);
        }
        if (gen === 'current') set.set(path.basename(e.rel), f);
      }
    }
  } else {
    set = new Map(files.filter((f) => FAMILY.includes(f.rel)).map((f) => [f.rel, f]));
    for (const f of set.values()) referenced.add(f.rel);
  }
  for (const f of files) {
    if (!referenced.has(f.rel)) add(INV.noStrayFiles, `${f.rel} (${f.size} bytes) belongs to no published run`);
  }
  const train = set.get('train.jsonl');
  const stats = set.get('stats.json');
  const validation = set.get('validation.jsonl');
  if (!train || !stats) {
    if (train || stats || validation)
      add(INV.datasetWhole, `has ${[...set.keys()].join(', ')} but not both train.jsonl and stats.json`);
    return v;
  }
  let report: { train_examples?: number; validation_examples?: number } = {};
  try {
    report = JSON.parse((await stats.read()).toString('utf8'));
  } catch {
    add(INV.datasetWhole, 'stats.json is not JSON (cut short?)');
    return v;
  }
  const lines = (b: Buffer) => b.toString('utf8').split('\n').filter(Boolean);
  const tl = lines(await train.read());
  const vl = validation ? lines(await validation.read()) : [];
  if (typeof report.train_examples === 'number' && report.train_examples !== tl.length)
    add(INV.datasetOneRun, `stats.json says ${report.train_examples} train examples, train.jsonl has ${tl.length}`);
  if (typeof report.validation_examples === 'number' && report.validation_examples !== vl.length)
    add(
      INV.datasetOneRun,
      `stats.json says ${report.validation_examples} validation examples, validation.jsonl has ${validation ? vl.length : 'no file'}`,
    );
  for (const [k, n] of [
    ['train_examples', tl.length],
    ['validation_examples', vl.length],
  ] as const) {
    const said = manifestCounts[k];
    if (typeof said === 'number' && said !== n)
      add(INV.datasetOneRun, `manifest.json says ${said} ${k}, the file has ${n}`);
  }
  const trainPrompts = new Set(tl.map(promptOf).filter((p) => p !== null));
  const both = vl.map(promptOf).filter((p) => p !== null && trainPrompts.has(p));
  if (both.length) add(INV.datasetOneRun, `${both.length} prompt(s) in both train and validation`);
  return v;
}

/** Every file under `root` (recursively) that is, or sits in a directory that is, named `*.tmp`. */
export function strayTempFiles(root: string): Violation[] {
  if (!fs.existsSync(root)) return [];
  const out: Violation[] = [];
  for (const e of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    if (
      path
        .relative(root, full)
        .split(path.sep)
        .some((part) => /\.tmp$/i.test(part))
    )
      out.push({ invariant: INV.noStrayFiles, where: full, detail: `${fs.statSync(full).size} bytes` });
  }
  return out;
}

export function describeViolations(vs: Violation[]): string {
  return vs.map((x) => `- [${x.invariant}] ${x.where}: ${x.detail}`).join('\n');
}

/** Violations counted per invariant. */
export function tally(vs: Violation[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const x of vs) t[x.invariant] = (t[x.invariant] ?? 0) + 1;
  return t;
}
