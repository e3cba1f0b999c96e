# Helpers for the vsrun serve tests: source after lib.sh.
# start_serve NAME ARGS...: runs `vsrun serve ARGS` in the background and waits for its URL
# on stdout; sets SV_PID and URL. Its stderr (the JSON run log) is $TMP/NAME.err.
start_serve() {
    local name=$1; shift
    : >"$TMP/$name.out"
    TMPDIR=$TMP "$VSRUN" serve "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &   # a killed server leaves its run directory there
    SV_PID=$!
    URL=
    for _ in $(seq 1 500); do
        URL=$(head -n 1 "$TMP/$name.out" 2>/dev/null)
        [ -n "$URL" ] && return 0
        kill -0 "$SV_PID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}
# stop_serve NAME SIGNAL: signals the server and waits; sets RC, OUT, ERR
stop_serve() {
    kill -"$2" "$SV_PID" 2>/dev/null
    wait "$SV_PID"
    RC=$?
    OUT=$(cat "$TMP/$1.out"); ERR=$(cat "$TMP/$1.err")
}
# pd_sig SECRET BODY: the hex HMAC-SHA256 PagerDuty puts after v1=
pd_sig() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | awk '{print $NF}'; }
# post PATH BODY [curl args...]: POSTs to the server; sets CODE and REPLY
post() {
    local path=$1 body=$2; shift 2
    CODE=$(curl -sS -o "$TMP/reply" -w '%{http_code}' -X POST --data-binary "$body" "$@" "$URL$path" 2>"$TMP/curl.err")
    REPLY=$(cat "$TMP/reply" 2>/dev/null)
}
# post_pd ROUTE SECRET BODY: a PagerDuty-signed POST
post_pd() { post "/hooks/$1" "$3" -H "X-PagerDuty-Signature: v1=$(pd_sig "$2" "$3")" -H 'Content-Type: application/json'; }
# wait_until SECONDS CMD...: polls CMD every 0.05 s; 0 once it succeeds, 1 if it never did
wait_until() {
    local n=$(( $1 * 20 )); shift
    for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.05; done
    return 1
}
# check NAME CMD...: ok when CMD succeeds
check() {
    local name=$1; shift
    if "$@"; then echo "ok $name"; else echo "FAIL $name: '$*' was false"; echo "    reply: ${REPLY:0:300}"; fi
}
# expect_code NAME WANT: checks the last post's status
expect_code() {
    if [ "$CODE" = "$2" ]; then echo "ok $1"; else echo "FAIL $1: status $CODE, expected $2"; echo "    reply: ${REPLY:0:300}"; fi
}
# runs_with STORE STATUS: how many runs of the store have STATUS
runs_with() { "$VSRUN" runs list --store "$1" --status "$2" --limit 100000 --json | grep -c '' ; }
# no_sanitizer_report FILE: the server's stderr has no ASan/UBSan or valgrind report
no_sanitizer_report() {
    ! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|^==[0-9]+== (Invalid|Conditional|Use of|.*definitely lost)' "$1"
}
