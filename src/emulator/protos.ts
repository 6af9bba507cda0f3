// Loads the Vertex AI service definitions from the .proto files that ship inside
// @google-cloud/aiplatform and google-gax, so the emulator speaks exactly the wire format the
// official clients expect.
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { cutFor, cutRoot, serviceDefinitions } from '../lib/protos.js';

const require = createRequire(import.meta.url);

/** Directories holding google/cloud/aiplatform/** and google/{api,longrunning,protobuf,rpc}/**. */
export function protoIncludeDirs(): string[] {
  const aiplatform = path.join(path.dirname(require.resolve('@google-cloud/aiplatform/package.json')), 'build/protos');
  // google-gax does not export package.json; its main entry sits under build/src.
  const gaxMain = require.resolve('google-gax');
  const gax = path.join(gaxMain.slice(0, gaxMain.lastIndexOf(`${path.sep}build${path.sep}`)), 'build/protos');
  return [aiplatform, gax];
}

// json: true turns google.protobuf.Any into { '@type': url, ...fields } both ways, which is how
// long-running operations carry their typed responses and metadata.
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  json: true,
};

export type ServiceDefinition = grpc.ServiceDefinition<grpc.UntypedServiceImplementation>;

/**
 * Loads the given proto files and returns the named services' definitions. `extraIncludeDirs` are
 * searched after the Vertex AI and google-gax directories (e.g. @google-cloud/monitoring's protos).
 */
export function loadServices(
  files: string[],
  services: string[],
  extraIncludeDirs: string[] = [],
): Record<string, ServiceDefinition> {
  // The build's closure of the same protos (src/lib/protos.ts), when it holds every service asked
  // for: a tenth of the parsing. Otherwise the .proto files themselves.
  const cut = cutFor(services);
  const def: Record<string, unknown> = cut
    ? serviceDefinitions(cutRoot(cut), services, LOADER_OPTIONS)
    : protoLoader.loadSync(files, { ...LOADER_OPTIONS, includeDirs: [...protoIncludeDirs(), ...extraIncludeDirs] });
  const out: Record<string, ServiceDefinition> = {};
  for (const full of services) {
    const svc = def[full];
    // Message entries carry a `format` field; services are plain method maps.
    if (!svc || typeof svc !== 'object' || 'format' in svc)
      throw new Error(`service ${full} not found in ${files.join(', ')}`);
    out[full] = svc as unknown as ServiceDefinition;
  }
  return out;
}
