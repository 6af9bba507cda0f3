// A property-based fuzzer over the whole tool catalogue, through a real MCP client. fast-check
// (fixed seed) generates each call's arguments from the tool's input JSON schema as tools/list
// gives it, valid-shaped (with values drawn from the fixtures: existing models, versions,
// endpoints, jobs, tests, paths) or mutated (wrong types, strings up to 300 KB, 2,000-deep nesting,
// unicode, NUL, ../ traversal, file://, ~/, gs:// edge cases, 2^53-1, -0, "NaN", unknown and missing
// fields, oversized arrays). Destructive tools get confirm: true a third of the time.
//
// After every call: the server answers promptly (ping, and a read that reaches the emulator); an
// isError result has a code that is not INTERNAL (nor UNAVAILABLE/DEADLINE_EXCEEDED: no call may
// stall the channel) and a text under 4 KB; a result text stays under 16 KB; the registry and
// endpoint invariants (invariants.ts) hold; no existing file, GCS object or data-directory file was
// overwritten without confirm. At the end: dataset outputs whole, no stray temp files, no literal
// `~` or `file:` directories, the ledger still answers.
//
// The server's working directory and allowed roots are a temporary directory (the CLI's defaults:
// the working directory and the data directory inside it), so relative paths land there.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolResult } from '../helpers.js';
import { checkInvariants, INV, strayTempFiles } from './invariants.js';
import {
  cleanupDirs,
  errorCode,
  figures,
  haloLog,
  putRouter,
  type RStack,
  routerArgs,
  routingJsonl,
  SEED,
  scaled,
  startRStack,
  textOf,
  tmpDir,
  within,
} from './support.js';

const CALLS = scaled(3000);
const BATCH = 100;
const CALL_TIMEOUT_MS = 15_000;
const ALIVE_TIMEOUT_MS = 5_000;
const MAX_ERROR_BYTES = 4096;
const MAX_TEXT_BYTES = 16 * 1024;
/** Registry invariants with the stage get_model reports: every this many calls (and at the end). */
const FULL_CHECK_EVERY = 100;

type Json = unknown;
interface Tool {
  name: string;
  inputSchema: Record<string, any>;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean };
}
interface Failure {
  check: string;
  tool: string;
  args: string;
  detail: string;
}

let s: RStack;
let base: string; // parent of the server's working directory: "outside" lives here
let root: string; // the server's working directory and allowed root
let dataDir: string;
let cwd: string;
let tools: Tool[] = [];
const fix = {
  endpointId: '',
  jobId: '',
  predictionIds: ['1'],
  notes: '',
  notesText: 'notes the user wrote; no tool may overwrite them without confirm\n',
  keep: 'gs://vertex-mcp-emulator/fz/keep.txt',
  keepText: 'an object no tool may overwrite without confirm\n',
};
const figs = {
  calls: 0,
  by_tool: {} as Record<string, { calls: number; ok: number; errors: Record<string, number> }>,
  mutated: 0,
  confirm: 0,
  stalls: 0,
  max_error_bytes: 0,
  max_text_bytes: 0,
  registry_checks: 0,
  reseeds: 0,
  reseed_errors: 0,
  reseed_notes: [] as string[],
  /** Milliseconds spent in the calls, the liveness probes, the file checks and the registry checks. */
  ms: { calls: 0, alive: 0, files: 0, registry: 0 },
};
const failures: Failure[] = [];
/** The first error text per tool and code (printed with RELIABILITY_VERBOSE=1). */
const samples: Record<string, string> = {};
const seenInvariant = new Set<string>();
const started = Date.now();

// ---------------------------------------------------------------------------------------------
// Values

const BIG_70K = 'x'.repeat(70_000); // past the ~64 KB status size that stalled a channel
const BIG_300K = 'y'.repeat(300_000);
const BIG_UNICODE = '💥ü'.repeat(30_000); // ~180 KB of multi-byte characters
const nest = (depth: number): Json => {
  let v: Json = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};
const DEEP = nest(2000);

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u202egnp.exe',
  'ünïcødé ✓ 中文 🚀',
  '\ud800',
  '%s%n%x',
  ['$', '{jndi:ldap://x}'].join(''),
  '"; DROP TABLE docs; --',
  '" OR labels.source="manual',
  '\\',
  '\n\r\t',
  '__proto__',
  'constructor',
  'NaN',
  'Infinity',
  '-0',
  '9007199254740991',
  'null',
  'true',
  '{}',
  '[]',
  'a'.repeat(64),
  'a'.repeat(4097),
  BIG_70K,
  BIG_300K,
  BIG_UNICODE,
];
const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  100,
  101,
  2 ** 31,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2 ** 53,
  1e308,
  -1e308,
  5e-324,
  Number.EPSILON,
];

/**
 * Values by field name, built in beforeAll from the fixtures: `good` ones name what exists (or
 * could: new versions, outputs inside the roots), `edge` ones are what an attacker or a careless
 * agent sends.
 */
let pools: Record<string, { good: Json[]; edge: Json[] }> = {};

