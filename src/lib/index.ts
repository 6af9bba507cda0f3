// The library API: what the MCP tools use, and what TypeScript code can import directly.
import { VertexClients } from './clients.js';
import type { BackendConfig } from './config.js';
import { type Logger, silentLogger } from './log.js';
import { ModelRegistry } from './registry/registry.js';

export { VertexClients } from './clients.js';
export * from './config.js';
export * from './errors.js';
export { createLogger, type Logger, type LogLevel, silentLogger } from './log.js';
export { STAGES, type Stage } from './registry/naming.js';
export type { DeletePlan, PromoteOptions, PromotionGate } from './registry/registry.js';
export { ModelRegistry } from './registry/registry.js';
export * from './registry/types.js';

/** Every library service over one set of lazily created clients. Creating it does no I/O. */
export interface Library {
  clients: VertexClients;
  registry: ModelRegistry;
  log: Logger;
  close(): Promise<void>;
}

export function createLibrary(backend: BackendConfig, log: Logger = silentLogger): Library {
  const clients = new VertexClients(backend);
  return { clients, registry: new ModelRegistry(clients), log, close: () => clients.close() };
}
