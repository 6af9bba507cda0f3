// Streamable HTTP transport: one MCP server per session over a shared library, bound to loopback
// by default. Host/Origin checks guard against DNS rebinding (they are not authentication: that is
// the bearer token, required beyond loopback unless explicitly waived). Bodies are limited (413),
// sessions are capped (503) and expire when idle; /healthz says only that the server is up.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import { hostHeaderValidation } from '@modelcontextprotocol/sdk/server/middleware/hostHeaderValidation.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import { dashboardRoutes } from './app/http.js';
import { ConfigError, isLoopbackHost } from './config.js';
import { silentLogger } from './lib/index.js';
import { createMetricsRegistry } from './lib/monitoring/prometheus.js';
import { predictionSnapshots } from './metrics.js';
import {
  createServer,
  libraryFor,
  type ServerConfig,
  startBackground,
  tasksFor,
  type VertexMcpServer,
} from './server.js';

export interface HttpOptions {
  host: string;
  port: number;
  authToken?: string;
  /** Extra Host/Origin names to accept besides loopback and `host`. */
  allowedHosts?: string[];
  /** Sessions idle longer than this are closed (default 30 minutes). */
  sessionIdleMs?: number;
  /** Sessions open at once; an initialize beyond them is answered 503 (default 100). */
  maxSessions?: number;
  /** Largest request body, in bytes; larger ones are answered 413 (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /**
   * Serve a non-loopback `host` without `authToken`. Without it, serveHttp refuses to start:
   * anyone who can reach the port could call every tool (the Host check is not authentication).
   */
  allowUnauthenticatedNetwork?: boolean;
}

export interface HttpServer {
  url: string;
  port: number;
  /** Whether the server accepts unauthenticated callers from beyond this machine. */
  unauthenticatedNetwork: boolean;
  /** GET /dashboard's address, with a one-time login token when a token is required. */
  dashboardUrl: string;
  /** Another such address, with a fresh one-time token. */
  dashboardLogin(): string;
  close(): Promise<void>;
}