function buildPools() {
  const outside = path.join(base, 'outside');
  const existingBlob = fs.readdirSync(path.join(dataDir, 'gcs', 'vertex-mcp-emulator'))[0] ?? 'x';
  const goodOut = [
    path.join(root, 'out', 'ds-a'),
    path.join(root, 'out', 'ds-b'),
    'out/ds-rel',
    'gs://vertex-mcp-emulator/fz/out/a',
    'gs://vertex-mcp-emulator/fz/out/b/',
  ];
  const goodIn = [
    path.join(root, 'in', 'halo.jsonl'),
    path.join(root, 'in', 'darwin'),
    'in/halo.jsonl',
    'gs://vertex-mcp-emulator/fz/in/halo.jsonl',
  ];
  const edgePaths = [
    fix.notes,
    'notes.md',
    path.join(dataDir, 'ledger.sqlite'),
    path.join(dataDir, 'emulator.sqlite'),
    path.join(dataDir, 'gcs', 'vertex-mcp-emulator', existingBlob),
    path.join(dataDir, 'new-dir'),
    dataDir,
    root,
    path.join(root, 'in'),
    path.join(root, '..', 'outside', 'secret.txt'),
    `${root}/../../${path.basename(base)}/outside/x`,
    path.join(outside, 'secret.txt'),
    `file://${path.join(root, 'out', 'file-url')}`,
    'file://out/file-url-rel',
    '~/dot-home',
    '~/.ssh/id_rsa_fuzz',
    path.join(root, 'out', 'a\u0000b'),
    `${root}/in/../in/halo.jsonl`,
    'gs://',
    'gs:///x',
    'gs://UPPER/x',
    'gs://vertex-mcp-emulator',
    'gs://vertex-mcp-emulator/',
    'gs://no-such-bucket-vertex-mcp/out',
    fix.keep,
    'gs://vertex-mcp-emulator/fz/a\u0000b',
    'gs://vertex-mcp-emulator/../x',
    `gs://vertex-mcp-emulator/${'k'.repeat(2000)}`,
    'gs://a/b',
    'gs://bucket_with_underscore/x',
  ];
  const versions = {
    good: ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.0.0-rc.1', '2.0.0-rc-1', '3.0.0', '3.1.0'],
    edge: ['1.2', 'v1.0.0', '01.0.0', '1.0.0+build.5', '9007199254740991.0.0', '-1.0.0', `1.0.0-${'a'.repeat(300)}`],
  };
  const models = {
    good: ['fz-a', 'fz-a', 'fz-b', 'fz-new', 'fz_new2'],
    edge: ['FZ-A', 'a'.repeat(63), 'a'.repeat(64), '../fz-a', 'fz-a@1.0.0', '1234567890', 'fz a'],
  };
  const endpoints = {
    good: ['fz-ep', 'fz-ep', fix.endpointId],
    edge: ['fz-ep-2', 'no-such-ep', '0', 'projects/x/locations/y/endpoints/1', '*'],
  };
  const uris = { good: [...goodIn, ...goodOut], edge: edgePaths };
  pools = {
    name: models,
    model: models,
    version: versions,
    version_a: versions,
    version_b: versions,
    control: versions,
    treatment: versions,
    endpoint: endpoints,
    display_name: { good: ['fz-ep-2', 'fz-ep-3'], edge: ['fz-ep', 'ep with spaces', 'ü'.repeat(128)] },
    job: { good: [fix.jobId], edge: ['0', '999999999', 'projects/p/locations/l/tuningJobs/1', 'abc', '../1'] },
    test: { good: ['fz-test', 'fz-test-2'], edge: ['no-such-test', 'FZ'] },
    rule: { good: ['fz-rule', 'fz-rule-2'], edge: ['', 'r'.repeat(300), 'a\u0000b'] },
    path: {
      good: [path.join(root, 'out', 'dash.json'), 'dash-rel.json', 'gs://vertex-mcp-emulator/fz/dash.json'],
      edge: edgePaths,
    },
    input: { good: goodIn, edge: [...goodOut, ...edgePaths] },
    output: { good: goodOut, edge: [...goodIn, ...edgePaths] },
    train_uri: { good: ['gs://vertex-mcp-emulator/fz/train.jsonl'], edge: uris.edge },
    validation_uri: { good: ['gs://vertex-mcp-emulator/fz/train.jsonl'], edge: uris.edge },
    artifact_uri: { good: ['gs://vertex-mcp-emulator/fz/router'], edge: edgePaths.filter((p) => p.startsWith('gs:')) },
    serving_container_uri: {
      good: ['local/text-router', 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest'],
      edge: [' ', 'local/../../etc'],
    },
    base_model: {
      good: ['local/text-router', 'local/text-router-large'],
      edge: ['gemini-1.5-flash-002', 'fz-a@1.0.0'],
    },
    teacher_model: { good: ['fz-a@1.0.0'], edge: ['fz-a', 'projects/x/models/y', '@'] },
    source: {
      good: ['manual', 'tuning_job', 'se_darwin_evolution'],
      edge: ['tuning_job" OR labels.source="manual', 'UPPER', 's'.repeat(64)],
    },
    tags: {
      good: [['prod'], ['a', 'b'], []],
      edge: [['UPPER'], Array.from({ length: 51 }, (_, i) => `t${i}`), ['t'.repeat(60)], ['x'.repeat(130_000)]],
    },
    prediction_id: { good: fix.predictionIds, edge: ['0', '-1', 'p'.repeat(100)] },
    reason: { good: ['fuzz'], edge: ['r'.repeat(501)] },
    metric: { good: ['accuracy', 'error_rate', 'requests'], edge: ['latency_p95_ms', 'no_such_metric'] },
    machine_type: { good: ['n1-standard-2'], edge: ['N1-STANDARD-4', 'tpu-v5', ''] },
    accelerator_type: { good: ['NVIDIA_TESLA_T4'], edge: ['nvidia', 'ACCEL'] },
    instances: {
      good: [['route this task'], [{ text: 'write a sql join between orders and' }], ['a', 'b', 'c']],
      edge: [
        [DEEP],
        [{ text: 'route this', deep: DEEP }],
        [{ text: BIG_300K }],
        Array.from({ length: 101 }, (_, i) => `t${i}`),
        [1, 2],
        [null],
      ],
    },
    parameters: {
      good: [{ temperature: 0.2 }],
      edge: [{ deep: DEEP }, JSON.parse('{"__proto__": {"polluted": true}}')],
    },
    traffic_split: {
      good: [{ '1.0.0': 100 }, { '1.0.0': 80, '1.1.0': 20 }, { 'fz-a@1.0.0': 50, '1.1.0': 50 }],
      edge: [{ '1.0.0': 50 }, { nope: 100 }, { '1.0.0': 101 }, {}],
    },
    performance_metrics: {
      good: [{ accuracy: 0.9 }, { accuracy: 0.8, latency_p95_ms: 120 }],
      edge: [{ '': 1 }, { ['m'.repeat(100)]: 1 }, { 'a.b': 2 }, { accuracy: 1e308 }, JSON.parse('{"__proto__": 1}')],
    },
  };
  pools.cost_metrics = pools.performance_metrics!;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries from JSON schemas

const pick = <T>(xs: T[]) => fc.constantFrom(...xs);
const anyJson: fc.Arbitrary<Json> = fc.oneof(
  pick(HOSTILE_STRINGS),
  pick(EDGE_NUMBERS),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constant(DEEP),
);

function typeOf(schema: Record<string, any>): string | undefined {
  const t = schema.type;
  return Array.isArray(t) ? t.find((x: string) => x !== 'null') : t;
}

function stringArb(schema: Record<string, any>): fc.Arbitrary<string> {
  if (schema.pattern) {
    try {
      return fc.stringMatching(new RegExp(schema.pattern)).filter((x) => x.length <= (schema.maxLength ?? 200));
    } catch {
      // an unsupported pattern: plain strings
    }
  }
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? 24, 24));
  const plain = fc.oneof(
    fc.string({ minLength: min, maxLength: max }),
    fc.string({ unit: 'grapheme', minLength: min, maxLength: max }),
  );
  return plain;
}

