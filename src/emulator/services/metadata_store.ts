// Vertex AI Experiments state (MetadataService contexts) for the emulated MetadataService.
//
// Storage layout (Store kinds):
//   'metadata_context'  name = projects/{p}/locations/{l}/metadataStores/{store}/contexts/{id},
//                       parent = the metadata store's name. The google.cloud.aiplatform.v1.Context
//                       message (camelCase) with its metadata kept as plain JSON (converted to a
//                       google.protobuf.Struct when read).
// Metadata stores are implicit: any projects/{p}/locations/{l}/metadataStores/{id} (usually
// `default`) holds contexts without being created first.
import { invalidArgument, notFound } from '../errors.js';
import type { Store } from '../store.js';
import { toStruct } from '../struct.js';
import type { Timestamp } from '../util.js';

export const CONTEXT_KIND = 'metadata_context';

/** Context IDs: lowercase letters, digits and dashes, starting with a letter or digit, at most 128. */
export const CONTEXT_ID = /^[a-z0-9][a-z0-9-]{0,127}$/;
/** Vertex allows a context at most 10 parents. */
export const MAX_PARENT_CONTEXTS = 10;

const STORE_NAME = /^projects\/[^/]+\/locations\/[^/]+\/metadataStores\/[^/]+$/;
const CONTEXT_NAME = /^(projects\/[^/]+\/locations\/[^/]+\/metadataStores\/[^/]+)\/contexts\/([^/]+)$/;

export interface ContextDoc {
  name: string;
  displayName: string;
  /** Changes on every write: UpdateContext with a stale etag is ABORTED. */
  etag?: string;
  labels?: Record<string, string>;
  createTime: Timestamp;
  updateTime: Timestamp;
  parentContexts?: string[];
  schemaTitle: string;
  schemaVersion: string;
  /** Plain JSON; a Struct on the wire. */
  metadata: Record<string, unknown>;
  description?: string;
}

/** Checks `projects/{p}/locations/{l}/metadataStores/{store}`; returns it. */
export function parseStoreName(name: string | undefined, field: string): string {
  if (!STORE_NAME.test(name ?? '')) {
    throw invalidArgument(
      `${field} "${name ?? ''}" must look like projects/{project}/locations/{location}/metadataStores/{metadata_store}, e.g. projects/my-project/locations/us-central1/metadataStores/default`,
    );
  }
  return name!;
}

/** Splits a context name into its metadata store and ID, or INVALID_ARGUMENT naming the form. */
export function parseContextName(name: string | undefined, field: string): { store: string; id: string } {
  const m = CONTEXT_NAME.exec(name ?? '');
  if (!m) {
    throw invalidArgument(
      `${field} "${name ?? ''}" must look like projects/{project}/locations/{location}/metadataStores/{metadata_store}/contexts/{context}`,
    );
  }
  return { store: m[1]!, id: m[2]! };
}

export function validateContextId(id: string, field: string): void {
  if (!CONTEXT_ID.test(id)) {
    throw invalidArgument(
      `${field} "${id}" is invalid: context IDs must match [a-z0-9][a-z0-9-]{0,127} (lowercase letters, digits and "-", at most 128 characters)`,
    );
  }
}

/** Reads and writes contexts; callers wrap read-modify-writes in store.tx. */
export class ContextRepo {
  constructor(readonly store: Store) {}

  /** Files contexts written before they were kept under their metadata store (parent NULL). */
  adoptOrphans(): void {
    this.store.db
      .prepare(
        `UPDATE docs SET parent = substr(name, 1, instr(name, '/contexts/') - 1)
         WHERE kind = ? AND parent IS NULL AND instr(name, '/contexts/') > 0`,
      )
      .run(CONTEXT_KIND);
  }

  find(name: string): ContextDoc | undefined {
    return this.store.get<ContextDoc>(CONTEXT_KIND, name);
  }

  get(name: string, field = 'name'): ContextDoc {
    parseContextName(name, field);
    const doc = this.find(name);
    if (!doc) throw notFound(`Context ${name} not found`);
    return doc;
  }

  /** A fresh etag; every write of a context takes a new one. */
  newEtag(): string {
    return Buffer.from(`context-${this.store.next('metadata_context.etag')}`).toString('base64url');
  }

  put(doc: ContextDoc): void {
    this.store.put(CONTEXT_KIND, doc.name, doc, parseContextName(doc.name, 'name').store);
  }

  /** Inserts a new context; false when the name is taken (atomic). */
  insert(doc: ContextDoc): boolean {
    return this.store.insert(CONTEXT_KIND, doc.name, doc, parseContextName(doc.name, 'name').store);
  }

  delete(name: string): boolean {
    return this.store.delete(CONTEXT_KIND, name);
  }

  /** The contexts of a metadata store, oldest first. */
  list(metadataStore: string): ContextDoc[] {
    return this.store.list<ContextDoc>(CONTEXT_KIND, metadataStore).map((d) => d.doc);
  }

  /** Contexts of the same metadata store that list `name` among their parents. */
  children(name: string): ContextDoc[] {
    return this.list(parseContextName(name, 'name').store).filter((c) => (c.parentContexts ?? []).includes(name));
  }

  /** Every ancestor of a context (parents, their parents, ...). */
  ancestors(name: string): Set<string> {
    const seen = new Set<string>();
    const queue = [...(this.find(name)?.parentContexts ?? [])];
    while (queue.length) {
      const next = queue.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(...(this.find(next)?.parentContexts ?? []));
    }
    return seen;
  }
}

/** The google.cloud.aiplatform.v1.Context clients see. */
export function toContext(doc: ContextDoc): Record<string, unknown> {
  return {
    name: doc.name,
    displayName: doc.displayName ?? '',
    etag: doc.etag ?? '',
    labels: doc.labels ?? {},
    createTime: doc.createTime,
    updateTime: doc.updateTime,
    parentContexts: doc.parentContexts ?? [],
    schemaTitle: doc.schemaTitle ?? '',
    schemaVersion: doc.schemaVersion ?? '',
    metadata: toStruct(doc.metadata ?? {}),
    description: doc.description ?? '',
  };
}
