// The MCP App's address and the `_meta` that links tools to it (the ext-apps extension,
// io.modelcontextprotocol/ui): hosts that render apps show the dashboard next to these tools'
// results; other clients ignore `_meta`, and the results themselves are unchanged.
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

/** The dashboard's ui:// resource (text/html;profile=mcp-app). */
export const DASHBOARD_URI = 'ui://vertex-mcp/dashboard';

/** ext-apps' RESOURCE_MIME_TYPE, spelled out so this module loads without the package. */
export const APP_MIME_TYPE = 'text/html;profile=mcp-app';

/**
 * `_meta.ui.resourceUri`, the key of the current spec, alone: not also the deprecated flat
 * `ui/resourceUri` that ext-apps' registerAppTool adds for older hosts. The tools/list answer sits
 * within 200 bytes of its 24 KB budget (SPEC 9); these links cost 2 x 59 bytes, that key 2 x 45 more.
 */
export const UI_META = { ui: { resourceUri: DASHBOARD_URI } } as const;

/** Tool name -> the `_meta` its tools/list entry carries. */
export const APP_TOOLS: Readonly<Record<string, typeof UI_META>> = {
  get_endpoint_stats: UI_META,
  get_ab_test: UI_META,
};

/** A tools/list entry with its app `_meta` (the same entry for tools without one). */
export function withAppMeta(entry: Tool): Tool {
  const meta = APP_TOOLS[entry.name];
  return meta ? { ...entry, _meta: { ...entry._meta, ...meta } } : entry;
}
