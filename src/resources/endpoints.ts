// Resource template vertex://endpoints/{endpoint}/stats: per-version traffic, requests, errors,
// latency percentiles, replicas and alert state. Subscribable: subscribers get
// notifications/resources/updated as traffic flows (predictions through this server at once,
// others within a poll), at most once a second per endpoint.
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Library } from '../lib/index.js';
import { reading } from './errors.js';
import type { Subscriptions } from './subscriptions.js';

const PREFIX = 'vertex://endpoints/';
const POLL_MS = 5000;

export function statsUri(endpointId: string): string {
  return `${PREFIX}${endpointId}/stats`;
}

/** Registers the template and subscription handling; returns a cleanup for the server's close. */
export function registerEndpointResources(server: McpServer, lib: Library, subs: Subscriptions): () => void {
  const template = new ResourceTemplate(`${PREFIX}{endpoint}/stats`, {
    list: async () => ({
      resources: (await lib.endpoints.listEndpoints()).map((e) => ({
        uri: statsUri(e.endpoint),
        name: `${e.display_name} stats`,
        description: `traffic, latency and replicas of ${e.display_name}`,
        mimeType: 'application/json',
      })),
    }),
    complete: {
      endpoint: async (value) =>
        (await lib.endpoints.listEndpoints())
          .flatMap((e) => [e.endpoint, e.display_name])
          .filter((x) => x.startsWith(value)),
    },
  });
  server.registerResource(
    'endpoint-stats',
    template,
    {
      title: 'Endpoint stats',
      description: 'Live per-version stats of an endpoint (last 5 minutes)',
      mimeType: 'application/json',
    },
    async (uri, vars) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify(
            await reading(uri.href, () => lib.monitoring.getEndpointStats(String(vars.endpoint))),
            null,
            2,
          ),
        },
      ],
    }),
  );

  const key = (id: string) => `endpoint:${id}`;
  subs.route(/^vertex:\/\/endpoints\/([^/]+)\/stats$/, async (m) =>
    key((await reading(m[0], () => lib.endpoints.getEndpoint(decodeURIComponent(m[1]!)))).endpoint),
  );
  const seen = new Map<string, number>();
  const notify = (endpointId: string) => subs.notify(key(endpointId));
  const onPredicted = (endpointId: string) => notify(endpointId);
  lib.endpoints.events.on('predicted', onPredicted);

  // Traffic that does not pass through this server shows up in the request counts.
  const poll = setInterval(() => {
    for (const id of subs.keys('endpoint:').map((k) => k.slice('endpoint:'.length))) {
      void lib.monitoring
        .collectPerformanceMetrics(id, 3600)
        .then((p) => {
          if (seen.has(id) && seen.get(id) !== p.endpoint.requests) notify(id);
          seen.set(id, p.endpoint.requests);
        })
        .catch(() => {});
    }
  }, POLL_MS);
  poll.unref();

  return () => {
    clearInterval(poll);
    lib.endpoints.events.off('predicted', onPredicted);
  };
}
