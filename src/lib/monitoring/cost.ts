// Cost of serving over a period: machine and accelerator hourly rates x measured replica-hours,
// storage, egress and tokens, from a dated price table. A figure whose price or quantity is unknown
// is null with the reason, never a default; the total says which parts it includes.
import { z } from 'zod';
import { invalid } from '../errors.js';
import { acceleratorPrice, machinePrice, type PriceTable, tokenPrice } from './prices.js';
import { parseOrThrow } from './validate.js';

const HOUR_MS = 3_600_000;

// ---- replica-hours ----

export interface ReplicaStep {
  timeMs: number;
  /** Replica count from timeMs on, until the next step. */
  replicas: number;
}

/**
 * Replica-hours in [startMs, endMs): the integral of the replica-count step function. The last
 * step at or before startMs gives the starting count (0 when there is none); steps at or after
 * endMs are ignored. Steps need not be sorted; of steps at the same time, the last given wins.
 */
export function replicaHours(events: readonly ReplicaStep[], startMs: number, endMs: number): number {
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs < startMs) {
    throw invalid(`replica-hours period is empty or reversed (start ${startMs}, end ${endMs})`);
  }
  for (const e of events) {
    if (!Number.isFinite(e.timeMs) || !Number.isFinite(e.replicas) || e.replicas < 0) {
      throw invalid(`bad replica event {timeMs: ${e.timeMs}, replicas: ${e.replicas}}`);
    }
  }
  const sorted = [...events].sort((a, b) => a.timeMs - b.timeMs); // stable: same-time order kept
  let current = 0;
  let t = startMs;
  let replicaMs = 0;
  for (const e of sorted) {
    if (e.timeMs <= startMs) {
      current = e.replicas;
      continue;
    }
    if (e.timeMs >= endMs) break;
    replicaMs += current * (e.timeMs - t);
    t = e.timeMs;
    current = e.replicas;
  }
  replicaMs += current * (endMs - t);
  return replicaMs / HOUR_MS;
}

/** replicaHours per deployed model, for replica events of one endpoint. */
export function replicaHoursByDeployment(
  events: readonly (ReplicaStep & { deployedModelId: string })[],
  startMs: number,
  endMs: number,
): Record<string, number> {
  const groups = new Map<string, ReplicaStep[]>();
  for (const e of events) {
    const g = groups.get(e.deployedModelId) ?? [];
    g.push(e);
    groups.set(e.deployedModelId, g);
  }
  return Object.fromEntries([...groups].map(([id, steps]) => [id, replicaHours(steps, startMs, endMs)]));
}

// ---- cost ----

const count = z.number().finite().nonnegative();

const DeploymentUsage = z.object({
  deployed_model_id: z.string().min(1),
  machine_type: z.string().min(1),
  accelerator_type: z.string().nullish(),
  accelerator_count: z.number().int().nonnegative().nullish(),
  replica_hours: count.describe('measured replica-hours in the period'),
});
export type DeploymentUsage = z.input<typeof DeploymentUsage>;

const CostQuantities = z.object({
  period: z
    .object({ startMs: z.number().finite(), endMs: z.number().finite() })
    .refine((p) => p.endMs > p.startMs, 'endMs must be after startMs'),
  deployments: z.array(DeploymentUsage),
  requests: count,
  input_tokens: count,
  output_tokens: count,
  storage_gb_months: count.nullish(),
  egress_gb: count.nullish(),
  token_model: z.string().min(1).nullish(),
  backend: z.enum(['vertex', 'emulator']).default('vertex'),
  location: z.string().nullish(),
});

export type CostInput = z.input<typeof CostQuantities> & { prices: PriceTable };

export type CostComponent = 'compute_usd' | 'accelerator_usd' | 'storage_usd' | 'network_usd' | 'token_usd';
const COMPONENTS: CostComponent[] = ['compute_usd', 'accelerator_usd', 'storage_usd', 'network_usd', 'token_usd'];

