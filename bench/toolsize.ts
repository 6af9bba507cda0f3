// Budget (SPEC 9): the part of each tool a model sees (name, description, input schema) at most
// 520 bytes on average, and the whole tools/list answer at most 24 KB for every toolset together,
// output schemas (one level) and annotations included. Measured on the bytes the server writes to
// stdout (toolListSize), or on the catalogue's entries without a server (catalogueToolSizes, what a
// test asserts). Run alone: `npm run build --silent && node dist/bench/toolsize.js`.
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { taskToolsOf } from '../src/tasks/index.js';
import { catalogue, listEntry, TOOLSETS } from '../src/tools/index.js';
import { TASK_EXECUTION } from '../src/tools/register.js';
import { kb, out, RpcChild, serverArgs, table } from './util.js';

/** Model-visible bytes a tool may use on average. */
export const MODEL_VISIBLE_BUDGET = 520;
/** Bytes of the whole tools/list answer (the JSON-RPC response), every toolset together. */
export const TOTAL_BUDGET = 24 * 1024;

export interface ToolSizeRow {
  name: string;
  toolset: string;
  /** UTF-8 bytes of the tool's whole entry, JSON. */
  bytes: number;
  /** UTF-8 bytes of name + description + JSON input schema: what a model reads of the tool. */
  model_visible_bytes: number;
  description_bytes: number;
  input_schema_bytes: number;
  output_schema_bytes: number;
  /** title and annotations, as listed (JSON, keys included). */
  title_and_annotations_bytes: number;
}

export interface ToolSizeResult {
  source: 'stdio' | 'catalogue';
  tool_count: number;
  /** UTF-8 bytes of JSON.stringify(result.tools). */
  tools_bytes: number;
  /** UTF-8 bytes of the whole JSON-RPC response line as sent (without the newline). */
  response_bytes: number;
  /** TOTAL_BUDGET, against response_bytes. */
  budget_bytes: number;
  model_visible: {
    total_bytes: number;
    avg_bytes: number;
    budget_avg_bytes: number;
    /** The same part measured as a JSON object {name, description, inputSchema} (keys included). */
    avg_bytes_as_json_object: number;
    largest: { name: string; bytes: number };
  };
  within_budget: { model_visible_avg: boolean; total: boolean };
  per_toolset: {
    toolset: string;
    tools: number;
    /** This toolset's own tools array, as if it were served alone. */
    bytes: number;
    model_visible_bytes: number;
    model_visible_avg_bytes: number;
  }[];
  per_tool: ToolSizeRow[];
}

const bytes = (v: unknown) => Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');

/** What a model reads of a tool: its name, its description and its input schema (JSON). */
export function modelVisibleBytes(t: Pick<Tool, 'name' | 'description' | 'inputSchema'>): number {
  return bytes(t.name) + bytes(t.description ?? '') + bytes(t.inputSchema);
}

/** The figures of a tools/list answer: `tools` as listed, `responseBytes` of the response carrying them. */
export function measureToolList(
  tools: Tool[],
  responseBytes: number,
  source: ToolSizeResult['source'],
): ToolSizeResult {
  const toolsetOf = new Map(catalogue().map((t) => [t.name, t.toolset as string]));
  const setOf = (name: string) => toolsetOf.get(name) ?? '?';
  const per_tool: ToolSizeRow[] = tools.map((t) => ({
    name: t.name,
    toolset: setOf(t.name),
    bytes: bytes(t),
    model_visible_bytes: modelVisibleBytes(t),
    description_bytes: bytes(t.description ?? ''),
    input_schema_bytes: bytes(t.inputSchema),
    output_schema_bytes: t.outputSchema ? bytes(t.outputSchema) : 0,
    title_and_annotations_bytes:
      (t.title ? bytes({ title: t.title }) - 1 : 0) + (t.annotations ? bytes({ annotations: t.annotations }) - 1 : 0),
  }));
  const visible = per_tool.reduce((n, t) => n + t.model_visible_bytes, 0);
  const asObject = tools.reduce(
    (n, t) => n + bytes({ name: t.name, description: t.description, inputSchema: t.inputSchema }),
    0,
  );
  const largest = per_tool.reduce((a, t) => (t.model_visible_bytes > a.model_visible_bytes ? t : a), per_tool[0]!);
  const sets = [...TOOLSETS, ...new Set(per_tool.map((t) => t.toolset).filter((s) => !TOOLSETS.includes(s as never)))];
  const per_toolset = sets.map((toolset) => {
    const mine = tools.filter((t) => setOf(t.name) === toolset);
    const mv = mine.reduce((n, t) => n + modelVisibleBytes(t), 0);
    return {
      toolset,
      tools: mine.length,
      bytes: mine.length ? bytes(mine) : 0,
      model_visible_bytes: mv,
      model_visible_avg_bytes: mine.length ? Math.round(mv / mine.length) : 0,
    };
  });
  const avg = tools.length ? visible / tools.length : 0;
  return {
    source,
    tool_count: tools.length,
    tools_bytes: bytes(tools),
    response_bytes: responseBytes,
    budget_bytes: TOTAL_BUDGET,
    model_visible: {
      total_bytes: visible,
      avg_bytes: Math.round(avg * 10) / 10,
      budget_avg_bytes: MODEL_VISIBLE_BUDGET,
      avg_bytes_as_json_object: tools.length ? Math.round((asObject / tools.length) * 10) / 10 : 0,
      largest: { name: largest?.name ?? '', bytes: largest?.model_visible_bytes ?? 0 },
    },
    within_budget: { model_visible_avg: avg <= MODEL_VISIBLE_BUDGET, total: responseBytes <= TOTAL_BUDGET },
    per_toolset,
    per_tool,
  };
}

