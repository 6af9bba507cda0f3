// The one factory for Google clients. Each client is imported from its per-service subpath and
// created on first use (loading @google-cloud/aiplatform costs about a second; start-up must not
// pay it), pointed at the emulator or at the regional Vertex AI endpoint.

import type { EndpointServiceClient } from '@google-cloud/aiplatform/build/src/v1/endpoint_service_client.js';
import type { GenAiTuningServiceClient } from '@google-cloud/aiplatform/build/src/v1/gen_ai_tuning_service_client.js';
import type { MetadataServiceClient } from '@google-cloud/aiplatform/build/src/v1/metadata_service_client.js';
import type { ModelServiceClient } from '@google-cloud/aiplatform/build/src/v1/model_service_client.js';
import type { PredictionServiceClient } from '@google-cloud/aiplatform/build/src/v1/prediction_service_client.js';
import type { GenAiTuningServiceClient as GenAiTuningServiceClientBeta } from '@google-cloud/aiplatform/build/src/v1beta1/gen_ai_tuning_service_client.js';
import type { MetricServiceClient } from '@google-cloud/monitoring/build/src/v3/metric_service_client.js';
import type { Storage } from '@google-cloud/storage';
import type { ClientOptions } from 'google-gax';
import { type BackendConfig, locationPath } from './config.js';
import { VertexMcpError } from './errors.js';

export class VertexClients {
  private options?: Promise<ClientOptions>;
  private readonly cache = new Map<string, Promise<unknown>>();
  private readonly created: { close(): Promise<void> }[] = [];
  private closed = false;

  constructor(readonly backend: BackendConfig) {}

  /** `projects/{project}/locations/{location}`, the parent of every resource we create. */
  get parent(): string {
    return locationPath(this.backend);
  }

  models(): Promise<ModelServiceClient> {
    return this.client('model', async (opts) => {
      const { ModelServiceClient } = await import('@google-cloud/aiplatform/build/src/v1/model_service_client.js');
      return new ModelServiceClient(opts);
    });
  }

  endpoints(): Promise<EndpointServiceClient> {
    return this.client('endpoint', async (opts) => {
      const m = await import('@google-cloud/aiplatform/build/src/v1/endpoint_service_client.js');
      return new m.EndpointServiceClient(opts);
    });
  }

  prediction(): Promise<PredictionServiceClient> {
    return this.client('prediction', async (opts) => {
      const m = await import('@google-cloud/aiplatform/build/src/v1/prediction_service_client.js');
      return new m.PredictionServiceClient(opts);
    });
  }

  tuning(): Promise<GenAiTuningServiceClient> {
    return this.client('tuning', async (opts) => {
      const m = await import('@google-cloud/aiplatform/build/src/v1/gen_ai_tuning_service_client.js');
      return new m.GenAiTuningServiceClient(opts);
    });
  }

  /** v1beta1, for what v1 cannot express yet (distillation_spec). */
  tuningBeta(): Promise<GenAiTuningServiceClientBeta> {
    return this.client('tuning-beta', async (opts) => {
      const m = await import('@google-cloud/aiplatform/build/src/v1beta1/gen_ai_tuning_service_client.js');
      return new m.GenAiTuningServiceClient(opts);
    });
  }

  metadata(): Promise<MetadataServiceClient> {
    return this.client('metadata', async (opts) => {
      const m = await import('@google-cloud/aiplatform/build/src/v1/metadata_service_client.js');
      return new m.MetadataServiceClient(opts);
    });
  }

  /** Cloud Monitoring (the emulator's MetricService in emulator mode). */
  monitoring(): Promise<MetricServiceClient> {
    return this.client('monitoring', async (opts) => {
      const m = await import('@google-cloud/monitoring/build/src/v3/metric_service_client.js');
      return new m.MetricServiceClient(opts);
    });
  }

