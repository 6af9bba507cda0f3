#!/usr/bin/env bash
# A real MCP client against the built server: the MCP Inspector's CLI mode drives
# dist/bundle/bin/cli.js over stdio and over Streamable HTTP (bearer token), and every answer is
# asserted: lists (tools, resources, resource templates, prompts), a read tool, a write tool, a
# destructive tool without confirm (must be refused), a dry run, and a resource read.
#
# Inspector v1 (1.0.x, deprecated but kept for security fixes): v2 needs Node >= 22.19 and CI runs
# Node 20. It is installed in a temporary directory, never as a dependency of this package.
# Needs a build (npm run build). Usage: bash scripts/inspector-check.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CLI="$ROOT/dist/bundle/bin/cli.js"
INSPECTOR_VERSION="${INSPECTOR_VERSION:-1.0.3}"
[[ -f "$CLI" ]] || { echo "inspector-check: $CLI is missing: run npm run build first" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vertex-mcp-inspector.XXXXXX")
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "installing @modelcontextprotocol/inspector@$INSPECTOR_VERSION in $WORK/inspector"
mkdir -p "$WORK/inspector" "$WORK/out"
(cd "$WORK/inspector" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --loglevel=error "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" >/dev/null)
INSPECTOR="$WORK/inspector/node_modules/.bin/mcp-inspector"

# inspect <label> <inspector args...>: runs one Inspector CLI call, its JSON answer kept in out/<label>.json.
inspect() {
  local label=$1
  shift
  if ! "$INSPECTOR" --cli "$@" >"$WORK/out/$label.json" 2>"$WORK/out/$label.err"; then
    echo "FAIL $label: the Inspector exited non-zero" >&2
    cat "$WORK/out/$label.err" "$WORK/out/$label.json" >&2
    exit 1
  fi
}

# expect <label> <JavaScript expression over r, the answer> <what it checks>
expect() {
  node -e '
    const [file, expr, what] = process.argv.slice(1);
    const r = JSON.parse(require("node:fs").readFileSync(file, "utf8"));
    let ok;
    try { ok = new Function("r", `return (${expr});`)(r); } catch (e) { ok = false; console.error(e.message); }
    if (!ok) {
      console.error(`FAIL ${what}\n  expected: ${expr}\n  answer: ${JSON.stringify(r).slice(0, 1500)}`);
      process.exit(1);
    }
    console.log(`ok   ${what}`);
  ' "$WORK/out/$1.json" "$2" "$1: $3"
}

TOOLS_JSON="$ROOT/dist/tools-list.json"
TOOL_COUNT=$(node -p "require('$TOOLS_JSON').length")

# checks <transport> <inspector target args...>: the same session of calls over one transport.
checks() {
  local t=$1
  shift
  inspect "$t-tools" "$@" --method tools/list
  expect "$t-tools" "r.tools.length === $TOOL_COUNT && r.tools.every(x => x.inputSchema && x.outputSchema)" \
    "tools/list: $TOOL_COUNT tools, each with input and output schemas"
  expect "$t-tools" "['list_models','create_endpoint','delete_endpoint','predict','start_ab_test'].every(n => r.tools.some(x => x.name === n))" \
    "tools/list names the lifecycle tools"

  inspect "$t-templates" "$@" --method resources/templates/list
  expect "$t-templates" "['vertex://endpoints/{endpoint}/stats','vertex://models/{model}/versions/{version}','vertex://tuning-jobs/{job}'].every(u => r.resourceTemplates.some(x => x.uriTemplate === u))" \
    "resources/templates/list: endpoint stats, model versions, tuning jobs"

  inspect "$t-prompts" "$@" --method prompts/list
  expect "$t-prompts" "r.prompts.length >= 1 && r.prompts.every(p => p.name && p.description)" "prompts/list: workflow prompts"

  inspect "$t-list-models" "$@" --method tools/call --tool-name list_models
  expect "$t-list-models" "!r.isError && Array.isArray(r.structuredContent.versions) && r.content[0].type === 'text'" \
    "read tool list_models answers structuredContent + text"

  inspect "$t-upload" "$@" --method tools/call --tool-name upload_model --tool-arg name=ci-model version=1.0.0 \
    serving_container_uri=us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest
  expect "$t-upload" "!r.isError && r.structuredContent.name === 'ci-model' && r.structuredContent.version === '1.0.0'" \
    "write tool upload_model registers ci-model 1.0.0"

  inspect "$t-create" "$@" --method tools/call --tool-name create_endpoint --tool-arg display_name=ci-ep
  expect "$t-create" "!r.isError && r.structuredContent.display_name === 'ci-ep' && /^\\d+$/.test(r.structuredContent.endpoint)" \
    "write tool create_endpoint creates ci-ep"
  local ep
  ep=$(node -p "require('$WORK/out/$t-create.json').structuredContent.endpoint")

  inspect "$t-delete" "$@" --method tools/call --tool-name delete_endpoint --tool-arg endpoint=ci-ep
  expect "$t-delete" "r.isError === true && /confirm: true/.test(r.content[0].text) && /nothing was changed/.test(r.content[0].text)" \
    "destructive delete_endpoint without confirm is refused (isError, names confirm)"

  inspect "$t-dry-run" "$@" --method tools/call --tool-name delete_endpoint --tool-arg endpoint=ci-ep dry_run=true
  expect "$t-dry-run" "!r.isError" "delete_endpoint dry_run answers the plan"

  inspect "$t-resources" "$@" --method resources/list
  expect "$t-resources" "r.resources.some(x => x.uri === 'vertex://endpoints/$ep/stats')" \
    "resources/list lists ci-ep's stats (still there: nothing was deleted)"

  inspect "$t-read-stats" "$@" --method resources/read --uri "vertex://endpoints/$ep/stats"
  expect "$t-read-stats" "r.contents[0].mimeType === 'application/json' && JSON.parse(r.contents[0].text).display_name === 'ci-ep'" \
    "resources/read vertex://endpoints/$ep/stats"

  inspect "$t-read-model" "$@" --method resources/read --uri "vertex://models/ci-model/versions/1.0.0"
  expect "$t-read-model" "JSON.parse(r.contents[0].text).version === '1.0.0'" \
    "resources/read vertex://models/ci-model/versions/1.0.0"

  # The MCP App (issue 13): listed, linked from its two tools, and read as one HTML document.
  expect "$t-resources" "r.resources.some(x => x.uri === 'ui://vertex-mcp/dashboard' && x.mimeType === 'text/html;profile=mcp-app')" \
    "resources/list lists the dashboard app ui://vertex-mcp/dashboard"
  expect "$t-tools" "['get_ab_test','get_endpoint_stats'].every(n => r.tools.find(x => x.name === n)._meta.ui.resourceUri === 'ui://vertex-mcp/dashboard')" \
    "get_ab_test and get_endpoint_stats link to the app (_meta.ui.resourceUri)"
  inspect "$t-read-app" "$@" --method resources/read --uri "ui://vertex-mcp/dashboard"
  expect "$t-read-app" "r.contents[0].mimeType === 'text/html;profile=mcp-app' && /^<!doctype html>/i.test(r.contents[0].text) && r.contents[0].text.length > 100000" \
    "resources/read ui://vertex-mcp/dashboard: the bundled app"
}

echo
echo "== stdio: the Inspector spawns node dist/bundle/bin/cli.js (state in a temporary data directory)"
STDIO_ARGS=(-e "VERTEX_MCP_HOME=$WORK/stdio-data" -e VERTEX_MCP_LOG_LEVEL=warn node "$CLI")
checks stdio "${STDIO_ARGS[@]}"

echo
echo "== Streamable HTTP: vertex-mcp serve --http --port 0 --auth-token ... in the background"
TOKEN="ci-$(node -p "require('node:crypto').randomBytes(16).toString('hex')")"
node "$CLI" serve --http --port 0 --auth-token "$TOKEN" --data-dir "$WORK/http-data" 2>"$WORK/server.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 100); do
  URL=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/mcp' "$WORK/server.err" | head -1 || true)
  [[ -n "$URL" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "FAIL: the HTTP server did not report its URL" >&2; cat "$WORK/server.err" >&2; exit 1; }
echo "server at $URL"

# Without the token the Inspector must not get in.
if "$INSPECTOR" --cli "$URL" --transport http --method tools/list >"$WORK/out/http-anon.json" 2>"$WORK/out/http-anon.err"; then
  echo "FAIL: tools/list over HTTP without the bearer token succeeded" >&2
  exit 1
fi
grep -q 'Unauthorized: send Authorization: Bearer' "$WORK/out/http-anon.err" ||
  { echo "FAIL: no Unauthorized answer without the token:" >&2; cat "$WORK/out/http-anon.err" >&2; exit 1; }
echo "ok   http: without Authorization: Bearer the server refuses the Inspector (Unauthorized)"

checks http "$URL" --transport http --header "Authorization: Bearer $TOKEN"

echo
echo "inspector-check: all assertions passed (stdio and Streamable HTTP, Inspector $INSPECTOR_VERSION)"
