// Seeded generator of multi-agent logs for the dataset converters (src/lib/datasets):
//   - SE-Darwin evolution archives: nested folders of trajectory .jsonl (and .json) files, each record
//     with a task prompt (`prompt`, or `task` + `requirements`), the chosen result (`completion`,
//     `best_agent` or `solution`), `quality_score` in [0,1], `benchmark` and `iteration`;
//   - HALO routing-decision logs: one decision a line (`task`, `agent`, `success` or `outcome`,
//     `latency_ms`, `cost`, `timestamp`).
// Six agents (coder, sql_agent, math_agent, writer, researcher, devops), each good at its own domain,
// with tasks phrased from templates over a varied vocabulary. Held-out tasks use templates that the
// training logs never use, so a router trained on the logs is evaluated on unseen phrasings.
//
//   node dist/scripts/gen-archive.js --out DIR --mb 1024 --seed 1 [--halo 100000] [--file-mb 64]
//   node dist/scripts/gen-archive.js --examples examples          (regenerates examples/)
//
// Everything is a pure function of the seed. Big archives are written streaming (about 1 MB of
// buffered text at a time), at about 100 MB/s on one core (1 GiB in ~11 s).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rng } from './prng.js';

export { rng };

// ---------------------------------------------------------------------------------------------
// Random numbers

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const round3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------------------------------------
// Agents, vocabulary and task templates

export const AGENTS = ['coder', 'sql_agent', 'math_agent', 'writer', 'researcher', 'devops'] as const;
export type Agent = (typeof AGENTS)[number];

