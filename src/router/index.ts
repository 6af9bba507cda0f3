// vertex-mcp/router: the routing client. route(task) asks the production endpoint of a routing
// model which agent should take a task, within a deadline, retrying only what is safe, behind a
// circuit breaker; when the endpoint is slow, down or the breaker is open, a configured fallback
// answers (another endpoint, a local artifact, a rule) and the decision says which. Every decision
// is journalled, and every outcome becomes a HALO routing record (what prepare_dataset reads) and
// feedback on the prediction (what online accuracy and A/B tests read).
//
// Retries: a Predict is retried only on UNAVAILABLE and RESOURCE_EXHAUSTED, the codes a server or
// proxy answers before the request reached the model, and only while the deadline leaves room.
// DEADLINE_EXCEEDED (the model may have served it: a second try would count twice in monitoring,
// and the deadline is spent anyway), INTERNAL and the rest go straight to the fallback.
import { randomUUID } from 'node:crypto';
import { invalid, toVertexMcpError, VertexMcpError } from '../lib/errors.js';
import { CircuitBreaker } from './breaker.js';
import { type Answer, type Answerer, createAnswerer, predictAgent } from './fallback.js';
import { DecisionLog } from './log.js';
import type { Decision, Outcome, OutcomeResult, Router, RouterOptions } from './types.js';

export type { BreakerOptions, BreakerState, BreakerTransition } from './breaker.js';
export { CircuitBreaker } from './breaker.js';
export { agentOf, type FallbackSpec } from './fallback.js';
export { DecisionLog, type DecisionLogOptions, type LogCounts, STREAMS } from './log.js';
export type * from './types.js';

const RETRYABLE = new Set(['UNAVAILABLE', 'RESOURCE_EXHAUSTED']);
/** Codes that say nothing about the endpoint's health (the request was at fault). */
const CALLER_FAULT = new Set(['INVALID_ARGUMENT']);
const MAX_TASK_CHARS = 100_000;
const REMEMBERED = 100_000;

class Timeout extends Error {}

