# `vsrun sandbox --latency MS[:JITTER]` (issue 13 item 2): bad values are usage errors, a
# good one reaches the simulator's configuration (read back through the control API), and
# the in-process `sandbox.configure { latency, jitter }` takes the same bounds. No timing
# is asserted: that the delay overlaps across requests is the server's `delay` (server_test).
. "$(dirname "$0")/lib.sh"

for bad in x 10:20 -5 150: :50 600001 1.5; do
    run sandbox --latency "$bad"
    expect "--latency $bad is refused" 2 '' "--latency needs MS or MS:JITTER"
done

run sandbox --help
expect "--help lists --latency" 0 "--latency MS\[:JITTER\]"

# start ARGS...: vsrun sandbox in the background; sets PID and URL
start() {
    "$VSRUN" sandbox "$@" >"$TMP/out" 2>"$TMP/err" </dev/null &
    PID=$!
    URL=
    for _ in $(seq 1 500); do
        URL=$(head -n 1 "$TMP/out" 2>/dev/null)
        [ -n "$URL" ] && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}
config() { curl -sS -X POST -d '{}' "$URL/__sandbox/config" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["latency"], d["jitter"])'; }

for spec in "150:50 150 50" "200 200 0" "0 0 0"; do
    set -- $spec
    if start --incidents 0 --latency "$1"; then
        got=$(config)
        if [ "$got" = "$2 $3" ]; then echo "ok --latency $1 configures latency $2, jitter $3"
        else _fail "--latency $1" "config says '$got'"; fi
        kill -TERM "$PID"; wait "$PID"
    else
        _fail "--latency $1" "the sandbox did not start: $(cat "$TMP/err")"
    fi
done

# control: without the option, no latency
if start --incidents 0; then
    got=$(config)
    if [ "$got" = "0 0" ]; then echo "ok no --latency: none"; else _fail "no --latency" "config says '$got'"; fi
    kill -TERM "$PID"; wait "$PID"
fi

cat >"$TMP/configure_test.lua" <<'LUA'
local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
t.test("configure latency and jitter", function()
  local c = sandbox.configure { latency = 40, jitter = 10 }
  t.eq(c.latency, 40)
  t.eq(c.jitter, 10)
  t.eq(sandbox.configure({ jitter = 5 }).latency, 40, "one alone keeps the other")
  for _, bad in ipairs { { latency = -1 }, { latency = 1.5 }, { latency = 10, jitter = 11 }, { latency = "5" }, { latency = 600001 } } do
    t.raises("invalid_argument", function() sandbox.configure(bad) end)
  end
  t.eq(sandbox.configure({}).latency, 40, "a refused configure changes nothing")
end)
LUA
run test "$TMP/configure_test.lua"
expect "sandbox.configure { latency, jitter } checks its values" 0 "1 passed, 0 failed"
