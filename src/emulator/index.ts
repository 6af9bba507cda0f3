// The embedded Vertex AI emulator: one gRPC host serving the emulated services over SQLite state.
// Started in-process by `vertex-mcp` in emulator mode, or standalone by `vertex-mcp emulator`.
import { type Faults, GrpcHost, type Log, NO_FAULTS } from './host.js';
import { Operations } from './operations.js';
import { loadServices } from './protos.js';
import { createModelService } from './services/model_service.js';
import { Store } from './store.js';

export interface EmulatorOptions {
  /** Directory for emulator.sqlite, or ':memory:'. */
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  grpcPort?: number;
  faults?: Faults;
  log?: Log;
}

export interface Emulator {
  host: string;
  grpcPort: number;
  store: Store;
  close(): Promise<void>;
}

/** The services context each emulated service is built from. */
export interface ServiceContext {
  store: Store;
  operations: Operations;
  log: Log;
}

const PROTO_FILES = ['google/cloud/aiplatform/v1/model_service.proto', 'google/longrunning/operations.proto'];

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const log = opts.log ?? (() => {});
  const store = new Store(opts.dataDir);
  const operations = new Operations(store);
  const ctx: ServiceContext = { store, operations, log };
  const defs = loadServices(PROTO_FILES, ['google.cloud.aiplatform.v1.ModelService', 'google.longrunning.Operations']);
  const host = new GrpcHost(opts.faults ?? NO_FAULTS, log);
  host.addService(defs['google.cloud.aiplatform.v1.ModelService']!, createModelService(ctx));
  host.addService(defs['google.longrunning.Operations']!, operations.impl());
  const bindHost = opts.host ?? '127.0.0.1';
  const grpcPort = await host.listen(bindHost, opts.grpcPort ?? 0);
  return {
    host: bindHost,
    grpcPort,
    store,
    async close() {
      await host.close();
      store.close();
    },
  };
}
