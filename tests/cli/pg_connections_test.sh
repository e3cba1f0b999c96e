#!/usr/bin/env bash
# Connections in PostgreSQL (VSRUN_VAULT, `vsrun auth push`; issue 11 item 3): a real
# PostgreSQL (tests/cli/pg_lib.sh) and the sandbox as the OAuth identity server with 6 s
# access tokens. Three processes run pipelines on one shared connection, concurrently, past
# several expiries, and then three `vsrun serve` replicas run webhook pipelines with it:
# every run succeeds, each expiry costs one refresh grant, none is answered invalid_grant. Control: the same with three file-vault copies of one record (no
# shared lock) gets invalid_grant. A refresh waits for the advisory lock of its name held by
# another session (not for another name's). A tampered or renamed row is refused; the table
# never holds a token in clear text; bad settings are refused before anything is sent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
TTL=6
REFRESH_SANDBOX_ARGS="--token-ttl $TTL --rate-limit 100000" . "$(dirname "$0")/refresh_lib.sh"
PG_TEST=pg_connections_test . "$(dirname "$0")/pg_lib.sh"
trap 'touch "$TMP/stop"; for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; pg_stop; rm -rf "$TMP"' EXIT
SBO=(--client-id "$CID" --api-url "$SB" --identity-url "$SB" --timeout 60)
ME='return require("pagerduty").get_user("me").email'
grants() { curl -s "$SB/__sandbox/requests?method=POST&path=/oauth/token&limit=5000" | grep -o '"status":[0-9]*' | sort | uniq -c; }
grants_with() { curl -s "$SB/__sandbox/requests?method=POST&path=/oauth/token&limit=5000" | grep -o "\"status\":$1[,}]" | wc -l; }

# --- bad settings: clear errors, nothing sent ---------------------------------------------------
VSRUN_VAULT=mysql://db/x run -e "$ME"
expect "pg connections: VSRUN_VAULT that is not postgresql:// is refused" 2 '' 'VSRUN_VAULT must be a postgresql:// URL'
# a database that cannot be reached: a network error (exit 6) naming no part of the URL's password
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
VSRUN_VAULT=postgresql://vsrun:pw-in-url-secret@127.0.0.1:$closed/x run -e "$ME"
expect "pg connections: an unreachable database is a network error (exit 6)" 6 '' 'PostgreSQL vault: cannot connect'
say "pg connections: the error does not show the URL's password" '! grep -q pw-in-url-secret <<<"$OUT$ERR"'
run auth login --connection shared "${SBO[@]}"
expect "pg connections: login into the file vault" 0 "Connected 'shared'"
run auth push shared --to mysql://db/x
expect "pg connections: push to a URL that is not postgresql:// is refused" 2 '' 'postgresql://'
# a key file is this machine's only: refused for a shared vault, and the record stays here
(
    unset VSRUN_KEY
    run auth login --connection local "${SBO[@]}"
    expect "pg connections: login sealed with this machine's key file" 0 "Connected 'local'"
    run auth push local --to "$PG"
    expect "pg connections: push of a record sealed with the key file is refused" 2 '' 'needs VSRUN_KEY or VSRUN_PASSPHRASE'
)
say "pg connections: a refused push keeps the local record" '[ -e "$VSRUN_HOME/local.conn" ]'
say "pg connections: a refused push sends nothing (the table is not even created)" '[ "$(sql "SELECT to_regclass('"'vsrun_connections'"') IS NULL")" = t ]'

# --- push -----------------------------------------------------------------------------------------
run auth push shared --to "$PG"
expect "pg connections: push stores the connection in PostgreSQL" 0 "Stored 'shared' in the shared vault"
say "pg connections: push deletes the local copy (one live copy of the grant)" '[ ! -e "$VSRUN_HOME/shared.conn" ]'
say "pg connections: the row exists" '[ "$(sql "SELECT count(*) FROM vsrun_connections WHERE name = '"'shared'"'")" = 1 ]'
export VSRUN_VAULT=$PG
run -e "$ME"
expect "pg connections: a run with VSRUN_VAULT uses the shared connection (the only one: the default)" 0 '@'

