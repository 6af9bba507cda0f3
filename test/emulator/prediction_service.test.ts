// Contract tests for the emulated PredictionService.Predict, through Google's official clients
// over gRPC: serving, seeded traffic routing (checked statistically and exactly), the prediction
// records monitoring reads, and refusals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MetricServiceClient } from '@google-cloud/monitoring/build/src/v3/metric_service_client.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { iteratePredictions } from '../../src/emulator/predictions.js';
import { loadPredictor, type RouterArtifact } from '../../src/emulator/runtime/index.js';
import { fromValue, MAX_REQUEST_BYTES } from '../../src/emulator/services/prediction_service.js';
import { toValue } from '../../src/emulator/struct.js';
import { pickDeployedModel, routeDraw, routingSeed } from '../../src/emulator/traffic.js';
import { clientOptions, expectStatus } from './grpc.js';
import { artifact, type Clients, connect, parent, uploadLocal } from './serving.js';

// No GCE metadata server here: skip google-auth's probe for it.
process.env.METADATA_SERVER_DETECTION = 'none';

const endpointName = (id: string) => `${parent}/endpoints/${id}`;

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;
const INTERNAL = 13;

/** Chi-square critical value for 1 degree of freedom at alpha = 0.01. */
const CHI2_1DOF_ALPHA_001 = 6.635;

async function createEndpoint(c: Clients, id: string): Promise<string> {
  const [op] = await c.endpoints.createEndpoint({ parent, endpointId: id, endpoint: { displayName: id } });
  return (await op.promise())[0].name!;
}

async function deploy(c: Clients, endpoint: string, model: string, trafficSplit?: Record<string, number>) {
  const [op] = await c.endpoints.deployModel({
    endpoint,
    deployedModel: { model, dedicatedResources: { machineSpec: { machineType: 'n1-standard-4' }, minReplicaCount: 1 } },
    ...(trafficSplit ? { trafficSplit } : {}),
  });
  return (await op.promise())[0].deployedModel!;
}

/** Requests (first rows) of one endpoint, by deployed model and response code. */
function requestCounts(emu: Emulator, endpoint: string): Record<string, number> {
  const rows = emu.store.db
    .prepare(
      `SELECT deployed_model_id AS dm, response_code AS code, COUNT(*) AS n FROM predictions
       WHERE endpoint = ? AND request_first = 1 GROUP BY deployed_model_id, response_code`,
    )
    .all(endpoint) as { dm: string; code: number; n: number }[];
  return Object.fromEntries(rows.map((r) => [`${r.dm}/${r.code}`, r.n]));
}

const PREFIX = 'aiplatform.googleapis.com/prediction/online/';
const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** One metric of one endpoint over the last `windowS` seconds, summed: ints, or the distribution's count. */
async function metricTotal(
  metrics: MetricServiceClient,
  endpoint: string,
  metric: string,
  extra = '',
  windowS = 600,
): Promise<number> {
  const end = Date.now() + 1000;
  const [series] = await metrics.listTimeSeries({
    name: 'projects/p',
    filter: `metric.type = "${PREFIX}${metric}" AND resource.labels.endpoint_id = "${endpoint.split('/').pop()}"${extra}`,
    interval: { startTime: ts(end - windowS * 1000), endTime: ts(end) },
    aggregation: { alignmentPeriod: { seconds: windowS }, perSeriesAligner: 'ALIGN_DELTA' },
  } as any);
  let total = 0;
  for (const s of series) {
    for (const p of s.points ?? []) {
      total += p.value?.distributionValue ? Number(p.value.distributionValue.count) : Number(p.value?.int64Value);
    }
  }
  return total;
}

/** Rows of one endpoint's predictions, by deployed model and response code. */
function rowCounts(emu: Emulator, endpoint: string): Record<string, number> {
  const rows = emu.store.db
    .prepare(
      `SELECT deployed_model_id AS dm, response_code AS code, COUNT(*) AS n FROM predictions WHERE endpoint = ?
       GROUP BY deployed_model_id, response_code`,
    )
    .all(endpoint) as { dm: string; code: number; n: number }[];
  return Object.fromEntries(rows.map((r) => [`${r.dm}/${r.code}`, r.n]));
}

let artA: RouterArtifact;
let artB: RouterArtifact;

beforeAll(() => {
  artA = artifact(['coder', 'writer']);
  artB = artifact(['coder', 'writer', 'math_agent'], 2);
});

