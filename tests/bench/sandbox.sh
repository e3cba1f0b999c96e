#!/usr/bin/env bash
# Sandbox bench: requests per second `vsrun sandbox` serves to 16 concurrent keep-alive
# clients (curl --parallel), for GET /incidents/{id} and for 100-incident pages of
# GET /incidents, over a store of 10,000 and of 100,000 incidents (a page should cost about
# the same over both). Median of RUNS runs. Baseline: the same server binding answering a
# constant ~2 KB body (tests/bench/http_far_end.lua), i.e. the ceiling the simulator's own
# work is measured against.
set -u
cd "$(dirname "$0")/../.." || exit 1
VSRUN=${VSRUN_BIN:-$PWD/vsrun}
RUNS=${RUNS:-3}
N=${N:-2000}
TMP=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
command -v curl >/dev/null || { echo "bench sandbox: curl is missing (see vendor/packages.txt)"; exit 1; }
[ -x "$VSRUN" ] || { echo "bench sandbox: build vsrun first (make)"; exit 1; }

start() {  # start INCIDENTS [extra args]: sets base
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    : >"$TMP/url"
    local n=$1; shift
    "$VSRUN" sandbox --incidents "$n" --api-key bench-key --rate-limit 100000000 "$@" >"$TMP/url" 2>"$TMP/server.err" &
    server_pid=$!
    for _ in $(seq 1200); do [ -s "$TMP/url" ] && break; sleep 0.05; done
    base=$(head -1 "$TMP/url")
    case $base in http://*) ;; *) echo "bench sandbox: it did not start: $(cat "$TMP/server.err")"; exit 1 ;; esac
}

# rps NAME: runs the curl config $TMP/NAME.cfg RUNS times, prints the median requests/s
rps() {
    local name=$1 best=() t0 t1 i
    for i in $(seq "$RUNS"); do
        t0=$(date +%s%N)
        curl -s --no-progress-meter --parallel --parallel-max 16 -H 'Authorization: Token token=bench-key' \
            -H 'Accept: application/vnd.pagerduty+json;version=2' -K "$TMP/$name.cfg" >/dev/null || {
            echo "bench sandbox: curl failed"; exit 1; }
        t1=$(date +%s%N)
        best+=("$(( N * 1000000000 / (t1 - t0 + 1) ))")
    done
    printf '%s\n' "${best[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

printf '%-58s %10s\n' "scenario (16 keep-alive clients, median of $RUNS)" "req/s"
start 0 --handler tests/bench/http_far_end.lua
for i in $(seq "$N"); do printf 'url = "%s/incidents/%d"\noutput = "/dev/null"\n' "$base" "$i"; done >"$TMP/base.cfg"
baseline=$(rps base)
printf '%-58s %10s\n' "baseline: same server, constant 2 KB reply" "$baseline"
for size in 10000 100000; do
    start "$size"
    # incident numbers spread over the store; ?date_range=all pages spread over the 10,000 cap
    for i in $(seq "$N"); do printf 'url = "%s/incidents/%d"\noutput = "/dev/null"\n' "$base" $(( (i * 7919) % size + 1 )); done >"$TMP/get.cfg"
    for i in $(seq "$N"); do printf 'url = "%s/incidents?date_range=all&limit=100&offset=%d"\noutput = "/dev/null"\n' "$base" $(( (i * 100) % 9900 )); done >"$TMP/page.cfg"
    for i in $(seq "$N"); do printf 'url = "%s/incidents?statuses%%5B%%5D=resolved&urgencies%%5B%%5D=high&limit=100"\noutput = "/dev/null"\n' "$base"; done >"$TMP/filter.cfg"
    got=$(rps get)
    printf '%-58s %10s  (%s of baseline)\n' "sandbox ($size incidents): GET /incidents/{id}" "$got" \
        "$(awk -v a="$got" -v b="$baseline" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    printf '%-58s %10s\n' "sandbox ($size incidents): GET /incidents, 100 per page" "$(rps page)"
    printf '%-58s %10s\n' "sandbox ($size incidents): 100-page, statuses+urgencies, 1 month" "$(rps filter)"
done
