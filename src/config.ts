// The server's configuration, from flags and their environment twins, validated in one place.
// A bad value is one line naming the flag and what it accepts (the CLI exits with code 2).
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseFaults } from './emulator/faults.js';
import { DEFAULT_LOCATION, EMULATOR_PROJECT } from './lib/config.js';
import { VertexMcpError } from './lib/errors.js';
import { loadPriceTable } from './lib/monitoring/prices.js';
import { TOOLSETS } from './tools/define.js';

const list = z
  .string()
  .optional()
  .transform((s) =>
    s
      ? s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : undefined,
  );

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off', ''];
/**
 * A boolean flag: `true` when given bare on the command line, or a string from the flag's value or
 * its environment twin (VERTEX_MCP_READ_ONLY=false is false). Anything else is an error.
 */
const bool = z
  .union([z.boolean(), z.string()])
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || typeof v === 'boolean') return v === true;
    const s = v.trim().toLowerCase();
    if (TRUE.includes(s)) return true;
    if (FALSE.includes(s)) return false;
    ctx.addIssue({
      code: 'custom',
      message: `expected true or false (also 1/0, yes/no, on/off), got ${JSON.stringify(v.slice(0, 40))}`,
    });
    return z.NEVER;
  });

const port = z.coerce
  .number({ error: 'expected a port number, 0-65535' })
  .int('expected a port number, 0-65535')
  .min(0, 'expected a port number, 0-65535')
  .max(65535, 'expected a port number, 0-65535');

export const RawConfig = z.object({
  backend: z.enum(['emulator', 'vertex']).optional(),
  project: z.string().min(1).optional(),
  location: z
    .string()
    .regex(/^[a-z]+-[a-z]+\d+$/, 'a Vertex region such as us-central1')
    .default(DEFAULT_LOCATION),
  stagingBucket: z
    .string()
    .regex(/^gs:\/\/[a-z0-9][a-z0-9._-]+\/?$/, 'a gs://bucket URI')
    .optional(),
  dataDir: z.string().min(1).default(path.join(os.homedir(), '.vertex-mcp')),
  // Checked only in the modes that use it (parseConfig).
  emulatorEndpoint: z.string().optional(),
  emulatorToken: z.string().min(16, 'at least 16 characters').optional(),
  faults: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        parseFaults(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^--faults /, '') });
      }
    }),
  toolsets: list.pipe(z.array(z.enum([...TOOLSETS, 'all'])).optional()),
  tools: list,
  excludeTools: list,
  readOnly: bool,
  http: bool,
  // --host, --port, --auth-token, --max-sessions, --session-idle-timeout: HttpConfig, checked only
  // with --http, so a stray environment value cannot stop a stdio server.
  allowUnauthenticatedNetwork: bool,
  allowedHosts: list,
  allowPath: list,
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  prices: z
    .string()
    .min(1)
    .optional()
    .superRefine((file, ctx) => {
      if (!file) return;
      try {
        loadPriceTable(file);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: e instanceof VertexMcpError ? e.text : (e as Error).message });
      }
    }),
  alertInterval: z.coerce.number().int().min(0).max(86_400).default(60),
});
/** Settings that only matter with --http. */
const HttpConfig = z.object({
  host: z.string().min(1, 'a host name or address').default('127.0.0.1'),
  port: port.default(8080),
  authToken: z.string().min(16, 'at least 16 characters').optional(),
  maxSessions: z.coerce
    .number({ error: 'expected a whole number of sessions, 1-100000' })
    .int('expected a whole number of sessions, 1-100000')
    .min(1, 'expected a whole number of sessions, 1-100000')
    .max(100_000, 'expected a whole number of sessions, 1-100000')
    .default(100),
  sessionIdleTimeout: z.coerce
    .number({ error: 'expected seconds, 1-604800' })
    .int('expected seconds, 1-604800')
    .min(1, 'expected seconds, 1-604800')
    .max(604_800, 'expected seconds, 1-604800')
    .default(1800),
});

const EmulatorEndpoint = z
  .string()
  .regex(/^[\w.-]+:\d+(,\d+)?$/, 'host:grpcPort or host:grpcPort,gcsPort (as `vertex-mcp emulator` prints)')
  .refine(
    (v) =>
      v
        .split(':')[1]!
        .split(',')
        .every((p) => Number(p) >= 1 && Number(p) <= 65535),
    'ports must be 1-65535',
  );

export type Config = z.infer<typeof RawConfig> &
  z.infer<typeof HttpConfig> & {
    backend: 'emulator' | 'vertex';
    allowPath: string[];
  };

/** A bad flag or environment value: the CLI prints it on one line and exits with code 2. */
export class ConfigError extends Error {}

const flagOf = (key: PropertyKey | undefined) =>
  `--${String(key ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function check<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new ConfigError(`${flagOf(issue.path[0])}: ${issue.message}`);
}

/** Loopback addresses and names: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return (
    h === 'localhost' ||
    /^127(\.\d{1,3}){3}$/.test(h) ||
    h === '::1' ||
    /^(0{1,4}:){7}0{0,3}1$/.test(h) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(h)
  );
}

/**
 * Validates raw options (flags and environment twins) for `serve`, or for `emulator` (where
 * `--port` is the gRPC port). Throws ConfigError with one line naming the flag and what it accepts.
 */
export function parseConfig(raw: Record<string, unknown>, mode: 'serve' | 'emulator' = 'serve'): Config {
  const c = check(RawConfig, raw);
  const backend = mode === 'emulator' ? 'emulator' : (c.backend ?? (c.project ? 'vertex' : 'emulator'));
  if (backend === 'vertex' && !c.project) {
    throw new ConfigError('--project: vertex mode needs a Google Cloud project (--project or GOOGLE_CLOUD_PROJECT)');
  }
  if (backend === 'emulator' && mode === 'serve' && c.emulatorEndpoint !== undefined) {
    check(z.object({ emulatorEndpoint: EmulatorEndpoint }), { emulatorEndpoint: c.emulatorEndpoint });
  }
  // Ports and HTTP settings are checked only where they are used.
  const http =
    mode === 'emulator'
      ? { ...HttpConfig.parse({}), port: check(z.object({ port: port.default(0) }), { port: raw.port }).port }
      : c.http
        ? check(HttpConfig, raw)
        : HttpConfig.parse({});
  if (mode === 'serve' && c.http && !isLoopbackHost(http.host) && !http.authToken && !c.allowUnauthenticatedNetwork) {
    throw new ConfigError(
      `--host ${http.host}: HTTP beyond loopback needs --auth-token <token> (VERTEX_MCP_AUTH_TOKEN); to serve anyone who can reach the port without one, add --allow-unauthenticated-network`,
    );
  }
  // Client configs (mcp.json) often carry "~/..." in env values, which no shell expands.
  const expanded = c.dataDir.startsWith('~/') ? path.join(os.homedir(), c.dataDir.slice(2)) : c.dataDir;
  const dataDir = expanded === ':memory:' ? expanded : path.resolve(expanded);
  return {
    ...c,
    ...http,
    backend,
    project: backend === 'vertex' ? c.project : EMULATOR_PROJECT,
    dataDir,
    // What the user named, else the working directory; never the data directory (the server's own
    // state: the library refuses paths inside it whatever the roots).
    allowPath: (c.allowPath ?? [process.cwd()]).map((p) => path.resolve(p)),
  };
}
