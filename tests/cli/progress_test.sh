#!/usr/bin/env bash
# Long listings show a one-line progress on stderr when it is a terminal (run here under a
# pseudo-terminal with script(1)), cleared at the end; none with --quiet, -v or when stderr
# is not a terminal. -v logs every rate-limit wait and retry backoff with its cause.
. "$(dirname "$0")/lib.sh"

CLEAR=$'\r\e[K'
# on_tty ARGS...: runs vsrun with a terminal for stdin, stdout and stderr; sets TTY (all output)
on_tty() {
    local cmd
    cmd=$(printf '%q ' "$VSRUN" "$@")
    script -qec "$cmd" /dev/null >"$TMP/tty" 2>&1 </dev/null
    TTY=$(cat "$TMP/tty")
}
has() { grep -qF -- "$2" <<<"$1"; }
check() {   # check NAME CONDITION-RESULT(0/1) WHY
    if [ "$2" = 0 ]; then echo "ok $1"; else echo "FAIL $1: $3"; printf '    output: %q\n' "${TTY:0:300}"; fi
}

cat >"$TMP/list.lua" <<'LUA'
local pd = require "pagerduty"
local input = ...
local n = 0
for inc in pd.list_incidents { date_range = "all" } do
  n = n + 1
  if input.stop and n == tonumber(input.stop) then break end
end
return n
LUA

on_tty --sandbox --incidents 600 "$TMP/list.lua"
grep -Eq "pagerduty list_incidents: [0-9]+ records, [0-9]+ pages" <<<"$TTY"; check "tty: a progress line" $? "no progress line"
tail_text=${TTY##*records}
has "$tail_text" "$CLEAR"; check "tty: the line is cleared at the end" $? "not cleared after the last draw"
has "$TTY" "600"; check "tty: the result is printed" $? "no result"

on_tty --sandbox --incidents 600 --quiet "$TMP/list.lua"
! has "$TTY" "records,"; check "tty --quiet: no progress line" $? "a progress line with --quiet"
has "$TTY" "600"; check "tty --quiet: the result is printed" $? "no result"

on_tty --sandbox --incidents 600 -v "$TMP/list.lua"
! has "$TTY" "records,"; check "tty -v: the request log replaces the line" $? "a progress line with -v"

on_tty --sandbox --incidents 50 "$TMP/list.lua"
! has "$TTY" "records,"; check "tty: one page is not a long listing" $? "a progress line for one page"

on_tty --sandbox --incidents 600 "$TMP/list.lua" stop=250
tail_text=${TTY##*records}
has "$TTY" "records," && has "$tail_text" "$CLEAR"; check "tty: a listing left by break is cleared" $? "line not cleared"

run --sandbox --incidents 600 "$TMP/list.lua"
expect "not a terminal: no progress line" 0 '^600$'
[ -z "$ERR" ] && echo "ok not a terminal: stderr is empty" || _fail "not a terminal: stderr is empty" "stderr not empty"

# -v: each wait with its cause; the sandbox's rate window shortened to 1 s
cat >"$TMP/waits.lua" <<'LUA'
local pd = require "pagerduty"
local sandbox = require "vsrun.sandbox"
sandbox.configure { rate_window = 1 }
local id = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1].id
for _ = 1, 6 do pd.get_incident(id) end
sandbox.fault { kind = "rate_limit", match = { path = "^/incidents/" }, count = 1 }
pd.get_incident(id)
sandbox.fault { kind = "status", status = 503, match = { path = "^/incidents/" }, count = 1 }
pd.get_incident(id)
return "done"
LUA
run --sandbox --rate-limit 4 -v "$TMP/waits.lua"
expect "-v: pacing waits say why" 0 '"done"' 'vsrun pagerduty: waiting [0-9.]+ s: pacing: few requests are left in the rate-limit window'
expect "-v: a spent window says so" 0 '' 'waiting [0-9.]+ s: the rate-limit window is used up \(ratelimit-remaining 0\)'
expect "-v: a 429 says so" 0 '' 'waiting [0-9.]+ s: PagerDuty answered 429 \(rate limit exceeded\), ratelimit-reset [0-9]+ s'
expect "-v: a retry backoff says why" 0 '' 'waiting [0-9.]+ s: retrying get_incident after HTTP 503'
run --sandbox --rate-limit 4 "$TMP/waits.lua"
expect "control: without -v the waits are silent" 0 '"done"'
[ -z "$ERR" ] && echo "ok control: stderr empty without -v" || _fail "control: stderr empty without -v" "stderr not empty"

# http retries = n: -v logs each retry wait and its cause
run -v -e '
local server = require("vsrun.server").start { file = "tests/lua/fixtures/flaky_server.lua" }
local http = require "http"
http.retry_settings.base = 0.01
local r = http.get(server:url() .. "/flaky/a?fail=1&status=503", { retries = 2 })
local r2 = http.get(server:url() .. "/flaky/b?fail=1&status=429&after=0", { retries = 2 })
return { r.status, r2.status }'
expect "-v: an http retry says why" 0 '200' 'vsrun http: GET http://[^ ]+/flaky/a\?fail=1&status=503: retry 1 of 2 in [0-9.]+ s \(HTTP 503, backoff\)'
expect "-v: an http retry after Retry-After says so" 0 '200' 'retry 1 of 2 in 0.00 s \(HTTP 429, Retry-After 0 s\)'
