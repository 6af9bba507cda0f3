// Every command-line flag, defined once: name, environment twin, kind, default, help. From this
// table come the argument parser (node:util parseArgs), the validation (config.ts builds its zod
// schemas from it), `--help` and the README's flag tables (`npm run docs:flags`).
// Light on purpose: the CLI imports it before anything else, so it loads nothing but node:util and
// two modules of constants (no zod: the validation loads only when a command runs).
import { parseArgs } from 'node:util';
import { DEFAULT_LOCATION } from './lib/config.js';
import { TOOLSETS } from './tools/define.js';

export type CommandName = 'serve' | 'emulator';
export type FlagKind = 'string' | 'bool' | 'list' | 'enum' | 'enum-list' | 'int';
export type FlagGroup = 'backend' | 'emulator' | 'tools' | 'http' | 'server';

export interface Flag {
  /** The long name without dashes (`data-dir`); the config key is its camelCase (`dataDir`). */
  readonly name: string;
  readonly commands: readonly CommandName[];
  readonly group: FlagGroup;
  /**
   * string | list (comma-separated) | enum | enum-list (comma-separated choices) | int |
   * bool (bare means true; a value or the environment twin says which: true/false, 1/0, yes/no, on/off).
   */
  readonly kind: FlagKind;
  /** The value's placeholder in help (`dir` -> `--data-dir <dir>`); not for bool. */
  readonly arg?: string;
  /** The environment variable read when the flag is not given. */
  readonly env?: string;
  /** The value used when neither the flag nor its variable is given. */
  readonly default?: string | number;
  /** How help and the README show the default, when that is not `default` itself. */
  readonly defaultText?: string;
  readonly help: string;
  /** enum and enum-list: the accepted values. */
  readonly choices?: readonly string[];
  /** int: [min, max, what the number is] -> "expected a port number, 0-65535". */
  readonly range?: readonly [number, number, string];
  /** string: [pattern, what it accepts]. */
  readonly pattern?: readonly [RegExp, string];
  /** string: [minimum length, message]. */
  readonly minLength?: readonly [number, string];
  /** A check that needs more than the kind (defined in config.ts). */
  readonly check?: 'faults' | 'prices' | 'emulator-endpoint';
  /** Only meaningful with --http: refused on the command line without it, ignored from the environment. */
  readonly httpOnly?: boolean;
}

const TOKEN_MIN = [16, 'at least 16 characters'] as const;
const PORT = [0, 65_535, 'a port number'] as const;