describe('PredictionService.Predict (emulated, official client)', () => {
  let emu: Emulator;
  let c: Clients;
  let modelA: string;
  let modelB: string;
  let ab: string;
  let dmA: string;
  let dmB: string;

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    c = connect(emu);
    modelA = await uploadLocal(emu, c, 'router-a', artA);
    modelB = await uploadLocal(emu, c, 'router-b', artB);
    ab = await createEndpoint(c, 'ab-test');
    dmA = (await deploy(c, ab, modelA)).id!;
    dmB = (await deploy(c, ab, modelB, { '0': 20, [dmA]: 80 })).id!;
  });

  afterAll(async () => {
    await c.close();
    await emu.close();
  });

  it('serves one prediction per instance: strings and objects with text, prompt, input or content', async () => {
    const texts = ['coder task number 3', 'writer task number 7', 'math_agent task number 2', 'coder task', 'writer'];
    const instances = [
      toValue(texts[0]),
      toValue({ text: texts[1] }),
      toValue({ prompt: texts[2], temperature: 0 }),
      toValue({ input: texts[3] }),
      toValue({ content: texts[4], text: 7 }),
    ];
    const [res] = await c.predictions.predict({ endpoint: ab, instances });
    expect([dmA, dmB]).toContain(res.deployedModelId);
    const isA = res.deployedModelId === dmA;
    expect(res.model).toBe((isA ? modelA : modelB).split('@')[0]);
    expect(res.modelVersionId).toBe('1');
    expect(res.modelDisplayName).toBe(isA ? 'router-a model' : 'router-b model');
    const local = loadPredictor(isA ? artA : artB);
    const predictions = res.predictions!.map((p) => fromValue(p) as Record<string, unknown>);
    expect(predictions).toHaveLength(5);
    predictions.forEach((p, i) => {
      const expected = local.predict(texts[i]!);
      expect(p).toEqual({
        output: expected.output,
        confidence: expected.confidence,
        via: expected.via,
        prediction_id: expect.stringMatching(/^\d+$/),
      });
      // The prediction id is the row that records it.
      const row = emu.store.db.prepare('SELECT * FROM predictions WHERE id = ?').get(Number(p.prediction_id)) as Record<
        string,
        unknown
      >;
      expect(row).toMatchObject({
        endpoint: ab,
        deployed_model_id: res.deployedModelId,
        model: isA ? modelA : modelB,
        response_code: 200,
        input: texts[i],
        output: expected.output,
        input_tokens: texts[i]!.split(' ').length,
        output_tokens: 1,
        request_bytes: JSON.stringify(fromValue(instances[i])).length,
        response_bytes: JSON.stringify(p).length,
      });
      // The request's latencies are on its first row; the other rows carry none.
      expect(row.request_first).toBe(i === 0 ? 1 : 0);
      if (i === 0) {
        expect(row.latency_ms as number).toBeGreaterThan(0);
        expect(row.overhead_ms as number).toBeGreaterThan(0);
      } else {
        expect([row.latency_ms, row.overhead_ms]).toEqual([0, 0]);
      }
    });
  });

  it('counts a Predict with 5 instances as 1 response, 5 predictions and 1 latency value', async () => {
    const name = await createEndpoint(c, 'five-instances');
    const dm = (await deploy(c, name, modelA)).id!;
    const [res] = await c.predictions.predict({
      endpoint: name,
      instances: Array.from({ length: 5 }, (_, i) => toValue(`coder task number ${i}`)),
    });
    expect(res.predictions).toHaveLength(5);
    const metrics = new MetricServiceClient(clientOptions(emu) as any);
    try {
      expect(await metricTotal(metrics, name, 'response_count')).toBe(1);
      expect(await metricTotal(metrics, name, 'prediction_count')).toBe(5);
      expect(await metricTotal(metrics, name, 'error_count')).toBe(0);
      for (const lt of ['model', 'overhead', 'total']) {
        expect(
          await metricTotal(metrics, name, 'prediction_latencies', ` AND metric.labels.latency_type = "${lt}"`),
        ).toBe(1);
      }
      expect(requestCounts(emu, name)).toEqual({ [`${dm}/200`]: 1 });
    } finally {
      await metrics.close();
    }
  });

  it('adds the output distribution when parameters ask for it', async () => {
    const [res] = await c.predictions.predict({
      endpoint: ab,
      instances: [toValue('coder task number 1')],
      parameters: toValue({ include_distribution: true }),
    });
    const p = fromValue(res.predictions![0]) as { output: string; distribution: { output: string; p: number }[] };
    expect(p.distribution.length).toBeGreaterThanOrEqual(2);
    expect(p.distribution[0]!.output).toBe(p.output);
    expect(p.distribution.reduce((s, d) => s + d.p, 0)).toBeCloseTo(1, 5);
  });

  it('routes 3,000 requests 80/20: exactly the seeded draws, and a chi-square test at alpha 0.01', async () => {
    const name = await createEndpoint(c, 'split-80-20');
    const a = (await deploy(c, name, modelA)).id!;
    const b = (await deploy(c, name, modelB, { '0': 20, [a]: 80 })).id!;
    const [ep] = await c.endpoints.getEndpoint({ name });
    expect(ep.trafficSplit).toEqual({ [a]: 80, [b]: 20 });
    const n = 3000;
    const counts: Record<string, number> = { [a]: 0, [b]: 0 };
    for (let sent = 0; sent < n; sent += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          c.predictions.predict({ endpoint: name, instances: [toValue(`task ${sent + i}`)] }),
        ),
      );
      for (const [res] of batch) counts[res.deployedModelId!]!++;
    }
    // Request k of the endpoint goes where draw k says, whatever order the requests arrive in.
    const seed = routingSeed(name);
    const expected: Record<string, number> = { [a]: 0, [b]: 0 };
    for (let k = 1; k <= n; k++) expected[pickDeployedModel({ [a]: 80, [b]: 20 }, routeDraw(seed, k))!]!++;
    expect(counts).toEqual(expected);
    // Pearson's chi-square against 80/20, 1 degree of freedom: must stay under 6.635 (alpha 0.01).
    const chi2 = (counts[a]! - 0.8 * n) ** 2 / (0.8 * n) + (counts[b]! - 0.2 * n) ** 2 / (0.2 * n);
    console.log(
      `80/20 over ${n} requests: ${counts[a]} / ${counts[b]}, chi-square ${chi2.toFixed(3)} (critical 6.635)`,
    );
    expect(chi2).toBeLessThan(CHI2_1DOF_ALPHA_001);
    // The records match the requests exactly.
    expect(rowCounts(emu, name)).toEqual({ [`${a}/200`]: counts[a], [`${b}/200`]: counts[b] });
  });

  it('routes a request sequence reproducibly: request k follows draw k of the endpoint seed', async () => {
    const name = await createEndpoint(c, 'sequence');
    const a = (await deploy(c, name, modelA)).id!;
    const b = (await deploy(c, name, modelB, { '0': 50, [a]: 50 })).id!;
    const routed: string[] = [];
    for (let k = 0; k < 50; k++) {
      routed.push((await c.predictions.predict({ endpoint: name, instances: [toValue('x')] }))[0].deployedModelId!);
    }
    const seed = routingSeed(name);
    expect(routed).toEqual(
      Array.from({ length: 50 }, (_, k) => pickDeployedModel({ [a]: 50, [b]: 50 }, routeDraw(seed, k + 1))),
    );
  });

  it('records exactly the requests sent: a row per instance, the first of each request marked, and a 400 row per refused request', async () => {
    const name = await createEndpoint(c, 'records');
    const a = (await deploy(c, name, modelA)).id!;
    const b = (await deploy(c, name, modelB, { '0': 40, [a]: 60 })).id!;
    const expected: Record<string, number> = {};
    const requests: Record<string, number> = {};
    const add = (key: string, k: number) => {
      expected[key] = (expected[key] ?? 0) + k;
      requests[key] = (requests[key] ?? 0) + 1;
    };
    for (let i = 0; i < 60; i++) {
      const size = 1 + (i % 4);
      const [res] = await c.predictions.predict({
        endpoint: name,
        instances: Array.from({ length: size }, (_, j) => toValue({ text: `request ${i} instance ${j}` })),
      });
      expect(res.predictions).toHaveLength(size);
      add(`${res.deployedModelId}/200`, size);
    }
    // Refused requests are routed first, so each is recorded once against its deployed model.
    const seed = routingSeed(name);
    for (let i = 0; i < 5; i++) {
      await expectStatus(c.predictions.predict({ endpoint: name, instances: [toValue(42)] }), INVALID_ARGUMENT);
      add(`${pickDeployedModel({ [a]: 60, [b]: 40 }, routeDraw(seed, 61 + i))}/400`, 1);
    }
    expect(rowCounts(emu, name)).toEqual(expected);
    expect(requestCounts(emu, name)).toEqual(requests);
    // Timestamps are the request times; the monitoring reader sees every row.
    const all = [...iteratePredictions(emu.store, name, 0, Date.now() + 1000)];
    expect(all).toHaveLength(Object.values(expected).reduce((s, k) => s + k, 0));
    expect(all.filter((r) => r.requestFirst)).toHaveLength(65);
    expect(all.filter((r) => !r.requestFirst).every((r) => r.latencyMs === 0 && r.overheadMs === 0)).toBe(true);
    expect(
      all.filter((r) => r.responseCode === 400).every((r) => r.input === null && r.latencyMs === 0 && r.requestFirst),
    ).toBe(true);
    // Monitoring counts requests in response_count, predictions in prediction_count.
    const metrics = new MetricServiceClient(clientOptions(emu) as any);
    try {
      expect(await metricTotal(metrics, name, 'response_count')).toBe(65);
      expect(await metricTotal(metrics, name, 'error_count')).toBe(5);
      expect(await metricTotal(metrics, name, 'prediction_count')).toBe(60 * 2.5 + 5);
      expect(
        await metricTotal(metrics, name, 'prediction_latencies', ' AND metric.labels.latency_type = "model"'),
      ).toBe(60);
    } finally {
      await metrics.close();
    }
  });

  it('refuses empty, oversized and unreadable requests with INVALID_ARGUMENT naming the rule', async () => {
    await expectStatus(
      c.predictions.predict({ endpoint: ab, instances: [] }),
      INVALID_ARGUMENT,
      /instances must not be empty/,
    );
    await expectStatus(c.predictions.predict({ endpoint: ab }), INVALID_ARGUMENT, /instances must not be empty/);
    const big = 'word '.repeat(Math.ceil(MAX_REQUEST_BYTES / 5) + 10);
    await expectStatus(
      c.predictions.predict({ endpoint: ab, instances: [toValue(big)] }),
      INVALID_ARGUMENT,
      /Request payload size exceeds the limit: 1572864 bytes \(1\.5 MB of JSON per online prediction request\); this request has \d+ bytes/,
    );
    // Just under the limit is served.
    const under = 'w'.repeat(MAX_REQUEST_BYTES - 100);
    const [ok] = await c.predictions.predict({ endpoint: ab, instances: [toValue(under)] });
    expect(ok.predictions).toHaveLength(1);
    const shapes =
      /each instance must be a string or an object with a string "text", "prompt", "input" or "content" field/;
    await expectStatus(
      c.predictions.predict({ endpoint: ab, instances: [toValue(3.5)] }),
      INVALID_ARGUMENT,
      /instances\[0\] is a number/,
    );
    await expectStatus(
      c.predictions.predict({ endpoint: ab, instances: [toValue('fine'), toValue(['a', 'b'])] }),
      INVALID_ARGUMENT,
      /instances\[1\] is a list/,
    );
    await expectStatus(
      c.predictions.predict({ endpoint: ab, instances: [toValue({ question: 'why?' })] }),
      INVALID_ARGUMENT,
      /instances\[0\] is an object with fields "question" and no string text field/,
    );
    await expectStatus(c.predictions.predict({ endpoint: ab, instances: [toValue(null)] }), INVALID_ARGUMENT, shapes);
    await expectStatus(
      c.predictions.predict({ endpoint: ab, instances: [toValue(true)] }),
      INVALID_ARGUMENT,
      /a boolean/,
    );
  });

  it('answers NOT_FOUND for unknown endpoints, INVALID_ARGUMENT for malformed names, FAILED_PRECONDITION without traffic', async () => {
    await expectStatus(
      c.predictions.predict({ endpoint: endpointName('nope'), instances: [toValue('x')] }),
      NOT_FOUND,
      /Endpoint .*nope does not exist/,
    );
    await expectStatus(c.predictions.predict({ endpoint: 'nope', instances: [toValue('x')] }), INVALID_ARGUMENT);
    const empty = await createEndpoint(c, 'empty');
    await expectStatus(
      c.predictions.predict({ endpoint: empty, instances: [toValue('x')] }),
      FAILED_PRECONDITION,
      /has no deployed models; deploy one with DeployModel/,
    );
    expect(rowCounts(emu, empty)).toEqual({});
  });

  it('measures throughput: Predict through the client vs in-process predictor calls (printed, not asserted)', async () => {
    const name = await createEndpoint(c, 'throughput');
    await deploy(c, name, modelA);
    const texts = Array.from({ length: 200 }, (_, i) => `coder task number ${i} about a python function`);
    for (const t of texts.slice(0, 20)) await c.predictions.predict({ endpoint: name, instances: [toValue(t)] });
    const n = 1000;
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await c.predictions.predict({ endpoint: name, instances: [toValue(texts[i % 200])] });
    const sequential = n / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (let sent = 0; sent < n; sent += 32) {
      await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          c.predictions.predict({ endpoint: name, instances: [toValue(texts[(sent + i) % 200])] }),
        ),
      );
    }
    const concurrent = n / ((performance.now() - t0) / 1000);
    const local = loadPredictor(artA);
    t0 = performance.now();
    const m = 20_000;
    for (let i = 0; i < m; i++) local.predict(texts[i % 200]!);
    const inProcess = m / ((performance.now() - t0) / 1000);
    console.log(
      `Predict via the official client: ${sequential.toFixed(0)} req/s sequential, ${concurrent.toFixed(0)} req/s with 32 in flight; in-process predictor: ${inProcess.toFixed(0)} calls/s`,
    );
    expect(sequential).toBeGreaterThan(0);
  });
});

