#!/usr/bin/env bash
# Sharing libraries (docs/libraries.md): one resolution rule from the project file
# (vsrun.json) in every command and mode, from any working directory; two teams pinning two
# versions of one library; require running a module body once; errors that point at the
# right place.
. "$(dirname "$0")/../cli/lib.sh"

R="$TMP/repo"
# two teams, one library name, two versions
for team in A B; do
    v=$([ $team = A ] && echo 1.0 || echo 2.0)
    mkdir -p "$R/team$team/lib" "$R/team$team/pipelines" "$R/team$team/tests/deep"
    printf '{ "name": "team%s", "libs": ["lib"] }\n' $team >"$R/team$team/vsrun.json"
    printf 'return { _VERSION = "%s", title = function(s) return "[v%s] " .. s end }\n' $v $v >"$R/team$team/lib/audit.lua"
    printf 'local audit = require "audit"\nreturn { version = audit._VERSION, title = audit.title("db") }\n' >"$R/team$team/pipelines/report.lua"
    cat >"$R/team$team/tests/deep/audit_test.lua" <<EOF
local t = require "vsrun.testing"
t.test("team$team gets its own pinned audit", function() t.eq(require("audit")._VERSION, "$v") end)
EOF
done

run test "$R/teamA" "$R/teamB"
expect "vsrun test teamA/ teamB/: each test file resolves with its own project" 0 '2 passed, 0 failed'
run test "$R/teamB/tests/deep" "$R/teamA/tests"
expect "vsrun test of a subdirectory finds the project's libraries" 0 '2 passed, 0 failed'
# control: the same test against the other team's library fails, so the check can notice
cp "$R/teamB/tests/deep/audit_test.lua" "$R/teamA/tests/wrong_team_test.lua"
run test "$R/teamA"
expect "control: team B's expectation fails against team A's library" 1 '1 passed, 1 failed'
rm "$R/teamA/tests/wrong_team_test.lua"

for mode in "" --strict; do
    cd /
    run $mode "$R/teamA/pipelines/report.lua"
    expect "team A's pipeline from / ${mode:-(normal)}" 0 '"version": "1.0"'
    cd "$R/teamB/tests"
    run $mode ../pipelines/report.lua
    expect "team B's pipeline from its tests/ ${mode:-(normal)}" 0 '"title": "\[v2.0\] db"'
    cd "$R/teamA/lib"
    run $mode --sandbox "$R/teamB/pipelines/report.lua"
    expect "team B's pipeline from team A's lib/ with --sandbox ${mode:-(normal)}" 0 '"version": "2.0"'
done
cd "$R" || exit 1

# one order in every mode: project libraries, then --lib
mkdir -p "$TMP/other"
printf 'return "from --lib"\n' >"$TMP/other/dup.lua"
printf 'return "from the project"\n' >"$R/teamA/lib/dup.lua"
printf 'return require "dup"\n' >"$R/teamA/pipelines/dup.lua"
for mode in "" --strict; do
    run $mode --lib "$TMP/other" "$R/teamA/pipelines/dup.lua"
    expect "project libraries come before --lib ${mode:-(normal)}" 0 '"from the project"'
done
# without a project file the script's directory is the library directory, in both modes
mkdir -p "$TMP/loose"
printf 'return "beside the script"\n' >"$TMP/loose/dup.lua"
printf 'return require "dup"\n' >"$TMP/loose/main.lua"
for mode in "" --strict; do
    run $mode --lib "$TMP/other" "$TMP/loose/main.lua"
    expect "no project: the script's directory comes before --lib ${mode:-(normal)}" 0 '"beside the script"'
done

# the project's LuaRocks tree, relative to the project root
mkdir -p "$R/teamA/lua_modules/share/lua/5.4/crock" "$R/teamA/lua_modules/lib/lua/5.4/crock"
printf 'return { rock = true }\n' >"$R/teamA/lua_modules/share/lua/5.4/purerock.lua"
printf 'return require("purerock").rock\n' >"$R/teamA/pipelines/rock.lua"
cd /
for mode in "" --strict; do
    run $mode "$R/teamA/pipelines/rock.lua"
    expect "the project's lua_modules tree is on the path ${mode:-(normal)}" 0 '^true$'
