# Attack: fill the SQLite store of vsrun serve (large webhooks until no space is left).
# The full store is simulated honestly with store_max_mb (SQLite's max_page_count: inserts
# then fail with SQLITE_FULL exactly as on a full disk). Every webhook answered 2xx must be
# in the store, and every one that was not stored must be answered 503. Control: before
# the store is full, webhooks are accepted and stored.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../cli/serve_lib.sh"

printf 'return {}\n' >"$TMP/noop.lua"
cat >"$TMP/serve.lua" <<'LUA'
return { port = 0, store_max_mb = 0.25, max_body = 65536,
         routes = { am = { script = "noop.lua", bearer = "t", delivery_header = "X-Id" } } }
LUA
STORE=$TMP/full.db
start_serve fs --config "$TMP/serve.lua" --store "$STORE" || { echo "FAIL serve starts: $(cat "$TMP/fs.err")"; exit 1; }
pad=$(head -c 8000 /dev/zero | tr '\0' 'p')
: >"$TMP/acked"; : >"$TMP/refused"
for i in $(seq 1 80); do
    post /hooks/am "{\"pad\":\"$pad\"}" -H 'Authorization: Bearer t' -H "X-Id: big-$i"
    case $CODE in
        202) echo "big-$i" >>"$TMP/acked" ;;
        503) echo "big-$i" >>"$TMP/refused"; grep -q 'nothing was stored' <<<"$REPLY" || echo "FAIL 503 reply: $REPLY" ;;
        *) echo "FAIL unexpected status $CODE for big-$i" ;;
    esac
done
check "control: webhooks were accepted before the store filled" test "$(grep -c '' "$TMP/acked")" -gt 5
check "a full store answers 503" test "$(grep -c '' "$TMP/refused")" -gt 0
grep -q 'Retry-After' <(curl -s -D - -o /dev/null -X POST -H 'Authorization: Bearer t' -H 'X-Id: big-x' \
    --data-binary "{\"pad\":\"$pad\"}" "$URL/hooks/am") && echo "ok 503 carries Retry-After" || echo "FAIL 503 carries Retry-After"
stop_serve fs TERM
"$VSRUN" runs list --store "$STORE" --limit 100000 >"$TMP/list"
lost=0; phantom=0
while read -r id; do grep -q " $id\$" "$TMP/list" || lost=$((lost + 1)); done <"$TMP/acked"
while read -r id; do grep -q " $id\$" "$TMP/list" && phantom=$((phantom + 1)); done <"$TMP/refused"
check "every acknowledged webhook is in the store" test "$lost" = 0
check "no refused webhook is in the store" test "$phantom" = 0
check "SIGTERM: exit 0" test "$RC" = 0
check "no sanitizer report" no_sanitizer_report "$TMP/fs.err"
