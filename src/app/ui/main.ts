// The dashboard MCP App: rendered by the host next to a get_ab_test or get_endpoint_stats result
// (or opened alone, when it offers a choice of tests and endpoints), it then polls the server's
// tools through the host every POLL_MS while visible. Everything it draws comes from tool results.
import { App } from '@modelcontextprotocol/ext-apps';
import { AbView } from './ab.js';
import type { CallTool } from './actions.js';
import { fill, h } from './dom.js';
import { EndpointView } from './endpoint.js';
import { type AbReport, type EndpointStats, isAbReport, isEndpointStats } from './types.js';

/** The host context fields read here (ext-apps' McpUiHostContext). */
interface HostContext {
  theme?: 'light' | 'dark';
  styles?: { variables?: Record<string, string | undefined> };
  toolInfo?: unknown;
}

/** Live updates: one round of tool calls this often while the page is visible. */
export const POLL_MS = 5000;

const app = new App({ name: 'vertex-mcp dashboard', version: '1' }, {}, { autoResize: true });
const root = document.getElementById('root')!;
const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'error', hidden: true });
const live = h('p', { class: 'sub live', 'data-testid': 'updated' });

const call: CallTool = async (name, args) => {
  const r = await app.callServerTool({ name, arguments: args });
  const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  if (r.isError) throw new Error(text || `${name} failed`);
  return { structured: r.structuredContent, text };
};

type Mode = { kind: 'ab'; test: string; endpoint: string } | { kind: 'endpoint'; endpoint: string } | { kind: 'pick' };
let mode: Mode = { kind: 'pick' };
let ab: AbView | null = null;
let ep: EndpointView | null = null;
let tab: 'ab' | 'endpoint' = 'ab';
let timer: ReturnType<typeof setTimeout> | undefined;
let polls = 0;

function showError(err: unknown): void {
  error.hidden = false;
  error.textContent = err instanceof Error ? err.message : String(err);
}

/** One round: the A/B report and the endpoint's stats (or the stats alone). */
async function refresh(): Promise<void> {
  clearTimeout(timer);
  try {
    const at = Date.now();
    if (mode.kind === 'ab') {
      const [r, s] = await Promise.all([
        call('get_ab_test', { test: mode.test }),
        call('get_endpoint_stats', { endpoint: mode.endpoint }),
      ]);
      ab?.update(r.structured as AbReport, at);
      ep?.update(s.structured as EndpointStats, at);
    } else if (mode.kind === 'endpoint') {
      ep?.update((await call('get_endpoint_stats', { endpoint: mode.endpoint })).structured as EndpointStats, at);
    }
    error.hidden = true;
    polls++;
    live.textContent = `Live: updated ${new Date(at).toLocaleTimeString('en-US')}, every ${POLL_MS / 1000} s`;
    live.dataset.polls = String(polls);
  } catch (err) {
    showError(err);
  }
  schedule();
}

function schedule(): void {
  clearTimeout(timer);
  if (mode.kind !== 'pick' && !document.hidden) timer = setTimeout(() => void refresh(), POLL_MS);
}
document.addEventListener('visibilitychange', () => (document.hidden ? clearTimeout(timer) : void refresh()));

const refreshButton = () =>
  h('button', { type: 'button', 'data-testid': 'refresh', onclick: () => void refresh() }, 'Refresh now');

/** Tabs (WAI-ARIA pattern: arrow keys move between them). */
function tabs(): HTMLElement {
  const names: ['ab' | 'endpoint', string][] = [
    ['ab', 'A/B test'],
    ['endpoint', 'Endpoint'],
  ];
  const list = h('div', { role: 'tablist', 'aria-label': 'Views' });
  const buttons = names.map(([id, text]) =>
    h(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: `tab-${id}`,
        'aria-controls': `panel-${id}`,
        'aria-selected': String(tab === id),
        tabindex: tab === id ? 0 : -1,
        'data-testid': `tab-${id}`,
        onclick: () => select(id),
        onkeydown: (e: Event) => {
          const k = (e as KeyboardEvent).key;
          if (k === 'ArrowRight' || k === 'ArrowLeft') {
            select(id === 'ab' ? 'endpoint' : 'ab');
            document.getElementById(`tab-${tab}`)?.focus();
          }
        },
      },
      text,
    ),
  );
  list.append(...buttons);
  return list;
}

