#!/usr/bin/env bash
# `make distcheck`: prove the release tarball is complete.
#   test/distcheck.sh libgossip-VERSION.tar.gz
# In a temporary directory: unpack; build out of tree (make O=DIR, with
# -Werror); install into a DESTDIR (every file checked) and uninstall (no
# file left); check the unpacked tree got no file; `make dist` again from
# the unpacked tree gives the same file list; then the whole `make check`
# in the unpacked tree (as root it installs its test packages, like on a
# fresh machine).  Exit 0 with the tree removed, else 1 with it kept.
# DISTCHECK_CHECK=0 leaves out the `make check` step (a quick look).
set -u
tarball=${1:?usage: distcheck.sh TARBALL}
MAKE=${MAKE:-make}
case "$tarball" in /*) ;; *) tarball=$PWD/$tarball ;; esac
[ -f "$tarball" ] || { echo "distcheck: no $tarball"; exit 1; }
name=$(basename "$tarball" .tar.gz)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libgossip-distcheck.XXXXXX") || exit 1
fail=0
bad()  { echo "distcheck: FAIL: $*"; fail=1; }
step() { echo; echo "== distcheck: $*"; }
finish() {
  if [ $fail = 0 ]; then rm -rf "$tmp"; echo "distcheck: $name.tar.gz is ready for distribution"
  else echo "distcheck: FAILED (kept $tmp)"; fi
  exit $fail
}
start=$SECONDS

step "unpack $(basename "$tarball") in $tmp"
tar -xzf "$tarball" -C "$tmp" || { bad "cannot unpack"; finish; }
src=$tmp/$name
[ -d "$src" ] || { bad "the tarball has no $name/ directory"; finish; }
[ -f "$src/MANIFEST" ] || bad "no MANIFEST in the tarball"
tree() { (cd "$src" && find . -print | sort); }
tree >"$tmp/tree.before"
touch "$tmp/marker"

step "out-of-tree build (O=$tmp/_build, WERROR=1)"
$MAKE -C "$src" -j2 O="$tmp/_build" WERROR=1 >"$tmp/build.log" 2>&1 || { bad "build failed"; tail -n 30 "$tmp/build.log"; finish; }

step "install into DESTDIR, uninstall"
d=$tmp/_inst
$MAKE -C "$src" O="$tmp/_build" WERROR=1 PREFIX=/usr DESTDIR="$d" install >"$tmp/install.log" 2>&1 \
  || { bad "install failed"; tail -n 20 "$tmp/install.log"; }
ver=${name#libgossip-}
for f in usr/include/gossip.h usr/lib/libgossip.a usr/lib/libgossip.so "usr/lib/libgossip.so.$ver" usr/lib/libgossip.so.0 \
         usr/lib/pkgconfig/libgossip.pc usr/bin/gossip-node usr/share/man/man1/gossip-node.1 \
         usr/share/man/man5/gossip.conf.5 usr/share/man/man7/libgossip.7; do
  [ -e "$d/$f" ] || bad "not installed: $f"
done
n3=$(ls "$d/usr/share/man/man3" 2>/dev/null | wc -l); w3=$(ls "$src"/man/*.3 | wc -l)
[ "$n3" = "$w3" ] || bad "$n3 of $w3 section 3 pages installed"
echo "installed $(find "$d" ! -type d | wc -l) files"
$MAKE -C "$src" O="$tmp/_build" PREFIX=/usr DESTDIR="$d" uninstall >"$tmp/uninstall.log" 2>&1 || bad "uninstall failed"
left=$(find "$d" ! -type d)
[ -z "$left" ] || bad "left after uninstall: $left"

step "the unpacked tree is unchanged by the out-of-tree build"
tree >"$tmp/tree.after"
changed=$(cd "$src" && find . -newer "$tmp/marker" -print)
if ! cmp -s "$tmp/tree.before" "$tmp/tree.after" || [ -n "$changed" ]; then
  bad "the build wrote into the source tree:"
  diff "$tmp/tree.before" "$tmp/tree.after"; echo "$changed"
fi

step "make dist from the unpacked tree gives the same files"
$MAKE -C "$src" O="$tmp/_dist" dist >"$tmp/dist.log" 2>&1 || { bad "make dist in the unpacked tree failed"; cat "$tmp/dist.log"; }
if [ -f "$tmp/_dist/$name.tar.gz" ]; then
  cmp -s <(tar -tzf "$tarball" | sort) <(tar -tzf "$tmp/_dist/$name.tar.gz" | sort) \
    || bad "the file lists differ: $(diff <(tar -tzf "$tarball" | sort) <(tar -tzf "$tmp/_dist/$name.tar.gz" | sort) | head -n 10)"
fi

if [ "${DISTCHECK_CHECK:-1}" = 0 ]; then   # a quick look at the rest only
  echo; echo "distcheck: make check skipped (DISTCHECK_CHECK=0)"; finish
fi
step "make check in the unpacked tree"
cstart=$SECONDS
$MAKE -C "$src" check >"$tmp/check.log" 2>&1
rc=$?
grep -E ' (FAIL|SKIP) |^[0-9]+ passed, ' "$tmp/check.log"
echo "make check: exit $rc in $((SECONDS - cstart)) s"
[ $rc = 0 ] || bad "make check failed in the unpacked tree (log $tmp/check.log)"
echo "distcheck: $((SECONDS - start)) s"
finish
