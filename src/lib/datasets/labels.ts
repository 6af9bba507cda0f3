// Label balance: counts of the completions with bounded memory.
import type { LabelBalance, LabelCount } from './types.js';

const LABEL_CHARS = 80;

/**
 * Counts labels with bounded memory: exact up to `capacity` distinct labels, then Misra-Gries
 * (decrement everything when full): every label seen more than n/capacity times stays, with a count
 * that is a lower bound off by at most n/capacity. Labels are truncated to 80 characters.
 */
export class LabelCounter {
  private readonly counts = new Map<string, number>();
  private exact = true;
  private distinctLowerBound = 0;
  total = 0;

  constructor(private readonly capacity = 4096) {}

  add(label: string): void {
    const key = label.length > LABEL_CHARS ? `${label.slice(0, LABEL_CHARS - 1)}…` : label;
    this.total++;
    const c = this.counts.get(key);
    if (c !== undefined) {
      this.counts.set(key, c + 1);
      return;
    }
    if (this.counts.size < this.capacity) {
      // A truncated label is a slice of the whole completion, which it would keep alive: store a copy.
      this.counts.set(key === label ? key : JSON.parse(JSON.stringify(key)), 1);
      if (this.exact) this.distinctLowerBound++;
      return;
    }
    this.exact = false;
    for (const [k, v] of this.counts) {
      if (v <= 1) this.counts.delete(k);
      else this.counts.set(k, v - 1);
    }
  }

  top(n = 20, total = this.total): LabelCount[] {
    const share = (c: number) => (total ? Math.round((c / total) * 10000) / 10000 : 0);
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([label, count]) => ({ label, count, share: share(count) }));
  }

  balance(n = 20): LabelBalance {
    const top = this.top(n);
    const inTop = top.reduce((s, l) => s + l.count, 0);
    const other = this.total - inTop;
    return {
      top,
      other: { count: other, share: this.total ? Math.round((other / this.total) * 10000) / 10000 : 0 },
      distinct: this.exact ? this.counts.size : Math.max(this.distinctLowerBound, this.counts.size),
      exact: this.exact,
    };
  }
}
