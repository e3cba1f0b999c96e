# Metrics from inside runs: a pipeline's PagerDuty responses by status and its rate-limit
# waits reach vsrun serve's GET /metrics (host/run_metrics.c → host/serve_run.c). The
# sandbox answers 429 three times (a fault); the counters must show exactly what the
# sandbox's own request log saw, and a run without faults must add no wait (control).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

"$VSRUN" sandbox --api-key metrics-api-key --json >"$TMP/sbx.out" 2>"$TMP/sbx.err" </dev/null &
SBX_PID=$!
trap 'kill "$SBX_PID" "$SV_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
wait_until 60 test -s "$TMP/sbx.out" || { echo "FAIL sandbox starts: $(cat "$TMP/sbx.err")"; exit 1; }
read -r SBX SERVICE EMAIL < <(python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["url"], i["services"][0]["id"], i["users"][0]["email"])' <"$TMP/sbx.out")
export PAGERDUTY_API_URL=$SBX PAGERDUTY_FROM=$EMAIL PAGERDUTY_TOKEN=metrics-api-key
control() { curl -sS -X "$1" "$SBX/__sandbox/$2" ${3:+--data-binary "$3"}; }
IDS=$(control POST incidents '{"count":2}')
read -r INC1 INC2 < <(python3 -c 'import json,sys; print(*json.load(sys.stdin)["ids"])' <<<"$IDS")

cat >"$TMP/serve.lua" <<LUA
return { port = 0, routes = {
  pd = { script = "$PWD/scripts/examples/webhook_note.lua", pagerduty = env "PD_WEBHOOK_SECRET", strict = true },
} }
LUA
export PD_WEBHOOK_SECRET=metrics-signing-secret
start_serve m --config "$TMP/serve.lua" --store "$TMP/m.db" || { echo "FAIL serve starts: $(cat "$TMP/m.err")"; exit 1; }
metric() {   # metric NAME{LABELS}: its value, or "absent"
    curl -sS "$URL/metrics" | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "absent" }'
}
event() { echo "{\"event\":{\"id\":\"$1\",\"event_type\":\"incident.triggered\",\"data\":{\"id\":\"$2\",\"title\":\"t\"}}}"; }
done_runs() { [ "$(runs_with "$TMP/m.db" done)" = "$1" ]; }

# control: a run with no faults counts its responses and no wait
post_pd pd "$PD_WEBHOOK_SECRET" "$(event 01METRICS1 "$INC1")"
expect_code "webhook 1 accepted" 202
check "run 1 done" wait_until 60 done_runs 1
check "control: a run's 200s are counted" test "$(metric 'vsrun_serve_pagerduty_requests_total{route="pd",status="200"}')" != absent
check "control: no 429 yet" test "$(metric 'vsrun_serve_pagerduty_requests_total{route="pd",status="429"}')" = absent
check "control: no rate-limit wait yet" test "$(metric 'vsrun_serve_rate_limit_wait_seconds_total{route="pd"}')" = 0.000
OK_BEFORE=$(metric 'vsrun_serve_pagerduty_requests_total{route="pd",status="200"}')

# three 429s on the run's first request (ratelimit-reset: 1 s each)
control DELETE requests >/dev/null
control POST faults '{"kind":"rate_limit","count":3,"match":{"method":"GET","path":"/notes$"}}' >/dev/null
post_pd pd "$PD_WEBHOOK_SECRET" "$(event 01METRICS2 "$INC2")"
expect_code "webhook 2 accepted" 202
check "run 2 done despite the 429s" wait_until 60 done_runs 2
SEEN=$(control GET requests | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(sum(1 for e in r if e["status"]==429), sum(1 for e in r if e["status"]==200))')
check "the sandbox answered 429 three times" test "${SEEN%% *}" = 3
check "the metrics count the three 429s" test "$(metric 'vsrun_serve_pagerduty_requests_total{route="pd",status="429"}')" = 3
OK_AFTER=$(metric 'vsrun_serve_pagerduty_requests_total{route="pd",status="200"}')
check "the metrics count the 200s the sandbox logged for run 2" test "$((OK_AFTER - OK_BEFORE))" = "${SEEN##* }"
WAIT=$(metric 'vsrun_serve_rate_limit_wait_seconds_total{route="pd"}')
# the waits the limiter imposed (not measured time): each at most the 1 s ratelimit-reset
check "the rate-limit waits are counted" python3 -c "import sys; sys.exit(0 if 0 < $WAIT <= 3 else 1)"
curl -sS "$URL/metrics" >"$TMP/metrics.txt"
check "TYPE lines for the new counters" grep -q '^# TYPE vsrun_serve_pagerduty_requests_total counter' "$TMP/metrics.txt"
stop_serve m TERM
check "serve: exit 0" test "$RC" = 0
check "no API key in the serve log or metrics" bash -c "! grep -qa metrics-api-key '$TMP/m.err' '$TMP/m.out' '$TMP/metrics.txt'"
check "no sanitizer report" no_sanitizer_report "$TMP/m.err"
