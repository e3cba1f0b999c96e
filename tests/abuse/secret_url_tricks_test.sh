# URLs that look like a named secret's origin but are not: another host that starts or
# ends with its name, user@host, '#@' and '?@' tricks, a trailing dot, a look-alike
# (Cyrillic) letter, another port or scheme. Each is refused before anything is sent, as
# curl itself parses the URL. Names that do not resolve here go through a recording proxy
# (far_end.py in proxy mode): a request the check let through shows up as a CONNECT there.
. "$(dirname "$0")/../cli/lib.sh"
. tests/abuse/secret_lib.sh

mkdir -p "$TMP/proxy"
python3 tests/abuse/far_end.py "$TMP/proxy" proxy & SECRET_PIDS+=("$!")
export https_proxy="http://127.0.0.1:$(wait_port "$TMP/proxy")" http_proxy="$https_proxy"
printf '%s' "$CANARY" | "$VSRUN" secret set api --origin https://api.example.com >/dev/null
connects() { cat "$TMP/proxy"/conn-* 2>/dev/null | grep -ac '^CONNECT '; }
try() {   # URL AUTH-NAME: the request's error kind, or its status
    run -e "local ok, r = pcall(require('http').get, '$1', { auth = ${2:-nil}, timeout = 60 })
            return ok and r.status or r.kind"
}

# controls: the proxy records what reaches it, and the right origin passes the check (its
# request goes out: the proxy refuses the tunnel, a network error, not permission_denied)
try "https://api.example.com.evil.com/x"
expect "control: without auth the look-alike host is contacted" 0 '^"network"$'
[ "$(connects)" = 1 ] && echo "ok control: the proxy records the CONNECT" || _fail "proxy control" "$(connects) CONNECTs"
for url in "https://api.example.com/v1" "https://API.Example.COM/v1" "https://api.example.com:443/v1"; do
    try "$url" '{ bearer = "api" }'
    expect "control: $url is the bound origin (sent)" 0 '^"network"$'
done
[ "$(connects)" = 4 ] && echo "ok control: the bound origin's requests went out" || _fail "bound control" "$(connects) CONNECTs"

for url in "https://api.example.com.evil.com/" "https://evil.com/api.example.com" "https://api.example.com:8443/" \
           "http://api.example.com/" "https://api.example.com./" "https://evil.com#@api.example.com/" \
           "https://evil.com?@api.example.com/" "https://api-example.com/" \
           "https://api.example.co/" "https://evil.api.example.com/"; do
    try "$url" '{ bearer = "api" }'
    expect "$url is refused (permission_denied)" 0 '^"permission_denied"$'
    no_canary "$url: no value in the error" "$OUT" "$ERR"
done
try "https://apі.example.com/" '{ bearer = "api" }'
expect "a look-alike Cyrillic letter in the host is refused (not plain ASCII)" 0 '^"invalid_argument"$'
for url in "https://api.example.com@evil.com/" "https://api.example.com:443@evil.com/" "https://u:p@api.example.com/"; do
    try "$url" '{ header = "X-Api-Key", secret = "api" }'
    expect "$url is refused (a user name in the URL)" 0 '^"invalid_argument"$'
done
[ "$(connects)" = 4 ] && echo "ok nothing refused reached the network" || _fail "refused sent" "$(( $(connects) - 4 )) CONNECTs"

# the same with real sockets: the bound origin on loopback, the attacker on another port
unset https_proxy http_proxy
for url in "$EVIL/x" "http://127.0.0.1:$ORIGIN_PORT@127.0.0.1:$EVIL_PORT/x" "http://localhost:$EVIL_PORT/x"; do
    try "$url" '{ bearer = "svc" }'
    expect "$url is refused" 0 '^"(permission_denied|invalid_argument)"$'
done
try "http://localhost:$ORIGIN_PORT/x" '{ bearer = "svc" }'
expect "another name for the bound server is another origin" 0 '^"permission_denied"$'
[ "$(evil_got)" = 0 ] && echo "ok the attacker's port received nothing" || _fail "evil received" "$(evil_got) bytes"
try "$ORIGIN/x" '{ bearer = "svc" }'
expect "control: the bound origin itself is answered" 0 '^200$'