/** A pool stands in for a field of the same JSON type. */
function poolFits(schema: Record<string, any>, sample: Json): boolean {
  const t = typeOf(schema);
  if (t === 'string') return typeof sample === 'string';
  if (t === 'array') return Array.isArray(sample);
  if (t === 'object') return typeof sample === 'object' && sample !== null && !Array.isArray(sample);
  return t === undefined;
}

/** Fields whose name means something else in one tool. */
const KEY_IN_TOOL: Record<string, Record<string, string>> = {
  set_alert_rule: { name: 'rule' },
  delete_alert_rule: { name: 'rule' },
  start_ab_test: { name: 'test' },
};

/** The field's pooled values (mostly good ones) mixed with what the schema generates. */
function withPool(key: string, generated: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  const p = pools[key];
  if (!p) return generated;
  return fc.oneof(
    { weight: 12, arbitrary: pick(p.good.length ? p.good : p.edge) },
    { weight: 3, arbitrary: pick(p.edge.length ? p.edge : p.good) },
    { weight: 1, arbitrary: generated },
  );
}

function arbFor(
  schema: Record<string, any> | undefined,
  key: string,
  depth = 0,
  keyMap: Record<string, string> = {},
): fc.Arbitrary<Json> {
  if (!schema || depth > 6) return anyJson;
  if (Array.isArray(schema.enum)) return pick(schema.enum);
  const p = pools[key];
  if (p && depth > 0 && poolFits(schema, p.good[0] ?? p.edge[0])) return withPool(key, arbFor(schema, '', depth));
  if (schema.const !== undefined) return fc.constant(schema.const);
  const alts = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alts)) return fc.oneof(...alts.map((a: Record<string, any>) => arbFor(a, key, depth + 1)));
  switch (typeOf(schema)) {
    case 'string':
      return stringArb(schema);
    case 'integer': {
      const min = Math.max(schema.minimum ?? -1_000_000, Number.MIN_SAFE_INTEGER);
      const max = Math.min(schema.maximum ?? 1_000_000, Number.MAX_SAFE_INTEGER);
      return fc.oneof(fc.integer({ min, max }), pick([min, max]));
    }
    case 'number': {
      const min = schema.minimum ?? schema.exclusiveMinimum ?? -1e6;
      const max = schema.maximum ?? schema.exclusiveMaximum ?? 1e6;
      return fc
        .double({ min, max, noNaN: true, noDefaultInfinity: true })
        .filter(
          (x) =>
            (schema.exclusiveMinimum === undefined || x > schema.exclusiveMinimum) &&
            (schema.exclusiveMaximum === undefined || x < schema.exclusiveMaximum),
        );
    }
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(arbFor(schema.items, `${key}[]`, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4)),
      });
    case 'object': {
      const props: Record<string, Record<string, any>> = schema.properties ?? {};
      if (Object.keys(props).length) {
        const rec: Record<string, fc.Arbitrary<Json>> = {};
        for (const [k, v] of Object.entries(props)) rec[k] = arbFor(v, (depth === 0 && keyMap[k]) || k, depth + 1);
        return fc.record(rec, { requiredKeys: (schema.required ?? []) as string[] }) as fc.Arbitrary<Json>;
      }
      const values =
        schema.additionalProperties && typeof schema.additionalProperties === 'object'
          ? arbFor(schema.additionalProperties, `${key}[]`, depth + 1)
          : anyJson;
      const keys =
        key === 'traffic_split' ? pick(['1.0.0', '1.1.0', 'fz-a@1.0.0', '0', 'nope']) : fc.string({ maxLength: 12 });
      return fc.dictionary(keys, values, { maxKeys: 4 });
    }
    default:
      return anyJson;
  }
}

