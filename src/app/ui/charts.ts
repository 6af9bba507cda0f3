// Time series drawn with uPlot (about 50 KB minified, canvas, no dependencies): the series grow by
// one point per poll while the dashboard is open. Colours are read from the page's CSS variables
// at each draw, so a theme change only needs a redraw.
import uPlot from 'uplot';
import { h } from './dom.js';

/** Points kept per chart: an hour at the 5 s poll. */
export const MAX_POINTS = 720;

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

export interface SeriesSpec {
  label: string;
  /** A CSS variable holding the colour, e.g. --c1. */
  color: string;
  dash?: number[];
}

export class TimeChart {
  readonly el: HTMLElement;
  private readonly plot: uPlot;
  private readonly data: (number | null)[][];
  private readonly summary: HTMLElement;

  constructor(
    title: string,
    series: SeriesSpec[],
    private readonly fmt: (v: number) => string,
    opts: { bands?: [number, number][]; testid?: string } = {},
  ) {
    this.data = [[], ...series.map(() => [])];
    const plotHost = h('div', { class: 'plot', role: 'img', 'aria-label': title });
    this.summary = h('p', { class: 'sr-only', 'aria-live': 'off' });
    this.el = h(
      'figure',
      { class: 'chart', 'data-testid': opts.testid },
      h('figcaption', {}, title),
      plotHost,
      this.summary,
    );
    const axis = {
      stroke: () => css('--fg-2'),
      grid: { stroke: () => css('--grid'), width: 1 },
      ticks: { show: false },
    };
    this.plot = new uPlot(
      {
        width: 320,
        height: 180,
        scales: { x: { time: true } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        axes: [
          {
            ...axis,
            // Whole seconds at the finest (samples are POLL_MS apart), as wall-clock times.
            incrs: [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
            space: 70,
            values: (_u, splits) =>
              splits.map((s) => new Date(s * 1000).toLocaleTimeString('en-US', { hour12: false })),
          },
          { ...axis, size: 64, values: (_u, splits) => splits.map((v) => this.fmt(v)) },
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: () => css(s.color),
            width: 2,
            dash: s.dash,
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : this.fmt(v)),
          })),
        ],
        bands: opts.bands?.map((b) => ({ series: b, fill: () => css('--band') })),
      },
      this.data as uPlot.AlignedData,
      plotHost,
    );
    // The chart follows its container's width.
    new ResizeObserver(() => {
      const w = Math.max(240, Math.floor(plotHost.clientWidth));
      if (w !== this.plot.width) this.plot.setSize({ width: w, height: 180 });
    }).observe(plotHost);
  }

  /** Appends one sample (time in ms) and redraws. */
  push(atMs: number, values: (number | null)[]): void {
    this.data[0]!.push(atMs / 1000);
    for (const [i, v] of values.entries()) this.data[i + 1]!.push(v);
    if (this.data[0]!.length > MAX_POINTS) for (const d of this.data) d.shift();
    this.plot.setData(this.data as uPlot.AlignedData);
    this.el.dataset.points = String(this.data[0]!.length);
    const last = this.plot.series
      .slice(1)
      .map((s, i) => `${s.label}: ${values[i] === null || values[i] === undefined ? '—' : this.fmt(values[i]!)}`);
    this.summary.textContent = `Latest ${last.join(', ')}`;
  }

  get points(): number {
    return this.data[0]!.length;
  }

  redraw(): void {
    this.plot.redraw(false, true);
  }
}

/**
 * Horizontal interval bars on one shared scale: each row an estimate (dot) and its interval (bar);
 * a reference line at `ref` (0 for effects). SVG, so it scales and prints.
 */
export function intervalBars(
  rows: { label: string; estimate: number | null; ci: [number, number] | null; kind?: string }[],
  fmt: (v: number) => string,
  ref?: number,
  /** The values' possible range (rates: [0, 1]): the padded scale stays inside it. */
  bounds?: [number, number],
): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const W = 400;
  const rowH = 26;
  const left = 110;
  const right = W - 10;
  const vals = rows
    .flatMap((r) => [r.estimate, ...(r.ci ?? [])])
    .filter((v): v is number => v !== null && Number.isFinite(v));
  if (ref !== undefined) vals.push(ref);
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  if (!vals.length) [lo, hi] = [0, 1];
  if (hi === lo) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  if (bounds) [lo, hi] = [Math.max(bounds[0], lo), Math.min(bounds[1], hi)];
  const x = (v: number) => left + ((v - lo) / (hi - lo)) * (right - left);
  const svg = document.createElementNS(ns, 'svg');
  const height = rows.length * rowH + 22;
  svg.setAttribute('viewBox', `0 0 ${W} ${height}`);
  svg.setAttribute('class', 'bars');
  svg.setAttribute('role', 'img');
  svg.setAttribute(
    'aria-label',
    rows
      .map(
        (r) =>
          `${r.label}: ${r.estimate === null ? '—' : fmt(r.estimate)} ${r.ci ? `[${fmt(r.ci[0])}, ${fmt(r.ci[1])}]` : ''}`,
      )
      .join('; '),
  );
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  if (ref !== undefined) el('line', { x1: x(ref), x2: x(ref), y1: 0, y2: height - 18, class: 'ref' });
  rows.forEach((r, i) => {
    const y = i * rowH + 13;
    el('text', { x: 0, y: y + 4, class: 'lbl' }, r.label);
    if (r.ci) el('line', { x1: x(r.ci[0]), x2: x(r.ci[1]), y1: y, y2: y, class: `ci ${r.kind ?? ''}` });
    if (r.estimate !== null) el('circle', { cx: x(r.estimate), cy: y, r: 5, class: `est ${r.kind ?? ''}` });
  });
  el('text', { x: left, y: height - 4, class: 'axis' }, fmt(lo));
  el('text', { x: right, y: height - 4, class: 'axis', 'text-anchor': 'end' }, fmt(hi));
  return svg;
}