/** The flags, in help order within each group. */
export const FLAGS = [
  // backend
  {
    name: 'backend',
    commands: ['serve'],
    group: 'backend',
    kind: 'enum',
    arg: 'kind',
    env: 'VERTEX_MCP_BACKEND',
    choices: ['emulator', 'vertex'],
    defaultText: 'vertex when a project is set, else emulator',
    help: 'which Vertex AI to use: emulator (embedded, local) or vertex (real Vertex AI, Application Default Credentials)',
  },
  {
    name: 'project',
    commands: ['serve'],
    group: 'backend',
    kind: 'string',
    arg: 'id',
    env: 'GOOGLE_CLOUD_PROJECT',
    minLength: [1, 'a Google Cloud project ID'],
    help: 'Google Cloud project (vertex mode)',
  },
  {
    name: 'location',
    commands: ['serve'],
    group: 'backend',
    kind: 'string',
    arg: 'region',
    env: 'GOOGLE_CLOUD_LOCATION',
    default: DEFAULT_LOCATION,
    pattern: [/^[a-z]+-[a-z]+\d+$/, 'a Vertex region such as us-central1'],
    help: 'Vertex AI region',
  },
  {
    name: 'staging-bucket',
    commands: ['serve'],
    group: 'backend',
    kind: 'string',
    arg: 'gs-uri',
    env: 'VERTEX_MCP_STAGING_BUCKET',
    pattern: [/^gs:\/\/[a-z0-9][a-z0-9._-]+\/?$/, 'a gs://bucket URI'],
    help: 'bucket for datasets and artifacts (vertex mode)',
  },
  {
    name: 'emulator-endpoint',
    commands: ['serve'],
    group: 'backend',
    kind: 'string',
    arg: 'host:port',
    env: 'VERTEX_MCP_EMULATOR_ENDPOINT',
    check: 'emulator-endpoint',
    defaultText: 'the embedded emulator',
    help: 'use a running `vertex-mcp emulator` (the `endpoint` it prints: host:grpcPort,gcsPort) instead of the embedded one',
  },
  {
    name: 'emulator-token',
    commands: ['serve'],
    group: 'backend',
    kind: 'string',
    arg: 'secret',
    env: 'VERTEX_MCP_EMULATOR_TOKEN',
    minLength: TOKEN_MIN,
    defaultText: 'embedded emulator: a fresh random secret per start',
    help: 'the token a standalone emulator requires (with --emulator-endpoint; 16+ characters)',
  },
  // emulator (both commands)
  {
    name: 'data-dir',
    commands: ['serve', 'emulator'],
    group: 'emulator',
    kind: 'string',
    arg: 'dir',
    env: 'VERTEX_MCP_HOME',
    default: '~/.vertex-mcp',
    minLength: [1, 'a directory, or :memory:'],
    help: 'state directory (emulator.sqlite, gcs/, ledger.sqlite); :memory: for throwaway state',
  },
  {
    name: 'faults',
    commands: ['serve', 'emulator'],
    group: 'emulator',
    kind: 'string',
    arg: 'spec',
    env: 'VERTEX_MCP_FAULTS',
    check: 'faults',
    help: 'emulator fault injection, e.g. unavailable=0.1,latency=50ms; per deployed model (display name): latency[router@1.1.0]=40ms,errors[router@1.1.0]=0.2',
  },
  {
    name: 'port',
    commands: ['emulator'],
    group: 'emulator',
    kind: 'int',
    arg: 'port',
    default: 0,
    range: PORT,
    help: 'gRPC port (0: a free one); the GCS JSON API takes a free one',
  },
  {
    name: 'emulator-token',
    commands: ['emulator'],
    group: 'emulator',
    kind: 'string',
    arg: 'secret',
    env: 'VERTEX_MCP_EMULATOR_TOKEN',
    minLength: TOKEN_MIN,
    defaultText: 'none: serve anyone who can reach the ports',
    help: 'require Authorization: Bearer <secret> on both ports (16+ characters)',
  },
  // tools
  {
    name: 'toolsets',
    commands: ['serve'],
    group: 'tools',
    kind: 'enum-list',
    arg: 'list',
    env: 'VERTEX_MCP_TOOLSETS',
    choices: [...TOOLSETS, 'all'],
    defaultText: 'all',
    help: `comma-separated toolsets: ${TOOLSETS.join(', ')}, or all`,
  },
  {
    name: 'tools',
    commands: ['serve'],
    group: 'tools',
    kind: 'list',
    arg: 'list',
    env: 'VERTEX_MCP_TOOLS',
    help: 'extra tools to enable by name, on top of --toolsets',
  },
  {
    name: 'exclude-tools',
    commands: ['serve'],
    group: 'tools',
    kind: 'list',
    arg: 'list',
    env: 'VERTEX_MCP_EXCLUDE_TOOLS',
    help: 'tools to disable by name',
  },
  {
    name: 'read-only',
    commands: ['serve'],
    group: 'tools',
    kind: 'bool',
    env: 'VERTEX_MCP_READ_ONLY',
    help: 'only tools that change nothing; wins over --toolsets, --tools and --exclude-tools',
  },
  {
    name: 'allow-path',
    commands: ['serve'],
    group: 'tools',
    kind: 'list',
    arg: 'list',
    env: 'VERTEX_MCP_ALLOW_PATH',
    defaultText: 'the working directory',
    help: 'comma-separated directories local paths may use; paths inside the data directory are always refused',
  },
  // http
  {
    name: 'http',
    commands: ['serve'],
    group: 'http',
    kind: 'bool',
    env: 'VERTEX_MCP_HTTP',
    help: 'serve Streamable HTTP (at /mcp) instead of stdio',
  },
  {
    name: 'host',
    commands: ['serve'],
    group: 'http',
    kind: 'string',
    arg: 'host',
    env: 'VERTEX_MCP_HOST',
    default: '127.0.0.1',
    minLength: [1, 'a host name or address'],
    httpOnly: true,
    help: 'HTTP bind address; beyond loopback it needs --auth-token (or --allow-unauthenticated-network)',
  },
  {
    name: 'port',
    commands: ['serve'],
    group: 'http',
    kind: 'int',
    arg: 'port',
    env: 'VERTEX_MCP_PORT',
    default: 8080,
    range: PORT,
    httpOnly: true,
    help: 'HTTP port (0: a free one)',
  },
  {
    name: 'auth-token',
    commands: ['serve'],
    group: 'http',
    kind: 'string',
    arg: 'token',
    env: 'VERTEX_MCP_AUTH_TOKEN',
    minLength: TOKEN_MIN,
    httpOnly: true,
    help: 'bearer token required on HTTP (Authorization: Bearer <token>; 16+ characters)',
  },
  {
    name: 'allow-unauthenticated-network',
    commands: ['serve'],
    group: 'http',
    kind: 'bool',
    env: 'VERTEX_MCP_ALLOW_UNAUTHENTICATED_NETWORK',
    httpOnly: true,
    help: 'serve HTTP on a non-loopback --host without --auth-token: anyone who can reach the port may call every tool (a warning is logged)',
  },
  {
    name: 'max-sessions',
    commands: ['serve'],
    group: 'http',
    kind: 'int',
    arg: 'n',
    env: 'VERTEX_MCP_MAX_SESSIONS',
    default: 100,
    range: [1, 100_000, 'a whole number of sessions'],
    httpOnly: true,
    help: 'HTTP sessions open at once; more get 503',
  },
  {
    name: 'session-idle-timeout',
    commands: ['serve'],
    group: 'http',
    kind: 'int',
    arg: 'seconds',
    env: 'VERTEX_MCP_SESSION_IDLE_TIMEOUT',
    default: 1800,
    range: [1, 604_800, 'seconds'],
    httpOnly: true,
    help: 'close HTTP sessions idle this long',
  },
  {
    name: 'allowed-hosts',
    commands: ['serve'],
    group: 'http',
    kind: 'list',
    arg: 'list',
    env: 'VERTEX_MCP_ALLOWED_HOSTS',
    httpOnly: true,
    help: 'extra Host/Origin names accepted on HTTP (besides the bind address and loopback)',
  },
  // server
  {
    name: 'prices',
    commands: ['serve'],
    group: 'server',
    kind: 'string',
    arg: 'file',
    env: 'VERTEX_MCP_PRICES',
    check: 'prices',
    help: 'price table overrides (JSON) merged over data/prices.json (validated: a bad file is exit 2)',
  },
  {
    name: 'alert-interval',
    commands: ['serve'],
    group: 'server',
    kind: 'int',
    arg: 'seconds',
    env: 'VERTEX_MCP_ALERT_INTERVAL',
    default: 60,
    range: [0, 86_400, 'seconds'],
    help: 'evaluate alert rules every this many seconds in the background (0: only on check_alerts)',
  },
  {
    name: 'log-level',
    commands: ['serve', 'emulator'],
    group: 'server',
    kind: 'enum',
    arg: 'level',
    env: 'VERTEX_MCP_LOG_LEVEL',
    choices: ['debug', 'info', 'warn', 'error', 'silent'],
    default: 'info',
    help: 'debug, info, warn, error or silent; logs go to stderr only',
  },
] as const satisfies readonly Flag[];

