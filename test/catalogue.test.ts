// The catalogue's contract: selection rules, annotations, schema snapshots, sizes.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { catalogueToolSizes, MODEL_VISIBLE_BUDGET, TOTAL_BUDGET } from '../bench/toolsize.js';
import { createServer } from '../src/server.js';
import { annotationsFor, catalogue, listEntry, SHARED_PARAMS, selectTools, TOOLSETS } from '../src/tools/index.js';
import { VERSION } from '../src/version.js';
import { CONTAINER, startStack } from './helpers.js';

/** The spec's defaults for the hints a tool leaves out (MCP ToolAnnotations). */
const HINT_DEFAULTS = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };
const words = (s: string) =>
  new Set(
    s
      .toLowerCase()
      .split(/[^a-z0-9/]+/)
      .filter((w) => w && !['a', 'an', 'the'].includes(w)),
  );

const names = (sel: Parameters<typeof selectTools>[1]) => selectTools(catalogue(), sel).map((t) => t.name);

describe('catalogue', () => {
  it('has unique snake_case verb_noun names in known toolsets', () => {
    const all = catalogue();
    expect(new Set(all.map((t) => t.name)).size).toBe(all.length);
    for (const t of all) {
      expect(t.name).toMatch(/^[a-z]+(_[a-z0-9]+)*$/); // verb_noun, or a bare verb (predict)
      expect(TOOLSETS).toContain(t.toolset);
      expect(t.description.length, t.name).toBeGreaterThan(30);
      // A title only where it adds words to the name (clients show the name otherwise).
      if (t.title !== undefined) {
        const name = words(t.name.replace(/_ab_/, '_a/b_'));
        expect(
          [...words(t.title)].some((w) => !name.has(w)),
          `${t.name}: "${t.title}"`,
        ).toBe(true);
      }
    }
  });

  it('describes every input field: in its schema, the tool description, its enum, or the instructions', () => {
    for (const t of catalogue()) {
      const props = (listEntry(t).inputSchema.properties ?? {}) as Record<
        string,
        { description?: string; enum?: unknown[] }
      >;
      expect(Object.keys(props)).toEqual(Object.keys(t.input));
      for (const [field, schema] of Object.entries(props)) {
        const described =
          Boolean(schema.description) ||
          (SHARED_PARAMS as readonly string[]).includes(field) ||
          Array.isArray(schema.enum) ||
          new RegExp(`\\b${field}\\b`).test(t.description);
        expect(described, `${t.name}.${field}`).toBe(true);
      }
    }
  });

  it('describes every shared parameter once, in the server instructions', async () => {
    const backend = {
      kind: 'emulator' as const,
      endpoint: async (): Promise<never> => {
        throw new Error('no emulator in this test');
      },
      project: 'p',
      location: 'us-central1',
    };
    const mcp = createServer({ backend, alertIntervalSeconds: 0 });
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'catalogue-test', version: '1' });
    try {
      await Promise.all([mcp.server.connect(b), client.connect(a)]);
      const instructions = client.getInstructions() ?? '';
      for (const p of SHARED_PARAMS) expect(instructions, p).toMatch(new RegExp(`\\b${p}\\b`));
    } finally {
      await client.close();
      await mcp.close();
    }
  });

  it('lists only the annotation hints that differ from the spec defaults; read them back in full', () => {
    const full = (a: ToolAnnotations) => ({ ...HINT_DEFAULTS, ...a });
    expect(annotationsFor('read')).toEqual({ readOnlyHint: true });
    expect(annotationsFor('create')).toEqual({ destructiveHint: false });
    expect(annotationsFor('update')).toEqual({ destructiveHint: false, idempotentHint: true });
    expect(annotationsFor('destructive')).toEqual({});
    expect(full(annotationsFor('read'))).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    expect(full(annotationsFor('create'))).toEqual({ ...HINT_DEFAULTS, destructiveHint: false });
    expect(full(annotationsFor('update'))).toEqual({ ...HINT_DEFAULTS, destructiveHint: false, idempotentHint: true });
    expect(full(annotationsFor('destructive'))).toEqual(HINT_DEFAULTS);
    for (const t of catalogue()) {
      const e = listEntry(t);
      for (const [hint, value] of Object.entries(e.annotations ?? {}))
        expect(value, `${t.name}.${hint}`).not.toBe(HINT_DEFAULTS[hint as keyof typeof HINT_DEFAULTS]);
      // An empty annotations object says nothing either.
      if (e.annotations) expect(Object.keys(e.annotations).length, t.name).toBeGreaterThan(0);
    }
    const destructive = catalogue().filter((t) => t.kind === 'destructive');
    for (const t of destructive) expect(Object.keys(t.input)).toEqual(expect.arrayContaining(['dry_run', 'confirm']));
  });

  it('lists output schemas one level deep, admitting every result the full schema admits', () => {
    for (const t of catalogue()) {
      const out = listEntry(t).outputSchema as {
        type: string;
        required?: string[];
        properties?: Record<string, object>;
      };
      expect(out.type).toBe('object');
      const names = [...(out.required ?? []), ...Object.keys(out.properties ?? {})];
      expect(names.sort(), t.name).toEqual(Object.keys(t.output).sort());
      // Only fields the full schema refuses to miss are required (the server validates against it first).
      for (const k of out.required ?? [])
        expect((t.output[k] as z.ZodType).safeParse(undefined).success, `${t.name}.${k}`).toBe(false);
      // One level: nothing nested.
      for (const v of Object.values(out.properties ?? {})) expect(JSON.stringify(v)).not.toMatch(/properties|items/);
    }
  });

  it('filters by toolset, tool and exclusion; read-only wins', () => {
    expect(names({ readOnly: true })).toEqual([
      'get_model',
      'list_models',
      'compare_model_versions',
      'list_base_models',
      'get_tuning_job',
      'list_tuning_jobs',
      'list_endpoints',
      'get_endpoint_stats',
      'get_metrics',
      'list_alert_rules',
      'check_alerts',
      'get_ab_test',
      'list_ab_tests',
    ]);
    expect(names({ toolsets: ['experiments'] })).toEqual([
      'start_ab_test',
      'get_ab_test',
      'list_ab_tests',
      'conclude_ab_test',
    ]);
    expect(names({ toolsets: ['experiments'], tools: ['get_model'] })).toEqual([
      'get_model',
      'start_ab_test',
      'get_ab_test',
      'list_ab_tests',
      'conclude_ab_test',
    ]);
    expect(names({ excludeTools: ['delete_model'] })).not.toContain('delete_model');
    expect(names({ tools: ['delete_model'], readOnly: true, toolsets: ['experiments'] })).toEqual([
      'get_ab_test',
      'list_ab_tests',
    ]);
    expect(names({ toolsets: ['tuning'], readOnly: true })).toEqual([
      'list_base_models',
      'get_tuning_job',
      'list_tuning_jobs',
    ]);
    expect(() => names({ toolsets: ['registy'] })).toThrow('unknown toolset "registy"; valid: all, registry, tuning');
    expect(() => names({ tools: ['nope'] })).toThrow(/unknown tool "nope"; valid: upload_model/);
  });

  it('keeps each tool schema as snapshotted (interface changes are deliberate)', async () => {
    for (const t of catalogue()) {
      await expect(JSON.stringify(listEntry(t), null, 2)).toMatchFileSnapshot(`./__schemas__/${t.name}.json`);
    }
  });

  it('keeps tools/list within its budget (SPEC 9): model-visible part and whole answer', () => {
    // Sizes, not timings: name + description + input schema at most 520 bytes a tool on average;
    // the whole answer (every toolset, output schemas and annotations included) under 24 KB.
    // A client that declared MCP tasks reads four `execution` fields more: the budget holds for it too.
    for (const tasks of [false, true]) {
      const r = catalogueToolSizes({ tasks });
      expect(r.tool_count).toBe(catalogue().length);
      expect(r.model_visible.avg_bytes).toBeLessThanOrEqual(MODEL_VISIBLE_BUDGET);
      expect(r.response_bytes, `tasks: ${tasks}`).toBeLessThan(TOTAL_BUDGET);
      for (const t of r.per_tool) expect(t.bytes, t.name).toBeLessThan(2_600);
    }
  });

  it('reports the package version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });
});

