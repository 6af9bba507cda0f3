// createServer(config) -> { server, close }: the MCP server built from the catalogues, independent
// of the transport. It does no I/O until a request needs Vertex AI (clients are created lazily).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerDashboard } from './app/resource.js';
import type { BackendConfig, Library, Logger } from './lib/index.js';
import { registerPrompts } from './prompts/index.js';
import { registerAbTestResources } from './resources/ab_tests.js';
import { registerEndpointResources } from './resources/endpoints.js';
import { answerUnknownResources } from './resources/errors.js';
import { registerModelResources } from './resources/models.js';
import { Subscriptions } from './resources/subscriptions.js';
import { registerTuningResources } from './resources/tuning.js';
import { libraryFor, MAX_INPUT_ELEMENTS, startBackground } from './runtime.js';
import { enableTaskTools, TASKS_CAPABILITY, TaskManager, taskToolsOf } from './tasks/index.js';
import { catalogue, registerTools, selectTools, type ToolSelection } from './tools/index.js';
import { VERSION } from './version.js';

export { libraryFor, MAX_INPUT_ELEMENTS, startBackground };

export interface ServerConfig {
  backend: BackendConfig;
  selection?: ToolSelection;
  log?: Logger;
  /** Directories local paths may use (--allow-path). */
  allowedRoots?: string[];
  /** The server's own ledger directory (alert rules, feedback); ':memory:' by default. */
  dataDir?: string;
  /** Price table overrides (--prices). */
  prices?: string;
  /** Evaluate alert rules every this many seconds in the background (0: only on demand). */
  alertIntervalSeconds?: number;
  /** Called after every tool call (the HTTP server's Prometheus metrics). */
  onToolCall?: (tool: string, outcome: 'ok' | 'error', seconds: number) => void;
  /** A library shared by several servers (HTTP sessions); the caller closes it. */
  lib?: Library;
  /** MCP tasks shared by several servers (HTTP sessions), over the same library; the caller closes it. */
  tasks?: TaskManager;
}

export interface VertexMcpServer {
  server: McpServer;
  close(): Promise<void>;
}

const INSTRUCTIONS = `vertex-mcp runs the Vertex AI model lifecycle: register semver model versions and promote them \
development -> staging -> production, record and compare metrics; turn logs into datasets and fine-tune models; deploy \
versions to endpoints, predict and monitor; A/B test two versions on an endpoint and ship or roll back on the verdict.
Parameters shared by the tools, described here once:
- name + version: a model version. name is the registry model's ID ([a-z][a-z0-9_-]{0,62}); version a semver such as \
"1.2.0" or "2.0.0-rc.1". In set_alert_rule and delete_alert_rule name is the alert rule's name; in start_ab_test the new \
test's id.
- endpoint: an endpoint's ID or display name. job: a tuning job's ID or resource name. test: an A/B test's id.
- dry_run: true returns the plan (what would change) and changes nothing.
- confirm: true is required by the destructive tools (their annotations leave destructiveHint at its default, true): \
deletes, undeploys, traffic splits, cancelling a tuning job, starting (it moves traffic) and concluding an A/B test. \
Without it, or an accepted elicitation, nothing changes.
- wait: long work (tuning) returns at once with a handle to poll; wait: true waits for the end, at most wait_seconds \
(default and maximum 50), with progress notifications when the request carries a progress token.
- overwrite: true replaces an existing file or dataset; refused without it.
Omitted booleans are false and omitted lists empty, unless a default is listed. Local paths are plain absolute or \
relative paths inside the allowed roots; gs:// URIs name Cloud Storage.`;

/** How long after `notifications/initialized` the prewarm starts. */
const PREWARM_DELAY_MS = 100;

