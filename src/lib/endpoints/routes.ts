// What `predict` needs to know about an endpoint besides the Predict RPC itself: its resource name
// (from an ID at no cost, from a display name once) and which registry version a deployed model id
// serves. Cached so a prediction is one round trip; the Predict response names the deployed model,
// and a deployed model id never changes meaning on its endpoint, so only a miss (a deployment newer
// than the cache) or a NOT_FOUND (the endpoint was deleted, perhaps re-created under the same name)
// reads the endpoint again.
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';

type IEndpoint = google.cloud.aiplatform.v1.IEndpoint;

export interface Deployment {
  name: string | null;
  version: string | null;
}

/** Display name -> endpoint resource name, and endpoint -> deployed model id -> version. */
export class PredictRoutes {
  private readonly byDisplayName = new Map<string, string>();
  private readonly deployments = new Map<string, Map<string, Deployment>>();

  constructor(private readonly parent: string) {}

  /** The endpoint's resource name without a read when the ref is an ID or a resource name; else the cached one. */
  endpointName(ref: string): string | undefined {
    if (ref.startsWith('projects/')) return ref;
    if (/^[0-9]+$/.test(ref)) return `${this.parent}/endpoints/${ref}`;
    return this.byDisplayName.get(ref);
  }

  /** The version a deployed model id serves, or undefined when this endpoint was not read since it was deployed. */
  deployment(endpointName: string, deployedModelId: string): Deployment | undefined {
    return this.deployments.get(endpointName)?.get(deployedModelId);
  }

  /** Learns an endpoint from a read of it (resolve, or GetEndpoint after a miss). */
  remember(e: IEndpoint, ref?: string): void {
    const name = String(e.name);
    if (ref && !ref.startsWith('projects/') && !/^[0-9]+$/.test(ref)) this.byDisplayName.set(ref, name);
    const map = new Map<string, Deployment>();
    for (const m of e.deployedModels ?? []) {
      const [n, v] = m.displayName?.includes('@') ? m.displayName.split('@') : [null, null];
      map.set(String(m.id), { name: n ?? null, version: v ?? null });
    }
    this.deployments.set(name, map);
    // Bounded: a long-lived server that talks to many endpoints keeps the most recent ones.
    if (this.deployments.size > 1000) this.deployments.delete(this.deployments.keys().next().value!);
    if (this.byDisplayName.size > 1000) this.byDisplayName.delete(this.byDisplayName.keys().next().value!);
  }

  /** Drops what is known of an endpoint (deleted, or NOT_FOUND on Predict). */
  forget(ref: string, endpointName?: string): void {
    this.byDisplayName.delete(ref);
    for (const [k, v] of this.byDisplayName) if (v === endpointName || v === ref) this.byDisplayName.delete(k);
    if (endpointName) this.deployments.delete(endpointName);
    this.deployments.delete(ref);
  }
}
