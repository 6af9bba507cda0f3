// Replica autoscaling for the emulator's deployed models.
//
// Each deployed model runs between its min and max replica count. The emulator serves every
// replica from the same process, so replicas are a model of capacity, not threads: what is real
// is the measured load. The model:
//
// - A replica serves CAPACITY_PER_REPLICA request at a time; a replica busy all the time is at
//   100% utilisation (the duty cycle that `.../cpu/utilization` and `.../accelerator/duty_cycle`
//   measure on Vertex; the emulator runs on the CPU, so both read the same number).
// - Load is measured as busy time: the time each request spends in the emulator's Predict
//   handler (routing, runtime, encoding, recording), including requests still in flight at a tick.
//   Over a tick window, busy time / window length = mean concurrency (Little's law: request rate x
//   mean latency), and utilisation = concurrency / (replicas x CAPACITY_PER_REPLICA).
// - Every tick (TICK_MS, timer unref'd, clock injectable) the autoscaler computes the replicas
//   each autoscaling metric asks for, as Vertex's autoscaler does, "desired = ceil(current x
//   observed / target)":
//     cpu/utilization, accelerator/duty_cycle: ceil(concurrency / CAPACITY_PER_REPLICA / (target/100))
//     request_count (target = requests per minute per replica, the Python SDK's
//       autoscaling_target_request_count_per_minute): ceil(requests per minute / target)
//   and takes the largest (scale up when any metric is over its target, down only when all are
//   under). Without autoscaling_metric_specs the target is 60% utilisation (the documented default).
// - Scale up: at once, to the desired count (capped at max). Scale down: one replica at a time,
//   after the desired count has stayed below the current one for SCALE_DOWN_COOLDOWN_MS (each
//   further step waits another cool-down), never below min.
// - Every change is recorded with recordReplicas (and the initial count at deploy, and 0 when the
//   model is undeployed), so monitoring reads replica history from the replica_events table; the
//   current count is DeployedModel.status.available_replica_count.
import { recordReplicas } from './predictions.js';
import type { Store } from './store.js';

export const CAPACITY_PER_REPLICA = 1;
export const DEFAULT_TARGET = 60;
export const TICK_MS = 1000;
export const SCALE_DOWN_COOLDOWN_MS = 30_000;

export const METRIC = {
  cpu: 'aiplatform.googleapis.com/prediction/online/cpu/utilization',
  dutyCycle: 'aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle',
  requestCount: 'aiplatform.googleapis.com/prediction/online/request_count',
} as const;
export const SUPPORTED_METRICS: string[] = Object.values(METRIC);

export interface ScalingSpec {
  minReplicas: number;
  maxReplicas: number;
  /** Metric name -> target; empty = cpu utilisation at DEFAULT_TARGET. */
  metrics: { name: string; target: number }[];
}

export interface AutoscalerOptions {
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  tickMs?: number;
  cooldownMs?: number;
}

interface Tracked {
  endpoint: string;
  deployedModelId: string;
  spec: ScalingSpec;
  replicas: number;
  /** Busy milliseconds accounted in the current window. */
  busyMs: number;
  /** Requests that finished in the current window. */
  requests: number;
  /** In-flight requests: id -> time their busy time is accounted up to. */
  inflight: Map<number, number>;
  /** Since when the desired count has been below the current one. */
  lowSince: number | undefined;
  /** Utilisation of the last window, in percent of the current replicas' capacity. */
  utilisation: number;
  /** When the replica count last changed (or tracking started). */
  changedMs: number;
}

export interface ReplicaState {
  replicas: number;
  /** Utilisation over the last tick, percent of the current replicas' capacity. */
  utilisation: number;
  changedMs: number;
}

const key = (endpoint: string, id: string) => `${endpoint}\u0000${id}`;

export class Autoscaler {
  private readonly models = new Map<string, Tracked>();
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly cooldownMs: number;
  private windowStart: number;
  private timer: NodeJS.Timeout | undefined;
  private nextRequest = 0;

