// The library API: what the MCP tools use, and what TypeScript code can import directly.
import path from 'node:path';
import { VertexClients } from './clients.js';
import type { BackendConfig } from './config.js';
import { ModelEndpoints } from './endpoints/endpoints.js';
import { ABTests } from './experiments/ab_tests.js';
import { Files } from './files.js';
import { type Logger, silentLogger } from './log.js';
import { VertexAIMonitoring } from './monitoring/vertex_monitoring.js';
import { ModelRegistry } from './registry/registry.js';
import { FineTuningPipeline } from './tuning/pipeline.js';

export { VertexClients } from './clients.js';
export * from './config.js';
// The converters and monitoring building blocks are separate entry points (vertex-mcp/datasets,
// vertex-mcp/monitoring), so importing the library does not load them.
export type * from './datasets/types.js';
export { MAX_REQUEST_BYTES, ModelEndpoints, type PredictResult } from './endpoints/endpoints.js';
export { rescale, type Split, splitForDeploy, splitForUndeploy } from './endpoints/split.js';
export * from './endpoints/types.js';
export * from './errors.js';
export {
  ABTests,
  type ConcludeInput,
  type ConcludePlan,
  type StartInput,
  type StartPlan,
  type TestReport,
} from './experiments/ab_tests.js';
export * from './experiments/plan.js';
export { type FileInfo, type FileStat, Files, type WriteOptions, type WrittenFile } from './files.js';
export { createLogger, type Logger, type LogLevel, silentLogger } from './log.js';
export type { AlertEvent, AlertRule } from './monitoring/index.js';
export {
  ALERT_METRICS,
  type AlertMetric,
  type QualityReport,
  VertexAIMonitoring,
} from './monitoring/vertex_monitoring.js';
export { STAGES, type Stage } from './registry/naming.js';
export type { DeletePlan, PromoteOptions, PromotionGate } from './registry/registry.js';
export { ModelRegistry } from './registry/registry.js';
export * from './registry/types.js';
export { BASE_MODELS, BASE_MODELS_AS_OF, type BaseModel } from './tuning/base_models.js';
export { FineTuningPipeline, type WaitOptions } from './tuning/pipeline.js';
export * from './tuning/types.js';

/** Every library service over one set of lazily created clients. Creating it does no I/O. */
export interface Library {
  clients: VertexClients;
  files: Files;
  registry: ModelRegistry;
  tuning: FineTuningPipeline;
  endpoints: ModelEndpoints;
  monitoring: VertexAIMonitoring;
  experiments: ABTests;
  log: Logger;
  close(): Promise<void>;
}

export interface LibraryOptions {
  log?: Logger;
  /** Where the ledger lives (alert rules, feedback, served predictions); ':memory:' for tests. */
  dataDir?: string;
  /** Price table overrides (--prices). */
  prices?: string | Record<string, unknown>;
  /** Directories local paths may use (default: the working directory). */
  allowedRoots?: string[];
}

export function createLibrary(backend: BackendConfig, opts: LibraryOptions = {}): Library {
  const clients = new VertexClients(backend);
  const files = new Files(
    clients,
    (opts.allowedRoots ?? [process.cwd()]).map((r) => path.resolve(r)),
    { dataDir: opts.dataDir ?? ':memory:' },
  );
  const registry = new ModelRegistry(clients);
  const endpoints = new ModelEndpoints(clients, registry);
  const monitoring = new VertexAIMonitoring(clients, endpoints, registry, files, {
    dataDir: opts.dataDir ?? ':memory:',
    ...(opts.prices ? { prices: opts.prices } : {}),
  });
  endpoints.onPredict = (result, instances) => monitoring.recordServed(result, instances);
  const experiments = new ABTests(clients, endpoints, registry, monitoring);
  const tuning = new FineTuningPipeline(clients, files, registry);
  // Comparisons and the beat_production gate rest on A/B tests and tested live numbers.
  registry.evidence = async (name, a, b) => {
    const { abEvidence, liveEvidence } = await import('./experiments/evidence.js');
    const [ab, live] = await Promise.all([
      abEvidence(experiments, name, a, b),
      liveEvidence({ endpoints, perf: experiments.perf, served: monitoring.served }, name, a, b),
    ]);
    return { ab, live };
  };
  return {
    clients,
    files,
    registry,
    tuning,
    endpoints,
    monitoring,
    experiments,
    log: opts.log ?? silentLogger,
    async close() {
      experiments.stopBackground();
      tuning.stopBackground();
      monitoring.close();
      await clients.close();
    },
  };
}
