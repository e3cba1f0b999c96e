#!/usr/bin/env bash
# vsrun deps with LuaRocks, offline: a local rocks server directory holds two versions of a
# library; two teams pin different versions (luarocks.lock + vsrun.lock), `install` brings
# back exactly the locked set, `check` names the file that changed, `tree` shows what
# require resolves. Needs luarocks (vendor/packages.txt); never touches the network.
. "$(dirname "$0")/../cli/lib.sh"

if ! command -v luarocks >/dev/null; then
    echo "FAIL luarocks: not installed (run vendor/install)"
    exit 0
fi
export HOME="$TMP/home"   # luarocks keeps a cache and config under $HOME
mkdir -p "$HOME"

# the library, packed as two versions into a rocks server directory
SRV="$TMP/server"
mkdir -p "$SRV" "$TMP/src/auditlib/src"
for v in 1.0.0 2.0.0; do
    printf 'return { _VERSION = "%s", title = function(s) return "[audited %s] " .. s end }\n' $v $v >"$TMP/src/auditlib/src/auditlib.lua"
    cat >"$TMP/src/auditlib-$v-1.rockspec" <<EOF
rockspec_format = "3.0"
package = "auditlib"
version = "$v-1"
source = { url = "file://$TMP/src/auditlib-$v.tar.gz", dir = "auditlib" }
dependencies = { "lua >= 5.4" }
build = { type = "builtin", modules = { auditlib = "src/auditlib.lua" } }
EOF
    (cd "$TMP/src" && tar czf "auditlib-$v.tar.gz" auditlib)
    (cd "$SRV" && luarocks --lua-version=5.4 pack "$TMP/src/auditlib-$v-1.rockspec" >/dev/null 2>&1)
done
(cd "$SRV" && luarocks-admin --lua-version=5.4 make-manifest . >/dev/null 2>&1)
[ -f "$SRV/auditlib-1.0.0-1.src.rock" ] && [ -f "$SRV/auditlib-2.0.0-1.src.rock" ] && echo "ok the local rocks server has both versions" \
    || echo "FAIL the local rocks server: rocks not packed"

# two teams, each a project with a rockspec that pins its own version
R="$TMP/repo"
for team in A B; do
    want=$([ $team = A ] && echo "== 1.0.0" || echo ">= 2.0.0")
    mkdir -p "$R/team$team/pipelines" "$R/team$team/tests"
    printf '{ "name": "team%s" }\n' $team >"$R/team$team/vsrun.json"
    lower=$(tr A-Z a-z <<<"$team")
    cat >"$R/team$team/team$lower-dev-1.rockspec" <<EOF
rockspec_format = "3.0"
package = "team$lower"
version = "dev-1"
source = { url = "." }
dependencies = { "lua >= 5.4", "auditlib $want" }
build = { type = "builtin", modules = {} }
EOF
    printf 'return require("auditlib")._VERSION\n' >"$R/team$team/pipelines/version.lua"
    v=$([ $team = A ] && echo 1.0.0 || echo 2.0.0)
    printf 'local t = require "vsrun.testing"\nt.test("auditlib %s", function() t.eq(require("auditlib")._VERSION, "%s") end)\n' $v $v \
        >"$R/team$team/tests/auditlib_test.lua"
    run deps pin --project "$R/team$team" -- --only-server="file://$SRV"
    expect "team $team: deps pin installs and writes both locks" 0 'wrote .*vsrun.lock'
    [ -f "$R/team$team/luarocks.lock" ] && echo "ok team $team: luarocks.lock written" || echo "FAIL team $team: no luarocks.lock"
done

run test "$R/teamA" "$R/teamB"
expect "two teams, two pinned versions: vsrun test teamA/ teamB/" 0 '2 passed, 0 failed'
cd /
for mode in "" --strict; do
    run $mode "$R/teamA/pipelines/version.lua"
    expect "team A's pipeline gets 1.0.0 from any directory ${mode:-(normal)}" 0 '"1.0.0"'
    run $mode "$R/teamB/pipelines/version.lua"
    expect "team B's pipeline gets 2.0.0 from any directory ${mode:-(normal)}" 0 '"2.0.0"'
done
cd "$R" || exit 1

run deps tree --project "$R/teamA"
expect "deps tree shows the resolved module and the rock's version" 0 'auditlib +lua_modules/share/lua/5.4/auditlib.lua'
expect "deps tree lists installed rocks" 0 'auditlib 1.0.0-1'

run deps check --project "$R/teamA"
expect "deps check passes on the locked tree" 0 'files match vsrun.lock'
echo '-- tampered' >>"$R/teamA/lua_modules/share/lua/5.4/auditlib.lua"
run deps check --project "$R/teamA"
expect "deps check names the file that differs" 1 'changed: +lua_modules/share/lua/5.4/auditlib.lua' '1 file differs'

# install brings back exactly the locked set, though the server has a newer version
rm -rf "$R/teamA/lua_modules"
run deps install --project "$R/teamA" -- --only-server="file://$SRV"
expect "deps install reinstalls the locked version and checks vsrun.lock" 0 'files match vsrun.lock'
run "$R/teamA/pipelines/version.lua"
expect "after install team A still has 1.0.0" 0 '"1.0.0"'

rm "$R/teamB/luarocks.lock"
run deps install --project "$R/teamB"
expect "deps install without luarocks.lock is refused" 2 '' 'no .*luarocks.lock: pin the versions first'
run deps check --project "$TMP/home"
expect "deps outside a project says so" 2 '' 'no vsrun.json in'
run deps frobnicate
expect "an unknown deps subcommand is refused" 2 '' "unknown subcommand 'frobnicate'"

# a private git library: the rocks server holds only a rockspec whose source is a git tag
if command -v git >/dev/null; then
    mkdir -p "$TMP/gitlib/src" "$TMP/gitsrv" "$R/teamC"
    printf 'return { _VERSION = "3.1.0" }\n' >"$TMP/gitlib/src/privlib.lua"
    (cd "$TMP/gitlib" && git init -q && git add . && git -c user.email=ci@example.com -c user.name=ci commit -qm v3.1.0 && git tag v3.1.0)
    cat >"$TMP/gitsrv/privlib-3.1.0-1.rockspec" <<EOF
rockspec_format = "3.0"
package = "privlib"
version = "3.1.0-1"
source = { url = "git+file://$TMP/gitlib", tag = "v3.1.0" }
dependencies = { "lua >= 5.4" }
build = { type = "builtin", modules = { privlib = "src/privlib.lua" } }
EOF
    (cd "$TMP/gitsrv" && luarocks-admin --lua-version=5.4 make-manifest . >/dev/null 2>&1)
    printf '{ "name": "teamC" }\n' >"$R/teamC/vsrun.json"
    printf 'rockspec_format = "3.0"\npackage = "teamc"\nversion = "dev-1"\nsource = { url = "." }\ndependencies = { "lua >= 5.4", "privlib == 3.1.0" }\nbuild = { type = "builtin", modules = {} }\n' \
        >"$R/teamC/teamc-dev-1.rockspec"
    run deps pin --project "$R/teamC" -- --only-server="file://$TMP/gitsrv"
    expect "a private git library installs through LuaRocks' git source" 0 'wrote .*vsrun.lock'
    printf 'return require("privlib")._VERSION\n' >"$R/teamC/v.lua"
    run "$R/teamC/v.lua"
    expect "the git library's pinned tag is what require loads" 0 '"3.1.0"'
else
    echo "FAIL git: not installed (the private git library case needs it)"
fi
