// The endpoint view: per-version traffic share, requests, errors, p50/p95/p99 latency and replicas
// over the stats window, the same figures as time series while open, firing alerts, and a traffic
// split change through the dry run -> confirm steps.
import { actionBar, type CallTool } from './actions.js';
import { TimeChart } from './charts.js';
import { fill, h, table } from './dom.js';
import * as f from './format.js';
import type { EndpointStats, VersionStats } from './types.js';

const COLORS = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6'];
const label = (v: VersionStats) => (v.version ? `${v.name ?? ''} ${v.version}`.trim() : v.deployed_model_id);

export class EndpointView {
  readonly el: HTMLElement;
  private readonly head = h('header', {});
  private readonly alerts = h('section', { 'aria-label': 'Alerts' });
  private readonly share = h('div', { class: 'share', 'data-testid': 'share-bar', role: 'img' });
  private readonly versions = h('div', {});
  private readonly charts = h('div', { class: 'grid2' });
  private readonly splitForm = h('fieldset', { class: 'split' });
  private ids = '';
  private series: TimeChart[] = [];

  constructor(call: CallTool, onChanged: () => void) {
    const bar = actionBar(
      call,
      [
        {
          label: 'Change split',
          confirmLabel: 'Confirm new split',
          tool: 'set_traffic_split',
          args: () => {
            const split: Record<string, number> = {};
            let sum = 0;
            for (const input of this.splitForm.querySelectorAll('input')) {
              const n = Number(input.value);
              if (!Number.isInteger(n) || n < 0 || n > 100)
                throw new Error(`${input.dataset.label}: a whole percentage 0-100`);
              split[input.name] = n;
              sum += n;
            }
            if (sum !== 100) throw new Error(`The shares add up to ${sum}%, not 100%`);
            return { endpoint: this.endpoint, traffic_split: split };
          },
          plan: (s) => (s ? [`Before: ${this.splitText(s.before)}`, `After: ${this.splitText(s.after)}`] : []),
          danger: true,
          testid: 'action-split',
        },
      ],
      onChanged,
      this.splitForm,
    );
    this.el = h(
      'div',
      { class: 'view', 'data-testid': 'endpoint-view' },
      this.head,
      this.alerts,
      h('section', { 'aria-label': 'Traffic share' }, h('h3', {}, 'Traffic share'), this.share),
      this.versions,
      this.charts,
      bar,
    );
  }

  private endpoint = '';
  private names = new Map<string, string>();

  private splitText(split: Record<string, number>): string {
    // In the table's order (the tool's keys come in the server's order).
    const order = [...this.names.keys()];
    const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
    return Object.entries(split ?? {})
      .sort(([a], [b]) => rank(a) - rank(b))
      .map(([k, v]) => `${this.names.get(k) ?? k} ${f.percent(v)}`)
      .join(', ');
  }

