// The A/B view: per-arm estimates with interval bars, the always-valid interval of the effect as it
// narrows over time, progress against the planned sample, SRM and guardrails, the verdict sentence,
// and the actions (conclude per verdict, roll back) through the dry run -> confirm steps.
import { type Action, actionBar, type CallTool } from './actions.js';
import { intervalBars, TimeChart } from './charts.js';
import { fill, h, table } from './dom.js';
import * as f from './format.js';
import type { AbReport } from './types.js';

export class AbView {
  readonly el: HTMLElement;
  private readonly head = h('header', {});
  private readonly verdict = h('p', { class: 'verdict', 'aria-live': 'polite' });
  private readonly progress = h('div', { class: 'progress' });
  private readonly arms = h('div', {});
  private readonly bars = h('div', { class: 'card' });
  private readonly checks = h('div', { class: 'grid2' });
  private chart: TimeChart | null = null;
  private readonly chartBox = h('div', {});
  private metric = '';

  constructor(
    call: CallTool,
    private readonly test: string,
    onChanged: () => void,
  ) {
    const actions: Action[] = [
      {
        label: 'Conclude per verdict',
        confirmLabel: 'Confirm conclusion',
        tool: 'conclude_ab_test',
        args: () => ({ test: this.test, action: 'auto' }),
        plan: planLines,
        testid: 'action-conclude',
      },
      {
        label: 'Roll back',
        confirmLabel: 'Confirm roll back',
        tool: 'conclude_ab_test',
        args: () => ({ test: this.test, action: 'rollback' }),
        plan: planLines,
        danger: true,
        testid: 'action-rollback',
      },
    ];
    this.actions = actionBar(call, actions, onChanged);
    this.el = h(
      'div',
      { class: 'view', 'data-testid': 'ab-view' },
      this.head,
      this.verdict,
      this.progress,
      h('section', { 'aria-label': 'Arms' }, this.arms, this.bars),
      this.chartBox,
      this.checks,
      this.actions,
      this.ended,
    );
  }

  private readonly actions: HTMLElement;
  private readonly ended = h('p', { class: 'sub', 'data-testid': 'ended', hidden: true });

