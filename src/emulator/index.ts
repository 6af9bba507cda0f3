// The embedded Vertex AI emulator: one gRPC host serving the emulated services over SQLite state.
// Started in-process by `vertex-mcp` in emulator mode, or standalone by `vertex-mcp emulator`.
// Next to it, an HTTP server speaks the GCS JSON API (src/emulator/gcs*.ts) for the storage client.
// With a token, both ports serve only callers that send it (`Authorization: Bearer <token>`).
import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { VERTEX_PROTO_SERVICES } from '../lib/protos.js';
import { Autoscaler, type AutoscalerOptions } from './autoscaler.js';
import { Gcs } from './gcs.js';
import { GcsError } from './gcs_errors.js';
import { closeServer, createGcsServer, listen } from './gcs_http.js';
import { FaultInjector, type Faults, GrpcHost, type Log, NO_FAULTS, parseFaults } from './host.js';
import { type ChannelFactory, inProcessChannelFactory } from './in_process.js';
import { lockDataDir } from './lock.js';
import { Operations } from './operations.js';
import { loadServices } from './protos.js';
import { PredictorCache } from './services/endpoint_runtime.js';
import { createEndpointService } from './services/endpoint_service.js';
import { createMetadataService } from './services/metadata_service.js';
import { createMetricService, loadMetricServiceDefinition } from './services/metric_service.js';
import { createModelService } from './services/model_service.js';
import { createPredictionService } from './services/prediction_service.js';
import { createTuningService } from './services/tuning_service.js';
import { Store } from './store.js';

export { DataDirLockedError } from './lock.js';

export interface EmulatorOptions {
  /** Directory for emulator.sqlite, or ':memory:'. */
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  grpcPort?: number;
  /** Port of the GCS JSON API; 0 (the default) picks a free port. */
  httpPort?: number;
  faults?: Faults;
  log?: Log;
  /** Replica autoscaling tick, scale-down cool-down and clock (tests). */
  autoscaler?: AutoscalerOptions;
  /**
   * A secret both ports require as `Authorization: Bearer <token>` (gRPC metadata, HTTP header):
   * the embedded emulator gets a fresh one per start, so only its own server can call it. Unset:
   * anyone who can reach the ports may call them (the standalone emulator's default).
   */
  token?: string;
}

export interface Emulator {
  host: string;
  grpcPort: number;
  /** The GCS JSON API: point @google-cloud/storage at `http://{host}:{httpPort}`. */
  httpPort: number;
  /** The secret callers must send (EmulatorOptions.token), when one is required. */
  token?: string;
  /**
   * A grpc-js channel factory that reaches this emulator without a socket (in_process.ts). The
   * library uses it when it is handed this emulator as its endpoint; callers in other processes
   * use grpcPort.
   */
  channelFactory: ChannelFactory;
  store: Store;
  /** The emulated Cloud Storage, for in-process use (gs:// URIs). */
  gcs: Gcs;
  /**
   * Replaces the injected faults while running (tests: slow down or break a treatment mid-test).
   * `spec` has the `--faults` syntax (faults.ts); '' clears them. Returns the parsed faults; a bad
   * spec throws and changes nothing.
   */
  setFaults(spec: string): Faults;
  close(): Promise<void>;
}

/** The services context each emulated service is built from. */
export interface ServiceContext {
  store: Store;
  /** The emulated Cloud Storage (datasets and artifacts by gs:// URI). */
  gcs: Gcs;
  operations: Operations;
  log: Log;
}

