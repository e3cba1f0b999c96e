#!/usr/bin/env bash
# Wedging the served sandbox (issue 16 item 9). Attacks: a fault whose match.path is a
# pathological pattern, then a long path; 1,100 half-open connections from one address; a
# client trickling its headers one byte at a time; and SIGTERM while the server is in each
# of those states, while it is still starting, or while a handler is stuck in a Lua loop
# (even one that pcalls) or in a C function. Controls show each check notices a wedge: a handler really stuck in C makes
# curl time out; a flood from the client's own address does shut that client out; a trickle
# that finishes in time is answered.
. "$(dirname "$0")/../cli/lib.sh"

PIDS=""
trap 'for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
say() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1${3:+: $3}"; fi; }

# start_sb NAME [options]: `vsrun sandbox` in the background; sets URL, PORT, PID, SB
start_sb() {
    local name=$1; shift
    SB=$name
    "$VSRUN" sandbox "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PID=$!
    PIDS="$PIDS $PID"
    for _ in $(seq 200); do [ -s "$TMP/$name.out" ] && break; sleep 0.05; done
    URL=$(head -n1 "$TMP/$name.out")
    PORT=${URL##*:}
    [ -n "$URL" ] || echo "FAIL $name: the sandbox did not start: $(head -c 400 "$TMP/$name.err")"
}
# stops NAME [RC] [stderr-regex]: SIGTERM ends the last sandbox started within 5 s (a liveness bound, the
# server waits at most 1.5 s), with exit code RC (default 0)
stops() {
    local name=$1 want=${2:-0} err_re=${3:-}
    kill -TERM "$PID"
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PID" 2>/dev/null; then
        echo "FAIL $name: still running 5 s after SIGTERM"
        kill -KILL "$PID"
        wait "$PID" 2>/dev/null
        return
    fi
    wait "$PID"
    local rc=$? err=$TMP/$SB.err
    if [ "$rc" != "$want" ]; then echo "FAIL $name: exit $rc, expected $want: $(head -c 400 "$err")"
    elif [ -n "$err_re" ] && ! grep -Eq -- "$err_re" "$err"; then echo "FAIL $name: stderr: $(head -c 400 "$err")"
    elif grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$err"; then echo "FAIL $name: sanitizer report: $(head -c 400 "$err")"
    else echo "ok $name"; fi
}
# status URL: the HTTP status of a GET, or 000 when nothing came back within 5 s
status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1"; }

# flood.py HOST PORT N SRC WAIT: N connections from SRC that send nothing; then a normal
# request from 127.0.0.1; then, WAIT s later, how many of the flood are still open
cat >"$TMP/flood.py" <<'PY'
import http.client, resource, socket, sys, time
host, port, n, src, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 64, hard), hard))
socks, refused = [], 0
for _ in range(n):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.bind((src, 0))
        s.connect((host, port))
        socks.append(s)
    except OSError:
        refused += 1
        s.close()
def open_(s):
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
time.sleep(1)
held = sum(1 for s in socks if open_(s))
try:
    c = http.client.HTTPConnection(host, port, timeout=5)
    c.request("GET", "/abilities")
    normal = str(c.getresponse().status)
except Exception as e:
    normal = "error:" + type(e).__name__
print("connected=%d refused=%d held=%d normal=%s" % (len(socks), refused, held, normal), flush=True)
time.sleep(wait)
print("held_later=%d" % sum(1 for s in socks if open_(s)), flush=True)
PY
# trickle.py HOST PORT SECONDS: sends a request's headers one byte every 0.2 s for SECONDS,
# then ends them; prints "cut" when the server closed the connection first, else the status
cat >"$TMP/trickle.py" <<'PY'
import socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port), timeout=10)
s.sendall(b"GET /abilities HTTP/1.1\r\nHost: sandbox\r\nX-Trickle: ")
end = time.monotonic() + seconds
def closed():
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)
while time.monotonic() < end:
    time.sleep(0.2)
    try:
        s.sendall(b"a")
    except OSError:
        print("cut"); sys.exit(0)
    if closed():
        print("cut"); sys.exit(0)
try:
    s.sendall(b"\r\n\r\n")
    line = s.makefile("rb").readline().decode("latin-1").split()
    print(line[1] if len(line) > 1 else "cut")
except OSError:
    print("cut")
PY

# --- a pathological match.path ---------------------------------------------------------------
start_sb patho --request-timeout 2
curl -s -o /dev/null -X POST -d '{"kind":"status","status":503,"match":{"path":"^/abilities$"}}' "$URL/__sandbox/faults"
st=$(status "$URL/abilities")
say "wedge control: a normal match.path still matches" '[ "$st" = 503 ]' "status $st"
pat=$(printf '.-%.0s' $(seq 20))x
curl -s -o "$TMP/patho.body" -w '%{http_code}' -X POST -d "{\"kind\":\"status\",\"status\":418,\"match\":{\"path\":\"$pat\"}}" \
    "$URL/__sandbox/faults" >"$TMP/patho.st"
long=$(printf 'a%.0s' $(seq 2000))
st=$(status "$URL/$long")
say "wedge: a pathological match.path against a 2,000-byte path is answered" '[ "$st" != 000 ] && [ "$st" != 418 ]' "status $st"
st=$(status "$URL/abilities")
say "wedge: the next client is served after it" '[ "$st" != 000 ]' "status $st"
curl -s -o "$TMP/patho.body" -w '%{http_code}' -X POST -d '{"kind":"status","status":503,"match":{"path":"(%w+)"}}' \
    "$URL/__sandbox/faults" >"$TMP/patho.st"
