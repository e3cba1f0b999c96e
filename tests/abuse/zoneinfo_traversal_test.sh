#!/usr/bin/env bash
# Attack: under --strict (no io), read files outside the zoneinfo directory through
# vsrun.time.zone (the only way a strict script reaches the zone reader, `vsrun.zoneinfo`)
# with path tricks; the reader refuses the same names when asked directly.
. "$(dirname "$0")/../cli/lib.sh"

mkdir -p "$TMP/zi/Europe"
cp /usr/share/zoneinfo/Europe/Berlin "$TMP/zi/Europe/Berlin"
printf 'CANARY-zoneinfo-%s' "$RANDOM$RANDOM" >"$TMP/secret.txt"
CANARY=$(cat "$TMP/secret.txt")

# controls: the reader does return a file's bytes (internal modules are reachable outside
# --strict), and under --strict the documented vsrun.time.zone does load a zone by name
TZDIR=$TMP/zi run -e 'return (require("vsrun.zoneinfo").read("Europe/Berlin")):sub(1, 4)'
expect "control: a zone file is read" 0 '"TZif"'
TZDIR=$TMP/zi run --strict -e 'return require("vsrun.time").zone("Europe/Berlin"):offset(0)'
expect "control: --strict loads a zone through vsrun.time" 0 '^3600$'

for name in "../secret.txt" "Europe/../../secret.txt" "$TMP/secret.txt" "./../secret.txt" "Europe//../../secret.txt" \
    "..%2fsecret.txt" "Europe/Berlin/../../../secret.txt"; do
    # --strict: only the documented vsrun.time.zone reaches the reader
    TZDIR=$TMP/zi run --strict -e "
local ok, err = pcall(require('vsrun.time').zone, [[$name]])
return { ok = ok, zone_error = tostring(err) }"
    if [ "$RC" -eq 0 ] && ! grep -q "$CANARY" <<<"$OUT$ERR" && grep -q '"ok": false' <<<"$OUT"; then
        echo "ok --strict vsrun.time.zone refuses '$name'"
    else
        _fail "--strict vsrun.time.zone refuses '$name'" "exit $RC or the file's contents came back"
    fi
    # the reader itself refuses the name too
    TZDIR=$TMP/zi run -e "local data, why = require('vsrun.zoneinfo').read([[$name]]) return { data = data, why = why }"
    if [ "$RC" -eq 0 ] && ! grep -q "$CANARY" <<<"$OUT$ERR" && grep -q '"why"' <<<"$OUT"; then
        echo "ok zoneinfo refuses '$name'"
    else
        _fail "zoneinfo refuses '$name'" "exit $RC or the file's contents came back"
    fi
done
