#!/usr/bin/env bash
# vsrun auth against the real sandbox (its OAuth server and API) over real sockets: login
# through a scripted "browser", --no-browser with a pasted URL, callback edge cases, status/
# list/default/logout/reconnect, EU URLs, refresh before expiry, 8 concurrent refreshes,
# a revoked grant, and a canary search for every secret in everything captured.
. "$(dirname "$0")/lib.sh"

SB_PIDS=""
trap 'for p in $SB_PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
export VSRUN_HOME=$TMP/home
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export VSRUN_KEY
unset BROWSER VSRUN_CLIENT_ID VSRUN_PASSPHRASE PAGERDUTY_TOKEN VSRUN_CLIENT_SECRET_FILE XDG_CONFIG_HOME
mkdir -p "$TMP/cap"
NCAP=0
# every run's output is kept for the canary search at the end
keep() { NCAP=$((NCAP + 1)); printf '%s\n' "$OUT" >"$TMP/cap/$NCAP.out"; printf '%s\n' "$ERR" >"$TMP/cap/$NCAP.err"; }
vs() { run "$@"; keep; }
# vs_nokey: vs with VSRUN_KEY unset (an empty VSRUN_KEY is refused, not a way to unset it)
vs_nokey() { local k=$VSRUN_KEY; unset VSRUN_KEY; vs "$@"; VSRUN_KEY=$k; export VSRUN_KEY; }
say() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1${3:+: $3}"; fi; }

# start_sandbox VAR [options]: starts `vsrun sandbox --json` (the simulator wrapped so that it
# notes every code, verifier and token it sees in $SECRETS_FILE), sets VAR_URL, VAR_CID, VAR_PID
export SECRETS_FILE=$TMP/secrets
start_sandbox() {
    local var=$1; shift
    local out=$TMP/sandbox-$var.json line
    "$VSRUN" sandbox --json --handler tests/cli/fixtures/recording_sandbox.lua "$@" >"$out" 2>"$TMP/sandbox-$var.err" &
    local pid=$!
    SB_PIDS="$SB_PIDS $pid"
    for _ in $(seq 200); do [ -s "$out" ] && break; sleep 0.05; done
    line=$(head -n1 "$out")
    printf -v "${var}_PID" '%s' "$pid"
    printf -v "${var}_URL" '%s' "$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$line")"
    printf -v "${var}_CID" '%s' "$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' <<<"$line")"
}
# token_posts URL: how many POST /oauth/token the sandbox has seen
token_posts() { curl -s "$1/__sandbox/requests?method=POST&path=/oauth/token" | grep -o '"seq":' | wc -l; }

# Scripted browsers get the authorize URL as $1.
# follow.sh: authorize -> 302 -> our callback, like a browser that auto-approves
printf '%s\n' '#!/bin/sh' \
    'loc=$(curl -s -o /dev/null -w "%{redirect_url}" "$1")' \
    "curl -s -o \"$TMP/browser.html\" \"\$loc\"" >"$TMP/follow.sh"
# custom.sh: calls our callback directly with the query in $SCENARIO (STATE is replaced), after $DELAY
printf '%s\n' '#!/bin/sh' \
    "redirect=\$(printf '%s' \"\$1\" | sed -n 's/.*redirect_uri=\\([^&]*\\).*/\\1/p' | sed 's/%3A/:/g; s/%2F/\\//g')" \
    "state=\$(printf '%s' \"\$1\" | sed -n 's/.*[?&]state=\\([^&]*\\).*/\\1/p')" \
    '[ -n "$DELAY" ] && sleep "$DELAY"' \
    "q=\$(printf '%s' \"\$SCENARIO\" | sed \"s/STATE/\$state/\")" \
    "curl -s -o /dev/null -w '%{http_code}' \"\$redirect?\$q\" >\"$TMP/custom.status\"" \
    "echo done >>\"$TMP/custom.status\"" >"$TMP/custom.sh"
