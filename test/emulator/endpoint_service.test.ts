// Contract tests for the emulated EndpointService (and the replica autoscaler), through Google's
// official clients over gRPC.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Autoscaler, METRIC } from '../../src/emulator/autoscaler.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { ensurePredictionTables, replicaEvents } from '../../src/emulator/predictions.js';
import type { RouterArtifact } from '../../src/emulator/runtime/index.js';
import { Store } from '../../src/emulator/store.js';
import { toValue } from '../../src/emulator/struct.js';
import { pickDeployedModel, routeDraw, routingSeed } from '../../src/emulator/traffic.js';
import { expectStatus } from './grpc.js';
import { artifact, type Clients, connect, parent, uploadLocal } from './serving.js';

// No GCE metadata server here: skip google-auth's probe for it.
process.env.METADATA_SERVER_DETECTION = 'none';

const modelName = (id: string) => `${parent}/models/${id}`;
const endpointName = (id: string) => `${parent}/endpoints/${id}`;

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const ABORTED = 10;

const dedicated = (min = 1, max = min, extra: Record<string, unknown> = {}) => ({
  machineSpec: { machineType: 'n1-standard-4' },
  minReplicaCount: min,
  maxReplicaCount: max,
  ...extra,
});

let artA: RouterArtifact;
let artB: RouterArtifact;

beforeAll(() => {
  artA = artifact(['coder', 'writer']);
  artB = artifact(['coder', 'writer', 'math_agent'], 2);
});

