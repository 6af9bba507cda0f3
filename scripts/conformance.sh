#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server scenarios,
# "active" suite) against vertex-mcp over Streamable HTTP, and compares the result with
# conformance/expected-failures.yml (scenarios that need test-only fixtures, each with a reason).
#
# Assumes `npm run build` ran (it builds nothing). The suite needs Node >= 22: when the node on PATH
# is older, Node 22 comes from the npm registry package node-linux-<arch>@22, installed with the suite
# into a cache directory (never into package.json).
#
# Prints "conformance: N passed, M expected failures, K unexpected failures" and exits non-zero only
# when K > 0 (or when the suite could not run at all).
#
# Environment:
#   CONFORMANCE_VERSION  suite version (default below)
#   CONFORMANCE_CACHE    where Node 22 and the suite are installed (default ~/.cache/vertex-mcp/conformance)
#   CONFORMANCE_BASELINE another expected-failures file (default conformance/expected-failures.yml)
#   CONFORMANCE_RESULTS  keep the per-scenario results (checks.json) in this directory
#   CONFORMANCE_VERBOSE  1: print the suite's full output
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SUITE_VERSION="${CONFORMANCE_VERSION:-0.1.16}"
NODE_MAJOR=22
CACHE="${CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/vertex-mcp/conformance}"
BASELINE="${CONFORMANCE_BASELINE:-$ROOT/conformance/expected-failures.yml}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vertex-mcp-conformance.XXXXXX")"
RESULTS="${CONFORMANCE_RESULTS:-$WORK/results}"
SERVER_PID=""

log() { printf 'conformance.sh: %s\n' "$*" >&2; }

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -f dist/src/cli.js ]] || { log "dist/src/cli.js is missing: run npm run build first"; exit 2; }
[[ -f "$BASELINE" ]] || { log "$BASELINE is missing"; exit 2; }

npm_install() { # <prefix> <package spec>
  mkdir -p "$1"
  npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error --prefix "$1" "$2" >&2
}

# --- Node >= 22 -------------------------------------------------------------------------------
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
NODE22=""
if [[ "$(node_major node)" -ge "$NODE_MAJOR" ]]; then
  NODE22="$(command -v node)"
else
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) log "no node-linux package for $(uname -m)"; exit 2 ;;
  esac
  prefix="$CACHE/node$NODE_MAJOR-$arch"
  NODE22="$prefix/node_modules/node-linux-$arch/bin/node"
  if [[ "$(node_major "$NODE22")" -lt "$NODE_MAJOR" ]]; then
    log "installing Node $NODE_MAJOR (npm package node-linux-$arch@$NODE_MAJOR) into $prefix"
    rm -rf "$prefix"
    npm_install "$prefix" "node-linux-$arch@$NODE_MAJOR"
  fi
fi

# --- the suite --------------------------------------------------------------------------------
suite_prefix="$CACHE/suite-$SUITE_VERSION"
SUITE_JS="$suite_prefix/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [[ ! -f "$SUITE_JS" ]]; then
  log "installing @modelcontextprotocol/conformance@$SUITE_VERSION into $suite_prefix"
  rm -rf "$suite_prefix"
  npm_install "$suite_prefix" "@modelcontextprotocol/conformance@$SUITE_VERSION"
fi
log "suite @modelcontextprotocol/conformance@$SUITE_VERSION on node $("$NODE22" --version)"

# --- our server -------------------------------------------------------------------------------
PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
URL="http://127.0.0.1:$PORT/mcp"
node dist/src/cli.js serve --http --host 127.0.0.1 --port "$PORT" --data-dir :memory: --log-level warn \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready=0
for _ in $(seq 1 150); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  if node -e 'fetch(process.argv[1]).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))' \
    "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
if [[ "$ready" != 1 ]]; then
  log "the server did not come up on $URL; its output:"
  cat "$WORK/server.log" >&2
  exit 2
fi
log "vertex-mcp (pid $SERVER_PID) serving $URL"

# --- run --------------------------------------------------------------------------------------
mkdir -p "$RESULTS"
suite_rc=0
timeout_cmd=()
command -v timeout >/dev/null && timeout_cmd=(timeout 600)
"${timeout_cmd[@]}" "$NODE22" "$SUITE_JS" server --url "$URL" --suite active \
  --expected-failures "$BASELINE" --output-dir "$RESULTS" >"$WORK/suite.log" 2>&1 || suite_rc=$?
if [[ "${CONFORMANCE_VERBOSE:-0}" == 1 ]]; then
  cat "$WORK/suite.log"
else
  # The suite's own summary: one line per scenario, then its baseline check.
  sed -n '/=== SUMMARY ===/,$p' "$WORK/suite.log"
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  log "the server died during the run; its output:"
  cat "$WORK/server.log" >&2
fi
if [[ -s "$WORK/server.log" ]]; then
  log "server log (warnings and errors):"
  sed 's/^/  | /' "$WORK/server.log" >&2
fi

# --- compare with the baseline ----------------------------------------------------------------
# A scenario fails when any of its checks is FAILURE or WARNING (the suite's own rule).
node - "$RESULTS" "$BASELINE" "$suite_rc" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [results, baselineFile, suiteRc] = process.argv.slice(2);
const expected = [];
let inServer = false;
for (const line of fs.readFileSync(baselineFile, 'utf8').split('\n')) {
  const l = line.replace(/#.*/, '').trimEnd();
  if (!l.trim()) continue;
  if (/^\S/.test(l)) inServer = /^server\s*:/.test(l);
  else if (inServer) {
    const m = /^\s*-\s*['"]?([\w./-]+)['"]?\s*$/.exec(l);
    if (m) expected.push(m[1]);
  }
}
const outcome = new Map();
for (const dir of fs.readdirSync(results)) {
  const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/.exec(dir);
  const file = path.join(results, dir, 'checks.json');
  if (!m || !fs.existsSync(file)) continue;
  const checks = JSON.parse(fs.readFileSync(file, 'utf8'));
  const bad = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
  outcome.set(m[1], bad);
}
if (outcome.size === 0) {
  console.error(`conformance: the suite produced no results (exit ${suiteRc})`);
  process.exit(2);
}
const passed = [];
const expectedFailures = [];
const unexpected = [];
const stale = [];
for (const [scenario, bad] of [...outcome].sort()) {
  const isExpected = expected.includes(scenario);
  if (bad.length === 0) (isExpected ? stale : passed).push(scenario);
  else (isExpected ? expectedFailures : unexpected).push([scenario, bad]);
}
console.log(`\npassed: ${passed.join(', ') || '-'}`);
if (stale.length) console.log(`passed, but listed as expected failures (stale, remove from ${path.basename(baselineFile)}): ${stale.join(', ')}`);
const notRun = expected.filter((s) => !outcome.has(s));
if (notRun.length) console.log(`listed as expected failures but not run by this suite version: ${notRun.join(', ')}`);
for (const [scenario, bad] of unexpected) {
  console.log(`UNEXPECTED FAILURE ${scenario}:`);
  for (const c of bad) console.log(`    ${c.status} ${c.name}: ${c.errorMessage || c.description}`);
}
console.log(
  `conformance: ${passed.length + stale.length} passed, ${expectedFailures.length} expected failures, ${unexpected.length} unexpected failures`,
);
process.exit(unexpected.length > 0 ? 1 : 0);
EOF
