#!/usr/bin/env bash
# A vault copied to another machine: `auth status` there says the record was written on
# another machine and how to log in instead; on the machine that logged in it says nothing.
# (VSRUN_MACHINE_ID stands for the machine's identity.)
. "$(dirname "$0")/lib.sh"

SB_PID=
trap '[ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
export VSRUN_HOME=$TMP/home
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export VSRUN_KEY
unset VSRUN_CLIENT_ID VSRUN_PASSPHRASE PAGERDUTY_TOKEN VSRUN_CLIENT_SECRET_FILE XDG_CONFIG_HOME

"$VSRUN" sandbox --json >"$TMP/sb.json" 2>"$TMP/sb.err" &
SB_PID=$!
for _ in $(seq 200); do [ -s "$TMP/sb.json" ] && break; sleep 0.05; done
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$TMP/sb.json")
CID=$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' "$TMP/sb.json")
# a "browser" that approves: authorize -> 302 -> our callback
printf '%s\n' '#!/bin/sh' 'loc=$(curl -s -o /dev/null -w "%{redirect_url}" "$1")' 'curl -s -o /dev/null "$loc"' >"$TMP/browser.sh"
chmod +x "$TMP/browser.sh"

BROWSER=$TMP/browser.sh VSRUN_MACHINE_ID=machine-a run auth login --connection ops --client-id "$CID" \
    --api-url "$URL" --identity-url "$URL" --timeout 20
expect "login on machine A" 0 "Connected 'ops'"

VSRUN_MACHINE_ID=machine-a run auth status ops
expect "status on machine A" 0 'State: +connected'
if grep -q '^Copied:' <<<"$OUT"; then _fail "machine A: no copy warning" "warned"; else echo "ok machine A: no copy warning"; fi

cp -a "$TMP/home" "$TMP/home-b"
VSRUN_HOME=$TMP/home-b VSRUN_MACHINE_ID=machine-b run auth status ops
expect "a copy on machine B is noticed" 0 'Copied: +this record was written on another machine'
expect "the warning says what to do" 0 'vsrun auth login --no-browser --connection ops'

# the hint is part of the docs people read
run auth --help
expect "auth --help recommends --no-browser on servers" 0 'vsrun auth login --no-browser. on the server'
expect "auth --help warns against copying" 0 'do not copy a vault between machines'
