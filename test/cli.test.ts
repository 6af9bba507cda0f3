// The command line: one flag table (src/flags.ts) drives the parser, the validation (config.ts),
// --help and the README's flag tables. In-process here; the spawned CLI is covered by
// test/stdio.test.ts (tsc output) and test/startup.test.ts (the bundle).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkToolNames, parseConfig } from '../src/config.js';
import { ConfigError, FLAGS, flagsFor, helpText, keyOf, parseArgv } from '../src/flags.js';
import { catalogue, TOOLSETS } from '../src/tools/index.js';

const NO_ENV = {};
const config = (argv: string[], env: NodeJS.ProcessEnv = NO_ENV) => {
  const a = parseArgv(argv, env);
  return parseConfig(a.values, a.command === 'emulator' ? 'emulator' : 'serve', a.fromArgv);
};
const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('the flag table', () => {
  it('names each flag once per command, with an environment twin where it has one', () => {
    for (const command of ['serve', 'emulator'] as const) {
      const names = flagsFor(command).map((f) => f.name);
      expect(new Set(names).size, command).toBe(names.length);
    }
    for (const f of FLAGS) {
      expect(f.help.length, f.name).toBeGreaterThan(10);
      if ('env' in f) expect(f.env).toMatch(/^(VERTEX_MCP_|GOOGLE_CLOUD_)[A-Z_]+$/);
    }
  });

  it('--help lists every flag of the command with its default and variable, and the toolsets', () => {
    const top = helpText('top', '9.9.9');
    for (const f of flagsFor('serve')) {
      expect(top).toContain(`--${f.name} `);
      if ('env' in f && f.env) expect(top).toContain(f.env);
    }
    expect(top).toContain('default: 8080');
    expect(top).toContain('default: ~/.vertex-mcp');
    for (const t of TOOLSETS) expect(top).toContain(t);
    const emulator = helpText('emulator', '9.9.9');
    expect(emulator).toContain('--emulator-token <secret>');
    expect(emulator).not.toContain('--http');
    expect(helpText('demo', '9.9.9')).toContain('Usage: vertex-mcp demo');
  });

  it('the README carries the generated flag tables (npm run docs:flags)', async () => {
    const { updateReadme } = await import('../scripts/gen-flag-table.js');
    const readme = readFileSync('README.md', 'utf8');
    expect(updateReadme(readme), 'run `npm run docs:flags`').toBe(readme);
  });
});

describe('parseArgv', () => {
  it('picks the command: serve by default, emulator, demo, help', () => {
    expect(parseArgv([], NO_ENV)).toMatchObject({ command: 'serve', help: false, version: false });
    expect(parseArgv(['serve', '--data-dir', 'x'], NO_ENV).values).toEqual({ dataDir: 'x' });
    expect(parseArgv(['emulator', '--port=7'], NO_ENV)).toMatchObject({ command: 'emulator', values: { port: '7' } });
    expect(parseArgv(['demo'], NO_ENV).command).toBe('demo');
    expect(parseArgv(['help', 'emulator'], NO_ENV)).toMatchObject({ command: 'emulator', help: true, topLevel: false });
    expect(parseArgv(['help'], NO_ENV)).toMatchObject({ help: true, topLevel: true });
    expect(parseArgv(['--help'], NO_ENV)).toMatchObject({ help: true, topLevel: true });
    expect(parseArgv(['emulator', '-h'], NO_ENV)).toMatchObject({ command: 'emulator', help: true, topLevel: false });
    expect(parseArgv(['-V'], NO_ENV).version).toBe(true);
  });

  it('reads booleans bare, with =value or with the next argument', () => {
    expect(parseArgv(['--read-only'], NO_ENV).values.readOnly).toBe(true);
    expect(parseArgv(['--read-only', 'false'], NO_ENV).values.readOnly).toBe('false');
    expect(parseArgv(['--read-only=no', '--http'], NO_ENV).values).toEqual({ readOnly: 'no', http: true });
    expect(parseArgv(['--read-only', '--data-dir', 'd'], NO_ENV).values).toEqual({ readOnly: true, dataDir: 'd' });
    expect(config(['--read-only', 'off']).readOnly).toBe(false);
    expect(config(['--read-only']).readOnly).toBe(true);
  });

  it('takes a flag over its environment twin; an empty variable is unset', () => {
    const env = { VERTEX_MCP_HOME: '/env/dir', VERTEX_MCP_LOG_LEVEL: 'warn', GOOGLE_CLOUD_LOCATION: '' };
    const a = parseArgv(['--data-dir', '/flag/dir'], env);
    expect(a.values).toEqual({ dataDir: '/flag/dir', logLevel: 'warn' });
    expect([...a.fromArgv]).toEqual(['dataDir']);
    expect(config([], env).location).toBe('us-central1');
  });

  it('refuses unknown options, commands, missing values and stray arguments (exit 2 in the CLI)', () => {
    expect(failure(() => parseArgv(['--bogus'], NO_ENV))).toBe('unknown option --bogus (see vertex-mcp --help)');
    expect(failure(() => parseArgv(['emulator', '--http'], NO_ENV))).toBe(
      'unknown option --http for emulator; it belongs to serve (see vertex-mcp emulator --help)',
    );
    expect(failure(() => parseArgv(['bogus'], NO_ENV))).toMatch(/^unknown command "bogus"/);
    expect(failure(() => parseArgv(['--data-dir'], NO_ENV))).toBe('--data-dir needs a value: --data-dir <dir>');
    expect(failure(() => parseArgv(['--log-level', 'warn', 'emulator'], NO_ENV))).toContain(
      'the command comes first: vertex-mcp emulator [options]',
    );
  });
});

