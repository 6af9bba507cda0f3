// Budget (SPEC 9): the whole tools/list answer at most 20 KB of JSON for every toolset together,
// output schemas included. Measured on the bytes the server writes to stdout.
import { catalogue, TOOLSETS } from '../src/tools/index.js';
import { RpcChild, serverArgs } from './util.js';

export interface ToolSizeResult {
  /** UTF-8 bytes of JSON.stringify(result.tools). */
  tools_bytes: number;
  /** UTF-8 bytes of the whole JSON-RPC response line as sent (without the newline). */
  response_bytes: number;
  budget_bytes: number;
  tool_count: number;
  per_toolset: { toolset: string; tools: number; bytes: number }[];
  per_tool: { name: string; toolset: string; bytes: number; input_schema_bytes: number; output_schema_bytes: number }[];
}

const bytes = (v: unknown) => Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');

export async function toolListSize(): Promise<ToolSizeResult> {
  const child = new RpcChild(process.execPath, serverArgs('--toolsets', 'all'));
  let raw: string;
  let tools: { name: string; inputSchema?: unknown; outputSchema?: unknown }[];
  try {
    await child.initialize();
    const r = await child.request('tools/list');
    raw = r.raw;
    tools = r.msg.result.tools;
  } finally {
    await child.close();
  }
  const toolsetOf = new Map(catalogue().map((t) => [t.name, t.toolset as string]));
  const per_tool = tools.map((t) => ({
    name: t.name,
    toolset: toolsetOf.get(t.name) ?? '?',
    bytes: bytes(t),
    input_schema_bytes: t.inputSchema ? bytes(t.inputSchema) : 0,
    output_schema_bytes: t.outputSchema ? bytes(t.outputSchema) : 0,
  }));
  const sets = [...TOOLSETS, ...new Set(per_tool.map((t) => t.toolset).filter((s) => !TOOLSETS.includes(s as never)))];
  const per_toolset = sets.map((toolset) => {
    const mine = tools.filter((t) => (toolsetOf.get(t.name) ?? '?') === toolset);
    // The size of this toolset's own tools array, as if it were served alone.
    return { toolset, tools: mine.length, bytes: mine.length ? bytes(mine) : 0 };
  });
  return {
    tools_bytes: bytes(tools),
    response_bytes: bytes(raw),
    budget_bytes: 20 * 1024,
    tool_count: tools.length,
    per_toolset,
    per_tool,
  };
}
