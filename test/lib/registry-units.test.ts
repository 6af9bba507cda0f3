// Pure pieces of the registry: naming rules, the version alias encoding (a property over random
// semvers), strict URIs, label filters, the stage rule and the consistency checks, and the verdict.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareMetrics, metricDirection, verdict } from '../../src/lib/registry/compare.js';
import { findIssues, wantedLabels } from '../../src/lib/registry/consistency.js';
import {
  ALIAS_RE,
  buildLabels,
  canonicalVersion,
  checkArtifactUri,
  checkModelName,
  decodeVersion,
  encodeVersion,
  labelFilter,
  legacyVersionAlias,
  stageOf,
  versionAlias,
  versionFromAliases,
} from '../../src/lib/registry/naming.js';
import { Metrics, ModelMetadataSchema } from '../../src/lib/registry/types.js';

describe('naming', () => {
  it('maps semver to a Vertex alias and back, keeping plain versions as they were', () => {
    expect(versionAlias('1.2.0')).toBe('v1-2-0');
    expect(versionAlias('10.20.300')).toBe('v10-20-300');
    expect(versionAlias('2.0.0-rc.1')).toBe('v2-0-0-rc-1');
    expect(versionAlias('2.0.0-rc-1')).toBe('v2-0-0-rcH1');
    expect(versionAlias('2.0.0-RC.1')).toBe('v2-0-0-UrUc-1');
    expect(versionAlias('1.0.0-a-')).toBe('v1-0-0-aHU0');
    expect(encodeVersion('1.0.0+build.5')).toBe('v1-0-0Bbuild-5');
    expect(encodeVersion('1.0.0-rc.1+sha-1')).toBe('v1-0-0-rc-1BshaH1');
    expect(versionFromAliases(['default', 'v2-0-0-rc-1'])).toBe('2.0.0-rc.1');
    expect(versionFromAliases(['default', 'v2-0-0-rcH1'])).toBe('2.0.0-rc-1');
    expect(versionFromAliases(['default', 'production'])).toBeNull();
    expect(versionFromAliases(['v01-2-0', 'v1-2', 'v1-2-0-', 'v1-2-0X', 'v1-2-0-UA'])).toBeNull();
    expect(() => versionAlias('1.2')).toThrow('not a semantic version');
    expect(() => versionAlias('1.2.0+build.5')).toThrow('"1.2.0+build.5" carries build metadata');
    expect(() => versionAlias(`1.0.0-${'a'.repeat(120)}`)).toThrow('at most 100 characters');
    expect(() => versionAlias(`1.0.0-${'A'.repeat(80)}`)).toThrow('too long for a Vertex version alias');
    // Older releases turned every "." and "-" into "-": the lookup falls back to that alias.
    expect(legacyVersionAlias('2.0.0-rc-1')).toBe('v2-0-0-rc-1');
    expect(legacyVersionAlias('1.2.0')).toBeNull();
  });

  it('encodes every valid semver injectively into a valid alias that decodes back (property)', () => {
    const ident = fc.stringMatching(/^[0-9A-Za-z-]{1,8}$/);
    const num = fc.integer({ min: 0, max: 100_000 });
    const version = fc
      .record({
        core: fc.tuple(num, num, num),
        pre: fc.array(ident, { maxLength: 4 }),
        build: fc.array(ident, { maxLength: 3 }),
      })
      .map(({ core, pre, build }) => {
        const text = `${core.join('.')}${pre.length ? `-${pre.join('.')}` : ''}${build.length ? `+${build.join('.')}` : ''}`;
        return canonicalVersion(text);
      })
      .filter((v): v is string => v !== null);
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(version, (v) => {
        const alias = encodeVersion(v);
        expect(decodeVersion(alias)).toBe(v);
        if (alias.length <= 128) expect(alias).toMatch(ALIAS_RE);
        const before = seen.get(alias);
        expect(before === undefined || before === v, `${before} and ${v} share ${alias}`).toBe(true);
        seen.set(alias, v);
      }),
      { seed: 9, numRuns: 5000 },
    );
    // The pairs an ad-hoc encoding confuses.
    const pairs = [
      ['2.0.0-rc-1', '2.0.0-rc.1'],
      ['1.0.0-a.-b', '1.0.0-a-.b'],
      ['1.0.0-a', '1.0.0+a'],
      ['1.0.0-A', '1.0.0-Ua'],
      ['1.0.0-aB', '1.0.0-a+b'],
      ['1.0.0-x-', '1.0.0-xU0'],
    ];
    for (const [a, b] of pairs) expect(encodeVersion(a!), `${a} vs ${b}`).not.toBe(encodeVersion(b!));
  });

  it('validates model IDs and labels', () => {
    expect(() => checkModelName('halo-router_2')).not.toThrow();
    expect(() => checkModelName('2router')).toThrow('not a valid Vertex model ID');
    expect(() => checkModelName('a'.repeat(64))).toThrow();
    expect(buildLabels('staging', 'manual', ['x'])).toEqual({
      'managed-by': 'vertex-mcp',
      stage: 'staging',
      source: 'manual',
      'tag-x': 'true',
    });
    expect(() => buildLabels('staging', 'Hugging Face', [])).toThrow(
      'source "Hugging Face" cannot be stored as a label',
    );
  });

  it('builds label filters from validated values only', () => {
    expect(labelFilter({ source: 'tuning_job', tags: ['a', 'b-2'] })).toBe(
      'labels.source="tuning_job" AND labels.tag-a="true" AND labels.tag-b-2="true"',
    );
    expect(labelFilter({})).toBeUndefined();
    expect(() => labelFilter({ source: 'tuning_job" OR labels.source="manual' })).toThrow(
      /source "tuning_job" OR labels.source="manual" cannot be stored as a label.*\[a-z0-9_-\]\{1,63\}/s,
    );
    expect(() => labelFilter({ tags: ['x" OR "1"="1'] })).toThrow(/tags\[\] .*\[a-z0-9_-\]\{1,59\}/s);
    expect(() => labelFilter({ source: '' })).toThrow('cannot be stored as a label');
  });

  it('accepts only gs://BUCKET/PATH with a valid bucket name', () => {
    for (const ok of ['gs://bucket/x', 'gs://my_bucket-2.data/a/b/model.json', 'gs://abc/d/']) {
      expect(checkArtifactUri(ok), ok).toBeNull();
    }
    for (const bad of [
      'gs://',
      'gs:///x',
      'gs://UPPER/x',
      'gs://bucket',
      'gs://bucket/',
      'gs://ab/x',
      `gs://${'a'.repeat(64)}/x`,
      'gs://-bucket/x',
      'gs://bucket-/x',
      'gs://a..b/x',
      'gs://192.168.0.1/x',
      'gs://goog-bucket/x',
      'gs://bucket/a\nb',
      's3://bucket/x',
      'file:///tmp/x',
    ]) {
      expect(checkArtifactUri(bad), bad).toMatch(/^artifact_uri must/);
    }
  });

  it('bounds every registry string and applies one metric-name rule', () => {
    const base = { name: 'router', version: '1.0.0', serving_container_uri: 'img' };
    const fail = (over: Record<string, unknown>) => {
      const r = ModelMetadataSchema.safeParse({ ...base, ...over });
      expect(r.success).toBe(false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(fail({ base_model: 'x'.repeat(1_100_000) })).toBe('base_model: base_model must be at most 256 characters');
    expect(fail({ description: 'x'.repeat(2001) })).toContain('at most 2000 characters');
    expect(fail({ serving_container_uri: 'x'.repeat(1025) })).toContain('at most 1024 characters');
    expect(fail({ name: 'x'.repeat(64) })).toContain('name must be at most 63 characters');
    expect(fail({ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) })).toContain('at most 50 tags');
    expect(fail({ artifact_uri: 'gs://UPPER/x' })).toContain('artifact_uri must be gs://BUCKET/PATH');
    expect(fail({ performance_metrics: { 'bad name': 1 } })).toContain('metric name "bad name" must match');
    expect(Metrics.safeParse({ 'bad name': 1 }).success).toBe(false);
    expect(Metrics.safeParse({ latency_p95_ms: 1, 'top-1.acc': 0.5 }).success).toBe(true);
  });
});