describe('EndpointService (emulated, official client)', () => {
  let emu: Emulator;
  let c: Clients;

  async function create(endpoint: Record<string, unknown> = {}, endpointId?: string) {
    const [op] = await c.endpoints.createEndpoint({
      parent,
      endpoint: { displayName: 'ep', ...endpoint },
      ...(endpointId ? { endpointId } : {}),
    });
    const [ep] = await op.promise();
    return ep;
  }

  async function deploy(
    endpoint: string,
    model: string,
    opts: {
      split?: Record<string, number>;
      id?: string;
      resources?: Record<string, unknown>;
      displayName?: string;
    } = {},
  ) {
    const [op] = await c.endpoints.deployModel({
      endpoint,
      deployedModel: {
        model,
        dedicatedResources: opts.resources ?? dedicated(),
        ...(opts.id ? { id: opts.id } : {}),
        ...(opts.displayName ? { displayName: opts.displayName } : {}),
      },
      ...(opts.split ? { trafficSplit: opts.split } : {}),
    });
    const [res] = await op.promise();
    return res.deployedModel!;
  }

  async function undeploy(endpoint: string, deployedModelId: string, split?: Record<string, number>) {
    const [op] = await c.endpoints.undeployModel({
      endpoint,
      deployedModelId,
      ...(split ? { trafficSplit: split } : {}),
    });
    await op.promise();
  }

  const get = async (name: string) => (await c.endpoints.getEndpoint({ name }))[0];
  const split = async (name: string) => ({ ...(await get(name)).trafficSplit });

  let modelA: string;
  let modelB: string;

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    c = connect(emu);
    modelA = await uploadLocal(emu, c, 'router-a', artA);
    modelB = await uploadLocal(emu, c, 'router-b', artB);
  });

  afterAll(async () => {
    await c.close();
    await emu.close();
  });

  describe('CreateEndpoint and GetEndpoint', () => {
    it('creates an endpoint with a generated numeric ID through a long-running operation', async () => {
      const [op] = await c.endpoints.createEndpoint({
        parent,
        endpoint: {
          displayName: 'router endpoint',
          description: 'routes tasks',
          labels: { team: 'agents' },
          dedicatedEndpointEnabled: true,
        },
      });
      expect(op.name).toMatch(/^projects\/p\/locations\/us-central1\/endpoints\/\d{10,}\/operations\/\d+$/);
      const [ep] = await op.promise();
      expect(ep.name).toMatch(/^projects\/p\/locations\/us-central1\/endpoints\/\d{10,}$/);
      expect(ep.displayName).toBe('router endpoint');
      expect(ep.description).toBe('routes tasks');
      expect(ep.labels).toEqual({ team: 'agents' });
      expect(ep.dedicatedEndpointEnabled).toBe(true);
      expect(ep.deployedModels).toEqual([]);
      expect(ep.trafficSplit).toEqual({});
      expect(ep.etag).toBeTruthy();
      expect(Number(ep.createTime!.seconds)).toBeGreaterThan(0);
      expect(await get(ep.name!)).toMatchObject({ name: ep.name, displayName: 'router endpoint' });
    });

    it('creates endpoints with caller-chosen IDs and refuses duplicates', async () => {
      expect((await create({}, 'my-endpoint-1')).name).toBe(endpointName('my-endpoint-1'));
      expect((await create({}, '123456789')).name).toBe(endpointName('123456789'));
      await expectStatus(
        c.endpoints.createEndpoint({ parent, endpointId: 'my-endpoint-1', endpoint: { displayName: 'x' } }),
        ALREADY_EXISTS,
        /my-endpoint-1 already exists/,
      );
    });

    it('validates the ID, display name, labels, split and parent', async () => {
      for (const id of ['My-Endpoint', 'ends-with-dash-', '0123', '1234567890', 'under_score', `a${'b'.repeat(63)}`]) {
        await expectStatus(
          c.endpoints.createEndpoint({ parent, endpointId: id, endpoint: { displayName: 'x' } }),
          INVALID_ARGUMENT,
          new RegExp(`endpoint_id "${id}" is invalid`),
        );
      }
      await expectStatus(
        c.endpoints.createEndpoint({ parent, endpoint: {} }),
        INVALID_ARGUMENT,
        /display_name is required/,
      );
      await expectStatus(
        c.endpoints.createEndpoint({ parent, endpoint: { displayName: 'x', labels: { Team: 'a' } } }),
        INVALID_ARGUMENT,
        /labels key "Team" is invalid/,
      );
      await expectStatus(
        c.endpoints.createEndpoint({ parent, endpoint: { displayName: 'x', trafficSplit: { '1': 100 } } }),
        INVALID_ARGUMENT,
        /traffic_split must be empty/,
      );
      await expectStatus(
        c.endpoints.createEndpoint({ parent: 'projects/p', endpoint: { displayName: 'x' } }),
        INVALID_ARGUMENT,
        /parent/,
      );
    });

    it('answers NOT_FOUND for an unknown endpoint and INVALID_ARGUMENT for a malformed name', async () => {
      await expectStatus(
        c.endpoints.getEndpoint({ name: endpointName('nope') }),
        NOT_FOUND,
        /Endpoint .*nope does not exist/,
      );
      await expectStatus(c.endpoints.getEndpoint({ name: 'endpoints/1' }), INVALID_ARGUMENT, /must look like/);
    });
  });

  describe('ListEndpoints', () => {
    const loc = 'projects/p/locations/europe-west4';
    beforeAll(async () => {
      for (const [id, displayName, labels] of [
        ['list-a', 'beta', { env: 'prod' }],
        ['list-b', 'alpha', { env: 'dev' }],
        ['list-c', 'gamma', { env: 'prod', 'a-b': 'c' }],
      ] as const) {
        const [op] = await c.endpoints.createEndpoint({
          parent: loc,
          endpointId: id,
          endpoint: { displayName, labels },
        });
        await op.promise();
      }
    });
    const names = (eps: { name?: string | null }[]) => eps.map((e) => e.name!.split('/').pop());

    it('lists a location in creation order, filtered and ordered', async () => {
      expect(names((await c.endpoints.listEndpoints({ parent: loc }))[0])).toEqual(['list-a', 'list-b', 'list-c']);
      expect(names((await c.endpoints.listEndpoints({ parent: loc, filter: 'labels.env="prod"' }))[0])).toEqual([
        'list-a',
        'list-c',
      ]);
      expect(names((await c.endpoints.listEndpoints({ parent: loc, filter: 'display_name="alpha"' }))[0])).toEqual([
        'list-b',
      ]);
      expect(names((await c.endpoints.listEndpoints({ parent: loc, filter: 'endpoint=list-c' }))[0])).toEqual([
        'list-c',
      ]);
      expect(names((await c.endpoints.listEndpoints({ parent: loc, filter: 'labels:a-b' }))[0])).toEqual(['list-c']);
      expect(names((await c.endpoints.listEndpoints({ parent: loc, orderBy: 'display_name desc' }))[0])).toEqual([
        'list-c',
        'list-a',
        'list-b',
      ]);
    });

    it('pages', async () => {
      const [page1, next] = await c.endpoints.listEndpoints({ parent: loc, pageSize: 2 }, { autoPaginate: false });
      expect(names(page1)).toEqual(['list-a', 'list-b']);
      const [page2, last] = await c.endpoints.listEndpoints(next!, { autoPaginate: false });
      expect(names(page2)).toEqual(['list-c']);
      expect(last).toBeNull();
    });

    it('rejects unsupported filter fields and order_by fields', async () => {
      await expectStatus(
        c.endpoints.listEndpoints({ parent: loc, filter: 'owner="me"' }),
        INVALID_ARGUMENT,
        /unsupported field "owner"/,
      );
      await expectStatus(c.endpoints.listEndpoints({ parent: loc, orderBy: 'etag' }), INVALID_ARGUMENT, /order_by/);
    });
  });

  describe('UpdateEndpoint and DeleteEndpoint', () => {
    it('updates the masked fields only, with a new etag', async () => {
      const ep = await create({ description: 'old', labels: { a: 'b' } });
      const [updated] = await c.endpoints.updateEndpoint({
        endpoint: { name: ep.name, displayName: 'renamed', description: 'ignored', labels: { stage: 'prod' } },
        updateMask: { paths: ['display_name', 'labels'] },
      });
      expect(updated.displayName).toBe('renamed');
      expect(updated.labels).toEqual({ stage: 'prod' });
      expect(updated.description).toBe('old');
      expect(updated.etag).not.toBe(ep.etag);
      expect(Number(updated.updateTime!.seconds) * 1e9 + updated.updateTime!.nanos!).toBeGreaterThanOrEqual(
        Number(ep.updateTime!.seconds) * 1e9 + ep.updateTime!.nanos!,
      );
    });

    it('refuses a stale etag, a missing mask, and fields that cannot be updated', async () => {
      const ep = await create();
      await c.endpoints.updateEndpoint({
        endpoint: { name: ep.name, description: 'v2' },
        updateMask: { paths: ['description'] },
      });
      await expectStatus(
        c.endpoints.updateEndpoint({
          endpoint: { name: ep.name, description: 'v3', etag: ep.etag },
          updateMask: { paths: ['description'] },
        }),
        ABORTED,
        /does not match the endpoint's current etag/,
      );
      await expectStatus(
        c.endpoints.updateEndpoint({ endpoint: { name: ep.name } }),
        INVALID_ARGUMENT,
        /update_mask is required/,
      );
      await expectStatus(
        c.endpoints.updateEndpoint({ endpoint: { name: ep.name }, updateMask: { paths: ['deployed_models'] } }),
        INVALID_ARGUMENT,
        /use DeployModel, UndeployModel/,
      );
      await expectStatus(
        c.endpoints.updateEndpoint({ endpoint: { name: ep.name }, updateMask: { paths: ['network'] } }),
        INVALID_ARGUMENT,
        /"network" cannot be updated; updatable: display_name, description, labels, traffic_split/,
      );
    });

    it('deletes an endpoint without deployed models through an operation', async () => {
      const ep = await create();
      const [op] = await c.endpoints.deleteEndpoint({ name: ep.name });
      await op.promise();
      await expectStatus(c.endpoints.getEndpoint({ name: ep.name }), NOT_FOUND);
      await expectStatus(c.endpoints.deleteEndpoint({ name: ep.name }), NOT_FOUND);
    });
  });

  describe('DeployModel', () => {
    it('deploys the first model with 100% of the traffic, resolving the default version', async () => {
      const ep = await create();
      const modelId = modelA.split('@')[0]!;
      const dm = await deploy(ep.name!, modelId, { resources: dedicated(2, 4) });
      expect(dm.id).toMatch(/^\d+$/);
      expect(dm.model).toBe(modelId);
      expect(dm.modelVersionId).toBe('1');
      expect(dm.displayName).toBe('router-a model');
      expect(dm.dedicatedResources).toMatchObject({
        machineSpec: { machineType: 'n1-standard-4' },
        minReplicaCount: 2,
        maxReplicaCount: 4,
      });
      expect(dm.status?.availableReplicaCount).toBe(2);
      const after = await get(ep.name!);
      expect(after.trafficSplit).toEqual({ [dm.id!]: 100 });
      expect(after.deployedModels!.map((d) => d.id)).toEqual([dm.id]);
      // The model version records the deployment.
      const [model] = await c.models.getModel({ name: modelA });
      expect(model.deployedModels!.map((d) => [d.endpoint, d.deployedModelId])).toEqual([[ep.name, dm.id]]);
      // The initial replica count is recorded.
      const events = replicaEvents(emu.store, ep.name!, Date.now() + 1000).filter((e) => e.deployedModelId === dm.id);
      expect(events.map((e) => e.replicas)).toEqual([2]);
      await undeploy(ep.name!, dm.id!);
    });

    it('resolves @version and @alias to a concrete version, and defaults the machine type and max replicas', async () => {
      const base = modelB.split('@')[0]!;
      const v2 = await uploadLocal(emu, c, 'router-b', artA, { parentModel: base, versionAliases: ['golden'] });
      expect(v2).toBe(`${base}@2`);
      const ep = await create();
      const dm = await deploy(ep.name!, `${base}@golden`, {
        id: '42',
        displayName: 'candidate',
        resources: { minReplicaCount: 1 },
      });
      expect(dm).toMatchObject({ id: '42', model: base, modelVersionId: '2', displayName: 'candidate' });
      expect(dm.dedicatedResources).toMatchObject({
        machineSpec: { machineType: 'n1-standard-2' },
        minReplicaCount: 1,
        maxReplicaCount: 1,
      });
      const dm1 = await deploy(ep.name!, `${base}@1`, { split: { '0': 10, '42': 90 } });
      expect(dm1.modelVersionId).toBe('1');
      expect(await split(ep.name!)).toEqual({ '42': 90, [dm1.id!]: 10 });
      const [versions] = await c.models.listModelVersions({ name: base });
      expect(versions.map((v) => v.deployedModels!.map((d) => d.deployedModelId))).toEqual([[dm1.id], ['42']]);
      await undeploy(ep.name!, dm1.id!, { '42': 100 });
      await undeploy(ep.name!, '42');
    });

    it('applies deploy-time splits: none (0% for the newcomer) and complete ones; refuses a lone {"0": p}', async () => {
      const ep = await create();
      const a = await deploy(ep.name!, modelA);
      // DeployModelRequest.traffic_split: "The traffic percentage values must add up to 100." The
      // emulator no longer rescales the others for a lone {"0": p}: Vertex refuses it.
      await expectStatus(
        c.endpoints.deployModel({
          endpoint: ep.name,
          deployedModel: { model: modelB, dedicatedResources: dedicated() },
          trafficSplit: { '0': 20 },
        }),
        INVALID_ARGUMENT,
        new RegExp(
          `\\{"0": 20\\} adds up to 20, not 100: the traffic percentage values must add up to 100; give the complete split, including the deployed models "${a.id}"`,
        ),
      );
      expect((await get(ep.name!)).deployedModels!.map((d) => d.id)).toEqual([a.id]);
      const b = await deploy(ep.name!, modelB, { split: { '0': 20, [a.id!]: 80 } });
      expect(await split(ep.name!)).toEqual({ [a.id!]: 80, [b.id!]: 20 });
      // No split: "the Endpoint's traffic_split is not updated" -> C gets nothing.
      const cc = await deploy(ep.name!, modelA);
      expect(await split(ep.name!)).toEqual({ [a.id!]: 80, [b.id!]: 20 });
      // A full split with "0" for the model being deployed.
      const d = await deploy(ep.name!, modelB, { split: { [a.id!]: 40, [b.id!]: 30, [cc.id!]: 5, '0': 25 } });
      expect(await split(ep.name!)).toEqual({ [a.id!]: 40, [b.id!]: 30, [cc.id!]: 5, [d.id!]: 25 });
      // {"0": 100} alone: the models not listed receive no traffic.
      const e = await deploy(ep.name!, modelA, { split: { '0': 100 } });
      expect(await split(ep.name!)).toEqual({ [e.id!]: 100 });
      for (const id of [a, b, cc, d].map((x) => x.id!)) await undeploy(ep.name!, id);
      await undeploy(ep.name!, e.id!); // the last one may carry traffic: the split ends up empty
      expect(await split(ep.name!)).toEqual({});
    });

    it('refuses bad splits with the sum or the unknown key, creating nothing', async () => {
      const ep = await create();
      const a = await deploy(ep.name!, modelA);
      const req = (trafficSplit: Record<string, number>) =>
        c.endpoints.deployModel({
          endpoint: ep.name,
          deployedModel: { model: modelB, dedicatedResources: dedicated() },
          trafficSplit,
        });
      await expectStatus(req({ '0': 30, [a.id!]: 60 }), INVALID_ARGUMENT, /must add up to 100, but .* adds up to 90/);
      await expectStatus(req({ '0': 30, '999': 70 }), INVALID_ARGUMENT, /key "999" is not a deployed model/);
      await expectStatus(req({ '0': 130 }), INVALID_ARGUMENT, /integers from 0 to 100/);
      await expectStatus(req({ '0': 30 }), INVALID_ARGUMENT, /adds up to 30, not 100/);
      expect((await get(ep.name!)).deployedModels!.map((d) => d.id)).toEqual([a.id]);
      await undeploy(ep.name!, a.id!);
    });

    it('validates replica counts and machine specs, naming the field', async () => {
      const ep = await create();
      const req = (dedicatedResources: Record<string, unknown>) =>
        c.endpoints.deployModel({ endpoint: ep.name, deployedModel: { model: modelA, dedicatedResources } });
      await expectStatus(
        req(dedicated(-1, 2)),
        INVALID_ARGUMENT,
        /dedicated_resources\.min_replica_count is -1; it must not be negative/,
      );
      await expectStatus(req(dedicated(1, -2)), INVALID_ARGUMENT, /dedicated_resources\.max_replica_count is -2/);
      // Bounded: the largest int32 is not a replica count (on Vertex AI, quota refuses it).
      await expectStatus(
        req(dedicated(2 ** 31 - 1)),
        INVALID_ARGUMENT,
        /dedicated_resources\.min_replica_count is 2147483647; at most 1000 is allowed/,
      );
      await expectStatus(
        req(dedicated(1, 1001)),
        INVALID_ARGUMENT,
        /dedicated_resources\.max_replica_count is 1001; at most 1000 is allowed/,
      );
      await expectStatus(
        req(dedicated(0, 2)),
        INVALID_ARGUMENT,
        /min_replica_count is 0; it must be greater than or equal to 1/,
      );
      await expectStatus(
        req(dedicated(3, 2)),
        INVALID_ARGUMENT,
        /max_replica_count \(2\) must be greater than or equal to min_replica_count \(3\)/,
      );
      await expectStatus(
        req({ ...dedicated(), machineSpec: { machineType: 'n1-standard-4', acceleratorType: 'NVIDIA_TESLA_T4' } }),
        INVALID_ARGUMENT,
        /accelerator_count must be at least 1/,
      );
      await expectStatus(
        req({ ...dedicated(), machineSpec: { machineType: 'n1-standard-4', acceleratorCount: 2 } }),
        INVALID_ARGUMENT,
        /accelerator_type is required/,
      );
      await expectStatus(
        req(dedicated(1, 2, { autoscalingMetricSpecs: [{ metricName: 'cpu', target: 50 }] })),
        INVALID_ARGUMENT,
        /metric_name "cpu" is not supported/,
      );
      await expectStatus(
        req(dedicated(1, 2, { autoscalingMetricSpecs: [{ metricName: METRIC.cpu, target: 150 }] })),
        INVALID_ARGUMENT,
        /target is 150/,
      );
      await expectStatus(
        c.endpoints.deployModel({ endpoint: ep.name, deployedModel: { model: modelA } }),
        INVALID_ARGUMENT,
        /dedicated_resources is required/,
      );
      await expectStatus(
        c.endpoints.deployModel({
          endpoint: ep.name,
          deployedModel: { model: modelA, automaticResources: { minReplicaCount: 1, maxReplicaCount: 2 } },
        }),
        INVALID_ARGUMENT,
        /does not support automatic_resources \(it supports DEDICATED_RESOURCES\)/,
      );
      await expectStatus(
        c.endpoints.deployModel({
          endpoint: ep.name,
          deployedModel: { model: modelA, id: '0', dedicatedResources: dedicated() },
        }),
        INVALID_ARGUMENT,
        /deployed_model\.id "0" is invalid/,
      );
      expect((await get(ep.name!)).deployedModels).toEqual([]);
    });

    it('accepts GPU machine specs and autoscaling targets', async () => {
      const ep = await create();
      const dm = await deploy(ep.name!, modelA, {
        resources: {
          machineSpec: { machineType: 'g2-standard-12', acceleratorType: 'NVIDIA_L4', acceleratorCount: 1 },
          minReplicaCount: 1,
          maxReplicaCount: 5,
          autoscalingMetricSpecs: [{ metricName: METRIC.dutyCycle, target: 70 }],
        },
      });
      expect(dm.dedicatedResources).toMatchObject({
        // The Node client decodes enums to numbers: NVIDIA_L4 = 11.
        machineSpec: { machineType: 'g2-standard-12', acceleratorType: 11, acceleratorCount: 1 },
        autoscalingMetricSpecs: [{ metricName: METRIC.dutyCycle, target: 70 }],
      });
      await undeploy(ep.name!, dm.id!);
    });

    it('refuses unknown models and endpoints, and duplicate deployed model IDs', async () => {
      const ep = await create();
      const req = (model: string, id?: string, endpoint = ep.name) =>
        c.endpoints.deployModel({ endpoint, deployedModel: { model, id, dedicatedResources: dedicated() } });
      await expectStatus(req(modelName('missing')), NOT_FOUND, /Model .*missing does not exist/);
      await expectStatus(req(`${modelA.split('@')[0]}@7`), NOT_FOUND, /has no version 7/);
      await expectStatus(
        req(modelA, undefined, endpointName('missing')),
        NOT_FOUND,
        /Endpoint .*missing does not exist/,
      );
      await expectStatus(req('models/x'), INVALID_ARGUMENT, /deployed_model\.model/);
      await deploy(ep.name!, modelA, { id: '7' });
      await expectStatus(req(modelB, '7'), ALREADY_EXISTS, /already has a deployed model with id 7/);
      await undeploy(ep.name!, '7');
    });

    it('refuses models the runtime cannot serve with FAILED_PRECONDITION and the reason', async () => {
      const ep = await create();
      const sklearn = await uploadLocal(emu, c, 'sklearn', artA, {
        imageUri: 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest',
      });
      await expectStatus(
        c.endpoints.deployModel({
          endpoint: ep.name,
          deployedModel: { model: sklearn, dedicatedResources: dedicated() },
        }),
        FAILED_PRECONDITION,
        /the emulator serves only local\/text-router models; use vertex mode for container us-docker\.pkg\.dev\/vertex-ai\/prediction\/sklearn-cpu\.1-3:latest/,
      );
      const [up] = await c.models.uploadModel({
        parent,
        modelId: 'no-artifact',
        model: {
          displayName: 'x',
          artifactUri: 'gs://vertex-mcp-emulator/nothing-here',
          containerSpec: { imageUri: 'local/text-router' },
        },
      });
      await up.promise();
      await expectStatus(
        c.endpoints.deployModel({
          endpoint: ep.name,
          deployedModel: { model: modelName('no-artifact'), dedicatedResources: dedicated() },
        }),
        FAILED_PRECONDITION,
        /artifact gs:\/\/vertex-mcp-emulator\/nothing-here\/model\.json does not exist/,
      );
      // A corrupt artifact is found while loading it: the operation fails.
      const corrupt = await uploadLocal(emu, c, 'corrupt', '{"format": "something else"}');
      const [op] = await c.endpoints.deployModel({
        endpoint: ep.name,
        deployedModel: { model: corrupt, dedicatedResources: dedicated() },
      });
      await expectStatus(
        op.promise(),
        FAILED_PRECONDITION,
        /is not a loadable local\/text-router model: artifact format/,
      );
      expect((await get(ep.name!)).deployedModels).toEqual([]);
      expect((await c.models.getModel({ name: corrupt }))[0].deployedModels).toEqual([]);
    });

    it('blocks deleting a deployed model version or an endpoint with deployed models, naming them', async () => {
      const model = await uploadLocal(emu, c, 'guarded', artA);
      const ep = await create();
      const dm = await deploy(ep.name!, model);
      await expectStatus(
        c.models.deleteModel({ name: model.split('@')[0] }),
        FAILED_PRECONDITION,
        new RegExp(`deployed to endpoint ${ep.name} \\(deployed model ${dm.id}\\)`),
      );
      await expectStatus(
        c.endpoints.deleteEndpoint({ name: ep.name }),
        FAILED_PRECONDITION,
        new RegExp(`still has deployed models: ${dm.id} \\(${model}\\); undeploy them first`),
      );
      await undeploy(ep.name!, dm.id!);
      const [delEp] = await c.endpoints.deleteEndpoint({ name: ep.name });
      await delEp.promise();
      const [delModel] = await c.models.deleteModel({ name: model.split('@')[0] });
      await delModel.promise();
    });
  });

  describe('UndeployModel', () => {
    // UndeployModelRequest.traffic_split: "A DeployedModel will be successfully undeployed only if it
    // doesn't have any traffic assigned to it when this method executes, or if this field unassigns
    // any traffic to it."
    it('refuses to undeploy a model that carries traffic unless the split unassigns it (nothing rescaled)', async () => {
      const ep = await create();
      const a = await deploy(ep.name!, modelA);
      const b = await deploy(ep.name!, modelB, { split: { '0': 30, [a.id!]: 70 } });
      const cc = await deploy(ep.name!, modelA, { split: { '0': 20, [a.id!]: 50, [b.id!]: 30 } });
      await expectStatus(
        c.endpoints.undeployModel({ endpoint: ep.name, deployedModelId: cc.id }),
        FAILED_PRECONDITION,
        new RegExp(
          `deployed model ${cc.id} has 20% of the endpoint's traffic assigned to it; a DeployedModel is undeployed only if it has no traffic assigned or if traffic_split unassigns its traffic`,
        ),
      );
      expect(await split(ep.name!)).toEqual({ [a.id!]: 50, [b.id!]: 30, [cc.id!]: 20 });
      expect((await get(ep.name!)).deployedModels!.map((d) => d.id)).toEqual([a.id, b.id, cc.id]);
      // With a split that unassigns it: what the library sends (largest remainder: 62.5/37.5 -> 63/37).
      await undeploy(ep.name!, cc.id!, { [a.id!]: 63, [b.id!]: 37 });
      expect(await split(ep.name!)).toEqual({ [a.id!]: 63, [b.id!]: 37 });
      // A model moved to 0% first undeploys without a split.
      await c.endpoints.updateEndpoint({
        endpoint: { name: ep.name, trafficSplit: { [a.id!]: 0, [b.id!]: 100 } },
        updateMask: { paths: ['traffic_split'] },
      });
      await undeploy(ep.name!, a.id!);
      expect(await split(ep.name!)).toEqual({ [b.id!]: 100 });
      const refs = (await c.models.getModel({ name: modelA }))[0].deployedModels!;
      expect(refs.filter((r) => r.endpoint === ep.name)).toEqual([]);
      await undeploy(ep.name!, b.id!);
    });

    it('refuses a split that still routes to the undeployed model, or an unknown ID', async () => {
      const ep = await create();
      const a = await deploy(ep.name!, modelA);
      const b = await deploy(ep.name!, modelB, { split: { '0': 50, [a.id!]: 50 } });
      await expectStatus(
        c.endpoints.undeployModel({
          endpoint: ep.name,
          deployedModelId: b.id,
          trafficSplit: { [a.id!]: 50, [b.id!]: 50 },
        }),
        INVALID_ARGUMENT,
        new RegExp(`assigns 50% to deployed model ${b.id}, which is being undeployed`),
      );
      await expectStatus(
        c.endpoints.undeployModel({ endpoint: ep.name, deployedModelId: b.id, trafficSplit: { [a.id!]: 90 } }),
        INVALID_ARGUMENT,
        /adds up to 90/,
      );
      await expectStatus(
        c.endpoints.undeployModel({ endpoint: ep.name, deployedModelId: '5555' }),
        NOT_FOUND,
        new RegExp(`has no deployed model 5555; deployed: ${a.id}, ${b.id}`),
      );
      await expectStatus(
        c.endpoints.undeployModel({ endpoint: ep.name }),
        INVALID_ARGUMENT,
        /deployed_model_id is required/,
      );
      // A model that carries all the traffic, next to models that carry none, needs a split.
      await c.endpoints.updateEndpoint({
        endpoint: { name: ep.name, trafficSplit: { [a.id!]: 100 } },
        updateMask: { paths: ['traffic_split'] },
      });
      await expectStatus(
        c.endpoints.undeployModel({ endpoint: ep.name, deployedModelId: a.id }),
        FAILED_PRECONDITION,
        /has 100% of the endpoint's traffic assigned to it; .* pass traffic_split/,
      );
      await undeploy(ep.name!, a.id!, { [b.id!]: 100 });
      await undeploy(ep.name!, b.id!);
    });

    it('undeploying the only model leaves an empty split; the endpoint then refuses predictions', async () => {
      const ep = await create();
      const a = await deploy(ep.name!, modelA);
      await undeploy(ep.name!, a.id!);
      const after = await get(ep.name!);
      expect(after.deployedModels).toEqual([]);
      expect(after.trafficSplit).toEqual({});
      await expectStatus(
        c.predictions.predict({ endpoint: ep.name, instances: [toValue('hello')] }),
        FAILED_PRECONDITION,
        /has no deployed models/,
      );
      const events = replicaEvents(emu.store, ep.name!, Date.now() + 1000);
      expect(events.map((e) => e.replicas)).toEqual([1, 0]);
    });
  });

  describe('UpdateEndpoint traffic_split', () => {
    it('sets a split over deployed models, or empties it; refuses sums other than 100 and unknown IDs', async () => {
      const ep = await create();
      const a = await deploy(ep.name!, modelA);
      const b = await deploy(ep.name!, modelB);
      const update = (trafficSplit: Record<string, number>) =>
        c.endpoints.updateEndpoint({
          endpoint: { name: ep.name, trafficSplit },
          updateMask: { paths: ['traffic_split'] },
        });
      expect((await update({ [a.id!]: 25, [b.id!]: 75 }))[0].trafficSplit).toEqual({ [a.id!]: 25, [b.id!]: 75 });
      await expectStatus(update({ [a.id!]: 25, [b.id!]: 70 }), INVALID_ARGUMENT, /adds up to 95/);
      await expectStatus(update({ [a.id!]: 25, '31337': 75 }), INVALID_ARGUMENT, /key "31337" is not a deployed model/);
      expect((await update({}))[0].trafficSplit).toEqual({});
      await expectStatus(
        c.predictions.predict({ endpoint: ep.name, instances: [toValue('hello')] }),
        FAILED_PRECONDITION,
        /takes no traffic: its traffic_split is empty/,
      );
      await undeploy(ep.name!, a.id!);
      await undeploy(ep.name!, b.id!);
    });
  });

  describe('MutateDeployedModel', () => {
    it('changes replica bounds and autoscaling targets; the replica count moves into the bounds', async () => {
      const ep = await create();
      const a = await deploy(ep.name!, modelA, { resources: dedicated(1, 2) });
      const [op] = await c.endpoints.mutateDeployedModel({
        endpoint: ep.name,
        deployedModel: {
          id: a.id,
          dedicatedResources: {
            minReplicaCount: 3,
            maxReplicaCount: 6,
            autoscalingMetricSpecs: [{ metricName: METRIC.cpu, target: 80 }],
          },
        },
        updateMask: {
          paths: [
            'dedicated_resources.min_replica_count',
            'dedicated_resources.max_replica_count',
            'dedicated_resources.autoscaling_metric_specs',
          ],
        },
      });
      const [res] = await op.promise();
      expect(res.deployedModel).toMatchObject({
        id: a.id,
        dedicatedResources: {
          machineSpec: { machineType: 'n1-standard-4' },
          minReplicaCount: 3,
          maxReplicaCount: 6,
          autoscalingMetricSpecs: [{ metricName: METRIC.cpu, target: 80 }],
        },
        status: { availableReplicaCount: 3 },
      });
      expect((await get(ep.name!)).deployedModels![0]!.status!.availableReplicaCount).toBe(3);
      // Bare field names work too; lowering max below the count scales down at once.
      const [op2] = await c.endpoints.mutateDeployedModel({
        endpoint: ep.name,
        deployedModel: { id: a.id, dedicatedResources: { minReplicaCount: 1, maxReplicaCount: 2 } },
        updateMask: { paths: ['min_replica_count', 'max_replica_count'] },
      });
      await op2.promise();
      const events = replicaEvents(emu.store, ep.name!, Date.now() + 1000).map((e) => e.replicas);
      expect(events).toEqual([1, 3, 2]);
      await undeploy(ep.name!, a.id!);
    });

    it('refuses immutable fields, bad bounds and unknown deployed models', async () => {
      const ep = await create();
      const a = await deploy(ep.name!, modelA, { resources: dedicated(1, 2) });
      const mutate = (dedicatedResources: Record<string, unknown>, paths: string[], id = a.id) =>
        c.endpoints.mutateDeployedModel({
          endpoint: ep.name,
          deployedModel: { id, dedicatedResources },
          updateMask: { paths },
        });
      await expectStatus(
        mutate({ machineSpec: { machineType: 'n1-standard-8' } }, ['dedicated_resources.machine_spec']),
        INVALID_ARGUMENT,
        /"dedicated_resources\.machine_spec" cannot be mutated; mutable: dedicated_resources\.min_replica_count/,
      );
      await expectStatus(
        mutate({ minReplicaCount: 5 }, ['dedicated_resources.min_replica_count']),
        INVALID_ARGUMENT,
        /max_replica_count \(2\) must be greater than or equal to min_replica_count \(5\)/,
      );
      await expectStatus(
        mutate({ maxReplicaCount: -3 }, ['max_replica_count']),
        INVALID_ARGUMENT,
        /max_replica_count is -3/,
      );
      await expectStatus(mutate({ minReplicaCount: 1 }, []), INVALID_ARGUMENT, /update_mask is required/);
      await expectStatus(
        mutate({ minReplicaCount: 1 }, ['min_replica_count'], '999'),
        NOT_FOUND,
        /no deployed model 999/,
      );
      await undeploy(ep.name!, a.id!);
    });
  });
});