# twice.sh: completes the login, then replays a callback once the login is over
printf '%s\n' '#!/bin/sh' \
    "\"$TMP/follow.sh\" \"\$1\"" \
    "redirect=\$(printf '%s' \"\$1\" | sed -n 's/.*redirect_uri=\\([^&]*\\).*/\\1/p' | sed 's/%3A/:/g; s/%2F/\\//g')" \
    "state=\$(printf '%s' \"\$1\" | sed -n 's/.*[?&]state=\\([^&]*\\).*/\\1/p')" \
    'sleep 0.5' \
    "curl -s -o /dev/null -w '%{http_code}' \"\$redirect?code=replayed&state=\$state\" >\"$TMP/twice.status\"" \
    "echo >>\"$TMP/twice.status\"" >"$TMP/twice.sh"
chmod +x "$TMP/follow.sh" "$TMP/custom.sh" "$TMP/twice.sh"

start_sandbox SB
if [ -z "$SB_URL" ] || [ -z "$SB_CID" ]; then
    echo "FAIL auth sandbox start: $(head -c 400 "$TMP/sandbox-SB.err") $(head -c 300 "$TMP/sandbox-SB.json")"
    exit 1
fi
SBO=(--client-id "$SB_CID" --api-url "$SB_URL" --identity-url "$SB_URL" --timeout 20)

# --- usage errors, before anything is sent -------------------------------------------------
vs auth --help
expect "auth help explains app registration" 0 'App Registration'
say "auth help names VSRUN_KEY, PAGERDUTY_TOKEN and the loopback redirect" \
    'grep -q VSRUN_KEY <<<"$OUT" && grep -q PAGERDUTY_TOKEN <<<"$OUT" && grep -q 127.0.0.1/callback <<<"$OUT"'
vs auth login --api-url "$SB_URL" --identity-url "$SB_URL"
expect "auth login without a client id" 2 '' 'no OAuth client id: pass --client-id'
vs auth login --client-id x --region mars
expect "auth login bad region" 2 '' "--region must be 'us' or 'eu'"
vs auth login --client-id x --api-url http://api.example.com
expect "auth login refuses plain http to a remote host" 2 '' '--api-url must use https://'
vs auth login --client-id x --connection ../evil
expect "auth login bad connection name" 2 '' 'invalid connection name'
vs auth status
expect "auth status with no connections (the one default rule: exit 3, names the fix)" 3 '' 'no PagerDuty connection: run `vsrun auth login`'
vs auth list
expect "auth list empty" 0 'No connections'

# --- full login through the scripted browser -----------------------------------------------
export BROWSER=$TMP/follow.sh
vs auth login --connection work "${SBO[@]}"
expect "auth login through the browser" 0 "Connected 'work' as .+ <.+@.+> \\(region us, scope write\\)" 'Opening the browser'
say "auth callback page shown to the browser" 'grep -q "connected to PagerDuty" "$TMP/browser.html"'
say "auth vault record 0600 in a 0700 dir" \
    '[ "$(stat -c %a "$VSRUN_HOME/work.conn")" = 600 ] && [ "$(stat -c %a "$VSRUN_HOME")" = 700 ]'
authz=$(curl -s "$SB_URL/__sandbox/requests?path=/oauth/authorize")
say "auth authorize request uses S256 and a 127.0.0.1 redirect" \
    'grep -q "\"code_challenge_method\":\"S256\"" <<<"$authz" && grep -q "\"redirect_uri\":\"http://127.0.0.1:[0-9]*/callback\"" <<<"$authz"' \
    "${authz:0:300}"
# a public client: the sandbox refuses the exchange unless the verifier matches the challenge
tokreq=$(curl -s "$SB_URL/__sandbox/requests?path=/oauth/token")
say "auth code exchanged with a verifier the sandbox accepted" 'grep -q "\"status\":200" <<<"$tokreq"' "${tokreq:0:300}"

vs auth status work
expect "auth status" 0 'User: +.+ <.+@.+>'
say "auth status fields" 'grep -q "Region: *us" <<<"$OUT" && grep -q "Scope: *write" <<<"$OUT" &&
    grep -q "Access token: expires in" <<<"$OUT" && grep -q "Last refresh: just now" <<<"$OUT" && grep -q "(default)" <<<"$OUT"' "$OUT"
