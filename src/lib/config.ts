// Which Vertex AI the library talks to. The library never starts the emulator itself: in emulator
// mode the caller (the CLI, a test) hands it a lazy endpoint, so nothing starts before first use.

export interface EmulatorEndpoint {
  host: string;
  grpcPort: number;
  /** The emulator's HTTP port (GCS JSON API); absent when it serves gRPC only. */
  httpPort?: number;
  /**
   * The secret the emulator requires on both ports, sent as `Authorization: Bearer <token>`
   * (gRPC metadata on every call, an HTTP header on every GCS request). Absent: none is sent.
   */
  token?: string;
  /**
   * A grpc-js channel factory reaching the emulator without a socket (the embedded emulator's
   * `channelFactory`): when present, every Google client uses it instead of host:grpcPort.
   */
  channelFactory?: (address: string, credentials: unknown, options: unknown) => unknown;
}

export type BackendConfig =
  | {
      kind: 'emulator';
      /** Resolves the emulator's address; called once, on the first call that needs Vertex. */
      endpoint: () => Promise<EmulatorEndpoint>;
      project: string;
      location: string;
    }
  | {
      kind: 'vertex';
      project: string;
      location: string;
      stagingBucket?: string;
    };

/** The project used for resource names when the emulator stands in for Vertex AI. */
export const EMULATOR_PROJECT = 'vertex-mcp-local';
export const DEFAULT_LOCATION = 'us-central1';

export function locationPath(backend: BackendConfig): string {
  return `projects/${backend.project}/locations/${backend.location}`;
}
