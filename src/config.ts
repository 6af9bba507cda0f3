// The server's configuration, from flags and their environment twins, validated in one place.
// The schemas are generated from the flag table (flags.ts): each flag's kind, range, pattern and
// default are written there once. A bad value is one line naming the flag and what it accepts (the
// CLI exits with code 2).
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseFaults } from './emulator/faults.js';
import {
  type CommandName,
  ConfigError,
  type Flag,
  type FlagValues,
  flagsFor,
  type HttpFlagValues,
  keyOf,
} from './flags.js';
import { EMULATOR_PROJECT } from './lib/config.js';
import { VertexMcpError } from './lib/errors.js';
import { loadPriceTable } from './lib/monitoring/prices.js';

export { ConfigError } from './flags.js';

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

/** Checks that need more than a flag's kind: the problem, or undefined when the value is fine. */
const CHECKS: Record<NonNullable<Flag['check']>, (value: string) => string | undefined> = {
  faults(spec) {
    try {
      parseFaults(spec);
      return undefined;
    } catch (e) {
      return (e as Error).message.replace(/^--faults:? /, '');
    }
  },
  prices(file) {
    try {
      loadPriceTable(file);
      return undefined;
    } catch (e) {
      return e instanceof VertexMcpError ? e.text : (e as Error).message;
    }
  },
  'emulator-endpoint'(v) {
    if (!/^[\w.-]+:\d+(,\d+)?$/.test(v)) {
      return 'host:grpcPort or host:grpcPort,gcsPort (as `vertex-mcp emulator` prints)';
    }
    const ports = v.split(':')[1]!.split(',');
    return ports.every((p) => Number(p) >= 1 && Number(p) <= 65535) ? undefined : 'ports must be 1-65535';
  },
};