/**
 * The figures from the catalogue's own entries, without a server: the response is the JSON-RPC
 * answer a server would send for them (`{"result":{"tools":[...]},"jsonrpc":"2.0","id":2}`).
 */
export function catalogueToolSizes(opts: { tasks?: boolean } = {}): ToolSizeResult {
  const all = catalogue();
  // A client that declared tasks also reads which tools take task-augmented calls.
  const taskTools = opts.tasks ? taskToolsOf(all) : new Set<string>();
  const tools = all.map((t) => (taskTools.has(t.name) ? { ...listEntry(t), ...TASK_EXECUTION } : listEntry(t)));
  return measureToolList(tools, bytes({ result: { tools }, jsonrpc: '2.0', id: 2 }), 'catalogue');
}

/** The figures of the answer a server started with every toolset writes to stdout. */
export async function toolListSize(): Promise<ToolSizeResult> {
  const child = new RpcChild(process.execPath, serverArgs('--toolsets', 'all'));
  try {
    await child.initialize();
    const r = await child.request('tools/list');
    return measureToolList(r.msg.result.tools as Tool[], bytes(r.raw), 'stdio');
  } finally {
    await child.close();
  }
}

const verdict = (ok: boolean) => (ok ? 'within budget' : 'OVER BUDGET');

/** The figures as text: per tool, per toolset, the totals and their verdicts. */
export function formatToolSize(r: ToolSizeResult): string {
  const mv = r.model_visible;
  return [
    table(
      ['tool', 'toolset', 'model-visible', 'description', 'input schema', 'output schema', 'entry'],
      r.per_tool.map((t) => [
        t.name,
        t.toolset,
        t.model_visible_bytes,
        t.description_bytes,
        t.input_schema_bytes,
        t.output_schema_bytes,
        t.bytes,
      ]),
    ),
    '',
    table(
      ['toolset', 'tools', 'model-visible avg', 'bytes (served alone)'],
      [
        ...r.per_toolset.map((s) => [
          s.toolset,
          s.tools,
          s.model_visible_avg_bytes,
          s.tools ? `${s.bytes} (${kb(s.bytes)})` : '0',
        ]),
        [
          'total: JSON.stringify(result.tools)',
          r.tool_count,
          Math.round(mv.avg_bytes),
          `${r.tools_bytes} (${kb(r.tools_bytes)})`,
        ],
        ['total: whole JSON-RPC response', r.tool_count, '', `${r.response_bytes} (${kb(r.response_bytes)})`],
      ],
    ),
    `model-visible (name + description + input schema): ${mv.avg_bytes} bytes a tool on average ` +
      `(${mv.avg_bytes_as_json_object} as JSON objects with their keys; largest ${mv.largest.name} ${mv.largest.bytes}); ` +
      `budget ${mv.budget_avg_bytes}: ${verdict(r.within_budget.model_visible_avg)}`,
    `whole answer: ${r.response_bytes} bytes (${kb(r.response_bytes)}) for ${r.tool_count} tools; budget ${kb(r.budget_bytes)}: ` +
      `${((100 * r.response_bytes) / r.budget_bytes).toFixed(0)}%, ${verdict(r.within_budget.total)}`,
  ].join('\n');
}

if (process.argv[1]?.endsWith('toolsize.js')) {
  // --catalogue: from the catalogue's entries, without starting a server.
  const figures = process.argv.includes('--catalogue') ? Promise.resolve(catalogueToolSizes()) : toolListSize();
  void figures.then((r) => {
    out(`## Size of the tools/list answer (${r.source}; all toolsets, output schemas included)`);
    out(formatToolSize(r));
  });
}
