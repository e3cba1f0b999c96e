#!/usr/bin/env bash
# Error messages people read: PagerDuty's text once and a hint for a missing From, no doubled
# "no PagerDuty connection", tracebacks with the script's frames only (all with -v), and a
# duplicated input that names both sources.
. "$(dirname "$0")/lib.sh"

SB_PID=
stop_sandbox() { [ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null && wait "$SB_PID" 2>/dev/null; SB_PID=; }
trap 'stop_sandbox; rm -rf "$TMP"' EXIT
"$VSRUN" sandbox --port 0 --api-key err-key-1 --incidents 5 >"$TMP/sb.out" 2>"$TMP/sb.err" &
SB_PID=$!
for _ in $(seq 1 1200); do [ -s "$TMP/sb.out" ] && break; sleep 0.05; done   # up to 60 s (valgrind, load)
URL=$(head -1 "$TMP/sb.out")

# count STRING: how many times STRING occurs in stderr
count() { grep -o -F -- "$1" <<<"$ERR" | grep -c ''; }

cat >"$TMP/create.lua" <<'LUA'
local pd = require "pagerduty"
local svc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1].service.id
local function open_one() return pd.create_incident { title = "no From", service = svc } end
open_one()
LUA
VSRUN_HOME=$TMP/home PAGERDUTY_TOKEN=err-key-1 PAGERDUTY_API_URL=$URL run "$TMP/create.lua"
expect "missing From: names PAGERDUTY_FROM" 1 '' 'set PAGERDUTY_FROM to the email'
n=$(count 'in the "From" header')
if [ "$n" = 1 ]; then echo "ok missing From: PagerDuty's text said once"; else _fail "missing From: PagerDuty's text said once" "said $n times"; fi
# control: the sandbox does send the text twice (message and errors[]), so the check above can fail
VSRUN_HOME=$TMP/home PAGERDUTY_TOKEN=err-key-1 PAGERDUTY_API_URL=$URL run -e '
local pd = require "pagerduty"
local svc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1].service.id
local ok, err = pcall(pd.create_incident, { title = "x", service = svc })
return { message = err.message, errors = err.errors }'
expect "missing From control: errors[] repeats the message" 0 '^    "You must specify a user.s email address in the'

VSRUN_HOME=$TMP/empty run "$TMP/create.lua"
expect "no connection: exit 3" 3 '' 'no PagerDuty connection: run `vsrun auth login`'
n=$(count 'no PagerDuty connection')
if [ "$n" = 1 ]; then echo "ok no connection: said once"; else _fail "no connection: said once" "said $n times"; fi

# tracebacks: the script's frames, not vsrun's own; -v shows everything
cat >"$TMP/bad_id.lua" <<'LUA'
local pd = require "pagerduty"
local function fetch(id)
  local inc = pd.get_incident(id)
  return inc
end
fetch(true)
LUA
run --sandbox "$TMP/bad_id.lua"
expect "traceback: names the script's frames" 1 '' "bad_id.lua:3: in (local|upvalue) 'fetch'"
if grep -Eq $'^\t(lua/|\\[C\\])' <<<"$ERR"; then _fail "traceback: no vsrun frames" "vsrun frames shown"; else echo "ok traceback: no vsrun frames"; fi
expect "traceback: says -v shows all" 1 '' '-v shows the full traceback'
run --sandbox -v "$TMP/bad_id.lua"
expect "traceback -v: vsrun frames shown" 1 '' $'\tlua/pagerduty.lua:[0-9]+'
expect "traceback -v: script frames too" 1 '' "bad_id.lua:6: in main chunk"
printf 'local function f() error("plain failure") end\nf()\n' >"$TMP/plain.lua"
run "$TMP/plain.lua"
expect "traceback: a script's own error keeps its frames" 1 '' "plain.lua:1: in (local|upvalue) 'f'"

# duplicated inputs name their two sources
run -e 'return 1' status=a other=1 status=b
expect "input twice: both arguments named" 2 '' "input 'status' is given twice: as name=value arguments 1 and 3"
printf '{"status": "x"}' >"$TMP/in.json"
run -e 'return 1' --input-file "$TMP/in.json" status=b
expect "input twice: file and argument named" 2 '' "input 'status' is given twice: in --input-file $TMP/in.json and as the argument status="
run_stdin '{"status": "x"}' -e 'return 1' --input-file - status=b
expect "input twice: stdin named" 2 '' "in --input-file \\(stdin\\) and as the argument"

# a script of the user's own under a lua/ directory keeps its frames (only vsrun's are hidden)
mkdir -p "$TMP/proj/lua"
printf 'local function boom() error("from my lua dir") end\nboom()\n' >"$TMP/proj/lua/mine.lua"
(cd "$TMP/proj" && "$VSRUN" lua/mine.lua) >"$TMP/out" 2>"$TMP/err"; RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
expect "traceback: a user's lua/ script keeps its frames" 1 '' $'\tlua/mine.lua:1: in (local|upvalue) \'boom\''