export const COMMANDS = {
  serve: 'run the MCP server (stdio by default); the default command',
  emulator: 'run the Vertex AI emulator standalone (prints one JSON line with its endpoint)',
  demo: 'drive the whole lifecycle through MCP against the emulator and print each step',
  help: 'show help for a command',
} as const;
export type Command = keyof typeof COMMANDS;

const GROUP_TITLES: Record<FlagGroup, string> = {
  backend: 'Backend',
  emulator: 'Emulator',
  tools: 'Tools',
  http: 'Streamable HTTP (with --http)',
  server: 'Server',
};

// ---------------------------------------------------------------------------------------------
// Types derived from the table: the parsed value of each flag, keyed by its camelCase name.

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type AnyFlag = (typeof FLAGS)[number];
type ValueOf<F> = F extends { kind: 'bool' }
  ? boolean
  : F extends { kind: 'int' }
    ? number
    : F extends { kind: 'list' }
      ? string[] | undefined
      : F extends { kind: 'enum-list'; choices: readonly (infer C)[] }
        ? C[] | undefined
        : F extends { kind: 'enum'; choices: readonly (infer C)[] }
          ? F extends { default: string }
            ? C
            : C | undefined
          : F extends { default: string }
            ? string
            : string | undefined;
type FlagsOf<C extends CommandName> = AnyFlag extends infer F
  ? F extends { commands: readonly (infer X)[] }
    ? C extends X
      ? F
      : never
    : never
  : never;
/** The validated values of a command's flags (config.ts adds what it derives from them). */
export type FlagValues<C extends CommandName> = {
  [F in FlagsOf<C> as Camel<F['name']>]: ValueOf<F>;
};

/** The values of serve's HTTP flags (httpOnly: checked only with --http). */
export type HttpFlagValues = {
  [F in Extract<AnyFlag, { httpOnly: true }> as Camel<F['name']>]: ValueOf<F>;
};

