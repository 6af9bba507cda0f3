// Errors of the emulated GCS, rendered as the GCS JSON API renders them:
// {"error":{"code":404,"message":"No such object: b/o","errors":[{"message":...,"domain":"global","reason":"notFound"}]}}

const REASONS: Record<number, string> = {
  400: 'invalid',
  401: 'required',
  403: 'forbidden',
  404: 'notFound',
  409: 'conflict',
  412: 'conditionNotMet',
  416: 'requestedRangeNotSatisfiable',
  499: 'clientClosedRequest',
  500: 'backendError',
  501: 'notImplemented',
  503: 'backendError',
};

export class GcsError extends Error {
  readonly reason: string;

  constructor(
    /** The HTTP status. */
    readonly code: number,
    message: string,
    reason?: string,
  ) {
    super(message);
    this.name = 'GcsError';
    this.reason = reason ?? REASONS[code] ?? 'error';
  }

  toJSON(): {
    error: { code: number; message: string; errors: { message: string; domain: string; reason: string }[] };
  } {
    return {
      error: {
        code: this.code,
        message: this.message,
        errors: [{ message: this.message, domain: 'global', reason: this.reason }],
      },
    };
  }
}

export const noSuchBucket = (bucket: string) =>
  new GcsError(404, `The specified bucket does not exist: ${bucket}`, 'notFound');
export const noSuchObject = (bucket: string, name: string) =>
  new GcsError(404, `No such object: ${bucket}/${name}`, 'notFound');
export const badRequest = (message: string) => new GcsError(400, message, 'invalid');
