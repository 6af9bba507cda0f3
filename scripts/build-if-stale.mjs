// Runs `npm run build` only when the build is missing or older than a source: `npm run demo` should
// not pay a full tsc + generators + bundle (a minute or more) when nothing changed. Plain JavaScript
// on purpose: it runs before anything is built.
//   node scripts/build-if-stale.mjs          build if stale
//   node scripts/build-if-stale.mjs --check  exit 1 if stale, 0 if current (no build)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** What the build reads: the sources it compiles and bundles, its generators, its configuration. */
const SOURCES = ['src', 'scripts', 'tsconfig.json', 'package.json', 'package-lock.json'];
/** What it writes; the app bundle comes last, so its age is the build's. */
const OUTPUTS = [
  'dist/app/dashboard.html',
  'dist/bundle/bin/cli.js',
  'dist/tools-list.json',
  'dist/protos',
  'dist/src/lib/index.js',
];
const LAST_OUTPUT = 'dist/app/dashboard.html';

/** The newest file under `p` (a file or a directory), as [mtimeMs, path]. */
function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return [st.mtimeMs, p];
  let best = [0, p];
  for (const entry of readdirSync(p)) {
    const found = newest(path.join(p, entry));
    if (found[0] > best[0]) best = found;
  }
  return best;
}

function staleReason() {
  const missing = OUTPUTS.find((o) => !existsSync(path.join(ROOT, o)));
  if (missing) return `${missing} is missing`;
  const built = statSync(path.join(ROOT, LAST_OUTPUT)).mtimeMs;
  for (const s of SOURCES) {
    const abs = path.join(ROOT, s);
    if (!existsSync(abs)) continue;
    const [mtime, file] = newest(abs);
    if (mtime > built) return `${path.relative(ROOT, file)} is newer than ${LAST_OUTPUT}`;
  }
  return undefined;
}

const reason = staleReason();
if (process.argv.includes('--check')) {
  process.stderr.write(reason ? `build is stale: ${reason}\n` : 'build is current\n');
  process.exit(reason ? 1 : 0);
}
if (!reason) {
  process.stderr.write('build is current (dist is newer than the sources): skipping npm run build\n');
} else {
  process.stderr.write(`building: ${reason}\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
