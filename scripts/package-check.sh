#!/usr/bin/env bash
# The package as users get it: `npm pack`, then `npm install <tarball>` in a fresh project outside
# the repository, and there: `npx vertex-mcp --help` / `--version`, a stdio tools/list answered from
# the shipped cache (dist/tools-list.json), the standalone emulator with a server using it, every
# export importable, `npx vertex-mcp demo` from another directory, and a TypeScript consumer
# (test/package/consumer.ts: the README's library example against the embedded emulator)
# type-checked with skipLibCheck: false, then run.
# Needs a build (npm run build). Usage: bash scripts/package-check.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
[[ -f dist/bundle/bin/cli.js ]] || { echo "package-check: no build: run npm run build first" >&2; exit 1; }
VERSION=$(node -p "require('./package.json').version")
# The consumer's TypeScript and Node types: the versions this repository builds with.
TS_VERSION=$(node -p "require('typescript/package.json').version")
NODE_TYPES=$(node -p "require('@types/node/package.json').version")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vertex-mcp-package.XXXXXX")
EMU_PID=""
cleanup() {
  [[ -n "$EMU_PID" ]] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

T0=$SECONDS
T=$SECONDS
timed() { printf '   (%ss)\n' "$((SECONDS - T))"; T=$SECONDS; }
ok() { printf 'ok   %s\n' "$1"; }
fail() {
  printf 'FAIL %s\n' "$1" >&2
  [[ -n "${2:-}" && -f "$2" ]] && tail -40 "$2" >&2
  exit 1
}

echo "== npm pack"
TARBALL="$WORK/$(npm pack --silent --pack-destination "$WORK" | tail -1)"
tar -tzf "$TARBALL" >"$WORK/contents.txt"
for f in LICENSE README.md mcp.json dist/tools-list.json dist/bundle/bin/cli.js dist/bundle/bin/tuning_worker.js \
  dist/src/lib/index.d.ts dist/src/emulator/public.d.ts data/prices.json examples/halo-routing.jsonl \
  examples/halo-routing-heldout.jsonl examples/se-darwin-archive; do
  grep -q "^package/$f" "$WORK/contents.txt" || fail "the tarball lacks $f"
done
grep -q 'Apache License' <(tar -xzOf "$TARBALL" package/LICENSE) || fail "LICENSE is not the Apache-2.0 text"
if grep -qE '^package/(src/|test/|dist/test/|dist/bench/|node_modules/)' "$WORK/contents.txt"; then
  fail "the tarball carries sources, tests or node_modules: $(grep -E '^package/(src|test|dist/test|dist/bench|node_modules)/' "$WORK/contents.txt" | head -3)"
fi
ok "$(basename "$TARBALL"): $(wc -l <"$WORK/contents.txt") files, $(($(stat -c %s "$TARBALL") / 1024)) KB; LICENSE, cache, data and examples in, no sources or tests"
timed

echo "== npm install <tarball> typescript@$TS_VERSION @types/node@$NODE_TYPES (fresh project in $WORK/app)"
APP="$WORK/app"
mkdir -p "$APP/some/other/dir"
printf '{ "name": "consumer", "version": "1.0.0", "private": true, "type": "module" }\n' >"$APP/package.json"
(cd "$APP" && npm install --no-audit --no-fund --prefer-offline --loglevel=error \
  "$TARBALL" "typescript@$TS_VERSION" "@types/node@$NODE_TYPES" >"$WORK/install.log" 2>&1) ||
  fail "npm install of the tarball failed" "$WORK/install.log"
ok "installed: $(cd "$APP" && npm ls --all --parseable 2>/dev/null | wc -l) packages"
timed

# From a directory that is neither the repository nor the consumer's root: nothing may depend on cwd.
cd "$APP/some/other/dir"
export VERTEX_MCP_LOG_LEVEL=warn

echo "== npx vertex-mcp --help / --version"
npx --no-install vertex-mcp --help >"$WORK/help.txt" || fail "vertex-mcp --help exited non-zero" "$WORK/help.txt"
grep -q 'vertex-mcp' "$WORK/help.txt" && grep -q -- '--data-dir' "$WORK/help.txt" || fail "--help text" "$WORK/help.txt"
[[ "$(npx --no-install vertex-mcp --version)" == "$VERSION" ]] || fail "--version is not $VERSION"
ok "--help ($(wc -l <"$WORK/help.txt") lines) and --version $VERSION"
timed

echo "== stdio tools/list from the installed bin, answered from the shipped dist/tools-list.json"
cp "$ROOT/test/package/list-tools.mjs" "$APP/list-tools.mjs"
BIN="$APP/node_modules/.bin/vertex-mcp"
CACHE="$APP/node_modules/vertex-mcp/dist/tools-list.json"
node "$APP/list-tools.mjs" -- "$BIN" --data-dir :memory: >"$WORK/tools.json" || fail "tools/list over stdio"
node -e '
  const [listed, cache] = process.argv.slice(1).map((f) => JSON.parse(require("node:fs").readFileSync(f, "utf8")));
  const a = JSON.stringify(listed.tools), b = JSON.stringify(cache);
  if (a !== b) { console.error("tools/list differs from the shipped cache"); process.exit(1); }
  console.log(`ok   tools/list: ${listed.tools.length} tools, ${Buffer.byteLength(a)} bytes, identical to dist/tools-list.json`);
' "$WORK/tools.json" "$CACHE"
# Proof that the installed server reads the cache (not a fresh schema generation): mark one
# description in the installed cache and look for the mark in the answer.
cp "$CACHE" "$WORK/cache.bak"
node -e '
  const fs = require("node:fs"); const f = process.argv[1]; const c = JSON.parse(fs.readFileSync(f, "utf8"));
  c[0].description += " [package-check mark]"; fs.writeFileSync(f, JSON.stringify(c));
' "$CACHE"
node "$APP/list-tools.mjs" -- "$BIN" --data-dir :memory: >"$WORK/tools-marked.json" || fail "tools/list (marked cache)"
cp "$WORK/cache.bak" "$CACHE"
grep -q 'package-check mark' "$WORK/tools-marked.json" || fail "the installed server did not answer from dist/tools-list.json"
ok "the installed server answers tools/list from its dist/tools-list.json"
timed

echo "== vertex-mcp emulator (standalone), and a server using it through --emulator-endpoint"
# The bin itself, not npx: its pid is the emulator's, so the kill below (and cleanup) reaches it.
"$BIN" emulator --data-dir "$WORK/emu-data" >"$WORK/emu.out" 2>"$WORK/emu.err" &
EMU_PID=$!
for _ in $(seq 1 300); do
  [[ -s "$WORK/emu.out" ]] && break
  kill -0 "$EMU_PID" 2>/dev/null || fail "the emulator exited" "$WORK/emu.err"
  sleep 0.1
done
ENDPOINT=$(node -p 'JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8").split("\n")[0]).endpoint' "$WORK/emu.out") ||
  fail "the emulator's first stdout line is not its JSON endpoint" "$WORK/emu.out"
node "$APP/list-tools.mjs" --call create_endpoint '{"display_name":"package-check"}' -- \
  "$BIN" --emulator-endpoint "$ENDPOINT" >"$WORK/emu-call.json" || fail "serve --emulator-endpoint"
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).call;
  if (r.isError || r.structuredContent.display_name !== "package-check") { console.error(JSON.stringify(r)); process.exit(1); }