  /** @google-cloud/storage, pointed at the emulator's GCS JSON API in emulator mode. */
  storage(): Promise<Storage> {
    return this.client('storage', async () => {
      const { Storage } = await import('@google-cloud/storage');
      if (this.backend.kind === 'emulator') {
        const { host, httpPort, token } = await this.backend.endpoint();
        if (!httpPort) throw new VertexMcpError('UNAVAILABLE', 'the emulator has no GCS endpoint');
        // A custom endpoint gets no Google credentials. The emulator's secret, when it has one,
        // goes in a request interceptor, which the client applies to every request it sends
        // (JSON API calls, downloads, and each request of a resumable upload).
        const storage = new Storage({ apiEndpoint: `http://${host}:${httpPort}`, projectId: this.backend.project });
        if (token) {
          const bearer = {
            request: (reqOpts: { headers?: Record<string, string> }) => {
              reqOpts.headers = { ...reqOpts.headers, Authorization: `Bearer ${token}` };
              return reqOpts;
            },
          };
          storage.interceptors.push(bearer as unknown as (typeof storage.interceptors)[number]);
        }
        return withClose(storage);
      }
      await assertCredentials(this.backend.project);
      return withClose(new Storage({ projectId: this.backend.project }));
    });
  }

  /**
   * Starts the emulator (its endpoint) and builds the clients most calls use, so the first call
   * does not pay for them. Emulator mode only: against Vertex AI it would resolve credentials
   * before anyone asked. Failures are left for the real call to report.
   */
  async prewarm(): Promise<void> {
    if (this.backend.kind !== 'emulator' || this.closed) return;
    const made = await Promise.all([this.models(), this.endpoints(), this.prediction()]);
    if (this.closed) return;
    await Promise.all(made.map((c) => c.initialize()));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.created.map((c) => c.close()));
    this.created.length = 0;
    this.cache.clear();
  }

  private client<T extends { close(): Promise<void> }>(
    key: string,
    make: (opts: ClientOptions) => Promise<T>,
  ): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = this.clientOptions()
        .then(make)
        .then((c) => (key === 'storage' ? c : guardRoutingHeaders(c)));
      p.then((c) => this.created.push(c)).catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  private clientOptions(): Promise<ClientOptions> {
    this.options ??= resolveOptions(this.backend)
      .then(async (opts) => {
        // Before the first client is built: the clients then find their protos parsed (protos.ts).
        const { seedGaxProtoCache } = await import('./protos.js');
        seedGaxProtoCache();
        return opts;
      })
      .catch((err) => {
        this.options = undefined; // let a later call try again (e.g. after `gcloud auth`)
        throw err;
      });
    return this.options;
  }
}

async function resolveOptions(backend: BackendConfig): Promise<ClientOptions> {
  if (backend.kind === 'emulator') {
    const [{ host, grpcPort, token, channelFactory }, { grpc }] = await Promise.all([
      backend.endpoint(),
      import('google-gax'),
    ]);
    // The emulator speaks plaintext gRPC on loopback; insecure credentials skip Google auth (and
    // carry the emulator's secret when it has one). Naming the project and universe stops
    // google-auth from probing the GCE metadata server (a network call). The embedded emulator
    // hands over an in-process channel: same clients and messages, no socket.
    return {
      apiEndpoint: host,
      port: grpcPort,
      sslCreds: token ? insecureWithToken(grpc, token) : grpc.credentials.createInsecure(),
      projectId: backend.project,
      universeDomain: 'googleapis.com',
      ...(channelFactory ? { 'grpc.channelFactoryOverride': channelFactory } : {}),
    };
  }
  await assertCredentials(backend.project);
  return { apiEndpoint: `${backend.location}-aiplatform.googleapis.com`, projectId: backend.project };
}

/**
 * The longest value a request may carry in a field the client copies into its routing header
 * (`x-goog-request-params`). Vertex AI resource names are well under 1 KB. A header over HTTP/2's
 * ~64 KB header-list limit makes the server drop the whole connection (COMPRESSION_ERROR), failing
 * every call in flight on the shared channel, so such a request is refused before it is sent.
 */
export const MAX_ROUTING_VALUE_BYTES = 4096;

