// Numbers in tool texts, rounded for people (structuredContent keeps them exact): 3 significant
// digits, percentages with one decimal, milliseconds with one, dollars to what is worth reading.
// One set of Intl formatters, so every tool prints 0.9166666666666666 as 0.917.

const sig3 = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
const fixed1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const pct1 = new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
// Small amounts keep 3 significant digits ($0.000123); large ones whole cents ($1,234.57).
const usdSmall = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumSignificantDigits: 3 });
const usdLarge = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });

type N = number | null | undefined;
const missing = (x: N): x is null | undefined => x === null || x === undefined || Number.isNaN(x);

/** 3 significant digits: 0.917, 1,230, 12.3; "n/a" when not measured. */
export const num = (x: N, na = 'n/a') => (missing(x) ? na : sig3.format(x));

/** A ratio (0-1) as a percentage with one decimal: 0.9166 -> "91.7%". */
export const pct = (x: N, na = 'n/a') => (missing(x) ? na : pct1.format(x));

/** A percentage already in 0-100 (traffic shares): 12.5 -> "12.5%", 80 -> "80%". */
export const share = (x: N, na = 'n/a') => (missing(x) ? na : `${sig3.format(x)}%`);

/** Milliseconds with one decimal: "12.3 ms". */
export const ms = (x: N, na = 'n/a') => (missing(x) ? na : `${fixed1.format(x)} ms`);

/** A whole count with thousands separators: 12,345. */
export const int = (x: N, na = 'n/a') => (missing(x) ? na : count.format(x));

/** US dollars: "$0.000123", "$12.35", "$0". */
export const usd = (x: N, na = 'n/a') => (missing(x) ? na : Math.abs(x) >= 1 ? usdLarge.format(x) : usdSmall.format(x));

/** name -> number as "a=0.917, b=12.3" (exact values are in structuredContent). */
export const metricList = (m: Record<string, number>, none = 'none') =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${num(v)}`)
    .join(', ') || none;

/** A registry version as people and tools name it: "router@1.2.0"; the deployed-model ID when unknown. */
export const versionRef = (
  v: { name?: string | null; version?: string | null; deployed_model_id?: string | null },
  fallback = '?',
) =>
  v.name && v.version
    ? `${v.name}@${v.version}`
    : v.deployed_model_id
      ? `deployed model ${v.deployed_model_id}`
      : fallback;

/**
 * A traffic split keyed by deployed-model ID, with each key named by its registry version where the
 * endpoint says which: "router@1.0.0 (deployed model 123) 70%, router@1.1.0 (deployed model 456) 30%".
 */
export const splitByVersion = (
  split: Record<string, number>,
  deployed: { deployed_model_id: string; name: string | null; version: string | null }[],
) =>
  Object.entries(split)
    .map(([id, p]) => {
      const d = deployed.find((x) => x.deployed_model_id === id);
      return `${d?.name && d.version ? `${d.name}@${d.version} (deployed model ${id})` : id} ${share(p)}`;
    })
    .join(', ') || 'no traffic';