export const keyOf = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function flagsFor(command: CommandName): readonly Flag[] {
  return (FLAGS as readonly Flag[]).filter((f) => f.commands.includes(command));
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/** A bad command line, flag or environment value: the CLI prints it on one line and exits with code 2. */
export class ConfigError extends Error {}

export interface ParsedArgs {
  command: Exclude<Command, 'help'>;
  /** --help / -h / `help [command]`: print help for `command` (or the top-level help). */
  help: boolean;
  /** `vertex-mcp --help` or `vertex-mcp help`: the top-level help. */
  topLevel: boolean;
  version: boolean;
  /** Raw values by config key: from the command line, else the environment twin (strings; bare booleans true). */
  values: Record<string, string | boolean>;
  /** The config keys given on the command line (not from the environment). */
  fromArgv: Set<string>;
}

const isCommand = (s: string | undefined): s is Command => s !== undefined && Object.hasOwn(COMMANDS, s);

const usage = (command: string) => `see vertex-mcp ${command === 'serve' ? '' : `${command} `}--help`;

/**
 * Parses the arguments after `node cli.js` for one command (the first argument when it names one,
 * else `serve`). A value comes from the flag, else from its environment variable (an empty
 * variable counts as unset). Throws ConfigError for unknown flags, missing values and stray arguments.
 */
export function parseArgv(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  let args = [...argv];
  let command: Command = 'serve';
  let help = false;
  if (args[0] !== undefined && !args[0].startsWith('-') && !isCommand(args[0])) {
    throw new ConfigError(
      `unknown command "${args[0]}"; commands: serve, emulator, demo, help (see vertex-mcp --help)`,
    );
  }
  let topLevel = !isCommand(args[0]);
  if (isCommand(args[0])) command = args.shift() as Command;
  if (command === 'help') {
    help = true;
    topLevel = args[0] === undefined;
    const target = args.shift();
    if (target !== undefined && (!isCommand(target) || target === 'help')) {
      throw new ConfigError(`unknown command "${target}"; commands: serve, emulator, demo (see vertex-mcp --help)`);
    }
    command = (target as Command | undefined) ?? 'serve';
    args = [];
  }
  const cmd = command as Exclude<Command, 'help'>;
  const flags = cmd === 'demo' ? [] : flagsFor(cmd);
  const byName = new Map(flags.map((f) => [f.name, f]));
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'V' },
  };
  for (const f of flags) options[f.name] = { type: f.kind === 'bool' ? 'boolean' : 'string' };
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });

  const values: Record<string, string | boolean> = {};
  const fromArgv = new Set<string>();
  let version = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      const hint = isCommand(t.value) ? `; the command comes first: vertex-mcp ${t.value} [options]` : '';
      throw new ConfigError(`unexpected argument "${t.value}"${hint} (${usage(cmd)})`);
    }
    if (t.name === 'help' || t.name === 'version') {
      if (t.value !== undefined) throw new ConfigError(`${t.rawName} takes no value`);
      if (t.name === 'help') help = true;
      else version = true;
      continue;
    }
    const f = byName.get(t.name);
    if (!f || t.rawName !== `--${f.name}`) {
      const elsewhere = (FLAGS as readonly Flag[]).find((x) => x.name === t.name);
      const where = elsewhere
        ? `; it belongs to ${elsewhere.commands.map((c) => (c === 'serve' ? 'serve' : `vertex-mcp ${c}`)).join(' and ')}`
        : '';
      throw new ConfigError(
        `unknown option ${t.rawName}${cmd === 'serve' ? '' : ` for ${cmd}`}${where} (${usage(cmd)})`,
      );
    }
    const key = keyOf(f.name);
    if (f.kind === 'bool') {
      // `--read-only`, `--read-only=false`, or `--read-only false` (the next argument, unless a flag).
      let v: string | boolean = t.value ?? true;
      const next = tokens[i + 1];
      if (t.value === undefined && next?.kind === 'positional' && next.index === t.index + 1) {
        v = next.value;
        i++;
      }
      values[key] = v;
    } else {
      if (t.value === undefined) throw new ConfigError(`${t.rawName} needs a value: --${f.name} <${f.arg}>`);
      values[key] = t.value;
    }
    fromArgv.add(key);
  }
  for (const f of flags) {
    const key = keyOf(f.name);
    const fromEnv = f.env ? env[f.env] : undefined;
    if (!(key in values) && fromEnv !== undefined && fromEnv !== '') values[key] = fromEnv;
  }
  return { command: cmd, help, topLevel, version, values, fromArgv };
}