const VOCAB: Record<string, readonly string[]> = {
  lang: ['Python', 'TypeScript', 'Go', 'Rust', 'Java', 'C++', 'Kotlin', 'Ruby', 'C#', 'Swift'],
  codeAction: [
    'parses',
    'validates',
    'deduplicates',
    'serialises',
    'merges',
    'sorts',
    'paginates',
    'caches',
    'retries',
    'streams',
  ],
  codeVerb: ['parse', 'validate', 'deduplicate', 'serialise', 'merge', 'sort', 'paginate', 'cache', 'stream'],
  codeObject: [
    'a list of timestamps',
    'nested JSON config files',
    'CSV rows with quoted fields',
    'user records by email',
    'HTTP responses',
    'log lines from stdin',
    'a binary tree of intervals',
    'webhook payloads',
    'protobuf messages',
    'paginated API results',
  ],
  bug: [
    'null pointer exception',
    'off-by-one error',
    'race condition',
    'memory leak',
    'infinite loop',
    'deadlock',
    'unhandled promise rejection',
    'stack overflow',
    'type error',
    'segfault',
  ],
  component: ['auth', 'payment', 'cache', 'scheduler', 'parser', 'session', 'upload', 'billing', 'search', 'router'],
  codeUnit: ['class', 'module', 'handler', 'service', 'middleware', 'helper'],
  refactorGoal: [
    'use dependency injection',
    'remove the global state',
    'split it into smaller functions',
    'make it async',
    'add type annotations',
    'reduce allocations',
  ],
  algorithm: [
    'Dijkstra shortest path',
    'a trie with prefix search',
    'an LRU cache',
    'binary search over a rotated array',
    'a token bucket rate limiter',
    'quicksort',
    'a bloom filter',
    'topological sort',
    'a ring buffer',
  ],
  metric: ['revenue', 'average order value', 'signups', 'churned customers', 'active users', 'refunds', 'page views'],
  dimension: ['region', 'product category', 'month', 'sales rep', 'customer segment', 'country', 'week'],
  period: ['the last quarter', '2023', 'the past 30 days', 'last year', 'each fiscal month', 'this week'],
  entity: ['customers', 'orders', 'invoices', 'employees', 'sessions', 'products', 'shipments', 'tickets'],
  table: ['orders', 'customers', 'payments', 'events', 'users', 'inventory', 'subscriptions', 'line_items'],
  column: ['created_at', 'customer_id', 'email', 'status', 'order_id', 'sku', 'updated_at'],
  condition: [
    'a null email',
    'more than 5 purchases',
    'status set to pending',
    'no activity in 90 days',
    'duplicate ids',
    'a negative balance',
  ],
  db: ['Postgres', 'MySQL', 'BigQuery', 'SQLite', 'Snowflake', 'SQL Server'],
  fn: ['x^2 sin(x)', 'e^(3x)', 'ln(x)/x', '1/(1+x^2)', 'x^3 - 4x + 1', 'sqrt(1 - x^2)', 'cos(x)^2', 'x e^(-x)'],
  stat: ['mean', 'median', 'standard deviation', 'variance', 'interquartile range', 'mode'],
  probEvent: [
    'rolling two sixes with two dice',
    'drawing 3 aces from a deck',
    'at least one head in 5 coin flips',
    'two people sharing a birthday in a room of 30',
    'a defective part in a batch of 20',
  ],
  theorem: [
    'the square root of 2 is irrational',
    'there are infinitely many primes',
    'the sum of the first n odd numbers is n^2',
    'every tree with n nodes has n-1 edges',
    'the harmonic series diverges',
  ],
  shape: [
    'a circle of radius 7',
    'a cone of height 12 and radius 5',
    'a regular hexagon of side 4',
    'a sphere of radius 3',
  ],
  tone: ['friendly', 'formal', 'persuasive', 'concise', 'playful', 'professional', 'empathetic'],
  topic: [
    'our new pricing plans',
    'remote work best practices',
    'the product launch next month',
    'sustainability in retail',
    'the quarterly results',
    'onboarding new hires',
    'our customer success story',
  ],
  recipient: ['the sales team', 'a frustrated customer', 'our investors', 'the hiring manager', 'a new partner'],
  doc: ['press release', 'product description', 'newsletter', 'cover letter', 'landing page copy', 'meeting notes'],
  researchTopic: [
    'retrieval augmented generation',
    'protein folding with deep learning',
    'carbon capture costs',
    'microplastics in drinking water',
    'mixture of experts models',
    'battery recycling',
    'sleep and memory consolidation',
    'LLM hallucination detection',
  ],
  product: ['PostgreSQL', 'MongoDB', 'Kafka', 'RabbitMQ', 'React', 'Vue', 'Snowflake', 'Databricks', 'Redis'],
  useCase: ['a startup analytics stack', 'real-time messaging', 'a mobile app backend', 'event sourcing'],
  year: ['2019', '2020', '2021', '2022', '2023'],
  service: ['checkout', 'api-gateway', 'notifications', 'user-profile', 'search-indexer', 'billing-worker'],
  platform: ['Kubernetes', 'GKE', 'Cloud Run', 'ECS', 'a bare-metal cluster', 'Nomad'],
  k8sError: ['CrashLoopBackOff', 'OOMKilled', 'ImagePullBackOff', 'readiness probe failures', 'exit code 137'],
  ci: ['GitHub Actions', 'GitLab CI', 'Jenkins', 'Cloud Build', 'CircleCI'],
  infra: [
    'a VPC with private subnets',
    'a managed Postgres instance',
    'a GCS bucket with lifecycle rules',
    'a load balancer',
  ],
  repo: ['the monorepo', 'the mobile app', 'the data pipeline', 'the docs site', 'the payments service'],
  num: ['3', '5', '7', '10', '12', '4'],
};

