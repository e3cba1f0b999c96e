# End-to-end tests of the http client: the -v request log and its redaction, exit codes of
# transfer errors, and limits that end a script while it waits for a transfer.
. "$(dirname "$0")/lib.sh"
F=tests/cli/fixtures

run -v $F/http_verbose.lua
expect "verbose run succeeds" 0 '"done": true'
if grep -q SECRET <<<"$ERR"; then _fail "verbose log never shows a secret" "$(grep SECRET <<<"$ERR")"; else echo "ok verbose log never shows a secret"; fi
expect "verbose: one line with method, redacted URL, status, time, bytes" 0 '' \
    '^vsrun http: GET http://127\.0\.0\.1:[0-9]+/v\?api_key=REDACTED&client_secret=REDACTED&limit=5&token=REDACTED -> 200 \([0-9]+ ms, [0-9]+ bytes\)$'
expect "verbose: an HTTP error status is logged as such" 0 '' '^vsrun http: POST http://127\.0\.0\.1:[0-9]+/v2\?status=404 -> 404 '
expect "verbose: userinfo and code redacted, fragment dropped" 0 '' '^vsrun http: GET http://REDACTED@127\.0\.0\.1:[0-9]+/u\?code=REDACTED -> 200 '
expect "verbose: a retry shows its number" 0 '' '^vsrun http: PUT http://127\.0\.0\.1:[0-9]+/again -> 200 \([0-9]+ ms, [0-9]+ bytes, retry 2\)$'
expect "verbose: a failed transfer shows its kind" 0 '' 'reset=1&signature=REDACTED -> network '
expect "verbose: a webhook's secret path segment is redacted" 0 '' '^vsrun http: POST http://127\.0\.0\.1:[0-9]+/services/T0001ABCD/B0002EFGH/REDACTED -> 200 '
expect "verbose: a query value without a name is redacted" 0 '' '^vsrun http: GET http://127\.0\.0\.1:[0-9]+/hook\?REDACTED&limit=2 -> 200 '
expect "verbose: a timeout shows its kind" 0 '' '/slow\?delay=10 -> timeout '
n=$(grep -c '^vsrun http: ' <<<"$ERR")
[ "$n" -eq 8 ] && echo "ok verbose: one line per transfer" || _fail "verbose: one line per transfer" "$n lines"

run $F/http_verbose.lua
expect "without -v nothing is logged" 0 '"done": true'
[ -z "$ERR" ] && echo "ok quiet without -v" || _fail "quiet without -v" "stderr not empty"

run -e 'return require("http").get("http://127.0.0.1:1/x?token=SECRET-T")'
expect "a network error exits 6 with the redacted URL" 6 '' '^vsrun: network: GET http://127\.0\.0\.1:1/x\?token=REDACTED: '
grep -q SECRET <<<"$ERR" && _fail "network error hides the token" "leaked" || echo "ok network error hides the token"

run $F/http_inflight_error.lua
expect "an error with transfers in flight: script error, handles freed" 1 '' 'giving up with 6 transfers in flight'

run --timeout 0.5 $F/http_wait_forever.lua
expect "--timeout ends a script waiting for a transfer" 7 '' 'timeout: the script ran longer than --timeout 0.5 s'

"$VSRUN" $F/http_wait_forever.lua >"$TMP/out" 2>"$TMP/err" </dev/null &
pid=$!
# SIGINT only once the script runs (before that a background job ignores it; under valgrind
# start-up takes seconds), then a moment for it to reach the wait
for _ in $(seq 1 1000); do grep -q waiting "$TMP/err" 2>/dev/null && break; sleep 0.02; done
sleep 0.3
kill -INT "$pid"
wait "$pid"; RC=$?
OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
expect "Ctrl-C ends a script waiting for a transfer" 7 '' 'interrupted'