done
cd "$R" || exit 1
printf 'return require "crock.core"\n' >"$R/teamA/lua_modules/share/lua/5.4/crock/init.lua"
: >"$R/teamA/lua_modules/lib/lua/5.4/crock/core.so"
printf 'local c = require "crock"\nreturn c\n' >"$R/teamA/pipelines/crock.lua"
run "$R/teamA/pipelines/crock.lua"
expect "a rock's C part is named as refused" 1 '' 'crock/core.so is a C module: vsrun loads only Lua modules'

# a project file that cannot be used says so
mkdir -p "$TMP/badproj/lib"
printf '{ "libs": "lib" }\n' >"$TMP/badproj/vsrun.json"
printf 'return require "x"\n' >"$TMP/badproj/main.lua"
run "$TMP/badproj/main.lua"
expect "a bad project file is named" 1 '' 'badproj/vsrun.json: libs must be a list of directories'
printf '{ "libs": ["/etc"] }\n' >"$TMP/badproj/vsrun.json"
run "$TMP/badproj/main.lua"
expect "an absolute library directory is refused" 1 '' 'must be a relative directory'

# a module body runs once, whoever requires it at the same time
mkdir -p "$TMP/once"
cat >"$TMP/once/audited.lua" <<'EOF'
local vs = require "vsrun"
local db = require "db"
BODY_RUNS = (BODY_RUNS or 0) + 1
vs.sleep(0.01)            -- I/O at top level: another task requires the module meanwhile
local title = db.title
db.title = "[audited] " .. title
return db
EOF
printf 'return { title = "db" }\n' >"$TMP/once/db.lua"
cat >"$TMP/once/main.lua" <<'EOF'
local vs = require "vsrun"
local r = vs.map({ 1, 2, 3 }, function() return require "audited" end)
return { body_runs = BODY_RUNS, title = r[1].title, same = r[1] == r[2] and r[2] == r[3] }
EOF
run "$TMP/once/main.lua"
expect "concurrent requires run the body once" 0 '"body_runs": 1'
expect "concurrent requires get one value" 0 '"title": "\[audited\] db"'
# a failed load is retried only by a later require; waiters of the failed load get the error
cat >"$TMP/once/flaky.lua" <<'EOF'
local vs = require "vsrun"
ATTEMPTS = (ATTEMPTS or 0) + 1
vs.sleep(0.01)
if ATTEMPTS == 1 then error("first load fails") end
return { attempts = ATTEMPTS }
EOF
cat >"$TMP/once/retry.lua" <<'EOF'
local vs = require "vsrun"
local firsts = vs.map({ 1, 2 }, function() return (pcall(require, "flaky")) end)
return { firsts = firsts, later = require("flaky").attempts, attempts = ATTEMPTS }
EOF
run "$TMP/once/retry.lua"
expect "a failed load fails its waiters and is retried later" 0 '"later": 2'

# errors that point at the right place
printf 'local b = require "cyc_b"\nreturn {}\n' >"$TMP/once/cyc_a.lua"
printf 'local a = require "cyc_a"\nreturn {}\n' >"$TMP/once/cyc_b.lua"
printf 'local a = require "cyc_a"\nreturn a\n' >"$TMP/once/cycle.lua"
run "$TMP/once/cycle.lua"
expect "a circular require names the cycle" 1 '' 'cyc_b.lua:1: circular require: cyc_a -> cyc_b -> cyc_a'
printf 'local x = 1\nreturn x +\n' >"$TMP/once/broken.lua"
printf 'local ok = true\nlocal m = require "broken"\nreturn m\n' >"$TMP/once/syntax.lua"
run "$TMP/once/syntax.lua"
expect "a library's syntax error names the requiring line" 1 '' 'syntax.lua:2: error loading module .broken. from file'
expect "a library's syntax error names the library's line" 1 '' 'broken.lua:3: unexpected symbol'
run --lib /nonexistent/dir -e 'return 1'
expect "--lib of a missing directory is refused" 2 '' '--lib /nonexistent/dir: No such file or directory'
run --lib "$TMP/once/db.lua" -e 'return 1'
expect "--lib of a file is refused" 2 '' 'is not a directory'
cd /
run --strict -e 'return require "nosuch"'
expect "--strict lists only the places it searches" 1 '' "the project's rocks tree\)"
grep -q VSRUN_PATH <<<"$ERR" && _fail "--strict message" "names VSRUN_PATH" || echo "ok --strict does not list VSRUN_PATH"
run -e 'return require "nosuch"'
expect "control: the normal mode lists VSRUN_PATH" 1 '' 'VSRUN_PATH'
cd "$R" || exit 1