# --- three processes past several expiries ------------------------------------------------------
# each loop runs the pipeline until told to stop; a run's exit code goes to its loop's file
replica() {
    local i=$1 n=0
    while [ ! -e "$TMP/stop" ]; do
        "$VSRUN" --timeout 60 -e "$ME" >>"$TMP/rep$i.out" 2>>"$TMP/rep$i.err" </dev/null
        echo $? >>"$TMP/rep$i.rc"
        n=$((n + 1))
    done
}
g0=$(generation shared)
before=$(grants_with 200)
t0=$(date +%s)
rm -f "$TMP/stop"
RP=""
for i in 1 2 3; do replica "$i" & RP="$RP $!"; done
PIDS="$PIDS $RP"
# wait (generous bound, for valgrind) until the token was refreshed three times
wait_until 300 bash -c "[ \"\$(psql '$PG' -Atqc \"SELECT generation FROM vsrun_connections WHERE name = 'shared'\")\" -ge $((g0 + 3)) ]"
touch "$TMP/stop"
for p in $RP; do wait "$p"; done   # each loop ends after its current run
t1=$(date +%s)
g1=$(generation shared)
runs=$(cat "$TMP"/rep?.rc | wc -l)
failed=$(cat "$TMP"/rep?.rc | grep -vc '^0$')
refreshes=$(( $(grants_with 200) - before ))
echo "    $runs runs by 3 processes, generation $g0 -> $g1, $refreshes refresh grants in $((t1 - t0)) s"
say "pg connections: three processes crossed at least three token expiries" '[ "$g1" -ge $((g0 + 3)) ]' "generation $g0 -> $g1"
say "pg connections: every run of the three processes succeeded" '[ "$runs" -ge 3 ] && [ "$failed" = 0 ]' \
    "$failed of $runs failed: $(cat "$TMP"/rep?.err | grep -v '^\s' | sort | uniq -c | head -5)"
say "pg connections: no refresh grant was answered invalid_grant (or any error)" '[ "$(grants_with 400)" = 0 ] && [ "$(grants_with 401)" = 0 ]' "$(grants)"
say "pg connections: one refresh grant per generation (no generation was refreshed twice)" '[ "$refreshes" = $((g1 - g0)) ]' \
    "$refreshes grants for $((g1 - g0)) generations"
# a refresh happens only in the last quarter of a token's life, so at most one per 3/4 TTL
say "pg connections: one refresh per expiry, not one per process ($refreshes in $((t1 - t0 + 1)) s, TTL $TTL s)" \
    '[ "$refreshes" -le $(( (t1 - t0 + 1) * 4 / (3 * TTL) + 1 )) ]'
say "pg connections: no sanitizer or valgrind report from the three processes" \
    'no_sanitizer_report "$TMP/rep1.err" && no_sanitizer_report "$TMP/rep2.err" && no_sanitizer_report "$TMP/rep3.err"'
say "pg connections: no token in any output" '! cat "$TMP"/rep?.out "$TMP"/rep?.err | grep -q pdsbx'

# --- three vsrun serve replicas on the same database: their runs share the connection ------------
# (serve passes VSRUN_VAULT and the key to its runs; the store is the same database)
printf 'return { email = require("pagerduty").get_user("me").email }\n' >"$TMP/whoami.lua"
printf 'return { port = 0, workers = 2, routes = { pd = { script = "whoami.lua", pagerduty = "pgc-secret", concurrency = 2 } } }\n' >"$TMP/serve.lua"
declare -A SURL SPID
for r in a b c; do
    start_serve "s$r" --config "$TMP/serve.lua" --store "$PG" || { echo "FAIL pg connections: serve replica $r starts: $(cat "$TMP/s$r.err")"; exit 1; }
    SURL[$r]=$URL; SPID[$r]=$SV_PID; PIDS="$PIDS $SV_PID"
done
g0=$(generation shared)
before=$(grants_with 200)
sent=0 i=0
# webhooks round-robin, two a second, until the shared token was refreshed twice (a generous
# bound on the count for valgrind)
while [ "$(generation shared)" -lt $((g0 + 2)) ] && [ $i -lt 1200 ]; do
    i=$((i + 1))
    case $((i % 3)) in 0) URL=${SURL[a]} ;; 1) URL=${SURL[b]} ;; 2) URL=${SURL[c]} ;; esac
    post_pd pd pgc-secret "{\"event\":{\"id\":\"w-$i\",\"event_type\":\"incident.triggered\"}}"
    [ "$CODE" = 202 ] && sent=$((sent + 1))
    sleep 0.5
