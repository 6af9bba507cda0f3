#!/usr/bin/env node
// vertex-mcp [serve|emulator|demo]: flags with environment twins, validated by config.ts.
// In emulator mode the embedded emulator starts lazily, on the first call that needs Vertex AI, with
// a fresh secret that only this server knows (its ports refuse everyone else).
import { randomBytes } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { type Config, ConfigError, parseConfig } from './config.js';
import { parseFaults } from './emulator/faults.js';
import type { Emulator } from './emulator/index.js';
import { type BackendConfig, createLogger, type Logger, VertexMcpError } from './lib/index.js';
import { VERSION } from './version.js';

/** A boolean flag with an environment twin: bare means true; a value (or the twin) says which. */
const boolOption = (flags: string, description: string, env: string) =>
  new Option(`${flags} [bool]`, `${description} (true|false)`).env(env);

function commonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--data-dir <dir>', 'emulator state directory, or :memory:').env('VERTEX_MCP_HOME'))
    .addOption(
      new Option(
        '--faults <spec>',
        'emulator fault injection, e.g. unavailable=0.1,latency=50ms; per deployed model (display name): latency[router@1.1.0]=40ms,errors[router@1.1.0]=0.2',
      ).env('VERTEX_MCP_FAULTS'),
    )
    .addOption(new Option('--log-level <level>', 'debug|info|warn|error|silent').env('VERTEX_MCP_LOG_LEVEL'));
}

const emulatorTokenOption = (description: string) =>
  new Option('--emulator-token <secret>', description).env('VERTEX_MCP_EMULATOR_TOKEN');

function serveOptions(cmd: Command): Command {
  return commonOptions(cmd)
    .addOption(
      new Option('--backend <kind>', 'emulator|vertex (default: vertex when a project is set)').env(
        'VERTEX_MCP_BACKEND',
      ),
    )
    .addOption(new Option('--project <id>', 'Google Cloud project (vertex mode)').env('GOOGLE_CLOUD_PROJECT'))
    .addOption(new Option('--location <region>', 'Vertex AI region').env('GOOGLE_CLOUD_LOCATION'))
    .addOption(
      new Option('--staging-bucket <gs-uri>', 'bucket for datasets and artifacts').env('VERTEX_MCP_STAGING_BUCKET'),
    )
    .addOption(
      new Option('--emulator-endpoint <host:port>', 'use a running `vertex-mcp emulator` (host:grpcPort,gcsPort)').env(
        'VERTEX_MCP_EMULATOR_ENDPOINT',
      ),
    )
    .addOption(
      emulatorTokenOption(
        'the token a standalone emulator requires (with --emulator-endpoint); the embedded one makes its own',
      ),
    )
    .addOption(new Option('--toolsets <list>', 'comma-separated toolsets, or all').env('VERTEX_MCP_TOOLSETS'))
    .addOption(new Option('--tools <list>', 'extra tools to enable by name').env('VERTEX_MCP_TOOLS'))
    .addOption(new Option('--exclude-tools <list>', 'tools to disable by name').env('VERTEX_MCP_EXCLUDE_TOOLS'))
    .addOption(
      boolOption('--read-only', 'only tools that change nothing (wins over the others)', 'VERTEX_MCP_READ_ONLY'),
    )
    .addOption(new Option('--allow-path <list>', 'directories local paths may use').env('VERTEX_MCP_ALLOW_PATH'))
    .addOption(boolOption('--http', 'serve Streamable HTTP instead of stdio', 'VERTEX_MCP_HTTP'))
    .addOption(new Option('--host <host>', 'HTTP bind address (default 127.0.0.1)').env('VERTEX_MCP_HOST'))
    .addOption(new Option('--port <port>', 'HTTP port (0: a free one; default 8080)').env('VERTEX_MCP_PORT'))
    .addOption(
      new Option('--auth-token <token>', 'require Authorization: Bearer <token> on HTTP').env('VERTEX_MCP_AUTH_TOKEN'),
    )
    .addOption(
      boolOption(
        '--allow-unauthenticated-network',
        'serve HTTP on a non-loopback --host without --auth-token: anyone who can reach the port may call every tool',
        'VERTEX_MCP_ALLOW_UNAUTHENTICATED_NETWORK',
      ),
    )
    .addOption(
      new Option('--max-sessions <n>', 'HTTP sessions open at once; more get 503 (default 100)').env(
        'VERTEX_MCP_MAX_SESSIONS',
      ),
    )
    .addOption(
      new Option('--session-idle-timeout <seconds>', 'close HTTP sessions idle this long (default 1800)').env(
        'VERTEX_MCP_SESSION_IDLE_TIMEOUT',
      ),
    )
    .addOption(
      new Option('--allowed-hosts <list>', 'extra Host/Origin names accepted on HTTP').env('VERTEX_MCP_ALLOWED_HOSTS'),
    )
    .addOption(new Option('--prices <file>', 'price table overrides (JSON)').env('VERTEX_MCP_PRICES'))
    .addOption(
      new Option('--alert-interval <seconds>', 'background alert evaluation interval; 0 = off').env(
        'VERTEX_MCP_ALERT_INTERVAL',
      ),
    );
}

async function startEmbedded(config: Config, log: Logger, grpcPort = 0, token?: string): Promise<Emulator> {
  const { startEmulator } = await import('./emulator/index.js');
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
  const { DataDirLockedError } = await import('./emulator/lock.js');
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

async function serve(opts: Record<string, unknown>): Promise<void> {
  const config = parseConfig(opts);
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
    close = http.close;
  } else {
    const { serveStdio } = await import('./server.js');
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

async function emulator(opts: Record<string, unknown>): Promise<void> {
  const config = parseConfig(opts, 'emulator');
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

export function program(): Command {
  const p = new Command('vertex-mcp')
    .description('MCP server for the Vertex AI model lifecycle, with an embedded Vertex AI emulator')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError(false);
  serveOptions(p.command('serve', { isDefault: true }).description('run the MCP server (stdio by default)')).action(
    serve,
  );
  commonOptions(p.command('emulator').description('run the Vertex AI emulator standalone'))
    .option('--port <port>', 'gRPC port (0: a free one)', '0')
    .addOption(
      emulatorTokenOption(
        'require Authorization: Bearer <secret> on both ports (default: serve anyone who can reach them)',
      ),
    )
    .action(emulator);
  p.command('demo')
    .description('drive the whole lifecycle through MCP against the emulator and print each step')
    .action(async () => (await import('./demo.js')).runDemo());
  return p;
}

program()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    process.stderr.write(`vertex-mcp: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
