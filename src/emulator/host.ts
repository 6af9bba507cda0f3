// The emulator's gRPC host: serves service implementations written as plain
// `(request) => response` functions, turning thrown RpcErrors into gRPC statuses (messages capped,
// so one call's oversized status cannot stall the connection), injecting configured faults,
// requiring the per-start secret when one is set, and logging to stderr.
import { timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { capMessage, RpcError } from './errors.js';
import { FaultInjector } from './faults.js';
import type { ServiceDefinition } from './protos.js';

export { FaultInjector, type Faults, NO_FAULTS, parseFaults } from './faults.js';

export type UnaryHandler = (request: any, metadata: grpc.Metadata) => unknown;
export type ServiceImpl = Record<string, UnaryHandler>;

export type Log = (msg: string) => void;

export interface GrpcHostOptions {
  /**
   * A secret every call must carry as `authorization: Bearer <token>` metadata; calls without it
   * fail UNAUTHENTICATED. Unset: the host serves anyone who can reach its port.
   */
  token?: string;
}

/** How a call ends, for the in-process channel: the serialized response, or a status. */
export type UnaryOutcome = { code: 0; response: Buffer } | { code: grpc.status; details: string };

interface Method {
  fn: UnaryHandler | undefined;
  deserialize: (b: Buffer) => unknown;
  serialize: (v: unknown) => Buffer;
}

export class GrpcHost {
  readonly server = new grpc.Server();
  private readonly expected?: Buffer;
  /** Every served unary method by path, for calls that arrive without a socket (in_process.ts). */
  private readonly methods = new Map<string, Method>();

  constructor(
    /** Shared with the services (per-deployed-model faults); changeable while serving. */
    private readonly injector: FaultInjector = new FaultInjector(),
    private readonly log: Log = () => {},
    opts: GrpcHostOptions = {},
  ) {
    if (opts.token) this.expected = Buffer.from(`Bearer ${opts.token}`);
  }

  addService(definition: ServiceDefinition, impl: ServiceImpl): void {
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [method, spec] of Object.entries(definition)) {
      const fn = impl[method];
      if (spec.requestStream || spec.responseStream) continue; // Vertex's surface we emulate is unary.
      this.methods.set(spec.path, { fn, deserialize: spec.requestDeserialize, serialize: spec.responseSerialize });
      handlers[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        void this.dispatch(spec.path, fn, call.request, call.metadata, true).then((r) =>
          'value' in r ? callback(null, r.value) : callback(r),
        );
      };
    }
    this.server.addService(definition, handlers);
  }

  /**
   * One call that arrives without a socket (the in-process channel): the request bytes the client
   * serialized are decoded with the service definition, exactly as the server would, and the
   * response is encoded back. No token check: only the process that started the emulator holds
   * this function.
   */
  async unary(path: string, request: Buffer, metadata: grpc.Metadata): Promise<UnaryOutcome> {
    const method = this.methods.get(path);
    if (!method)
      return { code: grpc.status.UNIMPLEMENTED, details: `${path} is not served by the vertex-mcp emulator` };
    let decoded: unknown;
    try {
      decoded = method.deserialize(request);
    } catch (err) {
      return { code: grpc.status.INTERNAL, details: `request message parsing error: ${(err as Error).message}` };
    }
    const r = await this.dispatch(path, method.fn, decoded, metadata, false);
    return 'value' in r ? { code: 0, response: method.serialize(r.value) } : r;
  }

  private async dispatch(
    path: string,
    fn: UnaryHandler | undefined,
    request: unknown,
    metadata: grpc.Metadata,
    authenticate: boolean,
  ): Promise<{ value: unknown } | { code: grpc.status; details: string }> {
    try {
      if (authenticate) this.authenticate(metadata);
      const faults = this.injector.faults;
      if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
      if (faults.unavailable > 0 && Math.random() < faults.unavailable) {
        throw new RpcError(grpc.status.UNAVAILABLE, 'injected fault: service unavailable');
      }
      if (!fn) throw new RpcError(grpc.status.UNIMPLEMENTED, `${path} is not implemented by the vertex-mcp emulator`);
      return { value: await fn(request, metadata) };
    } catch (err) {
      // The one place statuses leave the emulator: services may quote a caller's value whole.
      if (err instanceof RpcError) return { code: err.code, details: capMessage(err.message) };
      this.log(`emulator: ${path} failed: ${err instanceof Error ? err.stack : String(err)}`);
      return { code: grpc.status.INTERNAL, details: `internal emulator error in ${path}` };
    }
  }

  private authenticate(metadata: grpc.Metadata): void {
    if (!this.expected) return;
    const sent = metadata.get('authorization')[0];
    const got = Buffer.from(typeof sent === 'string' ? sent : '');
    if (got.length !== this.expected.length || !timingSafeEqual(got, this.expected)) {
      throw new RpcError(
        grpc.status.UNAUTHENTICATED,
        sent === undefined
          ? 'this emulator requires its token: send the metadata "authorization: Bearer <token>" (the --emulator-token value)'
          : 'the emulator token does not match: send "authorization: Bearer <token>" with the --emulator-token value',
      );
    }
  }

  /** Binds host:port (0 = a free port) and returns the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      // Give in-flight calls a moment, then force.
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
