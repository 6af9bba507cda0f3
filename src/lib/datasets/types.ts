// Options and report of the dataset converters (SPEC 4, "Dataset preparation").

/** `gemini`: Vertex AI tuning JSONL (`contents` with a user and a model turn); `prompt_completion`: `{prompt, completion}`. */
export type DatasetFormat = 'gemini' | 'prompt_completion';

export interface CommonDatasetOptions {
  /** A directory (read recursively), one file, or a gs:// prefix. `.json`, `.jsonl`, `.ndjson` (and `.gz` of those). */
  input: string;
  /**
   * A directory or gs:// prefix. Each run publishes a new generation `gen-…/` (train.jsonl,
   * validation.jsonl, stats.json, preferences.jsonl) and then `manifest.json` naming it.
   */
  output: string;
  /**
   * Replace the dataset already published at `output` (its manifest.json, or train.jsonl … of the
   * layout before generations). Default false: such an output is refused with ALREADY_EXISTS.
   */
  overwrite?: boolean;
  /** Default `gemini`. */
  format?: DatasetFormat;
  /** Share of prompts that go to validation.jsonl, in [0, 1). Default 0.1. */
  validation_fraction?: number;
  /** Seeds the train/validation split (a hash of the prompt mixed with the seed). Default 0. */
  seed?: number;
  /** Stop after this many kept examples. */
  max_examples?: number;
}

export interface SeDarwinOptions extends CommonDatasetOptions {
  /** Keep trajectories with `quality_score >= quality_threshold`. Default 0.8. */
  quality_threshold?: number;
  /** Keep only these `benchmark` values (records without a benchmark are then dropped). */
  benchmarks?: string[];
  /**
   * Default true: a JSONL line whose top-level `"quality_score"` is a number in [0, threshold) is
   * dropped as below_threshold without parsing the rest of the line. The written files are the same
   * either way; false parses every line, so a line that is both malformed and below the threshold
   * is counted as malformed.
   */
  fast_filter?: boolean;
}

export interface HaloRoutingOptions extends CommonDatasetOptions {
  /** Keep (task, agent) pairs whose success rate is >= this. Default 0.6. */
  min_success_rate?: number;
  /** Keep only pairs seen in at least this many decisions. Default 1. */
  min_decisions?: number;
  /** Also write preferences.jsonl: `{input, chosen, rejected}` for RLHF/DPO. Default false. */
  preference_pairs?: boolean;
}

export interface DatasetProgress {
  bytes_read: number;
  total_bytes: number;
  records: number;
}

export type ProgressFn = (p: DatasetProgress) => void;

export interface BadRecord {
  /** The file's URI (local absolute path or gs://). */
  file: string;
  /** 1-based line where the record starts (0: the whole file). */
  line: number;
  reason: string;
}

export interface LabelCount {
  label: string;
  count: number;
  /** count / kept. */
  share: number;
}

export interface LabelBalance {
  /** The most frequent completions (truncated to 80 characters), most frequent first, at most 20. */
  top: LabelCount[];
  /** Everything outside `top`. */
  other: { count: number; share: number };
  /** Distinct completions, when `exact`; otherwise a lower bound. */
  distinct: number;
  /** False once more than 4,096 distinct labels were seen: counts are then Misra-Gries lower bounds. */
  exact: boolean;
}

export interface DroppedCounts {
  /** SE-Darwin: quality_score below the threshold. */
  below_threshold: number;
  /** The same (prompt, completion) as an earlier example. */
  duplicate: number;
  /** Not JSON, not an object, a field of the wrong type, a score outside [0, 1], too large. */
  malformed: number;
  /** No prompt/task, no completion/best_agent/solution, no quality_score (SE-Darwin); no task/agent/outcome (HALO). */
  missing_fields: number;
  /** SE-Darwin with `benchmarks`: a record of another benchmark. */
  other_benchmark: number;
  /** HALO: (task, agent) pairs below min_success_rate. */
  below_success_rate: number;
  /** HALO: (task, agent) pairs with fewer than min_decisions decisions. */
  too_few_decisions: number;
}

export interface HaloSummary {
  decisions: number;
  distinct_tasks: number;
  distinct_pairs: number;
  kept_pairs: number;
  /** Tasks where no agent reached min_success_rate (no example for them). */
  tasks_without_qualifying_agent: number;
  preference_pairs: number;
}

export interface DatasetReport {
  kind: 'se_darwin' | 'halo_routing';
  format: DatasetFormat;
  input: string;
  output: {
    train_uri: string;
    /** null when no example landed in validation (validation_fraction 0, or too few prompts). */
    validation_uri: string | null;
    stats_uri: string;
    preferences_uri?: string;
    /** `<output>/manifest.json`: lists the generation's files with sizes and SHA-256. */
    manifest_uri: string;
    /** The generation directory the files are in (`gen-…`). */
    generation: string;
  };
  /** The generation this run replaced (kept until the next run), or null. Set once published. */
  previous_generation?: string | null;
  /** The options as applied (defaults filled in). */
  options: Record<string, unknown>;
  files_read: number;
  /** Files in the input that are not .json/.jsonl/.ndjson(.gz), or that lie under the output. */
  files_skipped: number;
  bytes_read: number;
  total_bytes: number;
  /** Records seen: JSONL lines (blank lines excluded) and JSON values. */
  records_read: number;
  /** Examples written (train + validation). */
  kept: number;
  train_examples: number;
  validation_examples: number;
  dropped: DroppedCounts;
  label_balance: LabelBalance;
  /** SE-Darwin: kept examples per benchmark (at most 20, most first). */
  kept_by_benchmark?: LabelCount[];
  halo?: HaloSummary;
  /** The first 20 malformed or incomplete records. */
  bad_records: BadRecord[];
  bad_records_count: number;
  /** True when max_examples stopped the run before the end of the input. */
  stopped_at_max_examples: boolean;
  warnings: string[];
  elapsed_ms: number;
  throughput_mb_s: number;
}