type Mutation = (args: Record<string, Json>, tool: Tool, r: number) => Record<string, Json>;
const keysOf = (tool: Tool) => Object.keys(tool.inputSchema.properties ?? {});
const at = <T>(xs: T[], r: number) => xs[Math.floor(r * xs.length) % Math.max(1, xs.length)]!;

const MUTATIONS: Record<string, Mutation> = {
  wrong_type: (a, t, r) => {
    const k = at(keysOf(t), r);
    const sch = t.inputSchema.properties?.[k] ?? {};
    const wrong =
      typeOf(sch) === 'string'
        ? at([1, true, null, ['x'], { a: 1 }], r * 7)
        : at(['NaN', '1', 'true', [], { x: 1 }], r * 7);
    return k ? { ...a, [k]: wrong } : a;
  },
  hostile_string: (a, t, r) => {
    const ks = keysOf(t).filter((k) => typeOf(t.inputSchema.properties[k]) === 'string');
    return ks.length
      ? { ...a, [at(ks, r)]: at(HOSTILE_STRINGS, r * 13) }
      : { ...a, [at(keysOf(t), r) ?? 'x']: BIG_70K };
  },
  huge_string: (a, t, r) => {
    const ks = keysOf(t);
    return ks.length ? { ...a, [at(ks, r)]: at([BIG_70K, BIG_300K, BIG_UNICODE], r * 5) } : { ...a, x: BIG_300K };
  },
  deep_nesting: (a, t, r) => ({ ...a, [at(keysOf(t), r) ?? 'deep']: DEEP }),
  edge_number: (a, t, r) => {
    const ks = keysOf(t).filter((k) => ['number', 'integer'].includes(typeOf(t.inputSchema.properties[k]) ?? ''));
    const k = ks.length ? at(ks, r) : at(keysOf(t), r);
    return k ? { ...a, [k]: at([...EDGE_NUMBERS, 'NaN', '-0', 'Infinity'], r * 11) } : a;
  },
  drop_required: (a, t, r) => {
    const req: string[] = t.inputSchema.required ?? [];
    if (!req.length) return { ...a, unexpected: true };
    const { [at(req, r)]: _gone, ...rest } = a;
    return rest;
  },
  unknown_field: (a) => ({ ...a, unknown_field: 'x', ...JSON.parse('{"__proto__": {"polluted": true}}') }),
  big_array: (a, t, r) => {
    const ks = keysOf(t).filter((k) => typeOf(t.inputSchema.properties[k]) === 'array');
    return ks.length ? { ...a, [at(ks, r)]: Array.from({ length: 2000 }, (_, i) => `e${i}`) } : a;
  },
};

interface Call {
  tool: string;
  args: Record<string, Json>;
  mutation: string | null;
}

