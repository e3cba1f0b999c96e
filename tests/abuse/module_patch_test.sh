#!/usr/bin/env bash
# Attack: a shared library rewrites the pipeline by patching the built-in modules: it turns
# high urgency into low in pd.create_incident, makes pd.acknowledge a no-op that still
# reports "acknowledged", swaps package.loaded.pagerduty or the global pagerduty, patches the
# string library or metatable (which http and pagerduty use), or replaces globals that
# pagerduty.lua's argument checks call. Every patch must fail with an error naming the
# module, in normal mode and under --strict, and the incident on the server must be as the
# pipeline asked. The control runs the no-op directly, to show the server check notices.
. "$(dirname "$0")/../cli/lib.sh"

KEY="pdpatch_$(date +%s%N)"
"$VSRUN" sandbox --json --api-key "$KEY" >"$TMP/sb.json" 2>"$TMP/sb.err" &
SB=$!
trap 'kill $SB 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 200); do [ -s "$TMP/sb.json" ] && break; sleep 0.05; done
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$TMP/sb.json")
[ -n "$URL" ] || { echo "FAIL sandbox start: $(head -c 300 "$TMP/sb.err")"; exit 1; }
export PAGERDUTY_TOKEN=$KEY PAGERDUTY_API_URL=$URL PAGERDUTY_FROM=$(grep -o "\"email\":\"[^\"]*" "$TMP/sb.json" | head -1 | cut -d\" -f4)

mkdir -p "$TMP/lib"
# the hostile shared library: tries each patch, records what happened
cat >"$TMP/lib/teamlib.lua" <<'EOF'
local pd = require "pagerduty"
local results = {}
local function try(name, fn)
  local ok, err = pcall(fn)
  results[name] = ok and "patched" or tostring(err)
end
local real_create = pd.create_incident
local function fake_ack(id) return { id = id, status = "acknowledged" } end
try("create_incident", function()
  pd.create_incident = function(args) args.urgency = "low" return real_create(args) end
end)
try("acknowledge", function() pd.acknowledge = fake_ack end)
try("rawset", function() rawset(pd, "acknowledge", fake_ack) end)
try("setmetatable", function() setmetatable(pd, nil) end)
try("loaded", function()
  package.loaded.pagerduty = setmetatable({ acknowledge = fake_ack }, { __index = pd })
end)
try("global", function() pagerduty = { acknowledge = fake_ack } end)
try("http", function() require("http").request = function() error("hijacked") end end)
try("json", function() require("json").encode = function() return "{}" end end)
try("vsrun", function() require("vsrun").map = function() return {} end end)
try("vsrun.time", function() require("vsrun.time").parse = function() return 0 end end)
try("string", function() string.format = function() return "" end end)
try("string_mt", function() getmetatable("").__index = { format = function() return "" end } end)
try("string_mt_set", function() setmetatable("", nil) end)
try("task_mt", function() getmetatable(require("vsrun").spawn(function() end)).wait = function() end end)
try("iterator_mt", function() getmetatable(pd.list_incidents {}).collect = function() return {} end end)
try("error_mt", function()
  local _, err = pcall(pd.get_incident, "bad id!")
  getmetatable(err).__tostring = function() return "all fine" end
end)
-- globals the built-ins must not depend on
_G.type = function() return "string" end
table.concat = function() return "" end
_G.pairs = function() return function() end end
return { results = results, fake_ack = fake_ack }
EOF

cat >"$TMP/pipeline.lua" <<'EOF'
local input = ...
local pd = require "pagerduty"
local real_type = type
local lib = require "teamlib"
_G.type = real_type
local inc = pd.create_incident { title = "db down", service = input.service, urgency = "high" }
local ack = input.control and lib.fake_ack or require("pagerduty").acknowledge
local reported = ack(inc.id).status
-- argument checks still hold with type/pairs/table.concat replaced by the library
local bad_ok, bad_err = pcall(pd.create_incident, { title = "x", service = input.service, urgency = "urgent" })
return { id = inc.id, reported = reported, global_is_module = pagerduty == pd,
         bad_rejected = not bad_ok and real_type(bad_err) == "table" and bad_err.kind or tostring(bad_err),
         results = lib.results }
EOF

run -e 'return require("pagerduty").list_incidents { limit = 1 }:collect(1)[1].service.id'
SERVICE=$(tr -d '"' <<<"$OUT")
[ -n "$SERVICE" ] && echo "ok a service on the server" || _fail "service" "none"

# server_state ID: "status urgency" as the server has them, read by a fresh process
server_state() {
    run -e "local i = require('pagerduty').get_incident('$1') return i.status .. ' ' .. i.urgency"
    tr -d '"' <<<"$OUT"
}

run --lib "$TMP/lib" "$TMP/pipeline.lua" service="$SERVICE" control=1
expect "control: the pipeline runs with the no-op" 0 '"reported": "acknowledged"'
ID=$(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' <<<"$OUT")
[ "$(server_state "$ID")" = "triggered high" ] && echo "ok control: the server check sees the no-op (still triggered)" || _fail "control" "server says $(server_state "$ID")"

for mode in "" --strict; do
    run $mode --lib "$TMP/lib" "$TMP/pipeline.lua" service="$SERVICE"
    expect "pipeline with a hostile library $mode" 0 '"reported": "acknowledged"'
    ID=$(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' <<<"$OUT")
    [ "$(server_state "$ID")" = "acknowledged high" ] && echo "ok the server has the incident as asked $mode" || _fail "server state $mode" "$(server_state "$ID")"
    run $mode --lib "$TMP/lib" "$TMP/pipeline.lua" service="$SERVICE"
    [ "$RC" -eq 0 ] || _fail "second pipeline run $mode" "exit $RC"
    for patch in create_incident acknowledge rawset setmetatable http json vsrun vsrun.time string string_mt string_mt_set global task_mt iterator_mt error_mt; do
        if ! grep -q "\"$patch\": " <<<"$OUT" || grep -q "\"$patch\": \"patched\"" <<<"$OUT"; then _fail "patch $patch $mode" "the patch was applied (or not tried)"
        else echo "ok patch $patch refused $mode"; fi
    done
    grep -q "\"create_incident\": \".*module 'pagerduty' is read-only (cannot set 'create_incident')" <<<"$OUT" &&
        echo "ok the error names the module $mode" || _fail "error names module $mode" "no"
    grep -q '"global_is_module": true' <<<"$OUT" && echo "ok the global pagerduty is the module $mode" || _fail "global $mode" "replaced"
    grep -q '"bad_rejected": "invalid_argument"' <<<"$OUT" && echo "ok argument checks hold with globals replaced $mode" || _fail "checks $mode" "fooled"
done

# vsrun test: the testing and sandbox modules are read-only too
mkdir -p "$TMP/t"
cat >"$TMP/t/patch_test.lua" <<'EOF'
local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local ok1 = pcall(function() t.eq = function() end end)
local ok2 = pcall(function() sandbox.requests = function() return {} end end)
t.test("testing and sandbox modules refuse patches", function()
  t.eq(ok1, false)
  t.eq(ok2, false)
  t.raises("read-only", function() t.ok = nil end)
end)
EOF
run test "$TMP/t"
expect "vsrun.testing and vsrun.sandbox are read-only" 0 '1 passed, 0 failed'
