# Starts a real PostgreSQL for a test (source after lib.sh): initdb and pg_ctl into a
# temporary directory, as an unprivileged user (nobody when run as root: PostgreSQL refuses
# root), on a free loopback port. Sets PGBIN, PGDIR, PGPORT and PG (the URL); pg_stop stops
# it (call it from the test's EXIT trap); sql and generation query it. Without the server
# binaries it prints a `skipped` line for $PG_TEST and exits 0. Not a test itself.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
    echo "skipped ${PG_TEST:-pg}: PostgreSQL server binaries are not installed (apt-get install postgresql)"
    exit 0
fi
PGDIR=$(mktemp -d /tmp/vsrun-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown nobody "$PGDIR"
pg_stop() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$PGDIR"
}
PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U vsrun --auth=trust -E UTF8 --no-sync >"$PGDIR/initdb.log" 2>&1 \
    || { echo "FAIL initdb: $(tail -5 "$PGDIR/initdb.log")"; pg_stop; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" -w \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=50" start >/dev/null \
    || { echo "FAIL pg_ctl start: $(tail -5 "$PGDIR/pg.log")"; pg_stop; exit 1; }
PG=postgresql://vsrun@127.0.0.1:$PGPORT/postgres
echo "ok PostgreSQL started on 127.0.0.1:$PGPORT"
# Queries for the tests of the shared vault (table vsrun_connections, docs/connections.md).
sql() { psql "$PG" -Atqc "$1"; }
generation() { sql "SELECT generation FROM vsrun_connections WHERE name = '$1'"; }
