// The frameworks are optional peers: vertex-mcp/agent imports and runs without them, and each
// adapter loads its framework only when called (a missing one is named, with how to install it).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

/** Runs fixtures/no-frameworks.ts in a child process, the frameworks hidden or not. */
async function child(hidden: boolean) {
  const hooks = ['--import', 'tsx', ...(hidden ? ['--import', here('./fixtures/hide-frameworks.mjs')] : [])];
  const { stdout } = await run(process.execPath, [...hooks, here('./fixtures/no-frameworks.ts')], {
    cwd: here('../..'),
    env: { ...process.env, GOOGLE_CLOUD_PROJECT: '' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    listed: { isError?: boolean; structured?: { count: number } };
    adapters: Record<string, string>;
  };
}

describe('optional peer dependencies', () => {
  it('without the frameworks: the tools work and each adapter names the package it needs', {
    timeout: 60_000,
  }, async () => {
    const r = await child(true);
    expect(r.listed).toMatchObject({ structured: { count: 0 } });
    expect(r.adapters).toEqual({
      toAiSdkTools: 'toAiSdkTools needs the optional peer dependency ai: npm install ai',
      toOpenAIAgentsTools:
        'toOpenAIAgentsTools needs the optional peer dependency @openai/agents: npm install @openai/agents',
      toAdkTools: 'toAdkTools needs the optional peer dependency @google/adk: npm install @google/adk',
      createAdkConfirmationPlugin:
        'createAdkConfirmationPlugin needs the optional peer dependency @google/adk: npm install @google/adk',
    });
  });

  it('with them installed, every adapter loads (the control for the test above)', { timeout: 90_000 }, async () => {
    const r = await child(false);
    expect(Object.values(r.adapters)).toEqual(['loaded', 'loaded', 'loaded', 'loaded']);
  });
});