describe('parseConfig', () => {
  it('applies the defaults of the table', () => {
    const c = config([]);
    expect(c).toMatchObject({
      backend: 'emulator',
      location: 'us-central1',
      logLevel: 'info',
      readOnly: false,
      http: false,
      host: '127.0.0.1',
      port: 8080,
      maxSessions: 100,
      sessionIdleTimeout: 1800,
      alertInterval: 60,
    });
    expect(c.allowPath).toEqual([process.cwd()]);
    expect(config(['emulator']).port).toBe(0);
    expect(config(['--project', 'p']).backend).toBe('vertex');
  });

  it('refuses HTTP flags on the command line without --http, ignores them from the environment', () => {
    expect(failure(() => config(['--port', '5']))).toBe(
      '--port: applies only with --http (Streamable HTTP); without it the server speaks stdio',
    );
    expect(failure(() => config(['--auth-token', 'x'.repeat(20)]))).toMatch(/^--auth-token: applies only with --http/);
    expect(config(['--http', '--port', '5']).port).toBe(5);
    expect(config(['--port', '5'], { VERTEX_MCP_HTTP: 'yes' }).port).toBe(5);
    expect(config([], { VERTEX_MCP_PORT: 'abc', VERTEX_MCP_MAX_SESSIONS: 'lots' }).port).toBe(8080);
    expect(failure(() => config(['--http', '--port', 'abc']))).toBe('--port: expected a port number, 0-65535');
  });

  it('names the flag once in each error', () => {
    expect(failure(() => config(['--faults', 'bogus']))).toMatch(/^--faults: cannot read "bogus"/);
    expect(failure(() => config(['--read-only=bogus']))).toBe(
      '--read-only: expected true or false (also 1/0, yes/no, on/off), got "bogus"',
    );
    expect(failure(() => config(['--alert-interval', '-1']))).toBe('--alert-interval: expected seconds, 0-86400');
    expect(failure(() => config(['--toolsets', 'registy']))).toMatch(/^--toolsets: /);
    expect(failure(() => config(['emulator', '--port', '70000']))).toBe('--port: expected a port number, 0-65535');
  });

  it('names the environment variable when the bad value came from it', () => {
    expect(failure(() => config([], { VERTEX_MCP_READ_ONLY: 'bogus' }))).toBe(
      'VERTEX_MCP_READ_ONLY (--read-only): expected true or false (also 1/0, yes/no, on/off), got "bogus"',
    );
    expect(failure(() => config([], { VERTEX_MCP_HTTP: 'maybe' }))).toMatch(/^VERTEX_MCP_HTTP \(--http\): expected/);
    expect(failure(() => config(['--http'], { VERTEX_MCP_PORT: 'abc' }))).toBe(
      'VERTEX_MCP_PORT (--port): expected a port number, 0-65535',
    );
    expect(failure(() => config([], { VERTEX_MCP_ALERT_INTERVAL: '-1' }))).toBe(
      'VERTEX_MCP_ALERT_INTERVAL (--alert-interval): expected seconds, 0-86400',
    );
    expect(failure(() => config([], { VERTEX_MCP_TOOLSETS: 'registy' }))).toMatch(
      /^VERTEX_MCP_TOOLSETS \(--toolsets\): /,
    );
    expect(failure(() => config([], { VERTEX_MCP_FAULTS: 'bogus' }))).toMatch(/^VERTEX_MCP_FAULTS \(--faults\): /);
    expect(failure(() => config([], { GOOGLE_CLOUD_LOCATION: 'mars' }))).toBe(
      'GOOGLE_CLOUD_LOCATION (--location): a Vertex region such as us-central1',
    );
    expect(failure(() => config([], { VERTEX_MCP_EMULATOR_ENDPOINT: 'nope' }))).toMatch(
      /^VERTEX_MCP_EMULATOR_ENDPOINT \(--emulator-endpoint\): host:grpcPort/,
    );
    expect(failure(() => config(['emulator'], { VERTEX_MCP_LOG_LEVEL: 'loud' }))).toMatch(
      /^VERTEX_MCP_LOG_LEVEL \(--log-level\): /,
    );
    expect(failure(() => config(['--http'], { VERTEX_MCP_HOST: '0.0.0.0' }))).toMatch(
      /^VERTEX_MCP_HOST=0\.0\.0\.0: HTTP beyond loopback needs --auth-token/,
    );
    // The command line wins over the variable, and then its flag is the one named.
    expect(failure(() => config(['--read-only', 'nah'], { VERTEX_MCP_READ_ONLY: 'true' }))).toMatch(/^--read-only: /);
    const names = catalogue().map((t) => t.name);
    const env = parseArgv([], { VERTEX_MCP_TOOLS: 'nosuchtool' });
    expect(failure(() => checkToolNames(parseConfig(env.values, 'serve', env.fromArgv), names, env.fromArgv))).toMatch(
      /^VERTEX_MCP_TOOLS \(--tools\): unknown tool "nosuchtool"/,
    );
  });

  it('refuses every HTTP-only flag on the command line without --http', () => {
    const httpOnly = flagsFor('serve').filter((f) => f.httpOnly);
    expect(httpOnly.map((f) => f.name).sort()).toEqual(
      [
        'allow-unauthenticated-network',
        'allowed-hosts',
        'auth-token',
        'host',
        'max-sessions',
        'port',
        'session-idle-timeout',
      ].sort(),
    );
    const sample: Record<string, string[]> = {
      host: ['--host', '0.0.0.0'],
      port: ['--port', '5'],
      'auth-token': ['--auth-token', 'x'.repeat(20)],
      'allow-unauthenticated-network': ['--allow-unauthenticated-network'],
      'max-sessions': ['--max-sessions', '3'],
      'session-idle-timeout': ['--session-idle-timeout', '60'],
      'allowed-hosts': ['--allowed-hosts', 'a.example'],
    };
    for (const f of httpOnly) {
      expect(failure(() => config(sample[f.name]!))).toBe(
        `--${f.name}: applies only with --http (Streamable HTTP); without it the server speaks stdio`,
      );
      expect(() => config(['--http', ...sample[f.name]!, '--auth-token', 'y'.repeat(20)])).not.toThrow();
    }
  });

  it('checks --tools and --exclude-tools against the catalogue', () => {
    const names = catalogue().map((t) => t.name);
    expect(() => checkToolNames({ tools: ['get_model'], excludeTools: ['predict'] }, names)).not.toThrow();
    expect(failure(() => checkToolNames({ tools: ['nosuchtool'] }, names))).toMatch(
      /^--tools: unknown tool "nosuchtool"; valid: upload_model, /,
    );
    expect(failure(() => checkToolNames({ excludeTools: ['nope'] }, names))).toMatch(/^--exclude-tools: unknown tool/);
  });

  it('keys every flag by its camelCase name', () => {
    expect(keyOf('session-idle-timeout')).toBe('sessionIdleTimeout');
    expect(config(['--http', '--session-idle-timeout', '60', '--allowed-hosts', 'a, b'])).toMatchObject({
      sessionIdleTimeout: 60,
      allowedHosts: ['a', 'b'],
    });
  });
});

