// Training speed of the emulator's local trainer (issue: "training examples per second"): the same
// 3,000-example routing set trained supervised and as a rank-8 LoRA adapter, one core.
import { performance } from 'node:perf_hooks';
import { type Example, train } from '../src/emulator/runtime/index.js';
import { median } from './util.js';

const AGENTS: Record<string, string[]> = {
  coder: ['write a python function that', 'fix the bug in my typescript code for', 'refactor the class handling'],
  sql_agent: ['query the sales table for', 'write a sql join between orders and', 'optimize the select over'],
  writer: ['draft a blog post about', 'write a polite email about', 'summarize this article on'],
};

export function benchTraining(epochs = 5, runs = 3) {
  const examples: Example[] = [];
  for (let i = 0; i < 1000; i++)
    for (const [agent, ps] of Object.entries(AGENTS)) examples.push({ input: `${ps[i % 3]} item ${i}`, output: agent });
  const rate = (method: 'supervised' | 'peft') => {
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      train(
        { train: examples },
        {
          baseModel: 'local/text-router',
          method,
          epochs,
          learningRate: 0.01,
          batchSize: 32,
          seed: r,
          earlyStoppingPatience: null,
          ...(method === 'peft' ? { adapterRank: 8 } : {}),
        },
      );
      times.push(performance.now() - t);
    }
    return Math.round((examples.length * epochs) / (median(times) / 1000));
  };
  return {
    examples: examples.length,
    epochs,
    supervised_examples_per_s: rate('supervised'),
    peft_examples_per_s: rate('peft'),
  };
}