vs auth status --check
expect "auth status --check healthy" 0 'Health: +Healthy'
vs auth list
expect "auth list" 0 '^\* work +.+@.+ +us +connected +in '
# a script uses the connection (the token is attached in C)
vs -v --connection work -e 'return require("pagerduty").get_user("me").email'
expect "auth script uses the stored connection" 0 '@'

# scripts use the default connection when none is named
vs -e 'return require("pagerduty").get_user("me").email'
expect "auth script uses the default connection" 0 '@'
# the secret variables are gone before any script runs
vs -e 'return {key = os.getenv("VSRUN_KEY") or "unset", pass = os.getenv("VSRUN_PASSPHRASE") or "unset"}'
expect "auth VSRUN_KEY is not visible to scripts" 0 '"key": *"unset"'
# a 401 from the API (the sandbox expires the token early): one refresh, then the listing goes on
base=$(token_posts "$SB_URL")
curl -s -X POST -d '{"match":{"method":"GET","path":"^/incidents$"},"count":1,"kind":"expire_token"}' "$SB_URL/__sandbox/faults" >/dev/null
vs -v --connection work -e 'return #require("pagerduty").list_incidents{date_range = "all", limit = 150}:collect()'
expect "auth 401 during a listing: refreshed once and the listing completed" 0 '^150$'
say "auth 401 during a listing made exactly 1 refresh grant" '[ "$(token_posts "$SB_URL")" -eq $((base + 1)) ]'
say "auth 401 during a listing: the sandbox saw the 401" 'curl -s "$SB_URL/__sandbox/requests?path=/incidents" | grep -q "\"status\":401"'

# --- --no-browser: paste the final redirect URL on stdin -------------------------------------
unset BROWSER
mkfifo "$TMP/paste"
"$VSRUN" auth login --connection pasted --no-browser "${SBO[@]}" <"$TMP/paste" >"$TMP/nb.out" 2>"$TMP/nb.err" &
nbpid=$!
exec 7>"$TMP/paste"
for _ in $(seq 200); do grep -q 'oauth/authorize' "$TMP/nb.err" 2>/dev/null && break; sleep 0.05; done
url=$(grep -o 'http://[^ ]*/oauth/authorize?[^ ]*' "$TMP/nb.err" | head -n1)
final=$(curl -s -o /dev/null -w '%{redirect_url}' "$url")
printf 'not a url\n' >&7
sleep 0.2
printf '%s\n' "$final" >&7
wait $nbpid; RC=$?
exec 7>&-
OUT=$(cat "$TMP/nb.out"); ERR=$(cat "$TMP/nb.err"); keep
expect "auth --no-browser with a pasted redirect URL" 0 "Connected 'pasted'" 'paste the address'
say "auth --no-browser explains a bad paste" 'grep -q "that is not the redirect address" <<<"$ERR"'
vs auth list
expect "auth list two connections, default kept" 0 '^\* work'

# --- callback edge cases ---------------------------------------------------------------------
export BROWSER=$TMP/custom.sh
before=$(token_posts "$SB_URL")
# a wrong state is ignored (anyone on the machine can send one): the login waits on
SCENARIO='code=forged&state=not-the-state' vs auth login --connection x1 "${SBO[@]}" --timeout 2
expect "auth a callback with a wrong state is ignored until the timeout" 7 '' 'ignored a callback without this login.s state'
say "auth the wrong-state callback got an error page" '[ "$(head -c 3 "$TMP/custom.status")" = 400 ]' "$(cat "$TMP/custom.status")"
SCENARIO='state=STATE' vs auth login --connection x2 "${SBO[@]}"
expect "auth callback without a code" 1 '' 'carried no authorization code'
SCENARIO='error=access_denied&error_description=The+owner+denied&state=STATE' vs auth login --connection x3 "${SBO[@]}"
expect "auth error=access_denied" 1 '' 'did not authorize the connection: access_denied \(The owner denied\)'
say "auth failed callbacks exchange nothing" '[ "$(token_posts "$SB_URL")" = "$before" ]'
curl -s -X POST -d '{"deny":1}' "$SB_URL/__sandbox/oauth" >/dev/null
export BROWSER=$TMP/follow.sh
vs auth login --connection x4 "${SBO[@]}"
expect "auth the sandbox denies the authorization" 1 '' 'access_denied'
say "auth failed logins store nothing" \
    '[ ! -e "$VSRUN_HOME/x1.conn" ] && [ ! -e "$VSRUN_HOME/x2.conn" ] && [ ! -e "$VSRUN_HOME/x3.conn" ] && [ ! -e "$VSRUN_HOME/x4.conn" ]'
