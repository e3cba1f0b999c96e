# The exit-code table has one source, host/exitcodes.h (X(name, code, keyword, meaning)).
# Every other copy must list exactly its codes, in order, each naming its keyword:
# README.md, docs/vsrun.1, `vsrun --help`, `vsrun help exit-codes`, `vsrun auth --help`
# (a subset), and docs/api.md's kind table must match what vsrun really exits with.
. "$(dirname "$0")/lib.sh"

# "code<TAB>keyword" per row of the source
SOURCE=$(grep -oE 'X\(EXIT_[A-Z_]+, [0-9]+, "[^"]+"' host/exitcodes.h | sed -E 's/X\(EXIT_[A-Z_]+, ([0-9]+), "([^"]+)"/\1\t\2/')
[ "$(wc -l <<<"$SOURCE")" -ge 8 ] && echo "ok the source lists the codes" || _fail "source" "$SOURCE"

# check_rows NAME ROWS [subset]: ROWS is "code<TAB>text" per line; every code must be in the
# source with its keyword in the text; without subset, all the source's codes, in order
check_rows() {
    local name=$1 rows=$2 subset=${3:-} code text keyword why=""
    while IFS=$'\t' read -r code text; do
        [ -z "$code" ] && continue
        keyword=$(awk -F'\t' -v c="$code" '$1 == c { print $2 }' <<<"$SOURCE")
        if [ -z "$keyword" ]; then why="code $code is not in host/exitcodes.h"; break; fi
        if ! grep -qiF -- "$keyword" <<<"$text"; then why="code $code does not say '$keyword': $text"; break; fi
    done <<<"$rows"
    if [ -z "$why" ] && [ -z "$subset" ] && [ "$(cut -f1 <<<"$rows" | tr '\n' ' ')" != "$(cut -f1 <<<"$SOURCE" | tr '\n' ' ')" ]; then
        why="codes $(cut -f1 <<<"$rows" | tr '\n' ' ')differ from the source's $(cut -f1 <<<"$SOURCE" | tr '\n' ' ')"
    fi
    if [ -z "$why" ]; then echo "ok $name"; else echo "FAIL $name: $why"; fi
}

readme_rows() {   # the "### Exit codes" table of a README
    awk '/^### Exit codes/ { on = 1; next } on && /^#/ { exit } on && /^\| [0-9]+ \|/' "$1" |
        sed -E 's/^\| ([0-9]+) \| (.*) \|$/\1\t\2/'
}
man_rows() {      # .B N and the line after it, under .SH EXIT STATUS
    awk '/^\.SH EXIT STATUS/ { on = 1; next } on && /^\.SH/ { exit }
         on && /^\.B [0-9]+$/ { code = $2; getline; gsub(/\\f[BRI]/, ""); gsub(/\\-/, "-"); print code "\t" $0 }' "$1"
}
help_rows() {     # the compact columns after "Exit codes:" in --help, two spaces apart
    awk '/^Exit codes:/ { on = 1; next } on && /^$/ { exit } on' <<<"$1" |
        sed -E 's/^ +//; s/  +/\n/g' | sed -E 's/^([0-9]) /\1\t/'
}
topic_rows() {    # vsrun help exit-codes: "N meaning", continuation lines indented
    awk '/^[0-9] / { if (line) print line; line = $0; next } { line = line " " $0 } END { print line }' <<<"$1" |
        sed -E 's/^([0-9]) /\1\t/'
}

check_rows "README.md lists the codes of host/exitcodes.h" "$(readme_rows README.md)"
check_rows "docs/vsrun.1 lists the codes of host/exitcodes.h" "$(man_rows docs/vsrun.1)"
run --help
check_rows "vsrun --help lists the codes of host/exitcodes.h" "$(help_rows "$OUT")"
run help exit-codes
check_rows "vsrun help exit-codes lists the codes of host/exitcodes.h" "$(topic_rows "$OUT")"
run auth --help
AUTH=$(grep -E '^Exit codes:' <<<"$OUT" | sed 's/^Exit codes: //; s/\.$//' | tr ',' '\n' | sed -E 's/^ *([0-9]) (.*)$/\1\t\2/')
[ -n "$AUTH" ] && check_rows "vsrun auth --help names codes of host/exitcodes.h" "$AUTH" subset || _fail "auth --help" "no Exit codes line"

# docs/api.md: the exit code of each error kind, as vsrun really exits with it
rows=$(awk '/^\| kind \| when \| exit code/ { on = 1; next } on && !/^\|/ { exit } on && /^\| `/' docs/api.md)
n=0; bad=""
while IFS= read -r row; do
    code=$(sed -E 's/.*\| *([0-9]+) *\|$/\1/' <<<"$row")
    for kind in $(cut -d'|' -f2 <<<"$row" | grep -oE '`[a-z_]+`' | tr -d '`'); do
        run -e "error({kind = '$kind', message = 'x'})"
        n=$((n + 1))
        [ "$RC" = "$code" ] || bad="$bad $kind: docs say $code, vsrun exits $RC;"
    done
done <<<"$rows"
[ "$n" -ge 8 ] && [ -z "$bad" ] && echo "ok docs/api.md: the exit code of each of $n error kinds is what vsrun exits with" ||
    _fail "docs/api.md kinds" "${bad:-only $n kinds found}"

# controls: a copy that drifted is noticed
sed 's/^| 5 | rate limited past the retry budget |$/| 5 | slow down |/' README.md > "$TMP/README.md"
got=$(check_rows control "$(readme_rows "$TMP/README.md")")
grep -q "^FAIL control: code 5 does not say 'rate limit'" <<<"$got" && echo "ok control: a changed meaning is noticed" || _fail "control meaning" "$got"
grep -v '^| 6 |' README.md > "$TMP/README.md"
got=$(check_rows control "$(readme_rows "$TMP/README.md")")
grep -q "^FAIL control: codes 0 1 2 3 4 5 7 differ" <<<"$got" && echo "ok control: a missing code is noticed" || _fail "control missing" "$got"
sed 's/^\.B 7$/.B 8/' docs/vsrun.1 > "$TMP/vsrun.1"
got=$(check_rows control "$(man_rows "$TMP/vsrun.1")")
grep -q "^FAIL control: code 8 is not in host/exitcodes.h" <<<"$got" && echo "ok control: an unknown code is noticed" || _fail "control unknown" "$got"
