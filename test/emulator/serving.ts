// Shared by the endpoint and prediction contract tests: official clients on one emulator, a small
// trained router artifact, and uploading it as a servable local/text-router model.
import { EndpointServiceClient } from '@google-cloud/aiplatform/build/src/v1/endpoint_service_client.js';
import { ModelServiceClient } from '@google-cloud/aiplatform/build/src/v1/model_service_client.js';
import { PredictionServiceClient } from '@google-cloud/aiplatform/build/src/v1/prediction_service_client.js';
import type { Emulator } from '../../src/emulator/index.js';
import { type RouterArtifact, train } from '../../src/emulator/runtime/index.js';
import { clientOptions } from './grpc.js';

export const parent = 'projects/p/locations/us-central1';

export interface Clients {
  endpoints: EndpointServiceClient;
  models: ModelServiceClient;
  predictions: PredictionServiceClient;
  close(): Promise<void>;
}

export function connect(emu: Emulator): Clients {
  const opts = clientOptions(emu);
  const c = {
    endpoints: new EndpointServiceClient(opts),
    models: new ModelServiceClient(opts),
    predictions: new PredictionServiceClient(opts),
  };
  return { ...c, close: async () => void (await Promise.all(Object.values(c).map((x) => x.close()))) };
}

/** A router trained in a second on "<output> task number i" for each output. */
export function artifact(outputs: string[], seed = 1): RouterArtifact {
  const examples = [];
  for (let i = 0; i < 30; i++) for (const o of outputs) examples.push({ input: `${o} task number ${i}`, output: o });
  return train(
    { train: examples },
    { baseModel: 'local/text-router', method: 'supervised', epochs: 2, learningRate: 0.02, batchSize: 16, seed },
  ).artifact;
}

/** Uploads a local/text-router model (artifact written to the emulator's GCS); returns `model@version`. */
export async function uploadLocal(
  emu: Emulator,
  c: Clients,
  id: string,
  art: RouterArtifact | string,
  over: { parentModel?: string; versionAliases?: string[]; imageUri?: string } = {},
): Promise<string> {
  const dir = `gs://vertex-mcp-emulator/models/${id}-${Math.random().toString(36).slice(2)}`;
  await emu.gcs.write(`${dir}/model.json`, typeof art === 'string' ? art : JSON.stringify(art));
  const [op] = await c.models.uploadModel({
    parent,
    ...(over.parentModel ? { parentModel: over.parentModel } : { modelId: id }),
    model: {
      displayName: `${id} model`,
      artifactUri: dir,
      containerSpec: { imageUri: over.imageUri ?? 'local/text-router' },
      versionAliases: over.versionAliases ?? [],
    },
  });
  const [res] = await op.promise();
  return `${res.model}@${res.modelVersionId}`;
}
