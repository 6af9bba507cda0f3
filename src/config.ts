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

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', ''])])
  .optional()
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

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
  emulatorEndpoint: z
    .string()
    .regex(/^[\w.-]+:\d+(,\d+)?$/, 'host:grpcPort or host:grpcPort,gcsPort (as `vertex-mcp emulator` prints)')
    .optional(),
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
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  authToken: z.string().min(16, 'at least 16 characters').optional(),
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
export type Config = z.infer<typeof RawConfig> & { backend: 'emulator' | 'vertex'; allowPath: string[] };

/** A bad flag or environment value: the CLI prints it on one line and exits with code 2. */
export class ConfigError extends Error {}

/** Validates raw options; throws an Error whose message is one line per problem, naming the flag. */
export function parseConfig(raw: Record<string, unknown>): Config {
  const r = RawConfig.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const flag = `--${String(issue.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new ConfigError(`${flag}: ${issue.message}`);
  }
  const c = r.data;
  const backend = c.backend ?? (c.project ? 'vertex' : 'emulator');
  if (backend === 'vertex' && !c.project) {
    throw new ConfigError('--project: vertex mode needs a Google Cloud project (--project or GOOGLE_CLOUD_PROJECT)');
  }
  // Client configs (mcp.json) often carry "~/..." in env values, which no shell expands.
  const expanded = c.dataDir.startsWith('~/') ? path.join(os.homedir(), c.dataDir.slice(2)) : c.dataDir;
  const dataDir = expanded === ':memory:' ? expanded : path.resolve(expanded);
  return {
    ...c,
    backend,
    project: backend === 'vertex' ? c.project : EMULATOR_PROJECT,
    dataDir,
    allowPath: (c.allowPath ?? [process.cwd(), ...(dataDir === ':memory:' ? [] : [dataDir])]).map((p) =>
      path.resolve(p),
    ),
  };
}