/** `p`, or a Timeout after `ms`; `p` keeps running (its result is dropped). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => {});
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout()), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createRouter(options: RouterOptions): Router {
  const lib = options.library;
  if (!lib?.endpoints) throw invalid('library is required: pass createLibrary(...)');
  if (typeof options.endpoint !== 'string' || !options.endpoint)
    throw invalid('endpoint must name the routing model endpoint (ID or display name)');
  const deadlineMs = options.deadline_ms ?? 1000;
  if (!Number.isFinite(deadlineMs) || deadlineMs < 10 || deadlineMs > 600_000)
    throw invalid(`deadline_ms must be a number of milliseconds from 10 to 600000, got ${deadlineMs}`);
  const maxAttempts = options.max_attempts ?? 2;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 5)
    throw invalid(`max_attempts must be an integer from 1 to 5, got ${maxAttempts}`);
  const specs = options.fallbacks ?? [];
  if (!Array.isArray(specs)) throw invalid('fallbacks must be an array of {kind: endpoint | artifact | rule, ...}');
  const fallbacks: Answerer[] = specs.map((s, i) => createAnswerer(lib, s, i));
  const reserve =
    options.fallback_reserve_ms ??
    (specs.some((s) => s.kind === 'endpoint') ? Math.floor(deadlineMs / 4) : Math.min(20, Math.floor(deadlineMs / 4)));
  if (!Number.isFinite(reserve) || reserve < 0 || reserve >= deadlineMs)
    throw invalid(`fallback_reserve_ms must be from 0 to below deadline_ms (${deadlineMs}), got ${reserve}`);
  const agents = options.agents ? new Set(options.agents) : null;
  if (agents && agents.size === 0) throw invalid('agents is empty: list the agents, or leave it out');
  const explore = options.explore;
  if (explore) {
    if (!(explore.rate >= 0 && explore.rate <= 1)) throw invalid(`explore.rate must be in [0, 1], got ${explore.rate}`);
    if (!agents) throw invalid('explore needs agents: the agents a random choice is drawn from');
  }
  const random = explore?.random ?? Math.random;
  const agentList = agents ? [...agents] : [];
  const breaker = new CircuitBreaker(options.breaker);
  const log = new DecisionLog(lib.files, options.log);
  const primary = `endpoint:${options.endpoint}`;
  const outcomesFor = new Set<string>();
  const counts = {
    routed: 0,
    endpoint: 0,
    fallback: 0,
    outcomes: 0,
    feedback: 0,
    failed: 0,
    by_source: {} as Record<string, number>,
  };

  const usable = (a: Answer, who: string): string | null =>
    agents && !agents.has(a.agent)
      ? `${who} answered "${a.agent.slice(0, 100)}", which is not one of the agents`
      : null;

  /** The production endpoint's answer, or the reason there is none. */
  async function askEndpoint(
    task: string,
    until: number,
  ): Promise<{ answer: Answer | null; reason: string | null; attempts: number }> {
    if (!breaker.allow())
      return { answer: null, reason: `circuit breaker ${breaker.state}: the endpoint was not called`, attempts: 0 };
    let attempts = 0;
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) {
        if (attempts === 0) breaker.release();
        else breaker.failure();
        return { answer: null, reason: 'no time left for the endpoint', attempts };
      }
      attempts++;
      try {
        const a = await within(predictAgent(lib, options.endpoint, task, left), left);
        breaker.success();
        const bad = usable(a, 'the endpoint');
        return bad ? { answer: null, reason: bad, attempts } : { answer: a, reason: null, attempts };
      } catch (err) {
        if (err instanceof Timeout) {
          breaker.failure();
          return { answer: null, reason: `endpoint did not answer within ${Math.round(left)} ms`, attempts };
        }
        const e = toVertexMcpError(err);
        const room = until - Date.now() > 5;
        if (RETRYABLE.has(e.code) && attempts < maxAttempts && room) {
          // A short pause: the next try must still fit in the deadline.
          await new Promise((r) => setTimeout(r, Math.min(10 * attempts, Math.max(0, until - Date.now() - 5))));
          continue;
        }
        if (CALLER_FAULT.has(e.code)) breaker.release();
        else breaker.failure();
        return { answer: null, reason: `${e.code}: ${e.message.slice(0, 300)}`, attempts };
      }
    }
  }

  async function route(task: string): Promise<Decision> {
    if (typeof task !== 'string' || !task.trim()) throw invalid('task must be a non-empty string');
    if (task.length > MAX_TASK_CHARS) throw invalid(`task is ${task.length} characters; at most ${MAX_TASK_CHARS}`);
    const started = Date.now();
    const deadline = started + deadlineMs;
    const asked = await askEndpoint(task, deadline - reserve);
    let answer = asked.answer;
    let source = primary;
    const reasons: string[] = [];
    if (!answer) {
      reasons.push(asked.reason ?? 'no answer');
      for (const f of fallbacks) {
        const left = deadline - Date.now();
        // Local fallbacks answer in microseconds, so they answer even when a late timer left no
        // time: an answer a little late beats none. A remote one needs time left.
        if (left <= 0 && f.remote) {
          reasons.push(`${f.source}: no time left`);
          continue;
        }
        try {
          const a = f.remote ? await within(f.answer(task, left), left) : await f.answer(task, 0);
          const bad = usable(a, f.source);
          if (bad) {
            reasons.push(bad);
            continue;
          }
          answer = a;
          source = f.source;
          break;
        } catch (err) {
          reasons.push(
            `${f.source}: ${err instanceof Timeout ? 'no answer in time' : toVertexMcpError(err).message.slice(0, 200)}`,
          );
        }
      }
    }
    counts.routed++;
    const latency = Date.now() - started;
    if (!answer) {
      counts.failed++;
      const why = reasons.join('; ');
      log.append('routed', {
        decision_id: randomUUID(),
        task,
        agent: null,
        answered_by: null,
        error: why,
        latency_ms: latency,
        timestamp: new Date(started).toISOString(),
      });
      throw new VertexMcpError(
        'UNAVAILABLE',
        `no agent for the task: ${why}`,
        'Add a rule fallback (fallbacks: [{kind: "rule", route: (task) => "agent"}]) so every task gets an answer',
      );
    }
    let agent = answer.agent;
    let explored = false;
    if (explore && explore.rate > 0 && random() < explore.rate) {
      agent = agentList[Math.min(agentList.length - 1, Math.floor(random() * agentList.length))]!;
      explored = true;
    }
    const byEndpoint = source === primary;
    if (byEndpoint) counts.endpoint++;
    else counts.fallback++;
    counts.by_source[source] = (counts.by_source[source] ?? 0) + 1;
    const decision: Decision = {
      decision_id: randomUUID(),
      task,
      agent,
      answered_by: byEndpoint ? 'endpoint' : 'fallback',
      source,
      fallback_reason: byEndpoint ? null : reasons.join('; '),
      prediction_id: answer.prediction_id,
      endpoint: answer.endpoint,
      deployed_model_id: answer.deployed_model_id,
      model: answer.model,
      version: answer.version,
      confidence: answer.confidence,
      model_agent: answer.agent,
      explored,
      attempts: asked.attempts,
      latency_ms: latency,
      deadline_ms: deadlineMs,
      breaker: breaker.state,
      timestamp: new Date(started).toISOString(),
    };
    log.append('routed', { ...decision });
    return decision;
  }

  function recordOutcome(decision: Decision, outcome: boolean | Outcome, score?: number): OutcomeResult {
    if (!decision || typeof decision.decision_id !== 'string' || typeof decision.agent !== 'string')
      throw invalid('decision must be what route() returned');
    const o: Outcome = typeof outcome === 'boolean' ? { success: outcome } : { ...outcome };
    if (score !== undefined) o.score = score;
    if (typeof o.success !== 'boolean') throw invalid('outcome.success must be true or false');
    for (const k of ['score', 'latency_ms', 'cost'] as const)
      if (o[k] !== undefined && !Number.isFinite(o[k])) throw invalid(`outcome.${k} must be a finite number`);
    if (outcomesFor.has(decision.decision_id))
      throw new VertexMcpError('ALREADY_EXISTS', `decision ${decision.decision_id} already has an outcome`);
    outcomesFor.add(decision.decision_id);
    if (outcomesFor.size > REMEMBERED) outcomesFor.delete(outcomesFor.values().next().value!);
    // The HALO routing record (SPEC 4): task, agent, success, optional latency_ms, cost, timestamp;
    // the rest says where the decision came from.
    log.append('halo', {
      task: decision.task,
      agent: decision.agent,
      success: o.success,
      ...(o.score !== undefined ? { score: o.score } : {}),
      ...(o.latency_ms !== undefined ? { latency_ms: o.latency_ms } : {}),
      ...(o.cost !== undefined ? { cost: o.cost } : {}),
      timestamp: decision.timestamp,
      decision_id: decision.decision_id,
      prediction_id: decision.prediction_id,
      answered_by: decision.answered_by,
      source: decision.source,
      endpoint: decision.endpoint,
      deployed_model_id: decision.deployed_model_id,
      version: decision.version,
      explored: decision.explored,
      outcome_at: new Date().toISOString(),
    });
    counts.outcomes++;
    let skipped: string | null = null;
    if (!decision.prediction_id || !decision.endpoint) skipped = `${decision.source} makes no prediction ids`;
    else if (decision.agent !== decision.model_agent)
      skipped = 'explored: the agent used is not the one the model chose';
    if (skipped) return { decision_id: decision.decision_id, feedback_id: null, feedback_skipped: skipped };
    try {
      const f = lib.monitoring.recordFeedback({
        endpoint: decision.endpoint!,
        prediction_id: decision.prediction_id!,
        correct: o.success,
        ...(o.score !== undefined ? { score: o.score } : {}),
      });
      counts.feedback++;
      return { decision_id: decision.decision_id, feedback_id: f.id, feedback_skipped: null };
    } catch (err) {
      // The outcome is logged either way; the feedback store refusing it must not lose it.
      const e = toVertexMcpError(err);
      return { decision_id: decision.decision_id, feedback_id: null, feedback_skipped: `feedback failed: ${e.text}` };
    }
  }

  const ready = Promise.all(fallbacks.map((f) => f.ready)).then(() => {});
  ready.catch(() => {});
  return {
    route,
    recordOutcome,
    ready,
    breaker,
    log,
    stats: () => ({
      routed: counts.routed,
      answered_by_endpoint: counts.endpoint,
      answered_by_fallback: counts.fallback,
      by_source: { ...counts.by_source },
      outcomes: counts.outcomes,
      feedback_sent: counts.feedback,
      failed_routes: counts.failed,
      breaker: breaker.state,
      breaker_transitions: [...breaker.transitions],
      log: log.counts(),
    }),
    flush: () => log.flush(),
    close: () => log.close(),
  };
}
