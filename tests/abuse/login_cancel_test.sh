#!/usr/bin/env bash
# Cancelling someone's `vsrun auth login` (issue 16 item 8): any process on the machine can
# reach the loopback callback port. Forged callbacks with a wrong state (several, one with no
# state, one with error= and a wrong state) arrive before the real redirect; the login must
# ignore them and complete with the real one. Controls: the right state alone is accepted; a
# wrong state pasted by the user (--no-browser) still ends the login, so the checks below
# would see an aborted login; a denial with the right state still ends it (it is genuine).
. "$(dirname "$0")/../cli/lib.sh"

SB_PID=""
trap '[ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
export VSRUN_HOME=$TMP/home
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export VSRUN_KEY
unset BROWSER VSRUN_CLIENT_ID VSRUN_PASSPHRASE PAGERDUTY_TOKEN VSRUN_CLIENT_SECRET_FILE XDG_CONFIG_HOME
say() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1${3:+: $3}"; fi; }

"$VSRUN" sandbox --json >"$TMP/sb.json" 2>"$TMP/sb.err" &
SB_PID=$!
for _ in $(seq 200); do [ -s "$TMP/sb.json" ] && break; sleep 0.05; done
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$TMP/sb.json")
CID=$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' "$TMP/sb.json")
if [ -z "$URL" ] || [ -z "$CID" ]; then echo "FAIL login_cancel: sandbox start: $(head -c 400 "$TMP/sb.err")"; exit 1; fi
BASE=(--client-id "$CID" --api-url "$URL" --identity-url "$URL")
OPTS=("${BASE[@]}" --timeout 20)
token_posts() { curl -s "$URL/__sandbox/requests?method=POST&path=/oauth/token" | grep -o '"seq":' | wc -l; }

# The "browser" gets the authorize URL as $1. First it plays the attacker: it sends each
# query in $FORGED (one per line) to the callback, noting the status; then, unless
# $REAL is "none", it plays the user: follows the authorize URL to the real redirect, or
# sends the query in $REAL with the real state in place of STATE.
cat >"$TMP/browser.sh" <<SH
#!/bin/sh
redirect=\$(printf '%s' "\$1" | sed -n 's/.*redirect_uri=\([^&]*\).*/\1/p' | sed 's/%3A/:/g; s/%2F/\//g')
state=\$(printf '%s' "\$1" | sed -n 's/.*[?&]state=\([^&]*\).*/\1/p')
: >"$TMP/forged.status"
printf '%s\n' "\$FORGED" | while IFS= read -r q; do
    [ -n "\$q" ] && curl -s -o /dev/null -m 5 -w '%{http_code}\n' "\$redirect?\$q" >>"$TMP/forged.status"
done
case "\$REAL" in
    none) ;;
    follow) loc=\$(curl -s -o /dev/null -w '%{redirect_url}' "\$1"); curl -s -o /dev/null "\$loc" ;;
    *) q=\$(printf '%s' "\$REAL" | sed "s/STATE/\$state/"); curl -s -o /dev/null "\$redirect?\$q" ;;
esac
SH
chmod +x "$TMP/browser.sh"
export BROWSER=$TMP/browser.sh
FORGED_ALL='code=forged1&state=wrong
code=forged2&state=not-the-state
code=forged3&state=
code=forged4
error=access_denied&error_description=cancelled&state=wrong'

# --- controls ---------------------------------------------------------------------------------
before=$(token_posts)
FORGED='' REAL=follow run auth login --connection plain "${OPTS[@]}"
expect "login_cancel control: the right state alone is accepted" 0 "Connected 'plain'"
say "login_cancel control: one code exchanged" '[ "$(token_posts)" -eq $((before + 1)) ]'

mkfifo "$TMP/paste"
"$VSRUN" auth login --connection pasted --no-browser "${OPTS[@]}" <"$TMP/paste" >"$TMP/nb.out" 2>"$TMP/nb.err" &
nbpid=$!
exec 7>"$TMP/paste"
for _ in $(seq 200); do grep -q 'oauth/authorize' "$TMP/nb.err" 2>/dev/null && break; sleep 0.05; done
port=$(grep -o 'redirect_uri=http%3A%2F%2F127.0.0.1%3A[0-9]*' "$TMP/nb.err" | head -n1 | sed 's/.*%3A//')
printf 'http://127.0.0.1:%s/callback?code=pasted&state=wrong\n' "$port" >&7
wait $nbpid; RC=$?
exec 7>&-
OUT=$(cat "$TMP/nb.out"); ERR=$(cat "$TMP/nb.err")
expect "login_cancel control: a pasted wrong state still ends the login" 1 '' 'state does not match'

FORGED='' REAL='error=access_denied&state=STATE' run auth login --connection denied "${OPTS[@]}"
expect "login_cancel: a denial with the right state ends the login" 1 '' 'access_denied'

# --- the attack ---------------------------------------------------------------------------------
before=$(token_posts)
FORGED=$FORGED_ALL REAL=follow run auth login --connection attacked "${OPTS[@]}"
expect "login_cancel: forged callbacks first, then the real one: the login completes" 0 "Connected 'attacked'"
say "login_cancel: each forged callback was answered 400" \
    '[ "$(grep -c "^400$" "$TMP/forged.status")" = 5 ]' "$(tr '\n' ' ' <"$TMP/forged.status")"
say "login_cancel: each was reported as ignored" '[ "$(grep -c "ignored a callback" <<<"$ERR")" = 5 ]' "$ERR"
say "login_cancel: only the real code was exchanged" '[ "$(token_posts)" -eq $((before + 1)) ]'
say "login_cancel: no forged code reached the token endpoint" \
    '! curl -s "$URL/__sandbox/requests?method=POST&path=/oauth/token" | grep -q forged'
run auth status attacked
expect "login_cancel: the stored connection works" 0

FORGED=$FORGED_ALL REAL=none run auth login --connection waited "${BASE[@]}" --timeout 2
expect "login_cancel: with only forged callbacks the login waits until its timeout" 7 '' 'timed out after 2 s'
say "login_cancel: failed logins store nothing" '[ ! -e "$VSRUN_HOME/waited.conn" ] && [ ! -e "$VSRUN_HOME/denied.conn" ] && [ ! -e "$VSRUN_HOME/pasted.conn" ]'