export function createServer(config: ServerConfig): VertexMcpServer {
  const lib = config.lib ?? libraryFor(config);
  if (!config.lib) startBackground(lib, config);
  const all = catalogue();
  const tools = selectTools(all, config.selection ?? {});
  // Long tools also run as MCP tasks; their records live in the data directory (tasks.sqlite).
  const taskTools = taskToolsOf(tools);
  const tasks = taskTools.size ? (config.tasks ?? tasksFor(lib, config)) : undefined;
  const server = new McpServer(
    { name: 'vertex-mcp', title: 'Vertex AI model lifecycle', version: VERSION },
    {
      capabilities: { logging: {}, ...(tasks ? { tasks: TASKS_CAPABILITY } : {}) },
      instructions: INSTRUCTIONS,
      // A bound on the elements of any tool's arguments, counted without recursion before validation.
      maxToolInputElements: MAX_INPUT_ELEMENTS,
      ...(tasks ? { taskStore: tasks.store } : {}),
    },
  );
  registerTools(
    server,
    tools,
    lib,
    config.onToolCall,
    all.map((t) => t.name),
    taskTools,
  );
  if (tasks) enableTaskTools(server, tools, tasks);
  registerModelResources(server, lib);
  registerTuningResources(server, lib);
  registerDashboard(server);
  const subs = new Subscriptions(server);
  const stopEndpointResources = registerEndpointResources(server, lib, subs);
  const stopAbTestResources = registerAbTestResources(server, lib, subs);
  answerUnknownResources(server);
  // Automatic rollbacks reach the client as MCP log messages.
  const onRollback = (e: { test: string; endpoint: string; verdict: string; sentence: string }) =>
    void server.server
      .sendLoggingMessage({
        level: 'warning',
        logger: 'vertex-mcp.experiments',
        data: {
          ab_test: e.test,
          action: 'auto_rollback',
          verdict: e.verdict,
          endpoint: e.endpoint,
          message: e.sentence,
        },
      })
      .catch(() => {});
  lib.experiments.events.on('rolled_back', onRollback);
  const onRegistered = (e: { job: string; name: string; version: string }) =>
    void server.server
      .sendLoggingMessage({ level: 'info', logger: 'vertex-mcp.tuning', data: { action: 'registered', ...e } })
      .catch(() => {});
  const onRefused = (e: { job: string; name: string; version: string; code: string; message: string }) =>
    void server.server
      .sendLoggingMessage({
        level: 'warning',
        logger: 'vertex-mcp.tuning',
        data: { action: 'registration_refused', ...e },
      })
      .catch(() => {});
  lib.tuning.events.on('registered', onRegistered);
  lib.tuning.events.on('refused', onRefused);
  // Alert transitions from the background evaluator reach the client as MCP log messages.
  const onAlert = (e: import('./lib/index.js').AlertEvent) =>
    void server.server
      .sendLoggingMessage({
        level: e.transition === 'fired' ? (e.rule.severity === 'critical' ? 'critical' : 'warning') : 'info',
        logger: 'vertex-mcp.alerts',
        data: {
          alert: e.rule.name,
          transition: e.transition,
          message: e.check.message,
          value: e.check.value,
          endpoint: e.rule.endpoint,
        },
      })
      .catch(() => {});
  lib.monitoring.alerts.on('fired', onAlert);
  lib.monitoring.alerts.on('cleared', onAlert);
  registerPrompts(server);
  // The first tool call that needs Vertex should not pay the emulator's start and the clients'
  // set-up: they begin shortly after the client says it is ready — after its first tools/list,
  // usually, so that answer is not held up. Only the library's owner does it (not tests' stacks).
  let prewarm: NodeJS.Timeout | undefined;
  let rewarm: NodeJS.Timeout | undefined;
  server.server.oninitialized = () => {
    if (!config.lib) {
      prewarm = setTimeout(() => void lib.clients.prewarm().catch(() => {}), PREWARM_DELAY_MS);
      prewarm.unref();
    }
    // Tasks a previous run left working are re-attached to their jobs without waiting for a request.
    if (tasks && !config.tasks) {
      rewarm = setTimeout(() => tasks.warm(), PREWARM_DELAY_MS);
      rewarm.unref();
    }
  };
  let closed = false;
  return {
    server,
    // Idempotent: closing the server closes its transport, whose onclose may call this again.
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(prewarm);
      clearTimeout(rewarm);
      stopEndpointResources();
      stopAbTestResources();
      subs.close();
      lib.experiments.events.off('rolled_back', onRollback);
      lib.tuning.events.off('registered', onRegistered);
      lib.tuning.events.off('refused', onRefused);
      lib.monitoring.alerts.off('fired', onAlert);
      lib.monitoring.alerts.off('cleared', onAlert);
      await server.close();
      // Before the library: the tasks' work stops using it first.
      if (tasks && !config.tasks) await tasks.close();
      if (!config.lib) await lib.close();
    },
  };
}

/** The task manager a server owns when none is shared with it (the server's data dir; memory by default). */
export function tasksFor(lib: Library, config: ServerConfig): TaskManager {
  return new TaskManager(lib, config.dataDir ?? ':memory:', config.onToolCall);
}

/**
 * Serves one client over stdin/stdout until the client goes away. Oversized lines, batches and
 * malformed messages are answered with JSON-RPC errors (src/stdio.ts).
 */
export async function serveStdio(config: ServerConfig): Promise<VertexMcpServer> {
  const s = createServer(config);
  const { StdioTransport } = await import('./stdio.js');
  const transport = new StdioTransport();
  await s.server.connect(transport);
  return s;
}