describe('PredictionService after a restart (temp data dir)', () => {
  it('adds request_first to a predictions table from before it: old rows count as one request each', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-predict-old-'));
    try {
      // The predictions table as earlier versions created it.
      const db = new Database(path.join(dataDir, 'emulator.sqlite'));
      db.exec(`
        CREATE TABLE predictions (
          id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, endpoint TEXT NOT NULL,
          deployed_model_id TEXT NOT NULL, model TEXT NOT NULL, latency_ms REAL NOT NULL,
          overhead_ms REAL NOT NULL, response_code INTEGER NOT NULL, request_bytes INTEGER NOT NULL,
          response_bytes INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
          input TEXT, output TEXT);`);
      const old = endpointName('old');
      const insert = db.prepare(
        `INSERT INTO predictions (time_ms, endpoint, deployed_model_id, model, latency_ms, overhead_ms, response_code,
           request_bytes, response_bytes, input_tokens, output_tokens, input, output)
         VALUES (?, ?, 'dm-old', 'm@1', 5, 1, 200, 10, 10, 1, 1, 'x', 'y')`,
      );
      for (let i = 0; i < 3; i++) insert.run(Date.now() - 1000 * (i + 1), old);
      db.close();

      const emu = await startEmulator({ dataDir });
      const metrics = new MetricServiceClient(clientOptions(emu) as any);
      try {
        const columns = emu.store.db.prepare('PRAGMA table_info(predictions)').all() as { name: string }[];
        expect(columns.map((col) => col.name)).toContain('request_first');
        expect(await metricTotal(metrics, old, 'response_count')).toBe(3);
        expect(await metricTotal(metrics, old, 'prediction_count')).toBe(3);
        expect(
          await metricTotal(metrics, old, 'prediction_latencies', ' AND metric.labels.latency_type = "model"'),
        ).toBe(3);
      } finally {
        await metrics.close();
        await emu.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('loads predictors lazily, and answers INTERNAL (recorded as 500) when an artifact has gone', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-predict-'));
    try {
      let emu = await startEmulator({ dataDir });
      let c = connect(emu);
      const model = await uploadLocal(emu, c, 'fragile', artA);
      const keep = await uploadLocal(emu, c, 'sturdy', artB);
      const fragile = await createEndpoint(c, 'fragile');
      const sturdy = await createEndpoint(c, 'sturdy');
      const dm = await deploy(c, fragile, model);
      await deploy(c, sturdy, keep);
      await c.close();
      await emu.close();

      emu = await startEmulator({ dataDir });
      c = connect(emu);
      const [res] = await c.predictions.predict({ endpoint: sturdy, instances: [toValue('math_agent task number 4')] });
      expect(fromValue(res.predictions![0])).toMatchObject({
        output: loadPredictor(artB).predict('math_agent task number 4').output,
      });
      const [uploaded] = await c.models.getModel({ name: model });
      await emu.gcs.delete(`${uploaded.artifactUri}/model.json`);
      await expectStatus(
        c.predictions.predict({ endpoint: fragile, instances: [toValue('x')] }),
        INTERNAL,
        new RegExp(`deployed model ${dm.id} \\(${model}\\) failed to serve the request: .*cannot read its artifact`),
      );
      expect(rowCounts(emu, fragile)).toEqual({ [`${dm.id}/500`]: 1 });
      await c.close();
      await emu.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
