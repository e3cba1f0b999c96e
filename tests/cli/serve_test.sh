# End-to-end tests of `vsrun serve` and `vsrun runs`: a real server on loopback, real
# webhooks from curl, pipelines run as child processes, the SQLite store read back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

export SERVE_OUT=$TMP/ran.txt
: >"$SERVE_OUT"
# the pipeline: records "delivery_id attempt" per attempt; the payload can make it sleep
# or fail (always, or until an attempt)
cat >"$TMP/record.lua" <<'LUA'
local ev = ...
local p = ev.payload or {}
local f = assert(io.open(os.getenv("SERVE_OUT"), "a"))
f:write(ev.delivery_id, " ", ev.attempt, "\n")
f:close()
if p.sleep then require("vsrun").sleep(p.sleep) end
if p.fail or (p.fail_until and ev.attempt < p.fail_until) then error("asked to fail") end
if p.bad_exit then os.exit(2) end
if p.env then return { pgpassword = os.getenv("PGPASSWORD"), home = os.getenv("HOME") } end
return { route = ev.route, run = ev.run_id, type = p.event and p.event.event_type,
         agent = ev.headers["user-agent"], secret_header = ev.headers["x-pagerduty-signature"] }
LUA
export PD_SECRET=pd-signing-secret-1 HOOK_TOKEN=am-token-7
cat >"$TMP/serve.lua" <<'LUA'
return {
  port = 0,
  max_body = 4096,
  routes = {
    pd = { script = "record.lua", pagerduty = { "pd-old-secret", env "PD_SECRET" },
           max_attempts = 3, retry_base = 0.05, retry_max = 0.2, concurrency = 4 },
    am = { script = "record.lua", bearer = env "HOOK_TOKEN", delivery_header = "X-Request-Id",
           max_attempts = 2, retry_base = 0.05 },
    gh = { script = "record.lua", hmac = { header = "X-Hub-Signature-256", secret = "gh-secret", prefix = "sha256=" },
           json = false },
  },
}
LUA
STORE=$TMP/serve.db

# ---- the command line and the config ----
run serve --help
expect "serve --help" 0 'usage: vsrun serve --config FILE'
run serve
expect "serve without --config" 2 '' '--config FILE is required'
run serve --config "$TMP/none.lua"
expect "serve: missing config file" 2 '' 'none.lua'
printf 'return { routes = { x = { script = "record.lua", bearer = "t", retries = 3 } } }' >"$TMP/c1.lua"
run serve --config "$TMP/c1.lua"
expect "serve: an unknown route key is an error" 2 '' "routes.x: unknown key 'retries'"
printf 'return { routes = { x = { script = "record.lua" } } }' >"$TMP/c2.lua"
run serve --config "$TMP/c2.lua"
expect "serve: a route needs a verifier" 2 '' 'exactly one verifier'
printf 'return { routes = { x = { script = "nope.lua", bearer = "t" } } }' >"$TMP/c3.lua"
run serve --config "$TMP/c3.lua"
expect "serve: a missing script is an error" 2 '' 'nope.lua: No such file'
printf 'return { routes = { x = { script = "record.lua", bearer = "t", headers = { "Authorization" } } } }' >"$TMP/c4.lua"
run serve --config "$TMP/c4.lua"
expect "serve: credential headers cannot be shown to scripts" 2 '' 'never shown to the script'
printf 'return { routes = { x = { script = "record.lua", bearer = env "NOT_SET_ANYWHERE" } } }' >"$TMP/c5.lua"
run serve --config "$TMP/c5.lua"
expect "serve: env() of an unset variable" 2 '' 'NOT_SET_ANYWHERE is not set'
printf 'local f = io.open("/etc/passwd") return {}' >"$TMP/c6.lua"
run serve --config "$TMP/c6.lua"
expect "serve: the config state has no io" 2 '' "global 'io'"
printf 'while true do end' >"$TMP/c7.lua"
run serve --config "$TMP/c7.lua"
expect "serve: a config that loops is stopped" 2 '' 'ran too long'
run serve --config "$TMP/serve.lua" --store postgresql://someone:hunter2@127.0.0.1:1/x
expect "serve: an unreachable PostgreSQL store is exit 1" 1 '' 'cannot open the store: PostgreSQL: connection to server at "127.0.0.1", port 1 failed'
check "serve: the store password is not printed" bash -c "! grep -q hunter2 '$TMP/err'"
run runs list --store "$TMP/empty.db" --status bogus
expect "runs: bad --status" 2 '' '--status needs'
run runs show abc --store "$TMP/empty.db"
expect "runs: bad ID" 2 '' 'positive whole number'