  constructor(
    private readonly store: Store,
    opts: AutoscalerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.tickMs = opts.tickMs ?? TICK_MS;
    this.cooldownMs = opts.cooldownMs ?? SCALE_DOWN_COOLDOWN_MS;
    this.windowStart = this.now();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Starts tracking a deployed model. A new deployment starts at min replicas (recorded); a
   * restored one (emulator restart) at its last recorded count, kept within [min, max].
   */
  track(
    endpoint: string,
    deployedModelId: string,
    spec: ScalingSpec,
    restored?: { replicas: number; sinceMs: number },
  ): number {
    const replicas =
      restored === undefined
        ? spec.minReplicas
        : Math.min(spec.maxReplicas, Math.max(spec.minReplicas, restored.replicas));
    // One reading of the clock for the state and its record: a restart reads the record back.
    const now = this.now();
    this.models.set(key(endpoint, deployedModelId), {
      endpoint,
      deployedModelId,
      spec,
      replicas,
      busyMs: 0,
      requests: 0,
      inflight: new Map(),
      lowSince: undefined,
      utilisation: 0,
      changedMs: restored?.replicas === replicas ? restored.sinceMs : now,
    });
    if (restored?.replicas !== replicas) this.record(endpoint, deployedModelId, replicas, now);
    return replicas;
  }

  /** New bounds or targets (MutateDeployedModel): the count moves into [min, max] at once. */
  update(endpoint: string, deployedModelId: string, spec: ScalingSpec): void {
    const m = this.models.get(key(endpoint, deployedModelId));
    if (!m) return;
    m.spec = spec;
    m.lowSince = undefined;
    this.set(m, Math.min(spec.maxReplicas, Math.max(spec.minReplicas, m.replicas)));
  }

  /** Stops tracking (undeploy); records the drop to 0 replicas. */
  untrack(endpoint: string, deployedModelId: string): void {
    if (this.models.delete(key(endpoint, deployedModelId))) this.record(endpoint, deployedModelId, 0);
  }

  state(endpoint: string, deployedModelId: string): ReplicaState | undefined {
    const m = this.models.get(key(endpoint, deployedModelId));
    return m && { replicas: m.replicas, utilisation: m.utilisation, changedMs: m.changedMs };
  }

  /** Marks the start of a request to a deployed model; call the returned function when it ends. */
  begin(endpoint: string, deployedModelId: string): () => void {
    const m = this.models.get(key(endpoint, deployedModelId));
    if (!m) return () => {};
    const id = this.nextRequest++;
    m.inflight.set(id, this.now());
    return () => {
      const from = m.inflight.get(id);
      if (from === undefined) return;
      m.inflight.delete(id);
      m.busyMs += Math.max(0, this.now() - from);
      m.requests++;
    };
  }

  /** One autoscaling step over the window since the previous tick. */
  tick(): void {
    const now = this.now();
    const windowMs = now - this.windowStart;
    this.windowStart = now;
    if (windowMs <= 0) return;
    for (const m of this.models.values()) {
      let busy = m.busyMs;
      for (const [id, from] of m.inflight) {
        busy += Math.max(0, now - from);
        m.inflight.set(id, now);
      }
      const concurrency = busy / windowMs;
      const perMinute = (m.requests * 60_000) / windowMs;
      m.busyMs = 0;
      m.requests = 0;
      m.utilisation = (100 * concurrency) / (m.replicas * CAPACITY_PER_REPLICA);
      const desired = Math.min(
        m.spec.maxReplicas,
        Math.max(m.spec.minReplicas, desiredReplicas(m.spec, concurrency, perMinute)),
      );
      if (desired > m.replicas) {
        m.lowSince = undefined;
        this.set(m, desired);
      } else if (desired < m.replicas) {
        if (m.lowSince === undefined) m.lowSince = now;
        else if (now - m.lowSince >= this.cooldownMs) {
          this.set(m, m.replicas - 1);
          m.lowSince = now;
        }
      } else {
        m.lowSince = undefined;
      }
    }
  }

  private set(m: Tracked, replicas: number): void {
    if (replicas === m.replicas) return;
    m.replicas = replicas;
    m.changedMs = this.now();
    this.record(m.endpoint, m.deployedModelId, replicas, m.changedMs);
  }

  private record(endpoint: string, deployedModelId: string, replicas: number, timeMs = this.now()): void {
    recordReplicas(this.store, { timeMs, endpoint, deployedModelId, replicas });
  }
}

/** Replicas the metrics ask for (before the [min, max] clamp); see the top of this file. */
export function desiredReplicas(spec: ScalingSpec, concurrency: number, requestsPerMinute: number): number {
  const metrics = spec.metrics.length ? spec.metrics : [{ name: METRIC.cpu, target: DEFAULT_TARGET }];
  // A hair under an integer counts as the integer: 0.6 / 0.6 must not become 2.
  const up = (x: number) => Math.ceil(x - 1e-9);
  let desired = 0;
  for (const { name, target } of metrics) {
    const wanted =
      name === METRIC.requestCount
        ? up(requestsPerMinute / target)
        : up(concurrency / CAPACITY_PER_REPLICA / (target / 100));
    desired = Math.max(desired, wanted);
  }
  return desired;
}
