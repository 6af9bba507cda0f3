// The dashboard in a real browser (Debian's chromium, headless, driven by puppeteer-core): the
// server prints a one-time login link; the browser opens it and GET /dashboard's host page (an
// MCP client over Streamable HTTP + ext-apps' AppBridge) runs the ui:// app on a live A/B test.
// What the app draws must equal get_ab_test's and get_endpoint_stats' own results, formatted for
// people; "Roll back" shows the dry-run plan, changes nothing until confirmed, then really moves
// the split. Screenshots of both views are test artifacts in test-artifacts/ (CI keeps them);
// SCREENSHOTS=docs writes them to docs/screenshots/, the ones the README shows.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import puppeteer, { type Browser, type Frame, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleApp } from '../../scripts/bundle-app.js';
import * as f from '../../src/app/ui/format.js';
import { type Harness, startAbTest, startHarness, traffic } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.resolve(
  import.meta.dirname,
  process.env.SCREENSHOTS === 'docs' ? '../../docs/screenshots' : '../../test-artifacts',
);
const TOKEN = 'dashboard-test-token-0123456789';

let h: Harness;
let client: Client;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

const tool = async (name: string, args: Record<string, unknown>) => {
  const r = (await client.callTool({ name, arguments: args })) as any;
  if (r.isError) throw new Error(`${name}: ${r.content[0]?.text}`);
  return r.structuredContent as Record<string, any>;
};

/** The sandboxed iframe running the app (srcdoc). */
async function appFrame(): Promise<Frame> {
  const el = await page.waitForSelector('iframe', { timeout: 20_000 });
  const frame = await el!.contentFrame();
  if (!frame) throw new Error('no app frame');
  return frame;
}

/**
 * A click that waits out a redraw: the live view replaces its nodes on every poll, so a node found
 * a moment ago may be gone when the click lands ("not clickable"); the next lookup finds the new one.
 */
