// The catalogue's contract: selection rules, annotations, schema snapshots, sizes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { annotationsFor, catalogue, listEntry, selectTools, TOOLSETS } from '../src/tools/index.js';
import { VERSION } from '../src/version.js';

const names = (sel: Parameters<typeof selectTools>[1]) => selectTools(catalogue(), sel).map((t) => t.name);

describe('catalogue', () => {
  it('has unique snake_case verb_noun names in known toolsets', () => {
    const all = catalogue();
    expect(new Set(all.map((t) => t.name)).size).toBe(all.length);
    for (const t of all) {
      expect(t.name).toMatch(/^[a-z]+(_[a-z0-9]+)*$/); // verb_noun, or a bare verb (predict)
      expect(TOOLSETS).toContain(t.toolset);
      expect(t.title.length).toBeGreaterThan(3);
    }
  });

  it('describes every input field', () => {
    for (const t of catalogue()) {
      const props = (listEntry(t).inputSchema.properties ?? {}) as Record<string, { description?: string }>;
      expect(Object.keys(props)).toEqual(Object.keys(t.input));
      for (const [field, schema] of Object.entries(props))
        expect(schema.description, `${t.name}.${field}`).toBeTruthy();
    }
  });

  it('derives annotations from kind', () => {
    expect(annotationsFor('read')).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    });
    expect(annotationsFor('destructive')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
    });
    expect(annotationsFor('create')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
    });
    const destructive = catalogue().filter((t) => t.kind === 'destructive');
    for (const t of destructive) expect(Object.keys(t.input)).toEqual(expect.arrayContaining(['dry_run', 'confirm']));
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

  it('keeps every tools/list entry lean (the whole answer is a bench figure against SPEC 9)', () => {
    for (const t of catalogue()) expect(JSON.stringify(listEntry(t)).length, t.name).toBeLessThan(3_500);
  });

  it('reports the package version', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });
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
