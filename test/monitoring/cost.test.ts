// Cost from measured usage and a dated price table; replica-hours from replica-count steps.
import { describe, expect, it } from 'vitest';
import { VertexMcpError } from '../../src/lib/errors.js';
import { calculateCost, replicaHours, replicaHoursByDeployment } from '../../src/lib/monitoring/cost.js';
import { defaultPriceTable, loadPriceTable, type PriceTable } from '../../src/lib/monitoring/prices.js';

const H = 3_600_000;
const d = (as_of: string) => ({ as_of, source: 'https://example.test/pricing' });

/** A small table of its own, so the hand-computed figures do not move with the shipped prices. */
const prices: PriceTable = loadPriceTable(
  {
    currency: 'USD',
    region: 'us-central1',
    as_of: '2026-01-15',
    machine_types: {
      'n1-standard-4': { usd_per_node_hour: 0.219, ...d('2026-01-15') },
      'g2-standard-8': { usd_per_node_hour: 0.3358, ...d('2025-12-01') },
    },
    accelerators: { NVIDIA_L4: { usd_per_hour: 0.644, ...d('2025-12-01') } },
    storage: { usd_per_gb_month: 0.02, ...d('2026-01-15') },
    egress: { usd_per_gb: 0.12, ...d('2026-01-15') },
    tokens: { 'gemini-2.5-flash': { usd_per_1m_input_tokens: 0.3, usd_per_1m_output_tokens: 2.5, ...d('2026-01-15') } },
    local: { usd_per_node_hour: 0, usd_per_1m_tokens: 0, ...d('2026-01-15'), note: 'local models are free' },
  },
  { base: null },
);

const usage = {
  prices,
  period: { startMs: 0, endMs: 10 * H },
  deployments: [
    { deployed_model_id: 'dm1', machine_type: 'n1-standard-4', replica_hours: 10 },
    {
      deployed_model_id: 'dm2',
      machine_type: 'g2-standard-8',
      accelerator_type: 'NVIDIA_L4',
      accelerator_count: 1,
      replica_hours: 5,
    },
  ],
  requests: 1000,
  input_tokens: 1_500_000,
  output_tokens: 500_000,
  storage_gb_months: 10,
  egress_gb: 5,
  token_model: 'gemini-2.5-flash',
};

