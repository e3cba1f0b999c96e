#!/usr/bin/env bash
# Token refresh against the real sandbox over real sockets (issue 17 §2): --timeout and a
# held vault lock or a slow identity server; logout and login while a refresh runs; a vault
# that cannot be written costs no refresh token; forced refreshes have a minimum interval;
# reconnect keeps the scope asked for; an empty VSRUN_KEY is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/refresh_lib.sh"
SBO=(--client-id "$CID" --api-url "$SB" --identity-url "$SB" --timeout 20)
clear_faults() { curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null; }
# the next GET /users/me finds its token expired: the run refreshes (one forced refresh)
expire_next() { fault '{"match":{"method":"GET","path":"^/users/me$"},"count":1,"kind":"expire_token"}'; }
slow_token() { fault "{\"match\":{\"method\":\"POST\",\"path\":\"^/oauth/token\$\"},\"count\":1,\"kind\":\"latency\",\"delay\":$1}"; }
ME='return require("pagerduty").get_user("me").email'
# guarded ARGS: run, but a run that does not end within 60 s is killed (exit 124): a hang
# guard for waits that must end at --timeout 2, not a timing assertion
guarded() {
    timeout 60 "$VSRUN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?
    OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
}
# lock_held FILE: another process holds the flock
lock_held() { ! flock -n "$1" true; }
wait_lock() { for _ in $(seq 200); do lock_held "$1" && return 0; sleep 0.05; done; return 1; }

run auth login --connection work "${SBO[@]}"
expect "refresh: login" 0 "Connected 'work'"
LOCK=$VSRUN_HOME/work.lock

# --- --timeout behind a held vault lock: ends at the deadline with exit 7 ---------------------
expire_next
# the holder: a sleep that holds the lock on its fd 9, so killing it frees the lock (its
# output is not the test's, or a pipe reading the test would wait for it)
( exec 9>>"$LOCK"; flock 9; exec sleep 600 ) >/dev/null 2>&1 </dev/null &
HOLDER=$!
PIDS="$PIDS $HOLDER"
wait_lock "$LOCK"
guarded --timeout 2 -e "$ME"
expect "refresh: --timeout 2 behind a held vault lock ends with exit 7" 7 '' 'timeout'
# Ctrl-C while waiting for the lock: the run ends (exit 7, interrupted). --foreground: timeout
# otherwise sends the INT to its whole process group too, and a second Ctrl-C kills vsrun (130)
clear_faults; expire_next
before_401=$(curl -s "$SB/__sandbox/requests?path=/users/me" | grep -o '"status":401' | wc -l)
timeout --foreground 60 "$VSRUN" -e "$ME" >"$TMP/int.out" 2>"$TMP/int.err" &
V=$!
for _ in $(seq 200); do
    [ "$(curl -s "$SB/__sandbox/requests?path=/users/me" | grep -o '"status":401' | wc -l)" -gt "$before_401" ] && break
    sleep 0.05
done
sleep 0.2   # past the 401: the run is waiting for the lock
kill -INT "$V"
wait "$V"; irc=$?
say "refresh: Ctrl-C while waiting for the vault lock ends the run (exit 7)" '[ "$irc" = 7 ] && grep -q interrupted "$TMP/int.err"' \
    "exit $irc: $(head -c 200 "$TMP/int.err")"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
# control: the same run with the lock free refreshes and succeeds
clear_faults; expire_next
run --timeout 20 -e "$ME"
expect "refresh: control, the same run with the lock free succeeds" 0 '@'

# --- --timeout with a slow identity server ------------------------------------------------------
clear_faults; expire_next; slow_token 600
guarded --timeout 2 -e "$ME"
expect "refresh: --timeout 2 with a slow identity server ends with exit 7" 7 '' 'timeout'
# the sandbox rotated the refresh token before its delayed answer, which nobody reads now
clear_faults
run auth reconnect work --timeout 20
expect "refresh: reconnect after the abandoned refresh" 0 "Reconnected 'work'"

# --- logout while a refresh holds the lock: the refresh finishes first, then the logout
# revokes and deletes; the record does not come back ---------------------------------------------
clear_faults; expire_next; slow_token 2
"$VSRUN" -e "$ME" >"$TMP/a.out" 2>"$TMP/a.err" &
A=$!
wait_lock "$LOCK"
say "refresh: the script run holds the lock during its refresh" 'lock_held "$LOCK"'
run auth logout work
expect "refresh: logout during a refresh" 0 "Disconnected 'work'"
wait "$A"; arc=$?
say "refresh: the script run that was refreshing finished" '[ "$arc" = 0 ]' "exit $arc: $(head -c 300 "$TMP/a.err")"
say "refresh: the record stays deleted after the refresh (logout waited for it)" '[ ! -e "$VSRUN_HOME/work.conn" ]'
run auth list
expect "refresh: auth list no longer shows the connection" 0 'No connections'