export interface DeploymentCost {
  deployed_model_id: string;
  machine_type: string;
  accelerator_type: string | null;
  accelerator_count: number;
  replica_hours: number;
  usd_per_node_hour: number | null;
  usd_per_accelerator_hour: number | null;
  compute_usd: number | null;
  accelerator_usd: number | null;
  total_usd: number | null;
  /** Why a figure above is null. */
  reason?: string;
}

export interface PriceUsed {
  item: string;
  rate: number;
  unit: string;
  as_of: string;
  source: string;
}

export interface CostFigures {
  compute_usd: number | null;
  accelerator_usd: number | null;
  storage_usd: number | null;
  network_usd: number | null;
  token_usd: number | null;
  /** Sum of the components named in total_includes; null when a priced component is unknown. */
  total_usd: number | null;
  total_includes: CostComponent[];
  /** Why a figure is null (keyed by field name). */
  reasons: Record<string, string>;
}

export interface CostResult extends CostFigures {
  currency: 'USD';
  backend: 'vertex' | 'emulator';
  period: { start: string; end: string; hours: number };
  /** Requests in the period (the per-request figures divide by it). */
  requests: number;
  per_request_usd: number | null;
  per_1m_tokens_usd: number | null;
  breakdown: DeploymentCost[];
  /** In emulator mode: what the same usage would cost on Vertex AI at the table's prices. */
  vertex_equivalent?: CostFigures & { breakdown: DeploymentCost[] };
  /** The oldest as_of date among the prices used. */
  prices_as_of: string | null;
  prices_used: PriceUsed[];
  assumptions: string[];
}

/** USD rounded to a millionth of a dollar, so hand-computed figures compare exactly. */
const money = (x: number) => Math.round(x * 1e6) / 1e6;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function calculateCost(input: CostInput): CostResult {
  const { prices } = input;
  if (!prices || typeof prices !== 'object' || !prices.machine_types) {
    throw invalid('calculateCost needs a price table (loadPriceTable())');
  }
  const q = parseOrThrow(CostQuantities, input, 'cost input');
  const hours = (q.period.endMs - q.period.startMs) / HOUR_MS;
  const assumptions: string[] = [
    `Prices are for ${prices.region} in ${prices.currency}, as of each entry's as_of date per its source page; verify before relying on them`,
    'Compute and accelerators are hourly rates x measured replica-hours; Vertex AI bills node-hours in 30-second increments, so a bill can be slightly higher',
  ];
  if (q.location && q.location !== prices.region) {
    assumptions.push(
      `The endpoint is in ${q.location} but the price table is for ${prices.region}; prices differ by region (override with --prices)`,
    );
  }

  const vertex = figures(q, prices, 'vertex');
  const used = vertex.used;
  let main: typeof vertex;
  if (q.backend === 'emulator') {
    main = figures(q, prices, 'emulator');
    used.push(...main.used);
    assumptions.push(
      `Emulator: ${prices.local.note ?? 'local models are not billed'} (vertex_equivalent prices the same usage on Vertex AI)`,
    );
  } else {
    main = vertex;
  }
  assumptions.push(...main.assumptions);

  const tokens = q.input_tokens + q.output_tokens;
  const reasons = { ...main.reasons };
  let perRequest: number | null = null;
  if (main.total_usd === null) reasons.per_request_usd = `total is unknown: ${reasons.total_usd}`;
  else if (q.requests === 0) reasons.per_request_usd = 'no requests in the period';
  else perRequest = money(main.total_usd / q.requests);
  let perMTokens: number | null = null;
  if (main.total_usd === null) reasons.per_1m_tokens_usd = `total is unknown: ${reasons.total_usd}`;
  else if (tokens === 0) reasons.per_1m_tokens_usd = 'no tokens counted in the period';
  else perMTokens = money((main.total_usd / tokens) * 1e6);

  const dedup = new Map(used.map((u) => [u.item, u]));
  const dates = [...dedup.values()].map((u) => u.as_of).sort();
  const result: CostResult = {
    currency: 'USD',
    backend: q.backend,
    period: {
      start: new Date(q.period.startMs).toISOString(),
      end: new Date(q.period.endMs).toISOString(),
      hours: money(hours),
    },
    requests: q.requests,
    compute_usd: main.compute_usd,
    accelerator_usd: main.accelerator_usd,
    storage_usd: main.storage_usd,
    network_usd: main.network_usd,
    token_usd: main.token_usd,
    total_usd: main.total_usd,
    total_includes: main.total_includes,
    per_request_usd: perRequest,
    per_1m_tokens_usd: perMTokens,
    reasons,
    breakdown: main.breakdown,
    prices_as_of: dates[0] ?? null,
    prices_used: [...dedup.values()],
    assumptions,
  };
  if (q.backend === 'emulator') {
    const { used: _u, assumptions: _a, ...eq } = vertex;
    result.vertex_equivalent = eq;
  }
  return result;
}