describe('stages and consistency', () => {
  const v = (id: number, aliases: string[], stage?: string, version = `1.${id}.0`) => ({
    versionId: String(id),
    versionAliases: aliases,
    labels: (stage ? { stage } : {}) as Record<string, string>,
    versionDescription: JSON.stringify({ version }),
  });

  it('reads the stage from the aliases first, the label otherwise; a displaced label is archived', () => {
    expect(stageOf(['production', 'default'], { stage: 'staging' })).toBe('production');
    expect(stageOf(['staging'], { stage: 'development' })).toBe('staging');
    expect(stageOf([], { stage: 'production' })).toBe('archived');
    expect(stageOf([], { stage: 'staging' })).toBe('archived');
    expect(stageOf([], { stage: 'development' })).toBe('development');
    expect(stageOf([], {})).toBeNull();
  });

  it('wants labels that mirror the aliases, and the target of a promotion its stage', () => {
    expect(wantedLabels(v(1, ['production'], 'staging'))).toEqual({ stage: 'production' });
    expect(wantedLabels(v(1, ['production'], 'production'))).toBeNull();
    expect(wantedLabels(v(2, [], 'production'))).toEqual({ stage: 'archived' });
    // Demoted to development: the target alone may keep a non-aliased stage of its choosing.
    expect(wantedLabels(v(2, [], 'production'), { versionId: '2', stage: 'development' })).toEqual({
      stage: 'development',
    });
    // Promoted to production, then a later promotion took the alias: archived.
    expect(wantedLabels(v(2, [], 'development'), { versionId: '2', stage: 'production' })).toEqual({
      stage: 'archived',
    });
    expect(
      wantedLabels(v(3, ['production'], 'production'), {
        versionId: '3',
        stage: 'production',
        extra: { 'ab-test': 't1' },
      }),
    ).toEqual({ stage: 'production', 'ab-test': 't1' });
  });

  it('finds every kind of inconsistency', () => {
    const issues = findIssues([
      v(1, ['default', 'v1-1-0'], 'production'),
      v(2, ['v1-2-0', 'production'], 'production'),
      v(3, ['v1-3-0', 'staging'], 'development'),
      v(4, [], 'development'),
      v(5, ['v1-5-0'], 'development', '1.5.0'),
      v(6, [], 'development', '1.5.0'),
    ]).map((i) => `${i.kind}:${i.version_id}`);
    expect(issues).toEqual([
      'duplicate_production_label:1',
      'stage_label:3',
      'no_semver_alias:4',
      'no_semver_alias:6',
      'duplicate_version:6',
    ]);
    expect(findIssues([v(1, ['default', 'v1-1-0', 'production'], 'production')])).toEqual([]);
    expect(findIssues([v(1, ['default', 'v1-1-0', 'staging', 'production'], 'production')])).toMatchObject([
      { kind: 'two_stage_aliases', version_id: '1' },
    ]);
  });
});

