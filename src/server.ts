// createServer(config) -> { server, close }: the MCP server built from the catalogues, independent
// of the transport. It does no I/O until a request needs Vertex AI (clients are created lazily).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type BackendConfig, createLibrary, type Library, type Logger, silentLogger } from './lib/index.js';
import { registerPrompts } from './prompts/index.js';
import { registerModelResources } from './resources/models.js';
import { registerTuningResources } from './resources/tuning.js';
import { catalogue, registerTools, selectTools, type ToolSelection } from './tools/index.js';
import { VERSION } from './version.js';

export interface ServerConfig {
  backend: BackendConfig;
  selection?: ToolSelection;
  log?: Logger;
  /** Directories local paths may use (--allow-path). */
  allowedRoots?: string[];
  /** A library shared by several servers (HTTP sessions); the caller closes it. */
  lib?: Library;
}

export interface VertexMcpServer {
  server: McpServer;
  close(): Promise<void>;
}

const INSTRUCTIONS = `vertex-mcp runs the Vertex AI model lifecycle: register semver model versions, promote them \
development -> staging -> production, record and compare metrics; turn logs into datasets and fine-tune models \
(tuning jobs return at once, or wait with progress). A model version is named by name + version (semver). \
Destructive tools need confirm: true and accept dry_run: true to show the plan first.`;

export function createServer(config: ServerConfig): VertexMcpServer {
  const log = config.log ?? silentLogger;
  const lib = config.lib ?? createLibrary(config.backend, { log, allowedRoots: config.allowedRoots });
  const server = new McpServer(
    { name: 'vertex-mcp', title: 'Vertex AI model lifecycle', version: VERSION },
    { capabilities: { logging: {} }, instructions: INSTRUCTIONS },
  );
  registerTools(server, selectTools(catalogue(), config.selection ?? {}), lib);
  registerModelResources(server, lib);
  registerTuningResources(server, lib);
  registerPrompts(server);
  let closed = false;
  return {
    server,
    // Idempotent: closing the server closes its transport, whose onclose may call this again.
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      if (!config.lib) await lib.close();
    },
  };
}

/** Serves one client over stdin/stdout until the client goes away. */
export async function serveStdio(config: ServerConfig): Promise<VertexMcpServer> {
  const s = createServer(config);
  const transport = new StdioServerTransport();
  await s.server.connect(transport);
  return s;
}
