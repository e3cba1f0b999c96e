# vsrun test: discovery, output, exit codes, --filter, -v.
. "$(dirname "$0")/lib.sh"
S=tests/cli/fixtures/suite

run test $S/good_test.lua
expect "passing file: summary and exit 0" 0 '^2 passed, 0 failed$'
run test $S
expect "failing tests: exit 1 and summary" 1 '^3 passed, 3 failed$'
grep -q 'FAIL .*bad_test.lua: diff of tables' <<<"$OUT" && echo "ok failure names file and test" || _fail "failure line" "missing"
grep -q 'bad_test.lua:4: values differ at value.tags.2' <<<"$OUT" && echo "ok failure gives file:line and the differing path" || _fail "diff path" "missing"
grep -q 'got:      "b"' <<<"$OUT" && grep -q 'expected: "c"' <<<"$OUT" && echo "ok failure shows both sides" || _fail "diff sides" "missing"
grep -q 'expected error matching "not_found"' <<<"$OUT" && echo "ok raises reports the wrong error" || _fail "raises" "missing"
grep -q "attempt to index a nil value" <<<"$OUT" && echo "ok a crashing test is reported with its error" || _fail "crash" "missing"
run test --filter 'tables equal' $S
expect "--filter selects tests by name" 0 '^1 passed, 0 failed$'
run test -v $S/good_test.lua
expect "-v lists every test" 0 '^ok   .*good_test.lua: adds'
run test "$TMP"
expect "no test files: usage exit" 2 '' 'no \*_test.lua files found'
run test $S/nonexistent_dir
expect "missing path reported" 2 '' 'cannot open'
run -e 'return require("vsrun.testing")'
expect "vsrun.testing is not available in a real run" 1 '' "only available under 'vsrun test' or --sandbox"
mkdir -p "$TMP/tree/lib" "$TMP/tree/pipelines"
printf 'return { twice = function(x) return 2 * x end }\n' > "$TMP/tree/lib/mathx.lua"
printf 'local t = require "vsrun.testing"\nt.test("uses lib", function() t.eq(require("mathx").twice(21), 42) end)\n' > "$TMP/tree/pipelines/uses_lib_test.lua"
run test "$TMP/tree"
expect "a tree's lib/ is on the require path" 0 '^1 passed, 0 failed$'
