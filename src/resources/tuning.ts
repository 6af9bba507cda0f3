// Resource template vertex://tuning-jobs/{job}: a tuning job's state and per-epoch progress.
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Library } from '../lib/index.js';
import { reading } from './errors.js';

export function registerTuningResources(server: McpServer, lib: Library): void {
  const template = new ResourceTemplate('vertex://tuning-jobs/{job}', {
    list: async () => ({
      resources: (await lib.tuning.listTuningJobs({ limit: 50 })).map((j) => ({
        uri: `vertex://tuning-jobs/${j.job}`,
        name: `tuning job ${j.job}`,
        description: `${j.tuning_type ?? 'tuning'} of ${j.base_model ?? '?'}: ${j.state}`,
        mimeType: 'application/json',
      })),
    }),
    complete: {
      job: async (value) =>
        (await lib.tuning.listTuningJobs({ limit: 50 })).map((j) => j.job).filter((id) => id.startsWith(value)),
    },
  });
  server.registerResource(
    'tuning-job',
    template,
    {
      title: 'Tuning job',
      description: 'State, per-epoch metrics and the tuned model of a tuning job',
      mimeType: 'application/json',
    },
    async (uri, vars) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify(await reading(uri.href, () => lib.tuning.getTuningJob(String(vars.job))), null, 2),
        },
      ],
    }),
  );
}
