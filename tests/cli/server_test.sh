# End-to-end tests of the server binding and of `vsrun sandbox` as a process: started from
# the command line, driven with curl, stopped with signals.
. "$(dirname "$0")/lib.sh"
ECHO=tests/lua/fixtures/echo_server.lua

# start_bg NAME ARGS...: runs vsrun ARGS in the background, waits for its first stdout line
# (the URL or JSON); sets BG_PID and LINE.
start_bg() {
    local name=$1; shift
    "$VSRUN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
    BG_PID=$!
    LINE=
    for _ in $(seq 1 250); do
        LINE=$(head -n 1 "$TMP/$name.out" 2>/dev/null)
        [ -n "$LINE" ] && return 0
        kill -0 "$BG_PID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}
# stop_bg NAME SIGNAL: signals the background vsrun, waits; sets RC, OUT, ERR
stop_bg() {
    kill -"$2" "$BG_PID" 2>/dev/null
    wait "$BG_PID"
    RC=$?
    OUT=$(cat "$TMP/$1.out"); ERR=$(cat "$TMP/$1.err")
}

# ---- vsrun sandbox: options, output, signals ----

run sandbox --help
expect "sandbox --help" 0 'usage: vsrun sandbox' ''
grep -q -- '--api-key KEY' <<<"$OUT" && grep -q -- '--json' <<<"$OUT" && echo "ok sandbox --help lists options" || _fail "sandbox --help lists options" "missing"
run sandbox --bogus
expect "sandbox: unknown option is a usage error" 2 '' "unknown option '--bogus'"
run sandbox --port 70000
expect "sandbox: bad port" 2 '' 'port number from 0 to 65535'
run sandbox --bind localhost
expect "sandbox: bind needs a numeric address" 2 '' 'numeric IPv4 or IPv6'
run sandbox --incidents -3
expect "sandbox: bad --incidents" 2 '' '--incidents needs a whole number'
run sandbox --rate-limit 0
expect "sandbox: bad --rate-limit" 2 '' 'positive whole number'
run sandbox --api-key 'has space secret'
expect "sandbox: a bad API key is refused without echoing it" 2 '' '--api-key needs'
grep -q 'secret' <<<"$ERR" && _fail "api key not echoed" "the key appeared on stderr" || echo "ok api key not echoed"
run sandbox --api-key
expect "sandbox: option without value" 2 '' "needs a value"
run sandbox --handler "$TMP/nope.lua"
expect "sandbox: missing handler file" 2 '' 'cannot open --handler'
run sandbox stray
expect "sandbox: stray argument" 2 '' "unexpected argument 'stray'"

if start_bg sb sandbox --handler "$ECHO" --incidents 12 --seed=7 --token-ttl 1.5 --rate-limit 600 \
        --api-key key-one --api-key 'key"two' --state "$TMP/state.json"; then
    URL=$LINE
    grep -Eq '^http://127\.0\.0\.1:[1-9][0-9]*$' <<<"$URL" && echo "ok sandbox prints its URL" || _fail "sandbox prints its URL" "got '$URL'"
    args=$(curl -sS "$URL/x" | "$VSRUN" -e 'local j = require "json"; local r = j.decode(io.read("a")); return r.args' 2>&1)
    grep -q '"incidents": 12' <<<"$args" && grep -q '"seed": 7' <<<"$args" && grep -q '"token_ttl": 1.5' <<<"$args" \
        && grep -q '"rate_limit": 600' <<<"$args" && grep -q '"key\\"two"' <<<"$args" && grep -q '"key-one"' <<<"$args" \
        && grep -q "\"state_file\": \"$TMP/state.json\"" <<<"$args" \
        && echo "ok sandbox options reach the module as args" || _fail "sandbox args" "$args"
    grep -q preset_tokens <<<"$args" && _fail "no preset token for vsrun sandbox" "$args" || echo "ok no preset token for vsrun sandbox"
    stop_bg sb INT
    expect "sandbox stops cleanly on SIGINT" 0
    code=0; curl -sS -o /dev/null "$URL/x" 2>/dev/null || code=$?
    [ "$code" = 7 ] && echo "ok port closed after stop" || _fail "port closed after stop" "curl exit $code"
else
    _fail "vsrun sandbox starts" "no URL: $(cat "$TMP/sb.err")"
fi

if start_bg sbj sandbox --handler "$ECHO" --json; then
    grep -Eq '^\{.*"url":"http://127\.0\.0\.1:[0-9]+".*\}$' <<<"$LINE" && grep -q '"name":"echo"' <<<"$LINE" \
        && echo "ok sandbox --json: one JSON line with url and the module's info" || _fail "sandbox --json" "$LINE"
    stop_bg sbj TERM
    expect "sandbox stops cleanly on SIGTERM" 0
else
    _fail "vsrun sandbox --json starts" "$(cat "$TMP/sbj.err")"
fi

# a fixed port; the same port twice is refused with a network error
if start_bg p1 sandbox --handler "$ECHO" --port 0; then
    port=${LINE##*:}
    run sandbox --handler "$ECHO" --port "$port"
    expect "sandbox: port in use" 6 '' "cannot listen on 127.0.0.1 port $port"
    stop_bg p1 INT
else
    _fail "vsrun sandbox on port 0" "$(cat "$TMP/p1.err")"
fi

# ---- handler errors: 500, logged once per message, the server lives on ----
if start_bg he sandbox --handler "$ECHO"; then
    URL=$LINE
    s1=$(curl -s -o /dev/null -w '%{http_code}' "$URL/?fail=1")
    s2=$(curl -s -o /dev/null -w '%{http_code}' "$URL/?fail=1")
    s3=$(curl -s -o /dev/null -w '%{http_code}' "$URL/fine")
    stop_bg he INT
    [ "$s1 $s2 $s3" = "500 500 200" ] && echo "ok handler error is 500, next request 200" || _fail "handler error statuses" "$s1 $s2 $s3"
    n=$(grep -c 'handler error: .*failed on purpose' <<<"$ERR")
    [ "$n" = 1 ] && echo "ok a repeated handler error is logged once" || _fail "handler error logged once" "$n times: $ERR"
    grep -q 'stack traceback' <<<"$ERR" && echo "ok handler error log has a traceback" || _fail "traceback" "$ERR"
    expect "server with handler errors exits cleanly" 0
fi

# ---- a server started from a script, driven by curl while the script waits ----
cat >"$TMP/serve.lua" <<'EOF'
local s = require("vsrun.server").start { file = ..., args = { from = "script" } }
print(s:url())
io.stdout:flush()
io.read("l")          -- the test drives the server with curl, then sends a line
-- a request's completion is counted just after its client has the reply: let it settle
for _ = 1, 100 do
  if s:stats().in_flight == 0 then break end
  os.execute("sleep 0.02")
end
local st = s:stats()
s:stop()
return st
EOF
mkfifo "$TMP/ctl"
"$VSRUN" -e "return loadfile('$TMP/serve.lua')('$ECHO')" >"$TMP/serve.out" 2>"$TMP/serve.err" <"$TMP/ctl" &
pid=$!
exec 3>"$TMP/ctl"
for _ in $(seq 1 250); do URL=$(head -n 1 "$TMP/serve.out"); [ -n "$URL" ] && break; sleep 0.02; done
curl -sS "$URL/a" "$URL/b" "$URL/c" "$URL/d" >/dev/null      # one connection, keep-alive
curl -sS "$URL/e" >/dev/null
curl -s --parallel --parallel-immediate --parallel-max 3 "$URL/f?delay=0.5" "$URL/g?delay=0.5" "$URL/h?delay=0.5" >/dev/null 2>&1
echo done >&3
exec 3>&-
wait $pid
RC=$?; OUT=$(cat "$TMP/serve.out"); ERR=$(cat "$TMP/serve.err")
expect "script-started server returns its stats" 0 '"requests": 8'
grep -q '"connections": 5' <<<"$OUT" && echo "ok keep-alive: 4 URLs in one curl count as 1 connection" || _fail "connections counted" "$OUT"
grep -q '"in_flight": 0' <<<"$OUT" && echo "ok nothing in flight at the end" || _fail "in flight" "$OUT"
grep -q '"max_in_flight": 3' <<<"$OUT" && echo "ok three parallel delayed requests were in flight at once" || _fail "max_in_flight" "$OUT"

run --strict -e 'return require("vsrun.server").start { module = "x" }'
expect "server.start is refused under --strict" 1 '' 'not available under --strict'
