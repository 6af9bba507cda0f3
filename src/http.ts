// Streamable HTTP transport: one MCP server per session over a shared library, bound to loopback
// by default, with Host/Origin checks against DNS rebinding and an optional bearer token.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { NextFunction, Request, Response } from 'express';
import { silentLogger } from './lib/index.js';
import { createMetricsRegistry } from './lib/monitoring/prometheus.js';
import { predictionSnapshots } from './metrics.js';
import { createServer, libraryFor, type ServerConfig, type VertexMcpServer } from './server.js';

export interface HttpOptions {
  host: string;
  port: number;
  authToken?: string;
  /** Extra Host/Origin names to accept besides loopback and `host`. */
  allowedHosts?: string[];
  /** Sessions idle longer than this are closed. */
  sessionIdleMs?: number;
}

export interface HttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  mcp: VertexMcpServer;
  lastSeen: number;
}

const rpcError = (res: Response, status: number, code: number, message: string) =>
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });

export async function serveHttp(config: ServerConfig, opts: HttpOptions): Promise<HttpServer> {
  const log = config.log ?? silentLogger;
  const lib = config.lib ?? libraryFor(config);
  if (!config.lib && config.alertIntervalSeconds) lib.monitoring.startBackground(config.alertIntervalSeconds * 1000);
  const metrics = await createMetricsRegistry({ collectPredictions: () => predictionSnapshots(lib) });
  config = { ...config, onToolCall: (tool, outcome, seconds) => metrics.observeToolCall(tool, outcome, seconds) };
  const hostnames = [...new Set(['127.0.0.1', 'localhost', '[::1]', opts.host, ...(opts.allowedHosts ?? [])])];
  const app = createMcpExpressApp({ host: opts.host, allowedHosts: hostnames });
  const sessions = new Map<string, Session>();

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
        return rpcError(res, 403, -32000, `Forbidden: Origin ${origin} is not allowed`);
      }
    }
    next();
  });

  if (opts.authToken) {
    const expected = Buffer.from(`Bearer ${opts.authToken}`);
    app.use((req: Request, res: Response, next: NextFunction) => {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return rpcError(res, 401, -32001, 'Unauthorized: send Authorization: Bearer <token> (the --auth-token value)');
      }
      next();
    });
  }

  app.all('/mcp', async (req: Request, res: Response) => {
    const id = req.headers['mcp-session-id'];
    const existing = typeof id === 'string' ? sessions.get(id) : undefined;
    if (existing) {
      existing.lastSeen = Date.now();
      return existing.transport.handleRequest(req, res, req.body);
    }
    if (id !== undefined) return rpcError(res, 404, -32001, `Session ${String(id)} not found: initialize again`);
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return rpcError(res, 400, -32000, 'Bad Request: no session; the first request must be initialize');
    }
    const mcp = createServer({ ...config, lib });
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
    await mcp.server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });

  // Prometheus exposition: the server's own tool calls and per-endpoint, per-version predictions.
  app.get('/metrics', async (_req: Request, res: Response) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.metrics());
  });

  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ ok: true, sessions: sessions.size });
  });

  // Malformed JSON: a JSON-RPC parse error rather than express's HTML page.
  app.use((err: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (err.type === 'entity.parse.failed')
      return rpcError(res, 400, -32700, 'Parse error: the body is not valid JSON');
    if (res.headersSent) return next(err);
    log.error(`http: ${err.stack ?? err.message}`);
    return rpcError(res, 500, -32603, 'Internal error');
  });

  const idleMs = opts.sessionIdleMs ?? 30 * 60_000;
  const sweeper = setInterval(
    () => {
      for (const [sid, s] of sessions) {
        if (Date.now() - s.lastSeen > idleMs) {
          sessions.delete(sid);
          void s.transport.close();
        }
      }
    },
    Math.min(idleMs, 60_000),
  );
  sweeper.unref();

  const http: Server = await new Promise((resolve, reject) => {
    const srv = app.listen(opts.port, opts.host, () => resolve(srv));
    srv.once('error', reject);
  });
  const port = (http.address() as { port: number }).port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${port}/mcp`,
    port,
    async close() {
      clearInterval(sweeper);
      await Promise.allSettled([...sessions.values()].map((s) => s.transport.close()));
      sessions.clear();
      await new Promise<void>((r) => http.close(() => r()));
      http.closeAllConnections?.();
      if (!config.lib) await lib.close();
    },
  };
}
