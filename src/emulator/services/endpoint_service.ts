// google.cloud.aiplatform.v1.EndpointService: endpoints, model deployment with traffic splits
// (rules in ../traffic.ts), replica bounds and autoscaling (../autoscaler.ts). Deployments are
// recorded on the model version (Model.deployed_models), so the Model Registry refuses to delete
// a deployed version. Only local/text-router models deploy: the emulator serves them for real.
// Methods not listed here answer UNIMPLEMENTED.
import { status } from '@grpc/grpc-js';
import type { Autoscaler } from '../autoscaler.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, RpcError } from '../errors.js';
import { compileFilter, compileOrderBy, snakeCase } from '../filter.js';
import type { ServiceImpl } from '../host.js';
import type { ServiceContext } from '../index.js';
import { ensurePredictionTables } from '../predictions.js';
import { deploySplit, undeploySplit, updateSplit } from '../traffic.js';
import { AIP, locationOf, paginate, timestamp } from '../util.js';
import { validateDisplayName, validateLabels } from '../validation.js';
import { deployResources, mutateDeployedModel } from './endpoint_resources.js';
import { checkServable, loadServable, type PredictorCache } from './endpoint_runtime.js';
import {
  type DeployedModelDoc,
  type EndpointDoc,
  EndpointRepo,
  parseEndpointName,
  routeCounter,
  scalingSpec,
  toDeployedModel,
} from './endpoint_store.js';
import { ModelRepo, versionName } from './model_store.js';

export interface ServingDeps {
  autoscaler: Autoscaler;
  predictors: PredictorCache;
}

type Input = Record<string, any>;

/** "If the first character is a letter, up to 63 characters, [a-z0-9-], the last a letter or number." */
const ENDPOINT_ID_WORD = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** "If the first character is a number, up to 9 characters, [0-9] with no leading zeros." */
const ENDPOINT_ID_NUMBER = /^[1-9][0-9]{0,8}$/;
/** DeployedModel.id: "1-10 characters, and valid characters are /[0-9]/" ("0" names the new model in splits). */
const DEPLOYED_MODEL_ID = /^[0-9]{1,10}$/;

/** Endpoint fields a caller may set at creation besides display name, description and labels. */
const CREATE_FIELDS = [
  'dedicatedEndpointEnabled',
  'encryptionSpec',
  'network',
  'privateServiceConnectConfig',
  'predictRequestResponseLoggingConfig',
  'clientConnectionConfig',
];
/** DeployedModel fields kept from a DeployModel request besides model, id, name and resources. */
const DEPLOY_FIELDS = [
  'serviceAccount',
  'disableContainerLogging',
  'enableAccessLogging',
  'disableExplanations',
  'systemLabels',
  'checkpointId',
];
const UPDATABLE = ['display_name', 'description', 'labels', 'traffic_split'];

/** How long DeployModel waits for the predictor to load before answering with a running operation. */
const DEPLOY_WAIT_MS = 250;

