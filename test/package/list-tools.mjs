// A tiny MCP client for scripts/package-check.sh: spawns the installed `vertex-mcp` over stdio,
// prints its tools/list answer as JSON on stdout, and with `--call <tool> <json-args>` that tool's
// result too. Everything after `--` goes to the server. Runs inside the consumer project, so the
// MCP SDK it imports is the one installed with vertex-mcp.
//   node list-tools.mjs [--call list_models '{}'] -- <server command> [args...]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0 || sep === argv.length - 1) {
  process.stderr.write('usage: node list-tools.mjs [--call <tool> <json-args>] -- <command> [args...]\n');
  process.exit(2);
}
const own = argv.slice(0, sep);
const [command, ...args] = argv.slice(sep + 1);
const call = own[0] === '--call' ? { name: own[1], arguments: JSON.parse(own[2] ?? '{}') } : undefined;

const transport = new StdioClientTransport({ command, args, stderr: 'inherit' });
const client = new Client({ name: 'vertex-mcp-package-check', version: '1.0.0' });
await client.connect(transport);
try {
  const { tools } = await client.listTools();
  const result = call ? await client.callTool(call) : undefined;
  process.stdout.write(`${JSON.stringify({ tools, ...(call ? { call: result } : {}) })}\n`);
} finally {
  await client.close();
}
