#!/usr/bin/env bash
# The include graph of host/ (tests/cli/layers.py, computed from the files that exist): no
# weak symbols, no cycles beyond the listed ones, and the credential stack reads in one
# direction: vault, vault_pg <- oauth, records <- connection <- auth / pagerduty. Controls
# show each check notices a cycle, a weak symbol and an upward include.
. "$(dirname "$0")/lib.sh"

check() { local name=$1; shift; if "$@"; then echo "ok $name"; else _fail "$name" "check failed: $*"; fi; }
known=$(grep -v '^#' tests/cli/layers_known_cycles.txt | sed '/^$/d')
report=$(python3 tests/cli/layers.py host)
found=$(grep -v '^weak ' <<<"$report" | sed '/^$/d')
weak=$(grep '^weak ' <<<"$report")

check "layers: no weak symbols in host/" [ -z "$weak" ]
[ -n "$weak" ] && echo "    $weak"
new=$(comm -23 <(sort <<<"$found") <(sort <<<"$known") | sed '/^$/d')
gone=$(comm -13 <(sort <<<"$found") <(sort <<<"$known") | sed '/^$/d')
check "layers: no include cycle in host/ beyond the listed ones" [ -z "$new" ]
[ -n "$new" ] && echo "    new cycle: $new"
check "layers: every listed cycle still exists (delete fixed ones from layers_known_cycles.txt)" [ -z "$gone" ]
[ -n "$gone" ] && echo "    fixed: $gone"
cred='vault vault_pg records secrets oauth oauth_callback connection cred_status'
incycle=""
for m in $cred; do grep -qw -- "$m" <<<"$found" && incycle="$incycle $m"; done
check "layers: no credential module is in any cycle" [ -z "$incycle" ]

# upward includes in the credential stack: a lower layer must not include a higher one
upward() { # DIR: prints FILE -> HEADER for every include against the order
    local d=$1 f
    for f in "$d"/vault.[ch] "$d"/vault_pg.[ch] "$d"/secrets.[ch] "$d"/cred_status.h; do
        [ -e "$f" ] && grep -Ho '#include "\(oauth\|oauth_callback\|connection\|auth\|cmd_auth\|pagerduty\)\.h"' "$f"
    done
    for f in "$d"/oauth.[ch] "$d"/oauth_callback.[ch] "$d"/records.[ch]; do
        [ -e "$f" ] && grep -Ho '#include "\(connection\|auth\|cmd_auth\|pagerduty\)\.h"' "$f"
    done
    for f in "$d"/connection.[ch]; do
        [ -e "$f" ] && grep -Ho '#include "\(auth\|cmd_auth\|pagerduty\)\.h"' "$f"
    done
    return 0
}
up=$(upward host)
check "layers: the credential stack includes only downwards (vault <- oauth <- connection)" [ -z "$up" ]
[ -n "$up" ] && echo "    $up"
check "layers: the credential layer exists (connection.c, oauth.c, vault.c)" [ -e host/connection.c -a -e host/oauth.c -a -e host/vault.c ]

# controls, on a synthetic tree
mkdir -p "$TMP/h"
printf '#include "b.h"\n' >"$TMP/h/a.c"; : >"$TMP/h/a.h"
printf '#include "c.h"\n' >"$TMP/h/b.c"; : >"$TMP/h/b.h"
printf '#include "a.h"\n' >"$TMP/h/c.h"
printf 'int f(void);\n__attribute__((weak)) int f(void) { return 0; }\n' >"$TMP/h/d.c"
r=$(python3 tests/cli/layers.py "$TMP/h")
check "layers control: a three-module cycle through a header is found" grep -qx 'a b c' <<<"$r"
check "layers control: a weak symbol is found" grep -q '^weak d.c:2' <<<"$r"
printf '#include "connection.h"\n' >"$TMP/h/vault.c"
check "layers control: an upward include is found" grep -q 'vault.c:#include "connection.h"' <<<"$(upward "$TMP/h")"
exit 0