export function createEndpointService(ctx: ServiceContext, deps: ServingDeps): ServiceImpl {
  const { store, gcs, operations, log } = ctx;
  const { autoscaler, predictors } = deps;
  ensurePredictionTables(store);
  const repo = new EndpointRepo(store);
  const models = new ModelRepo(store);

  const newEtag = () => Buffer.from(`etag-${store.next('endpoint.etag')}`).toString('base64url');
  const ids = (ep: EndpointDoc) => ep.deployedModels.map((d) => d.id);
  const touch = (ep: EndpointDoc) => {
    ep.updateTime = timestamp();
    ep.etag = newEtag();
  };
  const render = (ep: EndpointDoc) => repo.toEndpoint(ep, autoscaler);

  restore();

  /** After a restart: replicas resume from their last recorded count; interrupted deploys fail. */
  function restore(): void {
    const last = store.db.prepare(
      `SELECT replicas, time_ms AS sinceMs FROM replica_events WHERE endpoint = ? AND deployed_model_id = ?
       ORDER BY time_ms DESC, rowid DESC LIMIT 1`,
    );
    for (const ep of repo.list()) {
      for (const dm of ep.deployedModels) {
        const row = last.get(ep.name, dm.id) as { replicas: number; sinceMs: number } | undefined;
        autoscaler.track(ep.name, dm.id, scalingSpec(dm), row);
      }
    }
    for (const { doc } of store.list<{ name: string; done: boolean; metadata?: Record<string, unknown> }>(
      'operation',
    )) {
      if (!doc.done && String(doc.metadata?.['@type'] ?? '').endsWith('.DeployModelOperationMetadata')) {
        operations.finish(doc.name, {
          error: { code: status.ABORTED, message: 'the emulator stopped before the deployment finished; deploy again' },
        });
      }
    }
  }

  function create(req: { parent: string; endpoint?: Input; endpointId?: string }) {
    const location = locationOf(req.parent, 'parent');
    if (location !== req.parent) {
      throw invalidArgument(`parent "${req.parent}" must be projects/{project}/locations/{location}`);
    }
    const input = req.endpoint;
    if (!input) throw invalidArgument('endpoint is required');
    validateDisplayName(input.displayName, 'endpoint.display_name');
    validateLabels(input.labels, 'endpoint.labels');
    if (Object.keys(input.trafficSplit ?? {}).length > 0) {
      throw invalidArgument(
        'endpoint.traffic_split must be empty when creating an endpoint: it has no deployed models yet (DeployModel sets the split)',
      );
    }
    let id = req.endpointId;
    if (id) {
      if (!ENDPOINT_ID_WORD.test(id) && !ENDPOINT_ID_NUMBER.test(id)) {
        throw invalidArgument(
          `endpoint_id "${id}" is invalid: starting with a letter it may have up to 63 characters [a-z0-9-] ending with a letter or digit; starting with a digit, up to 9 digits with no leading zero`,
        );
      }
    } else {
      // Generated IDs have 10+ digits, so they never collide with caller-chosen (<= 9 digit) ones.
      id = String(1_000_000_000 + store.next('endpoint.id'));
    }
    const name = `${location}/endpoints/${id}`;
    const now = timestamp();
    const kept = Object.fromEntries(CREATE_FIELDS.filter((f) => input[f] !== undefined).map((f) => [f, input[f]]));
    const doc: EndpointDoc = {
      ...kept,
      name,
      displayName: input.displayName,
      description: input.description ?? '',
      labels: input.labels ?? {},
      deployedModels: [],
      trafficSplit: {},
      etag: newEtag(),
      createTime: now,
      updateTime: now,
      _serving: {},
    };
    store.tx(() => {
      if (repo.find(name)) throw alreadyExists(`Endpoint ${name} already exists`);
      repo.put(doc);
    });
    return operations.completed(name, 'CreateEndpointOperationMetadata', `${AIP}.Endpoint`, render(doc));
  }

  function list(req: { parent: string; filter?: string; orderBy?: string; pageSize?: number; pageToken?: string }) {
    const location = locationOf(req.parent, 'parent');
    if (location !== req.parent) {
      throw invalidArgument(`parent "${req.parent}" must be projects/{project}/locations/{location}`);
    }
    const matches = compileFilter<EndpointDoc>(req.filter, {
      fields: { endpoint: 'string', display_name: 'string', labels: 'map' },
      resolve: (ep, field) =>
        field === 'endpoint'
          ? ep.name.slice(ep.name.lastIndexOf('/') + 1)
          : field === 'labels'
            ? ep.labels
            : ep.displayName,
    });
    const order = compileOrderBy<EndpointDoc>(req.orderBy, {
      display_name: (ep) => ep.displayName,
      create_time: (ep) => ep.createTime,
      update_time: (ep) => ep.updateTime,
    });
    const selected = repo.list(location).filter(matches);
    if (order) selected.sort(order);
    const { page, nextPageToken } = paginate(selected, req.pageSize, req.pageToken);
    return { endpoints: page.map(render), nextPageToken };
  }

  function update(req: { endpoint?: Input; updateMask?: { paths?: string[] } }) {
    const input = req.endpoint;
    if (!input) throw invalidArgument('endpoint is required');
    const paths = (req.updateMask?.paths ?? []).map(snakeCase);
    if (paths.length === 0) {
      throw invalidArgument(
        `update_mask is required and must list the fields to update; updatable: ${UPDATABLE.join(', ')}`,
      );
    }
    for (const p of paths) {
      if (p === 'deployed_models') {
        throw invalidArgument(
          'deployed_models cannot be updated; use DeployModel, UndeployModel and MutateDeployedModel',
        );
      }
      if (!UPDATABLE.includes(p)) {
        throw invalidArgument(`update_mask path "${p}" cannot be updated; updatable: ${UPDATABLE.join(', ')}`);
      }
    }
    if (paths.includes('display_name')) validateDisplayName(input.displayName, 'endpoint.display_name');
    if (paths.includes('labels')) validateLabels(input.labels, 'endpoint.labels');
    return store.tx(() => {
      const ep = repo.get(input.name, 'endpoint.name');
      if (input.etag && input.etag !== ep.etag) {
        throw new RpcError(
          status.ABORTED,
          `endpoint.etag "${input.etag}" does not match the endpoint's current etag "${ep.etag}": it changed since it was read; read it again and retry`,
        );
      }
      if (paths.includes('display_name')) ep.displayName = input.displayName;
      if (paths.includes('description')) ep.description = input.description ?? '';
      if (paths.includes('labels')) ep.labels = input.labels ?? {};
      if (paths.includes('traffic_split')) ep.trafficSplit = updateSplit(input.trafficSplit ?? {}, ids(ep));
      touch(ep);
      repo.put(ep);
      return render(ep);
    });
  }

  function remove(req: { name: string }) {
    store.tx(() => {
      const ep = repo.get(req.name);
      if (ep.deployedModels.length > 0) {
        const names = ep.deployedModels.map((d) => `${d.id} (${d.model}@${d.modelVersionId})`).join(', ');
        throw failedPrecondition(
          `Endpoint ${ep.name} still has deployed models: ${names}; undeploy them first (UndeployModel)`,
        );
      }
      repo.delete(ep.name);
      store.db.prepare('DELETE FROM counters WHERE name = ?').run(routeCounter(ep.name));
    });
    return operations.completed(req.name, 'DeleteOperationMetadata', 'google.protobuf.Empty', {});
  }

  async function deploy(req: { endpoint: string; deployedModel?: Input; trafficSplit?: Record<string, number> }) {
    const endpointName = req.endpoint;
    parseEndpointName(endpointName, 'endpoint');
    const input = req.deployedModel;
    if (!input) throw invalidArgument('deployed_model is required');
    if (!input.model) {
      throw invalidArgument(
        'deployed_model.model is required: projects/{project}/locations/{location}/models/{model}[@{version_id|alias}]',
      );
    }
    const requested = req.trafficSplit ?? {};
    const ep = repo.get(endpointName, 'endpoint');
    const { ref, model, version } = models.resolve(input.model, 'deployed_model.model');
    const modelVersion = versionName(ref.model, version.versionId);
    if (input.id !== undefined && input.id !== '') {
      if (!DEPLOYED_MODEL_ID.test(input.id) || /^0+$/.test(input.id)) {
        throw invalidArgument(
          `deployed_model.id "${input.id}" is invalid: 1-10 digits, not "0" ("0" names the model being deployed in traffic_split)`,
        );
      }
      if (ids(ep).includes(input.id)) {
        throw alreadyExists(`Endpoint ${endpointName} already has a deployed model with id ${input.id}`);
      }
    }
    if (input.displayName) validateDisplayName(input.displayName, 'deployed_model.display_name');
    const resources = deployResources(
      input,
      version.supportedDeploymentResourcesTypes as string[] | undefined,
      modelVersion,
    );
    checkServable(gcs, modelVersion, version as Input);
    const artifactUri = String(version.artifactUri);
    // Split errors are the caller's: report them now, not in the operation.
    deploySplit(ep.trafficSplit, ids(ep), 'new', requested);

    let id: string = input.id || '';
    while (!id || ids(ep).includes(id)) id = String(1_000_000_000 + store.next('deployed_model.id'));
    const cacheKey = `${modelVersion}#${version.versionCreateTime.seconds}.${version.versionCreateTime.nanos}`;
    const kept = Object.fromEntries(DEPLOY_FIELDS.filter((f) => input[f] !== undefined).map((f) => [f, input[f]]));

    const op = operations.start(endpointName, 'DeployModelOperationMetadata');
    const work = (async () => {
      try {
        await predictors.get(cacheKey, () => loadServable(gcs, modelVersion, artifactUri));
        const dm = store.tx(() => {
          if (operations.get(op.name).done) return null; // cancelled meanwhile
          const cur = repo.get(endpointName, 'endpoint');
          if (ids(cur).includes(id))
            throw alreadyExists(`Endpoint ${endpointName} already has a deployed model with id ${id}`);
          models.version(ref.model, version.versionId); // still there?
          const doc: DeployedModelDoc = {
            ...kept,
            id,
            model: ref.model,
            modelVersionId: version.versionId,
            displayName: input.displayName || model.displayName,
            createTime: timestamp(),
            ...resources,
          };
          cur.trafficSplit = deploySplit(cur.trafficSplit, ids(cur), id, requested);
          cur.deployedModels.push(doc);
          cur._serving[id] = { modelVersion, modelDisplayName: model.displayName, artifactUri, cacheKey };
          touch(cur);
          repo.put(cur);
          models.addDeployment(ref.model, version.versionId, { endpoint: endpointName, deployedModelId: id });
          return doc;
        });
        if (!dm) return;
        autoscaler.track(endpointName, id, scalingSpec(dm));
        operations.finish(op.name, {
          response: [`${AIP}.DeployModelResponse`, { deployedModel: toDeployedModel(endpointName, dm, autoscaler) }],
        });
      } catch (err) {
        if (operations.get(op.name).done) return;
        const code = err instanceof RpcError ? err.code : status.INTERNAL;
        if (!(err instanceof RpcError)) log(`emulator: deploying ${modelVersion} failed: ${String(err)}`);
        operations.finish(op.name, { error: { code, message: err instanceof Error ? err.message : String(err) } });
      }
    })().catch((err: unknown) => log(`emulator: deploy operation ${op.name}: ${String(err)}`));
    await settleWithin(work, DEPLOY_WAIT_MS);
    return operations.get(op.name);
  }

  function undeploy(req: { endpoint: string; deployedModelId?: string; trafficSplit?: Record<string, number> }) {
    const endpointName = req.endpoint;
    parseEndpointName(endpointName, 'endpoint');
    const id = req.deployedModelId;
    if (!id) throw invalidArgument('deployed_model_id is required');
    store.tx(() => {
      const ep = repo.get(endpointName, 'endpoint');
      const dm = ep.deployedModels.find((d) => d.id === id);
      if (!dm) {
        throw notFound(
          `Endpoint ${endpointName} has no deployed model ${id}; deployed: ${ids(ep).join(', ') || 'none'}`,
        );
      }
      ep.trafficSplit = undeploySplit(ep.trafficSplit, ids(ep), id, req.trafficSplit ?? {});
      ep.deployedModels = ep.deployedModels.filter((d) => d.id !== id);
      delete ep._serving[id];
      touch(ep);
      repo.put(ep);
      models.removeDeployment(dm.model, dm.modelVersionId, { endpoint: endpointName, deployedModelId: id });
    });
    autoscaler.untrack(endpointName, id);
    return operations.completed(endpointName, 'UndeployModelOperationMetadata', `${AIP}.UndeployModelResponse`, {});
  }

  function mutate(req: { endpoint: string; deployedModel?: Input; updateMask?: { paths?: string[] } }) {
    const endpointName = req.endpoint;
    parseEndpointName(endpointName, 'endpoint');
    const input = req.deployedModel;
    if (!input?.id) throw invalidArgument('deployed_model.id is required: the ID of the deployed model to change');
    const dm = store.tx(() => {
      const ep = repo.get(endpointName, 'endpoint');
      const i = ep.deployedModels.findIndex((d) => d.id === input.id);
      if (i < 0) {
        throw notFound(
          `Endpoint ${endpointName} has no deployed model ${input.id}; deployed: ${ids(ep).join(', ') || 'none'}`,
        );
      }
      const next = mutateDeployedModel(ep.deployedModels[i]!, input, req.updateMask?.paths ?? []);
      ep.deployedModels[i] = next;
      touch(ep);
      repo.put(ep);
      return next;
    });
    autoscaler.update(endpointName, dm.id, scalingSpec(dm));
    return operations.completed(
      endpointName,
      'MutateDeployedModelOperationMetadata',
      `${AIP}.MutateDeployedModelResponse`,
      { deployedModel: toDeployedModel(endpointName, dm, autoscaler) },
    );
  }

  return {
    CreateEndpoint: create,
    GetEndpoint: (req: { name: string }) => render(repo.get(req.name)),
    ListEndpoints: list,
    UpdateEndpoint: update,
    DeleteEndpoint: remove,
    DeployModel: deploy,
    UndeployModel: undeploy,
    MutateDeployedModel: mutate,
  };
}

/** Waits for `p` at most `ms` milliseconds (without keeping the process alive). */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
