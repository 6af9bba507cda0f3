// Fault injection for reliability tests. No gRPC import: the CLI validates the flag at start-up
// without loading the emulator.
//
//   --faults unavailable=0.1,latency=50ms,latency[router@1.1.0]=40ms,errors[router@1.1.0]=0.2
//
// - unavailable=<probability>: that share of every gRPC call fails with UNAVAILABLE first.
// - latency=<ms>ms: every gRPC call waits that long first.
// - latency[<deployed model display name>]=<ms>ms: Predict requests routed to that deployed model
//   wait that long inside the model (the recorded model latency includes it).
// - errors[<deployed model display name>]=<probability>: that share of the requests routed to that
//   deployed model fail with INTERNAL, recorded as failed requests (response code 500). The draws
//   come from a seeded stream per display name (`faults:<display name>`), in routing order, so a
//   run is reproducible.
// vertex-mcp deploys a registry version with the display name `<model>@<semver>`, e.g. router@1.1.0.
// A display name may hold anything but "]" and ",".
import { Rng } from './runtime/prng.js';

/** Faults of one deployed model, applied by the PredictionService after routing. */
export interface ModelFaults {
  /** Extra model latency per request, in milliseconds. */
  latencyMs: number;
  /** Probability in [0,1] that a request fails with INTERNAL (recorded as 500). */
  errorRate: number;
}

export interface Faults {
  /** Probability in [0,1] that a call fails with UNAVAILABLE before reaching the service. */
  unavailable: number;
  /** Extra latency added to every call, in milliseconds. */
  latencyMs: number;
  /** Faults by deployed model display name. */
  models?: Record<string, ModelFaults>;
}

export const NO_FAULTS: Faults = { unavailable: 0, latencyMs: 0, models: {} };

export const FAULT_SYNTAX =
  'unavailable=<probability>, latency=<ms>ms, latency[<deployed model display name>]=<ms>ms, errors[<deployed model display name>]=<probability>, comma-separated (e.g. unavailable=0.1,latency[router@1.1.0]=40ms,errors[router@1.1.0]=0.2)';

const PART = /^([a-z_]+)(?:\[([^\]]*)\])?=(.*)$/;

/** Splits on commas outside [...] (so a malformed selector is reported whole). */
function splitParts(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of spec) {
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter(Boolean);
}

function probability(raw: string, what: string): number {
  const p = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!(p >= 0 && p <= 1)) throw new Error(`--faults ${what} must be a probability in [0,1], got "${raw}"`);
  return p;
}

function duration(raw: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms)?\s*$/.exec(raw);
  if (!m) throw new Error(`--faults ${what} must be a duration in milliseconds like 50ms, got "${raw}"`);
  return Number(m[1]);
}

/**
 * Parses the `--faults` spec (see the top of this file). Throws naming the accepted syntax on
 * anything else.
 */
export function parseFaults(spec: string | undefined): Faults {
  const faults: Faults = { unavailable: 0, latencyMs: 0, models: {} };
  if (!spec) return faults;
  const models = faults.models!;
  const model = (name: string) => {
    models[name] ??= { latencyMs: 0, errorRate: 0 };
    return models[name]!;
  };
  for (const part of splitParts(spec)) {
    const m = PART.exec(part);
    if (!m) throw new Error(`--faults: cannot read "${part}"; allowed: ${FAULT_SYNTAX}`);
    const [, key, selector, raw = ''] = m;
    if (selector !== undefined && !selector.trim()) {
      throw new Error(`--faults: "${part}" names no deployed model between [ and ]; allowed: ${FAULT_SYNTAX}`);
    }
    const name = selector?.trim();
    if (key === 'unavailable') {
      if (name !== undefined) {
        throw new Error(
          `--faults: unavailable applies to every call and takes no [deployed model]; allowed: ${FAULT_SYNTAX}`,
        );
      }
      faults.unavailable = probability(raw, 'unavailable');
    } else if (key === 'latency') {
      if (name === undefined) faults.latencyMs = duration(raw, 'latency');
      else model(name).latencyMs = duration(raw, `latency[${name}]`);
    } else if (key === 'errors') {
      if (name === undefined) {
        throw new Error(
          `--faults: errors needs a deployed model, as errors[<deployed model display name>]=<probability>; allowed: ${FAULT_SYNTAX}`,
        );
      }
      model(name).errorRate = probability(raw, `errors[${name}]`);
    } else {
      throw new Error(`--faults: unknown fault "${key}"; allowed: ${FAULT_SYNTAX}`);
    }
  }
  return faults;
}

/** What a deployed model's faults do to one request. */
export interface ModelFaultDraw {
  latencyMs: number;
  fail: boolean;
}

/**
 * The faults a running emulator applies, changeable while it runs (Emulator.setFaults). Each
 * deployed model's error draws come from its own seeded stream, restarted whenever faults change.
 */
export class FaultInjector {
  private streams = new Map<string, Rng>();

  constructor(private current: Faults = NO_FAULTS) {}

  get faults(): Faults {
    return this.current;
  }

  set(faults: Faults): void {
    this.current = faults;
    this.streams.clear();
  }

  /** The faults of the request just routed to `displayName` (draws in call order); none: undefined. */
  forModel(displayName: string): ModelFaultDraw | undefined {
    const f = this.current.models?.[displayName];
    if (!f || (f.latencyMs <= 0 && f.errorRate <= 0)) return undefined;
    let fail = false;
    if (f.errorRate > 0) {
      let rng = this.streams.get(displayName);
      if (!rng) {
        rng = new Rng(`faults:${displayName}`);
        this.streams.set(displayName, rng);
      }
      fail = rng.float() < f.errorRate;
    }
    return { latencyMs: f.latencyMs, fail };
  }
}
