// MetadataService, the part tuning needs: GetContext. A tuning job's `experiment` names a context
// whose metadata carries the per-epoch training metrics (Vertex keeps tuning metrics in Vertex
// Experiments); the tuning service writes them, clients read them here.
import { notFound } from '../errors.js';
import type { ServiceImpl } from '../host.js';
import type { ServiceContext } from '../index.js';
import { toStruct } from '../struct.js';
import { type Timestamp, timestamp } from '../util.js';

export const CONTEXT_KIND = 'metadata_context';

export interface ContextDoc {
  name: string;
  displayName: string;
  schemaTitle: string;
  schemaVersion: string;
  createTime: Timestamp;
  updateTime: Timestamp;
  metadata: Record<string, unknown>;
}

/** Creates or replaces a context's metadata (plain JSON; converted to a Struct when read). */
export function putContext(
  ctx: ServiceContext,
  name: string,
  displayName: string,
  metadata: Record<string, unknown>,
): void {
  const existing = ctx.store.get<ContextDoc>(CONTEXT_KIND, name);
  const now = timestamp();
  ctx.store.put<ContextDoc>(CONTEXT_KIND, name, {
    name,
    displayName,
    schemaTitle: 'system.ExperimentRun',
    schemaVersion: '0.0.1',
    createTime: existing?.createTime ?? now,
    updateTime: now,
    metadata,
  });
}

export function createMetadataService(ctx: ServiceContext): ServiceImpl {
  return {
    GetContext: (req: { name: string }) => {
      const doc = ctx.store.get<ContextDoc>(CONTEXT_KIND, req.name);
      if (!doc) throw notFound(`context ${req.name} not found`);
      return { ...doc, metadata: toStruct(doc.metadata) };
    },
  };
}
