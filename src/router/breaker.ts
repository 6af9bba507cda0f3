// The routing client's circuit breaker: a small state machine rather than a dependency (opossum,
// cockatiel) because the router needs only the state, decided on its own outcomes, with a clock a
// test can drive; the call itself, its deadline and its fallback are the router's.
//
//   closed --(failure_threshold consecutive failures)--> open
//   open --(cooldown_ms passed)--> half_open: one request is let through as a probe
//   half_open --probe succeeds--> closed;  --probe fails--> open (cool-down again)
import { invalid } from '../lib/errors.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  failure_threshold?: number;
  /** How long it stays open before one probe is let through, ms. Default 5000. */
  cooldown_ms?: number;
}

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  at: number;
}

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  private _state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  /** Every change of state, oldest first (the last 1000). */
  readonly transitions: BreakerTransition[] = [];
  onTransition?: (t: BreakerTransition) => void;

  constructor(
    opts: BreakerOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.failureThreshold = positiveInt('breaker.failure_threshold', opts.failure_threshold ?? 5);
    this.cooldownMs = positiveInt('breaker.cooldown_ms', opts.cooldown_ms ?? 5000);
  }

  /** The state now (open turns half_open once the cool-down has passed). */
  get state(): BreakerState {
    if (this._state === 'open' && this.now() - this.openedAt >= this.cooldownMs) this.move('half_open');
    return this._state;
  }

  /**
   * May a request go to the protected endpoint now? Closed: yes. Open: no. Half-open: yes for one
   * probe at a time (the caller must report it with success() or failure()).
   */
  allow(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    if (this._state !== 'closed') this.move('closed');
  }

  failure(): void {
    this.probing = false;
    if (this._state === 'half_open') {
      this.open();
      return;
    }
    if (this._state === 'closed' && ++this.failures >= this.failureThreshold) this.open();
  }

  /** A probe that ended neither way (the caller gave up on it): another may be sent. */
  release(): void {
    this.probing = false;
  }

  private open(): void {
    this.openedAt = this.now();
    this.failures = 0;
    this.move('open');
  }

  private move(to: BreakerState): void {
    const t = { from: this._state, to, at: this.now() };
    this._state = to;
    this.transitions.push(t);
    if (this.transitions.length > 1000) this.transitions.shift();
    this.onTransition?.(t);
  }
}

function positiveInt(field: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw invalid(`${field} must be a positive integer, got ${v}`);
  return v;
}
