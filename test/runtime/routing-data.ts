// A synthetic multi-agent routing dataset: tasks about code, SQL, maths and writing routed to
// 'coder', 'sql_agent', 'math_agent' and 'writer', from templates filled by a seeded PRNG.
// Held-out tasks use sentence frames never seen in training, and half of them also topics never
// seen in training (sharing only domain words such as "python", "table", "integral").

import { rng } from '../../scripts/prng.js';
import type { Example, TrainOptions } from '../../src/emulator/runtime/index.js';

export const AGENTS = ['coder', 'sql_agent', 'math_agent', 'writer'] as const;
export type Agent = (typeof AGENTS)[number];

/** coder is the majority class: the baseline that always answers it scores about 0.37. */
const WEIGHTS: Record<Agent, number> = { coder: 0.37, sql_agent: 0.21, math_agent: 0.21, writer: 0.21 };

const TOPICS: Record<Agent, { seen: string[]; unseen: string[] }> = {
  coder: {
    seen: [
      'a python function that reverses a list',
      'the react component that does not render',
      'a bash script to rename files',
      'the typescript compiler error in my build',
      'a rust borrow checker issue',
      'the memory leak in our node service',
      'a unit test for the json parser',
      'the docker build that fails',
      'a rest api endpoint in go',
      'the javascript promise chain',
      'a race condition in the java thread pool',
      'the segfault in the c++ module',
      'a git merge conflict',
      'the ci pipeline yaml',
      'a regex to validate email addresses',
      'refactoring this class into smaller functions',
    ],
    unseen: [
      'a python script that parses csv files',
      'the null pointer exception in java',
      'a typescript interface for the api response',
      'the flaky unit test in our ci',
      'a go function that retries http requests',
      'the webpack build error in the react app',
      'a recursive function in javascript',
      'the docker compose file for the service',
    ],
  },
  sql_agent: {
    seen: [
      'a sql query for monthly revenue',
      'the postgres table schema',
      'an index on the orders table',
      'a join between customers and invoices',
      'the slow select statement',
      'a mysql stored procedure',
      'the database migration for the users table',
      'a window function over sales data',
      'duplicate rows in the users table',
      'a group by with a having clause',
      'the query plan for the nightly report',
      'a foreign key constraint on orders',
    ],
    unseen: [
      'a sql query that counts active users per day',
      'the postgres index that is never used',
      'a left join that returns too many rows',
      'the mysql table that keeps locking',
      'a select with a subquery on the orders table',
      'the database schema for invoices and payments',
    ],
  },
  math_agent: {
    seen: [
      'the integral of x squared',
      'a system of linear equations',
      'the derivative of sin x',
      'the probability of two dice summing to seven',
      'the eigenvalues of a 3 by 3 matrix',
      'a proof that the square root of two is irrational',
      'the limit of the sequence one over n',
      'the area of a circle with radius 3',
      'the standard deviation of these numbers',
      'a quadratic equation with complex roots',
      'the prime factorization of 360',
      'the expected value of a lottery ticket',
    ],
    unseen: [
      'the integral of e to the x times sin x',
      'the derivative of a product of two functions',
      'the probability of drawing two aces',
      'a proof by induction for the sum of squares',
      'the eigenvectors of a symmetric matrix',
      'the variance of a binomial distribution',
    ],
  },
  writer: {
    seen: [
      'a blog post about remote work',
      'the product announcement email',
      'a short story about a dragon',
      'the cover letter for my job application',
      'a poem about autumn leaves',
      'the executive summary of the report',
      'a press release for the launch',
      'the introduction of my essay',
      'a tweet thread about our release',
      'the speech for my sister wedding',
      'the marketing copy for the landing page',
      'a newsletter for our subscribers',
    ],
    unseen: [
      'a blog post about our engineering culture',
      'a short poem for my mother birthday',
      'the email to customers about the price change',
      'a story for children about a brave mouse',
      'the conclusion of my essay on climate',
      'a linkedin post announcing my new job',
    ],
  },
};

const TRAIN_FRAMES = [
  'Can you help me with {t}?',
  'Please take care of {t}.',
  'I need {t} by tomorrow',
  'help with {t}',
  'Could you look at {t} for me',
  'quick question about {t}',
  '{t} please',
  'We have to deliver {t} this week',
  'Who can handle {t}?',
  'I would like some help on {t}',
];

const HELD_OUT_FRAMES = [
  'Any idea how to handle {t}?',
  'My manager asked me about {t}, where do I start',
  'urgent: {t}!!',
  "I'm stuck on {t} since this morning",
  "What's the best approach for {t}",
  'Thoughts on {t}?',
];

const PREFIXES = ['', '', '', 'hey, ', 'hi team - ', 'Hello! '];
const SUFFIXES = ['', '', '', ' thanks', ' asap', ' :)'];

/** The tests' own PRNG, independent of the runtime's. */
export const mulberry32 = rng;

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

function agentOf(rand: () => number): Agent {
  let u = rand();
  for (const a of AGENTS) {
    u -= WEIGHTS[a];
    if (u < 0) return a;
  }
  return 'writer';
}

function task(rand: () => number, agent: Agent, frames: string[], unseenTopic: boolean): Example {
  const topics = unseenTopic ? TOPICS[agent].unseen : TOPICS[agent].seen;
  const text = pick(rand, frames).replace('{t}', pick(rand, topics));
  return { input: `${pick(rand, PREFIXES)}${text}${pick(rand, SUFFIXES)}`, output: agent };
}

export interface RoutingData {
  train: Example[];
  validation: Example[];
  /** Unseen frames; half of them unseen topics too. */
  heldOut: Example[];
}

export function routingData(seed = 7, n = { train: 2000, validation: 200, heldOut: 400 }): RoutingData {
  const rand = mulberry32(seed);
  const make = (count: number, frames: string[], unseenShare: number): Example[] =>
    Array.from({ length: count }, () => task(rand, agentOf(rand), frames, rand() < unseenShare));
  return {
    train: make(n.train, TRAIN_FRAMES, 0),
    validation: make(n.validation, TRAIN_FRAMES, 0),
    heldOut: make(n.heldOut, HELD_OUT_FRAMES, 0.5),
  };
}

/** Accuracy of always answering the most frequent training output. */
export function majorityBaseline(train: Example[], test: Example[]): { label: string; accuracy: number } {
  const counts = new Map<string, number>();
  for (const e of train) counts.set(e.output, (counts.get(e.output) ?? 0) + 1);
  const label = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  return { label, accuracy: test.filter((e) => e.output === label).length / test.length };
}

/** Training options the runtime tests start from. */
export const opts = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  baseModel: 'local/text-router',
  method: 'supervised',
  epochs: 10,
  learningRate: 0.02,
  batchSize: 32,
  seed: 1,
  ...over,
});
