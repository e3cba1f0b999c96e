#!/usr/bin/env bash
# Attack: a --strict script reads files anyway. A KEY="value" secrets file is valid Lua, so
# anything that loads a file as a chunk hands its values to a _G metamethod: the internal
# vsrun.core.loadfile, a rewritten package.path (or cpath, searchers, a replaced `package`,
# rawset), or t.script under `vsrun test --strict`. Each is refused under --strict; the
# controls run the same code without --strict and do get the secret, so the check notices.
. "$(dirname "$0")/../cli/lib.sh"

SECRET="pwcanary_$(date +%s%N)"
mkdir -p "$TMP/team"
printf 'PASSWORD="%s"\nUSER="ops"\n' "$SECRET" >"$TMP/team/team-secrets.env"
printf 'PASSWORD="%s"\n' "$SECRET" >"$TMP/team/creds.lua"

# every attack runs with _G capturing the globals a loaded file assigns
cat >"$TMP/capture.lua" <<'EOF'
local attack, dir = (...).attack, (...).dir
local captured = {}
setmetatable(_G, { __newindex = function(_, k, v) captured[#captured + 1] = tostring(k) .. "=" .. tostring(v) end })
local attacks = {
  core_loadfile = function()
    local f = assert(require("vsrun.core").loadfile(dir .. "/team-secrets.env"))
    f()
  end,
  package_path = function()
    package.path = dir .. "/?.env"
    require "team-secrets"
  end,
  rawset_path = function()
    rawset(package, "path", dir .. "/?.env")
    require "team-secrets"
  end,
  searchers = function()
    table.insert(package.searchers, 1, function(name)
      return assert(require("vsrun.core").loadfile(dir .. "/" .. name .. ".env"))
    end)
    require "team-secrets"
  end,
  replace_package = function()
    local function searchpath(name, path) return (path:gsub("%?", name)) end
    rawset(_G, "package", { path = dir .. "/?.env", searchers = package.searchers, loaded = {}, searchpath = searchpath })
    require "team-secrets"
  end,
  searchpath = function()
    assert(package.searchpath("team-secrets", dir .. "/?.env"), "no searchpath result")
    error("searchpath found the file (an existence probe)")
  end,
}
local ok, err = pcall(attacks[attack])
setmetatable(_G, nil)
return { ok = ok, err = tostring(err), captured = captured }
EOF

for attack in core_loadfile package_path rawset_path searchers replace_package; do
    run "$TMP/capture.lua" attack=$attack dir="$TMP/team"
    if [ "$attack" = replace_package ]; then
        # a replaced global `package` is not what require reads, in any mode
        expect "replacing the global package changes nothing (normal mode)" 0 '"ok": false'
        grep -q "$SECRET" <<<"$OUT" && _fail "replace_package normal" "secret read" || echo "ok no secret through a replaced package"
    else
        expect "control: $attack reads the secrets file without --strict" 0 "PASSWORD=$SECRET"
    fi
    run --strict "$TMP/capture.lua" attack=$attack dir="$TMP/team"
    expect "--strict: $attack is refused" 0 '"ok": false'
    grep -q "$SECRET" <<<"$OUT$ERR" && _fail "--strict $attack" "the secret was read" || echo "ok --strict: $attack reads no secret"
done

run --strict "$TMP/capture.lua" attack=core_loadfile dir="$TMP/team"
expect "--strict: internal modules are refused by name" 0 "module 'vsrun.core' is internal to vsrun and not available under --strict"
run --strict "$TMP/capture.lua" attack=package_path dir="$TMP/team"
expect "--strict: package.path is read-only" 0 "package \(under --strict\) is read-only \(cannot set 'path'\)"
run --strict "$TMP/capture.lua" attack=rawset_path dir="$TMP/team"
expect "--strict: rawset on package is refused" 0 'rawset refused'
run "$TMP/capture.lua" attack=searchpath dir="$TMP/team"
expect "control: package.searchpath probes files without --strict" 0 'an existence probe'
run --strict "$TMP/capture.lua" attack=searchpath dir="$TMP/team"
expect "--strict: no package.searchpath" 0 'attempt to call a nil value'

for name in vsrun.pd_core vsrun.http_core vsrun.sched vsrun.pd_request vsrun.server vsrun.digest vsrun.runner sandbox.persist; do
    run --strict -e "return (pcall(require, '$name'))"
    expect "--strict: require '$name' refused" 0 '^false$'
done
run --strict -e 'return { cpath = package.cpath, loadlib = package.loadlib == nil }'
expect "--strict: no C modules" 0 '"cpath": ""'

# the documented modules and --lib still work under --strict
mkdir -p "$TMP/lib"
printf 'return { answer = 42 }\n' >"$TMP/lib/teamlib.lua"
run --strict --lib "$TMP/lib" -e 'local pd, http, json, vs, t = require "pagerduty", require "http", require "json", require "vsrun", require "vsrun.time"
  return { answer = require("teamlib").answer, ok = type(pd.get_incident) == "function" and type(t.parse) == "function" }'
expect "--strict: documented modules and --lib modules load" 0 '"answer": 42'

# t.script under vsrun test --strict: only .lua files below the test's directory
cat >"$TMP/team/script_test.lua" <<'EOF'
local t = require "vsrun.testing"
t.test("t.script loads a secrets file", function()
  local captured = {}
  setmetatable(_G, { __newindex = function(_, k, v) captured[#captured + 1] = k .. "=" .. tostring(v) end })
  local ok, err = pcall(t.script, "team-secrets.env")
  setmetatable(_G, nil)
  print("captured: " .. table.concat(captured, ",") .. " err: " .. tostring(err))
end)
t.test("t.script loads a .lua file", function()
  t.script("creds.lua")
end)
EOF
run test -v "$TMP/team/script_test.lua"
expect "control: vsrun test loads any file through t.script" 0 "captured: PASSWORD=$SECRET"
run test -v --strict "$TMP/team/script_test.lua"
expect "vsrun test --strict: t.script refuses a non-.lua file" 0 'under --strict the path must be a .lua file'
grep -q "captured: PASSWORD" <<<"$OUT" && _fail "t.script strict" "secret read" || echo "ok vsrun test --strict: no secret through t.script"
grep -q "ok .*loads a .lua file" <<<"$OUT" && echo "ok vsrun test --strict: t.script still runs .lua files" || _fail "t.script .lua" "refused"