// ---------------------------------------------------------------------------------------------
// Help and the README tables.

export const defaultOf = (f: Flag): string | undefined =>
  f.defaultText ?? (f.default === undefined ? (f.kind === 'bool' ? 'false' : undefined) : String(f.default));

const signature = (f: Flag) => `--${f.name} ${f.kind === 'bool' ? '[bool]' : `<${f.arg}>`}`;

function wrap(text: string, width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width - indent) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function flagLines(flags: readonly Flag[], width: number): string[] {
  const col = Math.min(38, Math.max(...flags.map((f) => signature(f).length)) + 4);
  const out: string[] = [];
  for (const group of Object.keys(GROUP_TITLES) as FlagGroup[]) {
    const inGroup = flags.filter((f) => f.group === group);
    if (!inGroup.length) continue;
    out.push('', `${GROUP_TITLES[group]}:`);
    for (const f of inGroup) {
      const def = defaultOf(f);
      const extra = [f.kind === 'bool' ? 'true|false' : '', def ? `default: ${def}` : '', f.env ? `env: ${f.env}` : '']
        .filter(Boolean)
        .join('; ');
      const body = wrap(`${f.help}${extra ? ` (${extra})` : ''}`, width, col);
      const sig = `  ${signature(f)}`;
      const [first, ...rest] = body;
      if (sig.length + 2 > col) out.push(sig, `${' '.repeat(col)}${first}`);
      else out.push(`${sig.padEnd(col)}${first}`);
      for (const l of rest) out.push(`${' '.repeat(col)}${l}`);
    }
  }
  return out;
}

/** `--help` text: the top level (commands, then the flags of the default command) or one command's. */
export function helpText(command: Exclude<Command, 'help'> | 'top', version: string, width = 100): string {
  const lines: string[] = [];
  if (command === 'top') {
    lines.push(
      `vertex-mcp ${version}: MCP server for the Vertex AI model lifecycle, with an embedded Vertex AI emulator`,
      '',
      'Usage: vertex-mcp [serve] [options]',
      '       vertex-mcp emulator [options]',
      '       vertex-mcp demo',
      '       vertex-mcp help [command] | --help | --version',
      '',
      'Commands:',
      ...Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(10)}${d}`),
      '',
      'Flags of serve (a flag wins over its environment variable; booleans take true/false, 1/0, yes/no, on/off):',
      ...flagLines(flagsFor('serve'), width),
      '',
      'vertex-mcp emulator --help lists the emulator flags.',
    );
  } else if (command === 'demo') {
    lines.push('Usage: vertex-mcp demo', '', COMMANDS.demo);
  } else {
    lines.push(
      `Usage: vertex-mcp ${command} [options]`,
      '',
      COMMANDS[command],
      ...flagLines(flagsFor(command), width),
      '',
      'Also: -h, --help; -V, --version. A flag wins over its environment variable.',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A Markdown table cell: pipes and angle brackets escaped, flags and `:memory:` as code. */
const cell = (s: string) =>
  s
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/(^|[\s(])(--[a-z][a-z-]*|:memory:)/g, '$1`$2`');

/** The README's flag tables (Markdown), one per command. */
export function flagsMarkdown(): string {
  const table = (command: CommandName) => {
    const rows = (Object.keys(GROUP_TITLES) as FlagGroup[]).flatMap((g) =>
      flagsFor(command).filter((f) => f.group === g),
    );
    return [
      '| flag | environment | default | meaning |',
      '|---|---|---|---|',
      ...rows.map((f) => {
        const def = defaultOf(f);
        const shown = def === undefined ? '—' : f.defaultText ? cell(def) : `\`${def}\``;
        return `| \`${signature(f).replace(' [bool]', '')}\` | ${f.env ? `\`${f.env}\`` : '—'} | ${shown} | ${cell(f.help)} |`;
      }),
    ].join('\n');
  };
  const httpOnly = flagsFor('serve')
    .filter((f) => f.httpOnly)
    .map((f) => `\`--${f.name}\``);
  return [
    '`vertex-mcp [serve]` (the default command):',
    '',
    table('serve'),
    '',
    `${httpOnly.join(', ')} apply only with \`--http\`: on the command line without it they are refused (exit 2); from the environment they are ignored, so a stray variable cannot stop a stdio server.`,
    '',
    '`vertex-mcp emulator`:',
    '',
    table('emulator'),
    '',
  ].join('\n');
}