describe('compare', () => {
  it('infers directions from metric names', () => {
    expect(metricDirection('accuracy')).toBe('higher_is_better');
    expect(metricDirection('latency_p95_ms')).toBe('lower_is_better');
    expect(metricDirection('cost_per_1k_requests_usd')).toBe('lower_is_better');
    expect(metricDirection('error_rate')).toBe('lower_is_better');
    expect(metricDirection('temperature')).toBeNull();
  });

  it('reports mixed results with both sides numbers', () => {
    const rows = compareMetrics({ accuracy: 0.8, latency_p95_ms: 100 }, { accuracy: 0.88, latency_p95_ms: 130 });
    expect(verdict('1.0.0', '1.1.0', rows)).toEqual({
      winner: 'mixed',
      recommendation:
        'Mixed: 1.1.0 is 10.0% more accurate, but 30.0% slower at p95 than 1.0.0; decide on the metric that matters (or A/B test them)',
    });
  });

  it('does not judge what it cannot', () => {
    const rows = compareMetrics({ temperature: 1 }, { temperature: 2, accuracy: 0.9 });
    expect(rows.find((r) => r.metric === 'accuracy')).toMatchObject({ a: null, b: 0.9, delta: null, better: null });
    expect(verdict('a', 'b', rows).winner).toBe('unknown');
  });
});