type Quantities = z.output<typeof CostQuantities>;

function figures(q: Quantities, prices: PriceTable, backend: 'vertex' | 'emulator') {
  const used: PriceUsed[] = [];
  const assumptions: string[] = [];
  const reasons: Record<string, string> = {};
  const local = backend === 'emulator';
  if (local) {
    used.push({
      item: 'local',
      rate: prices.local.usd_per_node_hour,
      unit: 'USD/node-hour',
      as_of: prices.local.as_of,
      source: prices.local.source,
    });
  }

  const breakdown: DeploymentCost[] = q.deployments.map((d) => {
    const accType = d.accelerator_type ? d.accelerator_type : null;
    const row: DeploymentCost = {
      deployed_model_id: d.deployed_model_id,
      machine_type: d.machine_type,
      accelerator_type: accType,
      accelerator_count: d.accelerator_count ?? 0,
      replica_hours: money(d.replica_hours),
      usd_per_node_hour: null,
      usd_per_accelerator_hour: null,
      compute_usd: null,
      accelerator_usd: null,
      total_usd: null,
    };
    const why: string[] = [];
    if (local) {
      row.usd_per_node_hour = prices.local.usd_per_node_hour;
      row.compute_usd = money(d.replica_hours * prices.local.usd_per_node_hour);
      row.usd_per_accelerator_hour = accType ? prices.local.usd_per_node_hour : null;
      row.accelerator_usd = 0;
    } else {
      const m = machinePrice(prices, d.machine_type);
      if (m.price) {
        row.usd_per_node_hour = m.price.usd_per_node_hour;
        row.compute_usd = money(d.replica_hours * m.price.usd_per_node_hour);
        used.push({
          item: `machine_types.${m.name}`,
          rate: m.price.usd_per_node_hour,
          unit: 'USD/node-hour',
          as_of: m.price.as_of,
          source: m.price.source,
        });
      } else why.push(m.reason);
      if (!accType || d.accelerator_count === 0) {
        row.accelerator_usd = 0;
      } else if (d.accelerator_count === undefined || d.accelerator_count === null) {
        why.push(`accelerator_count is not known for ${accType}`);
      } else {
        const a = acceleratorPrice(prices, accType);
        if (a.price) {
          row.usd_per_accelerator_hour = a.price.usd_per_hour;
          row.accelerator_usd = money(d.replica_hours * d.accelerator_count * a.price.usd_per_hour);
          used.push({
            item: `accelerators.${a.name}`,
            rate: a.price.usd_per_hour,
            unit: 'USD/accelerator-hour',
            as_of: a.price.as_of,
            source: a.price.source,
          });
        } else why.push(a.reason);
      }
    }
    if (row.compute_usd !== null && row.accelerator_usd !== null) {
      row.total_usd = money(row.compute_usd + row.accelerator_usd);
    }
    if (why.length) row.reason = why.join('; ');
    return row;
  });

  const collect = (field: 'compute_usd' | 'accelerator_usd'): number | null => {
    const missing = breakdown.filter((b) => b[field] === null);
    if (missing.length) {
      reasons[field] = missing.map((b) => `${b.deployed_model_id}: ${b.reason}`).join('; ');
      return null;
    }
    return money(sum(breakdown.map((b) => b[field] as number)));
  };
  const compute_usd = collect('compute_usd');
  const accelerator_usd = collect('accelerator_usd');
  if (!q.deployments.length) assumptions.push('No deployments in the period: compute and accelerators cost 0');

  let storage_usd: number | null = null;
  let network_usd: number | null = null;
  let token_usd: number | null = null;
  if (local) {
    storage_usd = 0;
    network_usd = 0;
    token_usd = money(((q.input_tokens + q.output_tokens) / 1e6) * prices.local.usd_per_1m_tokens);
    assumptions.push('Emulator storage is local disk and its traffic is loopback: neither is billed');
  } else {
    if (q.storage_gb_months === undefined || q.storage_gb_months === null) {
      // No tool measures stored GB-months: the Cloud Billing export or the GCS console has them.
      reasons.storage_usd =
        'not measured: artifact and dataset storage is billed by Cloud Storage (GB-months); see its usage in the Cloud Billing report (library callers can give storage_gb_months)';
    } else {
      storage_usd = money(q.storage_gb_months * prices.storage.usd_per_gb_month);
      used.push({
        item: 'storage',
        rate: prices.storage.usd_per_gb_month,
        unit: 'USD/GB-month',
        as_of: prices.storage.as_of,
        source: prices.storage.source,
      });
    }
    if (q.egress_gb === undefined || q.egress_gb === null) {
      reasons.network_usd =
        'not measured: egress (response bytes leaving Google Cloud) is not metered per endpoint; see the Cloud Billing report (library callers can give egress_gb)';
    } else {
      network_usd = money(q.egress_gb * prices.egress.usd_per_gb);
      used.push({
        item: 'egress',
        rate: prices.egress.usd_per_gb,
        unit: 'USD/GB',
        as_of: prices.egress.as_of,
        source: prices.egress.source,
      });
    }
    if (!q.token_model) {
      token_usd = 0;
      if (q.input_tokens + q.output_tokens > 0) {
        assumptions.push(
          'No token_model: deployed custom models are billed per node-hour, not per token, so tokens cost 0',
        );
      }
    } else {
      const t = tokenPrice(prices, q.token_model);
      if (t.price) {
        token_usd = money(
          (q.input_tokens / 1e6) * t.price.usd_per_1m_input_tokens +
            (q.output_tokens / 1e6) * t.price.usd_per_1m_output_tokens,
        );
        used.push(
          {
            item: `tokens.${t.name}.input`,
            rate: t.price.usd_per_1m_input_tokens,
            unit: 'USD/1M input tokens',
            as_of: t.price.as_of,
            source: t.price.source,
          },
          {
            item: `tokens.${t.name}.output`,
            rate: t.price.usd_per_1m_output_tokens,
            unit: 'USD/1M output tokens',
            as_of: t.price.as_of,
            source: t.price.source,
          },
        );
      } else reasons.token_usd = t.reason;
    }
  }

  // The total needs every priced component; storage and egress that were not measured are left
  // out and named, rather than counted as 0.
  const values: Record<CostComponent, number | null> = {
    compute_usd,
    accelerator_usd,
    storage_usd,
    network_usd,
    token_usd,
  };
  const unpriced = (['compute_usd', 'accelerator_usd', 'token_usd'] as const).filter((c) => values[c] === null);
  const total_includes = COMPONENTS.filter((c) => values[c] !== null);
  let total_usd: number | null = null;
  if (unpriced.length) {
    reasons.total_usd = unpriced.map((c) => `${c}: ${reasons[c]}`).join('; ');
  } else {
    total_usd = money(sum(total_includes.map((c) => values[c] as number)));
    const left = COMPONENTS.filter((c) => values[c] === null);
    if (left.length) assumptions.push(`The total excludes ${left.join(' and ')} (not measured)`);
  }
  return {
    compute_usd,
    accelerator_usd,
    storage_usd,
    network_usd,
    token_usd,
    total_usd,
    total_includes,
    reasons,
    breakdown,
    used,
    assumptions,
  };
}
