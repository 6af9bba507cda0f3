// The tool catalogue: every tool definition, in catalogue order, and the selection applied before
// anything is registered (--toolsets, --tools, --exclude-tools, --read-only).
import { TOOLSETS, type ToolDef } from './define.js';
import { endpointTools } from './endpoints.js';
import { experimentTools } from './experiments.js';
import { monitoringTools } from './monitoring.js';
import { registryTools } from './registry.js';
import { tuningTools } from './tuning.js';

export * from './define.js';
export { LIST_CACHE, listEntry, registerTools } from './register.js';

/** Every tool, in catalogue order. */
export function catalogue(): ToolDef[] {
  return [
    ...registryTools,
    ...tuningTools,
    ...endpointTools,
    ...monitoringTools,
    ...experimentTools,
  ] as unknown as ToolDef[];
}

export interface ToolSelection {
  toolsets?: string[];
  tools?: string[];
  excludeTools?: string[];
  readOnly?: boolean;
}

/**
 * Applies --toolsets, --tools (added on top of the toolsets), --exclude-tools, then --read-only,
 * which wins over everything. Unknown names are errors listing the valid ones.
 */
export function selectTools(all: ToolDef[], sel: ToolSelection): ToolDef[] {
  const names = new Set(all.map((t) => t.name));
  for (const ts of sel.toolsets ?? []) {
    if (ts !== 'all' && !(TOOLSETS as readonly string[]).includes(ts)) {
      throw new Error(`unknown toolset "${ts}"; valid: all, ${TOOLSETS.join(', ')}`);
    }
  }
  for (const n of [...(sel.tools ?? []), ...(sel.excludeTools ?? [])]) {
    if (!names.has(n)) throw new Error(`unknown tool "${n}"; valid: ${[...names].join(', ')}`);
  }
  const sets = sel.toolsets?.length && !sel.toolsets.includes('all') ? new Set(sel.toolsets) : undefined;
  const picked = new Set(sel.tools ?? []);
  return all.filter(
    (t) =>
      (!sets || sets.has(t.toolset) || picked.has(t.name)) &&
      !sel.excludeTools?.includes(t.name) &&
      (!sel.readOnly || t.kind === 'read'),
  );
}