function callArb(): fc.Arbitrary<Call> {
  const perTool = tools.map((t) => {
    const valid = arbFor(t.inputSchema, '', 0, KEY_IN_TOOL[t.name]) as fc.Arbitrary<Record<string, Json>>;
    // tools/list carries only non-default hints: destructiveHint is true unless said otherwise.
    const destructive =
      (!t.annotations?.readOnlyHint && t.annotations?.destructiveHint !== false) ||
      'confirm' in (t.inputSchema.properties ?? {});
    return fc
      .tuple(
        valid,
        fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: pick(Object.keys(MUTATIONS)) }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
      )
      .map(([args, mutation, r, c]): Call => {
        let a: Record<string, Json> = typeof args === 'object' && args !== null ? { ...args } : {};
        if (destructive && c < 0.35) a.confirm = true;
        if (mutation) a = MUTATIONS[mutation]!(a, t, r);
        // Bounded in time: a waiting call waits at most 2 s.
        if (a.wait === true) a.wait_seconds = 2;
        return { tool: t.name, args: a, mutation };
      });
  });
  return fc.oneof(...perTool);
}

// ---------------------------------------------------------------------------------------------
// Checks

function abbreviate(v: Json, depth = 0): Json {
  if (typeof v === 'string') {
    const shown = v.length > 120 ? `<${v.length} chars: ${JSON.stringify(v.slice(0, 20))}...>` : v;
    return shown.split(String.fromCharCode(0)).join('\\u0000');
  }
  if (depth > 5) return '<nested...>';
  if (Array.isArray(v))
    return v.length > 8 ? [`<${v.length} items>`, abbreviate(v[0], depth + 1)] : v.map((x) => abbreviate(x, depth + 1));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, abbreviate(x, depth + 1)]));
  return v;
}

function fail(check: string, c: Call, detail: string) {
  failures.push({ check, tool: c.tool, args: JSON.stringify(abbreviate(c.args)), detail: detail.slice(0, 600) });
}

const sqliteHeader = (f: string) => {
  try {
    const fd = fs.openSync(f, 'r');
    const b = Buffer.alloc(16);
    fs.readSync(fd, b, 0, 16, 0);
    fs.closeSync(fd);
    return b.toString('latin1');
  } catch {
    return 'missing';
  }
};
const SQLITE = 'SQLite format 3\u0000';

async function alive(read: boolean): Promise<string | null> {
  const ping = await within(
    s.client.ping().then(
      () => 'ok',
      (e: Error) => `ping failed: ${e.message}`,
    ),
    ALIVE_TIMEOUT_MS,
    'ping timed out',
  );
  if (ping !== 'ok' || !read) return ping === 'ok' ? null : ping;
  const listed = await within(
    s.call('list_endpoints', {}, ALIVE_TIMEOUT_MS).then(
      (r) => (r.isError ? `list_endpoints failed: ${textOf(r).slice(0, 200)}` : 'ok'),
      (e: Error) => `list_endpoints threw: ${e.message}`,
    ),
    ALIVE_TIMEOUT_MS,
    `list_endpoints took over ${ALIVE_TIMEOUT_MS} ms`,
  );
  return listed === 'ok' ? null : listed;
}

/** The models a call names (its registry invariants are what it can break); null: it may touch any. */
function modelsNamed(c: Call): string[] | null {
  const out = c.args.output as { name?: unknown } | undefined;
  const names = [c.args.name, c.args.model, out?.name].filter((x): x is string => typeof x === 'string');
  const byModelTool = ['upload_model', 'promote_model', 'update_model_metrics', 'delete_model', 'deploy_model'];
  return byModelTool.includes(c.tool) && names.length ? names : null;
}

async function registry(c: Call, full: boolean) {
  figs.registry_checks++;
  const models = full ? null : modelsNamed(c);
  const { violations } = await checkInvariants({
    clients: s.clients,
    ...(models ? { models } : {}),
    ...(full ? { reportedStage: async (n, v) => (await s.lib.registry.getModel(n, v)).deployment_stage } : {}),
  });
  for (const v of violations) {
    const key = `${v.invariant}|${v.where}|${v.detail}`;
    if (seenInvariant.has(key)) continue;
    seenInvariant.add(key);
    // The stage get_model reports is read every FULL_CHECK_EVERY calls: the call named is the last one.
    const when = full && v.invariant === INV.reportedStage ? ` (periodic check at call ${figs.calls})` : '';
    fail(`invariant: ${v.invariant}`, c, `${v.where}: ${v.detail}${when}`);
  }
}