/** Request fields the official clients copy into `x-goog-request-params` (and `X.name` for updates). */
const ROUTING_FIELDS = ['name', 'parent', 'endpoint', 'model', 'resource', 'context', 'execution', 'artifact'];

function checkRouting(method: string, request: unknown): void {
  const oversized = (v: unknown) =>
    typeof v === 'string' && v.length > MAX_ROUTING_VALUE_BYTES / 3 && Buffer.byteLength(v) > MAX_ROUTING_VALUE_BYTES;
  if (oversized(request)) {
    throw new VertexMcpError(
      'INVALID_ARGUMENT',
      `${method}: a resource name of ${Buffer.byteLength(request as string)} bytes is longer than any Vertex AI name (at most ${MAX_ROUTING_VALUE_BYTES}); not sent`,
    );
  }
  if (!request || typeof request !== 'object') return;
  for (const field of ROUTING_FIELDS) {
    const v = (request as Record<string, unknown>)[field];
    const value = v && typeof v === 'object' ? (v as { name?: unknown }).name : v;
    if (oversized(value)) {
      throw new VertexMcpError(
        'INVALID_ARGUMENT',
        `${method}: ${field} is ${Buffer.byteLength(value as string)} bytes, longer than any Vertex AI resource name (at most ${MAX_ROUTING_VALUE_BYTES}); not sent`,
      );
    }
  }
}

/**
 * The client, with every method checking its request's routing fields first (checkRouting): one
 * call with an absurd name must not take down the channel the other calls share.
 */
function guardRoutingHeaders<T extends object>(client: T): T {
  type Fn = (...a: unknown[]) => unknown;
  const wrapped = new WeakMap<Fn, Fn>();
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string' || prop.startsWith('_') || prop === 'constructor') {
        return value;
      }
      let fn = wrapped.get(value as Fn);
      if (!fn) {
        fn = (...args: unknown[]) => {
          checkRouting(prop, args[0]);
          return (value as Fn).apply(target, args);
        };
        wrapped.set(value as Fn, fn);
      }
      return fn;
    },
  });
}

type Grpc = typeof import('google-gax').grpc;

/**
 * Plaintext channel credentials that add `authorization: Bearer <token>` to every call's metadata.
 * grpc-js refuses to compose call credentials with `createInsecure()` (they are meant for TLS), so
 * this wraps the insecure connector and hands it the call credentials itself; every official client
 * (and the long-running-operations client inside it) then sends the token with no per-call code.
 */
function insecureWithToken(grpc: Grpc, token: string): InstanceType<Grpc['ChannelCredentials']> {
  const insecure = grpc.credentials.createInsecure();
  const bearer = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    callback(null, metadata);
  });
  type Connector = Parameters<typeof insecure._createSecureConnector>;
  class InsecureWithToken extends grpc.ChannelCredentials {
    override compose(): never {
      throw new Error('the emulator channel takes no further call credentials');
    }
    _isSecure(): boolean {
      return false;
    }
    _equals(other: unknown): boolean {
      return other instanceof InsecureWithToken && other.token === token;
    }
    get token(): string {
      return token;
    }
    _createSecureConnector(target: Connector[0], options: Connector[1], callCredentials?: Connector[2]) {
      return insecure._createSecureConnector(
        target,
        options,
        callCredentials ? callCredentials.compose(bearer) : bearer,
      );
    }
  }
  return new InsecureWithToken();
}

/** Fails fast, before any API call, when Application Default Credentials cannot be found. */
async function assertCredentials(project: string): Promise<void> {
  const { GoogleAuth } = await import('google-auth-library');
  try {
    await new GoogleAuth({
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      projectId: project,
    }).getClient();
  } catch (err) {
    throw new VertexMcpError(
      'UNAUTHENTICATED',
      `No Google Cloud credentials found for vertex mode (project ${project}): ${(err as Error).message.split('\n')[0]}`,
      'Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file; or drop --project to use the embedded emulator',
    );
  }
}

function withClose<T extends object>(client: T): T & { close(): Promise<void> } {
  return Object.assign(client, { close: async () => {} });
}