/** The Vertex AI protos and services the emulator's gRPC host serves (MetricService is added apart). */
export const PROTO_FILES = [
  'google/cloud/aiplatform/v1/model_service.proto',
  'google/cloud/aiplatform/v1/genai_tuning_service.proto',
  'google/cloud/aiplatform/v1beta1/genai_tuning_service.proto',
  'google/cloud/aiplatform/v1/metadata_service.proto',
  'google/cloud/aiplatform/v1/endpoint_service.proto',
  'google/cloud/aiplatform/v1/prediction_service.proto',
  'google/longrunning/operations.proto',
];
export const SERVICES = VERTEX_PROTO_SERVICES;
const AIP = 'google.cloud.aiplatform';

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const log = opts.log ?? (() => {});
  const unlock = lockDataDir(opts.dataDir, log);
  const store = new Store(opts.dataDir);
  const operations = new Operations(store);
  const gcs = new Gcs(store, opts.dataDir);
  const ctx: ServiceContext = { store, gcs, operations, log };
  const defs = loadServices(PROTO_FILES, SERVICES);
  const faults = new FaultInjector(opts.faults ?? NO_FAULTS);
  const host = new GrpcHost(faults, log, { token: opts.token });
  const models = createModelService(ctx);
  // v1 and v1beta1 share one implementation: v1 responses simply omit v1beta1-only fields.
  const tuning = createTuningService(ctx, { uploadModel: models.UploadModel!, getModel: models.GetModel! });
  host.addService(defs[`${AIP}.v1.ModelService`]!, models);
  host.addService(defs[`${AIP}.v1.GenAiTuningService`]!, tuning);
  host.addService(defs[`${AIP}.v1beta1.GenAiTuningService`]!, tuning);
  host.addService(defs[`${AIP}.v1.MetadataService`]!, createMetadataService(ctx));
  // Endpoints and predictions share the autoscaler (replica counts) and the loaded predictors.
  const serving = { autoscaler: new Autoscaler(store, opts.autoscaler), predictors: new PredictorCache(), faults };
  host.addService(defs[`${AIP}.v1.EndpointService`]!, createEndpointService(ctx, serving));
  host.addService(defs[`${AIP}.v1.PredictionService`]!, createPredictionService(ctx, serving));
  host.addService(defs['google.longrunning.Operations']!, operations.impl());
  host.addService(loadMetricServiceDefinition(), createMetricService(ctx));
  const bindHost = opts.host ?? '127.0.0.1';
  const http = createGcsServer(gcs, log);
  if (opts.token) requireToken(http, opts.token);
  let grpcPort: number;
  let httpPort: number;
  try {
    grpcPort = await host.listen(bindHost, opts.grpcPort ?? 0);
    httpPort = await listen(http, bindHost, opts.httpPort ?? 0);
  } catch (err) {
    serving.autoscaler.stop();
    await host.close();
    gcs.close();
    store.close();
    unlock();
    throw err;
  }
  serving.autoscaler.start();
  log(`emulator: GCS JSON API on http://${bindHost}:${httpPort}`);
  return {
    host: bindHost,
    grpcPort,
    httpPort,
    ...(opts.token ? { token: opts.token } : {}),
    channelFactory: inProcessChannelFactory(host),
    store,
    gcs,
    setFaults(spec: string) {
      const parsed = parseFaults(spec);
      faults.set(parsed);
      return parsed;
    },
    async close() {
      tuning.close();
      serving.autoscaler.stop();
      await Promise.all([host.close(), closeServer(http)]);
      gcs.close();
      store.close();
      unlock();
    },
  };
}

/**
 * Puts a bearer-token check in front of the GCS server's request handlers: a request without the
 * token is answered 401 as GCS answers it, and never reaches the emulated storage.
 */
function requireToken(server: http.Server, token: string): void {
  const expected = Buffer.from(`Bearer ${token}`);
  const handlers = server.listeners('request') as ((req: http.IncomingMessage, res: http.ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length === expected.length && timingSafeEqual(got, expected)) {
      for (const handle of handlers) handle.call(server, req, res);
      return;
    }
    req.resume(); // drain an upload's body; it is not read
    const err = new GcsError(
      401,
      req.headers.authorization
        ? 'The emulator token does not match: send Authorization: Bearer <token> with the --emulator-token value.'
        : 'Anonymous caller: this emulator requires its token (Authorization: Bearer <token>, the --emulator-token value).',
    );
    res.writeHead(401, { 'content-type': 'application/json; charset=UTF-8', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify(err.toJSON()));
  });
}
