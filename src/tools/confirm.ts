// The safety gate for destructive tools: `dry_run` returns the plan and changes nothing; otherwise
// the call needs `confirm: true`, or an accepted elicitation where the client supports it.
import { z } from 'zod';
import { VertexMcpError } from '../lib/errors.js';
import type { ToolContext } from './define.js';

/** Shared parameters, described once in the server instructions (not in every tool's schema). */
export const safetyInput = {
  dry_run: z.boolean().default(false),
  confirm: z.boolean().default(false),
};

/** Resolves true to proceed, false for a dry run; throws CONFIRMATION_REQUIRED otherwise. */
export async function confirmed(
  ctx: ToolContext,
  args: { dry_run: boolean; confirm: boolean },
  action: string,
): Promise<boolean> {
  if (args.dry_run) return false;
  if (args.confirm) return true;
  if (ctx.server.server.getClientCapabilities()?.elicitation) {
    const answer = await ctx.server.server.elicitInput({
      message: `Confirm: ${action}?`,
      requestedSchema: {
        type: 'object',
        properties: { confirm: { type: 'boolean', title: 'Confirm', description: action } },
        required: ['confirm'],
      },
    });
    if (answer.action === 'accept' && answer.content?.confirm === true) return true;
    throw new VertexMcpError(
      'CONFIRMATION_REQUIRED',
      `${action}: not confirmed (${answer.action}); nothing was changed`,
    );
  }
  throw new VertexMcpError(
    'CONFIRMATION_REQUIRED',
    `${action} needs confirm: true; nothing was changed`,
    'Call again with dry_run: true to see the plan, then with confirm: true',
  );
}
