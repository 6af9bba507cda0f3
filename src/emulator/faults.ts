// Fault injection for reliability tests (`--faults unavailable=0.1,latency=50ms`). No gRPC import:
// the CLI validates the flag at start-up without loading the emulator.

export interface Faults {
  /** Probability in [0,1] that a call fails with UNAVAILABLE before reaching the service. */
  unavailable: number;
  /** Extra latency added to every call, in milliseconds. */
  latencyMs: number;
}

export const NO_FAULTS: Faults = { unavailable: 0, latencyMs: 0 };

/** Parses `unavailable=0.1,latency=50ms`. Throws with the accepted keys on anything else. */
export function parseFaults(spec: string | undefined): Faults {
  const faults = { ...NO_FAULTS };
  if (!spec) return faults;
  for (const part of spec.split(',').filter(Boolean)) {
    const [key, raw = ''] = part.split('=');
    if (key === 'unavailable') {
      const p = Number(raw);
      if (!(p >= 0 && p <= 1)) throw new Error(`--faults unavailable must be a probability in [0,1], got "${raw}"`);
      faults.unavailable = p;
    } else if (key === 'latency') {
      const ms = Number(raw.replace(/ms$/, ''));
      if (!(ms >= 0)) throw new Error(`--faults latency must be a duration like 50ms, got "${raw}"`);
      faults.latencyMs = ms;
    } else {
      throw new Error(`--faults: unknown fault "${key}"; allowed: unavailable=<probability>, latency=<ms>ms`);
    }
  }
  return faults;
}