# ---- serving ----
if ! PGPASSWORD=pg-store-password start_serve s1 --config "$TMP/serve.lua" --store "$STORE"; then
    echo "FAIL serve starts: $(cat "$TMP/s1.err")"; exit 1
fi
check "serve prints its URL" grep -Eq '^http://127\.0\.0\.1:[0-9]+$' <<<"$URL"
"$VSRUN" serve --config "$TMP/serve.lua" --store "$STORE" >/dev/null 2>"$TMP/second.err"; rc2=$?
check "second server: exit 1 and the reason" grep -q 'another vsrun serve is using this store' "$TMP/second.err"
check "second server exit code" test "$rc2" = 1

CODE=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
check "GET /healthz is 200" test "$CODE" = 200

ev1='{"event":{"id":"01EV1","event_type":"incident.triggered","data":{"id":"PINC1"}}}'
post_pd pd "$PD_SECRET" "$ev1"
expect_code "pagerduty: a good signature is accepted" 202
check "pagerduty: the reply names the run" grep -q '"run":1,"status":"queued"' <<<"$REPLY"
check "pagerduty: the run completes" wait_until 20 grep -q '^01EV1 1$' "$SERVE_OUT"
wait_until 10 bash -c "'$VSRUN' runs show 1 --store '$STORE' | grep -q '\"status\":\"done\"'"
"$VSRUN" runs show 1 --store "$STORE" >"$TMP/show1" 2>&1
check "runs show: the result is recorded" grep -q '"result":{"agent":"curl/[^"]*","route":"pd","run":1,"type":"incident.triggered"}' "$TMP/show1"
check "runs show: the signature header is not shown to the script" bash -c "! grep -q 'secret_header' '$TMP/show1'"
check "runs show: the payload is the body as JSON" grep -q '"payload":{"event":{"id":"01EV1"' "$TMP/show1"

post_pd pd "$PD_SECRET" '{"event":{"id":"ENV"},"env":true}'
ENVRUN=$(sed -n 's/.*"run":\([0-9]*\).*/\1/p' <<<"$REPLY")
wait_until 20 bash -c "'$VSRUN' runs show '$ENVRUN' --store '$STORE' | grep -q '\"status\":\"done\"'"
"$VSRUN" runs show "$ENVRUN" --store "$STORE" >"$TMP/envrun"
check "control: runs inherit the server's environment" grep -q '"result":{"home":"' "$TMP/envrun"
check "runs do not inherit the store password (PGPASSWORD)" bash -c "! grep -q pg-store-password '$TMP/envrun'"

# rotation: PagerDuty sends one signature per secret; ours may also hold old and new
ev2='{"event":{"id":"01EV2","event_type":"incident.acknowledged"}}'
post /hooks/pd "$ev2" -H "X-PagerDuty-Signature: v1=$(pd_sig wrong-secret "$ev2"),v1=$(pd_sig "$PD_SECRET" "$ev2")"
expect_code "pagerduty: any of several signatures may match (rotation)" 202
ev3='{"event":{"id":"01EV3","event_type":"incident.resolved"}}'
post_pd pd pd-old-secret "$ev3"
expect_code "pagerduty: the older of two configured secrets still verifies" 202
post /hooks/pd "$ev2" -H "X-PagerDuty-Signature: v2=abc, v1=$(pd_sig "$PD_SECRET" "$ev2")"
expect_code "pagerduty: unknown signature versions are skipped" 200