done
wait_until 300 bash -c "[ \$('$VSRUN' runs list --store '$PG' --status done --limit 100000 --json | grep -c '') = $sent ]"
g1=$(generation shared)
refreshes=$(( $(grants_with 200) - before ))
echo "    $sent webhooks on 3 serve replicas, generation $g0 -> $g1, $refreshes refresh grants"
say "pg connections: serve replicas accepted every webhook" '[ "$sent" = "$i" ]' "$sent of $i"
say "pg connections: every run on the serve replicas is done (none dead or queued)" \
    '[ "$(runs_with "$PG" done)" = "$sent" ] && [ "$(runs_with "$PG" dead)" = 0 ]' "$(runs_with "$PG" done) done, $(runs_with "$PG" dead) dead of $sent"
say "pg connections: the serve replicas crossed two expiries with one grant per generation, no invalid_grant" \
    '[ "$g1" -ge $((g0 + 2)) ] && [ "$refreshes" = $((g1 - g0)) ] && [ "$(grants_with 400)" = 0 ]' "$(grants)"
ran=0
for r in a b c; do grep -q '"outcome":"done"' "$TMP/s$r.err" && ran=$((ran + 1)); done
say "pg connections: each serve replica ran pipelines" '[ "$ran" = 3 ]' "$ran replicas"
for r in a b c; do
    SV_PID=${SPID[$r]}; stop_serve "s$r" TERM
    say "pg connections: serve replica $r stops on SIGTERM without a sanitizer report" '[ "$RC" = 0 ] && no_sanitizer_report "$TMP/s$r.err"' "exit $RC"
done

# --- the lock is PostgreSQL's, keyed by the name: a session holding it (another replica)
# makes a refresh wait, until --timeout; a lock of another name does not -------------------------
# hold_lock NAME: a psql session takes NAME's advisory lock and sleeps; release_locks kills it
# (PostgreSQL then releases the lock, as when a replica dies holding it)
hold_lock() {
    printf "BEGIN;\nSELECT pg_advisory_xact_lock(hashtextextended('vsrun.connection:%s', 0));\nSELECT pg_sleep(600);\n" "$1" \
        | psql "$PG" -q >/dev/null 2>&1 &
    PIDS="$PIDS $!"
    wait_until 60 bash -c "[ \"\$(psql '$PG' -Atqc \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted\")\" = 1 ]"
}
release_locks() {
    sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null
    wait_until 60 bash -c "[ \"\$(psql '$PG' -Atqc \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'\")\" = 0 ]"
}
# the next GET /users/me finds its token expired: the run must refresh
expire_next() { fault '{"match":{"method":"GET","path":"^/users/me$"},"count":1,"kind":"expire_token"}'; }
hold_lock shared
expire_next
g_before=$(generation shared)
run --timeout 10 -e "$ME"
expect "pg connections: a refresh waits for the advisory lock another session holds (--timeout ends it)" 7 '' 'timeout'
say "pg connections: nothing was written while the lock was held" '[ "$(generation shared)" = "$g_before" ]'
release_locks
curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null
hold_lock unrelated
expire_next
run --timeout 60 -e "$ME"
expect "pg connections: control, the lock of another name does not hold the refresh up" 0 '@'
release_locks
say "pg connections: control, that run refreshed" '[ "$(generation shared)" -gt "$g_before" ]'

# --- the table never holds a token in clear text ------------------------------------------------
# finds tokens (pdsbx...) or the record's JSON keys in a dump, as text or as hex-encoded bytea
clear_text() { grep -aqE 'pdsbx|refresh_token|access_token' "$1" || grep -aoE '[0-9a-f]{16,}' "$1" | xxd -r -p | grep -aqE 'pdsbx|refresh_token|access_token'; }
pg_dump "$PG" >"$TMP/dump.sql"
say "pg connections: the dump holds the row" 'grep -q vsrun_connections "$TMP/dump.sql"'
say "pg connections: the database dump has no token in clear text" '! clear_text "$TMP/dump.sql"'
# control: a plain-text copy of a record in another table is found by the same check
sql "CREATE TABLE control_copy (b bytea); INSERT INTO control_copy VALUES (convert_to('{\"refresh_token\":\"pdsbx+_1Xcontrol\"}', 'UTF8'))"
pg_dump "$PG" >"$TMP/dump2.sql"
say "pg connections: control, a clear-text bytea in a dump is found" 'clear_text "$TMP/dump2.sql"'
sql "DROP TABLE control_copy"

