// The embedded emulator's in-process channel: a grpc-js Channel whose calls go straight to the
// emulator's GrpcHost instead of through a loopback HTTP/2 socket. The official clients, their
// protos and the library stay exactly as they are (handed over as gax's
// `grpc.channelFactoryOverride`): the client still serializes each request with its own
// definitions and the host decodes it with the emulator's, so the wire format stays exercised;
// only the socket, the HTTP/2 framing and the event-loop hops go away (~0.5 ms of CPU a call).
// The standalone `vertex-mcp emulator` and real Vertex AI keep real gRPC.
import * as grpc from '@grpc/grpc-js';
import type { Call, InterceptingListener, MessageContext } from '@grpc/grpc-js/build/src/call-interface.js';
import type { GrpcHost } from './host.js';

type Deadline = Date | number;
export type ChannelFactory = (address: string, credentials: unknown, options: unknown) => grpc.Channel;

/** The factory gax passes to every stub it creates (each client and its operations client). */
export function inProcessChannelFactory(host: GrpcHost): ChannelFactory {
  return (address) => new InProcessChannel(host, address) as unknown as grpc.Channel;
}

class InProcessChannel {
  private closed = false;
  private calls = 0;

  constructor(
    private readonly host: GrpcHost,
    private readonly target: string,
  ) {}

  close(): void {
    this.closed = true;
  }
  getTarget(): string {
    return `in-process:${this.target}`;
  }
  getConnectivityState(): grpc.connectivityState {
    return this.closed ? grpc.connectivityState.SHUTDOWN : grpc.connectivityState.READY;
  }
  watchConnectivityState(_state: grpc.connectivityState, _deadline: Deadline, callback: (e?: Error) => void): void {
    // The state never changes while open; report at once rather than hold the caller.
    setImmediate(() => callback(this.closed ? new Error('channel closed') : undefined));
  }
  getChannelzRef(): never {
    throw new Error('the in-process channel has no channelz entry');
  }
  createCall(method: string, deadline: Deadline): Call {
    if (this.closed) throw new Error('the in-process channel is closed');
    return new InProcessCall(this.host, method, deadline, ++this.calls);
  }
}

/** One unary call: collects the request bytes, runs the host on half-close, reports once. */
class InProcessCall implements Call {
  private listener?: InterceptingListener;
  private metadata = new grpc.Metadata();
  private request?: Buffer;
  private done = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly host: GrpcHost,
    private readonly method: string,
    private readonly deadline: Deadline,
    private readonly number: number,
  ) {}

  start(metadata: grpc.Metadata, listener: InterceptingListener): void {
    this.metadata = metadata;
    this.listener = listener;
    const at = this.deadline instanceof Date ? this.deadline.getTime() : this.deadline;
    if (Number.isFinite(at)) {
      const left = at - Date.now();
      this.timer = setTimeout(() => this.finish(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'), Math.max(0, left));
    }
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    this.request = message;
    context.callback?.();
  }

  halfClose(): void {
    if (this.done) return;
    if (!this.request) {
      this.finish(grpc.status.INTERNAL, 'no request message was sent');
      return;
    }
    this.host.unary(this.method, this.request, this.metadata).then(
      (r) => {
        if (this.done) return;
        if ('response' in r) {
          this.listener?.onReceiveMetadata(new grpc.Metadata());
          this.listener?.onReceiveMessage(r.response);
          this.finish(grpc.status.OK, 'OK');
        } else this.finish(r.code, r.details);
      },
      (err: unknown) => this.finish(grpc.status.INTERNAL, `in-process call failed: ${(err as Error)?.message}`),
    );
  }

  cancelWithStatus(code: grpc.status, details: string): void {
    this.finish(code, details);
  }

  private finish(code: grpc.status, details: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.listener?.onReceiveStatus({ code, details, metadata: new grpc.Metadata() });
  }

  startRead(): void {}
  getPeer(): string {
    return 'in-process';
  }
  getCallNumber(): number {
    return this.number;
  }
  setCredentials(): void {}
  getAuthContext(): null {
    return null;
  }
}
