// Contract tests for the emulated ModelService, through Google's official client over gRPC.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelServiceClient } from '@google-cloud/aiplatform/build/src/v1/model_service_client.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { clientOptions, expectStatus } from './grpc.js';

// No GCE metadata server here: skip google-auth's probe for it.
process.env.METADATA_SERVER_DETECTION = 'none';

const parent = 'projects/test-project/locations/us-central1';
const modelName = (id: string) => `${parent}/models/${id}`;

type ModelInput = Record<string, any>;
const model = (over: ModelInput = {}): ModelInput => ({
  displayName: 'router',
  containerSpec: { imageUri: 'us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest' },
  artifactUri: 'gs://bucket/router/1',
  ...over,
});

function connect(emu: Emulator): ModelServiceClient {
  return new ModelServiceClient(clientOptions(emu));
}

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const ABORTED = 10;

describe('ModelService (emulated, official client)', () => {
  let emu: Emulator;
  let client: ModelServiceClient;

  async function upload(req: { modelId?: string; parentModel?: string; model?: ModelInput }) {
    const [op] = await client.uploadModel({ parent, model: model(), ...req });
    const [res] = await op.promise();
    return res;
  }

  async function aliasesOf(id: string): Promise<Record<string, string[]>> {
    const [versions] = await client.listModelVersions({ name: modelName(id) });
    return Object.fromEntries(versions.map((v) => [v.versionId!, [...(v.versionAliases ?? [])].sort()]));
  }

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    client = connect(emu);
  });

  afterAll(async () => {
    await client.close();
    await emu.close();
  });

  describe('UploadModel and GetModel', () => {
    it('uploads a model as version 1 holding the default alias, readable by id, version and alias', async () => {
      const res = await upload({
        modelId: 'router',
        model: model({ description: 'routes tasks', versionAliases: ['v1-0-0'], labels: { stage: 'development' } }),
      });
      expect(res.model).toBe(modelName('router'));
      expect(res.modelVersionId).toBe('1');

      for (const name of [modelName('router'), `${modelName('router')}@1`, `${modelName('router')}@v1-0-0`]) {
        const [m] = await client.getModel({ name });
        expect(m.name).toBe(modelName('router'));
        expect(m.versionId).toBe('1');
        expect(m.displayName).toBe('router');
        expect(m.description).toBe('routes tasks');
        expect([...m.versionAliases!].sort()).toEqual(['default', 'v1-0-0']);
        expect(m.labels).toEqual({ stage: 'development' });
        expect(m.artifactUri).toBe('gs://bucket/router/1');
        expect(m.containerSpec?.imageUri).toContain('sklearn-cpu');
        expect(Number(m.createTime?.seconds)).toBeGreaterThan(1_600_000_000);
        expect(m.versionCreateTime).toEqual(m.createTime);
      }
    });

    it('uploads a second version through parent_model without taking "default"', async () => {
      const res = await upload({
        parentModel: modelName('router'),
        model: model({ artifactUri: 'gs://bucket/router/2', versionAliases: ['v1-1-0'], versionDescription: 'second' }),
      });
      expect(res).toMatchObject({ model: modelName('router'), modelVersionId: '2' });
      const [v2] = await client.getModel({ name: `${modelName('router')}@v1-1-0` });
      expect(v2.versionId).toBe('2');
      expect(v2.artifactUri).toBe('gs://bucket/router/2');
      expect(v2.versionDescription).toBe('second');
      expect(v2.versionAliases).toEqual(['v1-1-0']);
      // The model without a version still means the default one.
      const [m] = await client.getModel({ name: modelName('router') });
      expect(m.versionId).toBe('1');
    });

    it('refuses a new version an alias another version holds (aliases are unique per model); "default" moves', async () => {
      await upload({ modelId: 'mover', model: model({ versionAliases: ['staging'] }) });
      await expectStatus(
        client.uploadModel({ parent, parentModel: modelName('mover'), model: model({ versionAliases: ['staging'] }) }),
        ALREADY_EXISTS,
        /version alias "staging" is already held by version 1 of .*models\/mover/,
      );
      expect(await aliasesOf('mover')).toEqual({ '1': ['default', 'staging'] });
      // Nothing was created: the next version is 2, not 3.
      const res = await upload({
        parentModel: modelName('mover'),
        model: model({ versionAliases: ['canary', 'default'] }),
      });
      expect(res.modelVersionId).toBe('2');
      expect(await aliasesOf('mover')).toEqual({ '1': ['staging'], '2': ['canary', 'default'] });
      const [m] = await client.getModel({ name: modelName('mover') });
      expect(m.versionId).toBe('2');
    });

    it('creates a model once under concurrent uploads with one model_id; the rest get ALREADY_EXISTS', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => upload({ modelId: 'racer', model: model({ versionAliases: ['v1-0-0'] }) })),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(ok).toHaveLength(1);
      expect(refused.map((r) => (r.reason as { code: number }).code)).toEqual(Array(7).fill(ALREADY_EXISTS));
      expect(String(refused[0]!.reason.details)).toMatch(/Model .*models\/racer already exists; set parent_model/);
      expect(Object.keys(await aliasesOf('racer'))).toEqual(['1']);
    });

    it('gives one version of concurrent uploads asking for one alias', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          upload({ parentModel: modelName('racer'), model: model({ versionAliases: ['v1-1-0', 'production'] }) }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(
        results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
      ).toEqual(Array(5).fill(ALREADY_EXISTS));
      expect(await aliasesOf('racer')).toEqual({ '1': ['default', 'v1-0-0'], '2': ['production', 'v1-1-0'] });
    });

    it('generates a numeric model id when none is given', async () => {
      const res = await upload({});
      expect(res.model).toMatch(/^projects\/test-project\/locations\/us-central1\/models\/\d+$/);
      const [m] = await client.getModel({ name: res.model! });
      expect(m.versionAliases).toEqual(['default']);
    });

    it('refuses a duplicate model id with ALREADY_EXISTS', async () => {
      await expectStatus(client.uploadModel({ parent, modelId: 'router', model: model() }), ALREADY_EXISTS, /router/);
    });

    it('refuses a parent_model that does not exist with NOT_FOUND', async () => {
      await expectStatus(
        client.uploadModel({ parent, parentModel: modelName('ghost'), model: model() }),
        NOT_FOUND,
        /ghost/,
      );
    });

    it('validates model id, required fields, aliases and labels with INVALID_ARGUMENT naming the field', async () => {
      await expectStatus(
        client.uploadModel({ parent, modelId: '1router', model: model() }),
        INVALID_ARGUMENT,
        /model_id .*\[a-z\]\[a-z0-9_-\]\{0,62\}/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'Router', model: model() }),
        INVALID_ARGUMENT,
        /model_id/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'a'.repeat(64), model: model() }),
        INVALID_ARGUMENT,
        /model_id/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'x1', model: model({ displayName: '' }) }),
        INVALID_ARGUMENT,
        /model\.display_name is required/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'x1', model: model({ containerSpec: {} }) }),
        INVALID_ARGUMENT,
        /model\.container_spec\.image_uri is required/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'x1', model: model({ versionAliases: ['v1.2.0'] }) }),
        INVALID_ARGUMENT,
        /version_aliases "v1\.2\.0"/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'x1', model: model({ versionAliases: ['12'] }) }),
        INVALID_ARGUMENT,
        /version_aliases "12"/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'x1', model: model({ labels: { Stage: 'prod' } }) }),
        INVALID_ARGUMENT,
        /labels key "Stage"/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'x1', model: model({ labels: { stage: 'Prod!' } }) }),
        INVALID_ARGUMENT,
        /labels\["stage"\]/,
      );
      await expectStatus(
        client.uploadModel({ parent, modelId: 'x1', model: model({ labels: { k: 'v'.repeat(64) } }) }),
        INVALID_ARGUMENT,
        /labels\["k"\]/,
      );
      // Nothing was written by the refused uploads.
      await expectStatus(client.getModel({ name: modelName('x1') }), NOT_FOUND);
    });

    it('answers NOT_FOUND naming the model, version or alias', async () => {
      await expectStatus(client.getModel({ name: modelName('nope') }), NOT_FOUND, /models\/nope/);
      await expectStatus(client.getModel({ name: `${modelName('router')}@99` }), NOT_FOUND, /version 99/);
      await expectStatus(client.getModel({ name: `${modelName('router')}@golden` }), NOT_FOUND, /alias "golden"/);
      await expectStatus(client.getModel({ name: 'models/router' }), INVALID_ARGUMENT, /projects\/\{project\}/);
    });
  });

  describe('ListModels and ListModelVersions', () => {
    const listParent = 'projects/list-project/locations/europe-west4';
    const up = async (modelId: string, displayName: string, labels: Record<string, string>, parentModel?: string) => {
      const [op] = await client.uploadModel({
        parent: listParent,
        ...(parentModel ? { parentModel } : { modelId }),
        model: model({ displayName, labels }),
      });
      await op.promise();
    };

    beforeAll(async () => {
      await up('alpha', 'Alpha', { team: 'search', stage: 'production' });
      await up('beta', 'Beta', { team: 'ads' });
      await up('gamma', 'Gamma', { team: 'search', stage: 'staging' });
      // A second version of alpha with other labels: ListModels shows the default version only.
      await up('alpha', 'Alpha', { team: 'other' }, `${listParent}/models/alpha`);
    });

    const ids = (models: { name?: string | null }[]) => models.map((m) => m.name!.split('/').pop());

    it('lists default versions, filtered by display name, labels, model id and boolean operators', async () => {
      const list = async (filter?: string, orderBy?: string) =>
        ids((await client.listModels({ parent: listParent, filter, orderBy }))[0]);
      expect(await list()).toEqual(['alpha', 'beta', 'gamma']);
      expect(await list('display_name="Beta"')).toEqual(['beta']);
      expect(await list('displayName!="Beta"')).toEqual(['alpha', 'gamma']);
      expect(await list('labels.team="search"')).toEqual(['alpha', 'gamma']);
      expect(await list('labels.team=other')).toEqual([]); // alpha's v2 is not its default
      expect(await list('labels.stage:*')).toEqual(['alpha', 'gamma']);
      expect(await list('labels:stage AND NOT labels.stage="staging"')).toEqual(['alpha']);
      expect(await list('model=beta OR model=gamma')).toEqual(['beta', 'gamma']);
      expect(await list('labels.team="search" AND (model=alpha OR display_name="Beta")')).toEqual(['alpha']);
      expect(await list('labels.team!="search"')).toEqual(['beta']);
      // AIP-160 precedence: OR binds tighter than AND; juxtaposition is AND; "-" negates.
      expect(await list('model=beta OR model=alpha AND labels.team="search"')).toEqual(['alpha']);
      expect(await list('labels.team=search -labels:stage')).toEqual([]);
      expect(await list('-labels:stage')).toEqual(['beta']);
      expect(await list(undefined, 'display_name desc')).toEqual(['gamma', 'beta', 'alpha']);
    });

    it('rejects unsupported filter fields and order_by with INVALID_ARGUMENT listing what is supported', async () => {
      await expectStatus(
        client.listModels({ parent: listParent, filter: 'create_time>"2020"' }),
        INVALID_ARGUMENT,
        /unsupported field "create_time".*display_name/,
      );
      await expectStatus(
        client.listModels({ parent: listParent, filter: 'labels.team=' }),
        INVALID_ARGUMENT,
        /expected a value/,
      );
      await expectStatus(
        client.listModels({ parent: listParent, orderBy: 'artifact_uri' }),
        INVALID_ARGUMENT,
        /create_time, update_time, display_name/,
      );
    });

    it('pages with page_size and page_token', async () => {
      const [first, , firstRes] = await client.listModels({ parent: listParent, pageSize: 1 }, { autoPaginate: false });
      expect(ids(first)).toEqual(['alpha']);
      expect(firstRes?.nextPageToken).toBeTruthy();
      const seen: string[] = [];
      for await (const m of client.listModelsAsync({ parent: listParent, pageSize: 1 }, { autoPaginate: false }))
        seen.push(m.name!.split('/').pop()!);
      expect(seen).toEqual(['alpha', 'beta', 'gamma']);
      await expectStatus(
        client.listModels({ parent: listParent, pageToken: 'not-a-token' }, { autoPaginate: false }),
        INVALID_ARGUMENT,
      );
    });

    it('lists versions in version order, with label filters and order_by', async () => {
      const name = `${listParent}/models/alpha`;
      const [versions] = await client.listModelVersions({ name });
      expect(versions.map((v) => v.versionId)).toEqual(['1', '2']);
      expect(versions.every((v) => v.name === name)).toBe(true);
      const [other] = await client.listModelVersions({ name, filter: 'labels.team="other"' });
      expect(other.map((v) => v.versionId)).toEqual(['2']);
      const [byAlias] = await client.listModelVersions({ name, filter: 'version_aliases:default' });
      expect(byAlias.map((v) => v.versionId)).toEqual(['1']);
      const [desc] = await client.listModelVersions({ name, orderBy: 'create_time desc' });
      expect(desc.map((v) => v.versionId)).toEqual(['2', '1']);
      const [page] = await client.listModelVersions({ name, pageSize: 1 }, { autoPaginate: false });
      expect(page.map((v) => v.versionId)).toEqual(['1']);
    });
  });

  describe('MergeVersionAliases', () => {
    beforeAll(async () => {
      await upload({ modelId: 'aliased', model: model({ versionAliases: ['production'] }) });
      await upload({ parentModel: modelName('aliased'), model: model({ versionAliases: ['staging'] }) });
      await upload({ parentModel: modelName('aliased'), model: model() });
    });

    it('adds aliases, moving them off the version that held them, and removes with "-"', async () => {
      const [v2] = await client.mergeVersionAliases({
        name: `${modelName('aliased')}@2`,
        versionAliases: ['production', '-staging', 'golden'],
      });
      expect(v2.versionId).toBe('2');
      expect([...v2.versionAliases!].sort()).toEqual(['golden', 'production']);
      expect(await aliasesOf('aliased')).toEqual({ '1': ['default'], '2': ['golden', 'production'], '3': [] });
    });

    it('moves "default" by adding it to another version', async () => {
      await client.mergeVersionAliases({ name: `${modelName('aliased')}@3`, versionAliases: ['default'] });
      expect(await aliasesOf('aliased')).toEqual({ '1': [], '2': ['golden', 'production'], '3': ['default'] });
      const [m] = await client.getModel({ name: modelName('aliased') });
      expect(m.versionId).toBe('3');
    });

    it('refuses removing "default", add-and-remove of one alias, bad formats and unversioned names', async () => {
      const name = `${modelName('aliased')}@3`;
      await expectStatus(
        client.mergeVersionAliases({ name, versionAliases: ['-default'] }),
        INVALID_ARGUMENT,
        /default/,
      );
      await expectStatus(
        client.mergeVersionAliases({ name, versionAliases: ['canary', '-canary'] }),
        INVALID_ARGUMENT,
        /canary/,
      );
      await expectStatus(client.mergeVersionAliases({ name, versionAliases: ['v1.0'] }), INVALID_ARGUMENT, /v1\.0/);
      await expectStatus(
        client.mergeVersionAliases({ name: modelName('aliased'), versionAliases: ['x1'] }),
        INVALID_ARGUMENT,
        /@\{version_id\}/,
      );
      await expectStatus(
        client.mergeVersionAliases({ name: `${modelName('aliased')}@9`, versionAliases: ['x1'] }),
        NOT_FOUND,
      );
      expect((await aliasesOf('aliased'))['3']).toEqual(['default']);
    });
  });

  describe('UpdateModel', () => {
    beforeAll(async () => {
      await upload({ modelId: 'updatable', model: model({ labels: { stage: 'development' } }) });
      await upload({
        parentModel: modelName('updatable'),
        model: model({ versionAliases: ['next'], labels: { a: 'b' } }),
      });
    });

    it('replaces the labels of the version named, bumping its update time', async () => {
      const [before] = await client.getModel({ name: `${modelName('updatable')}@next` });
      await new Promise((r) => setTimeout(r, 5));
      const [updated] = await client.updateModel({
        model: { name: `${modelName('updatable')}@next`, labels: { stage: 'staging', source: 'tuning_job' } },
        updateMask: { paths: ['labels'] },
      });
      expect(updated.versionId).toBe('2');
      expect(updated.labels).toEqual({ stage: 'staging', source: 'tuning_job' });
      const toMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
        Number(t?.seconds) * 1000 + (t?.nanos ?? 0) / 1e6;
      expect(toMs(updated.versionUpdateTime)).toBeGreaterThan(toMs(before.versionUpdateTime));
      const [v1] = await client.getModel({ name: `${modelName('updatable')}@1` });
      expect(v1.labels).toEqual({ stage: 'development' });
    });

    it('updates model-level fields for every version and version fields of the default version', async () => {
      await client.updateModel({
        model: { name: modelName('updatable'), displayName: 'Router v2', versionDescription: '{"base_model":"x"}' },
        updateMask: { paths: ['display_name', 'version_description'] },
      });
      const [v1] = await client.getModel({ name: `${modelName('updatable')}@1` });
      const [v2] = await client.getModel({ name: `${modelName('updatable')}@2` });
      expect([v1.displayName, v2.displayName]).toEqual(['Router v2', 'Router v2']);
      expect(v1.versionDescription).toBe('{"base_model":"x"}');
      expect(v2.versionDescription).toBe('');
    });

    it('checks a request etag against the stored one (ABORTED when stale) and changes it on every write', async () => {
      const name = `${modelName('updatable')}@1`;
      const [read] = await client.getModel({ name });
      expect(read.etag).toMatch(/^[A-Za-z0-9+/=]{4,}$/);
      const [again] = await client.getModel({ name });
      expect(again.etag).toBe(read.etag); // reads change nothing
      const [written] = await client.updateModel({
        model: { name, labels: { stage: 'staging' }, etag: read.etag },
        updateMask: { paths: ['labels'] },
      });
      expect(written.etag).not.toBe(read.etag);
      // A second writer that read before the first write loses.
      await expectStatus(
        client.updateModel({
          model: { name, labels: { stage: 'archived' }, etag: read.etag },
          updateMask: { paths: ['labels'] },
        }),
        ABORTED,
        /etag does not match .*updatable@1.*read it again/,
      );
      const [now] = await client.getModel({ name });
      expect(now.labels).toEqual({ stage: 'staging' });
      expect(now.etag).toBe(written.etag);
      // No etag: a blind overwrite, as the proto says.
      await client.updateModel({
        model: { name, labels: { stage: 'development' } },
        updateMask: { paths: ['labels'] },
      });
      // Moving an alias is a write of both versions involved.
      const [v2] = await client.getModel({ name: `${modelName('updatable')}@2` });
      const [v1] = await client.getModel({ name });
      await client.mergeVersionAliases({ name, versionAliases: ['next'] });
      const [v2after] = await client.getModel({ name: `${modelName('updatable')}@2` });
      const [v1after] = await client.getModel({ name });
      expect(v2after.etag).not.toBe(v2.etag);
      expect(v1after.etag).not.toBe(v1.etag);
      await expectStatus(
        client.updateModel({ model: { name, labels: {}, etag: v1.etag }, updateMask: { paths: ['labels'] } }),
        ABORTED,
      );
      await client.mergeVersionAliases({ name: `${modelName('updatable')}@2`, versionAliases: ['next'] });
    });

    it('requires an update mask of updatable fields and valid values', async () => {
      const m = { name: modelName('updatable'), labels: { a: 'b' } };
      await expectStatus(client.updateModel({ model: m, updateMask: { paths: [] } }), INVALID_ARGUMENT, /update_mask/);
      await expectStatus(
        client.updateModel({ model: m, updateMask: { paths: ['version_aliases'] } }),
        INVALID_ARGUMENT,
        /MergeVersionAliases/,
      );
      await expectStatus(
        client.updateModel({ model: m, updateMask: { paths: ['artifact_uri'] } }),
        INVALID_ARGUMENT,
        /artifact_uri/,
      );
      await expectStatus(
        client.updateModel({ model: { ...m, labels: { 'Bad Key': 'x' } }, updateMask: { paths: ['labels'] } }),
        INVALID_ARGUMENT,
        /Bad Key/,
      );
      await expectStatus(
        client.updateModel({ model: { name: modelName('ghost'), labels: {} }, updateMask: { paths: ['labels'] } }),
        NOT_FOUND,
        /ghost/,
      );
    });
  });

  describe('DeleteModelVersion and DeleteModel', () => {
    beforeAll(async () => {
      await upload({ modelId: 'doomed', model: model() });
      await upload({ parentModel: modelName('doomed'), model: model({ versionAliases: ['canary'] }) });
      await upload({ parentModel: modelName('doomed'), model: model() });
    });

    it('refuses deleting the version holding "default" while others exist', async () => {
      await expectStatus(
        client.deleteModelVersion({ name: `${modelName('doomed')}@1` }),
        FAILED_PRECONDITION,
        /default alias/,
      );
      await expectStatus(client.deleteModelVersion({ name: modelName('doomed') }), INVALID_ARGUMENT);
    });

    it('deletes a version by alias and never reuses its version id', async () => {
      const [op] = await client.deleteModelVersion({ name: `${modelName('doomed')}@canary` });
      await op.promise();
      expect(Object.keys(await aliasesOf('doomed'))).toEqual(['1', '3']);
      await expectStatus(client.getModel({ name: `${modelName('doomed')}@2` }), NOT_FOUND);
      const res = await upload({ parentModel: modelName('doomed'), model: model() });
      expect(res.modelVersionId).toBe('4');
    });

    it('refuses deleting the only version; DeleteModel removes the model, its versions and evaluations', async () => {
      await upload({ modelId: 'single', model: model() });
      await expectStatus(
        client.deleteModelVersion({ name: `${modelName('single')}@1` }),
        FAILED_PRECONDITION,
        /DeleteModel/,
      );
      const [ev] = await client.importModelEvaluation({
        parent: modelName('doomed'),
        modelEvaluation: { displayName: 'performance' },
      });
      const [op] = await client.deleteModel({ name: modelName('doomed') });
      const [res] = await op.promise();
      expect(res).toEqual({});
      await expectStatus(client.getModel({ name: modelName('doomed') }), NOT_FOUND);
      await expectStatus(client.getModelEvaluation({ name: ev.name! }), NOT_FOUND);
      await expectStatus(client.deleteModel({ name: modelName('doomed') }), NOT_FOUND);
      expect(emu.store.list('model_version', modelName('doomed'))).toEqual([]);
    });

    it('refuses deleting a deployed version or model, naming the endpoint', async () => {
      await upload({ modelId: 'deployed', model: model() });
      await upload({ parentModel: modelName('deployed'), model: model() });
      // EndpointService records deployments on the version document.
      const key = `${modelName('deployed')}@2`;
      const doc = emu.store.get<Record<string, unknown>>('model_version', key)!;
      const endpoint = `${parent}/endpoints/42`;
      emu.store.put(
        'model_version',
        key,
        { ...doc, deployedModels: [{ endpoint, deployedModelId: '7' }] },
        modelName('deployed'),
      );
      await expectStatus(client.deleteModelVersion({ name: key }), FAILED_PRECONDITION, /endpoints\/42/);
      await expectStatus(client.deleteModel({ name: modelName('deployed') }), FAILED_PRECONDITION, /endpoints\/42/);
      const [m] = await client.getModel({ name: key });
      expect(m.deployedModels).toMatchObject([{ endpoint, deployedModelId: '7' }]);
    });
  });

  describe('model evaluations', () => {
    const metrics = (accuracy: number) => ({ structValue: { fields: { accuracy: { numberValue: accuracy } } } });

    beforeAll(async () => {
      await upload({ modelId: 'evaluated', model: model() });
      await upload({ parentModel: modelName('evaluated'), model: model() });
    });

    it('imports evaluations per version and lists them newest first', async () => {
      const [e1] = await client.importModelEvaluation({
        parent: modelName('evaluated'),
        modelEvaluation: { displayName: 'performance', metricsSchemaUri: 'gs://schema.yaml', metrics: metrics(0.8) },
      });
      expect(e1.name).toMatch(/^projects\/test-project\/locations\/us-central1\/models\/evaluated\/evaluations\/\d+$/);
      expect(e1.createTime?.seconds).toBeTruthy();
      const [e2] = await client.importModelEvaluation({
        parent: `${modelName('evaluated')}@2`,
        modelEvaluation: { displayName: 'performance', metrics: metrics(0.85) },
      });
      const [e3] = await client.importModelEvaluation({
        parent: `${modelName('evaluated')}@2`,
        modelEvaluation: { displayName: 'performance', metrics: metrics(0.9) },
      });
      await client.importModelEvaluation({
        parent: `${modelName('evaluated')}@2`,
        modelEvaluation: { displayName: 'cost', metrics: metrics(0) },
      });

      const [v1] = await client.listModelEvaluations({ parent: modelName('evaluated') });
      expect(v1.map((e) => e.name)).toEqual([e1.name]);
      const [v2] = await client.listModelEvaluations({
        parent: `${modelName('evaluated')}@2`,
        filter: 'display_name="performance"',
      });
      expect(v2.map((e) => e.name)).toEqual([e3.name, e2.name]);
      expect(v2[0]!.metrics?.structValue?.fields?.accuracy?.numberValue).toBe(0.9);

      const [got] = await client.getModelEvaluation({ name: e1.name! });
      expect(got.displayName).toBe('performance');
      expect(got.metricsSchemaUri).toBe('gs://schema.yaml');
      expect(got.metrics?.structValue?.fields?.accuracy?.numberValue).toBe(0.8);

      const [page, , raw] = await client.listModelEvaluations(
        { parent: `${modelName('evaluated')}@2`, pageSize: 2 },
        { autoPaginate: false },
      );
      expect(page).toHaveLength(2);
      expect(raw?.nextPageToken).toBeTruthy();
    });

    it('answers NOT_FOUND for unknown evaluations and versions', async () => {
      await expectStatus(client.getModelEvaluation({ name: `${modelName('evaluated')}/evaluations/999` }), NOT_FOUND);
      await expectStatus(
        client.listModelEvaluations({ parent: `${modelName('evaluated')}@7` }),
        NOT_FOUND,
        /version 7/,
      );
      await expectStatus(
        client.importModelEvaluation({ parent: modelName('ghost'), modelEvaluation: { displayName: 'x' } }),
        NOT_FOUND,
      );
    });
  });
});

