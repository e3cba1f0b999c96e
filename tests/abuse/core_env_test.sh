# Attack: read secrets from where the process leaves them: a second PAGERDUTY_TOKEN= (or
# VSRUN_KEY=) entry in the environment, still visible in /proc/self/environ after
# unsetenv; a core file written when vsrun crashes; /proc/PID/environ or /proc/PID/mem read
# by another process of the same user. vsrun wipes every entry of a secret name, sets
# RLIMIT_CORE to 0 and makes itself not dumpable. Each check has a control run on a
# process without vsrun's hardening, showing the check notices the leak.
. "$(dirname "$0")/../cli/lib.sh"

check() { local name=$1; shift; if "$@"; then echo "ok $name"; else _fail "$name" "check failed: $*"; fi; }
TOK1=pdtok-first-5d1e
TOK2=pdtok-duplicate-8a9c
KEY1=$(head -c 32 /dev/urandom | base64 -w0)
KEY2=$(head -c 32 /dev/urandom | base64 -w0)

# exec_dup PROGRAM ARGS...: execs PROGRAM with each secret name given twice (os.execve
# takes a dict, which cannot hold a name twice: call execve(2) through ctypes)
exec_dup() {
    python3 - "$@" <<PY
import ctypes, os, sys
env = ["PATH=" + os.environ["PATH"], "PAGERDUTY_TOKEN=$TOK1", "PAGERDUTY_TOKEN=$TOK2",
       "VSRUN_KEY=$KEY1", "VSRUN_KEY=$KEY2", "HOME=$TMP"]
def cargv(items):
    arr = (ctypes.c_char_p * (len(items) + 1))(*[i.encode() for i in items])
    arr[len(items)] = None
    return arr
libc = ctypes.CDLL(None, use_errno=True)
libc.execve(sys.argv[1].encode(), cargv(sys.argv[1:]), cargv(env))
sys.exit("execve: " + os.strerror(ctypes.get_errno()))
PY
}

# control: a plain program started the same way sees both entries
OUT=$(exec_dup /bin/cat /proc/self/environ | tr '\0' '\n')
check "core_env: control: a duplicated entry is visible in /proc/self/environ" \
    bash -c 'grep -qF "$1" <<<"$3" && grep -qF "$2" <<<"$3"' _ "$TOK2" "$KEY2" "$OUT"

