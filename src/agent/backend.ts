// The backend of createAgentTools, chosen as the CLI chooses it: real Vertex AI when a project is
// given, else the embedded emulator, started on the first call that needs it (nothing at import or
// at createAgentTools) and reached over its in-process channel.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Emulator } from '../emulator/index.js';
import { type BackendConfig, DEFAULT_LOCATION, EMULATOR_PROJECT } from '../lib/config.js';
import { VertexMcpError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

export interface BackendOptions {
  /**
   * 'emulator' (the default without a project), 'vertex' (the default with one: Application Default
   * Credentials), or a BackendConfig (e.g. a running `vertex-mcp emulator`'s endpoint).
   */
  backend?: 'emulator' | 'vertex' | BackendConfig;
  /** Google Cloud project (vertex); default GOOGLE_CLOUD_PROJECT. */
  project?: string;
  /** Vertex AI region; default GOOGLE_CLOUD_LOCATION or us-central1. */
  location?: string;
  /** gs:// bucket for datasets and artifacts (vertex). */
  stagingBucket?: string;
  /**
   * State directory (the emulator's store and the ledger: alert rules, feedback), `~` expanded;
   * default ':memory:' (throwaway). Share one with a running vertex-mcp only through its emulator.
   */
  dataDir?: string;
}

export interface ResolvedBackend {
  backend: BackendConfig;
  dataDir: string;
  /** Stops what was started (the embedded emulator), if anything. */
  stop(): Promise<void>;
}

function expandHome(dir: string): string {
  if (dir === ':memory:') return dir;
  return path.resolve(dir === '~' ? os.homedir() : dir.startsWith('~/') ? path.join(os.homedir(), dir.slice(2)) : dir);
}

export function resolveBackend(opts: BackendOptions, log: Logger): ResolvedBackend {
  const dataDir = expandHome(opts.dataDir ?? ':memory:');
  const none = async () => {};
  if (typeof opts.backend === 'object') return { backend: opts.backend, dataDir, stop: none };
  const project = opts.project ?? process.env.GOOGLE_CLOUD_PROJECT;
  const location = opts.location ?? process.env.GOOGLE_CLOUD_LOCATION ?? DEFAULT_LOCATION;
  const kind = opts.backend ?? (project ? 'vertex' : 'emulator');
  if (kind === 'vertex') {
    if (!project) {
      throw new VertexMcpError(
        'INVALID_ARGUMENT',
        'backend: vertex needs a Google Cloud project (option project or GOOGLE_CLOUD_PROJECT)',
      );
    }
    const stagingBucket = opts.stagingBucket ?? process.env.VERTEX_MCP_STAGING_BUCKET;
    return {
      backend: { kind: 'vertex', project, location, ...(stagingBucket ? { stagingBucket } : {}) },
      dataDir,
      stop: none,
    };
  }
  if (kind !== 'emulator') {
    throw new VertexMcpError('INVALID_ARGUMENT', `backend: expected emulator, vertex or a BackendConfig, got ${kind}`);
  }
  let started: Promise<Emulator> | undefined;
  const endpoint = async () => {
    // A failed start (a data directory another emulator holds) is retried on the next call.
    started ??= import('../emulator/index.js')
      .then(({ startEmulator }) =>
        // A fresh secret: the ports it opens serve this process only (the library uses the channel).
        startEmulator({ dataDir, token: randomBytes(32).toString('base64url'), log: (m) => log.info(m) }),
      )
      .catch((err) => {
        started = undefined;
        throw err;
      });
    return started;
  };
  return {
    backend: { kind: 'emulator', endpoint, project: EMULATOR_PROJECT, location },
    dataDir,
    async stop() {
      if (started) await (await started.catch(() => undefined))?.close();
    },
  };
}
