// Long work inside a tool call: progress notifications when the caller sent a progress token, and
// a time budget below clients' usual request timeout (~60 s), after which the call returns the
// current state and a handle to poll.
import type { ToolContext } from './define.js';

export const MAX_WAIT_SECONDS = 50;

export type Progress = (progress: number, total: number | undefined, message: string) => void;

/** A progress sender, or a no-op when the client asked for no progress. */
export function progressOf(ctx: ToolContext): Progress {
  const token = ctx.extra._meta?.progressToken;
  if (token === undefined) return () => {};
  return (progress, total, message) =>
    void ctx.extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, total, message },
      })
      .catch(() => {});
}
