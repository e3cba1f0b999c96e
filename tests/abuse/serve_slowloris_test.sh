# Attack: slowloris against vsrun serve: many connections that send their headers a byte
# at a time, or stop mid-request. Control: with them open, a real webhook is still accepted
# and run; a connection that stops sending is closed after request_timeout.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../cli/serve_lib.sh"

export SERVE_OUT=$TMP/ran.txt
: >"$SERVE_OUT"
printf 'local ev = ... local f = io.open(os.getenv("SERVE_OUT"), "a") f:write(ev.delivery_id, "\\n") f:close()\n' >"$TMP/mark.lua"
cat >"$TMP/serve.lua" <<'LUA'
return { port = 0, request_timeout = 1, routes = { am = { script = "mark.lua", bearer = "t", delivery_header = "X-Id" } } }
LUA
start_serve sl --config "$TMP/serve.lua" --store "$TMP/sl.db" || { echo "FAIL serve starts: $(cat "$TMP/sl.err")"; exit 1; }
PORT=${URL##*:}
# 60 trickling connections plus one that goes silent; prints "closed" when the server
# closed the silent one
python3 - "$PORT" >"$TMP/slow.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
trickle = []
for _ in range(60):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /hooks/am HTTP/1.1\r\nHost: x\r\n")
    trickle.append(s)
silent = socket.create_connection(("127.0.0.1", port))
silent.sendall(b"POST /hooks/am HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
silent.settimeout(0.2)
print("open", flush=True)
closed = False
for i in range(100):            # up to 10 s
    for s in trickle:
        try: s.sendall(b"X")
        except OSError: pass
    try:
        if silent.recv(4096) == b"": closed = True
    except socket.timeout:
        pass
    except OSError:
        closed = True
    if closed: break
    time.sleep(0.1)
print("closed" if closed else "still open", flush=True)
PY
SLOW_PID=$!
wait_until 10 grep -q open "$TMP/slow.out"
post /hooks/am '{}' -H 'Authorization: Bearer t' -H 'X-Id: REAL'
expect_code "control: a real webhook is accepted while slow clients hold connections" 202
check "control: its pipeline ran" wait_until 20 grep -q '^REAL$' "$SERVE_OUT"
wait "$SLOW_PID"
check "a connection that stops sending is closed by the server" grep -q '^closed$' "$TMP/slow.out"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
check "the server still answers afterwards" test "$CODE" = 200
stop_serve sl TERM
check "SIGTERM with slow clients: exit 0" test "$RC" = 0
check "no sanitizer report" no_sanitizer_report "$TMP/sl.err"