# a second callback after the login finished finds the listener closed
export BROWSER=$TMP/twice.sh
vs auth login --connection second "${SBO[@]}"
expect "auth login before a replayed callback" 0 "Connected 'second'"
for _ in $(seq 100); do [ -s "$TMP/twice.status" ] && break; sleep 0.05; done
st=$(head -n1 "$TMP/twice.status" 2>/dev/null)
say "auth second callback refused" '[ -n "$st" ] && [ "$st" != 200 ]' "status '$st'"
# a callback after the time limit
export BROWSER=$TMP/custom.sh
rm -f "$TMP/custom.status"
DELAY=2 SCENARIO='code=late&state=STATE' vs auth login --connection late "${SBO[@]}" --timeout 1
expect "auth login times out" 7 '' 'timed out after 1 s'
for _ in $(seq 100); do grep -q done "$TMP/custom.status" 2>/dev/null && break; sleep 0.05; done
st=$(head -c 3 "$TMP/custom.status" 2>/dev/null)
say "auth callback after the timeout is refused" '[ "$st" = 000 ]' "status '$st'"
export BROWSER=$TMP/follow.sh

# the client id: saved by the first login, or from VSRUN_CLIENT_ID
vs auth login --connection cfgid --api-url "$SB_URL" --identity-url "$SB_URL" --timeout 20
expect "auth client id from the config file saved by the first login" 0 "Connected 'cfgid'"
VSRUN_HOME=$TMP/home-env VSRUN_CLIENT_ID=$SB_CID vs auth login --connection envid --api-url "$SB_URL" --identity-url "$SB_URL" --timeout 20
expect "auth client id from VSRUN_CLIENT_ID" 0 "Connected 'envid'"
VSRUN_HOME=$TMP/home-env VSRUN_CLIENT_ID=unknown-app vs auth login --connection badid --api-url "$SB_URL" --identity-url "$SB_URL" --timeout 2
expect "auth unknown client id: the sign-in page refuses it" 7 '' 'timed out'

# --- default, EU ---------------------------------------------------------------------------
vs auth default pasted
expect "auth default NAME" 0 "Scripts now use 'pasted'"
vs auth status
expect "auth status uses the default" 0 'Connection: +pasted \(default\)'
vs auth --default work
expect "auth --default NAME" 0 "Scripts now use 'work'"
vs auth default nosuch
expect "auth default unknown" 2 '' "no connection named 'nosuch'"
vs auth login --connection eu1 --region eu "${SBO[@]}"
expect "auth EU login with an explicit API URL" 0 "Connected 'eu1' .*region eu"
vs auth status eu1
expect "auth EU status" 0 'Region: +eu'
vs auth login --connection eu2 --region eu --client-id "$SB_CID" --identity-url "$SB_URL" --timeout 20
expect "auth EU region defaults to api.eu.pagerduty.com" 6 '' 'https://api.eu.pagerduty.com/users/me'

# --- a confidential client: the secret file is used for the exchange and for refreshes -------
printf 'conf+secret/%s\n' "$RANDOM$RANDOM" >"$TMP/client-secret"
chmod 600 "$TMP/client-secret"
head -n1 "$TMP/client-secret" >>"$SECRETS_FILE"
curl -s -X POST -d "{\"client_id\":\"conf-app\",\"client_secret\":\"$(head -n1 "$TMP/client-secret")\"}" "$SB_URL/__sandbox/clients" >/dev/null
vs auth login --connection conf --client-id conf-app --client-secret-file "$TMP/client-secret" --api-url "$SB_URL" --identity-url "$SB_URL"
expect "auth confidential client login" 0 "Connected 'conf'"
base=$(token_posts "$SB_URL")
curl -s -X POST -d '{"match":{"method":"GET","path":"^/users/me$"},"count":1,"kind":"expire_token"}' "$SB_URL/__sandbox/faults" >/dev/null
vs --connection conf -e 'return require("pagerduty").get_user("me").email'
expect "auth confidential client refresh" 0 '@'
say "auth confidential client refreshed once" '[ "$(token_posts "$SB_URL")" -eq $((base + 1)) ]'
printf 'wrong-secret\n' >"$TMP/wrong-secret"
vs auth login --connection conf2 --client-id conf-app --client-secret-file "$TMP/wrong-secret" --api-url "$SB_URL" --identity-url "$SB_URL"
expect "auth wrong client secret" 1 '' 'refused the token request \(HTTP 401\): invalid_client'
vs auth login --connection conf3 --client-id conf-app --client-secret-file "$TMP/nonexistent" --api-url "$SB_URL" --identity-url "$SB_URL"
expect "auth missing client secret file" 2 '' 'cannot read the client secret file'

