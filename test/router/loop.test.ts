// The improvement loop end to end on the emulator (scripts/improvement-loop.ts, seeded): two
// iterations raise the share of tasks routed to an agent that succeeds, a candidate made worse on
// purpose is rolled back, and the log (on gs://, published segment by segment) loses nothing.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopResult, runImprovementLoop } from '../../scripts/improvement-loop.js';
import { type RouterStack, routerStack } from './stack.js';

let s: RouterStack;
let r: LoopResult;
const lines: string[] = [];
const LOG = 'gs://vertex-mcp-emulator/loop-test/decisions';

beforeAll(async () => {
  s = await routerStack({ deploy: false });
  r = await runImprovementLoop({
    lib: s.lib,
    log: LOG,
    spoolDir: path.join(s.dir, 'spool'),
    seed: 1,
    phaseTasks: 1000, // ~800 production answers a phase: the shares' intervals are about +-2.5 pp
    say: (l) => lines.push(l),
  });
  console.error(`[improvement loop]\n${lines.join('\n')}`);
}, 120_000);
afterAll(async () => {
  await s?.close();
});

describe('the improvement loop', () => {
  it('two iterations each ship a candidate that routes more tasks to an agent that succeeds', () => {
    const [before, one, two] = r.phases;
    expect(r.iterations.slice(0, 2).map((i) => [i.candidate, i.ab.verdict, i.action])).toEqual([
      ['1.1.0', 'ship_treatment', 'ship'],
      ['1.2.0', 'ship_treatment', 'ship'],
    ]);
    expect([before!.version, one!.version, two!.version]).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    // Iteration 1: the intervals do not overlap. Iteration 2: its A/B test's always-valid interval
    // excluded zero (ship_treatment), and production measured after it does better again.
    expect(one!.ci[0]).toBeGreaterThan(before!.ci[1]);
    expect(two!.share).toBeGreaterThan(one!.share);
    for (const it of r.iterations.slice(0, 2)) {
      const [control, treatment] = it.ab.arms;
      expect(treatment!.estimate!).toBeGreaterThan(control!.estimate!);
    }
  });

  it('a candidate made worse on purpose is rolled back, not shipped', async () => {
    const bad = r.iterations[2]!;
    expect([bad.candidate, bad.ab.verdict, bad.action, bad.production_after]).toEqual([
      '1.3.0',
      'keep_control',
      'rollback',
      '1.2.0',
    ]);
    expect((await s.lib.registry.getModel('halo-router', '1.2.0')).deployment_stage).toBe('production');
    expect((await s.lib.registry.getModel('halo-router', '1.3.0')).deployment_stage).not.toBe('production');
    const ep = await s.lib.endpoints.getEndpoint('halo-router-ep');
    expect(ep.deployed.map((d) => [d.version, d.traffic_percent])).toEqual([['1.2.0', 100]]);
    expect(r.phases[3]!.version).toBe('1.2.0');
  });

  it('every decision and outcome is in the published log', async () => {
    const count = async (prefix: string) => {
      let n = 0;
      for (const f of await s.lib.files.list(prefix))
        n += (await s.lib.files.readText(f.uri)).split('\n').filter(Boolean).length;
      return n;
    };
    expect(r.log.routed).toBeGreaterThanOrEqual(4 * 1000); // four production phases, plus the A/B tests
    expect(r.log.routed).toBe(r.log.outcomes);
    expect(await count(`${LOG}/routed`)).toBe(r.log.routed);
    expect(await count(`${LOG}/halo`)).toBe(r.log.outcomes);
    expect(r.log.feedback).toBeGreaterThan(0.7 * r.log.outcomes); // explored decisions send none
    expect(r.elapsed_ms).toBeLessThan(60_000);
  });
});
