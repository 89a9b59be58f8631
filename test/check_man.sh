#!/bin/sh
# Check the manual pages (run by `make check`, or by hand from anywhere):
#  1. every function declared in include/gossip.h has a page man/NAME.3,
#     and the page it resolves to (through a `.so` stub or not) names the
#     function in its NAME section;
#  2. every `.so man3/X.3` stub points to an existing man/X.3;
#  3. every gossip_*(3), libgossip(7), gossip.conf(5) and gossip-node(1)
#     cross-reference points to a page, and every page's .TH names its own
#     file and section;
#  4. every page renders without warnings (groff -man -ww, and man-db's
#     `man --warnings` when present).  Without groff this part is skipped,
#     and the script says so; nothing is installed;
#  5. gossip-node(1) says what examples/gossip-node.c does: every option of
#     the program (its getopt tables) is in the page's SYNOPSIS and OPTIONS,
#     and the page names no option the program lacks.
# Exits 0 when everything holds, 1 otherwise.
set -u
cd "$(dirname "$0")/.." || exit 1
header=include/gossip.h
mandir=man
fail=0
bad() { echo "check_man: $*" >&2; fail=1; }

[ -f "$header" ] || { bad "$header not found"; exit 1; }

# Function declarations: strip comments, then every `gossip_xxx(` that is
# not a call inside a macro.  The function-like macros named gossip_*
# (gossip_config_init() and the like, one #define line each, dropped here)
# stand for functions declared beside them, so what remains are the
# prototypes.
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
  for ref in $(grep -o '^\.BR[[:space:]][[:space:]]*\(gossip_[a-z_0-9]*\|libgossip\|gossip\.conf\|gossip\\-node\) ([1357])' "$p" |
               sed 's/^\.BR[[:space:]]*//; s/\\-/-/; s/ (\([1357]\))/.\1/' | sort -u); do
    [ -f "$mandir/$ref" ] || bad "$p: refers to ${ref%.*}(${ref##*.}), which has no page"
  done
  base=$(basename "$p"); th=$(awk '/^\.TH[[:space:]]/ { print tolower($2) "." $3; exit }' "$p")
  [ "$th" = "$(echo "$base" | tr 'A-Z' 'a-z')" ] || bad "$p: .TH says ${th%.*}(${th##*.}), the file is $base"
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

# 5. gossip-node(1) against the program's option tables.
node_src=examples/gossip-node.c node_page=$mandir/gossip-node.1
if [ -f "$node_src" ]; then
  if [ ! -f "$node_page" ]; then
    bad "$node_src: no page $node_page"
  else
    # long options: {"name", ...} in the getopt_long table; short: its optstring
    code_opts=$(grep -o '{"[a-z][a-z-]*", *\(no\|required\|optional\)_argument' "$node_src" |
                sed 's/{"\([^"]*\)".*/--\1/'
                grep -o 'getopt_long([^"]*"[a-zA-Z:]*"' "$node_src" |
                sed 's/.*"\([^"]*\)"/\1/' | tr -d ':' | fold -w1 | sed 's/^/-/')
    code_opts=$(printf '%s\n' $code_opts | sort -u)
    [ -n "$code_opts" ] || bad "$node_src: no getopt table found"
    # the page with roff's \- as -, by section
    section() { sed 's/\\-/-/g; s/\\f[BIRP]//g' "$node_page" |
                awk -v s="$1" '/^\.SH/ { on = ($0 ~ s) } on'; }
    page_opts=$(section OPTIONS | grep -o '\(^\|[^a-z-]\)--\?[a-z][a-z-]*' |
                sed 's/^[^-]*//' | grep -v -- '-$' | sort -u)
    syn_opts=$(section SYNOPSIS | grep -o '\(^\|[^a-z-]\)--\?[a-z][a-z-]*' |
               sed 's/^[^-]*//' | sort -u)
    for o in $code_opts; do
      printf '%s\n' $page_opts | grep -qx -- "$o" || bad "$node_page: option $o of $node_src not in OPTIONS"
      printf '%s\n' $syn_opts | grep -qx -- "$o" || bad "$node_page: option $o of $node_src not in SYNOPSIS"
    done
    for o in $page_opts $syn_opts; do
      printf '%s\n' $code_opts | grep -qx -- "$o" || bad "$node_page: names $o, which $node_src does not take"
    done
  fi
fi

npages=$(printf '%s\n' "$pages" | grep -c .)
if [ $fail = 0 ]; then
  echo "check_man: OK: $nfuncs functions documented, $npages pages, $how"
  exit 0
fi
echo "check_man: FAILED" >&2
exit 1
