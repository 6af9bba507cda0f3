// The page GET /dashboard serves: a minimal MCP Apps host for browsers without an Apps-capable
// client. It connects to the server's own /mcp as an MCP client (same origin: the session cookie or
// bearer admitted it), reads the ui:// dashboard resource like any host, runs it in a sandboxed
// iframe through ext-apps' AppBridge, and hands it the result of get_ab_test (?test=) or
// get_endpoint_stats (?endpoint=); with neither, the app offers a choice.
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DASHBOARD_URI } from '../meta.js';

const status = document.getElementById('status')!;
const params = new URLSearchParams(location.search);
const dark = matchMedia('(prefers-color-scheme: dark)');
const themeOf = (): 'light' | 'dark' => {
  const t = params.get('theme');
  return t === 'dark' || t === 'light' ? t : dark.matches ? 'dark' : 'light';
};
document.documentElement.dataset.theme = themeOf();

async function main(): Promise<void> {
  // Results are rendered, not validated against output schemas here: no JSON Schema compiler
  // (which would need eval, refused by this page's CSP).
  const client = new Client(
    { name: 'vertex-mcp dashboard', version: '1' },
    {
      jsonSchemaValidator: {
        getValidator: () => (input: unknown) => ({ valid: true, data: input as never, errorMessage: undefined }),
      },
    },
  );
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', location.href));
  await client.connect(transport);
  addEventListener('pagehide', () => void transport.terminateSession().catch(() => {}));
  const read = await client.readResource({ uri: DASHBOARD_URI });
  const first = read.contents[0];
  if (!first || !('text' in first)) throw new Error(`${DASHBOARD_URI} has no HTML`);

  const test = params.get('test');
  const endpoint = params.get('endpoint');
  const target = test
    ? { name: 'get_ab_test', arguments: { test } }
    : endpoint
      ? { name: 'get_endpoint_stats', arguments: { endpoint } }
      : null;
  const context = {
    theme: themeOf() as 'light' | 'dark',
    locale: 'en-US',
    displayMode: 'inline',
    platform: 'web',
    ...(target ? { toolInfo: { tool: { name: target.name, inputSchema: { type: 'object' as const } } } } : {}),
  };
  const iframe = document.createElement('iframe');
  // Scripts only: an opaque origin, no cookies, no access to this page or to /mcp.
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.title = 'vertex-mcp dashboard';
  document.getElementById('app')!.append(iframe);
  const bridge = new AppBridge(
    client,
    { name: 'vertex-mcp dashboard host', version: '1' },
    { serverTools: {}, serverResources: {} },
    { hostContext: context },
  );
  bridge.onsizechange = ({ height }) => {
    if (height) iframe.style.height = `${height}px`;
  };
  bridge.oninitialized = () => {
    status.textContent = '';
    if (!target) return;
    void bridge.sendToolInput({ arguments: target.arguments });
    void client
      .callTool(target)
      .then((r) => bridge.sendToolResult(r as never))
      .catch((err: Error) => bridge.sendToolResult({ isError: true, content: [{ type: 'text', text: err.message }] }));
  };
  dark.addEventListener('change', () => bridge.setHostContext({ ...context, theme: themeOf() }));
  await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
  iframe.srcdoc = first.text;
}

main().catch((err: Error) => {
  status.textContent = `The dashboard could not start: ${err.message}`;
  status.setAttribute('role', 'alert');
});