describe('ModelService persistence', () => {
  it('keeps models, versions, aliases and evaluations across an emulator restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-model-'));
    try {
      let emu = await startEmulator({ dataDir });
      let client = connect(emu);
      const [op1] = await client.uploadModel({
        parent,
        modelId: 'durable',
        model: model({ labels: { stage: 'staging' } }),
      });
      await op1.promise();
      const [op2] = await client.uploadModel({
        parent,
        parentModel: modelName('durable'),
        model: model({ versionAliases: ['production'] }),
      });
      await op2.promise();
      const [ev] = await client.importModelEvaluation({
        parent: `${modelName('durable')}@production`,
        modelEvaluation: { displayName: 'performance' },
      });
      await client.close();
      await emu.close();

      emu = await startEmulator({ dataDir });
      client = connect(emu);
      const [m] = await client.getModel({ name: `${modelName('durable')}@production` });
      expect(m.versionId).toBe('2');
      const [v1] = await client.getModel({ name: modelName('durable') });
      expect(v1.labels).toEqual({ stage: 'staging' });
      const [evals] = await client.listModelEvaluations({ parent: `${modelName('durable')}@2` });
      expect(evals.map((e) => e.name)).toEqual([ev.name]);
      // Version ids keep counting after a restart.
      const [op3] = await client.uploadModel({ parent, parentModel: modelName('durable'), model: model() });
      const [res] = await op3.promise();
      expect(res.modelVersionId).toBe('3');
      await client.close();
      await emu.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

// The alias index (model_store.ts): GetModel by alias, alias checks and moves read one index row,
// not every version; it must say exactly what the versions' aliases say, through moves, deletes,
// restarts and data directories written before it existed.
describe('ModelService alias index', () => {
  let emu: Emulator;
  let client: ModelServiceClient;
  const idxParent = 'projects/index-project/locations/us-central1';
  const idxModel = (id: string) => `${idxParent}/models/${id}`;

  async function up(id: string, aliases: string[] = [], first = false): Promise<string> {
    const [op] = await client.uploadModel({
      parent: idxParent,
      ...(first ? { modelId: id } : { parentModel: idxModel(id) }),
      model: model({ versionAliases: aliases }),
    });
    const [res] = await op.promise();
    return String(res.modelVersionId);
  }
  const holder = async (id: string, alias: string) =>
    (await client.getModel({ name: `${idxModel(id)}@${alias}` }))[0].versionId;
  /** What the versions say: alias -> version ID (each alias on one version). */
  async function aliasesByVersions(id: string): Promise<Record<string, string>> {
    const [versions] = await client.listModelVersions({ name: idxModel(id) });
    const out: Record<string, string> = {};
    for (const v of versions) for (const a of v.versionAliases ?? []) out[a] = String(v.versionId);
    return out;
  }

  beforeAll(async () => {
    emu = await startEmulator({ dataDir: ':memory:' });
    client = connect(emu);
  });
  afterAll(async () => {
    await client.close();
    await emu.close();
  });

  it('follows alias moves, removals and version deletes', async () => {
    await up('moves', ['v1-0-0'], true);
    await up('moves', ['v1-1-0', 'staging']);
    await up('moves', ['v1-2-0']);
    expect(await holder('moves', 'staging')).toBe('2');
    expect(await holder('moves', 'default')).toBe('1');
    // Move staging to 3, and production + default to 2, in two calls.
    await client.mergeVersionAliases({ name: `${idxModel('moves')}@3`, versionAliases: ['staging'] });
    await client.mergeVersionAliases({
      name: `${idxModel('moves')}@v1-1-0`,
      versionAliases: ['production', 'default'],
    });
    expect(await holder('moves', 'staging')).toBe('3');
    expect(await holder('moves', 'production')).toBe('2');
    expect(await holder('moves', 'default')).toBe('2');
    expect((await client.getModel({ name: idxModel('moves') }))[0].versionId).toBe('2');
    // Removed: no version answers to it; another version may take it again.
    await client.mergeVersionAliases({ name: `${idxModel('moves')}@3`, versionAliases: ['-staging'] });
    await expectStatus(client.getModel({ name: `${idxModel('moves')}@staging` }), NOT_FOUND, /alias "staging"/);
    // Deleting a version frees its aliases.
    const [op] = await client.deleteModelVersion({ name: `${idxModel('moves')}@v1-0-0` });
    await op.promise();
    await expectStatus(client.getModel({ name: `${idxModel('moves')}@v1-0-0` }), NOT_FOUND);
    expect(await up('moves', ['v1-0-0', 'staging'])).toBe('4');
    expect(await holder('moves', 'v1-0-0')).toBe('4');
    expect(await holder('moves', 'staging')).toBe('4');
    // The index says what the versions say.
    expect(await aliasesByVersions('moves')).toEqual({
      default: '2',
      'v1-1-0': '2',
      production: '2',
      'v1-2-0': '3',
      'v1-0-0': '4',
      staging: '4',
    });
    // An upload asking for a held alias is still refused (uniqueness per model), another model's is free.
    await expectStatus(
      client.uploadModel({
        parent: idxParent,
        parentModel: idxModel('moves'),
        model: model({ versionAliases: ['v1-2-0'] }),
      }),
      ALREADY_EXISTS,
      /already held by version 3/,
    );
    await up('other', ['v1-2-0'], true);
    expect(await holder('other', 'v1-2-0')).toBe('1');
    expect(await holder('moves', 'v1-2-0')).toBe('3');
  });

  it('keeps one holder per alias under concurrent merges, and the etag rule', async () => {
    await up('race', ['v1-0-0'], true);
    for (let i = 0; i < 5; i++) await up('race');
    // Six versions race for "production": each merge moves it; one holds it at the end.
    await Promise.all(
      ['1', '2', '3', '4', '5', '6'].map((id) =>
        client.mergeVersionAliases({ name: `${idxModel('race')}@${id}`, versionAliases: ['production'] }),
      ),
    );
    const byVersions = await aliasesByVersions('race');
    const [versions] = await client.listModelVersions({ name: idxModel('race') });
    expect(versions.filter((v) => v.versionAliases?.includes('production'))).toHaveLength(1);
    expect(await holder('race', 'production')).toBe(byVersions.production);
    // Concurrent etag-guarded writes of one version: one wins, the others are ABORTED.
    const [v] = await client.getModel({ name: `${idxModel('race')}@2` });
    const results = await Promise.allSettled(
      [1, 2, 3].map((i) =>
        client.updateModel({
          model: { name: `${idxModel('race')}@2`, labels: { n: String(i) }, etag: v.etag },
          updateMask: { paths: ['labels'] },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(
      [ABORTED, ABORTED],
    );
  });

  it('pages versions up to 1,000 a page (default 100), reading only the page', async () => {
    await up('many', [], true);
    for (let i = 2; i <= 230; i++) await up('many', i % 2 === 0 ? [`v1-0-${i}`] : []);
    const page = async (pageSize?: number, pageToken?: string, filter?: string) => {
      const [models, , res] = await client.listModelVersions(
        { name: idxModel('many'), ...(pageSize ? { pageSize } : {}), ...(pageToken ? { pageToken } : {}), filter },
        { autoPaginate: false },
      );
      return { ids: models.map((m) => Number(m.versionId)), next: res?.nextPageToken ?? '' };
    };
    const byDefault = await page();
    expect(byDefault.ids).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(byDefault.next).toBeTruthy();
    const big = await page(1000);
    expect(big.ids).toHaveLength(230);
    expect(big.next).toBe('');
    expect((await page(5000)).ids).toHaveLength(230); // clamped to the maximum, not refused
    // A walk in pages of 70 sees every version once, in order; the last page has no token.
    const seen: number[] = [];
    let token: string | undefined;
    for (;;) {
      const p = await page(70, token);
      seen.push(...p.ids);
      if (!p.next) break;
      token = p.next;
    }
    expect(seen).toEqual(Array.from({ length: 230 }, (_, i) => i + 1));
    // With a filter, pages hold matching versions only, and a token only when more match.
    const even: number[] = [];
    token = undefined;
    for (;;) {
      const p = await page(40, token, 'version_aliases:*');
      even.push(...p.ids);
      if (!p.next) break;
      token = p.next;
    }
    expect(even).toEqual([1, ...Array.from({ length: 115 }, (_, i) => 2 * (i + 1))]);
    expect((await page(115, undefined, 'version_aliases:*')).next).not.toBe('');
    expect((await page(116, undefined, 'version_aliases:*')).next).toBe('');
  });

  it('is built on start for a data directory written before it existed', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-alias-index-'));
    try {
      let e = await startEmulator({ dataDir });
      let c = connect(e);
      const upload = async (req: Record<string, unknown>) => {
        const [op] = await c.uploadModel({ parent: idxParent, model: model(), ...req } as never);
        await op.promise();
      };
      await upload({ modelId: 'old' });
      await upload({ parentModel: idxModel('old'), model: model({ versionAliases: ['production', 'v2-0-0'] }) });
      await c.close();
      await e.close();
      // What an older release leaves: the versions, no index.
      const db = new Database(path.join(dataDir, 'emulator.sqlite'));
      db.exec('DROP TABLE model_version_aliases');
      db.close();
      e = await startEmulator({ dataDir });
      c = connect(e);
      expect((await c.getModel({ name: `${idxModel('old')}@production` }))[0].versionId).toBe('2');
      expect((await c.getModel({ name: `${idxModel('old')}@v2-0-0` }))[0].versionId).toBe('2');
      expect((await c.getModel({ name: idxModel('old') }))[0].versionId).toBe('1');
      await expectStatus(
        c.uploadModel({
          parent: idxParent,
          parentModel: idxModel('old'),
          model: model({ versionAliases: ['production'] }),
        }),
        ALREADY_EXISTS,
      );
      await c.close();
      await e.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
