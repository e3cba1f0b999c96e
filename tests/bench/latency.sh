#!/usr/bin/env bash
# PagerDuty at realistic latency (issue 13): `vsrun sandbox --latency MS[:JITTER]` delays every
# answer, as PagerDuty's 150-800 ms pages are. Each figure is printed with its baseline,
# measured in the same run, and the ratio:
#   1. list 10,000 incidents at 150 ms per page vs sequential `curl -K` over the same 100
#      page URLs (target <= 0.20)
#   2. the same at 300 ms +- 100 ms (target <= 0.20)
#   3. 1,000 get_incident through vs.map (concurrency 16) at 150 ms vs the ideal
#      1000 / 16 x 150 ms (target <= 1.3)
# One run each by default (the curl baselines take 15 and 30 s): BENCH_LATENCY_RUNS=N for more.
. "$(dirname "$0")/lib.bash"
RUNS=${BENCH_LATENCY_RUNS:-1}

cat >"$TMP/list.lua" <<'LUA'
local n = 0
for _ in require("pagerduty").list_incidents { date_range = "all" } do n = n + 1 end
return n
LUA

# list_row LATENCY LABEL: vsrun's concurrent listing vs curl fetching the 100 pages in turn
list_row() {
    local url a b n
    url=$(start_sandbox "list$1.url" --incidents 10000 --latency "$1")
    : >"$TMP/pages.cfg"
    for off in $(seq 0 100 9900); do
        printf 'url = "%s/incidents?sort_by=created_at%%3Aasc&date_range=all&limit=100&offset=%s"\noutput = "/dev/null"\n' \
            "$url" "$off" >>"$TMP/pages.cfg"
    done
    curl -s -H "$auth" -H "$accept" "$url/incidents?limit=1" >/dev/null   # warm up
    a=$(best_of "$RUNS" env PAGERDUTY_TOKEN="$KEY" PAGERDUTY_API_URL="$url" "$VSRUN" "$TMP/list.lua"); n=$(cat "$TMP/last")
    b=$(best_of "$RUNS" curl -s -H "$auth" -H "$accept" -K "$TMP/pages.cfg")
    echo "pagerduty list 10,000 incidents at $2 per page: vsrun ${a}s ($n records), sequential curl -K ${b}s, ratio $(ratio "$a" "$b") (target <= 0.20)"
}
list_row 150 "150 ms"
list_row 300:100 "300 +- 100 ms"

# ---- 1,000 get_incident at 150 ms, 16 at a time ----
URL=$(cat "$TMP/list150.url")
PAGERDUTY_TOKEN=$KEY PAGERDUTY_API_URL=$URL "$VSRUN" -e '
local ids = {}
for inc in require("pagerduty").list_incidents { date_range = "all", limit = 1000 } do ids[#ids + 1] = inc.id end
return table.concat(ids, "\n")' | tr -d '"' | sed 's/\\n/\n/g' >"$TMP/ids"
cat >"$TMP/get.lua" <<LUA
local pd = require "pagerduty"
local vs = require "vsrun"
require("http").configure { max_per_host = 16 }
local ids = {}
for line in io.lines("$TMP/ids") do ids[#ids + 1] = line end
return #vs.map(ids, pd.get_incident, { concurrency = 16 })
LUA
a=$(best_of "$RUNS" env PAGERDUTY_TOKEN="$KEY" PAGERDUTY_API_URL="$URL" "$VSRUN" "$TMP/get.lua"); n=$(cat "$TMP/last")
ideal=$(awk -v n="$n" 'BEGIN { printf "%.3f", n / 16 * 0.150 }')
echo "pagerduty 1,000 get_incident through vs.map (concurrency 16) at 150 ms: vsrun ${a}s ($n calls), ideal ${ideal}s, ratio $(ratio "$a" "$ideal") (target <= 1.3)"
