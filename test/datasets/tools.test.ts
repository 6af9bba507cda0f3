// The tools that write files, through a real MCP client (prepare_dataset, export_grafana_dashboard):
// a write that did not happen is an error and nothing is listed; names GCS refuses are refused; an
// existing file or dataset is replaced only with overwrite: true; the data directory (the ledger, the
// emulator's database and objects) is never written, whatever the allowed roots; file:// and ~ are
// refused; a directory where a file is expected is INVALID_ARGUMENT.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../helpers.js';
import { EXAMPLES, HALO_LOG, tempDir, tree } from './helpers.js';

/** The stack of test/helpers.ts with the library's allowed roots and data directory set. */
function stack(opts: { allowedRoots: string[]; dataDir?: string }): Promise<Stack> {
  const dataDir = opts.dataDir ?? ':memory:';
  return startStack({ dataDir, library: { allowedRoots: opts.allowedRoots, dataDir } });
}

const tmp = tempDir('vertex-mcp-tools-');
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const halo = (output: string, extra: Record<string, unknown> = {}) => ({
  source: 'halo_routing',
  input: HALO_LOG,
  output,
  ...extra,
});
let s: Stack;

beforeAll(async () => {
  s = await stack({ allowedRoots: [tmp, EXAMPLES] });
});
afterAll(async () => {
  await s?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const objects = () => s.emu.gcs.list('gs://vertex-mcp-emulator/').map((o) => o.name);

describe('a write that fails is an error, and nothing is listed', () => {
  it('prepare_dataset and export_grafana_dashboard into a bucket that does not exist', async () => {
    const buckets = s.emu.gcs.listBuckets().items.map((b) => b.name);
    const before = objects();
    expect(await s.refused('prepare_dataset', halo('gs://no-such-bucket/ds'))).toBe(
      'INVALID_ARGUMENT: output "gs://no-such-bucket/ds": bucket "no-such-bucket" does not exist; nothing was written. Create the bucket first, or use a URI in an existing bucket',
    );
    expect(
      await s.refused('export_grafana_dashboard', { datasource: 'prometheus', path: 'gs://no-such-bucket/d.json' }),
    ).toMatch(
      /^INVALID_ARGUMENT: path "gs:\/\/no-such-bucket\/d\.json": bucket "no-such-bucket" does not exist; nothing was written/,
    );
    expect(s.emu.gcs.listBuckets().items.map((b) => b.name)).toEqual(buckets);
    expect(objects()).toEqual(before);
    expect(await s.lib.files.exists('gs://no-such-bucket/ds')).toBe(false);
  });

  it('refuses object names with NUL (or other characters GCS refuses), local paths with NUL', async () => {
    const before = objects();
    expect(await s.refused('prepare_dataset', halo('gs://vertex-mcp-emulator/a\u0000b'))).toMatch(
      /^INVALID_ARGUMENT: output "gs:\/\/vertex-mcp-emulator\/a\\u0000b\/": the object name contains NUL \(U\+0000\)/,
    );
    expect(await s.refused('prepare_dataset', halo('gs://vertex-mcp-emulator/a\nb'))).toMatch(
      /cannot contain carriage returns or line feeds/,
    );
    expect(
      await s.refused('export_grafana_dashboard', {
        datasource: 'prometheus',
        path: 'gs://vertex-mcp-emulator/.well-known/acme-challenge/d.json',
      }),
    ).toMatch(/cannot start with \.well-known\/acme-challenge\//);
    expect(
      await s.refused('export_grafana_dashboard', { datasource: 'prometheus', path: `${tmp}/a\u0000b.json` }),
    ).toMatch(/^INVALID_ARGUMENT: path contains a NUL character/);
    expect(objects()).toEqual(before);
  });

  it('refuses file:// and ~ outputs, saying to give a plain path (no literal directories appear)', async () => {
    expect(await s.refused('prepare_dataset', halo(`file://${tmp}/ds`))).toBe(
      `INVALID_ARGUMENT: output "file://${tmp}/ds" is a file:// URI: local outputs and inputs are plain paths. Give a plain absolute or relative path, e.g. "${tmp}/ds"`,
    );
    expect(await s.refused('export_grafana_dashboard', { datasource: 'prometheus', path: '~/dash.json' })).toMatch(
      /^INVALID_ARGUMENT: path "~\/dash\.json" starts with "~", which is not expanded here/,
    );
    expect(await s.refused('prepare_dataset', halo('~/ds'))).toMatch(/starts with "~"/);
    for (const d of [process.cwd(), tmp]) {
      expect(fs.existsSync(path.join(d, 'file:'))).toBe(false);
      expect(fs.existsSync(path.join(d, '~'))).toBe(false);
    }
  });

  it('a directory given as a file is INVALID_ARGUMENT, not INTERNAL', async () => {
    const dir = path.join(tmp, 'a-dir');
    fs.mkdirSync(dir);
    expect(await s.refused('export_grafana_dashboard', { datasource: 'prometheus', path: dir, overwrite: true })).toBe(
      `INVALID_ARGUMENT: path "${dir}" is a directory, not a file. Name a file inside it`,
    );
    // A dataset file that is a directory (the tuning pipeline reads it through Files).
    const r = await s.call('submit_tuning_job', {
      base_model: 'local/text-router',
      dataset: { train_uri: dir },
      tuning_type: 'supervised',
    });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^INVALID_ARGUMENT: /);
    expect(r.content[0]!.text).not.toMatch(/EISDIR|INTERNAL/);
  });
});

describe('nothing is replaced without overwrite: true', () => {
  it('export_grafana_dashboard: a local file, then a gs:// object', async () => {
    const f = path.join(tmp, 'dash.json');
    fs.writeFileSync(f, 'my notes\n');
    const refusal = await s.refused('export_grafana_dashboard', { datasource: 'prometheus', path: f });
    expect(refusal).toBe(
      `ALREADY_EXISTS: path "${f}" already exists; nothing was written. Pass overwrite: true to replace it, or choose another path`,
    );
    expect(fs.readFileSync(f, 'utf8')).toBe('my notes\n');
    const done = await s.ok('export_grafana_dashboard', { datasource: 'prometheus', path: f, overwrite: true });
    expect(done).toMatchObject({ path: f, bytes: fs.statSync(f).size, sha256: sha(f) });
    expect(JSON.parse(fs.readFileSync(f, 'utf8')).panels.length).toBe(done.panels);
    expect(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const uri = 'gs://vertex-mcp-emulator/dashboards/d.json';
    await s.ok('export_grafana_dashboard', { datasource: 'cloud-monitoring', path: uri });
    const gen = s.emu.gcs.stat(uri)!.generation;
    expect(await s.refused('export_grafana_dashboard', { datasource: 'prometheus', path: uri })).toMatch(
      /^ALREADY_EXISTS: path "gs:\/\/vertex-mcp-emulator\/dashboards\/d\.json" already exists; nothing was written/,
    );
    expect(s.emu.gcs.stat(uri)!.generation).toBe(gen);
    await s.ok('export_grafana_dashboard', { datasource: 'prometheus', path: uri, overwrite: true });
    expect(s.emu.gcs.stat(uri)!.generation).not.toBe(gen);
  });

  it('prepare_dataset: a published dataset is replaced by a new generation only with overwrite', async () => {
    for (const output of [path.join(tmp, 'ds'), 'gs://vertex-mcp-emulator/ds']) {
      const first = await s.ok('prepare_dataset', halo(output));
      expect(first).toMatchObject({
        generation: expect.stringMatching(/^gen-\d{8}T\d{9}Z-\d+-[0-9a-f]{4}$/),
        manifest_uri: `${output}/manifest.json`,
        previous_generation: null,
      });
      expect(first.train_uri).toBe(`${output}/${first.generation}/train.jsonl`);
      const manifest = await s.lib.files.readText(first.manifest_uri);
      expect(await s.refused('prepare_dataset', halo(output, { validation_fraction: 0.3 }))).toMatch(
        /^ALREADY_EXISTS: output ".*ds" already holds a dataset \(generation gen-.*, \d+ train and \d+ validation examples\); nothing was written\. Pass overwrite: true/,
      );
      expect(await s.lib.files.readText(first.manifest_uri)).toBe(manifest);
      const second = await s.ok('prepare_dataset', halo(output, { validation_fraction: 0.3, overwrite: true }));
      expect(second.previous_generation).toBe(first.generation);
      expect(second.generation).not.toBe(first.generation);
      const m = JSON.parse(await s.lib.files.readText(second.manifest_uri));
      expect([m.generation, m.previous.generation]).toEqual([second.generation, first.generation]);
      expect(m.files['train.jsonl'].uri).toBe(second.train_uri);
    }
    expect(tree(path.join(tmp, 'ds')).filter((n) => n.includes('.tmp'))).toEqual([]);
  });
});

describe('the data directory is never written, whatever the allowed roots', () => {
  let d: Stack;
  const home = path.join(tmp, 'home');
  const data = path.join(home, '.vertex-mcp');

  beforeAll(async () => {
    fs.mkdirSync(home, { recursive: true });
    // As before this fix: the data directory inside an allowed root.
    d = await stack({ allowedRoots: [home, EXAMPLES], dataDir: data });
    await d.ok('list_alert_rules', {}); // opens the ledger (ledger.sqlite)
    await d.lib.files.writeText('gs://vertex-mcp-emulator/kept.txt', 'object bytes');
  });
  afterAll(async () => {
    await d?.close();
  });

  it('refuses the ledger, the emulator database, its objects and any new file there; they stay intact', async () => {
    const blob = d.emu.gcs.blobPath(d.emu.gcs.getObject('vertex-mcp-emulator', 'kept.txt'));
    const targets = [
      path.join(data, 'ledger.sqlite'),
      path.join(data, 'emulator.sqlite'),
      blob,
      path.join(data, 'notes.md'),
      path.join(data, 'gcs'),
    ];
    const before = targets.filter((t) => fs.existsSync(t) && fs.statSync(t).isFile()).map((t) => [t, sha(t)]);
    expect(before.length).toBe(3);
    for (const p of targets) {
      const text = await d.refused('export_grafana_dashboard', { datasource: 'prometheus', path: p, overwrite: true });
      expect(text).toMatch(
        new RegExp(
          `^PERMISSION_DENIED: path ".*" is inside the vertex-mcp data directory ${fs.realpathSync(data)}, which holds the server's own state`,
        ),
      );
    }
    expect(await d.refused('prepare_dataset', halo(path.join(data, 'prepared'), { overwrite: true }))).toMatch(
      /^PERMISSION_DENIED: output ".*prepared" is inside the vertex-mcp data directory/,
    );
    expect(
      await d.refused('prepare_dataset', { source: 'se_darwin', input: data, output: path.join(home, 'x') }),
    ).toMatch(/^PERMISSION_DENIED: input ".*\.vertex-mcp" is inside the vertex-mcp data directory/);
    for (const [t, h] of before) expect(sha(t!)).toBe(h);
    expect(fs.existsSync(path.join(data, 'notes.md'))).toBe(false);
    expect(fs.existsSync(path.join(data, 'prepared'))).toBe(false);
    // The ledger and the objects still work.
    expect((await d.ok('list_alert_rules', {})).count).toBe(0);
    expect(await d.lib.files.readText('gs://vertex-mcp-emulator/kept.txt')).toBe('object bytes');
    // Beside the data directory, inside the root: allowed.
    await d.ok('export_grafana_dashboard', { datasource: 'prometheus', path: path.join(home, 'dash.json') });
  });
});
