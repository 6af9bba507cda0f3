// google.longrunning.Operations: every long-running call of the emulator's services returns an
// Operation stored here, so clients can poll it (GetOperation), wait on it (WaitOperation), list,
// cancel and delete it, across restarts.
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { notFound } from './errors.js';
import type { ServiceImpl } from './host.js';
import type { Store } from './store.js';
import { AIP, any, paginate, timestamp } from './util.js';

export interface Operation {
  name: string;
  done: boolean;
  metadata?: Record<string, unknown>;
  response?: Record<string, unknown>;
  error?: { code: number; message: string };
}

const KIND = 'operation';

export class Operations {
  private readonly settled = new EventEmitter();
  private readonly cancellers = new Map<string, () => void>();

  constructor(private readonly store: Store) {
    this.settled.setMaxListeners(0);
  }

  /**
   * Starts an operation on `resource`. Its metadata is the service's `...OperationMetadata` type
   * with `genericMetadata` create/update times, as Vertex reports.
   */
  start(resource: string, metadataType: string, onCancel?: () => void): Operation {
    const id = this.store.next('operation.id');
    const now = timestamp();
    const op: Operation = {
      name: `${resource}/operations/${id}`,
      done: false,
      metadata: any(`${AIP}.${metadataType}`, { genericMetadata: { createTime: now, updateTime: now } }),
    };
    this.store.put(KIND, op.name, op);
    if (onCancel) this.cancellers.set(op.name, onCancel);
    return op;
  }

  /** Completes an operation with a typed response (e.g. UploadModelResponse) or an error. */
  finish(
    name: string,
    outcome: { response: [string, object] } | { error: { code: number; message: string } },
  ): Operation {
    const op = this.store.get<Operation>(KIND, name);
    if (!op) throw notFound(`operation ${name} not found`);
    op.done = true;
    const meta = op.metadata as { genericMetadata?: { updateTime?: unknown } } | undefined;
    if (meta?.genericMetadata) meta.genericMetadata.updateTime = timestamp();
    if ('response' in outcome) op.response = any(outcome.response[0], outcome.response[1]);
    else op.error = outcome.error;
    this.store.put(KIND, name, op);
    this.cancellers.delete(name);
    this.settled.emit(name, op);
    return op;
  }

  /** The common case for fast work: start and finish in one step. */
  completed(resource: string, metadataType: string, responseType: string, response: object): Operation {
    return this.finish(this.start(resource, metadataType).name, { response: [responseType, response] });
  }

  get(name: string): Operation {
    const op = this.store.get<Operation>(KIND, name);
    if (!op) throw notFound(`operation ${name} not found`);
    return op;
  }

  impl(): ServiceImpl {
    return {
      GetOperation: (req: { name: string }) => this.get(req.name),
      ListOperations: (req: { name: string; pageSize?: number; pageToken?: string }) => {
        const all = this.store
          .list<Operation>(KIND)
          .map((d) => d.doc)
          .filter((op) => op.name.startsWith(req.name ?? ''));
        const { page, nextPageToken } = paginate(all, req.pageSize, req.pageToken);
        return { operations: page, nextPageToken };
      },
      DeleteOperation: (req: { name: string }) => {
        if (!this.store.delete(KIND, req.name)) throw notFound(`operation ${req.name} not found`);
        return {};
      },
      CancelOperation: (req: { name: string }) => {
        const op = this.get(req.name);
        if (!op.done) {
          this.cancellers.get(req.name)?.();
          this.finish(req.name, { error: { code: status.CANCELLED, message: 'operation cancelled by the caller' } });
        }
        return {};
      },
      WaitOperation: (req: { name: string; timeout?: { seconds?: string; nanos?: number } }) => {
        const op = this.get(req.name);
        if (op.done) return op;
        const ms = req.timeout ? Number(req.timeout.seconds ?? 0) * 1000 + (req.timeout.nanos ?? 0) / 1e6 : 60_000;
        return new Promise<Operation>((resolve) => {
          const timer = setTimeout(() => {
            this.settled.off(req.name, onSettled);
            resolve(this.get(req.name));
          }, ms);
          const onSettled = (done: Operation) => {
            clearTimeout(timer);
            resolve(done);
          };
          this.settled.once(req.name, onSettled);
        });
      },
    };
  }
}