# --- other keys: a passphrase (scrypt), and the key file made on first use ----------------------
PASS="canary passphrase $RANDOM$RANDOM"
printf '%s\n' "$PASS" >>"$SECRETS_FILE"
VSRUN_HOME=$TMP/home-pass VSRUN_PASSPHRASE=$PASS vs_nokey auth login --connection p1 "${SBO[@]}"
expect "auth login with VSRUN_PASSPHRASE" 0 "Connected 'p1'"
VSRUN_HOME=$TMP/home-pass VSRUN_PASSPHRASE=$PASS vs_nokey auth status --check
expect "auth status with VSRUN_PASSPHRASE" 0 'Health: +Healthy'
say "auth passphrase vault has no key file" '[ ! -e "$TMP/home-pass/key" ]'
# a script run on a passphrase vault: a refresh mid-run reads and reseals the record
# (with the passphrase key, not a new key file)
base=$(token_posts "$SB_URL")
curl -s -X POST -d '{"match":{"method":"GET","path":"^/incidents$"},"count":1,"kind":"expire_token"}' "$SB_URL/__sandbox/faults" >/dev/null
VSRUN_HOME=$TMP/home-pass VSRUN_PASSPHRASE=$PASS vs_nokey -e 'return #require("pagerduty").list_incidents{date_range = "all", limit = 30}:collect()'
expect "auth passphrase script run refreshes its connection" 0 '^30$'
say "auth passphrase script run made exactly 1 refresh grant" '[ "$(token_posts "$SB_URL")" -eq $((base + 1)) ]'
VSRUN_HOME=$TMP/home-pass VSRUN_PASSPHRASE=$PASS vs_nokey auth status --check
expect "auth passphrase record resealed by the script run still opens" 0 'Health: +Healthy'
say "auth passphrase record resealed with the passphrase key (still no key file)" '[ ! -e "$TMP/home-pass/key" ]'
VSRUN_HOME=$TMP/home-pass vs_nokey auth status
expect "auth passphrase needed (a config error, exit 2)" 2 '' "sealed with a passphrase: set VSRUN_PASSPHRASE"
VSRUN_HOME=$TMP/home-pass VSRUN_PASSPHRASE=wrong vs_nokey auth status
expect "auth wrong passphrase" 1 '' "vault record 'p1' is damaged or was written with another key"
VSRUN_HOME=$TMP/home-kf vs_nokey auth login --connection k1 "${SBO[@]}"
expect "auth login with a key file" 0 "Connected 'k1'"
say "auth key file created 0600" '[ "$(stat -c %a "$TMP/home-kf/key")" = 600 ] && [ "$(stat -c %s "$TMP/home-kf/key")" = 32 ]'
VSRUN_HOME=$TMP/home-kf VSRUN_KEY=$(base64 -w0 "$TMP/home-kf/key") vs auth status --check
expect "auth the key file as VSRUN_KEY (headless copy)" 0 'Health: +Healthy'
chmod 644 "$TMP/home-kf/key"
VSRUN_HOME=$TMP/home-kf vs_nokey auth status
expect "auth refuses a readable key file with the chmod" 1 '' "chmod 600 $TMP/home-kf/key"
base64 -w0 "$TMP/home-kf/key" >>"$SECRETS_FILE"; echo >>"$SECRETS_FILE"