/** The zod schema of one flag, from its entry in the table. */
function schemaOf(f: Flag): z.ZodType {
  switch (f.kind) {
    case 'bool':
      return bool;
    case 'list':
      return list;
    case 'enum-list':
      return list.pipe(z.array(z.enum(f.choices as [string, ...string[]])).optional());
    case 'enum': {
      const e = z.enum(f.choices as [string, ...string[]]);
      return f.default === undefined ? e.optional() : e.default(String(f.default));
    }
    case 'int': {
      const [min, max, what] = f.range!;
      const msg = `expected ${what}, ${min}-${max}`;
      const n = z.coerce.number({ error: msg }).int(msg).min(min, msg).max(max, msg);
      return f.default === undefined ? n.optional() : n.default(Number(f.default));
    }
    case 'string': {
      let s = z.string();
      if (f.minLength) s = s.min(f.minLength[0], f.minLength[1]);
      if (f.pattern) s = s.regex(f.pattern[0], f.pattern[1]);
      const base = f.default === undefined ? s.optional() : s.default(String(f.default));
      const check = f.check && f.check !== 'emulator-endpoint' ? CHECKS[f.check] : undefined;
      if (!check) return base;
      return base.superRefine((v, ctx) => {
        const problem = v === undefined ? undefined : check(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      });
    }
  }
}

const objectOf = (flags: readonly Flag[]) =>
  z.object(Object.fromEntries(flags.map((f) => [keyOf(f.name), schemaOf(f)])));

/** serve's flags but the HTTP ones: always checked. */
const SERVE_FLAGS = flagsFor('serve').filter((f) => !f.httpOnly);
/** serve's HTTP flags: checked only with --http, so a stray environment value cannot stop a stdio server. */
const HTTP_FLAGS = flagsFor('serve').filter((f) => f.httpOnly);
const ServeSchema = objectOf(SERVE_FLAGS);
const HttpSchema = objectOf(HTTP_FLAGS);
const EmulatorSchema = objectOf(flagsFor('emulator'));

/** serve's values but the HTTP ones. */
type ServeValues = Omit<FlagValues<'serve'>, keyof HttpFlagValues>;

export type Config = Omit<FlagValues<'serve'>, 'backend' | 'project' | 'dataDir' | 'allowPath'> & {
  backend: 'emulator' | 'vertex';
  /** The Google Cloud project (vertex mode), or the emulator's own. */
  project: string;
  /** Absolute, or :memory:. */
  dataDir: string;
  allowPath: string[];
};

const flagOf = (key: PropertyKey | undefined) =>
  `--${String(key ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * How an error names a value: `--flag` when it came from the command line, `VARIABLE (--flag)` when
 * it came from the environment twin (the user must know which one to fix). `fromArgv` undefined: the
 * caller did not say, so the flag.
 */
export function labelOf(
  key: PropertyKey | undefined,
  command: CommandName,
  raw: Record<string, unknown>,
  fromArgv: ReadonlySet<string> | undefined,
): string {
  const flag = flagOf(key);
  const k = String(key ?? '');
  if (!fromArgv || fromArgv.has(k) || raw[k] === undefined) return flag;
  const env = flagsFor(command).find((f) => keyOf(f.name) === k)?.env;
  return env ? `${env} (${flag})` : flag;
}

function check<T>(schema: z.ZodType, raw: Record<string, unknown>, label: (key: PropertyKey | undefined) => string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data as T;
  const issue = r.error.issues[0]!;
  throw new ConfigError(`${label(issue.path[0])}: ${issue.message}`);
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
 * Validates raw options (flags and environment twins, by config key) for `serve`, or for `emulator`
 * (where `--port` is the gRPC port). `fromArgv` names the keys given on the command line: HTTP flags
 * given there without --http are refused (from the environment they are ignored). Throws
 * ConfigError with one line naming the flag and what it accepts.
 */
export function parseConfig(
  raw: Record<string, unknown>,
  mode: 'serve' | 'emulator' = 'serve',
  fromArgv?: ReadonlySet<string>,
): Config {
  const label = (key: PropertyKey | undefined) => labelOf(key, mode, raw, fromArgv);
  const emulatorValues = mode === 'emulator' ? check<FlagValues<'emulator'>>(EmulatorSchema, raw, label) : undefined;
  const c: ServeValues =
    mode === 'emulator'
      ? { ...check<ServeValues>(ServeSchema, {}, label), ...emulatorValues }
      : check<ServeValues>(ServeSchema, raw, label);
  const backend: Config['backend'] =
    mode === 'emulator' ? 'emulator' : (c.backend ?? (c.project ? 'vertex' : 'emulator'));
  if (backend === 'vertex' && !c.project) {
    throw new ConfigError('--project: vertex mode needs a Google Cloud project (--project or GOOGLE_CLOUD_PROJECT)');
  }
  if (backend === 'emulator' && mode === 'serve' && c.emulatorEndpoint !== undefined) {
    const problem = CHECKS['emulator-endpoint'](c.emulatorEndpoint);
    if (problem) throw new ConfigError(`${label('emulatorEndpoint')}: ${problem}`);
  }
  if (mode === 'serve' && !c.http) {
    const stray = HTTP_FLAGS.find((f) => fromArgv?.has(keyOf(f.name)));
    if (stray) {
      throw new ConfigError(
        `--${stray.name}: applies only with --http (Streamable HTTP); without it the server speaks stdio`,
      );
    }
  }
  // HTTP settings are checked only where they are used; the emulator's --port is its gRPC port.
  const http: HttpFlagValues =
    mode === 'emulator'
      ? { ...check<HttpFlagValues>(HttpSchema, {}, label), port: emulatorValues!.port }
      : check<HttpFlagValues>(HttpSchema, c.http ? raw : {}, label);
  if (
    mode === 'serve' &&
    c.http &&
    !isLoopbackHost(http.host) &&
    !http.authToken &&
    !http.allowUnauthenticatedNetwork
  ) {
    throw new ConfigError(
      `${label('host') === '--host' ? '--host ' : 'VERTEX_MCP_HOST='}${http.host}: HTTP beyond loopback needs --auth-token <token> (VERTEX_MCP_AUTH_TOKEN); to serve anyone who can reach the port without one, add --allow-unauthenticated-network`,
    );
  }
  // Client configs (mcp.json) often carry "~/..." in env values, which no shell expands.
  const dir = c.dataDir;
  const expanded = dir === '~' || dir.startsWith('~/') ? path.join(os.homedir(), dir.slice(1)) : dir;
  const dataDir = expanded === ':memory:' ? expanded : path.resolve(expanded);
  return {
    ...c,
    ...http,
    backend,
    project: backend === 'vertex' ? c.project! : EMULATOR_PROJECT,
    dataDir,
    // What the user named, else the working directory; never the data directory (the server's own
    // state: the library refuses paths inside it whatever the roots).
    allowPath: (c.allowPath ?? [process.cwd()]).map((p) => path.resolve(p)),
  };
}

/**
 * --tools and --exclude-tools name tools of the catalogue (`names`). `fromArgv` (the keys given on
 * the command line): a list that came from the environment is named by its variable.
 */
export function checkToolNames(
  selection: { tools?: string[] | undefined; excludeTools?: string[] | undefined },
  names: readonly string[],
  fromArgv?: ReadonlySet<string>,
): void {
  const label = (key: 'tools' | 'excludeTools') => labelOf(key, 'serve', selection, fromArgv);
  const lists = [
    [label('tools'), selection.tools],
    [label('excludeTools'), selection.excludeTools],
  ] as const;
  for (const [flag, given] of lists) {
    for (const n of given ?? []) {
      if (!names.includes(n)) throw new ConfigError(`${flag}: unknown tool "${n}"; valid: ${names.join(', ')}`);
    }
  }
}
