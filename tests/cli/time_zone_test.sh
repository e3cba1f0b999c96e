#!/usr/bin/env bash
# Time zones come from the system's zoneinfo (TZDIR overrides it), also under --strict;
# damaged or oversized zone files are clear errors, never a crash.
. "$(dirname "$0")/lib.sh"

run --strict -e 'return require("vsrun.time").zone("Europe/Berlin"):format(1774746000)'
expect "zones work under --strict" 0 '"2026-03-29T03:00:00\+02:00"'

mkdir -p "$TMP/zi/Test"
head -c 60 /usr/share/zoneinfo/Europe/Berlin >"$TMP/zi/Test/Cut"
printf 'not a zone' >"$TMP/zi/Test/Text"
head -c 300000 /dev/zero >"$TMP/zi/Test/Huge"
cp /usr/share/zoneinfo/Europe/Berlin "$TMP/zi/Test/Copy"
TZDIR=$TMP/zi run -e 'return require("vsrun.time").zone("Test/Copy"):format(1774746000)'
expect "TZDIR is honoured" 0 '"2026-03-29T03:00:00\+02:00"'
for z in Cut Text; do
    TZDIR=$TMP/zi run -e "return require('vsrun.time').zone('Test/$z')"
    expect "damaged zone file $z: clear error" 1 '' "time zone 'Test/$z': not a valid zone file"
done
TZDIR=$TMP/zi run -e "return require('vsrun.time').zone('Test/Huge')"
expect "oversized zone file: clear error" 1 '' "time zone 'Test/Huge': the file is too large"
TZDIR=$TMP/zi run -e "return require('vsrun.time').zone('Europe/Berlin')"
expect "a zone missing from TZDIR names the directory" 1 '' "unknown time zone 'Europe/Berlin' .*$TMP/zi"
