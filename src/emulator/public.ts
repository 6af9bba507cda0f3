// `vertex-mcp/emulator`: the embedded Vertex AI emulator for library users — start it in-process and
// hand `emu.backend()` to createLibrary (or createServer), or reach one that `vertex-mcp emulator`
// runs elsewhere with emulatorBackend(). The types here are the public surface only: the emulator's
// store and services (SQLite, grpc-js) stay out of the package's .d.ts.
// Importing this module loads nothing heavy: the emulator itself loads on startEmulator().
import path from 'node:path';
import { type BackendConfig, DEFAULT_LOCATION, EMULATOR_PROJECT, type EmulatorEndpoint } from '../lib/config.js';
import { packageRoot } from '../lib/package_root.js';

export { EMULATOR_PROJECT } from '../lib/config.js';
export { DataDirLockedError } from './lock.js';

export interface StartEmulatorOptions {
  /** Directory for the emulator's state (SQLite, gs:// objects); default ':memory:' (throwaway). */
  dataDir?: string;
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /** gRPC port; default 0 (a free one). */
  grpcPort?: number;
  /** GCS JSON API port; default 0 (a free one). */
  httpPort?: number;
  /** Fault injection in the `--faults` syntax, e.g. `unavailable=0.1,latency=50ms`. */
  faults?: string;
  /** Require `Authorization: Bearer <token>` on both ports (16+ characters). */
  token?: string;
  /** Where the emulator's log lines go; default nowhere. */
  log?: (message: string) => void;
}

export interface RunningEmulator {
  readonly host: string;
  readonly grpcPort: number;
  /** The GCS JSON API: `http://{host}:{httpPort}`. */
  readonly httpPort: number;
  /** `host:grpcPort,httpPort`, as `vertex-mcp --emulator-endpoint` takes it. */
  readonly endpoint: string;
  /**
   * The backend for createLibrary / createServer. In-process (no socket, as `vertex-mcp` itself
   * uses it) unless `overTheWire`: then real gRPC to host:grpcPort.
   */
  backend(opts?: { location?: string; overTheWire?: boolean }): BackendConfig;
  /** Replaces the injected faults (`--faults` syntax; '' clears them). A bad spec throws. */
  setFaults(spec: string): void;
  /** Stops both ports and closes the state (a data directory keeps it for the next start). */
  close(): Promise<void>;
}

/** Starts the emulator: gRPC (Vertex AI services) and the GCS JSON API on free loopback ports. */
export async function startEmulator(opts: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const [{ startEmulator: start }, { parseFaults }] = await Promise.all([import('./index.js'), import('./faults.js')]);
  const emu = await start({
    dataDir: opts.dataDir ?? ':memory:',
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.grpcPort !== undefined ? { grpcPort: opts.grpcPort } : {}),
    ...(opts.httpPort !== undefined ? { httpPort: opts.httpPort } : {}),
    ...(opts.faults ? { faults: parseFaults(opts.faults) } : {}),
    ...(opts.token ? { token: opts.token } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const wire: EmulatorEndpoint = {
    host: emu.host,
    grpcPort: emu.grpcPort,
    httpPort: emu.httpPort,
    ...(emu.token ? { token: emu.token } : {}),
  };
  const inProcess: EmulatorEndpoint = { ...wire, channelFactory: emu.channelFactory };
  return {
    host: emu.host,
    grpcPort: emu.grpcPort,
    httpPort: emu.httpPort,
    endpoint: `${emu.host}:${emu.grpcPort},${emu.httpPort}`,
    backend: (o = {}) => ({
      kind: 'emulator',
      endpoint: async () => (o.overTheWire ? wire : inProcess),
      project: EMULATOR_PROJECT,
      location: o.location ?? DEFAULT_LOCATION,
    }),
    setFaults: (spec) => void emu.setFaults(spec),
    close: () => emu.close(),
  };
}

/**
 * The backend for an emulator running in another process (`vertex-mcp emulator` prints its
 * `endpoint`: `host:grpcPort,gcsPort`), reached over gRPC and HTTP.
 */
export function emulatorBackend(
  endpoint: string | EmulatorEndpoint,
  opts: { token?: string; location?: string } = {},
): BackendConfig {
  let target: EmulatorEndpoint;
  if (typeof endpoint === 'string') {
    const m = /^([\w.-]+):(\d+)(?:,(\d+))?$/.exec(endpoint);
    if (!m) throw new Error(`emulator endpoint ${JSON.stringify(endpoint)}: expected host:grpcPort[,gcsPort]`);
    target = { host: m[1]!, grpcPort: Number(m[2]), ...(m[3] ? { httpPort: Number(m[3]) } : {}) };
  } else target = { ...endpoint };
  if (opts.token) target.token = opts.token;
  return {
    kind: 'emulator',
    endpoint: async () => target,
    project: EMULATOR_PROJECT,
    location: opts.location ?? DEFAULT_LOCATION,
  };
}

/**
 * The example multi-agent logs shipped with the package (`halo-routing.jsonl`,
 * `halo-routing-heldout.jsonl`, `se-darwin-archive/`): inputs for prepare_dataset that work from
 * any directory. Pass it in `allowedRoots` so the library may read them.
 */
export function examplesDir(): string {
  const root = packageRoot();
  if (!root) throw new Error('vertex-mcp: cannot find the package root (package.json) above this module');
  return path.join(root, 'examples');
}
