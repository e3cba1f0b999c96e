#!/usr/bin/env bash
# Load run (issue 8): 4 processes x 16 tasks against one rate-limited `vsrun sandbox` for
# LOAD_SECONDS. Every call succeeds or fails with an error object of a known kind; no request
# is sent before the ratelimit-reset its credential was given (from the sandbox's request
# log); no incident is made twice (counted per incident_key afterwards).
#
# Each process has its own API key (one credential each), so the log tells which process a
# request came from. The allowance is 120 requests per minute, of which 40 creates (a lower
# create limit, as PagerDuty has: the shared limiter paces by the general allowance, so the
# creates run into 429s and the waits are exercised). The full run (LOAD_SECONDS=60) uses
# the real one-minute window; the default 20 s run shortens the sandbox's window to 6 s at
# the same rates (12 requests, 4 creates per window) so that many windows fill and reset.
. "$(dirname "$0")/lib.sh"

SECONDS_RUN=${LOAD_SECONDS:-20}
if [ "$SECONDS_RUN" -ge 60 ]; then WINDOW=60; else WINDOW=6; fi
LIMIT=$((120 * WINDOW / 60)) CREATE_LIMIT=$((40 * WINDOW / 60))
PROCS=4 TASKS=16

SB_PID=""
trap '[ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
unset PAGERDUTY_TOKEN PAGERDUTY_API_URL PAGERDUTY_FROM PAGERDUTY_REGION
export VSRUN_HOME=$TMP/home
say() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1${3:+: $3}"; fi; }

KEYS=()
for p in $(seq $PROCS) checker; do KEYS+=(--api-key "load-$p-$RANDOM$RANDOM"); done
"$VSRUN" sandbox --json --incidents 50 --rate-limit 120 "${KEYS[@]}" >"$TMP/sb.json" 2>"$TMP/sb.err" &
SB_PID=$!
for _ in $(seq 200); do [ -s "$TMP/sb.json" ] && break; sleep 0.05; done
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$TMP/sb.json")
SVC=$(grep -o '"services":\[{[^}]*"id":"[^"]*"' "$TMP/sb.json" | sed 's/.*"id":"\([^"]*\)"/\1/')
if [ -z "$URL" ] || [ -z "$SVC" ]; then echo "FAIL load: sandbox start: $(head -c 400 "$TMP/sb.err")"; exit 1; fi
curl -s -X POST -d "{\"rate_window\":$WINDOW,\"rate_limit\":$LIMIT,\"create_rate_limit\":$CREATE_LIMIT}" "$URL/__sandbox/config" >/dev/null
curl -s -X DELETE "$URL/__sandbox/requests" >/dev/null

key() { echo "${KEYS[$((2 * $1 - 1))]}"; }
PIDS=()
for p in $(seq $PROCS); do
    PAGERDUTY_TOKEN=$(key "$p") PAGERDUTY_FROM=ada@sandbox.example.com PAGERDUTY_API_URL=$URL \
        "$VSRUN" tests/cli/fixtures/load_worker.lua proc="$p" svc="$SVC" seconds="$SECONDS_RUN" \
        >"$TMP/w$p.json" 2>"$TMP/w$p.err" </dev/null &
    PIDS+=($!)
done
RESULTS=""
for p in $(seq $PROCS); do
    wait "${PIDS[$((p - 1))]}"
    rc=$?
    OUT=$(cat "$TMP/w$p.json"); ERR=$(cat "$TMP/w$p.err"); RC=$rc
    expect "load: process $p ran to the end" 0 '"outcomes"'
    say "load: process $p: every call ended ok or with an error object" '! grep -q "\"unclean\"" "$TMP/w$p.json"'
    say "load: process $p: calls went through" 'grep -Eq "\"ok\": ?[1-9]" "$TMP/w$p.json"'
    echo "# process $p: $(tr -d ' \n' <"$TMP/w$p.json" | grep -o '"outcomes":{[^}]*}'), retries $(grep -o '"retries": [0-9]*' "$TMP/w$p.json")"
    RESULTS="$RESULTS $TMP/w$p.json"
done

# the checker's own credential, unthrottled now
curl -s -X POST -d '{"rate_limit":1000000,"create_rate_limit":1000000}' "$URL/__sandbox/config" >/dev/null
curl -s "$URL/__sandbox/requests" >"$TMP/requests.json"
PAGERDUTY_TOKEN=$(key 5) PAGERDUTY_API_URL=$URL run tests/cli/fixtures/load_check.lua requests="$TMP/requests.json" \
    results="$RESULTS" inflight=$((TASKS - 1))
expect "load: checked the log and the incidents" 0 '"n429"'
echo "# check: $(tr -d ' \n' <<<"$OUT" | sed 's/"not_attempted":\[\]//')"
num() { tr -d ' \n' <<<"$OUT" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
empty() { tr -d ' \n' <<<"$OUT" | grep -Eq "\"$1\":(\[\]|\{\})"; }
say "load: the request log holds the whole run" '[ "$(num first_seq)" = 1 ]' "first seq $(num first_seq)"
say "load: the allowance ran out (429s were answered)" '[ "$(num n429)" -gt 0 ]'
say "load: no request before its ratelimit-reset beyond those in flight" 'empty violations' "$OUT"
say "load: no incident_key has two incidents" 'empty duplicates' "$OUT"
say "load: every created key has exactly one incident" 'empty created_but_not_one' "$OUT"
say "load: no incident from a key no task used" 'empty not_attempted' "$OUT"
say "load: incidents were created" '[ "$(num created)" -gt 0 ]'