' "$WORK/emu-call.json" || fail "create_endpoint against the standalone emulator"
kill "$EMU_PID" && wait "$EMU_PID" 2>/dev/null || true
EMU_PID=""
ok "emulator at $ENDPOINT; create_endpoint through vertex-mcp --emulator-endpoint"
timed

echo "== every export loads"
(cd "$APP" && node --input-type=module -e '
  for (const s of ["vertex-mcp", "vertex-mcp/server", "vertex-mcp/datasets", "vertex-mcp/monitoring",
                   "vertex-mcp/emulator", "vertex-mcp/agent", "vertex-mcp/router"]) {
    const m = await import(s);
    if (Object.keys(m).length === 0) throw new Error(`${s} exports nothing`);
  }
  const { createLibrary } = await import("vertex-mcp");
  const { startEmulator } = await import("vertex-mcp/emulator");
  if (typeof createLibrary !== "function" || typeof startEmulator !== "function") throw new Error("entry points");
') >"$WORK/exports.log" 2>&1 || fail "an export does not load" "$WORK/exports.log"
ok "vertex-mcp, /server, /datasets, /monitoring, /emulator, /agent, /router"
timed

echo "== npx vertex-mcp demo (from $APP/some/other/dir)"
npx --no-install vertex-mcp demo >"$WORK/demo.txt" 2>"$WORK/demo.err" || fail "the demo failed" "$WORK/demo.err"
grep -qE '^Done: halo-router [0-9.]+ is in production' "$WORK/demo.txt" || fail "the demo did not finish" "$WORK/demo.txt"
grep -q '\[refused\]' "$WORK/demo.txt" || fail "the demo's refusals are missing" "$WORK/demo.txt"
ok "demo: $(grep -cE '^[0-9]+\. ' "$WORK/demo.txt") steps; $(grep -E '^Done: ' "$WORK/demo.txt")"
timed

echo "== TypeScript consumer: tsc (skipLibCheck: false) and run"
cp "$ROOT/test/package/consumer.ts" "$APP/consumer.ts"
cat >"$APP/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "skipLibCheck": false,
    "types": ["node"],
    "outDir": "out"
  },
  "files": ["consumer.ts"]
}
JSON
(cd "$APP" && npx --no-install tsc -p tsconfig.json) >"$WORK/tsc.log" 2>&1 || fail "tsc on the consumer (skipLibCheck: false)" "$WORK/tsc.log"
ok "tsc: consumer.ts importing vertex-mcp, vertex-mcp/emulator and vertex-mcp/agent (no framework installed) type-checks with skipLibCheck: false"
(cd "$APP/some/other/dir" && node "$APP/out/consumer.js") >"$WORK/consumer.txt" 2>&1 ||
  fail "the consumer (README library example, offline) failed" "$WORK/consumer.txt"
grep -q '^verdict after 200 requests: \[' "$WORK/consumer.txt" || fail "the consumer's output" "$WORK/consumer.txt"
sed 's/^/     /' "$WORK/consumer.txt"
ok "the README library example runs offline against the emulator"
timed

echo
echo "package-check: all checks passed in $((SECONDS - T0))s"
