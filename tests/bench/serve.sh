#!/usr/bin/env bash
# vsrun serve: signed PagerDuty webhooks accepted per second and p50/p99 accept latency
# (verify + commit + answer) with a no-op pipeline, on SQLite and on PostgreSQL, from 8
# concurrent keep-alive clients. Baseline in the same run: the same server answering
# GET /healthz (200, nothing verified or stored). Target: 500 accepted/s on SQLite.
# Env: N (webhooks per row, default 2000), VSRUN_BIN.
set -u
cd "$(dirname "$0")/../.." || exit 1
VSRUN=${VSRUN_BIN:-$PWD/vsrun}
N=${N:-2000}
TMP=$(mktemp -d)
PID=
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGDIR=
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    [ -n "$PGDIR" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 && rm -rf "$PGDIR"
    rm -rf "$TMP"
}
trap cleanup EXIT
command -v curl >/dev/null || { echo "bench serve: curl is missing"; exit 1; }

printf 'return nil\n' >"$TMP/noop.lua"
cat >"$TMP/serve.lua" <<'LUA'
return { port = 0, max_body = 65536, routes = { pd = { script = "noop.lua", pagerduty = "bench-secret" } } }
LUA
# N distinct signed events as a curl config (one `next` block each)
python3 - "$N" >"$TMP/hooks.cfg" <<'PY'
import hashlib, hmac, sys
n = int(sys.argv[1])
for i in range(n):
    body = '{"event":{"id":"BENCH%06d","event_type":"incident.triggered","data":{"id":"PINC%d"}}}' % (i, i)
    sig = hmac.new(b"bench-secret", body.encode(), hashlib.sha256).hexdigest()
    print('url = "URL/hooks/pd"\ndata-binary = "%s"\nheader = "X-PagerDuty-Signature: v1=%s"\nheader = "Content-Type: application/json"\noutput = "/dev/null"\nsilent\nwrite-out = "%%{http_code} %%{time_total}\\n"%s'
          % (body.replace('"', '\\"'), sig, "\nnext" if i < n - 1 else ""))
PY

# row NAME CFG: N requests over 8 parallel keep-alive connections; rate and percentiles
row() {
    local name=$1 cfg=$2 t0 t1
    t0=$(date +%s.%N)
    curl -s --parallel --parallel-immediate --parallel-max 8 -K "$cfg" >"$TMP/times" 2>/dev/null
    t1=$(date +%s.%N)
    python3 - "$name" "$t0" "$t1" "$TMP/times" <<'PY'
import sys
name, t0, t1, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rows = [l.split() for l in open(path) if l.strip()]
ok = [float(t) for c, t in rows if c in ("200", "202")]
bad = sorted(set(c for c, t in rows if c not in ("200", "202")))
ok.sort()
pct = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))] * 1000 if ok else float("nan")
print("%-44s %6d/%-6d %8.0f/s  p50 %6.2f ms  p99 %6.2f ms%s" % (name, len(ok), len(rows), len(ok) / (t1 - t0), pct(0.5), pct(0.99), ("  other: " + " ".join(bad)) if bad else ""))
PY
}
start() {   # start STORE
    "$VSRUN" serve --config "$TMP/serve.lua" --store "$1" >"$TMP/url" 2>"$TMP/err" &
    PID=$!
    for _ in $(seq 1 500); do [ -s "$TMP/url" ] && break; sleep 0.02; done
    URL=$(head -n 1 "$TMP/url")
    case $URL in http://*) ;; *) echo "bench serve: it did not start: $(cat "$TMP/err")"; return 1 ;; esac
    sed "s#URL#$URL#" "$TMP/hooks.cfg" >"$TMP/run.cfg"
    for ((i = 0; i < N; i++)); do
        [ "$i" -gt 0 ] && echo next    # `next` starts a new set of options: each request has its own
        printf 'url = "%s/healthz"\noutput = "/dev/null"\nsilent\nwrite-out = "%%{http_code} %%{time_total}\\n"\n' "$URL"
    done >"$TMP/health.cfg"
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null; PID=; }

echo "scenario (8 keep-alive clients)                  ok/sent       rate     latency"
start "$TMP/bench.db" || exit 1
row "baseline: GET /healthz (nothing stored)" "$TMP/health.cfg"
row "SQLite: signed webhook verified + committed" "$TMP/run.cfg"
stop
if [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ]; then
    PGDIR=$(mktemp -d /tmp/vsrun-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown nobody "$PGDIR"
    PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U vsrun --auth=trust --no-sync >/dev/null 2>&1 &&
        as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" -w -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1" start >/dev/null &&
        start "postgresql://vsrun@127.0.0.1:$PGPORT/postgres" && {
            row "baseline: GET /healthz (nothing stored)" "$TMP/health.cfg"
            row "PostgreSQL: signed webhook verified + committed" "$TMP/run.cfg"
            stop
        }
else
    echo "PostgreSQL rows skipped: the server binaries are not installed"
fi