  update(r: AbReport, atMs: number): void {
    const m = r.primary_metric;
    // A concluded test takes no more actions (a plan already open stays until answered).
    const running = r.state === 'running';
    if (!running && !this.actions.querySelector('[data-testid="plan"]:not([hidden])')) this.actions.hidden = true;
    this.ended.hidden = running;
    this.ended.textContent = running ? '' : `This test is ${r.state.replace('_', ' ')}: nothing left to decide.`;
    const v = (x: number) => f.metricValue(m, x);
    const e = (x: number) => f.effect(m, x);
    fill(
      this.head,
      h(
        'h2',
        {},
        `A/B test ${r.test} `,
        h('span', { class: `badge ${r.state}`, 'data-testid': 'state' }, r.state.replace('_', ' ')),
      ),
      h(
        'p',
        { class: 'sub' },
        `${r.model} ${r.treatment} (treatment) vs ${r.control} (control) · endpoint ${r.endpoint} · primary metric ${m}`,
      ),
    );
    fill(
      this.verdict,
      h('strong', { 'data-testid': 'verdict' }, f.verdictLabel(r.verdict)),
      ' — ',
      h('span', { 'data-testid': 'sentence' }, r.sentence),
    );
    const p = r.progress;
    fill(
      this.progress,
      h('label', { for: 'ab-progress' }, 'Progress against the planned sample'),
      h('progress', { id: 'ab-progress', max: 1, value: Math.min(1, p.fraction), 'data-testid': 'progress-bar' }),
      h(
        'p',
        { class: 'sub', 'data-testid': 'progress' },
        `${f.pct(p.fraction)} · outcomes ${f.count(p.outcomes[0])} / ${f.count(p.outcomes[1])} of ${f.count(p.planned[0])} / ${f.count(p.planned[1])} planned (control / treatment) · ${f.count(p.requests)} of at most ${f.count(p.max_requests)} requests · running ${f.duration(p.elapsed_seconds)}`,
      ),
    );
    fill(
      this.arms,
      table(
        'Arms',
        ['Arm', 'Version', 'Requests', 'Outcomes', m, '95% CI', 'Error rate', 'p50', 'p95'],
        r.arms.map((a) => [
          a.arm,
          a.version,
          [f.count(a.requests), `${a.arm}-requests`],
          [f.count(a.outcomes), `${a.arm}-outcomes`],
          [v2(m, a.estimate), `${a.arm}-estimate`],
          [f.interval(v, a.ci), `${a.arm}-ci`],
          [f.pct(a.error_rate), `${a.arm}-error-rate`],
          [f.ms(a.p50_ms), `${a.arm}-p50`],
          [f.ms(a.p95_ms), `${a.arm}-p95`],
        ]),
      ),
    );
    const eff = r.effect;
    fill(
      this.bars,
      h('h3', {}, `${m} by arm (95% intervals)`),
      intervalBars(
        r.arms.map((a) => ({ label: `${a.arm} ${a.version}`, estimate: a.estimate, ci: a.ci, kind: a.arm })),
        v,
        undefined,
        m === 'accuracy' || m === 'error_rate' ? [0, 1] : undefined,
      ),
      h('h3', {}, 'Effect, treatment − control'),
      eff
        ? intervalBars(
            [
              { label: 'fixed-horizon', estimate: eff.absolute, ci: eff.ci, kind: 'welch' },
              { label: 'always-valid', estimate: eff.absolute, ci: eff.sequential_ci, kind: 'seq' },
            ],
            e,
            0,
          )
        : h('p', { class: 'sub' }, 'No effect yet: both arms need outcomes.'),
      eff
        ? h(
            'p',
            { class: 'sub' },
            h('span', { 'data-testid': 'effect' }, e(eff.absolute)),
            ' · fixed-horizon 95% CI ',
            h('span', { 'data-testid': 'effect-ci' }, f.interval(e, eff.ci)),
            `, ${f.pText(eff.p_value)} · always-valid 95% CI `,
            h('span', { 'data-testid': 'effect-seq-ci' }, f.interval(e, eff.sequential_ci)),
          )
        : null,
    );
    if (!this.chart || this.metric !== m) {
      this.metric = m;
      this.chart = new TimeChart(
        'Always-valid interval of the effect while open (it narrows as outcomes arrive)',
        [
          { label: 'upper', color: '--c2', dash: [4, 3] },
          { label: 'effect', color: '--c1' },
          { label: 'lower', color: '--c2', dash: [4, 3] },
          { label: 'zero', color: '--fg-2', dash: [2, 4] },
        ],
        e,
        { bands: [[1, 3]], testid: 'seq-chart' },
      );
      fill(this.chartBox, this.chart.el);
    }
    this.chart.push(atMs, eff ? [eff.sequential_ci[1], eff.absolute, eff.sequential_ci[0], 0] : [null, null, null, 0]);
    const srm = r.srm;
    fill(
      this.checks,
      h(
        'section',
        { class: 'card', 'aria-label': 'Sample ratio' },
        h('h3', {}, 'Sample ratio (SRM)'),
        srm
          ? h(
              'p',
              { 'data-testid': 'srm' },
              h('span', { class: `badge ${srm.flagged ? 'fail' : 'pass'}` }, srm.flagged ? 'mismatch' : 'ok'),
              ` observed ${f.count(srm.observed[0])} / ${f.count(srm.observed[1])}, expected ${f.pct(srm.expected_share[0])} / ${f.pct(srm.expected_share[1])}, p = ${f.pValue(srm.p_value)}`,
            )
          : h('p', { 'data-testid': 'srm' }, 'Not enough requests to check yet.'),
      ),
      h(
        'section',
        { class: 'card', 'aria-label': 'Guardrails' },
        r.guardrails.length
          ? table(
              'Guardrails',
              ['Metric', 'Margin', 'Control', 'Treatment', 'Status'],
              r.guardrails.map((g) => [
                g.metric,
                g.margin_kind === 'relative'
                  ? f.pct(g.margin)
                  : g.metric === 'error_rate'
                    ? f.effect('error_rate', g.margin).replace('+', '')
                    : f.guardrailValue(g.metric, g.margin),
                [f.guardrailValue(g.metric, g.control), `guardrail-${g.metric}-control`],
                [f.guardrailValue(g.metric, g.treatment), `guardrail-${g.metric}-treatment`],
                [g.status, `guardrail-${g.metric}-status`],
              ]),
            )
          : h('p', {}, 'No guardrails.'),
      ),
    );
  }

  redraw(): void {
    this.chart?.redraw();
  }

  get chartPoints(): number {
    return this.chart?.points ?? 0;
  }
}

const v2 = (m: string, x: number | null) => f.metricValue(m, x);

function planLines(s: any): string[] {
  if (!s) return [];
  const lines = [`Action: ${s.action}${s.against_verdict ? ' (against the verdict)' : ''}`];
  if (s.split_after)
    lines.push(
      `Split after: ${Object.entries(s.split_after)
        .map(([k, v]) => `${k} ${f.percent(v as number)}`)
        .join(', ')}`,
    );
  if (s.promote) lines.push(`Promote ${s.promote} to production`);
  if (s.undeploy?.length) lines.push(`Undeploy ${s.undeploy.join(', ')}`);
  return lines;
}
