// What the MCP server and the in-process agent tools (vertex-mcp/agent) share without either
// loading the other: the library a configuration asks for, its background loops, the input bound.
import { createLibrary, type Library } from './lib/index.js';
import type { ServerConfig } from './server.js';

/** Elements (array items and object fields, at any depth) one tool call's arguments may hold. */
export const MAX_INPUT_ELEMENTS = 20_000;

/** The library a server owns when none is shared with it. */
export function libraryFor(config: ServerConfig): Library {
  return createLibrary(config.backend, {
    log: config.log,
    allowedRoots: config.allowedRoots,
    dataDir: config.dataDir ?? ':memory:',
    ...(config.prices ? { prices: config.prices } : {}),
  });
}

/**
 * The background work of a library's owner, every --alert-interval seconds: alert rules, running
 * A/B tests (guardrails, SRM, limits; auto-rollback), and registering succeeded tuning jobs (a
 * write: not in read-only mode).
 */
export function startBackground(lib: Library, config: ServerConfig): void {
  if (!config.alertIntervalSeconds) return;
  const ms = config.alertIntervalSeconds * 1000;
  lib.monitoring.startBackground(ms);
  lib.experiments.startBackground(ms);
  if (!config.selection?.readOnly) lib.tuning.startBackground(ms);
}