# default endpoints: sign-in always at identity.pagerduty.com; the API by region (no network
# needed: the printed address is checked, then the login times out)
vs auth login --connection d1 --client-id some-app --no-browser --timeout 1
expect "auth US default sign-in URL" 7 '' 'https://identity\.pagerduty\.com/oauth/authorize\?client_id=some-app&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A[0-9]+%2Fcallback&response_type=code&scope=write&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256&state=[A-Za-z0-9_-]{43}'
vs auth login --connection d2 --client-id some-app --region eu --scope read --no-browser --timeout 1
expect "auth EU default sign-in URL is the global identity host" 7 '' 'https://identity\.pagerduty\.com/oauth/authorize\?client_id=some-app&.*scope=read'
# logging in again under the same name withdraws the replaced grant
before=$(curl -s "$SB_URL/__sandbox/requests?path=/oauth/revoke" | grep -o '"seq":' | wc -l)
vs auth login --connection eu1 --region eu "${SBO[@]}"
expect "auth login again under the same name" 0 "Connected 'eu1'"
say "auth the replaced grant was revoked" '[ "$(curl -s "$SB_URL/__sandbox/requests?path=/oauth/revoke" | grep -o "\"seq\":" | wc -l)" -gt "$before" ]'
vs auth status eu1 --check
expect "auth the new grant still works" 0 'Health: +Healthy'

# --- logout ----------------------------------------------------------------------------------
revokes() { curl -s "$SB_URL/__sandbox/requests?path=/oauth/revoke" | grep -o '"seq":' | wc -l; }
before=$(revokes)
vs auth logout second
expect "auth logout revokes and deletes" 0 "Disconnected 'second'"
say "auth logout called /oauth/revoke" '[ "$(revokes)" -gt "$before" ] && [ ! -e "$VSRUN_HOME/second.conn" ] && grep -q "Revoked the tokens" <<<"$OUT"'
vs auth logout second
expect "auth logout unknown" 2 '' "no connection named 'second'"

# --- refresh: before expiry, 8 processes at once, revoked grant --------------------------------
start_sandbox SH --token-ttl 4
SHO=(--client-id "$SH_CID" --api-url "$SH_URL" --identity-url "$SH_URL" --timeout 20)
vs auth login --connection short "${SHO[@]}"
expect "auth login with 4 s tokens" 0 "Connected 'short'"
base=$(token_posts "$SH_URL")
sleep 3.2   # inside the leeway (a quarter of the lifetime), before the token expires
vs auth status short --check
expect "auth refresh before expiry" 0 'Health: +Healthy'
say "auth refreshed once before expiry" '[ "$(token_posts "$SH_URL")" -eq $((base + 1)) ]'
say "auth no 401 seen (the refresh came first)" '! curl -s "$SH_URL/__sandbox/requests?path=/users/me" | grep -q "\"status\":401"'
sleep 4.2   # now expired
base=$(token_posts "$SH_URL")
pids=""
for i in 1 2 3 4; do
    "$VSRUN" auth status short --check >"$TMP/cap/par$i.out" 2>"$TMP/cap/par$i.err" &
    pids="$pids $!"
    "$VSRUN" --connection short -e 'return "Health: Healthy " .. require("pagerduty").get_user("me").id' \
        >"$TMP/cap/par$i.script.out" 2>"$TMP/cap/par$i.script.err" &
    pids="$pids $!"
