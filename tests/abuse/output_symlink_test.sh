# Attack: another local user plants a symlink where vsrun writes its temp file (the old
# predictable FILE.tmp<PID> next to --output, FILE.tmp next to the sandbox's --state), so
# vsrun's write goes through the link into a victim file. vsrun must create its temp file
# with an unpredictable name and O_EXCL, never follow a link, and keep the replaced
# file's mode. The control writes through such a link to show the victim check notices.
. "$(dirname "$0")/../cli/lib.sh"

D=$TMP/shared
mkdir -p "$D"
victim() { printf 'VICTIM' >"$1"; chmod 600 "$1"; }
victim_intact() { [ "$(cat "$1")" = VICTIM ]; }
check() { local name=$1; shift; if "$@"; then echo "ok $name"; else _fail "$name" "check failed: $*"; fi; }

# control: a write through a planted link does reach the victim, and the check sees it
victim "$TMP/control_victim"
ln -s "$TMP/control_victim" "$D/control.tmp"
printf 'overwritten' >"$D/control.tmp"
check "output_symlink: control: a write through a planted link changes the victim" bash -c '[ "$(cat "$1")" != VICTIM ]' _ "$TMP/control_victim"

# --output: the script plants the link at the old temp name for its own pid (the race won
# for sure), then returns a value
victim "$TMP/victim"
run -e 'local pid = io.open("/proc/self/stat"):read("a"):match("^(%d+)")
local out = ...
assert(os.execute(("ln -s %q %q"):format(out.victim, out.path .. ".tmp" .. pid)))
return {written = true}' victim="$TMP/victim" path="$D/out.json" --output "$D/out.json"
expect "output_symlink: --output with a link at the old temp name succeeds" 0
check "output_symlink: the victim behind the link is untouched" victim_intact "$TMP/victim"
check "output_symlink: --output holds the result" grep -q '"written": true' "$D/out.json"
check "output_symlink: no temp file is left beside --output" \
    bash -c '[ -z "$(find "$1" -name ".out.json.*")" ]' _ "$D"

# --output is itself a link: the link is replaced by the file, the target is not written
victim "$TMP/victim2"
ln -s "$TMP/victim2" "$D/linked.json"
run -e 'return 1' --output "$D/linked.json"
expect "output_symlink: --output naming a link succeeds" 0
check "output_symlink: the link's target is untouched" victim_intact "$TMP/victim2"
check "output_symlink: the link was replaced by a regular file" bash -c '[ ! -L "$1" ] && [ "$(cat "$1")" = 1 ]' _ "$D/linked.json"

# modes: an existing file keeps its mode; a new file is 0600 (less under a stricter umask)
printf old >"$D/mode.json"; chmod 640 "$D/mode.json"
run -e 'return 2' --output "$D/mode.json"
check "output_symlink: a replaced --output keeps its mode (0640)" test "$(stat -c %a "$D/mode.json")" = 640
(umask 022; "$VSRUN" -e 'return 3' --output "$D/new.json")
check "output_symlink: a new --output is 0600 under umask 022" test "$(stat -c %a "$D/new.json")" = 600
(umask 277; "$VSRUN" -e 'return 3' --output "$D/new2.json")
check "output_symlink: a new --output is 0400 under umask 277" test "$(stat -c %a "$D/new2.json")" = 400

# a failed write says why and leaves nothing behind
mkdir "$D/adir"
run -e 'return 1' --output "$D/adir"
expect "output_symlink: --output naming a directory fails with a message" 1 '' 'cannot write --output .*adir'
check "output_symlink: no temp file is left after a failed write" \
    bash -c '[ -z "$(find "$1" -name ".adir.*")" ]' _ "$D"

# the sandbox's --state: a link planted at the old FILE.tmp name before it starts
victim "$TMP/victim3"
ln -s "$TMP/victim3" "$D/state.json.tmp"
# sandbox_once: starts `vsrun sandbox --state $D/state.json`, stops it (it saves on stop)
sandbox_once() {
    "$VSRUN" sandbox --incidents 3 --seed 1 --state "$D/state.json" >"$TMP/sb.out" 2>"$TMP/sb.err" </dev/null &
    local pid=$!
    for _ in $(seq 1 3000); do    # up to 60 s: a loaded machine starts an ASan build slowly
        [ -s "$TMP/sb.out" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    RC=$?; OUT=$(cat "$TMP/sb.out"); ERR=$(cat "$TMP/sb.err")
}
sandbox_once
expect "output_symlink: sandbox with --state stops cleanly" 0
check "output_symlink: --state saved" grep -q '"version"' "$D/state.json"
check "output_symlink: the victim behind the state's temp link is untouched" victim_intact "$TMP/victim3"
check "output_symlink: no temp file is left beside --state" \
    bash -c '[ -z "$(find "$1" -name ".state.json.*")" ]' _ "$D"
chmod 640 "$D/state.json"
sandbox_once
expect "output_symlink: sandbox restarted on its --state stops cleanly" 0
check "output_symlink: the saved --state keeps its mode (0640)" test "$(stat -c %a "$D/state.json")" = 640
