// google.cloud.aiplatform.v1.MetadataService, the context part: the storage of Vertex AI
// Experiments (an experiment is a context, its runs are child contexts, plans and results live in
// their metadata). Tuning jobs also write their per-epoch metrics to a context (putContext).
//
// - CreateContext: parent is any projects/{p}/locations/{l}/metadataStores/{store} (usually
//   `default`); context_id is optional (a UUID otherwise) and must match [a-z0-9][a-z0-9-]{0,127};
//   a taken ID is ALREADY_EXISTS (atomic: of concurrent creates of one ID exactly one succeeds).
// - GetContext: NOT_FOUND when missing.
// - ListContexts: page_size (1-1000, default 100) / page_token; filter (AIP-160 subset, filter.ts)
//   on name, display_name, schema_title, schema_version (= / !=), parent_contexts:"<context name>",
//   child_contexts:"<context name>", labels.<key>="v", joined with AND (OR / NOT also work);
//   order_by on create_time, update_time, display_name, name.
// - UpdateContext: update_mask paths among display_name, description, labels, schema_title,
//   schema_version, metadata; with `metadata` the given top-level keys are merged into the stored
//   ones (as Vertex does). No mask: every one of those fields the request sets. A request etag that
//   differs from the stored one is ABORTED; every update takes a new etag. allow_missing creates.
// - DeleteContext: a completed long-running operation; the context's children stay, detached
//   from it (`force` changes nothing); an etag that differs is FAILED_PRECONDITION, as the proto says.
// - AddContextChildren / RemoveContextChildren: children must exist (NOT_FOUND), live in the same
//   metadata store, create no cycle and have at most 10 parents (INVALID_ARGUMENT); children already
//   added (or not there, for Remove) are skipped.
import { randomUUID } from 'node:crypto';
import { aborted, alreadyExists, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { compileFilter, compileOrderBy, type FilterSchema, snakeCase } from '../filter.js';
import type { ServiceImpl } from '../host.js';
import type { ServiceContext } from '../index.js';
import { fromStruct } from '../struct.js';
import { paginate, type Timestamp, timestamp } from '../util.js';
import { validateLabels } from '../validation.js';
import {
  type ContextDoc,
  ContextRepo,
  MAX_PARENT_CONTEXTS,
  parseContextName,
  parseStoreName,
  toContext,
  validateContextId,
} from './metadata_store.js';

export { CONTEXT_KIND, type ContextDoc } from './metadata_store.js';

/** The Context fields a request may set (proto-loader camelCase). */
interface ContextInput {
  name?: string;
  displayName?: string;
  etag?: string;
  labels?: Record<string, string>;
  schemaTitle?: string;
  schemaVersion?: string;
  metadata?: unknown;
  description?: string;
}

const UPDATABLE = ['display_name', 'description', 'labels', 'schema_title', 'schema_version', 'metadata'] as const;
type Updatable = (typeof UPDATABLE)[number];

/** Vertex's limit on a context's metadata: 200 KB. */
const MAX_METADATA_BYTES = 200 * 1024;

/** Creates or replaces a tuning job's metrics context (plain JSON; converted to a Struct when read). */
export function putContext(
  ctx: ServiceContext,
  name: string,
  displayName: string,
  metadata: Record<string, unknown>,
): void {
  const repo = new ContextRepo(ctx.store);
  ctx.store.tx(() => {
    const existing = repo.find(name);
    const now = timestamp();
    repo.put({
      ...existing,
      name,
      displayName,
      schemaTitle: 'system.ExperimentRun',
      schemaVersion: '0.0.1',
      createTime: existing?.createTime ?? now,
      updateTime: now,
      etag: repo.newEtag(),
      metadata,
    });
  });
}

function validateDisplayName(displayName: string | undefined, field: string): void {
  if (displayName && [...displayName].length > 128) throw invalidArgument(`${field} must be at most 128 characters`);
}

/** The request's metadata as plain JSON, top-level keys trimmed (as Vertex does), within 200 KB. */
function metadataOf(input: ContextInput, field: string): Record<string, unknown> {
  const plain = fromStruct(input.metadata);
  const out = Object.fromEntries(Object.entries(plain).map(([k, v]) => [k.trim(), v]));
  const bytes = Buffer.byteLength(JSON.stringify(out));
  if (bytes > MAX_METADATA_BYTES) {
    throw invalidArgument(`${field} is ${bytes} bytes; at most ${MAX_METADATA_BYTES} bytes (200 KB) are allowed`);
  }
  return out;
}

function validateInput(input: ContextInput, fields: readonly Updatable[]): void {
  if (fields.includes('display_name')) validateDisplayName(input.displayName, 'context.display_name');
  if (fields.includes('labels')) validateLabels(input.labels, 'context.labels');
}

/** A new context document from a request (validated first). */
function newContext(repo: ContextRepo, name: string, input: ContextInput): ContextDoc {
  validateInput(input, UPDATABLE);
  const now = timestamp();
  return {
    name,
    displayName: input.displayName ?? '',
    etag: repo.newEtag(),
    labels: input.labels ?? {},
    createTime: now,
    updateTime: now,
    parentContexts: [],
    schemaTitle: input.schemaTitle ?? '',
    schemaVersion: input.schemaVersion ?? '',
    metadata: metadataOf(input, 'context.metadata'),
    description: input.description ?? '',
  };
}

function createContext(repo: ContextRepo, req: { parent?: string; context?: ContextInput; contextId?: string }) {
  const store = parseStoreName(req.parent, 'parent');
  if (!req.context) throw invalidArgument('context is required');
  const id = req.contextId || randomUUID();
  validateContextId(id, 'context_id');
  const doc = newContext(repo, `${store}/contexts/${id}`, req.context);
  if (!repo.insert(doc)) throw alreadyExists(`Context ${doc.name} already exists`);
  return toContext(doc);
}

function getContext(repo: ContextRepo, req: { name?: string }) {
  return toContext(repo.get(req.name ?? ''));
}

function contextFilterSchema(repo: ContextRepo, store: string): FilterSchema<ContextDoc> {
  let children: Map<string, string[]> | undefined;
  const childrenOf = (name: string) => {
    if (!children) {
      children = new Map();
      for (const c of repo.list(store)) {
        for (const p of c.parentContexts ?? []) children.set(p, [...(children.get(p) ?? []), c.name]);
      }
    }
    return children.get(name) ?? [];
  };
  return {
    fields: {
      name: 'string',
      display_name: 'string',
      schema_title: 'string',
      schema_version: 'string',
      parent_contexts: 'list',
      child_contexts: 'list',
      labels: 'map',
    },
    resolve(c, field) {
      switch (field) {
        case 'name':
          return c.name;
        case 'display_name':
          return c.displayName;
        case 'schema_title':
          return c.schemaTitle;
        case 'schema_version':
          return c.schemaVersion;
        case 'parent_contexts':
          return c.parentContexts ?? [];
        case 'child_contexts':
          return childrenOf(c.name);
        case 'labels':
          return c.labels ?? {};
        default:
          return undefined;
      }
    },
  };
}

function listContexts(
  repo: ContextRepo,
  req: { parent?: string; pageSize?: number; pageToken?: string; filter?: string; orderBy?: string },
) {
  const store = parseStoreName(req.parent, 'parent');
  if (req.pageSize !== undefined && req.pageSize > 1000) {
    throw invalidArgument(`page_size must be in 1-1000 (got ${req.pageSize})`);
  }
  const matches = compileFilter(req.filter, contextFilterSchema(repo, store));
  const order = compileOrderBy<ContextDoc>(req.orderBy, {
    create_time: (c) => c.createTime,
    update_time: (c) => c.updateTime,
    display_name: (c) => c.displayName,
    name: (c) => c.name,
  });
  const selected = repo.list(store).filter(matches);
  if (order) selected.sort(order);
  const { page, nextPageToken } = paginate(selected, req.pageSize, req.pageToken);
  return { contexts: page.map(toContext), nextPageToken };
}

/** The fields an update writes: the mask's paths, or without one every updatable field the request sets. */
function updatePaths(input: ContextInput, mask: string[] | undefined): Updatable[] {
  const paths = (mask ?? []).map(snakeCase);
  for (const p of paths) {
    if (!(UPDATABLE as readonly string[]).includes(p)) {
      throw invalidArgument(`update_mask path "${p}" cannot be updated; updatable: ${UPDATABLE.join(', ')}`);
    }
  }
  if (paths.length) return paths as Updatable[];
  const set = (v: unknown) =>
    v !== undefined && v !== null && v !== '' && !(typeof v === 'object' && Object.keys(v).length === 0);
  const byPath: Record<Updatable, unknown> = {
    display_name: input.displayName,
    description: input.description,
    labels: input.labels,
    schema_title: input.schemaTitle,
    schema_version: input.schemaVersion,
    metadata: (input.metadata as { fields?: unknown } | undefined)?.fields,
  };
  return UPDATABLE.filter((p) => set(byPath[p]));
}

function applyUpdate(doc: ContextDoc, input: ContextInput, paths: Updatable[], metadata: Record<string, unknown>) {
  for (const p of paths) {
    if (p === 'display_name') doc.displayName = input.displayName ?? '';
    else if (p === 'description') doc.description = input.description ?? '';
    else if (p === 'labels') doc.labels = input.labels ?? {};
    else if (p === 'schema_title') doc.schemaTitle = input.schemaTitle ?? '';
    else if (p === 'schema_version') doc.schemaVersion = input.schemaVersion ?? '';
    else doc.metadata = { ...(doc.metadata ?? {}), ...metadata };
  }
}

function updateContext(
  repo: ContextRepo,
  req: { context?: ContextInput; updateMask?: { paths?: string[] }; allowMissing?: boolean },
) {
  const input = req.context;
  if (!input) throw invalidArgument('context is required');
  const { id } = parseContextName(input.name, 'context.name');
  const paths = updatePaths(input, req.updateMask?.paths);
  validateInput(input, paths);
  const metadata = paths.includes('metadata') ? metadataOf(input, 'context.metadata') : {};
  return repo.store.tx(() => {
    const doc = repo.find(input.name!);
    if (!doc) {
      if (!req.allowMissing) throw notFound(`Context ${input.name} not found`);
      validateContextId(id, 'context.name');
      const created = newContext(repo, input.name!, input);
      repo.put(created);
      return toContext(created);
    }
    if (input.etag && input.etag !== doc.etag) {
      throw aborted(
        `etag mismatch: context ${doc.name} has etag "${doc.etag ?? ''}", the request has "${input.etag}"; read it again and retry`,
      );
    }
    applyUpdate(doc, input, paths, metadata);
    doc.etag = repo.newEtag();
    doc.updateTime = timestamp();
    const metadataBytes = Buffer.byteLength(JSON.stringify(doc.metadata));
    if (metadataBytes > MAX_METADATA_BYTES) {
      throw invalidArgument(`merged metadata would be ${metadataBytes} bytes; at most ${MAX_METADATA_BYTES} allowed`);
    }
    repo.put(doc);
    return toContext(doc);
  });
}

function deleteContext(ctx: ServiceContext, repo: ContextRepo, req: { name?: string; etag?: string; force?: boolean }) {
  const name = req.name ?? '';
  ctx.store.tx(() => {
    const doc = repo.get(name);
    if (req.etag && req.etag !== doc.etag) {
      throw failedPrecondition(
        `etag mismatch: context ${name} has etag "${doc.etag ?? ''}", the request has "${req.etag}"`,
      );
    }
    const now = timestamp();
    for (const child of repo.children(name)) {
      child.parentContexts = (child.parentContexts ?? []).filter((p) => p !== name);
      touch(repo, child, now);
    }
    repo.delete(name);
  });
  return ctx.operations.completed(name, 'DeleteOperationMetadata', 'google.protobuf.Empty', {});
}

function touch(repo: ContextRepo, doc: ContextDoc, now: Timestamp): void {
  doc.etag = repo.newEtag();
  doc.updateTime = now;
  repo.put(doc);
}

function addContextChildren(repo: ContextRepo, req: { context?: string; childContexts?: string[] }) {
  const parentName = req.context ?? '';
  const { store } = parseContextName(parentName, 'context');
  const childNames = [...new Set(req.childContexts ?? [])];
  childNames.forEach((c, i) => {
    parseContextName(c, `child_contexts[${i}]`);
  });
  return repo.store.tx(() => {
    repo.get(parentName, 'context');
    const children = childNames.map((c) => {
      const doc = repo.find(c);
      if (!doc) throw notFound(`child context ${c} not found`);
      return doc;
    });
    const ancestors = repo.ancestors(parentName);
    const now = timestamp();
    for (const child of children) {
      if (parseContextName(child.name, 'child_contexts').store !== store) {
        throw invalidArgument(`child context ${child.name} is not in metadata store ${store} of ${parentName}`);
      }
      if (child.name === parentName || ancestors.has(child.name)) {
        throw invalidArgument(
          `adding ${child.name} as a child of ${parentName} would create a cycle: ${child.name === parentName ? 'a context cannot be its own child' : `${child.name} is already an ancestor of ${parentName}`}`,
        );
      }
      const parents = child.parentContexts ?? [];
      if (parents.includes(parentName)) continue;
      if (parents.length >= MAX_PARENT_CONTEXTS) {
        throw invalidArgument(
          `context ${child.name} already has ${parents.length} parent contexts; at most ${MAX_PARENT_CONTEXTS} are allowed`,
        );
      }
      child.parentContexts = [...parents, parentName];
      touch(repo, child, now);
    }
    return {};
  });
}

function removeContextChildren(repo: ContextRepo, req: { context?: string; childContexts?: string[] }) {
  const parentName = req.context ?? '';
  parseContextName(parentName, 'context');
  (req.childContexts ?? []).forEach((c, i) => {
    parseContextName(c, `child_contexts[${i}]`);
  });
  return repo.store.tx(() => {
    repo.get(parentName, 'context');
    const now = timestamp();
    for (const name of new Set(req.childContexts ?? [])) {
      const child = repo.find(name);
      if (!child || !(child.parentContexts ?? []).includes(parentName)) continue;
      child.parentContexts = child.parentContexts!.filter((p) => p !== parentName);
      touch(repo, child, now);
    }
    return {};
  });
}

export function createMetadataService(ctx: ServiceContext): ServiceImpl {
  const repo = new ContextRepo(ctx.store);
  repo.adoptOrphans();
  return {
    CreateContext: (req) => createContext(repo, req),
    GetContext: (req) => getContext(repo, req),
    ListContexts: (req) => listContexts(repo, req),
    UpdateContext: (req) => updateContext(repo, req),
    DeleteContext: (req) => deleteContext(ctx, repo, req),
    AddContextChildren: (req) => addContextChildren(repo, req),
    RemoveContextChildren: (req) => removeContextChildren(repo, req),
  };
}
