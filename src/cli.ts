#!/usr/bin/env node
// vertex-mcp [serve|emulator|demo]: flags with environment twins, defined once in flags.ts (parser,
// help, README table) and validated by config.ts.
// In emulator mode the embedded emulator starts lazily, on the first call that needs Vertex AI, with
// a fresh secret that only this server knows (its ports refuse everyone else).
// Start-up cost matters (an MCP client spawns this for every session): the only static imports are
// the flag table and node built-ins; the server, the validation (zod) and the emulator load on demand.
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import type { Emulator } from './emulator/index.js';
import { ConfigError, helpText, type ParsedArgs, parseArgv } from './flags.js';
import type { BackendConfig } from './lib/config.js';
import { createLogger, type Logger } from './lib/log.js';
import { VERSION } from './version.js';

async function startEmbedded(config: Config, log: Logger, grpcPort = 0, token?: string): Promise<Emulator> {
  const [{ startEmulator }, { parseFaults }] = await Promise.all([
    import('./emulator/index.js'),
    import('./emulator/faults.js'),
  ]);
  const emu = await startEmulator({
    dataDir: config.dataDir,
    grpcPort,
    faults: parseFaults(config.faults),
    log: (m) => log.info(m),
    ...(token ? { token } : {}),
  });
  log.info(`emulator: gRPC on ${emu.host}:${emu.grpcPort}, data in ${config.dataDir}`);
  return emu;
}

/**
 * Why the embedded emulator could not start, as an agent should read it: a data directory that
 * another emulator holds, or one that cannot be used, is a precondition to fix, not an internal error.
 */
async function startFailure(err: unknown, dataDir: string): Promise<unknown> {
  const [{ DataDirLockedError }, { VertexMcpError }] = await Promise.all([
    import('./emulator/lock.js'),
    import('./lib/errors.js'),
  ]);
  if (err instanceof DataDirLockedError) return new VertexMcpError('FAILED_PRECONDITION', err.message);
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code && ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EEXIST', 'EISDIR', 'SQLITE_CANTOPEN'].includes(code)) {
    return new VertexMcpError(
      'FAILED_PRECONDITION',
      `the embedded emulator cannot use its data directory ${dataDir}: ${(err as Error).message}`,
      'Fix its permissions or free space, or pass another --data-dir (VERTEX_MCP_HOME)',
    );
  }
  return err;
}

/** The backend plus a stop function for whatever it started. */
function backendFor(config: Config, log: Logger): { backend: BackendConfig; stop: () => Promise<void> } {
  if (config.backend === 'vertex') {
    return {
      backend: {
        kind: 'vertex',
        project: config.project!,
        location: config.location,
        stagingBucket: config.stagingBucket,
      },
      stop: async () => {},
    };
  }
  let started: Promise<Emulator> | undefined;
  const endpoint = async () => {
    if (config.emulatorEndpoint) {
      const [host, ports] = config.emulatorEndpoint.split(':');
      const [grpcPort, httpPort] = ports!.split(',').map(Number);
      return {
        host: host!,
        grpcPort: grpcPort!,
        ...(httpPort ? { httpPort } : {}),
        ...(config.emulatorToken ? { token: config.emulatorToken } : {}),
      };
    }
    // A fresh secret per start: the emulator's ports serve this server and no one else.
    // A failed start (e.g. the data directory is locked by another emulator) is retried next call.
    started ??= startEmbedded(config, log, 0, config.emulatorToken ?? randomBytes(32).toString('base64url')).catch(
      async (err) => {
        started = undefined;
        throw await startFailure(err, config.dataDir);
      },
    );
    return started;
  };
  const stop = async () => {
    if (started) await (await started.catch(() => undefined))?.close();
  };
  return { backend: { kind: 'emulator', endpoint, project: config.project!, location: config.location }, stop };
}

async function serve(args: ParsedArgs): Promise<void> {
  // Loaded side by side: the server (both transports build on it), the validation, the catalogue.
  const server = import('./server.js');
  server.catch(() => {}); // a bad flag may end the process first
  const [{ parseConfig, checkToolNames }, { catalogue }] = await Promise.all([
    import('./config.js'),
    import('./tools/index.js'),
  ]);
  const config = parseConfig(args.values, 'serve', args.fromArgv);
  checkToolNames(
    config,
    catalogue().map((t) => t.name),
    args.fromArgv,
  );
  const log = createLogger(config.logLevel);
  const { backend, stop } = backendFor(config, log);
  const serverConfig = {
    backend,
    log,
    allowedRoots: config.allowPath,
    dataDir: config.dataDir,
    prices: config.prices,
    alertIntervalSeconds: config.alertInterval,
    selection: {
      toolsets: config.toolsets,
      tools: config.tools,
      excludeTools: config.excludeTools,
      readOnly: config.readOnly,
    },
  };
  let close: () => Promise<void>;
  if (config.http) {
    const { serveHttp } = await import('./http.js');
    const http = await serveHttp(serverConfig, {
      host: config.host,
      port: config.port,
      authToken: config.authToken,
      allowedHosts: config.allowedHosts,
      allowUnauthenticatedNetwork: config.allowUnauthenticatedNetwork,
      maxSessions: config.maxSessions,
      sessionIdleMs: config.sessionIdleTimeout * 1000,
    });
    if (http.unauthenticatedNetwork) {
      log.warn(
        `HTTP on ${config.host} without --auth-token (--allow-unauthenticated-network): anyone who can reach port ${http.port} may call every tool`,
      );
    }
    log.info(`vertex-mcp ${VERSION}: Streamable HTTP on ${http.url} (${config.backend})`);
    log.info(`dashboard: ${http.dashboardUrl}${config.authToken ? ' (the login token works once)' : ''}`);
    close = http.close;
  } else {
    const { serveStdio } = await server;
    const s = await serveStdio(serverConfig);
    close = s.close;
    process.stdin.once('end', () => void shutdown());
  }
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await close().catch(() => {});
    await stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

async function emulator(args: ParsedArgs): Promise<void> {
  const { parseConfig } = await import('./config.js');
  const config = parseConfig(args.values, 'emulator', args.fromArgv);
  const log = createLogger(config.logLevel);
  // Standalone, it serves any client that can reach it, unless given a token to require.
  const emu = await startEmbedded(config, log, config.port, config.emulatorToken);
  // Machine-readable: the one line scripts read to find the ports (never the token itself).
  process.stdout.write(
    `${JSON.stringify({
      grpc: `${emu.host}:${emu.grpcPort}`,
      gcs: `http://${emu.host}:${emu.httpPort}`,
      endpoint: `${emu.host}:${emu.grpcPort},${emu.httpPort}`,
      data_dir: config.dataDir,
      token_required: Boolean(emu.token),
    })}\n`,
  );
  const shutdown = () => void emu.close().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgv(argv);
  if (args.help) {
    process.stdout.write(helpText(args.topLevel ? 'top' : args.command, VERSION));
    return;
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (args.command === 'emulator') return emulator(args);
  if (args.command === 'demo') return (await import('./demo.js')).runDemo();
  return serve(args);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`vertex-mcp: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
