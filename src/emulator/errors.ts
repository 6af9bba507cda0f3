// gRPC status errors raised by the emulator's services, with the codes Vertex AI uses.
import { status } from '@grpc/grpc-js';

export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export const invalidArgument = (msg: string) => new RpcError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string) => new RpcError(status.NOT_FOUND, msg);
export const alreadyExists = (msg: string) => new RpcError(status.ALREADY_EXISTS, msg);
export const failedPrecondition = (msg: string) => new RpcError(status.FAILED_PRECONDITION, msg);
export const unimplemented = (msg: string) => new RpcError(status.UNIMPLEMENTED, msg);
export const aborted = (msg: string) => new RpcError(status.ABORTED, msg);
