// Golden snapshots of every request the library sends to Vertex AI, so the wire format vertex mode
// depends on is pinned: a recording gRPC proxy, built here from the same .proto files the emulator
// serves (@grpc/proto-loader + @grpc/grpc-js), sits between the library's official clients and the
// emulator. It registers every unary method of those services, decodes and records each request,
// and forwards the raw bytes with the incoming metadata (the emulator may require a per-start
// secret there), returning the emulator's answer unchanged. A fixed scenario drives the library
// through MCP; volatile values (ids, timestamps, ports, random suffixes) are normalised, and each
// RPC's distinct requests are compared with __golden__/<rpc>.json.
//
// A change to any of these files is a change to what real Vertex AI receives: review it, then
// update with `npx vitest run test/reliability/golden.test.ts -u`.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_FILES as EMULATED_PROTO_FILES, SERVICES as EMULATED_SERVICES } from '../../src/emulator/index.js';
import { protoIncludeDirs } from '../../src/emulator/protos.js';
import {
  cleanupDirs,
  figures,
  putRouter,
  type RStack,
  routerArgs,
  routingJsonl,
  startRStack,
  task,
} from './support.js';

const require = createRequire(import.meta.url);

// What the emulator serves (src/emulator/index.ts, and its MetricService from @google-cloud/monitoring).
const PROTO_FILES = [...EMULATED_PROTO_FILES, 'google/monitoring/v3/metric_service.proto'];
const SERVICES = [...EMULATED_SERVICES, 'google.monitoring.v3.MetricService'];
/** The requests the brief names: each must be seen, or the scenario no longer covers it. */
const REQUIRED = [
  'UploadModel',
  'MergeVersionAliases',
  'UpdateModel',
  'ImportModelEvaluation',
  'DeployModel',
  'UndeployModel',
  'UpdateEndpoint',
  'Predict',
  'CreateTuningJob',
  'CreateTuningJob.v1beta1',
  'ListTimeSeries',
  'CreateContext',
  'UpdateContext',
];

type Def = grpc.MethodDefinition<unknown, unknown>;

function monitoringProtoDir(): string {
  return path.join(path.dirname(require.resolve('@google-cloud/monitoring/package.json')), 'build/protos');
}

/** The services, loaded with proto field names (snake_case) so the snapshots read like the protos. */
function loadDefinitions(): Record<string, Record<string, Def>> {
  const pkg = protoLoader.loadSync(PROTO_FILES, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: false,
    json: true,
    includeDirs: [...protoIncludeDirs(), monitoringProtoDir()],
  });
  const out: Record<string, Record<string, Def>> = {};
  for (const s of SERVICES) {
    const svc = pkg[s];
    if (!svc || 'format' in svc) throw new Error(`service ${s} not found`);
    out[s] = svc as unknown as Record<string, Def>;
  }
  return out;
}

interface Recorded {
  service: string;
  method: string;
  request: unknown;
}

/** Metadata the transport sets itself; everything else (x-goog-*, secrets) is forwarded. */
const TRANSPORT_KEYS = new Set([
  'user-agent',
  'content-type',
  'te',
  'host',
  ':authority',
  'grpc-accept-encoding',
  'grpc-encoding',
  'grpc-timeout',
  'accept-encoding',
]);

