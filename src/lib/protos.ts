// The Vertex AI protos the library calls, loaded once and small. Every official Vertex AI client
// loads @google-cloud/aiplatform's whole protos.json (2,500 types) on construction, which costs the
// first call 1-2 s; google-gax caches the result under a hash of that file. The build writes the
// closure of the services below (scripts/gen-protos.ts, a tenth of the types) with that hash, and
// seedGaxProtoCache puts it in google-gax's cache first, so the clients — unchanged — find it there.
// The emulator decodes with the same file (src/emulator/protos.ts). A different installed
// aiplatform (another hash) or a missing file: nothing is seeded and the clients load as usual.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { protobuf } from 'google-gax';
import { packageRoot } from './package_root.js';

const AIP = 'google.cloud.aiplatform';
/** Every Vertex AI service the library calls and the emulator serves (MetricService apart). */
export const VERTEX_PROTO_SERVICES = [
  `${AIP}.v1.ModelService`,
  `${AIP}.v1.GenAiTuningService`,
  `${AIP}.v1beta1.GenAiTuningService`,
  `${AIP}.v1.MetadataService`,
  `${AIP}.v1.EndpointService`,
  `${AIP}.v1.PredictionService`,
  'google.longrunning.Operations',
];

const require = createRequire(import.meta.url);

/** google-gax's cache key for a protos.json object (GrpcClient.loadProtoJSON, protobufFromJSON). */
export function protoSourceKey(json: unknown): string {
  const hash = require('object-hash') as (s: string) => string;
  return hash(JSON.stringify(json)).toString();
}

/** The protos.json files cut at build time, and the services each cut keeps. */
export const PROTO_CUTS = [
  { file: 'vertex', pkg: '@google-cloud/aiplatform', services: VERTEX_PROTO_SERVICES },
  { file: 'monitoring', pkg: '@google-cloud/monitoring', services: ['google.monitoring.v3.MetricService'] },
] as const;

export interface ProtoCut {
  /** protoSourceKey of the full protos.json the closure was cut from. */
  source: string;
  services: string[];
  /** protobufjs JSON of the closure. */
  json: Record<string, unknown>;
}

let loaded: Map<string, ProtoCut | null> | undefined;

/**
 * dist/protos/<file>.json of each cut that was made from the installed package's protos.json.
 * Found from the package root, so the tsc output, the bundle and the sources (tests) all find them.
 */
export function protoCuts(): Map<string, ProtoCut | null> {
  if (loaded) return loaded;
  loaded = new Map();
  for (const c of PROTO_CUTS) {
    let cut: ProtoCut | null = null;
    try {
      const root = packageRoot();
      const file = root && path.join(root, 'dist', 'protos', `${c.file}.json`);
      if (file && existsSync(file)) {
        const read = JSON.parse(readFileSync(file, 'utf8')) as ProtoCut;
        if (read.source === protoSourceKey(require(`${c.pkg}/build/protos/protos.json`))) cut = read;
      }
    } catch {
      // unreadable, or cut from another version: the slow path is still correct
    }
    loaded.set(c.pkg, cut);
  }
  return loaded;
}

/** The cut holding every one of `services`, if any. */
export function cutFor(services: readonly string[]): ProtoCut | null {
  for (const cut of protoCuts().values()) if (cut && services.every((s) => cut.services.includes(s))) return cut;
  return null;
}

const roots = new Map<string, protobuf.Root>();

/** The cut's protobufjs root, parsed once and shared by the clients' caches and the emulator. */
export function cutRoot(cut: ProtoCut): protobuf.Root {
  let root = roots.get(cut.source);
  if (!root) {
    // google-gax re-exports protobufjs (ours is a dev dependency only, so its types come from there too).
    root = (require('google-gax') as typeof import('google-gax')).protobuf.Root.fromJSON(cut.json);
    roots.set(cut.source, root);
  }
  return root;
}

/** The decoding options of @grpc/proto-loader that matter here (toObject's conversion options). */
export type DecodeOptions = protobuf.IConversionOptions;

/** A gRPC method as @grpc/grpc-js reads it from a package definition. */
export interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: (value: object) => Buffer;
  requestDeserialize: (bytes: Buffer) => object;
  responseSerialize: (value: object) => Buffer;
  responseDeserialize: (bytes: Buffer) => object;
  originalName: string;
}

/**
 * The named services of a root as a gRPC package definition: what @grpc/proto-loader's fromJSON
 * gives, with the same (de)serializers (fromObject + encode, decode + toObject with `options`), but
 * without the descriptor protos it builds for every message (reflection, which neither grpc-js nor
 * google-gax's gRPC clients read): 205 ms of parsing the Vertex cut twice becomes one 40 ms parse,
 * and each message type compiles its codec on first use.
 */
export function serviceDefinitions(
  root: protobuf.Root,
  services: readonly string[],
  options: DecodeOptions,
): Record<string, Record<string, MethodDefinition>> {
  const out: Record<string, Record<string, MethodDefinition>> = {};
  for (const name of services) {
    const methods: Record<string, MethodDefinition> = {};
    for (const m of root.lookupService(name).methodsArray) {
      m.resolve();
      const req = m.resolvedRequestType as protobuf.Type;
      const res = m.resolvedResponseType as protobuf.Type;
      methods[m.name] = {
        path: `/${name}/${m.name}`,
        requestStream: !!m.requestStream,
        responseStream: !!m.responseStream,
        requestSerialize: (v) => Buffer.from(req.encode(req.fromObject(v)).finish()),
        requestDeserialize: (b) => req.toObject(req.decode(b), options),
        responseSerialize: (v) => Buffer.from(res.encode(res.fromObject(v)).finish()),
        responseDeserialize: (b) => res.toObject(res.decode(b), options),
        originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
      };
    }
    out[name] = methods;
  }
  return out;
}

let seeded = false;

/** Puts the cuts in google-gax's proto caches (once), before the first client is built. */
export function seedGaxProtoCache(): void {
  if (seeded) return;
  seeded = true;
  for (const [pkg, cut] of protoCuts()) {
    if (!cut) continue;
    // The google-gax instance the package's clients themselves load.
    const fromClients = createRequire(require.resolve(`${pkg}/package.json`));
    // protoCache and defaultOptions are static members google-gax keeps private in its types.
    type Cache = { protoCache: Map<string, unknown>; defaultOptions(): DecodeOptions };
    const gax = fromClients('google-gax') as typeof import('google-gax');
    const grpcClient = gax.GrpcClient as unknown as Cache;
    const root = cutRoot(cut);
    const definition = serviceDefinitions(root, cut.services, grpcClient.defaultOptions());
    grpcClient.protoCache.set(cut.source, gax.grpc.loadPackageDefinition(definition as never));
    // The clients decode long-running operations' results with this root (protobufFromJSON).
    (gax.fallback.GrpcClient as unknown as Cache).protoCache.set(cut.source, root);
  }
}