  update(s: EndpointStats, atMs: number): void {
    this.endpoint = s.endpoint;
    this.names = new Map(s.versions.map((v) => [v.deployed_model_id, label(v)]));
    fill(
      this.head,
      h('h2', {}, `Endpoint ${s.display_name}`),
      h(
        'p',
        { class: 'sub' },
        `${s.endpoint} · last ${f.duration(s.window_seconds)} · updated ${new Date(atMs).toLocaleTimeString('en-US')}`,
      ),
    );
    const firing = s.alerts.filter((a) => a.firing);
    fill(
      this.alerts,
      firing.length
        ? h(
            'div',
            { class: 'alert', role: 'alert', 'data-testid': 'alerts' },
            h('strong', {}, `${firing.length} alert(s) firing: `),
            firing
              .map((a) => `${a.name}${a.since ? ` since ${new Date(a.since).toLocaleTimeString('en-US')}` : ''}`)
              .join(', '),
          )
        : h(
            'p',
            { class: 'sub', 'data-testid': 'alerts' },
            `No alert firing (${s.alerts.length} rule(s) on this endpoint).`,
          ),
    );
    this.share.setAttribute(
      'aria-label',
      s.versions.map((v) => `${label(v)} ${f.percent(v.traffic_percent)}`).join(', '),
    );
    fill(
      this.share,
      s.versions
        .filter((v) => v.traffic_percent > 0)
        .map((v) => {
          // Set through the CSSOM: a style attribute would need 'unsafe-inline' styles.
          const seg = h('span', {}, `${label(v)} ${f.percent(v.traffic_percent)}`);
          seg.style.flex = String(v.traffic_percent);
          seg.style.background = `var(${COLORS[s.versions.indexOf(v) % COLORS.length]})`;
          return seg;
        }),
    );
    const row = (v: VersionStats | EndpointStats['total'], id: string, name: string, traffic: string) =>
      [
        name,
        [traffic, `${id}-traffic`],
        [f.count(v.requests), `${id}-requests`],
        [f.count(v.errors), `${id}-errors`],
        [f.pct(v.error_rate), `${id}-error-rate`],
        [f.ms(v.p50_ms), `${id}-p50`],
        [f.ms(v.p95_ms), `${id}-p95`],
        [f.ms(v.p99_ms), `${id}-p99`],
        [f.count(v.replicas), `${id}-replicas`],
      ] as (string | [string, string])[];
    fill(
      this.versions,
      table(
        `Per version, last ${f.duration(s.window_seconds)}`,
        ['Version', 'Traffic', 'Requests', 'Errors', 'Error rate', 'p50', 'p95', 'p99', 'Replicas'],
        [
          ...s.versions.map((v) => row(v, `v-${v.deployed_model_id}`, label(v), f.percent(v.traffic_percent))),
          row(s.total, 'total', 'All', '100%'),
        ],
      ),
      s.reasons.latency ? h('p', { class: 'sub' }, s.reasons.latency) : null,
    );
    // Charts and the split form are rebuilt only when the deployed versions change.
    const ids = s.versions.map((v) => v.deployed_model_id).join(',');
    if (ids !== this.ids) {
      this.ids = ids;
      const per = s.versions.map((v, i) => ({ label: label(v), color: COLORS[i % COLORS.length]! }));
      this.series = [
        new TimeChart(
          'Latency, all versions (over the window, sampled while open)',
          [
            { label: 'p50', color: '--c1' },
            { label: 'p95', color: '--c2' },
            { label: 'p99', color: '--c3' },
          ],
          f.ms,
          { testid: 'latency-chart' },
        ),
        new TimeChart('p95 latency by version', per, f.ms),
        new TimeChart('Requests in the window by version', per, f.count),
        new TimeChart('Errors in the window by version', per, f.count),
        new TimeChart('Traffic share by version', per, f.percent),
      ];
      fill(
        this.charts,
        this.series.map((c) => c.el),
      );
      fill(
        this.splitForm,
        h('legend', {}, 'New traffic split (whole percentages adding up to 100)'),
        s.versions.map((v) =>
          h(
            'label',
            {},
            `${label(v)} `,
            h('input', {
              type: 'number',
              min: 0,
              max: 100,
              step: 1,
              name: v.deployed_model_id,
              value: v.traffic_percent,
              'data-label': label(v),
              'data-testid': `split-${v.deployed_model_id}`,
            }),
            ' %',
          ),
        ),
      );
    }
    const [lat, p95, req, err, share] = this.series;
    lat!.push(atMs, [s.total.p50_ms, s.total.p95_ms, s.total.p99_ms]);
    p95!.push(
      atMs,
      s.versions.map((v) => v.p95_ms),
    );
    req!.push(
      atMs,
      s.versions.map((v) => v.requests),
    );
    err!.push(
      atMs,
      s.versions.map((v) => v.errors),
    );
    share!.push(
      atMs,
      s.versions.map((v) => v.traffic_percent),
    );
  }

  redraw(): void {
    for (const c of this.series) c.redraw();
  }
}
