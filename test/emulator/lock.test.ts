// One emulator per data directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import { LOCK_FILE } from '../../src/emulator/lock.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('refuses a second emulator on the same data directory, and takes over a stale lock', async () => {
  const first = await startEmulator({ dataDir: dir });
  await expect(startEmulator({ dataDir: dir })).rejects.toThrow(
    `another emulator (pid ${process.pid}) is using ${dir}: run one \`vertex-mcp emulator\``,
  );
  await first.close();
  // A lock left by a process that no longer exists is stale.
  writeFileSync(path.join(dir, LOCK_FILE), '999999999');
  const again = await startEmulator({ dataDir: dir });
  await again.close();
});
