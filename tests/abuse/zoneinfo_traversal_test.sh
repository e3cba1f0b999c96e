#!/usr/bin/env bash
# Attack: under --strict (no io), read files outside the zoneinfo directory through the time
# zone reader (`vsrun.zoneinfo`, which vsrun.time.zone uses) with path tricks.
. "$(dirname "$0")/../cli/lib.sh"

mkdir -p "$TMP/zi/Europe"
cp /usr/share/zoneinfo/Europe/Berlin "$TMP/zi/Europe/Berlin"
printf 'CANARY-zoneinfo-%s' "$RANDOM$RANDOM" >"$TMP/secret.txt"
CANARY=$(cat "$TMP/secret.txt")

# control: the reader does return a file's bytes, so leaked contents would show in the output
TZDIR=$TMP/zi run --strict -e 'return (require("vsrun.zoneinfo").read("Europe/Berlin")):sub(1, 4)'
expect "control: a zone file is read" 0 '"TZif"'

for name in "../secret.txt" "Europe/../../secret.txt" "$TMP/secret.txt" "./../secret.txt" "Europe//../../secret.txt" \
    "..%2fsecret.txt" "Europe/Berlin/../../../secret.txt"; do
    TZDIR=$TMP/zi run --strict -e "
local data, why = require('vsrun.zoneinfo').read([[$name]])
local ok, err = pcall(require('vsrun.time').zone, [[$name]])
return { data = data, why = why, zone_error = tostring(err) }"
    if [ "$RC" -eq 0 ] && ! grep -q "$CANARY" <<<"$OUT$ERR" && grep -q '"why"' <<<"$OUT"; then
        echo "ok zoneinfo refuses '$name'"
    else
        _fail "zoneinfo refuses '$name'" "exit $RC or the file's contents came back"
    fi
done