describe('calculateCost', () => {
  it('matches a hand-computed example exactly', () => {
    // dm1: 10 h x 0.219 = 2.19; dm2: 5 h x 0.3358 = 1.679 machine + 5 h x 1 x 0.644 = 3.22 L4.
    // Tokens: 1.5M x 0.30 + 0.5M x 2.50 = 0.45 + 1.25 = 1.70. Storage 10 x 0.02 = 0.20; egress 5 x 0.12 = 0.60.
    // Total 2.19 + 1.679 + 3.22 + 1.70 + 0.20 + 0.60 = 9.589; per request 9.589 / 1000; per 1M tokens 9.589 / 2.
    const c = calculateCost(usage);
    expect(c.compute_usd).toBe(3.869);
    expect(c.accelerator_usd).toBe(3.22);
    expect(c.token_usd).toBe(1.7);
    expect(c.storage_usd).toBe(0.2);
    expect(c.network_usd).toBe(0.6);
    expect(c.total_usd).toBe(9.589);
    expect(c.per_request_usd).toBe(0.009589);
    expect(c.per_1m_tokens_usd).toBe(4.7945);
    expect(c.total_includes).toEqual(['compute_usd', 'accelerator_usd', 'storage_usd', 'network_usd', 'token_usd']);
    expect(c.reasons).toEqual({});
    expect(c.breakdown).toEqual([
      {
        deployed_model_id: 'dm1',
        machine_type: 'n1-standard-4',
        accelerator_type: null,
        accelerator_count: 0,
        replica_hours: 10,
        usd_per_node_hour: 0.219,
        usd_per_accelerator_hour: null,
        compute_usd: 2.19,
        accelerator_usd: 0,
        total_usd: 2.19,
      },
      {
        deployed_model_id: 'dm2',
        machine_type: 'g2-standard-8',
        accelerator_type: 'NVIDIA_L4',
        accelerator_count: 1,
        replica_hours: 5,
        usd_per_node_hour: 0.3358,
        usd_per_accelerator_hour: 0.644,
        compute_usd: 1.679,
        accelerator_usd: 3.22,
        total_usd: 4.899,
      },
    ]);
    expect(c.prices_as_of).toBe('2025-12-01');
    expect(c.prices_used.map((p) => p.item)).toEqual([
      'machine_types.n1-standard-4',
      'machine_types.g2-standard-8',
      'accelerators.NVIDIA_L4',
      'storage',
      'egress',
      'tokens.gemini-2.5-flash.input',
      'tokens.gemini-2.5-flash.output',
    ]);
    expect(c.period).toEqual({ start: '1970-01-01T00:00:00.000Z', end: '1970-01-01T10:00:00.000Z', hours: 10 });
    expect(c.assumptions.join(' ')).toMatch(/verify before relying on them/);
  });

  it('gives null with the known types for an unknown machine type, never a default', () => {
    const c = calculateCost({
      ...usage,
      deployments: [{ deployed_model_id: 'dm9', machine_type: 'a3-highgpu-8g', replica_hours: 3 }],
    });
    expect(c.compute_usd).toBeNull();
    expect(c.reasons.compute_usd).toContain('dm9: no price for machine type "a3-highgpu-8g"');
    expect(c.reasons.compute_usd).toContain('known: g2-standard-8, n1-standard-4');
    expect(c.breakdown[0]?.total_usd).toBeNull();
    expect(c.total_usd).toBeNull();
    expect(c.reasons.total_usd).toContain('compute_usd');
    expect(c.per_request_usd).toBeNull();
    expect(c.reasons.per_request_usd).toMatch(/^total is unknown/);
    expect(c.per_1m_tokens_usd).toBeNull();
  });

  it('null per-request and per-token figures when there were none', () => {
    const c = calculateCost({ ...usage, requests: 0, input_tokens: 0, output_tokens: 0 });
    expect(c.total_usd).toBe(7.889);
    expect(c.per_request_usd).toBeNull();
    expect(c.reasons.per_request_usd).toBe('no requests in the period');
    expect(c.per_1m_tokens_usd).toBeNull();
    expect(c.reasons.per_1m_tokens_usd).toBe('no tokens counted in the period');
  });

  it('leaves unmeasured storage and egress out of the total, and says so', () => {
    const { storage_gb_months: _s, egress_gb: _e, ...rest } = usage;
    const c = calculateCost(rest);
    expect(c.storage_usd).toBeNull();
    expect(c.network_usd).toBeNull();
    expect(c.reasons.storage_usd).toMatch(/^not measured/);
    expect(c.total_usd).toBe(8.789);
    expect(c.total_includes).toEqual(['compute_usd', 'accelerator_usd', 'token_usd']);
    expect(c.assumptions).toContain('The total excludes storage_usd and network_usd (not measured)');
  });

  it('unknown token models and accelerator counts are null with reasons', () => {
    const c = calculateCost({
      ...usage,
      token_model: 'gemini-9-ultra',
      deployments: [
        { deployed_model_id: 'dm2', machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', replica_hours: 1 },
      ],
    });
    expect(c.token_usd).toBeNull();
    expect(c.reasons.token_usd).toContain('known: gemini-2.5-flash');
    expect(c.accelerator_usd).toBeNull();
    expect(c.reasons.accelerator_usd).toContain('accelerator_count is not known for NVIDIA_L4');
    expect(c.compute_usd).toBe(0.3358);
    expect(c.total_usd).toBeNull();
  });

  it('custom models without a token_model pay per node-hour only', () => {
    const { token_model: _t, ...rest } = usage;
    const c = calculateCost(rest);
    expect(c.token_usd).toBe(0);
    expect(c.assumptions.join(' ')).toMatch(/billed per node-hour, not per token/);
  });

  it('prices the emulator at 0 and shows the Vertex AI equivalent', () => {
    const c = calculateCost({ ...usage, backend: 'emulator' });
    expect(c.backend).toBe('emulator');
    expect(c.total_usd).toBe(0);
    expect(c.compute_usd).toBe(0);
    expect(c.per_request_usd).toBe(0);
    expect(c.vertex_equivalent?.total_usd).toBe(9.589);
    expect(c.assumptions.join(' ')).toMatch(/local models are free/);
  });

  it('warns when the endpoint is in another region than the table', () => {
    const c = calculateCost({ ...usage, location: 'europe-west4' });
    expect(c.assumptions.join(' ')).toMatch(/europe-west4 but the price table is for us-central1/);
  });

  it('rejects impossible quantities, naming the field', () => {
    const bad = () =>
      calculateCost({
        ...usage,
        deployments: [{ deployed_model_id: 'x', machine_type: 'n1-standard-4', replica_hours: -1 }],
      });
    expect(bad).toThrow(VertexMcpError);
    expect(bad).toThrow('deployments.0.replica_hours');
    expect(() => calculateCost({ ...usage, period: { startMs: 5, endMs: 5 } })).toThrow('endMs must be after startMs');
  });

  it('works with the shipped table', () => {
    const c = calculateCost({
      prices: defaultPriceTable(),
      period: { startMs: 0, endMs: 24 * H },
      deployments: [{ deployed_model_id: '1', machine_type: 'n1-standard-2', replica_hours: 24 }],
      requests: 100,
      input_tokens: 0,
      output_tokens: 0,
    });
    expect(c.compute_usd).toBe(
      Math.round(24 * defaultPriceTable().machine_types['n1-standard-2']!.usd_per_node_hour * 1e6) / 1e6,
    );
    expect(c.prices_as_of).toBe(defaultPriceTable().machine_types['n1-standard-2']!.as_of);
  });
});

describe('replicaHours', () => {
  it('integrates the replica-count step function', () => {
    // From 0 to 4 h: 2 replicas (set before the window) for 1 h, 3 for 1.5 h, 0 for 0.5 h, 1 for 1 h.
    const events = [
      { timeMs: -1 * H, replicas: 2 },
      { timeMs: 1 * H, replicas: 3 },
      { timeMs: 2.5 * H, replicas: 0 },
      { timeMs: 3 * H, replicas: 1 },
      { timeMs: 5 * H, replicas: 10 },
    ];
    expect(replicaHours(events, 0, 4 * H)).toBe(7.5);
    expect(replicaHours([...events].reverse(), 0, 4 * H)).toBe(7.5);
  });

  it('starts at 0 without an earlier event, and takes an event at the start', () => {
    expect(replicaHours([], 0, H)).toBe(0);
    expect(replicaHours([{ timeMs: 0.5 * H, replicas: 2 }], 0, H)).toBe(1);
    expect(replicaHours([{ timeMs: 0, replicas: 4 }], 0, H / 2)).toBe(2);
    // Two steps at one instant: the later one given wins.
    expect(
      replicaHours(
        [
          { timeMs: 0, replicas: 1 },
          { timeMs: 0, replicas: 3 },
        ],
        0,
        H,
      ),
    ).toBe(3);
    expect(replicaHours([{ timeMs: 0, replicas: 4 }], 0, 0)).toBe(0);
  });

  it('rejects reversed periods and negative counts', () => {
    expect(() => replicaHours([], 10, 5)).toThrow('empty or reversed');
    expect(() => replicaHours([{ timeMs: 0, replicas: -1 }], 0, 1)).toThrow('bad replica event');
  });

  it('groups by deployed model', () => {
    const events = [
      { timeMs: 0, deployedModelId: 'a', replicas: 1 },
      { timeMs: 0, deployedModelId: 'b', replicas: 2 },
      { timeMs: H, deployedModelId: 'b', replicas: 0 },
    ];
    expect(replicaHoursByDeployment(events, 0, 2 * H)).toEqual({ a: 2, b: 2 });
  });
});