describe('EndpointService across a restart (temp data dir)', () => {
  it('keeps endpoints, deployments, splits, replica counts and routing', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-endpoints-'));
    try {
      let emu = await startEmulator({ dataDir });
      let c = connect(emu);
      const a = await uploadLocal(emu, c, 'persist-a', artA);
      const b = await uploadLocal(emu, c, 'persist-b', artB);
      const [cop] = await c.endpoints.createEndpoint({
        parent,
        endpointId: 'persistent',
        endpoint: { displayName: 'p' },
      });
      const [ep] = await cop.promise();
      const deployOne = async (model: string, trafficSplit?: Record<string, number>, min = 1) => {
        const [op] = await c.endpoints.deployModel({
          endpoint: ep.name,
          deployedModel: { model, dedicatedResources: dedicated(min, 4) },
          ...(trafficSplit ? { trafficSplit } : {}),
        });
        return (await op.promise())[0].deployedModel!;
      };
      const dmA = await deployOne(a);
      const dmB = await deployOne(b, { '0': 30, [dmA.id!]: 70 }, 2);
      const before = (await c.endpoints.getEndpoint({ name: ep.name }))[0];
      expect(before.trafficSplit).toEqual({ [dmA.id!]: 70, [dmB.id!]: 30 });
      const routedBefore: string[] = [];
      for (let i = 0; i < 20; i++) {
        routedBefore.push(
          (await c.predictions.predict({ endpoint: ep.name, instances: [toValue(`task ${i}`)] }))[0].deployedModelId!,
        );
      }
      await c.close();
      await emu.close();

      emu = await startEmulator({ dataDir });
      c = connect(emu);
      const after = (await c.endpoints.getEndpoint({ name: ep.name }))[0];
      expect(after).toEqual(before);
      expect(after.deployedModels!.map((d) => d.status!.availableReplicaCount)).toEqual([1, 2]);
      expect((await c.models.getModel({ name: b }))[0].deployedModels!.map((d) => d.deployedModelId)).toEqual([dmB.id]);
      // Routing continues the endpoint's request sequence: request n goes where draw n says.
      const routedAfter: string[] = [];
      for (let i = 0; i < 20; i++) {
        const [res] = await c.predictions.predict({ endpoint: ep.name, instances: [toValue(`task ${i}`)] });
        routedAfter.push(res.deployedModelId!);
      }
      const seed = routingSeed(ep.name!);
      const expected = Array.from({ length: 40 }, (_, i) =>
        pickDeployedModel(before.trafficSplit!, routeDraw(seed, i + 1)),
      );
      expect([...routedBefore, ...routedAfter]).toEqual(expected);
      expect(new Set(expected)).toEqual(new Set([dmA.id, dmB.id]));
      const rows = emu.store.db
        .prepare('SELECT COUNT(*) AS n FROM predictions WHERE endpoint = ? AND response_code = 200')
        .get(ep.name) as { n: number };
      expect(rows.n).toBe(40);
      await c.close();
      await emu.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Autoscaler (fake clock)', () => {
  function setup(cooldownMs = 5000) {
    const store = new Store(':memory:');
    ensurePredictionTables(store);
    let now = 1_000_000;
    const scaler = new Autoscaler(store, { now: () => now, cooldownMs });
    const advance = (ms: number) => {
      now += ms;
    };
    const events = () => replicaEvents(store, null, Number.MAX_SAFE_INTEGER).map((e) => e.replicas);
    /** `n` requests of `ms` each, back to back, then a tick. */
    const load = (n: number, ms: number, gapMs = 0) => {
      for (let i = 0; i < n; i++) {
        const done = scaler.begin('ep', '1');
        advance(ms);
        done();
        advance(gapMs);
      }
    };
    return { store, scaler, advance, events, load };
  }

  it('starts at min replicas and records it', () => {
    const { scaler, events } = setup();
    scaler.track('ep', '1', { minReplicas: 2, maxReplicas: 5, metrics: [] });
    expect(scaler.state('ep', '1')).toMatchObject({ replicas: 2 });
    expect(events()).toEqual([2]);
  });

  it('records the time its state says, even when the clock moves between readings (a restart reads it back)', () => {
    const store = new Store(':memory:');
    ensurePredictionTables(store);
    let now = 1_000_000;
    const scaler = new Autoscaler(store, { now: () => now++ }); // every reading one ms later
    scaler.track('ep', '1', { minReplicas: 1, maxReplicas: 3, metrics: [] });
    scaler.update('ep', '1', { minReplicas: 2, maxReplicas: 3, metrics: [] });
    const recorded = replicaEvents(store, null, Number.MAX_SAFE_INTEGER);
    expect(recorded.map((e) => e.replicas)).toEqual([1, 2]);
    expect(scaler.state('ep', '1')?.changedMs).toBe(recorded.at(-1)?.timeMs);
  });

  it('scales up at once to ceil(concurrency / target), capped at max', () => {
    const { scaler, events, load, advance } = setup();
    scaler.track('ep', '1', { minReplicas: 1, maxReplicas: 10, metrics: [] });
    // Busy 810 ms of a 900 ms window: concurrency 0.9 -> 0.9 / 0.6 = 1.5 -> 2 replicas.
    load(9, 90, 10);
    scaler.tick();
    expect(scaler.state('ep', '1')).toMatchObject({ replicas: 2, utilisation: 90 });
    // Requests still in flight at a tick count too: 3 requests busy for the whole window ->
    // concurrency 3 -> 3 / 0.6 = 5 replicas, and they keep counting in the next window.
    const done = [scaler.begin('ep', '1'), scaler.begin('ep', '1'), scaler.begin('ep', '1')];
    advance(1000);
    scaler.tick();
    expect(scaler.state('ep', '1')).toMatchObject({ replicas: 5, utilisation: 150 });
    advance(1000);
    scaler.tick();
    expect(scaler.state('ep', '1')).toMatchObject({ replicas: 5, utilisation: 60 });
    for (const d of done) d();
    // 20 at a time -> 20 / 0.6 = 34, capped at max 10.
    const many = Array.from({ length: 20 }, () => scaler.begin('ep', '1'));
    advance(1000);
    for (const d of many) d();
    scaler.tick();
    expect(events()).toEqual([1, 2, 5, 10]);
  });

  it('scales down one step per cool-down once utilisation stays low, never below min', () => {
    const { scaler, events, load, advance } = setup(3000);
    scaler.track('ep', '1', { minReplicas: 1, maxReplicas: 4, metrics: [{ name: METRIC.cpu, target: 50 }] });
    // Full load on 2 requests at a time: concurrency 2 -> 2 / 0.5 = 4 replicas.
    const a = scaler.begin('ep', '1');
    const b = scaler.begin('ep', '1');
    advance(1000);
    a();
    b();
    scaler.tick();
    expect(scaler.state('ep', '1')!.replicas).toBe(4);
    // Idle: desired 1; the first low tick starts the cool-down, a step every 3 s after it.
    for (let t = 0; t < 12; t++) {
      advance(1000);
      scaler.tick();
    }
    expect(events()).toEqual([1, 4, 3, 2, 1]);
    load(1, 1, 999);
    scaler.tick();
    expect(scaler.state('ep', '1')!.replicas).toBe(1);
  });

  it('holds the count while utilisation sits at the target, and cancels a cool-down when load returns', () => {
    const { scaler, events, load, advance } = setup(3000);
    scaler.track('ep', '1', { minReplicas: 1, maxReplicas: 4, metrics: [] });
    load(1, 1200); // concurrency 1.2 -> 2 replicas
    scaler.tick();
    expect(scaler.state('ep', '1')!.replicas).toBe(2);
    // Exactly 60% of one replica... of two: 1.2 concurrency -> ceil(1.2 / 0.6) = 2: hold.
    for (let t = 0; t < 5; t++) {
      load(1, 1200);
      scaler.tick();
    }
    expect(scaler.state('ep', '1')!.replicas).toBe(2);
    // Low for 2 s (cool-down 3 s), then busy again: no scale-down.
    advance(1000);
    scaler.tick();
    advance(1000);
    scaler.tick();
    load(1, 1000);
    scaler.tick();
    advance(1000);
    scaler.tick();
    expect(events()).toEqual([1, 2]);
  });

  it('scales on request_count per replica per minute, and takes the largest of several metrics', () => {
    const { scaler, load } = setup();
    scaler.track('ep', '1', {
      minReplicas: 1,
      maxReplicas: 20,
      metrics: [
        { name: METRIC.requestCount, target: 600 },
        { name: METRIC.cpu, target: 60 },
      ],
    });
    // 50 requests of 1 ms in 1 s: 3000 / min -> 3000 / 600 = 5 replicas (cpu alone: 1).
    load(50, 1, 19);
    scaler.tick();
    expect(scaler.state('ep', '1')!.replicas).toBe(5);
  });

  it('restores the last recorded count within bounds, and records 0 when untracked', () => {
    const { scaler, events } = setup();
    expect(scaler.track('ep', '1', { minReplicas: 1, maxReplicas: 4, metrics: [] }, { replicas: 3, sinceMs: 5 })).toBe(
      3,
    );
    expect(events()).toEqual([]); // a restore records nothing new
    expect(scaler.state('ep', '1')!.changedMs).toBe(5);
    expect(scaler.track('ep', '2', { minReplicas: 1, maxReplicas: 2, metrics: [] }, { replicas: 3, sinceMs: 5 })).toBe(
      2,
    );
    expect(events()).toEqual([2]);
    scaler.untrack('ep', '1');
    expect(events()).toEqual([2, 0]);
    expect(scaler.state('ep', '1')).toBeUndefined();
  });
});

describe('autoscaling under real load (fast ticks)', () => {
  it('scales a deployed model up under load and back down when idle, visible in the DeployedModel status', async () => {
    const emu = await startEmulator({ dataDir: ':memory:', autoscaler: { tickMs: 50, cooldownMs: 150 } });
    const c = connect(emu);
    try {
      const model = await uploadLocal(emu, c, 'scaled', artA);
      const [cop] = await c.endpoints.createEndpoint({ parent, endpoint: { displayName: 'scaled' } });
      const [ep] = await cop.promise();
      const [dop] = await c.endpoints.deployModel({
        endpoint: ep.name,
        deployedModel: {
          model,
          // A 1% target: any sustained load asks for more replicas than max.
          dedicatedResources: dedicated(1, 4, { autoscalingMetricSpecs: [{ metricName: METRIC.cpu, target: 1 }] }),
        },
      });
      const [{ deployedModel }] = await dop.promise();
      const replicas = async () =>
        (await c.endpoints.getEndpoint({ name: ep.name }))[0].deployedModels![0]!.status!.availableReplicaCount;
      expect(await replicas()).toBe(1);
      const until = Date.now() + 400;
      while (Date.now() < until) {
        await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            c.predictions.predict({ endpoint: ep.name, instances: [toValue(`coder task ${i}`)] }),
          ),
        );
      }
      await new Promise((r) => setTimeout(r, 60));
      expect(await replicas()).toBe(4);
      // Idle: one step down per 150 ms cool-down, to min.
      const deadline = Date.now() + 5000;
      while ((await replicas()) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await replicas()).toBe(1);
      const events = replicaEvents(emu.store, ep.name!, Date.now() + 1000)
        .filter((e) => e.deployedModelId === deployedModel!.id)
        .map((e) => e.replicas);
      expect(events[0]).toBe(1);
      expect(Math.max(...events)).toBe(4);
      expect(events.slice(events.indexOf(4))).toEqual([4, 3, 2, 1]);
    } finally {
      await c.close();
      await emu.close();
    }
  });
});
