// The build's proto cuts (scripts/gen-protos.ts, src/lib/protos.ts): complete for every service
// the library calls, and byte-for-byte the same wire format as the full protos.json.
import { createRequire } from 'node:module';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  cutFor,
  cutRoot,
  type MethodDefinition,
  PROTO_CUTS,
  protoCuts,
  serviceDefinitions,
  VERTEX_PROTO_SERVICES,
} from '../../src/lib/protos.js';

const require = createRequire(import.meta.url);
const AIP = '.google.cloud.aiplatform.v1';

describe('proto cuts', () => {
  const cuts = protoCuts();
  const full = protobuf.Root.fromJSON(require('@google-cloud/aiplatform/build/protos/protos.json'));
  const cut = protobuf.Root.fromJSON(cutFor(VERTEX_PROTO_SERVICES)!.json);

  it('are built from the installed packages (npm test builds first)', () => {
    for (const c of PROTO_CUTS) expect(cuts.get(c.pkg), `${c.file}.json`).not.toBeNull();
    expect(cutFor(['google.monitoring.v3.MetricService'])).not.toBeNull();
    expect(cutFor(['google.cloud.aiplatform.v1.DatasetService'])).toBeNull();
  });

  it('keep every method of every service, with its request, response and operation result types', () => {
    for (const name of VERTEX_PROTO_SERVICES) {
      const a = full.lookupService(name);
      const b = cut.lookupService(name);
      expect(Object.keys(b.methods).sort()).toEqual(Object.keys(a.methods).sort());
    }
    for (const t of ['UploadModelResponse', 'UploadModelOperationMetadata', 'DeployModelResponse', 'TuningJob']) {
      expect(cut.lookupType(`${AIP}.${t}`).toJSON()).toEqual(full.lookupType(`${AIP}.${t}`).toJSON());
    }
  });

  it('encode and decode as the full protos do', () => {
    const samples: [string, Record<string, unknown>][] = [
      [
        `${AIP}.Model`,
        {
          name: 'projects/p/locations/l/models/m',
          versionAliases: ['v1-0-0', 'production'],
          labels: { stage: 'production' },
          containerSpec: { imageUri: 'us-docker.pkg.dev/x/y:1', env: [{ name: 'A', value: 'b' }] },
          deployedModels: [{ endpoint: 'e', deployedModelId: '42' }],
          versionCreateTime: { seconds: 1700000000, nanos: 5 },
        },
      ],
      [
        `${AIP}.PredictRequest`,
        {
          endpoint: 'projects/p/locations/l/endpoints/1',
          instances: [{ stringValue: 'route this' }, { structValue: { fields: { a: { numberValue: 1.5 } } } }],
        },
      ],
      [
        `${AIP}.DeployModelRequest`,
        {
          endpoint: 'e',
          deployedModel: { model: 'm', dedicatedResources: { machineSpec: { machineType: 'n1-standard-2' } } },
          trafficSplit: { '0': 100 },
        },
      ],
    ];
    for (const [type, value] of samples) {
      const A = full.lookupType(type);
      const B = cut.lookupType(type);
      const bytes = A.encode(A.fromObject(value)).finish();
      expect(Buffer.from(B.encode(B.fromObject(value)).finish())).toEqual(Buffer.from(bytes));
      expect(B.toObject(B.decode(bytes), { longs: String })).toEqual(A.toObject(A.decode(bytes), { longs: String }));
    }
  });

  // serviceDefinitions stands in for @grpc/proto-loader's fromJSON (without the reflection
  // descriptors): same paths and flags, same bytes, same decoded objects, with google-gax's options
  // and with the emulator's (json: true turns an Any into { '@type', ...fields }).
  it('give the gRPC definitions @grpc/proto-loader gives, for the clients and for the emulator', () => {
    const c = cutFor(VERTEX_PROTO_SERVICES)!;
    const gaxOptions = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };
    const emulatorOptions = { ...gaxOptions, defaults: false, json: true };
    const op = {
      name: 'projects/p/locations/l/operations/7',
      done: true,
      response: {
        type_url: 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse',
        value: full
          .lookupType(`${AIP}.UploadModelResponse`)
          .encode({ model: 'projects/p/locations/l/models/9' })
          .finish(),
      },
    };
    const calls: [string, string, object, object][] = [
      [
        'google.cloud.aiplatform.v1.ModelService',
        'GetModel',
        { name: 'projects/p/locations/l/models/m@2' },
        { name: 'm', versionId: '2', labels: { stage: 'staging' } },
      ],
      [
        'google.cloud.aiplatform.v1.PredictionService',
        'Predict',
        { endpoint: 'e', instances: [{ stringValue: 'x' }] },
        { predictions: [{ numberValue: 0.5 }], deployedModelId: '3' },
      ],
      ['google.longrunning.Operations', 'GetOperation', { name: op.name }, op],
    ];
    for (const options of [gaxOptions, emulatorOptions]) {
      const ours = serviceDefinitions(cutRoot(c), c.services, options);
      const theirs = protoLoader.fromJSON(c.json, options) as unknown as Record<
        string,
        Record<string, MethodDefinition>
      >;
      for (const [svc, method, req, res] of calls) {
        const a = ours[svc]![method]!;
        const b = theirs[svc]![method]!;
        expect([a.path, a.requestStream, a.responseStream, a.originalName]).toEqual([
          b.path,
          b.requestStream,
          b.responseStream,
          b.originalName,
        ]);
        const reqBytes = b.requestSerialize(req);
        const resBytes = b.responseSerialize(res);
        expect(a.requestSerialize(req)).toEqual(reqBytes);
        expect(a.responseSerialize(res)).toEqual(resBytes);
        expect(a.requestDeserialize(reqBytes)).toEqual(b.requestDeserialize(reqBytes));
        expect(a.responseDeserialize(resBytes)).toEqual(b.responseDeserialize(resBytes));
      }
    }
    // The emulator's options decode an operation's Any as JSON (what its services read and write).
    const emu = serviceDefinitions(cutRoot(c), c.services, emulatorOptions)['google.longrunning.Operations']!
      .GetOperation!;
    const decoded = emu.responseDeserialize(emu.responseSerialize(op)) as { response: Record<string, unknown> };
    expect(decoded.response['@type']).toBe('type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse');
    expect(decoded.response.model).toBe('projects/p/locations/l/models/9');
  });
});
