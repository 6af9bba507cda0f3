// The server's own /metrics: tool calls observed live, prediction figures read per scrape from
// measured stats; unmeasured figures are left out; the text parses as the Prometheus format.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, METRIC, type PredictionSnapshot } from '../../src/lib/monitoring/prometheus.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;

const snapshots: PredictionSnapshot[] = [
  {
    endpoint: '111',
    version: '1.0.0',
    requests_total: 120,
    errors_total: 3,
    latency_seconds: { p50: 0.004, p95: 0.012, p99: 0.03 },
    replicas: 1,
    cost_usd_total: 0.25,
  },
  {
    endpoint: '111',
    version: '1.1.0',
    requests_total: 30,
    errors_total: 0,
    latency_seconds: { p50: null, p95: null, p99: null },
    replicas: 2,
    cost_usd_total: 0.5,
  },
  { endpoint: '222', version: '2.0.0', requests_total: null, errors_total: null, replicas: null, cost_usd_total: null },
];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text format (0.0.4): every line is a comment or a sample. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus text line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
      let consumed = 0;
      for (let l = re.exec(m[2]); l; l = re.exec(m[2])) {
        labels[l[1]!] = l[2]!;
        consumed = re.lastIndex;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    const raw = m[3]!.toLowerCase();
    const value = raw === 'nan' ? Number.NaN : raw === '+inf' ? Number.POSITIVE_INFINITY : Number(raw);
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types };
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('createMetricsRegistry', () => {
  it('exports tool calls and measured prediction figures under Prometheus names', async () => {
    let scrapes = 0;
    const m = await createMetricsRegistry({
      collectPredictions: async () => {
        scrapes++;
        return snapshots;
      },
    });
    m.observeToolCall('predict', 'ok', 0.012);
    m.observeToolCall('predict', 'ok', 0.3);
    m.observeToolCall('deploy_model', 'error', 1.5);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    const { samples, types } = parse(await m.metrics());
    expect(scrapes).toBe(1); // one snapshot per scrape, shared by every collector
    expect(Object.fromEntries(types)).toEqual({
      [METRIC.toolCalls]: 'counter',
      [METRIC.toolCallDuration]: 'histogram',
      [METRIC.statsUp]: 'gauge',
      [METRIC.predictionRequests]: 'counter',
      [METRIC.predictionErrors]: 'counter',
      [METRIC.predictionLatency]: 'summary',
      [METRIC.replicas]: 'gauge',
      [METRIC.cost]: 'counter',
    });

    expect(find(samples, METRIC.toolCalls, { tool: 'predict', outcome: 'ok' })[0]?.value).toBe(2);
    expect(
      find(samples, `${METRIC.toolCallDuration}_count`, { tool: 'deploy_model', outcome: 'error' })[0]?.value,
    ).toBe(1);
    expect(find(samples, `${METRIC.toolCallDuration}_bucket`, { tool: 'predict', le: '0.025' })[0]?.value).toBe(1);
    expect(find(samples, `${METRIC.toolCallDuration}_sum`, { tool: 'predict' })[0]?.value).toBeCloseTo(0.312, 9);

    expect(find(samples, METRIC.statsUp)[0]?.value).toBe(1);
    expect(find(samples, METRIC.predictionRequests, { endpoint: '111', version: '1.0.0' })[0]?.value).toBe(120);
    expect(find(samples, METRIC.predictionRequests, { endpoint: '111', version: '1.1.0' })[0]?.value).toBe(30);
    expect(find(samples, METRIC.predictionErrors, { endpoint: '111', version: '1.0.0' })[0]?.value).toBe(3);
    expect(find(samples, METRIC.predictionLatency, { version: '1.0.0', quantile: '0.95' })[0]?.value).toBe(0.012);
    expect(find(samples, METRIC.predictionLatency, { version: '1.0.0' })).toHaveLength(3);
    expect(find(samples, METRIC.replicas, { endpoint: '111', version: '1.1.0' })[0]?.value).toBe(2);
    expect(find(samples, METRIC.cost)).toEqual([{ name: METRIC.cost, labels: { endpoint: '111' }, value: 0.75 }]);

    // Not measured: no series at all, never a 0.
    expect(find(samples, METRIC.predictionLatency, { version: '1.1.0' })).toHaveLength(0);
    for (const name of [METRIC.predictionRequests, METRIC.predictionErrors, METRIC.replicas, METRIC.cost]) {
      expect(find(samples, name, { endpoint: '222' })).toHaveLength(0);
    }
  });

  it('follows the measured stats from scrape to scrape', async () => {
    let rows: PredictionSnapshot[] = snapshots;
    const m = await createMetricsRegistry({ collectPredictions: async () => rows });
    await m.metrics();
    rows = [{ endpoint: '111', version: '1.1.0', requests_total: 45, errors_total: 1, replicas: 1 }];
    const { samples } = parse(await m.metrics());
    expect(find(samples, METRIC.predictionRequests).map((s) => [s.labels.version, s.value])).toEqual([['1.1.0', 45]]);
    expect(find(samples, METRIC.cost)).toHaveLength(0);
    expect(find(samples, METRIC.predictionLatency)).toHaveLength(0);
  });

  it('still answers when the stats cannot be read', async () => {
    const errors: unknown[] = [];
    const m = await createMetricsRegistry({
      collectPredictions: async () => {
        throw new Error('emulator down');
      },
      onCollectError: (err) => errors.push(err),
    });
    m.observeToolCall('get_metrics', 'error', 0.01);
    const { samples } = parse(await m.metrics());
    expect(find(samples, METRIC.statsUp)[0]?.value).toBe(0);
    expect(find(samples, METRIC.predictionRequests)).toHaveLength(0);
    expect(find(samples, METRIC.toolCalls)[0]?.value).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('can add the Node process metrics', async () => {
    const m = await createMetricsRegistry({ collectPredictions: async () => [], defaultMetrics: true });
    const { types } = parse(await m.metrics());
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
  });

  it.skipIf(!promtool)('passes promtool check metrics', async () => {
    const m = await createMetricsRegistry({ collectPredictions: async () => snapshots });
    m.observeToolCall('predict', 'ok', 0.01);
    const res = spawnSync('promtool', ['check', 'metrics'], { input: await m.metrics(), encoding: 'utf8' });
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});
