// One emulator per data directory; a lock whose owner is gone (its pid dead, reused, or our own pid
// from an earlier process, as after a container restart) is taken over.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import { DataDirLockedError, LOCK_FILE, lockDataDir, startTicks } from '../../src/emulator/lock.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'vertex-mcp-lock-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const linux = startTicks('self') !== undefined;
const lockOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8'));

describe('emulator.lock', () => {
  it('refuses a second emulator on the same data directory, and takes over a stale lock', async () => {
    const dir = tmp();
    const first = await startEmulator({ dataDir: dir });
    await expect(startEmulator({ dataDir: dir })).rejects.toThrow(
      `another emulator (pid ${process.pid}) is using ${dir}: run one \`vertex-mcp emulator\``,
    );
    await expect(startEmulator({ dataDir: dir })).rejects.toBeInstanceOf(DataDirLockedError);
    await first.close();
    // A lock left by a process that no longer exists is stale.
    writeFileSync(path.join(dir, LOCK_FILE), '999999999');
    const again = await startEmulator({ dataDir: dir });
    expect(lockOf(dir).pid).toBe(process.pid);
    await again.close();
  });

  it('takes over its own pid left by an earlier process (a container restarted as the same pid)', () => {
    const dir = tmp();
    const file = path.join(dir, LOCK_FILE);
    const logs: string[] = [];
    // The earlier process: same pid, another start time.
    writeFileSync(file, JSON.stringify({ pid: process.pid, start_ticks: '1', started_ms: 1 }));
    const release = lockDataDir(dir, (m) => logs.push(m));
    expect(lockOf(dir)).toMatchObject({ pid: process.pid });
    expect(logs.join('\n')).toContain(`from pid ${process.pid}: an earlier process with this pid`);
    release();
    // The older format (the pid alone) holding our pid.
    writeFileSync(file, String(process.pid));
    lockDataDir(dir)();
  });

  it('still refuses a lock this very process holds', () => {
    const dir = tmp();
    const release = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
    const held = readFileSync(path.join(dir, LOCK_FILE), 'utf8');
    release();
    // Written by this process (same pid, same start time) through another copy of the module, as a
    // worker thread would: not an earlier process.
    writeFileSync(path.join(dir, LOCK_FILE), held);
    expect(() => lockDataDir(dir)).toThrow(`another emulator (pid ${process.pid}) is using`);
  });

  it.skipIf(!linux)('refuses a live holder, and takes over a live pid that started at another time', () => {
    const dir = tmp();
    const file = path.join(dir, LOCK_FILE);
    const parent = process.ppid;
    // The parent is alive and started when /proc says: a genuine holder.
    writeFileSync(file, JSON.stringify({ pid: parent, start_ticks: startTicks(parent) }));
    expect(() => lockDataDir(dir)).toThrow(`another emulator (pid ${parent}) is using`);
    // Same pid, other start time: the pid was reused by an unrelated process.
    writeFileSync(file, JSON.stringify({ pid: parent, start_ticks: '1' }));
    const release = lockDataDir(dir);
    expect(lockOf(dir).pid).toBe(process.pid);
    release();
  });

  it.skipIf(!linux)('takes over an older-format lock whose live pid is not a Node process', async () => {
    const dir = tmp();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => sleeper.once('spawn', r));
      writeFileSync(path.join(dir, LOCK_FILE), String(sleeper.pid));
      const release = lockDataDir(dir);
      expect(lockOf(dir).pid).toBe(process.pid);
      release();
      // A live Node process in the older format is still respected (it may be an older vertex-mcp).
      writeFileSync(path.join(dir, LOCK_FILE), String(process.ppid));
      const ppidCmd = readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8');
      if (/node/.test(ppidCmd)) expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
    } finally {
      sleeper.kill();
    }
  });
});