say "wedge: a match.path with captures is refused" '[ "$(cat "$TMP/patho.st")" = 400 ] && grep -q captures "$TMP/patho.body"' \
    "$(cat "$TMP/patho.st") $(head -c 200 "$TMP/patho.body")"
stops "wedge: SIGTERM after the pathological pattern" 0

# --- half-open connections and a trickling client -------------------------------------------
start_sb flood --request-timeout 2
python3 "$TMP/flood.py" 127.0.0.1 "$PORT" 200 127.0.0.1 0 >"$TMP/own.txt" 2>&1
say "wedge control: a flood from the client's own address does shut it out" \
    'grep -q "normal=error" "$TMP/own.txt"' "$(cat "$TMP/own.txt")"
sleep 2.5   # the control's leftovers are cut by the request timeout
python3 "$TMP/flood.py" 127.0.0.1 "$PORT" 1100 127.0.0.2 3 >"$TMP/flood.txt" 2>&1 &
fpid=$!
for _ in $(seq 300); do grep -q normal= "$TMP/flood.txt" && break; sleep 0.05; done
line=$(head -n1 "$TMP/flood.txt")
held=$(sed -n 's/.*held=\([0-9]*\).*/\1/p' <<<"$line")
say "wedge: the flood really holds connections, at most 128 from one address" \
    '[ -n "$held" ] && [ "$held" -ge 1 ] && [ "$held" -le 128 ]' "$line"
say "wedge: a normal client gets through 1,100 half-open connections" 'grep -Eq "normal=[0-9]{3}" <<<"$line"' "$line"
wait "$fpid"
later=$(sed -n 's/.*held_later=\([0-9]*\).*/\1/p' "$TMP/flood.txt")
say "wedge: silent connections are closed at the request timeout" '[ "$later" = 0 ]' "$(cat "$TMP/flood.txt")"
st=$(python3 "$TMP/trickle.py" 127.0.0.1 "$PORT" 0.6)
say "wedge control: a trickled request that ends in time is answered" '[[ "$st" =~ ^[0-9]{3}$ ]]' "got '$st'"
st=$(python3 "$TMP/trickle.py" 127.0.0.1 "$PORT" 15)
say "wedge: a client trickling its headers is cut at the request timeout" '[ "$st" = cut ]' "got '$st'"
stops "wedge: SIGTERM after the flood" 0

start_sb held --request-timeout 60
python3 "$TMP/flood.py" 127.0.0.1 "$PORT" 300 127.0.0.3 30 >"$TMP/held.txt" 2>&1 &
fpid=$!
python3 "$TMP/trickle.py" 127.0.0.1 "$PORT" 30 >/dev/null 2>&1 &
tpid=$!
for _ in $(seq 300); do grep -q normal= "$TMP/held.txt" && break; sleep 0.05; done
stops "wedge: SIGTERM while half-open and trickling connections are held" 0
kill "$fpid" "$tpid" 2>/dev/null; wait "$fpid" "$tpid" 2>/dev/null

# --- SIGTERM in every state -------------------------------------------------------------------
start_sb idle
stops "wedge: SIGTERM when idle" 0

# while starting: a module whose loading never ends (as a huge --incidents seed takes long)
printf 'while true do end\n' >"$TMP/endless_start.lua"
SB=starting
"$VSRUN" sandbox --handler "$TMP/endless_start.lua" >"$TMP/starting.out" 2>"$TMP/starting.err" &
PID=$!
PIDS="$PIDS $PID"
sleep 0.5
say "wedge control: the endless module is still starting when signalled" '[ ! -s "$TMP/starting.out" ]' "$(cat "$TMP/starting.out")"
stops "wedge: SIGTERM while the module is still starting" 0 'stopped while starting'

start_sb delay
curl -s -o /dev/null -X POST -d '{"kind":"latency","delay":60,"match":{"path":"^/abilities$"}}' "$URL/__sandbox/faults"
curl -s -o /dev/null -m 30 "$URL/abilities" &
cpid=$!
sleep 0.5
stops "wedge: SIGTERM during a 60 s latency fault" 0
wait "$cpid" 2>/dev/null

cat >"$TMP/stuck.lua" <<'LUA'
return function()
  local function handler(req)
    if req.path == "/spin" then while true do end end
    if req.path == "/spin-pcall" then while true do pcall(function() while true do end end) end end
    if req.path == "/c-stuck" then string.find(string.rep("a", 3000), string.rep(".-", 20) .. "x") end
    return { status = 200, body = "ok\n" }
  end
  return handler, nil, function() print("on_stop ran") end
end
LUA
for path in spin spin-pcall; do
    start_sb "$path" --handler "$TMP/stuck.lua"
    st=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$URL/$path")
    curl -s -o /dev/null -m 30 "$URL/other" &   # waits for the Lua lock
    cpid=$!
    say "wedge control: /$path really holds the handler" '[ "$st" = 000 ]' "status $st"
    stops "wedge: SIGTERM with the handler in a Lua loop (/$path)" 0
    say "wedge: on_stop ran after the interrupted handler (/$path)" 'grep -q "on_stop ran" "$TMP/$path.out"' "$(cat "$TMP/$path.out")"
    wait "$cpid" 2>/dev/null
done
start_sb cstuck --handler "$TMP/stuck.lua"
st=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$URL/c-stuck")
say "wedge control: a handler stuck in C makes a client time out" '[ "$st" = 000 ]' "status $st"
stops "wedge: SIGTERM with the handler stuck in a C function" 1 'did not stop within 1.5 s'
exit 0
