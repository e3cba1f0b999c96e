#!/usr/bin/env bash
# `vsrun auth` on the shared PostgreSQL vault (VSRUN_VAULT; issue 11 item 3): status, list,
# login, logout and reconnect act on the table a run reads, from any machine (two replicas
# here: two VSRUN_HOME directories sharing one database and one VSRUN_KEY). Logout takes the
# advisory lock a refresh takes and re-reads under it, so a refresh in flight cannot write
# the row back (a psql session holding the lock, then vsrun's own refresh slowed at the
# identity server); control: a delete that skips the lock is undone by that refresh. A login
# that the table could not hold is refused before anything is sent. `vsrun serve` on a
# PostgreSQL store without VSRUN_VAULT says once that runs use this machine's vault.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
. "$(dirname "$0")/refresh_lib.sh"
PG_TEST=pg_auth_test . "$(dirname "$0")/pg_lib.sh"
trap 'exec 3>&- 2>/dev/null; for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; pg_stop; rm -rf "$TMP"' EXIT
SBO=(--client-id "$CID" --api-url "$SB" --identity-url "$SB" --timeout 60)
ME='return require("pagerduty").get_user("me").email'
rows() { sql "SELECT count(*) FROM vsrun_connections WHERE name = '$1'"; }
posts() { curl -s "$SB/__sandbox/requests?method=POST&path=$1&limit=5000" | grep -o '"seq":' | wc -l; }
# replica A and B: two machines (own file vault, own machine id), one database, one key
HOME_A=$TMP/home; HOME_B=$TMP/homeB
mkdir -p "$HOME_B" && chmod 700 "$HOME_B"
on_a() { VSRUN_HOME=$HOME_A VSRUN_MACHINE_ID=machine-a VSRUN_VAULT=$PG run "$@"; }
on_b() { VSRUN_HOME=$HOME_B VSRUN_MACHINE_ID=machine-b VSRUN_VAULT=$PG run "$@"; }
ALL=""   # every output, for the no-token check at the end
keep() { ALL="$ALL$OUT$ERR"; }

# --- a connection pushed from A is seen by B's status and list --------------------------------
VSRUN_MACHINE_ID=machine-a run auth login --connection alpha "${SBO[@]}"
expect "pg auth: login into A's file vault" 0 "Connected 'alpha'"
VSRUN_MACHINE_ID=machine-a run auth push alpha --to "$PG"
expect "pg auth: push alpha into the shared vault" 0 "Stored 'alpha'"
on_b auth list; keep
expect "pg auth: list on B shows the shared row, connected, as the default (the only row)" 0 '^\* alpha .* connected'
VSRUN_HOME=$HOME_B run auth list
expect "pg auth: control, B's file vault (VSRUN_VAULT unset) has no connection" 0 'No connections'
on_b auth status; keep
expect "pg auth: status without a name on B picks the shared default" 0 'Connection: +alpha \(default\)'
say "pg auth: status says connected and where the record is" \
    'grep -q "State: *connected" <<<"$OUT" && grep -q "Stored: *the shared vault (VSRUN_VAULT), generation" <<<"$OUT"' "$OUT"
say "pg auth: status on B does not call the shared row a copy from another machine" '! grep -q "Copied:" <<<"$OUT"' "$OUT"
on_b auth status alpha --check; keep
expect "pg auth: status --check on B makes a live call with the shared connection" 0 'Health: +Healthy'
VSRUN_HOME=$HOME_B run auth status alpha
expect "pg auth: control, without VSRUN_VAULT B's status does not find alpha" 2 '' "no connection named 'alpha'"

# --- login on B writes the row; one that the table could not hold is refused first -------------
grants0=$(posts /oauth/token)
(
    unset VSRUN_KEY   # only B's key file: other machines could not open the row
    on_b auth login --connection nokey "${SBO[@]}"
    expect "pg auth: login into the shared vault without VSRUN_KEY/VSRUN_PASSPHRASE is refused" 2 '' 'VSRUN_KEY or VSRUN_PASSPHRASE'
)
say "pg auth: the refused login sent nothing to the identity server" '[ "$(posts /oauth/token)" = "$grants0" ]'
say "pg auth: the refused login wrote no row" '[ "$(rows nokey)" = 0 ]'
on_b auth login --connection beta "${SBO[@]}"; keep
expect "pg auth: login on B with VSRUN_VAULT writes the shared row" 0 "Connected 'beta'"
say "pg auth: control, that login did reach the identity server" '[ "$(posts /oauth/token)" -gt "$grants0" ]'
say "pg auth: the row exists and B's file vault holds no copy" '[ "$(rows beta)" = 1 ] && [ ! -e "$HOME_B/beta.conn" ]'
on_a --connection beta -e "$ME"
expect "pg auth: a run on A uses the connection B logged in" 0 '@'
on_b auth status
expect "pg auth: two rows and no name: status says to choose (the shared vault's default rule)" 2 '' 'several PagerDuty connections'
on_b auth default beta
expect "pg auth: auth default with VSRUN_VAULT is refused with the rule" 2 '' 'only one in the shared vault'

