// One emulator per data directory: two would both resume the other's tuning jobs and race on its
// files. The lock is a file holding the owner's pid; a lock whose process is gone is taken over.
import fs from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'emulator.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data directory's lock, or throws naming the process that holds it. Returns a release. */
export function lockDataDir(dataDir: string): () => void {
  if (dataDir === ':memory:') return () => {};
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new Error(
          `another emulator (pid ${pid}) is using ${dataDir}: run one \`vertex-mcp emulator\` and point servers at it with --emulator-endpoint, or use another --data-dir`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}
