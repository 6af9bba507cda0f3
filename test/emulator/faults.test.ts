// Fault injection: parsing `--faults` (global and per-deployed-model faults), and, through Google's
// official clients, a treatment slowed down and made to fail mid-test with Emulator.setFaults while
// the control on the same endpoint is unaffected.
import { performance } from 'node:perf_hooks';
import { MetricServiceClient } from '@google-cloud/monitoring/build/src/v3/metric_service_client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_SYNTAX, FaultInjector, NO_FAULTS, parseFaults } from '../../src/emulator/faults.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { Rng } from '../../src/emulator/runtime/prng.js';
import { toValue } from '../../src/emulator/struct.js';
import { clientOptions } from './grpc.js';
import { artifact, type Clients, connect, parent, uploadLocal } from './serving.js';

// No GCE metadata server here: skip google-auth's probe for it.
process.env.METADATA_SERVER_DETECTION = 'none';

const INTERNAL = 13;
const PREFIX = 'aiplatform.googleapis.com/prediction/online/';
const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

describe('parseFaults', () => {
  it('keeps the global faults as they were', () => {
    expect(parseFaults(undefined)).toEqual({ unavailable: 0, latencyMs: 0, models: {} });
    expect(parseFaults('')).toEqual(NO_FAULTS);
    expect(parseFaults('unavailable=0.1,latency=50ms')).toEqual({ unavailable: 0.1, latencyMs: 50, models: {} });
    expect(parseFaults('latency=20')).toMatchObject({ latencyMs: 20 });
  });

  it('reads latency[...] and errors[...] per deployed model display name', () => {
    expect(
      parseFaults('latency[router@1.1.0]=40ms, errors[router@1.1.0]=0.2,errors[router@1.0.0]=0,unavailable=0.01'),
    ).toEqual({
      unavailable: 0.01,
      latencyMs: 0,
      models: {
        'router@1.1.0': { latencyMs: 40, errorRate: 0.2 },
        'router@1.0.0': { latencyMs: 0, errorRate: 0 },
      },
    });
    // Display names may hold spaces and other punctuation; the last value of a key wins.
    expect(parseFaults('latency[my model (v2)]=5ms,latency[my model (v2)]=7.5ms').models).toEqual({
      'my model (v2)': { latencyMs: 7.5, errorRate: 0 },
    });
  });

  it.each([
    ['explode=1', /unknown fault "explode"; allowed: .*latency\[<deployed model display name>\]=<ms>ms/],
    ['errors=0.2', /errors needs a deployed model, as errors\[<deployed model display name>\]=<probability>/],
    ['errors[router@1.1.0]=1.5', /errors\[router@1\.1\.0\] must be a probability in \[0,1\], got "1\.5"/],
    ['errors[router@1.1.0]=', /must be a probability/],
    [
      'latency[router@1.1.0]=fast',
      /latency\[router@1\.1\.0\] must be a duration in milliseconds like 50ms, got "fast"/,
    ],
    ['latency=', /latency must be a duration/],
    ['latency[]=5ms', /names no deployed model between \[ and \]/],
    ['unavailable[router@1.1.0]=0.1', /unavailable applies to every call/],
    ['latency[router=5ms', /cannot read "latency\[router=5ms"; allowed: unavailable=<probability>/],
    ['unavailable=2', /unavailable must be a probability in \[0,1\], got "2"/],
  ])('refuses %s naming the accepted syntax', (spec, message) => {
    expect(() => parseFaults(spec)).toThrow(message);
  });

  it('names every fault in the accepted syntax', () => {
    for (const f of ['unavailable=', 'latency=', 'latency[', 'errors[']) expect(FAULT_SYNTAX).toContain(f);
  });

  it('draws errors from a seeded stream per display name, restarted when faults change', () => {
    const a = new FaultInjector(parseFaults('errors[router@1.1.0]=0.3,latency[router@1.1.0]=10ms'));
    const rng = new Rng('faults:router@1.1.0');
    const expected = Array.from({ length: 200 }, () => rng.float() < 0.3);
    expect(Array.from({ length: 200 }, () => a.forModel('router@1.1.0')!.fail)).toEqual(expected);
    expect(a.forModel('router@1.1.0')!.latencyMs).toBe(10);
    expect(a.forModel('router@1.0.0')).toBeUndefined();
    a.set(parseFaults('errors[router@1.1.0]=0.3'));
    expect(Array.from({ length: 200 }, () => a.forModel('router@1.1.0')!.fail)).toEqual(expected);
    const share = expected.filter(Boolean).length / expected.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
  });
});

