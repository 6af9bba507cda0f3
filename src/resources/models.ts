// Resource template vertex://models/{model}/versions/{version}: one model version as JSON, listed
// from the registry, with completion of model names and of the chosen model's versions.
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Library } from '../lib/index.js';
import { reading } from './errors.js';

export const MODEL_VERSION_URI = 'vertex://models/{model}/versions/{version}';

export function registerModelResources(server: McpServer, lib: Library): void {
  const uri = (model: string, version: string) => `vertex://models/${model}/versions/${version}`;
  const template = new ResourceTemplate(MODEL_VERSION_URI, {
    list: async () => {
      const versions = await lib.registry.listModels();
      return {
        resources: versions
          .filter((v) => v.version)
          .map((v) => ({
            uri: uri(v.name, v.version!),
            name: `${v.name} ${v.version}`,
            description: `stage ${v.deployment_stage ?? '-'}, source ${v.source ?? '-'}`,
            mimeType: 'application/json',
          })),
      };
    },
    complete: {
      model: async (value) => {
        const names = new Set((await lib.registry.listModels()).map((v) => v.name));
        return [...names].filter((n) => n.startsWith(value));
      },
      version: async (value, context) => {
        const model = context?.arguments?.model;
        if (!model) return [];
        const versions = await lib.registry.listVersions(model).catch(() => []);
        return versions.flatMap((v) => (v.version?.startsWith(value) ? [v.version] : []));
      },
    },
  });
  server.registerResource(
    'model-version',
    template,
    {
      title: 'Model version',
      description: 'A registered model version: stage, metrics, deployments',
      mimeType: 'application/json',
    },
    async (u, vars) => {
      const record = await reading(u.href, () => lib.registry.getModel(String(vars.model), String(vars.version)));
      return { contents: [{ uri: u.href, mimeType: 'application/json', text: JSON.stringify(record, null, 2) }] };
    },
  );
}
