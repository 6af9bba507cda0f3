// The installed package's root (the nearest directory above a module whose package.json is
// vertex-mcp): where the build's files (dist/protos, dist/app) and the examples are, whether the
// code runs from the sources, the tsc output or the bundle, in a checkout or in node_modules.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let found: string | null | undefined;

/** The package root, or null when no vertex-mcp package.json is above this module. */
export function packageRoot(): string | null {
  if (found !== undefined) return found;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'vertex-mcp') {
      found = dir;
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir) {
      found = null;
      return null;
    }
    dir = up;
  }
}