function select(id: 'ab' | 'endpoint'): void {
  tab = id;
  for (const t of ['ab', 'endpoint'] as const) {
    const b = document.getElementById(`tab-${t}`);
    b?.setAttribute('aria-selected', String(t === id));
    b?.setAttribute('tabindex', t === id ? '0' : '-1');
    const p = document.getElementById(`panel-${t}`);
    if (p) p.hidden = t !== id;
  }
  (id === 'ab' ? ab : ep)?.redraw();
}

function open(next: Mode, first?: unknown): void {
  mode = next;
  polls = 0;
  const changed = () => void refresh();
  ep = next.kind === 'pick' ? null : new EndpointView(call, changed);
  ab = next.kind === 'ab' ? new AbView(call, next.test, changed) : null;
  const at = Date.now();
  if (ab && isAbReport(first)) ab.update(first, at);
  if (ep && isEndpointStats(first)) ep.update(first, at);
  if (next.kind === 'ab') {
    tab = 'ab';
    fill(
      root,
      h('div', { class: 'top' }, tabs(), live, refreshButton()),
      error,
      h('div', { role: 'tabpanel', id: 'panel-ab', 'aria-labelledby': 'tab-ab' }, ab!.el),
      h('div', { role: 'tabpanel', id: 'panel-endpoint', 'aria-labelledby': 'tab-endpoint', hidden: true }, ep!.el),
    );
  } else if (next.kind === 'endpoint') {
    fill(root, h('div', { class: 'top' }, live, refreshButton()), error, ep!.el);
  }
  void refresh();
}

/** Without a tool result to show: the running tests and the endpoints, to choose from. */
async function picker(): Promise<void> {
  mode = { kind: 'pick' };
  fill(root, h('p', {}, 'Loading tests and endpoints…'), error);
  try {
    const [tests, eps] = await Promise.all([call('list_ab_tests', {}), call('list_endpoints', {})]);
    const t = (tests.structured?.tests ?? []) as {
      test: string;
      state: string;
      model: string;
      treatment: string;
      control: string;
      endpoint: string;
    }[];
    const e = (eps.structured?.endpoints ?? []) as { endpoint: string; display_name: string }[];
    fill(
      root,
      h('h2', {}, 'vertex-mcp dashboard'),
      error,
      h('h3', {}, 'A/B tests'),
      t.length
        ? h(
            'ul',
            { class: 'pick' },
            t.map((x) =>
              h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    'data-testid': `pick-test-${x.test}`,
                    onclick: () => open({ kind: 'ab', test: x.test, endpoint: x.endpoint }),
                  },
                  `${x.test}: ${x.model} ${x.treatment} vs ${x.control} (${x.state.replace('_', ' ')})`,
                ),
              ),
            ),
          )
        : h('p', { class: 'sub' }, 'No A/B test yet.'),
      h('h3', {}, 'Endpoints'),
      e.length
        ? h(
            'ul',
            { class: 'pick' },
            e.map((x) =>
              h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    'data-testid': `pick-endpoint-${x.endpoint}`,
                    onclick: () => open({ kind: 'endpoint', endpoint: x.endpoint }),
                  },
                  `${x.display_name} (${x.endpoint})`,
                ),
              ),
            ),
          )
        : h('p', { class: 'sub' }, 'No endpoint yet.'),
    );
  } catch (err) {
    showError(err);
  }
}

/** The host's theme (and its colour variables, when it sends them); the system's otherwise. */
function applyTheme(ctx: HostContext | undefined): void {
  const dark = ctx?.theme ? ctx.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  for (const [k, v] of Object.entries(ctx?.styles?.variables ?? {})) {
    if (v) document.documentElement.style.setProperty(k, v);
  }
  ab?.redraw();
  ep?.redraw();
}

let started = false;
app.ontoolresult = (r) => {
  started = true;
  const s = r.structuredContent;
  if (r.isError) {
    showError(
      r.content?.map((c: { type: string; text?: string }) => (c.type === 'text' ? c.text : '')).join('\n') ??
        'the tool failed',
    );
    return void picker();
  }
  if (isAbReport(s)) open({ kind: 'ab', test: s.test, endpoint: s.endpoint }, s);
  else if (isEndpointStats(s)) open({ kind: 'endpoint', endpoint: s.endpoint }, s);
  else void picker();
};
app.onhostcontextchanged = (ctx) => applyTheme(ctx);
app.onteardown = async () => {
  clearTimeout(timer);
  return {};
};

fill(root, h('p', {}, 'Connecting…'));
app
  .connect()
  .then(() => {
    const ctx = app.getHostContext();
    applyTheme(ctx);
    // Rendered for a tool call: its result follows. Opened alone: offer the choice.
    if (!ctx?.toolInfo && !started) void picker();
  })
  .catch(showError);
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(app.getHostContext()));