describe('per-deployed-model faults through the official clients', () => {
  let emu: Emulator;
  let c: Clients;
  let metrics: MetricServiceClient;
  let endpoint: string;
  let control: string;
  let treatment: string;

  /** Sends n requests, `inFlight` at a time; returns the outcome per request. */
  async function send(n: number, inFlight = 50) {
    const out: { dm?: string; code?: number; message?: string }[] = [];
    for (let sent = 0; sent < n; sent += inFlight) {
      const batch = await Promise.allSettled(
        Array.from({ length: Math.min(inFlight, n - sent) }, (_, i) =>
          c.predictions.predict({ endpoint, instances: [toValue(`coder task number ${sent + i}`)] }),
        ),
      );
      for (const r of batch) {
        if (r.status === 'fulfilled') out.push({ dm: r.value[0].deployedModelId! });
        else out.push({ code: (r.reason as { code: number }).code, message: String((r.reason as Error).message) });
      }
    }
    return out;
  }

  /** The last 10 minutes of one metric of the endpoint, one ALIGN_DELTA point per deployed model. */
  async function metric(type: string, extra = '') {
    const end = Date.now() + 1000;
    const [series] = await metrics.listTimeSeries({
      name: 'projects/p',
      filter: `metric.type = "${PREFIX}${type}" AND resource.labels.endpoint_id = "faults"${extra}`,
      interval: { startTime: ts(end - 600_000), endTime: ts(end) },
      aggregation: { alignmentPeriod: { seconds: 600 }, perSeriesAligner: 'ALIGN_DELTA' },
    } as any);
    return Object.fromEntries(series.map((s) => [s.metric!.labels!.deployed_model_id!, s.points![0]!.value!]));
  }

  /** Requests (first rows) since `fromMs` by deployed model and response code. */
  function requests(fromMs: number): Record<string, number> {
    const rows = emu.store.db
      .prepare(
        `SELECT deployed_model_id AS dm, response_code AS code, COUNT(*) AS n FROM predictions
         WHERE endpoint = ? AND request_first = 1 AND time_ms >= ? GROUP BY dm, code`,
      )
      .all(endpoint, fromMs) as { dm: string; code: number; n: number }[];
    return Object.fromEntries(rows.map((r) => [`${r.dm}/${r.code}`, r.n]));
  }

  /** Recorded model latency of the served requests since `fromMs`, per deployed model. */
  function modelLatency(fromMs: number): Record<string, { n: number; min: number; max: number }> {
    const rows = emu.store.db
      .prepare(
        `SELECT deployed_model_id AS dm, COUNT(*) AS n, MIN(latency_ms) AS min, MAX(latency_ms) AS max FROM predictions
         WHERE endpoint = ? AND request_first = 1 AND response_code = 200 AND time_ms >= ? GROUP BY dm`,
      )
      .all(endpoint, fromMs) as { dm: string; n: number; min: number; max: number }[];
    return Object.fromEntries(rows.map(({ dm, ...r }) => [dm, r]));
  }

  const tick = async () => {
    await new Promise((r) => setTimeout(r, 5));
    return Date.now();
  };

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    c = connect(emu);
    metrics = new MetricServiceClient(clientOptions(emu) as any);
    const v1 = await uploadLocal(emu, c, 'router-v1', artifact(['coder', 'writer']));
    const v2 = await uploadLocal(emu, c, 'router-v2', artifact(['coder', 'writer'], 2));
    const [op] = await c.endpoints.createEndpoint({
      parent,
      endpointId: 'faults',
      endpoint: { displayName: 'faults' },
    });
    endpoint = (await op.promise())[0].name!;
    const deploy = async (model: string, displayName: string, trafficSplit?: Record<string, number>) => {
      const [d] = await c.endpoints.deployModel({
        endpoint,
        deployedModel: {
          model,
          displayName,
          dedicatedResources: { machineSpec: { machineType: 'n1-standard-4' }, minReplicaCount: 1 },
        },
        ...(trafficSplit ? { trafficSplit } : {}),
      });
      return (await d.promise())[0].deployedModel!.id!;
    };
    control = await deploy(v1, 'router@1.0.0');
    treatment = await deploy(v2, 'router@1.1.0', { '0': 50, [control]: 50 });
  });

  afterAll(async () => {
    await metrics.close();
    await c.close();
    await emu.close();
  });

  it('slows down and breaks only the treatment, reproducibly, once setFaults injects it mid-test', async () => {
    // Before: nothing injected.
    const t0 = Date.now();
    const before = await send(60);
    expect(before.every((r) => r.dm)).toBe(true);
    const clean = modelLatency(t0);
    expect(clean[treatment]!.max).toBeLessThan(20);

    emu.setFaults('latency[router@1.1.0]=40ms,errors[router@1.1.0]=0.2');
    const t1 = await tick();
    const started = performance.now();
    const during = await send(400);
    const elapsed = performance.now() - started;

    const failed = during.filter((r) => r.code !== undefined);
    for (const f of failed) {
      expect(f.code).toBe(INTERNAL);
      expect(f.message).toMatch(
        new RegExp(
          `deployed model ${treatment} .* failed to serve the request: injected fault errors\\[router@1\\.1\\.0\\]`,
        ),
      );
    }
    // Every request was routed: the served ones say where; the rows say where the failed ones went.
    const servedControl = during.filter((r) => r.dm === control).length;
    const servedTreatment = during.filter((r) => r.dm === treatment).length;
    expect(requests(t1)).toEqual({
      [`${control}/200`]: servedControl,
      [`${treatment}/200`]: servedTreatment,
      [`${treatment}/500`]: failed.length,
    });
    // The failures are exactly the seeded draws of the treatment's requests, in routing order.
    const treatmentRequests = servedTreatment + failed.length;
    const rng = new Rng('faults:router@1.1.0');
    let expectedFailures = 0;
    for (let i = 0; i < treatmentRequests; i++) if (rng.float() < 0.2) expectedFailures++;
    expect(failed.length).toBe(expectedFailures);
    const share = failed.length / treatmentRequests;
    console.log(
      `faults: treatment ${treatmentRequests} requests, ${failed.length} failed (${(100 * share).toFixed(1)}%, injected 20%); control ${servedControl} requests, none failed; ${elapsed.toFixed(0)} ms`,
    );
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.3);

    // The treatment's recorded model latency includes the injected 40 ms; the control's does not.
    const lat = modelLatency(t1);
    expect(lat[treatment]!.n).toBe(servedTreatment);
    expect(lat[treatment]!.min).toBeGreaterThanOrEqual(39);
    expect(lat[control]!.n).toBe(servedControl);
    expect(lat[control]!.max).toBeLessThan(20);

    // Monitoring (the whole test so far): the treatment's model latencies reach past 40 ms, the
    // control's stay fast; the failed requests are the treatment's.
    const dist = await metric('prediction_latencies', ' AND metric.labels.latency_type = "model"');
    expect(Number(dist[treatment]!.distributionValue!.count)).toBe(clean[treatment]!.n + servedTreatment);
    expect(dist[treatment]!.distributionValue!.range!.max).toBeGreaterThanOrEqual(39);
    expect(dist[control]!.distributionValue!.range!.max).toBeLessThan(20);
    const errors = await metric('error_count');
    expect(Object.keys(errors)).toEqual([treatment]);
    expect(Number(errors[treatment]!.int64Value)).toBe(failed.length);

    // Cleared: the treatment serves again, at full speed.
    emu.setFaults('');
    const t2 = await tick();
    const after = await send(60);
    expect(after.every((r) => r.dm)).toBe(true);
    expect(modelLatency(t2)[treatment]!.max).toBeLessThan(20);
  });

  it('setFaults refuses a bad spec and keeps the faults it had', async () => {
    emu.setFaults('latency=30ms');
    expect(() => emu.setFaults('latency[router@1.1.0]=soon')).toThrow(/must be a duration in milliseconds/);
    // The global latency is still on: every call waits 30 ms.
    const started = performance.now();
    await c.endpoints.getEndpoint({ name: endpoint });
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    expect(emu.setFaults('')).toEqual(NO_FAULTS);
  });
});