# --- a tampered or renamed row is refused ---------------------------------------------------------
sql "CREATE TABLE saved AS SELECT * FROM vsrun_connections"
sql "UPDATE vsrun_connections SET record = set_byte(record, 60, get_byte(record, 60) # 1) WHERE name = 'shared'"
run -e "$ME"
expect "pg connections: a tampered row is refused with a clear error" 3 '' "vault record 'shared' is damaged or was written with another key"
sql "INSERT INTO vsrun_connections SELECT 'other', record, generation, updated_at FROM saved"
run --connection other -e "$ME"
expect "pg connections: a row copied under another name is refused" 3 '' "vault record 'other' is damaged"
sql "UPDATE vsrun_connections v SET record = s.record FROM saved s WHERE v.name = 'shared' AND s.name = 'shared'"
run --connection shared -e "$ME"
expect "pg connections: control, the row put back works again" 0 '@'
sql "DELETE FROM vsrun_connections WHERE name = 'other'"
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0) run -e "$ME"
expect "pg connections: another VSRUN_KEY cannot open the row" 3 '' "vault record 'shared' is damaged or was written with another key"

# --- a replica killed while it holds the lock (inside its refresh): PostgreSQL releases the
# lock, the row is unchanged; the next run is not held up. If the kill fell after the
# identity server received the refresh token, that token is spent and the connection is
# lost (the documented window: exit 3); a new login and push replaces the row ---------------------
curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null
fault '{"match":{"method":"POST","path":"^/oauth/token$"},"count":1,"kind":"latency","delay":5}'
expire_next
g_before=$(generation shared)
"$VSRUN" --timeout 60 -e "$ME" >"$TMP/k.out" 2>"$TMP/k.err" </dev/null &
K=$!
wait_until 60 bash -c "[ \"\$(psql '$PG' -Atqc \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted\")\" = 1 ]"
kill -9 "$K"; wait "$K" 2>/dev/null
say "pg connections: a killed lock holder's lock is released by PostgreSQL" \
    'wait_until 60 bash -c "[ \"\$(psql '"'$PG'"' -Atqc \"SELECT count(*) FROM pg_locks WHERE locktype = '"'advisory'"'\")\" = 0 ]"'
say "pg connections: the killed refresh wrote nothing (its transaction rolled back)" '[ "$(generation shared)" = "$g_before" ]'
curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null
run --timeout 60 -e "$ME"
say "pg connections: the next run is not held up: it refreshes, or says the connection was lost (exit 0 or 3)" \
    '[ "$RC" = 0 ] || { [ "$RC" = 3 ] && grep -q reconnect <<<"$ERR"; }' "exit $RC: ${ERR:0:300}"
echo "    after the kill: exit $RC (3 = the kill fell inside the window)"
# (into the file vault, then pushed: a login with VSRUN_VAULT set writes the row directly,
# tests/cli/pg_auth_test.sh)
VSRUN_VAULT= run auth login --connection shared "${SBO[@]}"
expect "pg connections: a new login after a lost connection" 0 "Connected 'shared'"
run auth push shared
expect "pg connections: push (to \$VSRUN_VAULT) replaces the row" 0 "Replaced 'shared' in the shared vault"
run --timeout 60 -e "$ME"
expect "pg connections: the replaced connection works" 0 '@'

# --- control: three file-vault copies of one record, no shared lock ------------------------------
unset VSRUN_VAULT
run auth login --connection copied "${SBO[@]}"
expect "pg connections control: login of a second connection" 0 "Connected 'copied'"
for i in 1 2 3; do cp -a "$VSRUN_HOME" "$TMP/home$i"; done
before_400=$(grants_with 400)
# each copy waits past its token's expiry, then refreshes on its own
wait_until 60 bash -c "VSRUN_HOME='$TMP/home1' '$VSRUN' auth status copied | grep -q 'Access token: expired'"
for i in 1 2 3; do VSRUN_HOME=$TMP/home$i "$VSRUN" --connection copied -e "$ME" >"$TMP/c$i.out" 2>"$TMP/c$i.err" </dev/null & eval "C$i=\$!"; done
crc=""; for i in 1 2 3; do eval "wait \$C$i"; crc="$crc $?"; done
say "pg connections control: without the shared lock the identity server answers invalid_grant" '[ "$(grants_with 400)" -gt "$before_400" ]' "$(grants)"
say "pg connections control: and runs fail (reconnect needed)" 'grep -q " 3" <<<"$crc"' "exit codes:$crc"
exit 0
