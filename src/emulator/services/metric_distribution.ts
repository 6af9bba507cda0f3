// Latency distributions as Cloud Monitoring carries them (google.api.Distribution with exponential
// buckets): a fixed array of bucket counts plus the exact count, mean, sum of squared deviations,
// minimum and maximum. Memory per distribution is constant (202 counts), whatever the number of
// values, and distributions merge exactly (bucket counts add; mean and deviation by Chan's formula),
// so a percentile of pooled distributions is the percentile of all the pooled values, to within the
// bucket resolution — never an average of percentiles.
//
// Buckets (Cloud Monitoring's Exponential bucket options): growth factor G = 1.1, scale S = 0.001 ms,
// N = 200 finite buckets. Bucket 0 is the underflow (< 1 µs), bucket i in 1..N is
// [S·G^(i-1), S·G^i), bucket N+1 the overflow (>= S·G^N ≈ 190 s).
//
// Error bound: a percentile is estimated as the geometric midpoint S·G^(i-1)·√G of the bucket holding
// the value of that rank (nearest-rank definition), clamped to the observed [min, max]. For a value
// v in that bucket, |estimate − v| / v <= √G − 1 ≈ 4.88% (clamping only moves the estimate towards
// v). The bound holds for values in [1 µs, 190 s); outside it the estimate is only clamped to [min, max].

export const GROWTH_FACTOR = 1.1;
export const SCALE_MS = 0.001;
export const FINITE_BUCKETS = 200;
/** The largest relative error of a percentile estimate for values in [SCALE_MS, SCALE_MS·G^N). */
export const MAX_RELATIVE_ERROR = Math.sqrt(GROWTH_FACTOR) - 1;

const SQRT_G = Math.sqrt(GROWTH_FACTOR);
const INV_LOG_G = 1 / Math.log(GROWTH_FACTOR);
const LOG_SCALE = Math.log(SCALE_MS);
/** BOUNDS[i] = S·G^i: bucket i (1..N) is [BOUNDS[i-1], BOUNDS[i]). */
const BOUNDS = Float64Array.from({ length: FINITE_BUCKETS + 1 }, (_, i) => SCALE_MS * GROWTH_FACTOR ** i);
const OVERFLOW = FINITE_BUCKETS + 1;

/** The index of the bucket holding x (0 underflow, N+1 overflow). */
export function bucketOf(x: number): number {
  if (!(x >= SCALE_MS)) return 0; // also NaN
  if (x >= BOUNDS[FINITE_BUCKETS]!) return OVERFLOW;
  let i = Math.floor((Math.log(x) - LOG_SCALE) * INV_LOG_G) + 1;
  // Math.log rounding can land one bucket off at a boundary: settle it against the exact bounds.
  if (i > FINITE_BUCKETS) i = FINITE_BUCKETS;
  if (x < BOUNDS[i - 1]!) i--;
  else if (x >= BOUNDS[i]!) i++;
  return i;
}

export class Distribution {
  readonly counts = new Float64Array(FINITE_BUCKETS + 2);
  count = 0;
  mean = 0;
  /** Sum of squared deviations from the mean (Welford). */
  m2 = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  add(x: number): void {
    this.counts[bucketOf(x)]!++;
    const n = ++this.count;
    const d = x - this.mean;
    this.mean += d / n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** Adds another distribution's values to this one (exact for counts, mean and deviation). */
  merge(o: Distribution): this {
    if (o.count === 0) return this;
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += o.counts[i]!;
    return this.mergeMoments(o.count, o.mean, o.m2, o.min, o.max);
  }

  /**
   * Adds the count, mean, sum of squared deviations, minimum and maximum of other values (Chan's
   * formula), leaving the bucket counts alone: the caller adds those (a per-minute rollup).
   */
  mergeMoments(count: number, mean: number, m2: number, min: number, max: number): this {
    if (count === 0) return this;
    const n = this.count + count;
    if (this.count === 0) {
      this.mean = mean;
      this.m2 = m2;
    } else {
      const delta = mean - this.mean;
      this.m2 += m2 + (delta * delta * this.count * count) / n;
      this.mean += (delta * count) / n;
    }
    this.count = n;
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
    return this;
  }

  /**
   * The p-th percentile (0 < p <= 100) by nearest rank: the value of rank ceil(p·count/100),
   * estimated from its bucket (see the error bound above). NaN when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p * this.count) / 100));
    let i = 0;
    for (let cum = this.counts[0]!; cum < rank && i < OVERFLOW; cum += this.counts[++i]!);
    let estimate: number;
    if (i === 0) estimate = (this.min + Math.min(this.max, SCALE_MS)) / 2;
    else if (i === OVERFLOW) estimate = (Math.max(this.min, BOUNDS[FINITE_BUCKETS]!) + this.max) / 2;
    else estimate = BOUNDS[i - 1]! * SQRT_G;
    return Math.min(this.max, Math.max(this.min, estimate));
  }

  /** google.api.Distribution in proto-loader's JSON form (trailing empty buckets omitted). */
  toProto(): Record<string, unknown> {
    let last = this.counts.length;
    while (last > 0 && this.counts[last - 1] === 0) last--;
    return {
      count: String(this.count),
      mean: this.count ? this.mean : 0,
      sumOfSquaredDeviation: this.count ? this.m2 : 0,
      ...(this.count ? { range: { min: this.min, max: this.max } } : {}),
      bucketOptions: {
        exponentialBuckets: { numFiniteBuckets: FINITE_BUCKETS, growthFactor: GROWTH_FACTOR, scale: SCALE_MS },
      },
      bucketCounts: Array.from(this.counts.subarray(0, last), String),
    };
  }
}