/** Training phrasings per agent. `{name}` is a VOCAB slot. */
const TEMPLATES: Record<Agent, readonly string[]> = {
  coder: [
    'Write a {lang} function that {codeAction} {codeObject}',
    'Fix the {bug} in the {component} {codeUnit}',
    'Refactor the {component} {codeUnit} to {refactorGoal}',
    'Implement {algorithm} in {lang}',
    'Add unit tests for the {component} {codeUnit} in {lang}',
    'Our {lang} {component} service has a {bug}, please patch it',
    'Code review: the {component} {codeUnit} {codeAction} {codeObject} too slowly',
  ],
  sql_agent: [
    'Write a SQL query that returns {metric} per {dimension} for {period}',
    'Find all {entity} in the {table} table with {condition}',
    'Optimise the slow query joining {table} and {table} on {column}',
    'Create an index on {table}.{column} in {db} to speed up lookups',
    'Count distinct {entity} grouped by {dimension} in {db}',
    'Show the top {num} {entity} by {metric} for {period} using SQL',
    'Write a {db} view of {entity} with {condition}',
  ],
  math_agent: [
    'Compute the integral of {fn} from 0 to {num}',
    'Find the derivative of {fn}',
    'What is the probability of {probEvent}?',
    'Prove that {theorem}',
    'Calculate the {stat} of the numbers {num}, {num}, {num}, {num} and {num}',
    'Solve the equation {num}x + {num} = {num} for x',
    'Compute the area of {shape}',
  ],
  writer: [
    'Write a {tone} blog post about {topic}',
    'Draft an email to {recipient} about {topic}',
    'Summarise the {doc} in {num} bullet points',
    'Rewrite the {doc} to sound more {tone}',
    'Proofread the {doc} for grammar and clarity',
    'Write a {tone} {doc} announcing {topic}',
    'Compose a short LinkedIn post on {topic} in a {tone} tone',
  ],
  researcher: [
    'Find recent papers on {researchTopic}',
    'Compare {product} and {product} for {useCase}',
    'What are the main findings of studies on {researchTopic}?',
    'Gather sources about {researchTopic} published since {year}',
    'Give a literature review of {researchTopic}',
    'Investigate the state of the art in {researchTopic} and cite sources',
    'Which is better for {useCase}, {product} or {product}? Research the trade-offs',
  ],
  devops: [
    'Deploy the {service} service to {platform}',
    'The {service} pods keep failing with {k8sError}, investigate',
    'Set up a CI pipeline for {repo} with {ci}',
    'Configure autoscaling for {service} on {platform}',
    'Rotate the TLS certificates for the {service} service',
    'Write a Terraform module for {infra}',
    'Roll back the {service} deployment on {platform} after the failed release',
  ],
};

/** Phrasings the training logs never use (for held-out evaluation). */
const HELDOUT_TEMPLATES: Record<Agent, readonly string[]> = {
  coder: [
    'Can you help me debug why my {lang} {component} code throws a {bug}?',
    'I need a {lang} script to {codeVerb} {codeObject}',
    'Please code up {algorithm} for me, {lang} preferred',
    'The {component} {codeUnit} crashes with a {bug} whenever it {codeAction} {codeObject}',
  ],
  sql_agent: [
    'Which {entity} had the highest {metric} in {period}? Query the {table} table',
    'I need {db} SQL to list {entity} having {condition}',
    'How do I speed up a {db} query filtering {table} by {column}?',
    'Aggregate {metric} by {dimension} from the {table} table in {db}',
  ],
  math_agent: [
    'Evaluate the limit of {fn} as x approaches {num}',
    'Help me work out the {stat} of {num}, {num}, {num} and {num}',
    'Give a rigorous proof that {theorem}',
    'Differentiate {fn} and integrate it from 1 to {num}',
  ],
  writer: [
    'Could you polish my {doc} so it reads {tone}?',
    'Turn these notes on {topic} into a {tone} {doc}',
    'I have to email {recipient} regarding {topic}, can you write it?',
    'Make the {doc} about {topic} shorter and more {tone}',
  ],
  researcher: [
    'Survey the literature on {researchTopic} since {year}',
    'Summarise what the evidence says about {researchTopic}, with citations',
    'Evaluate {product} versus {product} for {useCase} and cite benchmarks',
    'Look up the latest studies about {researchTopic}',
  ],
  devops: [
    'Our {service} deployment on {platform} is stuck in {k8sError}, can you fix it?',
    'Automate builds for {repo} using {ci}',
    'Provision {infra} with Terraform',
    'Scale the {service} service on {platform} so it survives peak traffic',
  ],
};

