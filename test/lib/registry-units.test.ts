// Pure pieces of the registry: naming rules and the comparison verdict.
import { describe, expect, it } from 'vitest';
import { compareMetrics, metricDirection, verdict } from '../../src/lib/registry/compare.js';
import { buildLabels, checkModelName, versionAlias, versionFromAliases } from '../../src/lib/registry/naming.js';

describe('naming', () => {
  it('maps semver to a Vertex alias and back', () => {
    expect(versionAlias('1.2.0')).toBe('v1-2-0');
    expect(versionAlias('2.0.0-rc.1')).toBe('v2-0-0-rc-1');
    expect(versionFromAliases(['default', 'v2-0-0-rc-1'])).toBe('2.0.0-rc.1');
    expect(versionFromAliases(['default'])).toBeNull();
    expect(() => versionAlias('1.2')).toThrow('not a semantic version');
    expect(() => versionAlias('1.2.0+build.5')).toThrow('"1.2.0+build.5" is not a semantic version');
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
