// The routing client against the emulator: the endpoint's answers, the decision log and feedback,
// safe retries, and an outage in the middle of 2,000 routed tasks.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployRouter, TASKS } from '../../bench/router.js';
import { VertexMcpError } from '../../src/lib/errors.js';
import { createRouter, type Decision } from '../../src/router/index.js';
import { AGENT_OF, AGENTS, type RouterStack, readLines, routerStack } from './stack.js';

let s: RouterStack;
beforeAll(async () => {
  s = await routerStack();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const rule = { kind: 'rule' as const, name: 'default-coder', route: () => 'coder' };
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VertexMcpError);
    return (err as VertexMcpError).message;
  }
  throw new Error('expected a refusal');
};

describe('createRouter', () => {
  it('routes through the endpoint, journals the decision, and turns the outcome into a HALO record and feedback', async () => {
    const log = path.join(s.dir, 'basic');
    const router = createRouter({ library: s.lib, endpoint: 'router-ep', agents: AGENTS, log: { path: log } });
    const d = await router.route(`${TASKS[1]} item 5`);
    expect(d).toMatchObject({
      agent: 'sql_agent',
      answered_by: 'endpoint',
      source: 'endpoint:router-ep',
      fallback_reason: null,
      model: 'router',
      version: '1.0.0',
      attempts: 1,
      explored: false,
      breaker: 'closed',
    });
    expect(d.prediction_id).toMatch(/^\d+$/);
    const r = router.recordOutcome(d, true, 0.75);
    expect(r.feedback_id).toEqual(expect.any(Number));
    const fb = s.lib.monitoring.ledger.listFeedback(d.endpoint!, 0);
    expect(fb.map((f) => [f.prediction_id, f.correct, f.score])).toEqual([[d.prediction_id, true, 0.75]]);
    expect(refusal(() => router.recordOutcome(d, false))).toMatch(/already has an outcome/);
    await router.close();
    const routed = readLines(path.join(log, 'routed'));
    const halo = readLines(path.join(log, 'halo'));
    expect(routed.map((l) => l.decision_id)).toEqual([d.decision_id]);
    expect(halo).toEqual([
      expect.objectContaining({
        task: d.task,
        agent: 'sql_agent',
        success: true,
        score: 0.75,
        prediction_id: d.prediction_id,
      }),
    ]);
    // The HALO log is what prepare_dataset reads, as it is.
    const report = await s.lib.tuning.prepareHaloRoutingDataset({
      input: path.join(log, 'halo'),
      output: 'gs://vertex-mcp-emulator/router-test/basic',
      validation_fraction: 0,
    });
    expect([report.kept, report.bad_records_count, report.halo?.decisions]).toEqual([1, 0, 1]);
  });

  it('refuses bad options naming the field and the allowed values', () => {
    const base = { library: s.lib, endpoint: 'router-ep', log: { path: path.join(s.dir, 'x') } };
    expect(refusal(() => createRouter({ ...base, deadline_ms: 5 }))).toMatch(
      /deadline_ms must be .* from 10 to 600000, got 5/,
    );
    expect(refusal(() => createRouter({ ...base, fallbacks: [{ kind: 'magic' } as never] }))).toMatch(
      /fallbacks\[0\]\.kind must be one of endpoint, artifact, rule; got "magic"/,
    );
    expect(refusal(() => createRouter({ ...base, log: { path: '' } }))).toMatch(/log\.path is empty/);
    expect(refusal(() => createRouter({ ...base, log: { path: '/etc/router-log' } }))).toMatch(
      /log\.path "\/etc\/router-log" is outside the allowed roots/,
    );
    expect(refusal(() => createRouter({ ...base, explore: { rate: 0.1 } }))).toMatch(/explore needs agents/);
  });

  it('retries UNAVAILABLE within the deadline and never retries DEADLINE_EXCEEDED', async () => {
    const router = createRouter({
      library: s.lib,
      endpoint: 'router-ep',
      agents: AGENTS,
      deadline_ms: 300,
      fallbacks: [rule],
      breaker: { failure_threshold: 1000 },
      log: { path: path.join(s.dir, 'retry') },
    });
    s.emu.setFaults('unavailable=0.5');
    const flaky: Decision[] = [];
    for (let i = 0; i < 60; i++) flaky.push(await router.route(`${TASKS[i % 3]} flaky ${i}`));
    s.emu.setFaults('latency=400ms');
    const slow = await router.route(`${TASKS[0]} slow`);
    s.emu.setFaults('');
    const retried = flaky.filter((d) => d.attempts === 2 && d.answered_by === 'endpoint');
    expect(retried.length).toBeGreaterThan(0);
    expect(Math.max(...flaky.map((d) => d.attempts))).toBe(2);
    expect(flaky.filter((d) => d.answered_by === 'fallback').every((d) => /UNAVAILABLE/.test(d.fallback_reason!))).toBe(
      true,
    );
    expect(slow).toMatchObject({ answered_by: 'fallback', source: 'rule:default-coder', attempts: 1 });
    expect(slow.fallback_reason).toMatch(/did not answer within|DEADLINE_EXCEEDED/);
    expect(slow.latency_ms).toBeLessThanOrEqual(300);
    await router.close();
    await new Promise((r) => setTimeout(r, 450)); // the abandoned slow call ends before the next test
  });

  it('a fallback endpoint answers with its own prediction ids, and outcomes become feedback there', async () => {
    await deployRouter(s.lib, { name: 'router-backup', endpoint: 'backup-ep', examples: 150, epochs: 1 });
    const router = createRouter({
      library: s.lib,
      endpoint: 'router-ep',
      agents: AGENTS,
      deadline_ms: 2000,
      fallbacks: [{ kind: 'endpoint', endpoint: 'backup-ep' }, rule],
      log: { path: path.join(s.dir, 'backup') },
    });
    s.emu.setFaults('errors[router@1.0.0]=1'); // the production model fails every request (INTERNAL)
    let d: Decision;
    try {
      d = await router.route(`${TASKS[2]} backup`);
    } finally {
      s.emu.setFaults('');
    }
    expect(d).toMatchObject({
      answered_by: 'fallback',
      source: 'endpoint:backup-ep',
      model: 'router-backup',
      attempts: 1,
    });
    expect(d.fallback_reason).toMatch(/^INTERNAL: .*failed to serve the request/);
    expect(router.recordOutcome(d, true).feedback_id).toEqual(expect.any(Number));
    expect(s.lib.monitoring.ledger.listFeedback(d.endpoint!, 0).map((f) => f.prediction_id)).toEqual([d.prediction_id]);
    await router.close();
  });

  it('the endpoint stopped in the middle of 2,000 tasks: every task answered in time, fallback, breaker closes again, nothing lost', async () => {
    const log = path.join(s.dir, 'outage');
    const deadline = 300;
    const router = createRouter({
      library: s.lib,
      endpoint: 'router-ep',
      agents: AGENTS,
      deadline_ms: deadline,
      fallback_reserve_ms: 150,
      breaker: { failure_threshold: 5, cooldown_ms: 100 },
      fallbacks: [{ kind: 'artifact', model: 'router', version: '1.0.0' }, rule],
      log: { path: log, max_segment_bytes: 64 * 1024 },
    });
    await router.ready;
    const N = 2000;
    const decisions: Decision[] = new Array(N);
    const elapsed: number[] = new Array(N);
    const phase = (i: number) => (i < 600 ? 'up' : i < 900 ? 'slow' : i < 1300 ? 'down' : 'back');
    let next = 0;
    let backAt = 0;
    const worker = async () => {
      while (next < N) {
        const i = next++;
        if (i === 600) s.emu.setFaults('latency=1000ms'); // slow: every call waits past the deadline
        if (i === 900) s.emu.setFaults('unavailable=1'); // down: every call refused
        if (i === 1300) {
          s.emu.setFaults(''); // back
          backAt = Date.now();
        }
        const task = `${TASKS[i % 3]} #${i}`;
        const t0 = performance.now();
        const d = await router.route(task);
        elapsed[i] = performance.now() - t0;
        decisions[i] = d;
        router.recordOutcome(d, d.agent === AGENT_OF[TASKS[i % 3]!]);
        await new Promise((r) => setTimeout(r, 1)); // tasks arrive over time, not all at once
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const stats = router.stats();
    await router.close();

    // Every task got an answer within its deadline.
    expect(decisions.filter(Boolean)).toHaveLength(N);
    expect(Math.max(...elapsed)).toBeLessThanOrEqual(deadline);
    // While the endpoint was slow or down, the decisions say fallback (the local artifact answered).
    const during = decisions.filter((_, i) => phase(i) === 'slow' || phase(i) === 'down');
    const fellBack = during.filter((d) => d.answered_by === 'fallback');
    expect(fellBack.length).toBeGreaterThan(0.95 * during.length);
    expect(new Set(fellBack.map((d) => d.source))).toEqual(new Set(['artifact:router@1.0.0']));
    // The artifact served in-process answers like the endpoint it stands in for.
    expect(fellBack.every((d) => d.agent === AGENT_OF[d.task.replace(/ #\d+$/, '')])).toBe(true);
    // The breaker opened, and closed again once the endpoint was back.
    const moves = stats.breaker_transitions.map((t) => `${t.from}>${t.to}`);
    expect(moves).toContain('closed>open');
    expect(moves.at(-1)).toBe('half_open>closed');
    expect(stats.breaker).toBe('closed');
    // It closed within a cool-down (+ the probe) of the endpoint coming back; after that the endpoint answered.
    const closedAt = stats.breaker_transitions.at(-1)!.at;
    expect(closedAt - backAt).toBeLessThanOrEqual(100 + deadline);
    const after = decisions.filter((d) => Date.parse(d.timestamp) > closedAt);
    expect(after.length).toBeGreaterThan(100);
    expect(after.every((d) => d.answered_by === 'endpoint')).toBe(true);
    // No decision or outcome lost from the log; feedback for every endpoint answer.
    const routed = readLines(path.join(log, 'routed'));
    const halo = readLines(path.join(log, 'halo'));
    expect(routed).toHaveLength(N);
    expect(halo).toHaveLength(N);
    expect(new Set(halo.map((l) => l.decision_id))).toEqual(new Set(decisions.map((d) => d.decision_id)));
    const byEndpoint = decisions.filter((d) => d.answered_by === 'endpoint').length;
    expect(stats.feedback_sent).toBe(byEndpoint);
    const endpointId = decisions.find((d) => d.endpoint)!.endpoint!;
    const feedback = s.lib.monitoring.ledger.listFeedback(endpointId, 0, 10_000);
    expect(feedback.filter((f) => decisions.some((d) => d.prediction_id === f.prediction_id))).toHaveLength(byEndpoint);
    expect(stats.log.routed).toBe(N);
    console.error(
      `[router outage] ${N} tasks, deadline ${deadline} ms: max ${Math.max(...elapsed).toFixed(1)} ms; endpoint ${byEndpoint}, fallback ${N - byEndpoint}; closed ${closedAt - backAt} ms after the endpoint was back; ${moves.length} breaker transitions`,
    );
    await new Promise((r) => setTimeout(r, 1100)); // abandoned slow calls end before close
  }, 60_000);
});
