// Dataset preparation (SPEC 4): multi-agent logs -> tuning datasets, streaming, constant memory.
export { HashSet64, hash64 } from './common.js';
export { decisionOutcome, prepareHaloRoutingDataset, taskText } from './halo.js';
export { MAX_RECORD_BYTES } from './reader.js';
export { PREFERENCES, STATS, TRAIN, VALIDATION } from './run.js';
export { peekQualityScore, prepareSeDarwinDataset, trajectoryCompletion, trajectoryPrompt } from './se-darwin.js';
export type * from './types.js';
