# Repository hygiene the build relies on: the package manifest names each package once.
. "$(dirname "$0")/lib.sh"
dups=$(grep -v '^#' vendor/packages.txt | awk 'NF {print $1}' | sort | uniq -d)
if [ -z "$dups" ]; then echo "ok vendor/packages.txt names each package once"
else echo "FAIL vendor/packages.txt names packages twice: $dups"; fi
# control: the same check sees a duplicate when there is one
printf 'a 1\nb 2\na 1\n' > "$TMP/pk"
[ "$(awk 'NF {print $1}' "$TMP/pk" | sort | uniq -d)" = a ] && echo "ok duplicate check notices a duplicate (control)" \
    || echo "FAIL duplicate check control"
