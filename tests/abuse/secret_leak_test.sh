# A script that tries to read a named secret back, or to make vsrun print it: everything
# a script can reach (the response, error objects, the http module, globals, loaded
# modules), stdout and stderr with -v, --dry-run, errors of a failed transfer, --output,
# and `vsrun secret list`. The bound origin itself can reflect the value (the echo below
# does, the control): choosing the origin is trusting it. Other origins never get it.
. "$(dirname "$0")/../cli/lib.sh"
. tests/abuse/secret_lib.sh
printf '%s' "$CANARY" | "$VSRUN" secret set dead --origin http://127.0.0.1:1 >/dev/null

# control: the echo on the bound origin reflects the value, and the walk below finds it
WALK='
  local seen, found = {}, {}
  local function walk(v, path)
    if type(v) == "string" then
      if v:find(CANARY, 1, true) then found[#found + 1] = path end
      return
    end
    if type(v) ~= "table" or seen[v] then return end
    seen[v] = true
    for k, x in pairs(v) do walk(k, path .. ".key"); walk(x, path .. "." .. tostring(k)) end
    local mt = getmetatable(v)
    if type(mt) == "table" then walk(mt, path .. ".<mt>") end
  end
  local function walk_all(...) for i, v in ipairs({ ... }) do walk(v, "arg" .. i) end end'
SCRIPT() {   # PATH: requests ORIGIN/PATH with the secret, then walks what Lua can reach
    printf '%s\n' "local CANARY = '$CANARY'" "$WALK" "
  local http = require 'http'
  local r = http.post('$ORIGIN$1', { auth = { bearer = 'svc' }, json = { q = 1 } })
  local ok, err = pcall(http.get, 'http://127.0.0.1:1/x', { auth = { bearer = 'dead' }, timeout = 30 })
  local ok2, err2 = pcall(http.get, '$EVIL/x', { auth = { bearer = 'svc' } })
  walk_all(r, err, err2, http, _G, package.loaded, require 'vsrun', require 'json')
  return { found = found, status = r.status, transfer = err.kind, other = err2.kind }"
}
SCRIPT /echo >"$TMP/echo.lua"
run -v "$TMP/echo.lua"
expect "control: an echo on the bound origin reflects the value, and the walk finds it" 0 '"found": \[' 
grep -qF "arg1.body" "$TMP/out" && echo "ok control: found in the response body" || _fail "walk control" "not found"

SCRIPT /quiet >"$TMP/quiet.lua"
run -v --output "$TMP/result.json" "$TMP/quiet.lua"
OUT=$(cat "$TMP/result.json")
expect "an origin that does not reflect: the value is in no Lua value" 0 '"found": \[\]|"found": \{\}'
expect "a failed transfer with a secret is a network error" 0 '"transfer": "network"'
expect "another origin is permission_denied" 0 '"other": "permission_denied"'
no_canary "no value in stderr, the -v log or --output" "$OUT" "$ERR"
grep -q "vsrun http: POST $ORIGIN/quiet -> 200" <<<"$ERR" && echo "ok control: the -v log has the request line" ||
    _fail "-v control" "no log line"

N=$(origin_got)
run --dry-run -v -e "return require('http').post('$ORIGIN/dry', { auth = { bearer = 'svc' }, body = 'x' }).status"
expect "--dry-run prints the write, not the value" 0 '^200$' "dry-run: POST $ORIGIN/dry"
no_canary "--dry-run: no value in the output" "$OUT" "$ERR"
[ "$(origin_got)" = "$N" ] && echo "ok --dry-run sent nothing" || _fail "dry-run sent" "the origin got a request"
run --dry-run -e "return require('http').post('$EVIL/dry', { auth = { bearer = 'svc' } }).status"
expect "--dry-run still refuses another origin" 4 '' 'permission_denied'

run secret list
expect "vsrun secret list names the secret" 0 "svc +$ORIGIN"
no_canary "vsrun secret list shows no value" "$OUT" "$ERR"
grep -rqF -- "$CANARY" "$VSRUN_HOME" && _fail "vault at rest" "the value is in a vault file in clear" ||
    echo "ok the vault holds no clear value"

# the value never travels in argv: `set` takes no value argument
run secret set other "$CANARY" --origin "$ORIGIN"
expect "a value given as an argument is refused" 2 '' "unexpected argument \(a secret's value is read from stdin"
no_canary "the refusal does not echo the value" "$OUT" "$ERR"