describe('the built CLI (dist/src/cli.js)', () => {
  const CLI = path.resolve('dist/src/cli.js');
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

  it('exits 2 naming the variable for a bad environment value, and the flag for a bad flag', () => {
    const bad = spawnSync(process.execPath, [CLI], {
      env: { ...env, VERTEX_MCP_READ_ONLY: 'bogus' },
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(
      'vertex-mcp: VERTEX_MCP_READ_ONLY (--read-only): expected true or false (also 1/0, yes/no, on/off), got "bogus"\n',
    );
    const flag = spawnSync(process.execPath, [CLI, '--read-only=bogus'], { env, encoding: 'utf8' });
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/^vertex-mcp: --read-only: expected true or false/);
    const http = spawnSync(process.execPath, [CLI, '--max-sessions', '3'], { env, encoding: 'utf8' });
    expect(http.status).toBe(2);
    expect(http.stderr).toBe(
      'vertex-mcp: --max-sessions: applies only with --http (Streamable HTTP); without it the server speaks stdio\n',
    );
  });

  it('--host 0.0.0.0 without --auth-token: refused (exit 2), or served with a warning on stderr when allowed', async () => {
    const refused = spawnSync(process.execPath, [CLI, '--http', '--host', '0.0.0.0', '--port', '0'], {
      env,
      encoding: 'utf8',
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^vertex-mcp: --host 0\.0\.0\.0: HTTP beyond loopback needs --auth-token/);
    const args = [
      '--http',
      '--host',
      '0.0.0.0',
      '--port',
      '0',
      '--allow-unauthenticated-network',
      '--data-dir',
      ':memory:',
    ];
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no warning within 20 s; stderr: ${stderr}`)), 20_000);
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (/Streamable HTTP on/.test(stderr)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
    } finally {
      child.kill('SIGTERM');
    }
    expect(stderr).toMatch(
      /HTTP on 0\.0\.0\.0 without --auth-token \(--allow-unauthenticated-network\): anyone who can reach port \d+ may call every tool/,
    );
    expect(stdout).toBe('');
  });
});

describe('scripts/build-if-stale.mjs (npm run demo builds only when needed)', () => {
  it('skips the build when every output is newer than every source, and names the file that is not', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-stale-'));
    try {
      const file = (p: string, mtime: number) => {
        mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
        writeFileSync(path.join(root, p), '');
        utimesSync(path.join(root, p), mtime, mtime);
      };
      mkdirSync(path.join(root, 'scripts'));
      copyFileSync('scripts/build-if-stale.mjs', path.join(root, 'scripts/build-if-stale.mjs'));
      const now = Date.now() / 1000;
      utimesSync(path.join(root, 'scripts/build-if-stale.mjs'), now - 3600, now - 3600);
      for (const p of ['src/a.ts', 'package.json', 'tsconfig.json']) file(p, now - 3600);
      const check = () =>
        spawnSync(process.execPath, [path.join(root, 'scripts/build-if-stale.mjs'), '--check'], { encoding: 'utf8' });
      expect(check()).toMatchObject({ status: 1, stderr: 'build is stale: dist/app/dashboard.html is missing\n' });
      for (const p of [
        'dist/app/dashboard.html',
        'dist/bundle/bin/cli.js',
        'dist/tools-list.json',
        'dist/protos/x.json',
        'dist/src/lib/index.js',
      ]) {
        file(p, now - 60);
      }
      expect(check()).toMatchObject({ status: 0, stderr: 'build is current\n' });
      file('src/deep/er/b.ts', now);
      expect(check()).toMatchObject({
        status: 1,
        stderr: `build is stale: ${path.join('src', 'deep', 'er', 'b.ts')} is newer than dist/app/dashboard.html\n`,
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
