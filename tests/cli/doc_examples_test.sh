#!/usr/bin/env bash
# Every shell and Lua example in README.md, docs/*.md, the man page and `vsrun help` runs as written, against
# the sandbox (tests/cli/doc_examples.py says how blocks are run). Examples that cannot run
# offline are marked `<!-- not run: REASON -->` in the docs; any other block that fails, or a
# block with neither, fails this test. A control doc shows a broken example is noticed.
. "$(dirname "$0")/lib.sh"

WORK=$TMP/work
mkdir -p "$WORK/bin" && mkdir -m 700 "$TMP/home"
printf '#!/bin/sh\nexec %q "$@"\n' "$VSRUN" >"$WORK/bin/vsrun"
chmod +x "$WORK/bin/vsrun"
ln -s "$PWD/scripts" "$WORK/scripts"
export VSRUN_HOME=$TMP/home
unset PAGERDUTY_TOKEN PAGERDUTY_API_URL PAGERDUTY_FROM VSRUN_PATH

python3 tests/cli/doc_examples.py "$VSRUN" "$WORK" README.md docs/*.md docs/vsrun.1 --help-topics >"$TMP/docs.out" 2>&1
grep -v '^ran ' "$TMP/docs.out"
read -r _ RAN _ SKIPPED < <(grep '^ran ' "$TMP/docs.out")
echo "doc examples: ran ${RAN:-0}, skipped ${SKIPPED:-0}"
# the docs hold dozens of runnable examples: far fewer means the extraction broke
if [ "${RAN:-0}" -ge 20 ]; then echo "ok doc examples: at least 20 ran"; else echo "FAIL doc examples: at least 20 ran: only ${RAN:-0}"; fi

# control: an unmarked failing block, an unlabelled block without `$ `, and a marked one
cat >"$TMP/control.md" <<'MD'
```lua
error("this example is broken")
```

```
vsrun frobnicate
```

<!-- not run: needs a PagerDuty account -->
```sh
vsrun auth login
```
MD
python3 tests/cli/doc_examples.py "$VSRUN" "$WORK" "$TMP/control.md" >"$TMP/control.out" 2>&1
if grep -q "^FAIL doc $TMP/control.md:1 (lua)" "$TMP/control.out" && grep -q "^FAIL doc $TMP/control.md:5 (console)" "$TMP/control.out" &&
   grep -q "^ok doc $TMP/control.md:10 skipped (needs a PagerDuty account)" "$TMP/control.out" && grep -q '^ran 2 skipped 1$' "$TMP/control.out"; then
    echo "ok doc examples control: broken and unmarked blocks are noticed"
else
    echo "FAIL doc examples control: broken and unmarked blocks are noticed"; sed 's/^/    /' "$TMP/control.out"
fi

# every option the docs give `vsrun auth login` exists (they once showed --name and --default)
"$VSRUN" auth --help >"$TMP/auth_help.txt" 2>&1
bad=""
while read -r opt; do
    grep -q -- "\\[\\?$opt\\b" "$TMP/auth_help.txt" || bad="$bad $opt"
done < <(cat README.md docs/*.md docs/vsrun.1 | sed 's/\\-/-/g' | grep -o 'vsrun auth login[^`|)]*' | grep -o -- '--[a-z-]*' | sort -u)
[ -z "$bad" ] && echo "ok docs: every auth login option exists" || echo "FAIL docs: every auth login option exists: unknown$bad"
# control: the options the docs used to show are not in auth --help, so the check above would notice them
if grep -q -- '--name\b' "$TMP/auth_help.txt" || grep -q -- 'login --default' "$TMP/auth_help.txt"; then
    echo "FAIL docs control: --name is not an auth login option"
else
    echo "ok docs control: --name is not an auth login option"
fi
