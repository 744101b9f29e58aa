#!/usr/bin/env bash
# Regenerates the key tables of docs/config-reference.md from the binary's own schemas (`medssl CMD --help-config`),
# so the reference matches the code exactly. Only the text between the markers
#   <!-- BEGIN generated: CMD -->  and  <!-- END generated: CMD -->
# is replaced (CMD = pretrain, finetune, study); the prose around them, and the hand-written `prepare` table
# (`medssl prepare` has no --help-config), are kept as they are.
#
# Usage: tools/config_reference.sh [MEDSSL_BINARY]   (default: build/medssl; build it first)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/medssl}
doc=$root/docs/config-reference.md
[[ -x $bin ]] || { echo "$0: no medssl binary at $bin (build it, or pass its path)" >&2; exit 1; }
[[ -f $doc ]] || { echo "$0: $doc is missing" >&2; exit 1; }

# `--help-config` prints `| key | type | default | meaning |` rows whose meaning ends with " One of: `a` `b`." and/or
# " Range [min, max]." (config::Schema::to_markdown, which already escapes the '|' inside cells); this moves those into
# their own column and lists the ignored reference keys below the table.
table() {
  "$bin" "$1" --help-config | awk '
    /^\| `/ {
      line = substr($0, 3); sub(/ \|$/, "", line)
      i = index(line, " | "); key = substr(line, 1, i - 1); line = substr(line, i + 3)
      i = index(line, " | "); type = substr(line, 1, i - 1); line = substr(line, i + 3)
      i = index(line, " | "); def = substr(line, 1, i - 1); meaning = substr(line, i + 3)
      if (def == "`(ignored)`") { ignored[++n] = "- " key ": " meaning; next }
      sub(/^an? /, "", type)
      if (def == "`(required)`") def = "**required**"
      else if (def == "`(unset)`") def = "unset"
      limits = ""
      if (match(meaning, / Range \[[^[]*\]\.$/)) {
        limits = substr(meaning, RSTART + 7, RLENGTH - 8)
        meaning = substr(meaning, 1, RSTART - 1)
      }
      if (match(meaning, / One of:( `[^`]*`)+\.$/)) {
        c = substr(meaning, RSTART + 9, RLENGTH - 10)
        meaning = substr(meaning, 1, RSTART - 1)
        gsub(/` `/, "`, `", c)
        limits = limits == "" ? c : c "; " limits
      }
      rows[++m] = "| " key " | " type " | " def " | " limits " | " meaning " |"
    }
    END {
      if (m == 0) { print "no keys in the --help-config output" > "/dev/stderr"; exit 1 }
      print "| key | type | default | range / choices | meaning |"
      print "| --- | --- | --- | --- | --- |"
      for (i = 1; i <= m; i++) print rows[i]
      print ""
      if (n == 0) { print "No key is accepted-but-ignored."; exit }
      print "Accepted for reference compatibility but ignored (a warning names the key; its value has no effect):"
      print ""
      for (i = 1; i <= n; i++) print ignored[i]
    }'
}

tmp=$(mktemp "$doc.tmp-XXXXXX")
trap 'rm -f "$tmp" "$tmp.block" "$tmp.next"' EXIT
cp "$doc" "$tmp"
for cmd in pretrain finetune study; do
  table "$cmd" > "$tmp.block"
  awk -v begin="<!-- BEGIN generated: $cmd -->" -v end="<!-- END generated: $cmd -->" -v block="$tmp.block" '
    $0 == begin { print; print ""; while ((getline l < block) > 0) print l; print ""; skip = 1; found = 1; next }
    $0 == end { skip = 0 }
    !skip { print }
    END { if (!found || skip) exit 3 }' "$tmp" > "$tmp.next" ||
    { echo "$0: $doc lacks the markers of $cmd" >&2; exit 1; }
  mv "$tmp.next" "$tmp"
done
mv "$tmp" "$doc"
echo "updated $doc from $bin"
