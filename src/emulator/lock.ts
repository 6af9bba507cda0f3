// One emulator per data directory: two would both resume the other's tuning jobs and race on its
// files. The lock is a file naming its owner: pid plus the process's start time. A lock is taken
// over when its owner is gone: the pid is not running, the pid now belongs to a process that
// started at another time (pid reuse; a crashed container restarting as the same pid finds its own
// pid in the file), or, for a lock written without a start time, to a process that is not Node.
import fs from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'emulator.lock';

/** The data directory is in use by another emulator (a precondition, not an internal error). */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    /** The holder's pid; 0 when the lock is being written and names no one yet. */
    readonly pid: number,
  ) {
    super(
      `another emulator${pid ? ` (pid ${pid})` : ''} is using ${dataDir}: run one \`vertex-mcp emulator\` and point servers at it with --emulator-endpoint, or use another --data-dir`,
    );
    this.name = 'DataDirLockedError';
  }
}

interface Holder {
  pid: number;
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  start_ticks?: string;
  /** The process's start time, ms since the epoch (rounded to the second's scale of uptime). */
  started_ms?: number;
}

/** Directories this process has locked (several emulators in one process, e.g. tests). */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time in clock ticks since boot, from /proc; undefined where there is no /proc. */
export function startTicks(pid: number | 'self'): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 overall: starttime
  } catch {
    return undefined;
  }
}

/** Whether the process looks like one that could hold the lock (Node running vertex-mcp or a host of it). */
function looksLikeNode(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true; // cannot tell (no /proc): assume it is
  }
  const [argv0 = '', ...rest] = cmdline.split('\0');
  return /(node|nodejs|bun|deno)(\.exe)?$/i.test(path.basename(argv0)) || rest.some((a) => a.includes('vertex-mcp'));
}

function self(): Holder {
  const ticks = startTicks('self');
  return {
    pid: process.pid,
    ...(ticks ? { start_ticks: ticks } : {}),
    started_ms: Math.round(Date.now() - process.uptime() * 1000),
  };
}

function parseHolder(text: string): Holder | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) }; // older format: the pid alone
  try {
    const h = JSON.parse(trimmed) as Holder;
    return Number.isInteger(h?.pid) && h.pid > 0 ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Why the lock's holder no longer holds it, or undefined when it still does. */
function staleReason(holder: Holder, me: Holder): string | undefined {
  if (holder.pid === me.pid) {
    // Our own pid: this process (another emulator in it) or an earlier process that had our pid.
    if (holder.start_ticks && me.start_ticks) {
      return holder.start_ticks === me.start_ticks ? undefined : 'an earlier process with this pid';
    }
    if (holder.started_ms !== undefined && me.started_ms !== undefined) {
      return Math.abs(holder.started_ms - me.started_ms) < 2000 ? undefined : 'an earlier process with this pid';
    }
    return 'an earlier process with this pid'; // older format: written before this process ran
  }
  if (!alive(holder.pid)) return 'its process is gone';
  if (holder.start_ticks) {
    const now = startTicks(holder.pid);
    if (now !== undefined && now !== holder.start_ticks) return 'its pid now belongs to another process';
    return undefined;
  }
  if (!looksLikeNode(holder.pid)) return 'its pid now belongs to a process that is not vertex-mcp';
  return undefined;
}

/** Takes the data directory's lock, or throws DataDirLockedError naming its holder. Returns a release. */
export function lockDataDir(dataDir: string, log: (msg: string) => void = () => {}): () => void {
  if (dataDir === ':memory:') return () => {};
  const key = path.resolve(dataDir);
  if (held.has(key)) throw new DataDirLockedError(dataDir, process.pid);
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  const me = self();
  const mine = JSON.stringify(me);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      held.add(key);
      return () => {
        held.delete(key);
        try {
          if (fs.readFileSync(file, 'utf8') === mine) fs.unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw e;
      }
      const holder = parseHolder(text);
      if (!holder) {
        // Empty or garbled: a writer between create and write, or a crash there. Young: wait.
        const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
        if (age < 2000) throw new DataDirLockedError(dataDir, 0);
        log(`emulator: taking over ${file}: unreadable lock`);
      } else {
        const reason = staleReason(holder, me);
        if (!reason) throw new DataDirLockedError(dataDir, holder.pid);
        log(`emulator: taking over ${file} from pid ${holder.pid}: ${reason}`);
      }
      // Remove it only if it is still the lock we judged (another process may have taken over).
      try {
        if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file, { force: true });
      } catch {
        // gone already
      }
    }
  }
  throw new Error(`could not lock ${dataDir}: ${file} keeps changing`);
}
