#!/bin/sh
# Check the manual pages (run by `make check`, or by hand from anywhere):
#  1. every function declared in include/gossip.h has a page man/NAME.3,
#     and the page it resolves to (through a `.so` stub or not) names the
#     function in its NAME section;
#  2. every `.so man3/X.3` stub points to an existing man/X.3;
#  3. every gossip_*(3) / libgossip(7) cross-reference points to a page;
#  4. every page renders without warnings (groff -man -ww, and man-db's
#     `man --warnings` when present).  Without groff this part is skipped,
#     and the script says so; nothing is installed.
# Exits 0 when everything holds, 1 otherwise.
set -u
cd "$(dirname "$0")/.." || exit 1
header=include/gossip.h
mandir=man
fail=0
bad() { echo "check_man: $*" >&2; fail=1; }

[ -f "$header" ] || { bad "$header not found"; exit 1; }

# Function declarations: strip comments, then every `gossip_xxx(` that is
# not a call inside a macro.  The header declares no function-like macros
# named gossip_*, so what remains are the prototypes.
funcs=$(awk '
  { line = $0; out = "";
    while (length(line) > 0) {
      if (incomment) {
        i = index(line, "*/");
        if (i == 0) { line = ""; break }
        line = substr(line, i + 2); incomment = 0
      } else {
        i = index(line, "/*");
        if (i == 0) { out = out line; line = ""; break }
        out = out substr(line, 1, i - 1); line = substr(line, i + 2); incomment = 1
      }
    }
    sub(/\/\/.*/, "", out); print out }' "$header" |
  grep -v '^[[:space:]]*#' |
  grep -o 'gossip_[a-z_0-9]*[[:space:]]*(' | sed 's/[[:space:]]*($//' | sort -u)
[ -n "$funcs" ] || bad "no function declarations found in $header"
nfuncs=$(printf '%s\n' "$funcs" | grep -c .)

# resolve PAGE: print the file a page resolves to after `.so` stubs.
resolve() {
  f=$1; hops=0
  while [ $hops -lt 5 ]; do
    so=$(grep -m1 '^\.so[[:space:]]' "$f" 2>/dev/null | awk '{print $2}')
    [ -n "$so" ] || { echo "$f"; return 0; }
    t="$mandir/$(basename "$so")"
    [ -f "$t" ] || return 1
    f=$t; hops=$((hops + 1))
  done
  return 1
}

# The NAME section of a page: the lines between `.SH NAME` and the next .SH.
name_section() {
  awk '/^\.SH[[:space:]]+"?NAME"?/ { on = 1; next } /^\.SH/ { on = 0 } on' "$1"
}

# 1. One page per function, naming it.
for fn in $funcs; do
  page="$mandir/$fn.3"
  if [ ! -f "$page" ]; then bad "$fn: no page $page"; continue; fi
  target=$(resolve "$page") || { bad "$page: .so target missing"; continue; }
  name_section "$target" | grep -q "\\b$fn\\b" ||
    bad "$fn: not named in the NAME section of $target"
done

# 2 and 3. Stubs and cross-references.
pages=$(ls "$mandir"/*.[1-9] 2>/dev/null)
[ -n "$pages" ] || bad "no pages in $mandir/"
for p in $pages; do
  if grep -q '^\.so[[:space:]]' "$p"; then
    resolve "$p" >/dev/null || bad "$p: .so target $(awk '/^\.so/{print $2; exit}' "$p") missing"
    [ "$(grep -cv '^\.\\"' "$p")" = 1 ] || bad "$p: a .so stub must hold only the .so line"
    continue
  fi
  grep -q '^\.TH[[:space:]]' "$p" || bad "$p: no .TH line"
  for sec in NAME DESCRIPTION "SEE ALSO"; do
    grep -q "^\\.SH[[:space:]]\"*$sec\"*\$" "$p" || bad "$p: no $sec section"
  done
  for ref in $(grep -o '^\.BR[[:space:]][[:space:]]*\(gossip_[a-z_0-9]*\|libgossip\) ([37])' "$p" |
               sed 's/^\.BR[[:space:]]*//; s/ (\([37]\))/.\1/' | sort -u); do
    [ -f "$mandir/$ref" ] || bad "$p: refers to ${ref%.*}(${ref##*.}), which has no page"
  done
done

# 4. Rendering.
if command -v groff >/dev/null 2>&1; then
  have_man=false
  if command -v man >/dev/null 2>&1 && man --version 2>/dev/null | grep -q '^man'; then
    have_man=true
  fi
  for p in $pages; do
    grep -q '^\.so[[:space:]]' "$p" && continue    # rendered through its target
    w=$(groff -man -ww -z -Tutf8 -t "$p" 2>&1)
    [ -z "$w" ] || bad "$p: groff warnings:
$w"
    if $have_man; then
      w=$(man --warnings -E UTF-8 -l -Tutf8 -Z "$p" 2>&1 >/dev/null)
      [ -z "$w" ] || bad "$p: man warnings:
$w"
    fi
  done
  how="rendered with groff -ww$($have_man && echo ' and man --warnings')"
else
  echo "check_man: groff not found: checked only that the pages exist and link up, not how they render"
  how="not rendered (no groff)"
fi

npages=$(printf '%s\n' "$pages" | grep -c .)
if [ $fail = 0 ]; then
  echo "check_man: OK: $nfuncs functions documented, $npages pages, $how"
  exit 0
fi
echo "check_man: FAILED" >&2
exit 1
