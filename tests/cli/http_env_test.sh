# The http client and its environment: TLS verification against a self-signed server
# (openssl s_server), the CA bundle from CURL_CA_BUNDLE / SSL_CERT_FILE, host name checks,
# and proxies from http_proxy / no_proxy (the far end is a second vsrun process).
. "$(dirname "$0")/lib.sh"
F=tests/cli/fixtures
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# run_env VAR=VALUE... -- vsrun-args...: like run, with CA/proxy variables reset first
run_env() {
    local vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    env -u SSL_CERT_FILE -u CURL_CA_BUNDLE -u SSL_CERT_DIR -u http_proxy -u https_proxy \
        -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY "${vars[@]}" \
        "$VSRUN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?
    OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
}

# ---- TLS: a self-signed certificate for IP 127.0.0.1 ----
if ! command -v openssl >/dev/null; then
    echo "FAIL tls tests: openssl is missing (vendor/packages.txt)"
else
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
    openssl s_server -cert "$TMP/cert.pem" -key "$TMP/key.pem" -accept 0 -www >"$TMP/tls.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q '^ACCEPT' "$TMP/tls.out" && break; sleep 0.05; done
    tls_port=$(grep -m1 '^ACCEPT' "$TMP/tls.out" | grep -o '[0-9]*$')
    GET="return require('http').get('https://127.0.0.1:$tls_port/').status"

    run_env -- -e "$GET"
    expect "tls: a self-signed server is refused (kind tls, exit 6)" 6 '' '^vsrun: tls: GET https://127\.0\.0\.1:[0-9]+/: SSL certificate problem'
    run_env CURL_CA_BUNDLE="$TMP/cert.pem" -- -e "$GET"
    expect "tls: CURL_CA_BUNDLE names the trusted CA" 0 '^200$'
    run_env SSL_CERT_FILE="$TMP/cert.pem" -- -e "$GET"
    expect "tls: SSL_CERT_FILE names the trusted CA" 0 '^200$'
    run_env CURL_CA_BUNDLE="$TMP/cert.pem" SSL_CERT_FILE=/nonexistent -- -e "$GET"
    expect "tls: CURL_CA_BUNDLE wins over SSL_CERT_FILE, as in curl" 0 '^200$'
    run_env CURL_CA_BUNDLE="$TMP/cert.pem" -- -e "return require('http').get('https://localhost:$tls_port/').status"
    expect "tls: the host name is checked even with a trusted CA" 6 '' '^vsrun: tls: .*localhost'
fi

# ---- proxies ----
"$VSRUN" $F/http_serve.lua >"$TMP/far.url" 2>"$TMP/far.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$TMP/far.url" ] && break; sleep 0.05; done
far=$(head -1 "$TMP/far.url")

run_env http_proxy="$far" -- -e "local r = require('http').get('http://proxied.invalid/p?q=1') return { r.status, r:json().path, r:json().headers.host }"
expect "proxy: http_proxy carries plain-HTTP requests" 0 '"http://proxied.invalid/p"'
grep -q '"proxied.invalid"' <<<"$OUT" && echo "ok proxy: Host names the origin" || _fail "proxy: Host names the origin" "no host"
run_env http_proxy=http://127.0.0.1:1 -- -e "return require('http').get('$far/direct').status"
expect "proxy: a dead http_proxy fails the request (so it is used)" 6 '' '^vsrun: network: .*127\.0\.0\.1 port 1'
run_env http_proxy=http://127.0.0.1:1 no_proxy=127.0.0.1 -- -e "return require('http').get('$far/direct'):json().path"
expect "proxy: no_proxy bypasses it" 0 '^"/direct"$'
