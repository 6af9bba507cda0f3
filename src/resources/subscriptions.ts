// resources/subscribe for every subscribable template: each template says which URIs it serves
// and the key its updates are announced under (an endpoint, a test); notify(key) then sends
// notifications/resources/updated to the subscribed URIs, at most once a second per key.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { ProtocolError } from './errors.js';

const THROTTLE_MS = 1000;

type Resolver = (match: RegExpExecArray) => Promise<string>;

export class Subscriptions {
  private readonly routes: { pattern: RegExp; key: Resolver }[] = [];
  /** uri -> key */
  private readonly subscribed = new Map<string, string>();
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly server: McpServer) {
    server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
    server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
      for (const r of this.routes) {
        const m = r.pattern.exec(req.params.uri);
        if (m) {
          this.subscribed.set(req.params.uri, await r.key(m));
          return {};
        }
      }
      throw new ProtocolError(ErrorCode.InvalidParams, `not a subscribable resource: ${req.params.uri}`, {
        uri: req.params.uri,
      });
    });
    server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
      this.subscribed.delete(req.params.uri);
      return {};
    });
  }

  /** URIs matching `pattern` may be subscribed; `key` resolves (and checks) what they watch. */
  route(pattern: RegExp, key: Resolver): void {
    this.routes.push({ pattern, key });
  }

  /** The keys someone is subscribed to (for polling). */
  keys(prefix: string): string[] {
    return [...new Set(this.subscribed.values())].filter((k) => k.startsWith(prefix));
  }

  notify(key: string): void {
    const uris = [...this.subscribed].filter(([, k]) => k === key).map(([u]) => u);
    if (!uris.length || this.pending.has(key)) return;
    const wait = Math.max(0, (this.last.get(key) ?? 0) + THROTTLE_MS - Date.now());
    const timer = setTimeout(() => {
      this.pending.delete(key);
      this.last.set(key, Date.now());
      for (const uri of uris) void this.server.server.sendResourceUpdated({ uri }).catch(() => {});
    }, wait);
    timer.unref();
    this.pending.set(key, timer);
  }

  close(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}
