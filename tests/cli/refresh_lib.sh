# Shared by the token-refresh tests (source after lib.sh): a private vault with a random
# VSRUN_KEY, a `vsrun sandbox` as the identity server and API ($SB, client id $CID), a
# BROWSER that approves the login, and helpers; REFRESH_SANDBOX_ARGS adds sandbox options
# (e.g. --token-ttl 6). Not a test itself.
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
export VSRUN_HOME=$TMP/home
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export VSRUN_KEY
unset VSRUN_CLIENT_ID VSRUN_PASSPHRASE PAGERDUTY_TOKEN VSRUN_CLIENT_SECRET_FILE XDG_CONFIG_HOME
say() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1${3:+: $3}"; fi; }

"$VSRUN" sandbox --json ${REFRESH_SANDBOX_ARGS:-} >"$TMP/sb.json" 2>"$TMP/sb.err" &
PIDS="$PIDS $!"
for _ in $(seq 1200); do [ -s "$TMP/sb.json" ] && break; sleep 0.05; done   # up to 60 s (valgrind)
SB=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$TMP/sb.json" | head -n1)
CID=$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' "$TMP/sb.json" | head -n1)
[ -n "$SB" ] || { echo "FAIL refresh sandbox start: $(head -c 300 "$TMP/sb.err")"; exit 1; }
printf '%s\n' '#!/bin/sh' 'loc=$(curl -s -o /dev/null -w "%{redirect_url}" "$1")' 'curl -s -o /dev/null "$loc"' >"$TMP/follow.sh"
chmod +x "$TMP/follow.sh"
export BROWSER=$TMP/follow.sh
fault() { curl -s -X POST -d "$1" "$SB/__sandbox/faults" >/dev/null; }
token_posts() { curl -s "$SB/__sandbox/requests?method=POST&path=/oauth/token" | grep -o '"seq":' | wc -l; }
