#!/usr/bin/env bash
# Sandbox throughput: requests per second `vsrun sandbox --incidents 1000` serves to 16
# concurrent keep-alive clients (curl --parallel --parallel-max 16), for one incident
# (GET /incidents/{id}) and for a 100-incident page (GET /incidents?limit=100).
# Env: BENCH_N (requests for the single-incident scenario, default 4000; the page scenario
# uses a quarter), VSRUN_BIN.
set -u
cd "$(dirname "$0")/../.."
VSRUN=${VSRUN_BIN:-$PWD/vsrun}
N=${BENCH_N:-4000}
PAR=16
TMP=$(mktemp -d)
KEY="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
PID=
cleanup() { [ -n "$PID" ] && kill -INT "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

start() {
    "$VSRUN" sandbox "$@" >"$TMP/url" 2>"$TMP/err" &
    PID=$!
    for _ in $(seq 1 1500); do
        URL=$(head -n 1 "$TMP/url" 2>/dev/null)
        [ -n "$URL" ] && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}

FAR="vsrun sandbox --incidents 1000 --api-key ..."
if ! start --incidents 1000 --api-key "$KEY"; then
    if grep -q 'not built into' "$TMP/err"; then
        FAR="tests/bench/fixtures/fixed_incidents.lua (stand-in: the simulator is not built into this vsrun)"
        PID=
        start --handler tests/bench/fixtures/fixed_incidents.lua --incidents 1000 || { cat "$TMP/err"; exit 1; }
    else
        echo "bench sandbox: vsrun sandbox did not start:"; cat "$TMP/err"; exit 1
    fi
fi

AUTH="Authorization: Token token=$KEY"
ACCEPT="Accept: application/vnd.pagerduty+json;version=2"
# incident ids from the first page
ids=$(curl -sS -H "$AUTH" -H "$ACCEPT" "$URL/incidents?limit=100&date_range=all" \
      | "$VSRUN" -e 'local r = require("json").decode(io.read("a")); local t = {}
                     for _, i in ipairs(r.incidents) do t[#t + 1] = i.id end
                     print(table.concat(t, " "))' )
[ -n "$ids" ] || { echo "bench sandbox: no incidents listed"; exit 1; }
read -r -a ID <<<"$ids"

# scenario NAME COUNT: runs the COUNT URLs in $TMP/cfg through one curl with 16 parallel
# keep-alive connections; prints a row; every response must be 200.
scenario() {
    local name=$1 count=$2 t0 t1 ok
    t0=$(date +%s.%N)
    curl -s --parallel --parallel-immediate --parallel-max "$PAR" -H "$AUTH" -H "$ACCEPT" \
         -w '%{http_code}\n' -K "$TMP/cfg" >"$TMP/codes" 2>"$TMP/curl.err"
    t1=$(date +%s.%N)
    ok=$(grep -c '^200$' "$TMP/codes")
    if [ "$ok" -ne "$count" ]; then
        echo "bench sandbox: $name: only $ok of $count answered 200: $(sort "$TMP/codes" | uniq -c | tr '\n' ' ')"
        return 1
    fi
    awk -v n="$name" -v c="$count" -v a="$t0" -v b="$t1" \
        'BEGIN { s = b - a; printf "%-34s %9d %9.2f %9.0f\n", n, c, s, c / s }'
}

echo "sandbox bench: far end $FAR; curl --parallel-max $PAR, keep-alive"
printf '%-34s %9s %9s %9s\n' scenario requests seconds req/s
rc=0
for ((i = 0; i < N; i++)); do
    printf 'url = "%s/incidents/%s"\noutput = "/dev/null"\n' "$URL" "${ID[i % ${#ID[@]}]}"
done >"$TMP/cfg"
scenario "GET /incidents/{id}" "$N" || rc=1
for ((i = 0; i < N / 4; i++)); do
    printf 'url = "%s/incidents?limit=100&date_range=all"\noutput = "/dev/null"\n' "$URL"
done >"$TMP/cfg"
scenario "GET /incidents?limit=100" "$((N / 4))" || rc=1
exit $rc
