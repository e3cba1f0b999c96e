#!/usr/bin/env bash
# The server binding's own ceiling: requests per second host/server.c serves for a fixed
# ~2 KB body from a trivial Lua handler, to one keep-alive client (sequential) and to 16
# concurrent keep-alive clients (curl --parallel). The sandbox bench (sandbox.sh) measures
# the simulator on top of it; the gap between the two is the simulator's Lua work.
# Env: N (requests per scenario, default 4000), VSRUN_BIN.
set -u
cd "$(dirname "$0")/../.." || exit 1
VSRUN=${VSRUN_BIN:-$PWD/vsrun}
N=${N:-4000}
TMP=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -INT "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
command -v curl >/dev/null || { echo "bench server: curl is missing (see vendor/packages.txt)"; exit 1; }

cat >"$TMP/fixed.lua" <<'LUA'
return function()
  local body = '{"incident":{"id":"Q0000000000001","title":"' .. string.rep("x", 1950) .. '"}}'
  local headers = { ["Content-Type"] = "application/json" }
  return function() return { status = 200, headers = headers, body = body } end
end
LUA
"$VSRUN" sandbox --handler "$TMP/fixed.lua" >"$TMP/url" 2>"$TMP/err" &
PID=$!
for _ in $(seq 1 500); do [ -s "$TMP/url" ] && break; sleep 0.02; done
URL=$(head -n 1 "$TMP/url")
case $URL in http://*) ;; *) echo "bench server: it did not start: $(cat "$TMP/err")"; exit 1 ;; esac
for ((i = 0; i < N; i++)); do printf 'url = "%s/incidents/%d"\noutput = "/dev/null"\n' "$URL" "$i"; done >"$TMP/cfg"

# row NAME CURL-OPTIONS...: one curl over the N URLs; every response must be 200
row() {
    local name=$1; shift
    local t0 t1 ok
    t0=$(date +%s.%N)
    curl -s "$@" -w '%{http_code}\n' -K "$TMP/cfg" >"$TMP/codes" 2>/dev/null
    t1=$(date +%s.%N)
    ok=$(grep -c '^200$' "$TMP/codes")
    [ "$ok" -eq "$N" ] || { echo "bench server: $name: $ok of $N answered 200"; return 1; }
    awk -v n="$name" -v c="$N" -v a="$t0" -v b="$t1" \
        'BEGIN { s = b - a; printf "%-46s %9d %9.2f %9.0f\n", n, c, s, c / s }'
}
printf '%-46s %9s %9s %9s\n' "scenario (2 KB body, keep-alive)" requests seconds req/s
rc=0
row "server binding: 1 client, sequential" || rc=1
row "server binding: 16 clients (curl --parallel)" --parallel --parallel-immediate --parallel-max 16 || rc=1
exit $rc