async function protectedFiles(c: Call, r: ToolResult | null): Promise<void> {
  const confirmed = c.args.confirm === true;
  const named = JSON.stringify(c.args);
  if (fs.existsSync(fix.notes) && fs.readFileSync(fix.notes, 'utf8') !== fix.notesText) {
    if (!(confirmed && named.includes('notes.md')))
      fail('no tool overwrites an existing file without confirm', c, `${fix.notes} changed`);
    fs.writeFileSync(fix.notes, fix.notesText);
  }
  for (const f of ['ledger.sqlite', 'emulator.sqlite']) {
    const h = sqliteHeader(path.join(dataDir, f));
    if (h !== SQLITE) fail('no tool writes inside the data directory', c, `${f} header is now ${JSON.stringify(h)}`);
  }
  const keep = s.emu.gcs.exists(fix.keep);
  const keepOk =
    keep &&
    fs.readFileSync(s.emu.gcs.blobPath(s.emu.gcs.findObject('vertex-mcp-emulator', 'fz/keep.txt')!), 'utf8') ===
      fix.keepText;
  if (!keepOk) {
    if (!(confirmed && named.includes('keep.txt')))
      fail('no tool overwrites an existing object without confirm', c, `${fix.keep} ${keep ? 'changed' : 'deleted'}`);
    await s.emu.gcs.write(fix.keep, fix.keepText);
  }
  if (r && !r.isError) {
    for (const k of ['path', 'output']) {
      const p = c.args[k];
      if (typeof p !== 'string' || p.startsWith('gs://')) continue;
      const abs = path.resolve(root, p);
      if (abs === dataDir || abs.startsWith(dataDir + path.sep))
        fail('no tool writes inside the data directory', c, `${k} ${p} accepted`);
    }
  }
}

async function checkCall(c: Call, r: ToolResult) {
  const text = textOf(r);
  const bytes = Buffer.byteLength(text);
  if (r.isError) {
    figs.max_error_bytes = Math.max(figs.max_error_bytes, bytes);
    const code = errorCode(r);
    if (code === null) fail('an error has a code', c, text.slice(0, 300));
    else if (['INTERNAL', 'UNAVAILABLE', 'DEADLINE_EXCEEDED'].includes(code))
      fail(`an error is not ${code}`, c, text.slice(0, 400));
    if (bytes >= MAX_ERROR_BYTES) fail('error text under 4 KB', c, `${bytes} bytes: ${text.slice(0, 200)}`);
  } else {
    figs.max_text_bytes = Math.max(figs.max_text_bytes, bytes);
    if (bytes > MAX_TEXT_BYTES) fail('result text under 16 KB', c, `${bytes} bytes: ${text.slice(0, 200)}`);
    if (c.tool === 'predict') {
      const ids = (r.structuredContent as { prediction_ids?: string[] } | undefined)?.prediction_ids ?? [];
      if (ids[0] && fix.predictionIds.length < 20) fix.predictionIds.push(ids[0]);
    }
  }
}

