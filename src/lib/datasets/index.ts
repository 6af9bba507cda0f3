// Dataset preparation (SPEC 4): multi-agent logs -> tuning datasets, streaming, constant memory,
// published whole (a generation and a manifest; see manifest.ts).
export { HashSet64, hash64 } from './dedup.js';
export { decisionOutcome, prepareHaloRoutingDataset, taskText } from './halo.js';
export {
  checkDataset,
  type DatasetCheck,
  type DatasetGeneration,
  type DatasetManifest,
  GENERATION_RE,
  MANIFEST,
  type ManifestFile,
  readDatasetManifest,
} from './manifest.js';
export { type CommitStep, PREFERENCES, STATS, setCommitHook, TRAIN, VALIDATION } from './output.js';
export { MAX_RECORD_BYTES } from './reader.js';
export { peekQualityScore, prepareSeDarwinDataset, trajectoryCompletion, trajectoryPrompt } from './se-darwin.js';
export type * from './types.js';