function fill(r: () => number, template: string): string {
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => pick(r, VOCAB[slot] ?? [slot]));
}

/** A task for `agent` phrased from the training (or held-out) templates. */
export function taskFor(r: () => number, agent: Agent, heldout = false): string {
  return fill(r, pick(r, (heldout ? HELDOUT_TEMPLATES : TEMPLATES)[agent]));
}

/** How likely an agent succeeds at a task of another agent's domain (the rest is near-zero). */
const RELATED: Partial<Record<string, number>> = {
  'sql_agent>coder': 0.35,
  'coder>sql_agent': 0.3,
  'devops>coder': 0.3,
  'coder>devops': 0.25,
  'writer>researcher': 0.3,
  'researcher>writer': 0.25,
  'math_agent>coder': 0.2,
};

/** The probability that `agent` succeeds at a task whose right agent is `right`. */
export function successProbability(right: Agent, agent: Agent): number {
  if (right === agent) return 0.92;
  return RELATED[`${right}>${agent}`] ?? 0.06;
}

/** Picks the agent a (fallible) router chose: usually the right one. */
function chooseAgent(r: () => number, right: Agent, accuracy: number): Agent {
  if (r() < accuracy) return right;
  let a = pick(r, AGENTS);
  while (a === right) a = pick(r, AGENTS);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Small code snippets for SE-Darwin completions

const SNIPPET_LINES = [
  'def solve(items):',
  '    seen = set()',
  '    out = []',
  '    for item in items:',
  '        if item.key in seen:',
  '            continue',
  '        seen.add(item.key)',
  '        out.append(item)',
  '    return out',
  'function handler(req, res) {',
  '  const body = JSON.parse(req.body ?? "{}");',
  '  if (!body.id) return res.status(400).send("missing id");',
  '  return res.json(await store.get(body.id));',
  '}',
  'SELECT region, SUM(amount) AS revenue FROM orders GROUP BY region;',
  'for (let i = 0; i < n; i++) acc += xs[i] * weights[i];',
  'if err != nil { return fmt.Errorf("read config: %w", err) }',
  'let cache = LruCache::new(NonZeroUsize::new(1024).unwrap());',
  '    # retry with exponential backoff',
  '    time.sleep(min(2 ** attempt, 30))',
];

function snippet(r: () => number, lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(pick(r, SNIPPET_LINES));
  return out.join('\n');
}

const CODE_REQUIREMENTS = [
  'handle empty input',
  'run in O(n log n)',
  'no external dependencies',
  'include docstrings',
  'pass the existing test suite',
  'keep the public API unchanged',
  'log errors instead of throwing',
  'be thread-safe',
];

const THOUGHTS = [
  'The task mentions a query over tables, so a SQL specialist should handle it',
  'Classify the request by domain before dispatching it to a specialist agent',
  'Previous attempt failed the hidden tests; try a smaller patch',
  'Ran the unit tests: 9 passed, 1 failed on the empty-input case',
  'The answer needs citations, prefer the research agent',
  'Latency budget exceeded on the first try, retrying with a cheaper model',
  'Mutated the routing prompt to weigh infrastructure keywords higher',
];

/** A short agent trace (the bulk of a real trajectory record). */
function trace(r: () => number, agent: string): { step: number; agent: string; thought: string; tokens: number }[] {
  const out = [];
  for (let i = int(r, 1, 5), step = 1; i > 0; i--, step++) {
    out.push({ step, agent, thought: pick(r, THOUGHTS), tokens: int(r, 40, 900) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Record generators

export interface RoutingDecision {
  task: string;
  agent: string;
  success?: boolean;
  outcome?: string;
  latency_ms: number;
  cost: number;
  timestamp: string;
}

/** Adds harmless surface noise (case, spacing) that the HALO converter's task key normalises away. */
function jitter(r: () => number, task: string): string {
  const x = r();
  if (x < 0.05) return task.toLowerCase();
  if (x < 0.09) return `  ${task} `;
  if (x < 0.12) return task.replace(/ /, '  ');
  return task;
}

/**
 * A HALO routing log: `decisions` decisions over a pool of distinct tasks (so most tasks recur and
 * per (task, agent) success rates mean something), chosen by a router that is right `accuracy` of
 * the time. Outcomes follow successProbability().
 */
export function* haloDecisions(seed: number, decisions: number, accuracy = 0.78): Generator<RoutingDecision> {
  const r = rng(seed ^ 0x4a10);
  const poolSize = Math.max(1, Math.round(decisions * 0.42));
  const pool: { task: string; right: Agent }[] = [];
  const seen = new Set<string>();
  for (let tries = 0; pool.length < poolSize && tries < poolSize * 20; tries++) {
    const right = AGENTS[pool.length % AGENTS.length]!;
    const task = taskFor(r, right);
    if (seen.has(task.toLowerCase())) continue;
    seen.add(task.toLowerCase());
    pool.push({ task, right });
  }
  let t = Date.UTC(2025, 0, 6, 9, 0, 0);
  for (let i = 0; i < decisions; i++) {
    // A skewed draw: low indices (the "popular" tasks) recur more often.
    const { task, right } = pool[Math.floor(r() ** 1.6 * pool.length)]!;
    const agent = chooseAgent(r, right, accuracy);
    const ok = r() < successProbability(right, agent);
    t += int(r, 2_000, 90_000);
    const d: RoutingDecision = {
      task: jitter(r, task),
      agent,
      latency_ms: int(r, 300, ok ? 4_000 : 12_000),
      cost: round3(0.001 + r() * 0.02),
      timestamp: new Date(t).toISOString(),
    };
    if (r() < 0.7) d.success = ok;
    else d.outcome = ok ? 'success' : 'failure';
    yield d;
  }
}

/** Held-out evaluation tasks: phrasings never used in training, labelled with the right agent. */
export function* heldoutTasks(
  seed: number,
  n: number,
  exclude: ReadonlySet<string> = new Set(),
): Generator<{
  task: string;
  agent: Agent;
  success: true;
}> {
  const r = rng(seed ^ 0x7e1d);
  const seen = new Set<string>(exclude);
  for (let i = 0, tries = 0; i < n && tries < n * 50; tries++) {
    const agent = AGENTS[i % AGENTS.length]!;
    const task = taskFor(r, agent, true);
    if (seen.has(task.toLowerCase())) continue;
    seen.add(task.toLowerCase());
    i++;
    yield { task, agent, success: true };
  }
}

export type Trajectory = Record<string, unknown>;

/**
 * One SE-Darwin trajectory record. Routing records (benchmark "halo-routing") carry a task prompt
 * and the agent the evolved router picked (`best_agent` or `completion`), scored by how well that
 * choice did; code records (benchmark "swe-lite") carry `task` + `requirements` and a `solution`.
 * `unique` adds an issue number so that big archives are mostly distinct examples.
 */
export function trajectory(r: () => number, id: number, iteration: number, unique: boolean): Trajectory {
  const tid = `t-${id.toString(36).padStart(6, '0')}`;
  const parent =
    id > 10
      ? `t-${int(r, 0, id - 1)
          .toString(36)
          .padStart(6, '0')}`
      : null;
  const operator = pick(r, ['mutation', 'crossover', 'refinement', 'restart'] as const);
  if (r() < 0.75) {
    const right = pick(r, AGENTS);
    const agent = chooseAgent(r, right, 0.75);
    const good = agent === right;
    const score = good ? 0.7 + r() * 0.3 : 0.05 + r() * 0.6;
    const task = taskFor(r, right) + (unique ? ` (ticket #${int(r, 1000, 999_999)})` : '');
    const rec: Trajectory = { trajectory_id: tid, benchmark: 'halo-routing', iteration };
    if (r() < 0.6) {
      rec.prompt = task;
      rec.best_agent = agent;
    } else {
      rec.prompt = task;
      rec.completion = agent;
    }
    rec.quality_score = round3(score);
    rec.parent_id = parent;
    rec.operator = operator;
    rec.metrics = { routed_ok: good ? int(r, 7, 10) : int(r, 0, 4), trials: 10 };
    if (unique) rec.trace = trace(r, agent);
    return rec;
  }
  const right: Agent = r() < 0.5 ? 'coder' : 'sql_agent';
  const reqs: string[] = [];
  for (let i = int(r, 1, 3); i > 0; i--) reqs.push(pick(r, CODE_REQUIREMENTS));
  const rec: Trajectory = {
    trajectory_id: tid,
    benchmark: 'swe-lite',
    iteration,
    task: taskFor(r, right) + (unique ? ` (issue #${int(r, 1000, 999_999)})` : ''),
    requirements: r() < 0.7 ? reqs : reqs.join('; '),
  };
  const code = snippet(r, int(r, 4, unique ? 24 : 8));
  rec.solution = r() < 0.75 ? code : { language: pick(r, VOCAB.lang!), code, tests_passed: int(r, 0, 12) };
  const passed = int(r, 0, 10);
  rec.quality_score = round3(Math.min(1, Math.max(0, passed / 10 + (r() - 0.5) * 0.08)));
  rec.parent_id = parent;
  rec.operator = operator;
  rec.metrics = { tests_passed: passed, tests_total: 10, runtime_s: round3(0.2 + r() * 4) };
  if (unique) rec.trace = trace(r, right);
  return rec;
}

// ---------------------------------------------------------------------------------------------
// Writers

/** A buffered file writer that respects back-pressure (a few MB in flight at most). */
class Sink {
  private readonly ws: fs.WriteStream;
  private buf: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.ws = fs.createWriteStream(file, { highWaterMark: 4 << 20 });
  }
  async write(s: string): Promise<void> {
    this.buf.push(s);
    this.size += s.length;
    this.bytes += Buffer.byteLength(s);
    if (this.size >= 1 << 20) await this.flush();
  }
  private async flush(): Promise<void> {
    if (!this.size) return;
    const chunk = this.buf.join('');
    this.buf = [];
    this.size = 0;
    if (!this.ws.write(chunk)) await new Promise<void>((r) => this.ws.once('drain', () => r()));
  }
  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.end(() => resolve());
    });
  }
}

export interface ArchiveOptions {
  out: string;
  /** Approximate size of the SE-Darwin archive in MB (1 MB = 2^20 bytes). */
  mb: number;
  seed?: number;
  /** Size of each .jsonl file (MB); files go into <benchmark-shard>/iter-NNN/ folders. */
  fileMb?: number;
  /** Also write halo-routing.jsonl with this many decisions next to the archive folder. */
  haloDecisions?: number;
}

export interface ArchiveResult {
  archive_dir: string;
  files: number;
  bytes: number;
  records: number;
  halo_uri?: string;
  elapsed_ms: number;
}

/**
 * Writes a big SE-Darwin-shaped archive (.jsonl files in nested folders) under `<out>/archive`, and
 * optionally a HALO log `<out>/halo-routing.jsonl`. About 5% of the records repeat an earlier
 * (prompt, result) pair, as re-evaluated trajectories do.
 */
export async function generateArchive(opts: ArchiveOptions): Promise<ArchiveResult> {
  const started = Date.now();
  const seed = opts.seed ?? 1;
  const r = rng(seed);
  const target = Math.round(opts.mb * 1024 * 1024);
  const fileBytes = Math.max(1 << 16, Math.round((opts.fileMb ?? 64) * 1024 * 1024));
  const dir = path.join(opts.out, 'archive');
  let bytes = 0;
  let records = 0;
  let files = 0;
  const recent: string[] = [];
  while (bytes < target) {
    const iteration = files + 1;
    const shard = `run-${String(Math.floor(files / 4) + 1).padStart(2, '0')}`;
    const file = path.join(dir, shard, `iter-${String(iteration).padStart(3, '0')}`, 'trajectories.jsonl');
    const sink = new Sink(file);
    files++;
    while (sink.bytes < fileBytes && bytes + sink.bytes < target) {
      let line: string;
      if (recent.length > 0 && r() < 0.05) line = pick(r, recent);
      else {
        line = `${JSON.stringify(trajectory(r, records, iteration, true))}\n`;
        if (recent.length < 256) recent.push(line);
        else recent[Math.floor(r() * 256)] = line;
      }
      await sink.write(line);
      records++;
    }
    await sink.close();
    bytes += sink.bytes;
  }
  const result: ArchiveResult = { archive_dir: dir, files, bytes, records, elapsed_ms: 0 };
  if (opts.haloDecisions) {
    const file = path.join(opts.out, 'halo-routing.jsonl');
    const sink = new Sink(file);
    for (const d of haloDecisions(seed, opts.haloDecisions)) await sink.write(`${JSON.stringify(d)}\n`);
    await sink.close();
    result.halo_uri = file;
  }
  result.elapsed_ms = Date.now() - started;
  return result;
}

export interface ExamplesResult {
  files: string[];
  archive_records: number;
  archive_malformed: number;
  halo_decisions: number;
  halo_malformed: number;
  heldout: number;
}

/**
 * The committed examples/: a ~600-trajectory SE-Darwin archive (nested .json and .jsonl files with a
 * few malformed records and a stray non-JSON file), a 1,500-decision HALO log with a few malformed
 * lines, and held-out routing tasks with unseen phrasings.
 */
export function generateExamples(dir: string, seed = 7): ExamplesResult {
  const r = rng(seed);
  const archive = path.join(dir, 'se-darwin-archive');
  fs.rmSync(archive, { recursive: true, force: true });
  const written: string[] = [];
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    written.push(path.relative(dir, file));
  };
  const jsonl = (recs: unknown[]) => `${recs.map((x) => JSON.stringify(x)).join('\n')}\n`;

  // 600 valid trajectories over 2 benchmarks x 6 iterations; iteration k re-evaluates some of k-1.
  let id = 0;
  let archiveRecords = 0;
  let malformed = 0;
  const prev: Trajectory[] = [];
  for (let iteration = 1; iteration <= 6; iteration++) {
    const routing: Trajectory[] = [];
    const swe: Trajectory[] = [];
    for (let i = 0; i < 100; i++) {
      let t: Trajectory;
      if (prev.length && r() < 0.06) t = { ...pick(r, prev), iteration, trajectory_id: `t-${(id++).toString(36)}` };
      else t = trajectory(r, id++, iteration, false);
      (t.benchmark === 'swe-lite' ? swe : routing).push(t);
    }
    prev.splice(0, prev.length, ...routing, ...swe);
    archiveRecords += routing.length + swe.length;
    const base = path.join(archive, `iteration-${String(iteration).padStart(2, '0')}`);
    // Routing trajectories: two .jsonl shards per iteration (one in a nested folder).
    const half = Math.ceil(routing.length / 2);
    let a = jsonl(routing.slice(0, half));
    let b = jsonl(routing.slice(half));
    // SWE trajectories: a .json array, and (odd iterations) single-object pretty-printed .json files.
    let sweArray = swe;
    if (iteration % 2 === 1 && swe.length > 2) {
      for (const [k, t] of swe.slice(0, 2).entries())
        write(path.join(base, 'swe-lite', 'best', `candidate-${k + 1}.json`), `${JSON.stringify(t, null, 2)}\n`);
      sweArray = swe.slice(2);
    }
    // A few malformed records, in known places.
    if (iteration === 2) {
      a = a.replace(
        /\n(?=.)/,
        '\n{"prompt": "Deploy the checkout service to GKE", "best_agent": "devops", "quality_sc\n',
      );
      b += '{"prompt": "Find the derivative of ln(x)/x", "best_agent": "math_agent"}\n'; // no quality_score
      malformed += 2;
    }
    if (iteration === 3) {
      b +=
        '{"prompt": "Write a SQL query that returns revenue per region for 2023", "completion": "sql_agent", "quality_score": 1.4}\n';
      a += '\n'; // a blank line: skipped, not an error
      malformed += 1;
    }
    if (iteration === 4) {
      sweArray = [...sweArray, { task: 'Implement an LRU cache in Go', quality_score: 0.95 }]; // no solution
      b += '{"best_agent": "writer", "quality_score": 0.91}\n'; // no prompt
      b +=
        '{"prompt": "Summarise the newsletter in 3 bullet points", "best_agent": "writer", "quality_score": "high"}\n';
      malformed += 3;
    }
    if (iteration === 5) {
      b +=
        '{"prompt": "Rotate the TLS certificates for the billing-worker service", "best_agent": "devops", "quality_score": -0.2}\n';
      b += 'not json at all\n';
      malformed += 2;
    }
    write(path.join(base, 'halo-routing', 'shard-0.jsonl'), a);
    write(path.join(base, 'halo-routing', 'retries', 'shard-1.jsonl'), b);
    write(path.join(base, 'swe-lite', 'trajectories.json'), `${JSON.stringify(sweArray, null, 1)}\n`);
  }
  write(path.join(archive, 'README.md'), 'SE-Darwin evolution archive (generated by scripts/gen-archive.ts).\n');

  // HALO routing log: 1,500 decisions + 6 malformed lines spread through it.
  const decisions = [...haloDecisions(seed, 1500)];
  const lines = decisions.map((d) => JSON.stringify(d));
  const bad = [
    '{"task": "Deploy the search-indexer service to Cloud Run", "agent": "devops", "success": tr',
    '{"task": "Find recent papers on battery recycling", "success": true}',
    '{"agent": "coder", "outcome": "success"}',
    '{"task": "Compute the area of a sphere of radius 3", "agent": "math_agent", "outcome": "maybe"}',
    '{"task": "", "agent": "writer", "success": false}',
    '[1, 2, 3]',
  ];
  for (const [k, line] of bad.entries()) lines.splice(200 + k * 230, 0, line);
  write(path.join(dir, 'halo-routing.jsonl'), `${lines.join('\n')}\n`);

  const trainTasks = new Set(decisions.map((d) => d.task.trim().replace(/\s+/g, ' ').toLowerCase()));
  const held = [...heldoutTasks(seed, 240, trainTasks)];
  write(path.join(dir, 'halo-routing-heldout.jsonl'), jsonl(held));
  return {
    files: written,
    archive_records: archiveRecords + malformed,
    archive_malformed: malformed,
    halo_decisions: decisions.length,
    halo_malformed: bad.length,
    heldout: held.length,
  };
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) args[a.slice(2)] = 'true';
    else {
      args[a.slice(2)] = next;
      i++;
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const seed = Number(args.seed ?? 1);
  if (args.examples) {
    const res = generateExamples(args.examples, args.seed ? seed : undefined);
    process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
    return;
  }
  if (!args.out || !args.mb) {
    process.stderr.write(
      'usage: gen-archive --out DIR --mb MB [--seed N] [--file-mb 64] [--halo DECISIONS]\n' +
        '       gen-archive --examples DIR [--seed N]\n',
    );
    process.exitCode = 2;
    return;
  }
  const res = await generateArchive({
    out: args.out,
    mb: Number(args.mb),
    seed,
    fileMb: args['file-mb'] ? Number(args['file-mb']) : undefined,
    haloDecisions: args.halo ? Number(args.halo) : undefined,
  });
  const mbs = res.bytes / 1048576 / (res.elapsed_ms / 1000);
  process.stdout.write(`${JSON.stringify({ ...res, mb_per_s: Math.round(mbs) }, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
