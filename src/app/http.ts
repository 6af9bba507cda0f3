// GET /dashboard in HTTP mode: the dashboard app for a plain browser, behind the server's auth token.
// The server prints the address with a one-time login token; opening it swaps the token for a
// session cookie (HttpOnly, SameSite=Strict) and redirects it out of the address bar. The page then
// calls /mcp as an MCP client with that cookie, which the server admits like the bearer token.
// The bearer header is accepted here too (and also earns a cookie), and a small form takes the
// token itself when the link is spent. Mounted after the Host/Origin checks, before the bearer one.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import express, { type Request, type Response, type Router } from 'express';

export const SESSION_COOKIE = 'vertex_mcp_dashboard';
const DEFAULT_SESSION_MS = 12 * 3600_000;
const DEFAULT_LOGIN_TTL_MS = 3600_000;
/** Browser sessions kept at once; the oldest goes first beyond it. */
const MAX_SESSIONS = 1000;

export interface DashboardOptions {
  /** The server's --auth-token. Without one the dashboard is as open as /mcp (loopback). */
  authToken?: string;
  /** How long a browser session lasts (default 12 hours). */
  sessionMs?: number;
  /** How long a printed login link stays usable, once (default 1 hour). */
  loginTtlMs?: number;
}

export interface Dashboard {
  /** GET /dashboard, POST /dashboard/login. */
  router: Router;
  /** Whether the request carries a live dashboard session cookie (admit it to /mcp like the bearer). */
  hasSession(req: Request): boolean;
  /** The address to print for `base` (e.g. http://127.0.0.1:8080): with a fresh one-time login token when a token is required. */
  loginUrl(base: string): string;
}

const FILES = ['host.html', 'dashboard.html'];
const CANDIDATES = ['../../app/', '../../dist/app/'].map((p) => new URL(p, import.meta.url));

/** The built host page and the Content-Security-Policy that admits exactly its and the app's inline code. */
async function loadPage(): Promise<{ html: string; csp: string }> {
  let lastErr: unknown;
  for (const dir of CANDIDATES) {
    try {
      const [host, app] = await Promise.all(FILES.map((f) => readFile(new URL(f, dir), 'utf8')));
      // The app runs in a srcdoc iframe, which inherits this page's policy: both files' hashes.
      const hashes = (tag: string) =>
        [host!, app!].flatMap((html) =>
          [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map(
            (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
          ),
        );
      const csp = [
        "default-src 'none'",
        `script-src ${hashes('script').join(' ')}`,
        `style-src ${hashes('style').join(' ')}`,
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "frame-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
      ].join('; ');
      return { html: host!, csp };
    } catch (err) {
      lastErr = err;
    }
  }
  throw new Error(`the dashboard is not built (dist/app/host.html): run npm run build (${String(lastErr)})`);
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The sign-in page: no script, one form posting the token. */
function loginPage(message: string, next: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>vertex-mcp dashboard: sign in</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em">
<h1>vertex-mcp dashboard</h1><p role="alert">${escapeHtml(message)}</p>
<form method="post" action="/dashboard/login?next=${encodeURIComponent(next)}">
<label>Auth token (--auth-token) <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form></body></html>`;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The query string without the login token, for the redirect after signing in. */
function without(req: Request, key: string): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(req.query)) if (k !== key && typeof v === 'string') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function dashboardRoutes(opts: DashboardOptions = {}): Dashboard {
  const sessionMs = opts.sessionMs ?? DEFAULT_SESSION_MS;
  const loginTtlMs = opts.loginTtlMs ?? DEFAULT_LOGIN_TTL_MS;
  const sessions = new Map<string, number>();
  const logins = new Map<string, number>();
  let page: Promise<{ html: string; csp: string }> | undefined;

  const live = (map: Map<string, number>, key: string | undefined) => {
    if (!key) return false;
    const until = map.get(key);
    if (until === undefined) return false;
    if (until < Date.now()) {
      map.delete(key);
      return false;
    }
    return true;
  };
  const hasSession = (req: Request) => live(sessions, cookieOf(req, SESSION_COOKIE));
  const bearerOk = (req: Request) =>
    Boolean(opts.authToken) && same(req.headers.authorization ?? '', `Bearer ${opts.authToken}`);
  const startSession = (res: Response) => {
    const id = randomBytes(32).toString('base64url');
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
    sessions.set(id, Date.now() + sessionMs);
    res.setHeader(
      'Set-Cookie',
      `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(sessionMs / 1000)}`,
    );
  };
  const common = (res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
  };
  const refuse = (res: Response, message: string, next: string) => {
    common(res);
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
    res.status(401).type('html').send(loginPage(message, next));
  };

  const router = express.Router();
  router.get('/dashboard', async (req: Request, res: Response) => {
    const login = typeof req.query.login === 'string' ? req.query.login : undefined;
    if (login !== undefined) {
      if (!live(logins, login)) {
        return refuse(
          res,
          'This login link was already used or has expired. Sign in with the auth token.',
          without(req, 'login'),
        );
      }
      logins.delete(login); // one time
      startSession(res);
      common(res);
      return res.redirect(303, `/dashboard${without(req, 'login')}`);
    }
    const open = !opts.authToken;
    const session = hasSession(req);
    if (!open && !session && !bearerOk(req)) {
      return refuse(
        res,
        'Sign in: open the address the server printed, or give its auth token.',
        without(req, 'login'),
      );
    }
    // The page's own /mcp calls carry no bearer: a bearer-authenticated visit gets a cookie for them.
    if (!open && !session) startSession(res);
    try {
      page ??= loadPage();
      const { html, csp } = await page;
      common(res);
      res.setHeader('Content-Security-Policy', csp);
      res.type('html').send(html);
    } catch (err) {
      page = undefined;
      res
        .status(500)
        .type('text')
        .send(String((err as Error).message));
    }
  });
  router.post(
    '/dashboard/login',
    express.urlencoded({ extended: false, limit: '4kb' }),
    (req: Request, res: Response) => {
      const next = typeof req.query.next === 'string' && req.query.next.startsWith('?') ? req.query.next : '';
      const token = typeof req.body?.token === 'string' ? req.body.token : '';
      if (!opts.authToken || !same(token, opts.authToken)) return refuse(res, 'Wrong token.', next);
      startSession(res);
      common(res);
      res.redirect(303, `/dashboard${next}`);
    },
  );

  return {
    router,
    hasSession,
    loginUrl(base: string) {
      const url = `${base.replace(/\/+$/, '')}/dashboard`;
      if (!opts.authToken) return url;
      const token = randomBytes(24).toString('base64url');
      logins.set(token, Date.now() + loginTtlMs);
      return `${url}?login=${token}`;
    },
  };
}
