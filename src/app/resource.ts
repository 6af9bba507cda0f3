// The dashboard's ui:// resource: one self-contained HTML file built by scripts/bundle-app.ts
// (dist/app/dashboard.html), read from disk on first request. Registered with the SDK's own
// registerResource (what ext-apps' registerAppResource wraps) so the server's start path does not
// load the ext-apps package.
import { readFile } from 'node:fs/promises';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { APP_MIME_TYPE, DASHBOARD_URI } from './meta.js';

/**
 * Where the built file is, relative to this module: dist/src/app/ and dist/bundle/bin/ (the CLI
 * bundle) are both two folders under dist/; from sources (tests) it is under dist/ beside src/.
 */
const CANDIDATES = ['../../app/dashboard.html', '../../dist/app/dashboard.html'].map(
  (p) => new URL(p, import.meta.url),
);

let cached: Promise<string> | undefined;

/** The dashboard's HTML; rejects with how to build it when it is missing. */
export function dashboardHtml(): Promise<string> {
  cached ??= (async () => {
    for (const url of CANDIDATES) {
      try {
        return await readFile(url, 'utf8');
      } catch {
        // next candidate
      }
    }
    throw new Error('the dashboard app is not built (dist/app/dashboard.html): run npm run build');
  })();
  // A failed read is retried next time (the build may have run since).
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

export function registerDashboard(server: McpServer): void {
  server.registerResource(
    'dashboard',
    DASHBOARD_URI,
    {
      title: 'Endpoints and A/B tests dashboard',
      description:
        'MCP App: live endpoint stats (traffic, errors, latency, replicas, alerts) and A/B tests (estimates, intervals, progress, SRM, guardrails, verdict), with dry-run -> confirm actions',
      mimeType: APP_MIME_TYPE,
      // No csp: the app makes no network request of its own (it calls tools through the host).
      _meta: { ui: { prefersBorder: false } },
    },
    async () => ({
      contents: [{ uri: DASHBOARD_URI, mimeType: APP_MIME_TYPE, text: await dashboardHtml() }],
    }),
  );
}