# Under valgrind (VSRUN_BUILD=memcheck) /proc/self/environ is valgrind's own start-up block,
# which the program under test cannot reach; only the environment it passes on is checked.
UNDER_VALGRIND=0
case "${VSRUN_BUILD:-}:$VSRUN" in memcheck:*|*/memcheck/*) UNDER_VALGRIND=1 ;; esac
OUT=$(exec_dup "$VSRUN" -e 'local f = assert(io.open("/proc/self/environ")) local t = f:read("a") f:close()
return {environ = t, token = os.getenv("PAGERDUTY_TOKEN") or "unset", key = os.getenv("VSRUN_KEY") or "unset"}' 2>"$TMP/err")
RC=$?; ERR=$(cat "$TMP/err")
expect "core_env: vsrun started with duplicated secret entries runs" 0 '"token": "unset"'
if [ "$UNDER_VALGRIND" = 0 ]; then
    for s in "$TOK1" "$TOK2" "$KEY1" "$KEY2"; do
        check "core_env: /proc/self/environ holds no copy of ${s:0:12}..." bash -c '! grep -qF -- "$1" <<<"$2"' _ "$s" "$OUT"
    done
    OUT=$(exec_dup "$VSRUN" -e 'os.execute("tr \"\\0\" \"\\n\" </proc/$PPID/environ")' 2>"$TMP/err")
    check "core_env: control: a child reads vsrun's /proc/PID/environ" grep -q '^PATH=' <<<"$OUT"
    for s in "$TOK2" "$KEY2"; do
        check "core_env: a child reading vsrun's /proc/PID/environ sees no ${s:0:12}..." bash -c '! grep -qF -- "$1" <<<"$2"' _ "$s" "$OUT"
    done
fi
# the environment a child process gets
OUT=$(exec_dup "$VSRUN" -e 'os.execute("env")' 2>"$TMP/err")
check "core_env: control: a child's environment is printed" grep -q '^PATH=' <<<"$OUT"
for s in "$TOK1" "$TOK2" "$KEY1" "$KEY2"; do
    check "core_env: a child's environment holds no ${s:0:12}..." bash -c '! grep -qF -- "$1" <<<"$2"' _ "$s" "$OUT"
done

# core files: the soft limit is 0 inside vsrun (and for programs it starts)
OUT=$(bash -c 'ulimit -S -c unlimited 2>/dev/null; grep "Max core file size" /proc/self/limits')
check "core_env: control: a plain process has a core limit above 0" bash -c '! grep -Eq "size +0 " <<<"$1"' _ "$OUT"
OUT=$(bash -c 'ulimit -S -c unlimited 2>/dev/null; exec "$1" -e "$2"' _ "$VSRUN" \
    'local t = io.open("/proc/self/limits"):read("a") return t:match("Max core file size +(%w+)")')
check "core_env: RLIMIT_CORE is 0 inside vsrun started with an unlimited one" test "$OUT" = '"0"'
OUT=$(bash -c 'ulimit -S -c unlimited 2>/dev/null; exec "$1" -e "os.execute(\"ulimit -c\")"' _ "$VSRUN")
check "core_env: a child of vsrun inherits core limit 0" test "$OUT" = 0

# start_looping PROGRAM...: starts PROGRAM in $TMP/crash (a script that says "ready" and
# spins), waits for "ready"; sets PID
LOOP='io.write("ready\n") io.stdout:flush() local t = os.time() while os.time() - t < 60 do end'
start_looping() {
    : >"$TMP/ready"
    (cd "$TMP/crash" && ulimit -S -c unlimited 2>/dev/null; exec "$@") >"$TMP/ready" 2>"$TMP/crash.err" &
    PID=$!
    for _ in $(seq 1 1000); do
        grep -q ready "$TMP/ready" && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}

# not dumpable: /proc/PID/* of vsrun belongs to root, so another process of the same user
# cannot read its environ or mem. Run as nobody when we are root (root reads everything).
AS=()
[ "$(id -u)" = 0 ] && AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
mkdir -p "$TMP/crash"
chmod 777 "$TMP/crash"
chmod 755 "$TMP"
if start_looping "${AS[@]}" /bin/sh -c 'echo ready; exec sleep 60'; then
    check "core_env: control: a plain process's /proc/PID/environ belongs to its user" \
        test "$(stat -c %u "/proc/$PID/environ")" != 0
    kill "$PID"; wait "$PID" 2>/dev/null
else
    _fail "core_env: control process" "did not start: $(cat "$TMP/crash.err")"
fi
if start_looping "${AS[@]}" "$VSRUN" -e "$LOOP"; then
    check "core_env: vsrun's /proc/PID/environ and mem belong to root (not dumpable)" \
        bash -c '[ "$(stat -c %u "/proc/$1/environ")" = 0 ] && [ "$(stat -c %u "/proc/$1/mem")" = 0 ]' _ "$PID"
    kill "$PID"; wait "$PID" 2>/dev/null
else
    _fail "core_env: vsrun looping" "did not start: $(cat "$TMP/crash.err")"
fi

# a crash leaves no core file. Meaningful only where the kernel writes core files into the
# working directory (core_pattern without '|' or '/'): the control shows whether it does.
for sig in SEGV QUIT; do
    rm -f "$TMP/crash"/core*
    start_looping /bin/sh -c 'echo ready; exec sleep 60' && { kill -"$sig" "$PID"; wait "$PID" 2>/dev/null; }
    if ls "$TMP/crash"/core* >/dev/null 2>&1; then
        rm -f "$TMP/crash"/core*
        if start_looping "$VSRUN" -e "$LOOP"; then
            kill -"$sig" "$PID"; wait "$PID" 2>/dev/null
            check "core_env: vsrun killed by SIG$sig leaves no core file (the control did)" \
                bash -c '! ls "$1"/core* >/dev/null 2>&1' _ "$TMP/crash"
        else
            _fail "core_env: vsrun looping for SIG$sig" "did not start: $(cat "$TMP/crash.err")"
        fi
    else
        echo "ok core_env: SIG$sig crash: skipped, this kernel writes no core file here (core_pattern $(cat /proc/sys/kernel/core_pattern)); the RLIMIT_CORE and dumpable checks cover it"
    fi
done

# --strict: no io, so /proc/self/mem and /proc/self/environ cannot be opened at all
run --strict -e 'return {io = type(io), open = type(io and io.open), lf = type(loadfile), df = type(dofile)}'
expect "core_env: --strict scripts have no io, loadfile or dofile to read /proc/self/mem" 0 '"io": "nil"'
run --strict -e 'local ok, e = pcall(require, "vsrun.core") return tostring(e)'
expect "core_env: --strict: vsrun.core (and its loadfile) cannot be required" 0 'internal to vsrun and not available under --strict'
