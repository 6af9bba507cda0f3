// Resource template vertex://endpoints/{endpoint}/stats: per-version traffic, requests, errors,
// latency percentiles, replicas and alert state. Subscribable: subscribers get
// notifications/resources/updated as traffic flows (predictions through this server at once,
// others within a poll), at most once a second per endpoint.
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Library } from '../lib/index.js';

const PREFIX = 'vertex://endpoints/';
const THROTTLE_MS = 1000;
const POLL_MS = 5000;

export function statsUri(endpointId: string): string {
  return `${PREFIX}${endpointId}/stats`;
}

/** Registers the template and subscription handling; returns a cleanup for the server's close. */
export function registerEndpointResources(server: McpServer, lib: Library): () => void {
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
          text: JSON.stringify(await lib.monitoring.getEndpointStats(String(vars.endpoint)), null, 2),
        },
      ],
    }),
  );

  // Subscriptions: uri -> endpoint id; the last notification time per endpoint.
  const subscribed = new Map<string, string>();
  const last = new Map<string, number>();
  const pending = new Map<string, NodeJS.Timeout>();
  const seen = new Map<string, number>();
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    const m = /^vertex:\/\/endpoints\/([^/]+)\/stats$/.exec(req.params.uri);
    if (!m) throw new Error(`only ${PREFIX}{endpoint}/stats resources are subscribable`);
    const e = await lib.endpoints.getEndpoint(decodeURIComponent(m[1]!));
    subscribed.set(req.params.uri, e.endpoint);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscribed.delete(req.params.uri);
    return {};
  });

  const notify = (endpointId: string) => {
    const uris = [...subscribed].filter(([, id]) => id === endpointId).map(([u]) => u);
    if (!uris.length || pending.has(endpointId)) return;
    const wait = Math.max(0, (last.get(endpointId) ?? 0) + THROTTLE_MS - Date.now());
    const timer = setTimeout(() => {
      pending.delete(endpointId);
      last.set(endpointId, Date.now());
      for (const uri of uris) void server.server.sendResourceUpdated({ uri }).catch(() => {});
    }, wait);
    timer.unref();
    pending.set(endpointId, timer);
  };
  const onPredicted = (endpointId: string) => notify(endpointId);
  lib.endpoints.events.on('predicted', onPredicted);

  // Traffic that does not pass through this server shows up in the request counts.
  const poll = setInterval(() => {
    for (const id of new Set(subscribed.values())) {
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
    for (const t of pending.values()) clearTimeout(t);
    lib.endpoints.events.off('predicted', onPredicted);
  };
}