# --- login while a refresh holds the lock: the login's record wins, and the next run works --------
clear_faults
run auth login --connection work "${SBO[@]}"
expect "refresh: login again" 0 "Connected 'work'"
expire_next; slow_token 2
"$VSRUN" -e "$ME" >"$TMP/a.out" 2>"$TMP/a.err" &
A=$!
wait_lock "$LOCK"
run auth login --connection work "${SBO[@]}"
expect "refresh: login during a refresh" 0 "Connected 'work'"
wait "$A"
run auth status work --check
expect "refresh: after login during a refresh the connection is healthy" 0 'Health: +Healthy'

# --- a vault that cannot be written: the refresh token is not spent ----------------------------
# (root writes into a 0500 directory, so under root this part runs as nobody, in its own vault)
VS=$VSRUN RO_HOME=$VSRUN_HOME
if [ "$(id -u)" = 0 ]; then
    chmod 711 "$TMP"
    RO_HOME=$TMP/nobody
    mkdir -m 700 "$RO_HOME" && chown 65534:65534 "$RO_HOME"
    printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "%s" "$@"\n' "$VSRUN" >"$TMP/as-nobody"
    chmod 755 "$TMP/as-nobody"
    VSRUN=$TMP/as-nobody VSRUN_HOME=$RO_HOME run auth login --connection work "${SBO[@]}"
    expect "refresh: login as nobody for the read-only case" 0 "Connected 'work'"
    VS=$TMP/as-nobody
fi
# a first refresh, so NAME.lock exists as it does in any vault that has refreshed
clear_faults; expire_next
VSRUN=$VS VSRUN_HOME=$RO_HOME run -e "$ME"
expect "refresh: a refresh before the vault becomes read-only" 0 '@'
expire_next
base=$(token_posts)
chmod 500 "$RO_HOME"
VSRUN=$VS VSRUN_HOME=$RO_HOME run -e "$ME"
expect "refresh: read-only vault is a config error (exit 2)" 2 '' 'refresh token was not spent'
say "refresh: read-only vault made no token request" '[ "$(token_posts)" -eq "$base" ]'
chmod 700 "$RO_HOME"
VSRUN=$VS VSRUN_HOME=$RO_HOME run auth status work --check
expect "refresh: the connection survived the read-only vault" 0 'Health: +Healthy'

# --- forced refreshes have a minimum interval: five 401s in one run, one grant -----------------
clear_faults
fault '{"match":{"method":"GET","path":"^/users/me$"},"count":5,"kind":"expire_token"}'
base=$(token_posts)
run -e 'local pd = require "pagerduty"
local n = 0
for _ = 1, 5 do if pcall(pd.get_user, "me") then n = n + 1 end end
return n'
say "refresh: five 401s in one run spend one refresh token" '[ "$(token_posts)" -eq $((base + 1)) ]' "$((  $(token_posts) - base )) grants"
clear_faults
run auth status work --check
expect "refresh: the connection is healthy after the refused refreshes" 0 'Health: +Healthy'

# --- a restored older record: its refresh token is dead, and auth status says why ------------------
clear_faults
cp -p "$VSRUN_HOME/work.conn" "$TMP/work.backup"
expire_next
run -e "$ME"
expect "refresh: a refresh after the backup" 0 '@'
cp -p "$TMP/work.backup" "$VSRUN_HOME/work.conn"
expire_next
run -e "$ME"
expect "refresh: the restored older record's refresh is refused" 3 '' 'vsrun auth reconnect work'
run auth status work
expect "refresh: auth status says the record is a restored older copy" 3 'Restored: +this record is an older copy'
run auth reconnect work --timeout 20
expect "refresh: reconnect after a restore" 0 "Reconnected 'work'"
run auth status work
say "refresh: after reconnect the restore note is gone" '! grep -q Restored <<<"$OUT"' "$OUT"

# --- reconnect keeps the scope that was asked for --------------------------------------------------
run auth login --connection ro --scope read "${SBO[@]}"
expect "refresh: read-only login" 0 "Connected 'ro'.*scope read"
run auth reconnect ro --timeout 20
expect "refresh: reconnect of a read connection" 0 "Reconnected 'ro'.*scope read"
authz=$(curl -s "$SB/__sandbox/requests?path=/oauth/authorize" | grep -o '"scope":"[^"]*"' | tail -n1)
say "refresh: reconnect asked for scope read again" '[ "$authz" = "\"scope\":\"read\"" ]' "$authz"

# --- an empty VSRUN_KEY is refused, not replaced by a new key file --------------------------------
VSRUN_HOME=$TMP/empty VSRUN_KEY= run auth login --connection e "${SBO[@]}"
expect "refresh: empty VSRUN_KEY refused (exit 2)" 2 '' 'VSRUN_KEY is set but empty'
say "refresh: empty VSRUN_KEY made no key file" '[ ! -e "$TMP/empty/key" ]'
VSRUN_KEY= run -e "$ME"
expect "refresh: empty VSRUN_KEY in a script run is a config error" 2 '' 'config: .*VSRUN_KEY is set but empty'
exit 0