# --- reconnect on A rewrites B's row under the lock -----------------------------------------------
g0=$(generation beta)
on_a auth reconnect beta --timeout 60; keep
expect "pg auth: reconnect on A signs in again and writes the shared row" 0 "Reconnected 'beta'"
say "pg auth: the row's generation moved on" '[ "$(generation beta)" -gt "$g0" ]' "$g0 -> $(generation beta)"
on_b --connection beta -e "$ME"
expect "pg auth: a run on B uses the reconnected row" 0 '@'

# --- logout on A: revoked and deleted for B too ---------------------------------------------------
revokes0=$(posts /oauth/revoke)
on_a auth logout beta; keep
expect "pg auth: logout on A" 0 "Disconnected 'beta'"
say "pg auth: logout revoked the tokens at the identity server" '[ "$(posts /oauth/revoke)" -gt "$revokes0" ]'
say "pg auth: logout deleted the row" '[ "$(rows beta)" = 0 ]'
on_b --connection beta -e "$ME"
expect "pg auth: then a run on B says the connection is gone" 3 '' "no PagerDuty connection named 'beta'"
on_b auth logout beta
expect "pg auth: logout of a name not in the shared vault is a usage error" 2 '' "no connection named 'beta' in the shared vault"

# --- a logout racing a refresh that holds the advisory lock ---------------------------------------
# A psql session plays the replica in the middle of a refresh: it holds alpha's lock, then
# writes the refreshed row as vault_pg does (an upsert of the same name) and commits.
sql "CREATE TABLE saved AS SELECT * FROM vsrun_connections WHERE name = 'alpha'"
mkfifo "$TMP/holder"
start_refresh() {
    psql "$PG" -q <"$TMP/holder" >/dev/null 2>&1 &
    PIDS="$PIDS $!"
    exec 3>"$TMP/holder"
    echo "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('vsrun.connection:alpha', 0));" >&3
    wait_until 60 bash -c "[ \"\$(psql '$PG' -Atqc \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted\")\" = 1 ]"
}
finish_refresh() {
    echo "INSERT INTO vsrun_connections SELECT name, record, generation + 1, now() FROM saved
          ON CONFLICT (name) DO UPDATE SET record = excluded.record, generation = excluded.generation; COMMIT;" >&3
    exec 3>&-
}
polling_lock() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_xact_lock%' AND pid <> pg_backend_pid()")" -ge 1 ]; }
start_refresh
VSRUN_HOME=$HOME_A VSRUN_VAULT=$PG "$VSRUN" auth logout alpha >"$TMP/lo.out" 2>"$TMP/lo.err" </dev/null &
LO=$!
wait_until 120 polling_lock
say "pg auth race: logout waits for the refresh's lock (still running, row still there)" \
    'kill -0 $LO 2>/dev/null && [ "$(rows alpha)" = 1 ]'
finish_refresh
wait $LO; RC=$?
OUT=$(cat "$TMP/lo.out"); ERR=$(cat "$TMP/lo.err"); keep
expect "pg auth race: logout finishes once the refresh committed" 0 "Disconnected 'alpha'"
say "pg auth race: the refreshed row did not come back: it is deleted" '[ "$(rows alpha)" = 0 ]'
on_b -e "$ME"
expect "pg auth race: a run on B says there is no connection" 3 '' 'no PagerDuty connection'
# control: the same refresh against a delete that skips the lock writes the row back
start_refresh
sql "INSERT INTO vsrun_connections SELECT * FROM saved"
sql "DELETE FROM vsrun_connections WHERE name = 'alpha'"
finish_refresh
wait_until 60 bash -c "[ \"\$(psql '$PG' -Atqc \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'\")\" = 0 ]"
say "pg auth race control: a delete without the lock is undone by the refresh (the check notices)" '[ "$(rows alpha)" = 1 ]'
sql "DELETE FROM vsrun_connections WHERE name = 'alpha'; DROP TABLE saved"

