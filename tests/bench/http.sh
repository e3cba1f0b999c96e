#!/usr/bin/env bash
# HTTP client bench: 1,000 GETs of a fixed ~2 KB JSON body from a vsrun far end (the server
# binding, tests/bench/http_far_end.lua), fetched by a vsrun script and, as the baseline in
# the same run, by one curl invocation over the same URLs:
#   sequential:  vsrun for-loop of http.get         vs  curl -K urls (one reused connection)
#   parallel:    vs.map(..., { concurrency = 16 })  vs  curl --parallel --parallel-max 16
#                (the client raises max_per_host to 16 so both sides may open 16 connections)
# Each side runs RUNS times (interleaved); the median wall time is reported, with the ratio
# vsrun/baseline (target <= 1.3) and each side's peak RSS (GNU time %M).
set -u
cd "$(dirname "$0")/../.." || exit 1
VSRUN=${VSRUN_BIN:-$PWD/vsrun}
RUNS=${RUNS:-5}
N=${N:-1000}
TMP=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

for tool in curl /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench http: $tool is missing (see vendor/packages.txt)"; exit 1; }
done
[ -x "$VSRUN" ] || { echo "bench http: build vsrun first (make)"; exit 1; }

"$VSRUN" tests/bench/http_serve.lua >"$TMP/url" 2>"$TMP/server.err" &
server_pid=$!
for _ in $(seq 100); do [ -s "$TMP/url" ] && break; sleep 0.05; done
base=$(head -1 "$TMP/url")
case $base in http://*) ;; *) echo "bench http: the far end did not start: $(cat "$TMP/server.err")"; exit 1 ;; esac

for i in $(seq "$N"); do echo "$base/incidents/P$i"; done >"$TMP/urls"
while read -r u; do printf 'url = "%s"\noutput = "/dev/null"\n' "$u"; done <"$TMP/urls" >"$TMP/curl.cfg"

# measure NAME CMD...: one run; appends "ms rss_kb" to $TMP/NAME
measure() {
    local name=$1; shift
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f %M -o "$TMP/rss" "$@" >/dev/null 2>"$TMP/last.err" || {
        echo "bench http: $name failed:"; cat "$TMP/last.err"; exit 1; }
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000000 )) $(tail -1 "$TMP/rss")" >>"$TMP/$name"
}

median_ms() { sort -n "$TMP/$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
max_rss() { sort -n -k2 "$TMP/$1" | tail -1 | awk '{ print $2 }'; }

# warm-up (page cache, the far end's first connections)
measure warm "$VSRUN" tests/bench/http_client.lua urls="$TMP/urls"
measure warm curl -s -K "$TMP/curl.cfg"

for _ in $(seq "$RUNS"); do
    measure seq_vsrun "$VSRUN" tests/bench/http_client.lua urls="$TMP/urls"
    measure seq_curl curl -s -K "$TMP/curl.cfg"
    measure par_vsrun "$VSRUN" tests/bench/http_client.lua urls="$TMP/urls" concurrency=16
    measure par_curl curl -s --parallel --parallel-max 16 -K "$TMP/curl.cfg"
done

row() {
    local label=$1 ours=$2 theirs=$3
    local a b
    a=$(median_ms "$ours"); b=$(median_ms "$theirs")
    printf '%-46s %9s %11s %7s %11s %14s\n' "$label" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
        "$(max_rss "$ours")" "$(max_rss "$theirs")"
}

printf '%-46s %9s %11s %7s %11s %14s\n' "scenario (median of $RUNS)" "vsrun ms" "baseline ms" "ratio" "vsrun RSS KB" "baseline RSS KB"
row "http: $N sequential GETs vs curl -K" seq_vsrun seq_curl
row "http: $N GETs vs.map c=16 vs curl --parallel" par_vsrun par_curl