ev4='{"event":{"id":"01EV4","event_type":"incident.triggered"}}'
post_pd pd other-secret "$ev4"
expect_code "pagerduty: a bad signature is 403" 403
post /hooks/pd "$ev4" -H "X-PagerDuty-Signature: v1=$(pd_sig "$PD_SECRET" "$ev4 ")"
expect_code "pagerduty: the signature covers the exact raw body" 403
post /hooks/pd "$ev4"
expect_code "pagerduty: a missing signature is 400" 400
post /hooks/pd "$ev4" -H "X-PagerDuty-Signature: sha256=abcdef"
expect_code "pagerduty: a malformed signature header is 400" 400
bad='{"event":{"id":"01EV5",'
post_pd pd "$PD_SECRET" "$bad"
expect_code "pagerduty: malformed JSON is 400" 400
post_pd pd "$PD_SECRET" '{"event":{"event_type":"incident.triggered"}}'
expect_code "pagerduty: an event without an id is 400" 400
post_pd pd "$PD_SECRET" '[1,2]'
expect_code "pagerduty: a JSON array is 400" 400

# redelivery: the same event id runs once
ev6='{"event":{"id":"01EV6","event_type":"incident.annotated"}}'
for _ in 1 2 3; do post_pd pd "$PD_SECRET" "$ev6"; done
expect_code "redelivery is answered 200 (already stored)" 200
check "redelivery: the reply says duplicate" grep -q '"status":"duplicate"' <<<"$REPLY"
wait_until 20 grep -q '^01EV6 ' "$SERVE_OUT"
post_pd pd "$PD_SECRET" "$ev6"
wait_until 20 bash -c "[ \$('$VSRUN' runs list --store '$STORE' --status queued --json | grep -c '') = 0 ]"
check "redelivery: the event ran once" test "$(grep -c '^01EV6 ' "$SERVE_OUT")" = 1

# bearer (Alertmanager) with a delivery id header
post /hooks/am '{"alerts":[]}' -H "Authorization: Bearer $HOOK_TOKEN" -H 'X-Request-Id: am-1'
expect_code "bearer: the right token is accepted" 202
post /hooks/am '{"alerts":[]}' -H "Authorization: Bearer not-it" -H 'X-Request-Id: am-2'
expect_code "bearer: a wrong token is 403" 403
post /hooks/am '{"alerts":[]}' -H 'X-Request-Id: am-3'
expect_code "bearer: no Authorization is 401" 401
post /hooks/am '{"alerts":[]}' -H "Authorization: Basic $HOOK_TOKEN" -H 'X-Request-Id: am-4'
expect_code "bearer: another scheme is 400" 400
post /hooks/am '{"alerts":[]}' -H "Authorization: Bearer $HOOK_TOKEN"
expect_code "bearer: a missing delivery id header is 400" 400
check "bearer: the delivery id header is named" grep -q 'delivery id header is missing' <<<"$REPLY"

# generic HMAC, a body that is not JSON
post /hooks/gh 'plain text body' -H "X-Hub-Signature-256: sha256=$(pd_sig gh-secret 'plain text body')"
expect_code "hmac: a good signature is accepted" 202
post /hooks/gh 'plain text body' -H "X-Hub-Signature-256: sha256=$(pd_sig gh-secret 'plain text body!')"
expect_code "hmac: a bad signature is 403" 403
post /hooks/gh 'plain text body' -H "X-Hub-Signature-256: $(pd_sig gh-secret 'plain text body')"
expect_code "hmac: a missing prefix is 400" 400