/** Violations grouped by check, each with its count and its smallest reproduction. */
function report(): string {
  const groups = new Map<string, Failure[]>();
  for (const f of failures) groups.set(f.check, [...(groups.get(f.check) ?? []), f]);
  const digest = createHash('sha256').update(JSON.stringify(failures)).digest('hex').slice(0, 12);
  const lines = [`${failures.length} violation(s) in ${figs.calls} calls (seed ${SEED}, digest ${digest}):`];
  for (const [check, fs_] of groups) {
    const tools = [...new Set(fs_.map((f) => f.tool))].join(', ');
    lines.push(`* ${check}: ${fs_.length}x (${tools})`);
    for (const f of [...fs_].sort((a, b) => a.args.length - b.args.length).slice(0, 2))
      lines.push(`    ${f.tool} ${f.args.slice(0, 300)}\n      -> ${f.detail.slice(0, 300)}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Fixtures

async function seed() {
  const art = await putRouter(s.emu, 'fz/router');
  await s.emu.gcs.write(fix.keep, fix.keepText);
  await s.emu.gcs.write('gs://vertex-mcp-emulator/fz/train.jsonl', routingJsonl(0, 45));
  await s.emu.gcs.write('gs://vertex-mcp-emulator/fz/in/halo.jsonl', haloLog(200));
  fs.mkdirSync(path.join(root, 'in', 'darwin'), { recursive: true });
  fs.writeFileSync(path.join(root, 'in', 'halo.jsonl'), haloLog(200, 7));
  for (let i = 0; i < 3; i++) {
    fs.writeFileSync(
      path.join(root, 'in', 'darwin', `run-${i}.json`),
      JSON.stringify({ prompt: `task ${i}`, completion: `solution ${i}`, quality_score: 0.5 + i / 5 }),
    );
  }
  fs.writeFileSync(fix.notes, fix.notesText);
  fs.mkdirSync(path.join(base, 'outside'), { recursive: true });
  const reg = s.lib.registry;
  await reg.uploadModel(routerArgs('fz-a', '1.0.0', art, { deployment_stage: 'production' }));
  await reg.uploadModel(routerArgs('fz-a', '1.1.0', art, { performance_metrics: { accuracy: 0.9 } }));
  await reg.uploadModel(routerArgs('fz-a', '1.2.0', art, { deployment_stage: 'staging' }));
  await reg.uploadModel(routerArgs('fz-b', '1.0.0', art));
  const ep = await s.lib.endpoints.createEndpoint({
    display_name: 'fz-ep',
    machine_type: 'n1-standard-2',
    accelerator_count: 0,
    min_replicas: 1,
    max_replicas: 1,
    target_utilization: 60,
  });
  fix.endpointId = ep.endpoint;
  await s.lib.endpoints.deployModel({ endpoint: 'fz-ep', name: 'fz-a', version: '1.0.0', traffic_percentage: 100 });
  const job = await s.ok('submit_tuning_job', {
    tuning_type: 'supervised',
    base_model: 'local/text-router',
    dataset: { train_uri: 'gs://vertex-mcp-emulator/fz/train.jsonl' },
    hyperparameters: { epochs: 1 },
    wait: true,
    wait_seconds: 20,
  });
  fix.jobId = job.job;
  await s.ok('start_ab_test', {
    endpoint: 'fz-ep',
    name: 'fz-test',
    model: 'fz-a',
    control: '1.0.0',
    treatment: '1.1.0',
    primary_metric: 'accuracy',
    minimum_detectable_effect: 0.1,
    baseline: { value: 0.7 },
    confirm: true,
  });
  await s.ok('set_alert_rule', {
    name: 'fz-rule',
    endpoint: 'fz-ep',
    metric: 'error_rate',
    comparison: 'gt',
    threshold: 0.5,
  });
}

/** Puts back what destructive calls removed (the model, its endpoint and deployment, the rule). */
async function reseed() {
  const art = 'gs://vertex-mcp-emulator/fz/router';
  try {
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) {
      await s.lib.registry.getModel('fz-a', v).catch(() => s.lib.registry.uploadModel(routerArgs('fz-a', v, art)));
    }
    let ep = await s.lib.endpoints.getEndpoint('fz-ep').catch(() => null);
    ep ??= await s.lib.endpoints.createEndpoint({
      display_name: 'fz-ep',
      machine_type: 'n1-standard-2',
      accelerator_count: 0,
      min_replicas: 1,
      max_replicas: 1,
      target_utilization: 60,
    });
    if (!ep.deployed.length) {
      // A servable version of its own (fuzzed uploads may have replaced 1.0.0 with an unservable one).
      await s.lib.registry
        .getModel('fz-a', '0.9.0')
        .catch(() => s.lib.registry.uploadModel(routerArgs('fz-a', '0.9.0', art)));
      await s.lib.endpoints.deployModel({
        endpoint: ep.endpoint,
        name: 'fz-a',
        version: '0.9.0',
        traffic_percentage: 100,
      });
    }
    fix.endpointId = ep.endpoint;
    pools.endpoint!.good = ['fz-ep', 'fz-ep', ep.endpoint];
    if (!s.lib.monitoring.listAlertRules().some((r) => r.name === 'fz-rule')) {
      await s.call('set_alert_rule', {
        name: 'fz-rule',
        endpoint: ep.endpoint,
        metric: 'error_rate',
        comparison: 'gt',
        threshold: 0.5,
      });
    }
  } catch (err) {
    figs.reseed_errors++;
    if (figs.reseed_errors <= 3) figs.reseed_notes.push(String((err as Error).message).slice(0, 200));
  }
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  base = tmpDir('fuzz');
  root = path.join(base, 'work');
  dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  fix.notes = path.join(root, 'notes.md');
  cwd = process.cwd();
  process.chdir(root);
  s = await startRStack({ dataDir, allowedRoots: [root, dataDir] });
  await seed();
  buildPools();
  const listed = (await s.client.listTools()).tools as unknown as Tool[];
  tools = listed;
}, 120_000);

afterAll(async () => {
  const byCheck: Record<string, number> = {};
  for (const f of failures) byCheck[f.check] = (byCheck[f.check] ?? 0) + 1;
  figures('fuzz.test.ts', {
    calls_fuzzed: figs.calls,
    tools: tools.length,
    mutated: figs.mutated,
    with_confirm: figs.confirm,
    stalls: figs.stalls,
    registry_checks: figs.registry_checks,
    reseeds: figs.reseeds,
    reseed_errors: figs.reseed_errors,
    reseed_notes: figs.reseed_notes,
    ms: Object.fromEntries(Object.entries(figs.ms).map(([k, v]) => [k, Math.round(v)])),
    max_error_text_bytes: figs.max_error_bytes,
    max_result_text_bytes: figs.max_text_bytes,
    violations: failures.length,
    by_check: byCheck,
    by_tool: figs.by_tool,
    seconds: (Date.now() - started) / 1000,
    ...(process.env.RELIABILITY_VERBOSE ? { samples } : {}),
  });
  await s?.close();
  if (cwd) process.chdir(cwd);
  cleanupDirs();
}, 60_000);

describe(`fuzzing every tool through MCP (${CALLS} calls, seed ${SEED})`, () => {
  it('keeps the server alive, errors coded and short, invariants and files intact', async () => {
    expect(tools.length).toBeGreaterThanOrEqual(29);
    const arb = callArb();
    let dead: string | null = null;
    for (let b = 0; b * BATCH < CALLS && !dead; b++) {
      if (b > 0 && b % 3 === 0) {
        figs.reseeds++;
        await reseed();
      }
      const batch = fc.sample(arb, { seed: (SEED + b) | 0, numRuns: Math.min(BATCH, CALLS - b * BATCH) });
      for (const c of batch) {
        figs.calls++;
        if (c.mutation) figs.mutated++;
        if (c.args.confirm === true) figs.confirm++;
        figs.by_tool[c.tool] ??= { calls: 0, ok: 0, errors: {} };
        const t = figs.by_tool[c.tool]!;
        t.calls++;
        let r: ToolResult | null = null;
        let t0 = performance.now();
        try {
          r = await s.call(c.tool, c.args as Record<string, unknown>, CALL_TIMEOUT_MS);
        } catch (err) {
          const msg = (err as Error).message;
          if (/timed out|timeout/i.test(msg)) {
            figs.stalls++;
            fail(`every call answers within ${CALL_TIMEOUT_MS / 1000} s`, c, msg);
          } else if (/-32602|Invalid params/i.test(msg)) {
            t.errors.INVALID_PARAMS = (t.errors.INVALID_PARAMS ?? 0) + 1;
            if (Buffer.byteLength(msg) >= MAX_ERROR_BYTES) fail('error text under 4 KB', c, msg.slice(0, 200));
          } else {
            fail('a call answers with a result', c, msg);
          }
        }
        figs.ms.calls += performance.now() - t0;
        if (r) {
          if (r.isError) {
            const code = errorCode(r) ?? 'NO_CODE';
            t.errors[code] = (t.errors[code] ?? 0) + 1;
            samples[`${c.tool} ${code}`] ??=
              `${textOf(r).slice(0, 200)} <- ${JSON.stringify(abbreviate(c.args)).slice(0, 300)}`;
          } else t.ok++;
          await checkCall(c, r);
        }
        t0 = performance.now();
        // A ping after every call; a read that reaches the emulator every 5th, and after any failure
        // that may have left the channel stalled.
        const suspicious = !r || ['INTERNAL', 'UNAVAILABLE', 'DEADLINE_EXCEEDED'].includes(errorCode(r) ?? '');
        const down = await alive(figs.calls % 5 === 0 || suspicious);
        figs.ms.alive += performance.now() - t0;
        if (down) {
          fail('the server stays alive and answers promptly', c, down);
          // One more chance after a stall: a server that recovers is slow, not dead.
          const again = await within(
            s.client.ping().then(() => null),
            40_000,
            'no answer for 40 s',
          );
          if (again) dead = `${down}; then ${again}`;
        }
        t0 = performance.now();
        await protectedFiles(c, r);
        figs.ms.files += performance.now() - t0;
        t0 = performance.now();
        // State can change only where a handler ran: not after a read, nor after the SDK refused the
        // arguments (InvalidParams) before any handler.
        const read = tools.find((x) => x.name === c.tool)?.annotations?.readOnlyHint;
        const refused = !r || (r.isError && errorCode(r) === 'INVALID_PARAMS');
        const full = figs.calls % FULL_CHECK_EVERY === 0;
        if ((!read && !refused) || full) await registry(c, full);
        figs.ms.registry += performance.now() - t0;
        if (dead) break;
      }
    }
    const end: Call = { tool: '(end of run)', args: {}, mutation: null };
    if (!dead) {
      await registry(end, true);
      // The ledger still answers (a dashboard written over ledger.sqlite broke it for good).
      for (const [name, args] of [
        ['check_alerts', {}],
        ['record_feedback', { endpoint: fix.endpointId, input: 'route this', correct: true }],
        ['list_alert_rules', {}],
      ] as const) {
        const r = await s.call(name, args as Record<string, unknown>);
        if (r.isError && errorCode(r) === 'INTERNAL')
          fail('the ledger still answers', { tool: name, args, mutation: null }, textOf(r));
      }
    }
    // Whole-or-absent outputs, no temp files, no literal "~" or "file:" directories.
    const outputs = [path.join(root, 'out'), ...['a', 'b'].map((x) => `gs://vertex-mcp-emulator/fz/out/${x}`)];
    const dsDirs = fs.existsSync(outputs[0]!)
      ? fs
          .readdirSync(outputs[0]!, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => path.join(outputs[0]!, d.name))
      : [];
    const { violations } = await checkInvariants({
      clients: s.clients,
      datasets: [...dsDirs, ...outputs.slice(1)],
      tempRoots: [root],
    });
    for (const v of violations) {
      if (seenInvariant.has(`${v.invariant}|${v.where}|${v.detail}`)) continue;
      fail(`invariant: ${v.invariant}`, end, `${v.where}: ${v.detail}`);
    }
    for (const literal of ['~', 'file:']) {
      const found = [root, path.join(root, 'out')].map((d) => path.join(d, literal)).filter((d) => fs.existsSync(d));
      for (const d of found) fail('file:// and ~/ never become literal directories', end, d);
    }
    for (const v of strayTempFiles(base)) fail(`invariant: ${v.invariant}`, end, `${v.where}: ${v.detail}`);
    if (fs.readdirSync(path.join(base, 'outside')).length)
      fail('nothing is written outside the allowed roots', end, fs.readdirSync(path.join(base, 'outside')).join(', '));
    expect(dead, 'the server died').toBeNull();
    expect(failures.length, report()).toBe(0);
  }, 280_000);
});
