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
        const { host, httpPort } = await this.backend.endpoint();
        if (!httpPort) throw new VertexMcpError('UNAVAILABLE', 'the emulator has no GCS endpoint');
        // No credentials: the emulator's GCS accepts anonymous requests on loopback.
        return withClose(
          new Storage({
            apiEndpoint: `http://${host}:${httpPort}`,
            projectId: this.backend.project,
            token: 'emulator',
          } as never),
        );
      }
      await assertCredentials(this.backend.project);
      return withClose(new Storage({ projectId: this.backend.project }));
    });
  }

  async close(): Promise<void> {
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
      p = this.clientOptions().then(make);
      p.then((c) => this.created.push(c)).catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  private clientOptions(): Promise<ClientOptions> {
    this.options ??= resolveOptions(this.backend).catch((err) => {
      this.options = undefined; // let a later call try again (e.g. after `gcloud auth`)
      throw err;
    });
    return this.options;
  }
}

async function resolveOptions(backend: BackendConfig): Promise<ClientOptions> {
  if (backend.kind === 'emulator') {
    const [{ host, grpcPort }, { grpc }] = await Promise.all([backend.endpoint(), import('google-gax')]);
    // The emulator speaks plaintext gRPC on loopback; insecure credentials skip auth. Naming the
    // project and universe stops google-auth from probing the GCE metadata server (a network call).
    return {
      apiEndpoint: host,
      port: grpcPort,
      sslCreds: grpc.credentials.createInsecure(),
      projectId: backend.project,
      universeDomain: 'googleapis.com',
    };
  }
  await assertCredentials(backend.project);
  return { apiEndpoint: `${backend.location}-aiplatform.googleapis.com`, projectId: backend.project };
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