/** 2 MB: just above predict's 1.5 MB of instances per request plus the JSON-RPC envelope. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
export const DEFAULT_MAX_SESSIONS = 100;

const mb = (bytes: number) => `${Number((bytes / (1024 * 1024)).toFixed(2))} MB`;

interface Session {
  transport: StreamableHTTPServerTransport;
  mcp: VertexMcpServer;
  lastSeen: number;
}

const rpcError = (res: Response, status: number, code: number, message: string) =>
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });

export async function serveHttp(config: ServerConfig, opts: HttpOptions): Promise<HttpServer> {
  const unauthenticatedNetwork = !isLoopbackHost(opts.host) && !opts.authToken;
  if (unauthenticatedNetwork && !opts.allowUnauthenticatedNetwork) {
    throw new ConfigError(
      `--host ${opts.host}: HTTP beyond loopback needs --auth-token <token> (VERTEX_MCP_AUTH_TOKEN); to serve anyone who can reach the port without one, add --allow-unauthenticated-network`,
    );
  }
  const log = config.log ?? silentLogger;
  const maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const maxBodyBytes = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const idleMs = opts.sessionIdleMs ?? 30 * 60_000;
  const lib = config.lib ?? libraryFor(config);
  if (!config.lib) startBackground(lib, config);
  const metrics = await createMetricsRegistry({ collectPredictions: () => predictionSnapshots(lib) });
  config = { ...config, onToolCall: (tool, outcome, seconds) => metrics.observeToolCall(tool, outcome, seconds) };
  // One set of MCP tasks for every session: a task outlives the session that started it.
  const tasks = config.tasks ?? tasksFor(lib, config);
  // Tasks a previous run left working are re-attached to their jobs now, not on the first request.
  if (!config.tasks) setTimeout(() => tasks.warm(), 100).unref();
  const hostnames = [...new Set(['127.0.0.1', 'localhost', '[::1]', opts.host, ...(opts.allowedHosts ?? [])])];
  const app = express();
  app.disable('x-powered-by');
  const sessions = new Map<string, Session>();
  /** Sessions being initialized: they count against the cap before they have an id. */
  let opening = 0;

  // Liveness only: no session counts, versions or backend. It answers before the Host check and
  // the token (probes send neither), so it must reveal nothing.
  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ ok: true });
  });

  // DNS rebinding: a page whose name resolves to this machine must not reach the server.
  app.use(hostHeaderValidation(hostnames));

  // Browsers send Origin; a page from another site must not drive a local server.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin) {
      let host = '';
      try {
        host = new URL(origin).hostname;
      } catch {}
      const bracketed = host.includes(':') ? `[${host}]` : host;
      if (!hostnames.includes(host) && !hostnames.includes(bracketed)) {
        return rpcError(res, 403, -32000, `Forbidden: Origin ${origin.slice(0, 200)} is not allowed`);
      }
    }
    next();
  });

  // GET /dashboard (the MCP App for a plain browser): after the Host/Origin checks, before the
  // bearer check, which admits the dashboard's session cookie as well.
  const dashboard = dashboardRoutes({ authToken: opts.authToken });
  app.use(dashboard.router);

  if (opts.authToken) {
    const expected = Buffer.from(`Bearer ${opts.authToken}`);
    app.use((req: Request, res: Response, next: NextFunction) => {
      if (dashboard.hasSession(req)) return next();
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return rpcError(res, 401, -32001, 'Unauthorized: send Authorization: Bearer <token> (the --auth-token value)');
      }
      next();
    });
  }

  // After the checks above, so a refused request's body is never read.
  app.use(express.json({ limit: maxBodyBytes }));

  const expire = () => {
    for (const [sid, s] of sessions) {
      if (Date.now() - s.lastSeen > idleMs) {
        sessions.delete(sid);
        void s.transport.close();
      }
    }
  };

  app.all('/mcp', async (req: Request, res: Response) => {
    const id = req.headers['mcp-session-id'];
    const existing = typeof id === 'string' ? sessions.get(id) : undefined;
    if (existing) {
      existing.lastSeen = Date.now();
      return existing.transport.handleRequest(req, res, req.body);
    }
    if (id !== undefined) {
      return rpcError(res, 404, -32001, `Session ${String(id).slice(0, 100)} not found: initialize again`);
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return rpcError(res, 400, -32000, 'Bad Request: no session; the first request must be initialize');
    }
    if (sessions.size + opening >= maxSessions) expire();
    if (sessions.size + opening >= maxSessions) {
      res.setHeader('Retry-After', String(Math.min(60, Math.ceil(idleMs / 1000))));
      return rpcError(
        res,
        503,
        -32000,
        `Service Unavailable: ${maxSessions} sessions are open, the most this server allows (--max-sessions); end one (DELETE /mcp with its Mcp-Session-Id) or retry once idle sessions expire`,
      );
    }
    opening++;
    const mcp = createServer({ ...config, lib, tasks });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        sessions.set(sid, { transport, mcp, lastSeen: Date.now() });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      void mcp.close();
    };
    try {
      await mcp.server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } finally {
      opening--;
      // An initialize that did not open a session leaves nothing behind.
      if (!transport.sessionId || !sessions.has(transport.sessionId)) void mcp.close();
    }
  });

  // Prometheus exposition: the server's own tool calls and per-endpoint, per-version predictions.
  app.get('/metrics', async (_req: Request, res: Response) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.metrics());
  });

  // Express's own errors, answered as JSON-RPC errors (never a stack, never an HTML page).
  app.use(
    (
      err: Error & { type?: string; status?: number; length?: number },
      _req: Request,
      res: Response,
      next: NextFunction,
    ) => {
      if (res.headersSent) return next(err);
      if (err.type === 'entity.parse.failed') {
        return rpcError(res, 400, -32700, 'Parse error: the body is not valid JSON');
      }
      if (err.type === 'entity.too.large') {
        const size = typeof err.length === 'number' && Number.isFinite(err.length) ? `(${mb(err.length)}) ` : '';
        return rpcError(
          res,
          413,
          -32000,
          `Payload Too Large: the request body ${size}is over this server's ${mb(maxBodyBytes)} limit (predict takes up to 1.5 MB of instances per request): send less per request`,
        );
      }
      if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
        return rpcError(res, err.status, -32600, `Bad Request: ${err.message.slice(0, 200)}`);
      }
      log.error(`http: ${err.stack ?? err.message}`);
      return rpcError(res, 500, -32603, 'Internal error');
    },
  );

  const sweeper = setInterval(expire, Math.min(idleMs, 60_000));
  sweeper.unref();

  const http: Server = await new Promise((resolve, reject) => {
    const srv = app.listen(opts.port, opts.host, (err?: Error) => (err ? reject(err) : resolve(srv)));
  });
  const port = (http.address() as { port: number }).port;
  // The owner of the library warms it once it listens: the first session's first call is then fast.
  if (!config.lib) void lib.clients.prewarm().catch(() => {});
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${port}/mcp`,
    port,
    unauthenticatedNetwork,
    dashboardUrl: dashboard.loginUrl(`http://${shownHost}:${port}`),
    dashboardLogin: () => dashboard.loginUrl(`http://${shownHost}:${port}`),
    async close() {
      clearInterval(sweeper);
      await Promise.allSettled([...sessions.values()].map((s) => s.transport.close()));
      sessions.clear();
      await new Promise<void>((r) => http.close(() => r()));
      http.closeAllConnections?.();
      if (!config.tasks) await tasks.close();
      if (!config.lib) await lib.close();
    },
  };
}