done
okc=0
for p in $pids; do wait "$p" && okc=$((okc + 1)); done
healthy=$(cat "$TMP"/cap/par*.out | grep -c 'Health: *Healthy')
grants=$(($(token_posts "$SH_URL") - base))
say "auth 8 concurrent processes all succeed" '[ "$okc" = 8 ] && [ "$healthy" = 8 ]' "$okc exits ok, $healthy healthy"
say "auth 8 concurrent processes make exactly 1 refresh grant" '[ "$grants" = 1 ]' "$grants grants"
# a script refreshes an expired token too (through the pagerduty module)
sleep 4.2
vs --connection short -v -e 'return require("pagerduty").get_user("me").id'
expect "auth script with an expired token refreshes" 0 '"P'
# revoked grant: the refresh gets invalid_grant
curl -s -X POST -d '{}' "$SH_URL/__sandbox/revoke_refresh" >/dev/null
sleep 4.2
vs auth status short --check
expect "auth revoked grant: status --check exit 3" 3 "Unhealthy .*PagerDuty connection 'short' was lost .* run \`vsrun auth reconnect short\`"
say "auth revoked grant marks the connection disconnected" 'grep -q "State: *disconnected" <<<"$OUT"'
base=$(token_posts "$SH_URL")
vs --connection short -e 'return require("pagerduty").get_user("me").id'
expect "auth revoked grant: script exit 3 with the reconnect message" 3 '' "PagerDuty connection 'short' was lost"
say "auth a disconnected connection makes no refresh retries" '[ "$(token_posts "$SH_URL")" = "$base" ]'
vs auth reconnect short
expect "auth reconnect" 0 "Reconnected 'short'"
vs auth status short --check
expect "auth healthy after reconnect" 0 'Health: +Healthy'
# the identity server failing during a refresh is a transient network error (exit 6), not a
# lost connection: the record stays connected and a later run refreshes normally
sleep 4.2
curl -s -X POST -d '{"kind":"status","status":503,"count":20,"match":{"method":"POST","path":"^/oauth/token$"}}' "$SH_URL/__sandbox/faults" >/dev/null
vs --connection short -e 'return require("pagerduty").get_user("me").id'
expect "auth refresh against a failing identity server: exit 6" 6 '' "could not refresh the token of connection 'short'"
say "auth a failed refresh does not say reconnect" '! grep -q "auth reconnect" <<<"$ERR"'
curl -s -X DELETE "$SH_URL/__sandbox/faults" >/dev/null
vs auth status short --check
expect "auth still connected after a transient refresh failure" 0 'Health: +Healthy'

# logout when the identity server is gone: reported, deleted anyway
kill "$SH_PID"; wait "$SH_PID" 2>/dev/null
vs auth logout short
expect "auth logout with the server down still deletes" 0 "Disconnected 'short'" 'could not revoke'
say "auth logout removed the record" '[ ! -e "$VSRUN_HOME/short.conn" ]'

# --- damaged record, wrong key, permissions ----------------------------------------------------
cp "$VSRUN_HOME/work.conn" "$TMP/work.bak"
printf 'x' | dd of="$VSRUN_HOME/work.conn" bs=1 seek=60 conv=notrunc 2>/dev/null
vs auth status work
expect "auth damaged record" 1 '' "vault record 'work' is damaged or was written with another key"
cp "$TMP/work.bak" "$VSRUN_HOME/work.conn"
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0) vs auth status work
expect "auth wrong key" 1 '' "vault record 'work' is damaged or was written with another key"
chmod 644 "$VSRUN_HOME/work.conn"
vs auth status work
expect "auth refuses a readable record with the chmod" 1 '' "chmod 600 $VSRUN_HOME/work.conn"
chmod 600 "$VSRUN_HOME/work.conn"

# --- canary: no token, refresh token, code or verifier anywhere --------------------------------
# failing requests with the request log on, too
vs -v --connection work -e 'return require("pagerduty").get_incident("PNOSUCH")'
expect "auth verbose failing request" 1 '' 'PNOSUCH'
vs -v --connection nosuch -e 'return require("pagerduty").get_user("me")'
expect "auth unknown connection in a script" 3 '' "no PagerDuty connection named 'nosuch'"
# the sandbox noted every code, verifier, access and refresh token that crossed it; the
# client secret, passphrase and keys were added above
printf '%s\n' "$VSRUN_KEY" >>"$SECRETS_FILE"
nsecrets=$(grep -c . "$SECRETS_FILE")
hits=0
while read -r secret; do
    [ -n "$secret" ] || continue
    hits=$((hits + $(grep -rlaF -- "$secret" "$TMP/cap" "$VSRUN_HOME" | wc -l)))
done <"$SECRETS_FILE"
say "auth canary: no code, verifier or token in any output, log or the vault" '[ "$nsecrets" -ge 20 ] && [ "$hits" = 0 ]' \
    "$hits hits of $nsecrets secrets"
say "auth canary: no sandbox token prefix anywhere" '! grep -rqa "pdsbx" "$TMP/cap" "$VSRUN_HOME"'