async function click(frame: Frame, selector: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await frame.waitForSelector(selector, { visible: true, timeout: 20_000 });
      return await frame.click(selector);
    } catch (err) {
      if (attempt >= 5 || !/not clickable|detached|Node is/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const text = (frame: Frame, id: string) => frame.$eval(`[data-testid="${id}"]`, (e) => (e.textContent ?? '').trim());

/** Clicks "Refresh now" and waits for that round of tool calls to be drawn. */
async function refreshed(frame: Frame): Promise<void> {
  const before = Number(await frame.$eval('[data-testid="updated"]', (e) => (e as HTMLElement).dataset.polls ?? '0'));
  await click(frame, '[data-testid="refresh"]');
  await frame.waitForFunction(
    (n) => Number((document.querySelector('[data-testid="updated"]') as HTMLElement)?.dataset.polls ?? 0) > n,
    { timeout: 20_000 },
    before,
  );
}

beforeAll(async () => {
  await bundleApp();
  h = await startHarness(TOKEN);
  client = await h.client();
  await startAbTest(h, client);
  await traffic(h.lib, 0, 60);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI containers: Chromium's own sandbox needs user namespaces it may not have.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('dashboard in a browser', () => {
  it('signs in with the printed one-time link, which works once', async () => {
    const url = h.dashboard.loginUrl(h.base);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard\?login=[\w-]{32}$/);
    // Without the cookie or the bearer: the sign-in form, nothing else.
    const anon = await fetch(`${h.base}/dashboard`);
    expect(anon.status).toBe(401);
    expect(await anon.text()).toContain('name="token"');
    expect((await fetch(`${h.base}/mcp`, { method: 'POST' })).status).toBe(401);
    // The bearer header opens it too, and earns the cookie the page's own /mcp calls need.
    const bearer = await fetch(`${h.base}/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get('set-cookie')).toMatch(
      /^vertex_mcp_dashboard=[\w-]+; HttpOnly; SameSite=Strict; Path=\//,
    );
    expect(bearer.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[^']+' 'sha256-[^']+';/);

    const res = await page.goto(`${url}&test=router-ab`);
    // Redirected to the dashboard without the token in the address.
    expect(page.url()).toBe(`${h.base}/dashboard?test=router-ab`);
    expect(res?.status()).toBe(200);
    const cookies = await browser.cookies();
    expect(cookies.find((c) => c.name === 'vertex_mcp_dashboard')?.httpOnly).toBe(true);
    // Spent: a second use is refused.
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(401);
  }, 60_000);

  it('draws the numbers of get_ab_test and get_endpoint_stats, live', async () => {
    const frame = await appFrame();
    await frame.waitForSelector('[data-testid="verdict"]', { timeout: 30_000 });
    // Traffic while open: every refresh adds a point to the always-valid interval's series.
    for (let i = 0; i < 4; i++) {
      await traffic(h.lib, 60 + i * 40, 40);
      await refreshed(frame);
    }
    // The first result, the host's, and one point per refresh.
    const points = await frame.$eval('[data-testid="seq-chart"]', (e) => Number((e as HTMLElement).dataset.points));
    expect(points).toBeGreaterThanOrEqual(5);
    await refreshed(frame);
    const r = await tool('get_ab_test', { test: 'router-ab' });
    const m = r.primary_metric;
    expect(r.arms[0].requests + r.arms[1].requests).toBe(220);
    for (const a of r.arms) {
      expect(await text(frame, `${a.arm}-requests`)).toBe(f.count(a.requests));
      expect(await text(frame, `${a.arm}-outcomes`)).toBe(f.count(a.outcomes));
      expect(await text(frame, `${a.arm}-estimate`)).toBe(f.metricValue(m, a.estimate));
      expect(await text(frame, `${a.arm}-ci`)).toBe(f.interval((x) => f.metricValue(m, x), a.ci));
      expect(await text(frame, `${a.arm}-error-rate`)).toBe(f.pct(a.error_rate));
      expect(await text(frame, `${a.arm}-p50`)).toBe(f.ms(a.p50_ms));
      expect(await text(frame, `${a.arm}-p95`)).toBe(f.ms(a.p95_ms));
    }
    // People's numbers: no long decimals anywhere in the estimates.
    expect(await text(frame, 'control-estimate')).toMatch(/^\d{1,3}\.\d%$/);
    expect(await text(frame, 'effect')).toBe(f.effect(m, r.effect.absolute));
    expect(await text(frame, 'effect-ci')).toBe(f.interval((x) => f.effect(m, x), r.effect.ci));
    expect(await text(frame, 'effect-seq-ci')).toBe(f.interval((x) => f.effect(m, x), r.effect.sequential_ci));
    expect(await text(frame, 'sentence')).toBe(r.sentence);
    expect(await text(frame, 'verdict')).toBe(f.verdictLabel(r.verdict));
    expect(await text(frame, 'srm')).toContain(f.pText(r.srm.p_value));
    expect(await text(frame, 'guardrail-error_rate-status')).toBe(r.guardrails[0].status);
    expect(await text(frame, 'progress')).toContain(
      `${f.pct(r.progress.fraction)} · outcomes ${f.count(r.progress.outcomes[0])} / ${f.count(r.progress.outcomes[1])} of ${f.count(r.progress.planned[0])} / ${f.count(r.progress.planned[1])} planned`,
    );
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-ab.png'), fullPage: true });

    // The endpoint tab, reached by keyboard (arrow key in the tab list).
    await frame.focus('[data-testid="tab-ab"]');
    await page.keyboard.press('ArrowRight');
    await frame.waitForSelector('[data-testid="endpoint-view"]', { visible: true });
    const s = await tool('get_endpoint_stats', { endpoint: r.endpoint });
    expect(s.versions).toHaveLength(2);
    for (const v of [...s.versions, { ...s.total, deployed_model_id: 'total' }]) {
      const id = v.deployed_model_id === 'total' ? 'total' : `v-${v.deployed_model_id}`;
      expect(await text(frame, `${id}-requests`)).toBe(f.count(v.requests));
      expect(await text(frame, `${id}-errors`)).toBe(f.count(v.errors));
      expect(await text(frame, `${id}-error-rate`)).toBe(f.pct(v.error_rate));
      expect(await text(frame, `${id}-p50`)).toBe(f.ms(v.p50_ms));
      expect(await text(frame, `${id}-p95`)).toBe(f.ms(v.p95_ms));
      expect(await text(frame, `${id}-p99`)).toBe(f.ms(v.p99_ms));
      expect(await text(frame, `${id}-replicas`)).toBe(f.count(v.replicas));
      if (id !== 'total') expect(await text(frame, `${id}-traffic`)).toBe(f.percent(v.traffic_percent));
    }
    expect(s.total.requests).toBe(220);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-endpoint.png'), fullPage: true });
    await page.keyboard.press('ArrowLeft');
    await frame.waitForSelector('[data-testid="ab-view"]', { visible: true });
  }, 120_000);

  it('renders the dark theme', async () => {
    const url = h.dashboard.loginUrl(h.base);
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    await page.goto(`${url}&test=router-ab`);
    const frame = await appFrame();
    await frame.waitForSelector('[data-testid="verdict"]', { timeout: 30_000 });
    expect(await frame.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    const [bg, fg] = await frame.evaluate(() => {
      const cs = getComputedStyle(document.body);
      return [cs.backgroundColor, cs.color];
    });
    expect(bg).toBe('rgb(21, 23, 27)');
    expect(fg).toBe('rgb(232, 234, 238)');
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-ab-dark.png'), fullPage: true });
  }, 60_000);

  it('rolls back only after the dry-run plan is confirmed, and the split really changes', async () => {
    const frame = await appFrame();
    const split = async () =>
      Object.fromEntries(
        (await h.lib.endpoints.getEndpoint('ab-ep')).deployed.map((d) => [d.version, d.traffic_percent]),
      );
    expect(await split()).toEqual({ '1.0.0': 50, '1.1.0': 50 });
    // By keyboard: focus the button, Enter.
    await frame.focus('[data-testid="action-rollback"]');
    await page.keyboard.press('Enter');
    await frame.waitForSelector('[data-testid="plan"]:not([hidden])', { timeout: 20_000 });
    expect(await text(frame, 'plan-text')).toMatch(/^Dry run: would rollback A\/B test router-ab: split /);
    // The plan changed nothing, and focus sits on Cancel (a stray Enter does not confirm).
    expect(await split()).toEqual({ '1.0.0': 50, '1.1.0': 50 });
    expect(await frame.evaluate(() => (document.activeElement as HTMLElement)?.dataset.testid)).toBe('plan-cancel');
    expect((await tool('get_ab_test', { test: 'router-ab' })).state).toBe('running');
    await click(frame, '[data-testid="plan-confirm"]');
    await frame.waitForFunction(
      () => !/applying/.test(document.querySelector('[data-testid="action-status"]')?.textContent ?? ''),
      {
        timeout: 20_000,
      },
    );
    expect(await text(frame, 'action-status')).toMatch(/^Concluded: rollback A\/B test router-ab/);
    expect(await split()).toEqual({ '1.0.0': 100, '1.1.0': 0 });
    expect((await tool('get_ab_test', { test: 'router-ab' })).state).toBe('rolled_back');
    // The view follows: the report is read again after the action.
    await frame.waitForFunction(() => document.querySelector('[data-testid="state"]')?.textContent === 'rolled back', {
      timeout: 20_000,
    });
    expect(await text(frame, 'ended')).toBe('This test is rolled back: nothing left to decide.');
    expect(await frame.$eval('[data-testid="action-rollback"]', (e) => (e as HTMLElement).offsetParent)).toBeNull();
  }, 60_000);

  it('opened alone, offers the tests and endpoints; a split change waits for its confirmation', async () => {
    const endpoint = (await h.lib.endpoints.getEndpoint('ab-ep')).endpoint;
    await page.goto(h.dashboard.loginUrl(h.base));
    const frame = await appFrame();
    await frame.waitForSelector(`[data-testid="pick-test-router-ab"]`, { timeout: 30_000 });
    await click(frame, `[data-testid="pick-endpoint-${endpoint}"]`);
    const ids = Object.fromEntries(
      (await h.lib.endpoints.getEndpoint('ab-ep')).deployed.map((d) => [d.version, d.deployed_model_id]),
    );
    // The form is drawn with the first stats.
    await frame.waitForSelector(`[data-testid="split-${ids['1.1.0']}"]`, { timeout: 20_000 });
    const set = async (version: string, value: string) => {
      await frame.$eval(`[data-testid="split-${ids[version]}"]`, (e, v) => ((e as HTMLInputElement).value = v), value);
    };
    const split = async () =>
      Object.fromEntries(
        (await h.lib.endpoints.getEndpoint('ab-ep')).deployed.map((d) => [d.version, d.traffic_percent]),
      );
    // Shares that do not add up are refused in the page, before any call.
    await set('1.0.0', '70');
    await click(frame, '[data-testid="action-split"]');
    expect(await text(frame, 'action-status')).toBe('The shares add up to 70%, not 100%');
    await set('1.1.0', '30');
    await click(frame, '[data-testid="action-split"]');
    await frame.waitForSelector('[data-testid="plan"]:not([hidden])', { timeout: 20_000 });
    expect(await text(frame, 'plan')).toContain('Before: router 1.0.0 100%, router 1.1.0 0%');
    expect(await text(frame, 'plan')).toContain('After: router 1.0.0 70%, router 1.1.0 30%');
    await click(frame, '[data-testid="plan-cancel"]');
    expect(await text(frame, 'action-status')).toBe('Change split: cancelled, nothing changed.');
    expect(await split()).toEqual({ '1.0.0': 100, '1.1.0': 0 });
    await click(frame, '[data-testid="action-split"]');
    await frame.waitForSelector('[data-testid="plan"]:not([hidden])', { timeout: 20_000 });
    await click(frame, '[data-testid="plan-confirm"]');
    await frame.waitForFunction(
      () => !/applying/.test(document.querySelector('[data-testid="action-status"]')?.textContent ?? ''),
      {
        timeout: 20_000,
      },
    );
    expect(await split()).toEqual({ '1.0.0': 70, '1.1.0': 30 });
    await frame.waitForFunction(
      (id) => document.querySelector(`[data-testid="v-${id}-traffic"]`)?.textContent === '30%',
      { timeout: 20_000 },
      ids['1.1.0'],
    );
    // Nothing the browser complained about all along: no CSP refusal, no script error, no 404.
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});
