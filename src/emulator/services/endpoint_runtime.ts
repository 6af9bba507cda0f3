// Serving deployed models: which models the emulator's runtime can serve, and a small LRU cache
// of loaded predictors keyed by model version (artifacts are JSON of up to ~11 MB; parsing one
// and building its network takes tens of milliseconds, so Predict must not do it per request).
import { failedPrecondition } from '../errors.js';
import type { Gcs } from '../gcs.js';
import { checkArtifact, loadPredictor, type Predictor, type RouterArtifact } from '../runtime/index.js';
import { LOCAL_CONTAINER } from './tuning_service.js';

/** Predictors kept loaded; each holds a network of a few MB. */
export const PREDICTOR_CACHE_SIZE = 8;

export const artifactFile = (artifactUri: string) => `${artifactUri.replace(/\/+$/, '')}/model.json`;

/**
 * Refuses, with the reason, a model version the runtime cannot serve: another container, or no
 * artifact at `{artifact_uri}/model.json`. Loading the artifact is checked later (loadServable).
 */
export function checkServable(
  gcs: Gcs,
  modelVersion: string,
  version: { containerSpec?: { imageUri?: string }; artifactUri?: string },
): string {
  const image = version.containerSpec?.imageUri ?? '';
  if (image !== LOCAL_CONTAINER) {
    throw failedPrecondition(
      `Model ${modelVersion} cannot be deployed in the emulator: the emulator serves only ${LOCAL_CONTAINER} models; use vertex mode for container ${image || '(none)'}`,
    );
  }
  if (!version.artifactUri) {
    throw failedPrecondition(
      `Model ${modelVersion} cannot be deployed: it has no artifact_uri (a ${LOCAL_CONTAINER} model needs {artifact_uri}/model.json)`,
    );
  }
  const file = artifactFile(version.artifactUri);
  let exists = false;
  try {
    exists = gcs.exists(file);
  } catch {
    exists = false;
  }
  if (!exists) {
    throw failedPrecondition(`Model ${modelVersion} cannot be deployed: its artifact ${file} does not exist`);
  }
  return file;
}

/** Reads, checks and loads an artifact; failures are FAILED_PRECONDITION with the reason. */
export async function loadServable(gcs: Gcs, modelVersion: string, artifactUri: string): Promise<Predictor> {
  const file = artifactFile(artifactUri);
  let text: string;
  try {
    text = await gcs.readText(file);
  } catch (err) {
    throw failedPrecondition(`Model ${modelVersion}: cannot read its artifact ${file}: ${reason(err)}`);
  }
  try {
    const artifact = JSON.parse(text) as RouterArtifact;
    checkArtifact(artifact);
    return loadPredictor(artifact);
  } catch (err) {
    throw failedPrecondition(
      `Model ${modelVersion}: its artifact ${file} is not a loadable ${LOCAL_CONTAINER} model: ${reason(err)}`,
    );
  }
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** An LRU of loaded predictors; concurrent loads of one key share one promise. */
export class PredictorCache {
  private readonly loaded = new Map<string, Predictor>();
  private readonly loading = new Map<string, Promise<Predictor>>();

  constructor(private readonly capacity = PREDICTOR_CACHE_SIZE) {}

  /** The cached predictor, refreshed as most recently used; undefined when not loaded. */
  peek(key: string): Predictor | undefined {
    const p = this.loaded.get(key);
    if (p) {
      this.loaded.delete(key);
      this.loaded.set(key, p);
    }
    return p;
  }

  async get(key: string, load: () => Promise<Predictor>): Promise<Predictor> {
    const hit = this.peek(key);
    if (hit) return hit;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().then(
        (p) => {
          this.loading.delete(key);
          this.loaded.set(key, p);
          while (this.loaded.size > this.capacity) this.loaded.delete(this.loaded.keys().next().value!);
          return p;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  get size(): number {
    return this.loaded.size;
  }
}