async function startProxy(target: string) {
  const defs = loadDefinitions();
  const upstream = new grpc.Client(target, grpc.credentials.createInsecure());
  const recorded: Recorded[] = [];
  const server = new grpc.Server();
  const identity = (x: unknown) => x as Buffer;
  for (const [service, methods] of Object.entries(defs)) {
    const raw: Record<string, Def> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [method, d] of Object.entries(methods)) {
      if (d.requestStream || d.responseStream) continue;
      raw[method] = { ...d, requestDeserialize: identity, responseSerialize: identity } as Def;
      handlers[method] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        recorded.push({ service, method, request: d.requestDeserialize(call.request) });
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(call.metadata.getMap())) if (!TRANSPORT_KEYS.has(k)) md.set(k, v);
        upstream.makeUnaryRequest(
          d.path,
          identity,
          identity,
          call.request,
          md,
          { deadline: call.getDeadline() },
          (err, res) => (err ? cb({ code: err.code, details: err.details, metadata: err.metadata }) : cb(null, res)),
        );
      };
    }
    server.addService(raw as grpc.ServiceDefinition, handlers);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return {
    port,
    recorded,
    close: () =>
      new Promise<void>((r) => {
        upstream.close();
        server.tryShutdown(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Normalisation

const EPOCH_S = [1_500_000_000, 4_000_000_000];
const EPOCH_MS = [1_500_000_000_000, 4_000_000_000_000];

function normaliseString(s: string): string {
  return s
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{12,}\b/g, '<hex>')
    .replace(/\b\d{6,}\b/g, '<id>');
}

function normalise(v: unknown, key = ''): unknown {
  if (key === 'etag' && typeof v === 'string') return '<etag>'; // server-issued; its presence is the format
  // Stats windows reach back to a minute boundary: their alignment period is W to W+60 s, per call.
  if (key === 'alignment_period' && v && typeof v === 'object') {
    const secs = Number((v as { seconds?: unknown }).seconds);
    if (secs > 60) return { seconds: '<window>' };
  }
  if (typeof v === 'string') {
    const n = Number(v);
    if (/^\d+$/.test(v) && n >= EPOCH_S[0]! && n < EPOCH_MS[1]!) return '<epoch>';
    return normaliseString(v);
  }
  if (typeof v === 'number') {
    if ((v >= EPOCH_S[0]! && v < EPOCH_S[1]!) || (v >= EPOCH_MS[0]! && v < EPOCH_MS[1]!)) return '<epoch>';
    if (/(_ms|seconds|elapsed|_at)$/.test(key) && !Number.isInteger(v)) return '<duration>';
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => normalise(x, key));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    // A google.protobuf.Timestamp (a Duration keeps its small seconds).
    if (keys.every((k) => k === 'seconds' || k === 'nanos') && Number(o.seconds) >= EPOCH_S[0]!) return '<timestamp>';
    // Keys that normalise alike (deployed-model ids in a traffic split) keep all their values, sorted.
    const groups = new Map<string, unknown[]>();
    for (const k of keys) {
      const nk = normaliseString(k);
      groups.set(nk, [...(groups.get(nk) ?? []), normalise(o[k], k)]);
    }
    const out: Record<string, unknown> = {};
    for (const nk of [...groups.keys()].sort()) {
      const vs = groups.get(nk)!;
      out[nk] =
        vs.length === 1
          ? vs[0]
          : vs
              .map((x) => JSON.stringify(x))
              .sort()
              .map((x) => JSON.parse(x));
    }
    return out;
  }
  return v;
}

/**
 * JSON laid out as biome formats it (the repository's formatter runs over these files): objects
 * expanded, two-space indent; an array of primitives on one line when it fits in 120 columns.
 */
function stringify(v: unknown, indent = '', prefix = 0): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every((x) => x === null || typeof x !== 'object')) {
      const line = `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
      if (indent.length + prefix + line.length + 1 <= 120) return line;
    }
    const inner = `${indent}  `;
    return `[\n${v.map((x) => `${inner}${stringify(x, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    return `{\n${entries
      .map(([k, x]) => {
        const key = `${JSON.stringify(k)}: `;
        return `${inner}${key}${stringify(x, inner, key.length)}`;
      })
      .join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------------

let s: RStack;
let proxy: Awaited<ReturnType<typeof startProxy>>;
const started = Date.now();

beforeAll(async () => {
  s = await startRStack({
    backend: async (emu, base) => {
      proxy = await startProxy(`127.0.0.1:${emu.grpcPort}`);
      if (base.kind !== 'emulator') throw new Error('expected an emulator backend');
      const endpoint = base.endpoint;
      // Everything the emulator's endpoint carries (a secret, when it has one) goes along, except
      // its in-process channel: the calls must cross the recording proxy.
      return {
        ...base,
        endpoint: async () => ({
          ...(await endpoint()),
          host: '127.0.0.1',
          grpcPort: proxy.port,
          channelFactory: undefined,
        }),
      };
    },
  });
}, 60_000);

afterAll(async () => {
  await s?.close();
  await proxy?.close();
  cleanupDirs();
});

/** The scenario: every library path that talks to Vertex AI, in a fixed order. */
async function scenario() {
  const art = await putRouter(s.emu, 'golden/router');
  const TRAIN = 'gs://vertex-mcp-emulator/golden/train.jsonl';
  const PAIRS = 'gs://vertex-mcp-emulator/golden/pairs.jsonl';
  await s.emu.gcs.write(TRAIN, routingJsonl(0, 60));
  await s.emu.gcs.write(
    PAIRS,
    Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ input: task(i).text, chosen: task(i).agent, rejected: 'x' }),
    ).join('\n'),
  );
  const tags = ['golden', 'router'];
  await s.ok(
    'upload_model',
    routerArgs('golden', '1.0.0', art, {
      performance_metrics: { accuracy: 0.81, latency_p95_ms: 40 },
      cost_metrics: { cost_per_1k_requests_usd: 0.2 },
      tags,
      base_model: 'local/text-router',
      description: 'golden scenario',
      source: 'manual',
    }),
  );
  await s.ok('upload_model', routerArgs('golden', '1.1.0', art, { performance_metrics: { accuracy: 0.86 } }));
  await s.ok('upload_model', routerArgs('golden', '2.0.0-rc.1', art, { deployment_stage: 'staging' }));
  await s.ok('promote_model', { name: 'golden', version: '1.0.0', target_stage: 'staging' });
  await s.ok('promote_model', { name: 'golden', version: '1.0.0' });
  await s.ok('update_model_metrics', {
    name: 'golden',
    version: '1.1.0',
    performance_metrics: { accuracy: 0.87 },
    cost_metrics: { cost_per_1k_requests_usd: 0.25 },
  });
  await s.ok('get_model', { name: 'golden' });
  await s.ok('get_model', { name: 'golden', version: '1.1.0' });
  await s.ok('list_models', { name: 'golden', stage: 'production' });
  await s.ok('list_models', { source: 'manual', tags: ['golden'] });
  await s.ok('compare_model_versions', { name: 'golden', version_a: '1.0.0', version_b: '1.1.0' });

  await s.ok('create_endpoint', { display_name: 'golden-ep', min_replicas: 1, max_replicas: 2 });
  await s.ok('deploy_model', { endpoint: 'golden-ep', name: 'golden', version: '1.0.0' });
  await s.ok('list_endpoints');
  for (let i = 0; i < 3; i++) await s.ok('predict', { endpoint: 'golden-ep', instances: [task(i).text] });
  await s.ok('predict', { endpoint: 'golden-ep', instances: [{ text: task(9).text }], parameters: { top_k: 2 } });
  await s.ok('deploy_model', { endpoint: 'golden-ep', name: 'golden', version: '1.1.0', traffic_percentage: 20 });
  await s.ok('set_traffic_split', {
    endpoint: 'golden-ep',
    traffic_split: { '1.0.0': 70, '1.1.0': 30 },
    confirm: true,
  });
  await s.ok('get_metrics', { endpoint: 'golden-ep', kind: 'performance', window_seconds: 600 });
  await s.ok('get_metrics', { endpoint: 'golden-ep', kind: 'cost', window_seconds: 600 });
  await s.ok('get_endpoint_stats', { endpoint: 'golden-ep', window_seconds: 600 });
  await s.ok('undeploy_model', { endpoint: 'golden-ep', name: 'golden', version: '1.1.0', confirm: true });

  await s.ok('start_ab_test', {
    endpoint: 'golden-ep',
    name: 'golden-test',
    model: 'golden',
    control: '1.0.0',
    treatment: '1.1.0',
    primary_metric: 'accuracy',
    minimum_detectable_effect: 0.1,
    baseline: { value: 0.7 },
    max_duration_seconds: 86_400,
    confirm: true,
  });
  await s.ok('get_ab_test', { test: 'golden-test' });
  await s.ok('list_ab_tests', {});
  await s.ok('conclude_ab_test', { test: 'golden-test', action: 'rollback', confirm: true });

  const sup = await s.ok('submit_tuning_job', {
    tuning_type: 'supervised',
    base_model: 'local/text-router',
    dataset: { train_uri: TRAIN, validation_uri: TRAIN },
    hyperparameters: { epochs: 2, learning_rate_multiplier: 0.5, batch_size: 16, seed: 7, early_stopping_patience: 1 },
    display_name: 'golden-supervised',
    output: { name: 'golden-tuned', version: '1.0.0' },
    wait: true,
    wait_seconds: 30,
  });
  await s.ok('submit_tuning_job', {
    tuning_type: 'peft',
    base_model: 'local/text-router',
    dataset: { train_uri: TRAIN },
    hyperparameters: { epochs: 1, adapter_size: 8 },
    wait: true,
    wait_seconds: 30,
  });
  await s.ok('submit_tuning_job', {
    tuning_type: 'distillation',
    base_model: 'local/text-router',
    teacher_model: 'golden@1.0.0',
    dataset: { train_uri: TRAIN },
    hyperparameters: { epochs: 1 },
    wait: true,
    wait_seconds: 30,
  });
  await s.ok('submit_tuning_job', {
    tuning_type: 'rlhf',
    base_model: 'local/text-router',
    dataset: { train_uri: PAIRS },
    hyperparameters: { epochs: 1 },
    wait: true,
    wait_seconds: 30,
  });
  await s.ok('get_tuning_job', { job: sup.job });
  await s.ok('register_tuned_model', { job: sup.job, name: 'golden-tuned', version: '1.1.0', tags: ['tuned'] });
  await s.ok('list_tuning_jobs', { state: 'SUCCEEDED', limit: 10 });
  await s.ok('delete_model', { name: 'golden', version: '2.0.0-rc.1', confirm: true });
  await s.ok('delete_endpoint', { endpoint: 'golden-ep', force: true, confirm: true });
}

describe('the wire format the library sends to Vertex AI', () => {
  it('records every request of the scenario through the proxy', async () => {
    await scenario();
    expect(proxy.recorded.length).toBeGreaterThan(50);
  }, 120_000);

  it('matches the golden requests, one file per RPC', async () => {
    const byRpc = new Map<string, Set<string>>();
    const services = new Map<string, string>();
    for (const r of proxy.recorded) {
      const rpc = r.service.includes('.v1beta1.') ? `${r.method}.v1beta1` : r.method;
      services.set(rpc, r.service);
      const set = byRpc.get(rpc) ?? new Set<string>();
      set.add(JSON.stringify(normalise(r.request)));
      byRpc.set(rpc, set);
    }
    figures('golden.test.ts', {
      requests_recorded: proxy.recorded.length,
      rpcs: byRpc.size,
      distinct_requests: [...byRpc.values()].reduce((n, x) => n + x.size, 0),
      per_rpc: Object.fromEntries([...byRpc].map(([k, v]) => [k, v.size])),
      seconds: (Date.now() - started) / 1000,
    });
    expect([...byRpc.keys()]).toEqual(expect.arrayContaining(REQUIRED));
    for (const [rpc, set] of [...byRpc].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const doc = {
        rpc: `${services.get(rpc)}/${rpc.replace('.v1beta1', '')}`,
        requests: [...set].sort().map((x) => JSON.parse(x)),
      };
      await expect(`${stringify(doc)}\n`).toMatchFileSnapshot(`./__golden__/${rpc}.json`);
    }
  }, 60_000);
});
