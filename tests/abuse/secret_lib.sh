# Set-up shared by the named-secret attack tests: a vault of their own holding secret
# `svc` (a recognisable canary value) bound to ORIGIN (an echo server that reflects every
# request, tests/abuse/echo_origin.py), and an attacker's far end (far_end.py) at EVIL that
# records every byte it receives. Source after tests/cli/lib.sh.
SECRET_PIDS=()
trap 'for p in "${SECRET_PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
unset VSRUN_ALLOW_NET http_proxy https_proxy HTTP_PROXY HTTPS_PROXY PAGERDUTY_TOKEN VSRUN_PASSPHRASE
export VSRUN_HOME="$TMP/vault" VSRUN_KEY
VSRUN_KEY=$(openssl rand -base64 32)
CANARY="sk-CANARY-$(openssl rand -hex 8)"

wait_port() {   # DIR: waits (up to 60 s, valgrind-slow machines too) for DIR/port
    for _ in $(seq 600); do [ -s "$1/port" ] && break; sleep 0.1; done
    cat "$1/port"
}
mkdir -p "$TMP/origin" "$TMP/evil"
python3 tests/abuse/echo_origin.py "$TMP/origin" & SECRET_PIDS+=("$!")
python3 tests/abuse/far_end.py "$TMP/evil" & SECRET_PIDS+=("$!")
ORIGIN_PORT=$(wait_port "$TMP/origin")
EVIL_PORT=$(wait_port "$TMP/evil")
ORIGIN="http://127.0.0.1:$ORIGIN_PORT"
EVIL="http://127.0.0.1:$EVIL_PORT"
printf '%s' "$CANARY" | "$VSRUN" secret set svc --origin "$ORIGIN" >/dev/null

# evil_got: how many bytes the attacker's far end has received in all
evil_got() { cat "$TMP/evil"/conn-* 2>/dev/null | wc -c; }
# origin_got: how many requests reached the bound origin
origin_got() { cat "$TMP/origin/requests" 2>/dev/null | grep -c ''; }
# no_canary NAME TEXT...: the canary is in none of the texts
no_canary() {
    local name=$1; shift
    if printf '%s' "$*" | grep -qF -- "$CANARY"; then _fail "$name" "the secret's value is there"; else echo "ok $name"; fi
}