# routes, methods, sizes
post /hooks/nope '{}'
expect_code "an unknown route is 404" 404
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$URL/hooks/pd")
check "GET on a hook is 405" test "$CODE" = 405
big=$(head -c 5000 /dev/zero | tr '\0' 'a')
post_pd pd "$PD_SECRET" "{\"event\":{\"id\":\"BIG\"},\"pad\":\"$big\"}"
expect_code "a body over max_body is 413" 413
CODE=$(head -c 6000 /dev/zero | tr '\0' 'a' | curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' \
    -H "X-PagerDuty-Signature: v1=$(pd_sig "$PD_SECRET" x)" --data-binary @- "$URL/hooks/pd")
check "a chunked body over max_body is 413" test "$CODE" = 413

# retries: fails twice, then succeeds on attempt 3
post_pd pd "$PD_SECRET" '{"event":{"id":"FLAKY"},"fail_until":3}'
expect_code "flaky event accepted" 202
check "retries: the run succeeds on its third attempt" wait_until 20 grep -q '^FLAKY 3$' "$SERVE_OUT"
# dead after max_attempts, then vsrun runs retry
post_pd pd "$PD_SECRET" '{"event":{"id":"DOOMED"},"fail":true}'
DOOMED=$(sed -n 's/.*"run":\([0-9]*\).*/\1/p' <<<"$REPLY")
check "dead: kept as dead after max_attempts" \
    wait_until 20 bash -c "'$VSRUN' runs show '$DOOMED' --store '$STORE' | grep -q '\"status\":\"dead\",\"attempts\":3'"
check "dead: it ran exactly max_attempts times" test "$(grep -c '^DOOMED ' "$SERVE_OUT")" = 3
"$VSRUN" runs show "$DOOMED" --store "$STORE" >"$TMP/dead" 2>&1
check "dead: the error output is kept" grep -q 'asked to fail' "$TMP/dead"
post_pd pd "$PD_SECRET" '{"event":{"id":"BADEXIT"},"bad_exit":true}'
check "exit 2 (bad input) is dead at once" \
    wait_until 20 bash -c "'$VSRUN' runs list --store '$STORE' --status dead | grep -q 'BADEXIT'"
check "exit 2: one attempt only" test "$(grep -c '^BADEXIT ' "$SERVE_OUT")" = 1
run runs retry "$DOOMED" --store "$STORE"
expect "runs retry queues a dead run" 0 "run $DOOMED queued again"
check "runs retry: the server runs it again" wait_until 20 bash -c "[ \$(grep -c '^DOOMED ' '$SERVE_OUT') -ge 4 ]"
run runs retry 99999 --store "$STORE"
expect "runs retry: an unknown run" 1 '' 'does not exist'

run runs list --store "$STORE"
expect "runs list" 0 'ID +STATUS +ATTEMPTS +ROUTE'
check "runs list shows the Alertmanager delivery id" grep -q 'am-1' <<<"$OUT"

curl -s -o /dev/null "$URL/not-a-hook"
curl -s "$URL/metrics" >"$TMP/metrics"
check "metrics: one unknown route (/hooks/nope), other paths not counted" grep -q '^vsrun_serve_unknown_route_total 1$' "$TMP/metrics"
check "metrics: requests by route and code" grep -q '^vsrun_serve_requests_total{route="pd",code="403"} [1-9]' "$TMP/metrics"
check "metrics: runs by outcome" grep -q '^vsrun_serve_runs_total{route="pd",outcome="dead"} [1-9]' "$TMP/metrics"
check "metrics: retries counted" grep -q '^vsrun_serve_runs_total{route="pd",outcome="retry"} [1-9]' "$TMP/metrics"
check "metrics: duration histogram" grep -q '^vsrun_serve_run_duration_seconds_count{route="pd"} [1-9]' "$TMP/metrics"
check "metrics: queue depth" grep -q '^vsrun_serve_queue_depth [0-9]' "$TMP/metrics"
check "metrics: oldest queued age" grep -q '^vsrun_serve_queue_oldest_age_seconds [0-9]' "$TMP/metrics"

# SIGTERM drains: a run in flight finishes before the server exits
post_pd pd "$PD_SECRET" '{"event":{"id":"SLOW"},"sleep":1}'
wait_until 20 grep -q '^SLOW 1$' "$SERVE_OUT"
stop_serve s1 TERM
check "SIGTERM: exit 0" test "$RC" = 0
check "SIGTERM: the run in flight finished (drained)" grep -q '"delivery_id":"SLOW","attempt":1,"outcome":"done"' "$TMP/s1.err"
check "log: one JSON line per attempt" bash -c "grep '^{' '$TMP/s1.err' | python3 -c 'import sys, json; [json.loads(l) for l in sys.stdin]'"
check "no secret in the log, store or replies" bash -c "! grep -rqa -e '$PD_SECRET' -e '$HOOK_TOKEN' -e gh-secret '$TMP/s1.err' '$TMP/s1.out' '$STORE'* '$TMP/reply' '$TMP/show1'"
check "no sanitizer report" no_sanitizer_report "$TMP/s1.err"