# built-in names cannot be shadowed silently
printf 'return "mine"\n' >"$TMP/loose/sandbox.lua"
printf 'return require "sandbox"\n' >"$TMP/loose/sb.lua"
run "$TMP/loose/sb.lua"
expect "a file named like a built-in module is refused, not ignored" 1 '' "module 'sandbox' is built into vsrun, so .*sandbox.lua cannot be loaded"
rm "$TMP/loose/sandbox.lua"
run -e 'return type(require "json")'
expect "control: without a shadowing file the built-in loads" 0 'table'

# provenance: -v names each module's file and version
run -v "$R/teamB/pipelines/report.lua"
expect "-v prints where a module came from and its version" 0 '' "module 'audit' from .*teamB/lib/audit.lua version 2.0"

# t.stub is undone even when the test fails; t.read_fixture stays inside fixtures/
mkdir -p "$TMP/stubs/fixtures"
printf 'SECRET_FIXTURE_CANARY\n' >"$TMP/stubs/secret.env"
ln -s ../secret.env "$TMP/stubs/fixtures/link.txt"
printf 'inside\n' >"$TMP/stubs/fixtures/data.txt"
cat >"$TMP/stubs/stub_test.lua" <<'EOF2'
local t = require "vsrun.testing"
local lib = { value = "original" }
t.test("1 stubs then fails", function()
  t.stub(lib, "value", "stubbed")
  error("this test fails on purpose")
end)
t.test("2 sees the original", function() t.eq(lib.value, "original") end)
t.test("3 reads a fixture", function() t.eq(t.read_fixture("data.txt"), "inside\n") end)
t.test("4 a symlink out of fixtures/ is refused", function()
  t.raises("is outside", t.read_fixture, "link.txt")
end)
EOF2
for mode in "" --strict; do
    run test $mode -v "$TMP/stubs"
    expect "a failed test's stubs are undone ${mode:-(normal)}" 1 'ok .*2 sees the original'
    expect "t.read_fixture works and stays in fixtures/ ${mode:-(normal)}" 1 '3 passed, 1 failed'
    grep -q SECRET_FIXTURE_CANARY <<<"$OUT$ERR" && _fail "read_fixture symlink" "secret read" || echo "ok no fixture read through a symlink ${mode:-(normal)}"
done

# require from a C callback (no task can wait there) still loads the module
printf 'return { n = 7 }\n' >"$TMP/once/seven.lua"
printf 'local l = { 2, 1 }\ntable.sort(l, function(a, b) return a * require("seven").n < b * require("seven").n end)\nreturn l\n' >"$TMP/once/sortreq.lua"
run "$TMP/once/sortreq.lua"
expect "require inside a sort comparator loads the module" 0 '1,'

# a project file that cannot be used stops the run and the test file before any code runs
printf '{ "libz": ["lib"] }\n' >"$TMP/badproj/vsrun.json"
printf 'print("RAN")\n' >"$TMP/badproj/plain.lua"
run "$TMP/badproj/plain.lua"
expect "a bad project file stops a script that requires nothing" 1 '' 'unknown field "libz"'
grep -q RAN <<<"$OUT" && _fail "bad project file" "the script ran" || echo "ok the script did not run"
printf 'local t = require "vsrun.testing"\nt.test("x", function() end)\n' >"$TMP/badproj/x_test.lua"
run test "$TMP/badproj"
expect "a bad project file fails its test files" 1 'unknown field "libz"'
