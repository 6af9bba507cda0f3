// The router tests' set-up: an emulator, a library allowed to write a temp directory, and the
// bench's deployed router (bench/router.ts: tuned on its TASKS, alone on its endpoint).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deployRouter, TASKS } from '../../bench/router.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { createLibrary, type Library } from '../../src/lib/index.js';
import { emulatorBackend } from '../helpers.js';

/** The agent each of the bench's TASKS belongs to (bench/router.ts trains TASKS[i] -> AGENTS[i]). */
export const AGENT_OF: Record<string, string> = {
  [TASKS[0]!]: 'coder',
  [TASKS[1]!]: 'sql_agent',
  [TASKS[2]!]: 'writer',
};
export const AGENTS = ['coder', 'sql_agent', 'writer'];

export interface RouterStack {
  emu: Emulator;
  lib: Library;
  dir: string;
  close(): Promise<void>;
}

export async function routerStack(opts: { deploy?: boolean } = {}): Promise<RouterStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-router-'));
  const emu = await startEmulator({ dataDir: ':memory:' });
  const lib = createLibrary(emulatorBackend(emu), { allowedRoots: [dir] });
  if (opts.deploy !== false) await deployRouter(lib, { name: 'router', endpoint: 'router-ep', examples: 300 });
  return {
    emu,
    lib,
    dir,
    async close() {
      await lib.close();
      await emu.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every JSONL line under a local directory (recursively), parsed. */
export function readLines(dir: string): Record<string, any>[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) =>
      fs
        .readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
}