/** Every property name in a JSON schema, nested objects and list items included. */
function propertyNames(schema: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const x of schema) propertyNames(x, out);
  else if (schema && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
      if (k === 'properties' && v && typeof v === 'object') for (const name of Object.keys(v)) out.add(name);
      propertyNames(v, out);
    }
  }
  return out;
}

/** Every `format` value in a JSON schema. */
function formats(schema: unknown, at = '', out: { at: string; format: unknown }[] = []) {
  if (Array.isArray(schema)) {
    for (const [i, x] of schema.entries()) formats(x, `${at}[${i}]`, out);
  } else if (schema && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
      // A property named "format" (prepare_dataset's) is a field, not the keyword.
      if (k === 'format' && typeof v !== 'object') out.push({ at, format: v });
      else formats(v, `${at}.${k}`, out);
    }
  }
  return out;
}

/** The formats JSON Schema defines (draft 7 and 2020-12); anything else is a private keyword value. */
const STANDARD_FORMATS = new Set([
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex',
]);

/** `.ts` files under src/, recursively. */
function sources(dir = 'src'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/**
 * The parameters hints tell an agent to pass: "pass X: ..." or "pass some_param" (a word with an
 * underscore, or followed by a colon), and in "pass X as Y" the Y (X is then an output field, as
 * in "pass next_page_token as page_token"). Plain words ("pass the ...", "pass a ...") are prose.
 */
function passHints(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\bpass (`?)([A-Za-z][\w-]*)\1(:| as ([a-z][a-z0-9_]*))?/gi)) {
    const [, , word, tail, as] = m;
    if (as) out.push(as);
    else if (tail === ':' || word!.includes('_')) out.push(word!);
  }
  return out;
}

describe('schemas and hints speak the catalogue', () => {
  it('use only standard JSON Schema formats (a zod .startsWith() would list "starts_with"; use a pattern)', () => {
    for (const t of catalogue()) {
      const listed = listEntry(t);
      const full = [
        z.toJSONSchema(z.object(t.input), { target: 'draft-7', io: 'input' }),
        z.toJSONSchema(z.object(t.output), { target: 'draft-7', io: 'output' }),
      ];
      for (const schema of [listed.inputSchema, listed.outputSchema, ...full]) {
        const bad = formats(schema).filter((f) => !STANDARD_FORMATS.has(String(f.format)));
        expect(bad, t.name).toEqual([]);
      }
    }
    // The check itself: a private format is caught, a field named "format" is not.
    expect(formats(z.toJSONSchema(z.object({ u: z.string().startsWith('gs://') })))).toEqual([
      { at: '.properties.u', format: 'starts_with' },
    ]);
    expect(formats({ properties: { format: { type: 'string' } } })).toEqual([]);
  });

  it('every "pass X" hint in the sources names a parameter some tool takes', () => {
    const params = new Set(catalogue().flatMap((t) => [...propertyNames(listEntry(t).inputSchema)]));
    expect(passHints('pass storage_gb_months (GB)')).toEqual(['storage_gb_months']);
    expect(passHints('or pass force: true; pass next_page_token as page_token; Pass the URI')).toEqual([
      'force',
      'page_token',
    ]);
    const unknown: string[] = [];
    for (const file of sources()) {
      // Comments are for people reading the code; strings reach agents.
      const code = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
        .join('\n');
      for (const p of passHints(code)) if (!params.has(p)) unknown.push(`${file}: pass ${p}`);
    }
    expect(unknown).toEqual([]);
  });
});

describe('listed output schemas', () => {
  it('admit real results: a client that listed the tools validates every structuredContent against them', async () => {
    const s = await startStack();
    try {
      await s.client.listTools(); // the client keeps a validator per listed output schema
      await s.ok('upload_model', { name: 'listed', version: '1.0.0', serving_container_uri: CONTAINER });
      await s.ok('upload_model', { name: 'listed', version: '1.1.0', serving_container_uri: CONTAINER });
      await s.ok('get_model', { name: 'listed', version: '1.0.0' });
      await s.ok('list_models', { name: 'listed' });
      await s.ok('update_model_metrics', { name: 'listed', version: '1.1.0', performance_metrics: { accuracy: 0.9 } });
      await s.ok('compare_model_versions', { name: 'listed', version_a: '1.0.0', version_b: '1.1.0' });
      await s.ok('promote_model', { name: 'listed', version: '1.0.0' });
      await s.ok('check_model', { name: 'listed' });
      await s.ok('delete_model', { name: 'listed', version: '1.1.0', dry_run: true });
      await s.ok('create_endpoint', { display_name: 'listed-ep' });
      await s.ok('list_endpoints');
      await s.ok('get_endpoint_stats', { endpoint: 'listed-ep' });
      await s.ok('get_metrics', { endpoint: 'listed-ep', kind: 'quality' });
      await s.ok('set_alert_rule', {
        name: 'r',
        endpoint: 'listed-ep',
        metric: 'error_rate',
        comparison: 'gt',
        threshold: 0.1,
      });
      await s.ok('list_alert_rules');
      await s.ok('check_alerts');
      await s.ok('delete_alert_rule', { name: 'r', dry_run: true });
      await s.ok('delete_endpoint', { endpoint: 'listed-ep', dry_run: true });
      await s.ok('list_base_models');
      await s.ok('list_tuning_jobs');
      await s.ok('list_ab_tests');
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe('README', () => {
  it('carries the tool table generated from the catalogue', async () => {
    const { updateReadme } = await import('../scripts/gen-tool-table.js');
    const readme = readFileSync('README.md', 'utf8');
    expect(updateReadme(readme), 'run `npm run docs:tools`').toBe(readme);
  });
});

describe('build cache of tools/list', () => {
  it('equals what the catalogue generates (npm run build writes it)', async () => {
    const { LIST_CACHE } = await import('../src/tools/index.js');
    const cached = JSON.parse(readFileSync(new URL('../dist/tools-list.json', import.meta.url), 'utf8'));
    expect(LIST_CACHE.pathname.endsWith('tools-list.json')).toBe(true);
    expect(cached).toEqual(JSON.parse(JSON.stringify(catalogue().map(listEntry))));
  });
});