# the same with vsrun's own refresh: a run on A whose token expired holds gamma's lock while
# the identity server takes 5 s to answer; a logout on B started then deletes the row after
# that refresh wrote it, and revokes after the grant (the rotated tokens)
on_b auth login --connection gamma "${SBO[@]}"
expect "pg auth race 2: login of gamma on B" 0 "Connected 'gamma'"
fault '{"match":{"method":"GET","path":"^/users/me$"},"count":1,"kind":"expire_token"}'
fault '{"match":{"method":"POST","path":"^/oauth/token$"},"count":1,"kind":"latency","delay":5}'
VSRUN_HOME=$HOME_A VSRUN_VAULT=$PG "$VSRUN" --timeout 120 --connection gamma -e "$ME" >"$TMP/r2.out" 2>"$TMP/r2.err" </dev/null &
R2=$!
wait_until 120 bash -c "[ \"\$(psql '$PG' -Atqc \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted\")\" = 1 ]"
on_b auth logout gamma; keep
expect "pg auth race 2: logout on B (started while A's refresh held the lock)" 0 "Disconnected 'gamma'"
wait $R2; rc2=$?
say "pg auth race 2: A's run refreshed and succeeded" '[ "$rc2" = 0 ]' "exit $rc2: $(head -c 300 "$TMP/r2.err")"
say "pg auth race 2: the row A's refresh wrote is deleted, not brought back" '[ "$(rows gamma)" = 0 ]'
# arrival times in the sandbox's request log: the grant was answered 5 s after it arrived,
# so a revoke sent under the lock arrives at least 5 s after the grant (slower only later)
arrived() { curl -s "$SB/__sandbox/requests?method=POST&path=$1&limit=5000" | python3 -c 'import json, sys; print(max(e["time"] for e in json.load(sys.stdin)["requests"]))'; }
say "pg auth race 2: the revoke was sent after the refresh was answered (the rotated tokens)" \
    'python3 -c "import sys; sys.exit(not float(sys.argv[1]) - float(sys.argv[2]) >= 4.9)" "$(arrived /oauth/revoke)" "$(arrived /oauth/token)"' \
    "revoke at $(arrived /oauth/revoke), grant at $(arrived /oauth/token)"
curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null

# --- an unreachable database, a bad VSRUN_VAULT -----------------------------------------------------
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for cmd in "list" "status alpha" "logout alpha"; do
    # shellcheck disable=SC2086
    VSRUN_VAULT=postgresql://vsrun:pw-in-url-secret@127.0.0.1:$closed/x run auth $cmd
    expect "pg auth: auth $cmd on an unreachable database is a network error (exit 6)" 6 '' 'PostgreSQL vault: cannot connect'
    say "pg auth: auth $cmd does not show the URL's password" '! grep -q pw-in-url-secret <<<"$OUT$ERR"'
done
VSRUN_VAULT=mysql://db/x run auth list
expect "pg auth: VSRUN_VAULT that is not postgresql:// is refused" 2 '' 'VSRUN_VAULT must be a postgresql:// URL'

# --- vsrun serve on a PostgreSQL store says which vault its runs use -------------------------------
printf 'return { port = 0, workers = 1, routes = { pd = { script = "x.lua", pagerduty = "s" } } }\n' >"$TMP/serve.lua"
printf 'return 1\n' >"$TMP/x.lua"
start_serve s1 --config "$TMP/serve.lua" --store "$PG" || echo "FAIL pg auth: serve starts: $(cat "$TMP/s1.err")"
PIDS="$PIDS $SV_PID"; stop_serve s1 TERM
say "pg auth: serve on a PostgreSQL store without VSRUN_VAULT prints one note" \
    '[ "$(grep -c "VSRUN_VAULT is not set: runs use this machine.s vault" "$TMP/s1.err")" = 1 ]' "$(head -c 400 "$TMP/s1.err")"
say "pg auth: the note does not show the store's URL" '! grep -q "$PG" "$TMP/s1.err"'
VSRUN_VAULT=$PG start_serve s2 --config "$TMP/serve.lua" --store "$PG" || echo "FAIL pg auth: serve starts: $(cat "$TMP/s2.err")"
PIDS="$PIDS $SV_PID"; stop_serve s2 TERM
say "pg auth: control, with VSRUN_VAULT set there is no note" '! grep -q "VSRUN_VAULT is not set" "$TMP/s2.err"'
say "pg auth: the serve replicas left no sanitizer report" 'no_sanitizer_report "$TMP/s1.err" && no_sanitizer_report "$TMP/s2.err"'

say "pg auth: no token in any output" '! grep -q pdsbx <<<"$ALL"'
say "pg auth: control, the outputs checked are not empty" '[ ${#ALL} -gt 500 ]'
exit 0
