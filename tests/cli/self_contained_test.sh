# The repository stands on its own: no tracked file refers to a path outside it
# (a sibling checkout of shared material, or the machine it was written on).
. "$(dirname "$0")/lib.sh"

# written so that this file does not match itself
PATTERN='[.][.]/shared|/wor[k]/'

# outside_refs FILE...: prints "file:line: text" for each reference outside the repository
outside_refs() { grep -nIE -- "$PATTERN" "$@" 2>/dev/null; }

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "ok self-contained: not a git checkout, nothing to check"
    exit 0
fi
mapfile -t files < <(git ls-files)
hits=$(outside_refs "${files[@]}")
if [ -z "$hits" ]; then
    echo "ok self-contained: no tracked file refers to a path outside the repository (${#files[@]} files)"
else
    echo "FAIL self-contained: tracked files refer to paths outside the repository:"
    printf '%s\n' "$hits" | head -20 | sed 's/^/    /'
fi

# control: the same check notices both kinds of reference
printf 'spec: ../%s/pagerduty/openapiv3.json\n' shared >"$TMP/a.md"
printf 'see /%s/main/README.md\n' work >"$TMP/b.md"
if [ "$(outside_refs "$TMP/a.md" "$TMP/b.md" | wc -l)" -eq 2 ]; then
    echo "ok self-contained control: both kinds of planted reference are found"
else
    echo "FAIL self-contained control: the check missed a planted reference"
fi
