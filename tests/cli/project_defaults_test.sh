# vsrun.json "defaults": run limits for a project's scripts when the command line gives none;
# they only tighten vsrun's own defaults (the project file comes with the code).
. "$(dirname "$0")/lib.sh"
P=$TMP/proj
mkdir -p "$P/pipelines"
echo 'while true do end' > "$P/pipelines/loop.lua"
echo 'local t = {} for i = 1, 2e6 do t[i] = ("x"):rep(16) .. i end return #t' > "$P/pipelines/mem.lua"
echo 'return 1' > "$P/pipelines/ok.lua"

# control: without the project file the loop is stopped only by the command line's --timeout
run --timeout 1 "$P/pipelines/loop.lua"
expect "control: --timeout stops the loop" 7 '' 'longer than --timeout 1 s$'

echo '{"defaults": {"timeout": 1, "max_memory": 32}}' > "$P/vsrun.json"
run "$P/pipelines/loop.lua"
expect "defaults.timeout stops a script that gives no --timeout" 7 '' "--timeout 1 s, the project's default"
run --timeout 600 "$P/pipelines/mem.lua"   # the command line's timeout: valgrind is slow
expect "defaults.max_memory caps a script that gives no --max-memory" 7 '' "--max-memory 32 MB, the project's default"
run --max-memory 512 --timeout 60 "$P/pipelines/mem.lua"
expect "the command line's --max-memory wins over the project's default" 0 '^2000000$'
(cd / && "$VSRUN" --timeout 30 "$P/pipelines/ok.lua" >/dev/null 2>&1) && echo "ok the command line's --timeout wins (from any directory)" \
    || echo "FAIL the command line's --timeout wins"
run --strict "$P/pipelines/loop.lua"
expect "defaults apply under --strict too" 7 '' "the project's default"

echo '{"defaults": {"max_memory": 4096}}' > "$P/vsrun.json"
run "$P/pipelines/ok.lua"
expect "a project cannot raise the memory cap" 1 '' 'may lower .* not raise it'
echo '{"defaults": {"tmeout": 3}}' > "$P/vsrun.json"
run "$P/pipelines/ok.lua"
expect "an unknown default is named" 1 '' 'defaults.tmeout is not a known default'
echo '{"defaults": {"timeout": "5"}}' > "$P/vsrun.json"
run "$P/pipelines/ok.lua"
expect "a default must be a number" 1 '' 'defaults.timeout must be a positive number'
