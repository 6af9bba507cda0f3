// Resource template vertex://ab-tests/{test}: an A/B test's live report (the get_ab_test result).
// Subscribable: updated when the test's endpoint serves a prediction through this server, when
// feedback arrives, and when the test changes state (including automatic rollbacks).
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Library } from '../lib/index.js';
import { reportOut } from '../tools/experiments.js';
import { reading } from './errors.js';
import type { Subscriptions } from './subscriptions.js';

const PREFIX = 'vertex://ab-tests/';

export function abTestUri(test: string): string {
  return `${PREFIX}${test}`;
}

export function registerAbTestResources(server: McpServer, lib: Library, subs: Subscriptions): () => void {
  const template = new ResourceTemplate(`${PREFIX}{test}`, {
    list: async () => ({
      resources: (await lib.experiments.list()).map((t) => ({
        uri: abTestUri(t.test),
        name: `A/B test ${t.test}`,
        description: `${t.plan.model} ${t.plan.treatment.version} vs ${t.plan.control.version} (${t.state})`,
        mimeType: 'application/json',
      })),
    }),
    complete: {
      test: async (value) => (await lib.experiments.list()).map((t) => t.test).filter((x) => x.startsWith(value)),
    },
  });
  server.registerResource(
    'ab-test',
    template,
    { title: 'A/B test', description: 'Live report of an A/B test (as get_ab_test)', mimeType: 'application/json' },
    async (uri, vars) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify(
            reportOut(await reading(uri.href, () => lib.experiments.get(String(vars.test)))),
            null,
            2,
          ),
        },
      ],
    }),
  );
  const key = (test: string) => `ab-test:${test}`;
  // Which running tests an endpoint's traffic moves: read when someone subscribes and when a test
  // changes, never at start-up (creating a server does no I/O).
  let byEndpoint = new Map<string, string[]>();
  const refresh = () =>
    lib.experiments
      .list()
      .then((tests) => {
        byEndpoint = new Map();
        for (const t of tests.filter((x) => x.state === 'running'))
          byEndpoint.set(t.plan.endpoint, [...(byEndpoint.get(t.plan.endpoint) ?? []), t.test]);
      })
      .catch(() => {});
  subs.route(/^vertex:\/\/ab-tests\/([^/]+)$/, async (m) => {
    const t = await reading(m[0], () => lib.experiments.store.get(decodeURIComponent(m[1]!)));
    await refresh();
    return key(t.test);
  });
  const onChanged = (test: string) => {
    subs.notify(key(test));
    void refresh();
  };
  const onPredicted = (endpointId: string) => {
    if (!subs.keys('ab-test:').length) return;
    for (const t of byEndpoint.get(endpointId) ?? []) subs.notify(key(t));
  };
  const onFeedback = (endpointId: string) => onPredicted(endpointId);
  lib.experiments.events.on('changed', onChanged);
  lib.endpoints.events.on('predicted', onPredicted);
  lib.monitoring.events.on('feedback', onFeedback);
  return () => {
    lib.experiments.events.off('changed', onChanged);
    lib.endpoints.events.off('predicted', onPredicted);
    lib.monitoring.events.off('feedback', onFeedback);
  };
}
