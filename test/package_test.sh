#!/usr/bin/env bash
# The build as a packager takes it (`make test-packaging`, part of `make check`):
#  1. an out-of-tree build (make O=DIR) with the user's CFLAGS=-O1,
#     LDFLAGS=-Wl,-z,now, CPPFLAGS and wrapped AR and OBJCOPY: BIND_NOW on
#     the library and the programs, no TEXTREL, every library object built
#     with -fPIC, -std=c11 and the warnings, the user's -O1 after the
#     default -O2, the wrappers used, the symbols in version node
#     LIBGOSSIP_0 or a later LIBGOSSIP_0.N (doc/abi.md); a second run
#     builds nothing, a changed CFLAGS rebuilds;
#     with clang too when it is installed;
#  2. make install into a DESTDIR (modes, links, every man page, gossip-node
#     linked with the shared library), then make uninstall leaves no file;
#  3. SHARED=0 and STATIC=0 build and install only what they say;
#  4. make deb with DEB_BUILD_OPTIONS=nocheck, out of tree; lintian: no
#     error and no warning; the symbols file lists exactly the exported
#     gossip_* (all @LIBGOSSIP_0 or @LIBGOSSIP_0.N); changelog, Makefile
#     and header (GOSSIP_VERSION_*) versions agree;
#  5. the libgossip0 and libgossip-dev packages unpacked into a temporary
#     root (dpkg-deb -x): examples/select-loop.c compiled through pkg-config
#     against them (shared, and static with --static), two nodes run and
#     see each other join; the packaged gossip-node runs;
#  6. the source tree got no new or changed file.
# Exits 0, 1 (a check failed), or 77 when a tool is missing and cannot be
# installed (not root, or no apt-get).
set -u
cd "$(dirname "$0")/.." || exit 1
MAKE=${MAKE:-make}
# A sub-make of `make check` passes its flags (and a jobserver we do not
# have) in the environment: these builds choose their own.
unset MAKEFLAGS MFLAGS MAKELEVEL

# --- tools -------------------------------------------------------------------
need="dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian fakeroot:fakeroot pkg-config:pkgconf readelf:binutils"
missing() { local m="" t; for t in $need; do command -v "${t%%:*}" >/dev/null 2>&1 || m="$m ${t#*:}"; done; echo "$m"; }
m=$(missing)
if [ -n "$m" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$m"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
       -o DPkg::Lock::Timeout=600 --no-install-recommends $m) >/dev/null 2>&1
  fi
  m=$(missing)
  if [ -n "$m" ]; then
    echo "packaging tools missing:$m (apt-get install$m)"
    exit 77
  fi
fi

fail=0
bad()  { echo "FAIL: $*"; fail=1; }
ok()   { echo "ok: $*"; }
step() { echo; echo "== $*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libgossip-pkgtest.XXXXXX") || exit 1
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ $fail = 0 ]; then rm -rf "$tmp"; else echo "(kept $tmp)"; fi
}
trap cleanup EXIT

VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)

# The source tree before anything is built (run-tests.sh writes our log
# under build/logs and the tally in build/results.txt: not ours).
snapshot() {
  find . \( -path ./.git -o -path ./build/logs \) -prune -o ! -path ./build/results.txt -print | sort
}
snapshot >"$tmp/tree.before"
touch "$tmp/marker"

# readelf -d FILE has BIND_NOW (FLAGS BIND_NOW, or FLAGS_1 NOW).
bind_now() { readelf -d "$1" 2>/dev/null | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*\bNOW\b'; }

# --- 1. out of tree, the user's flags ----------------------------------------
step "1. make O=DIR CFLAGS=-O1 LDFLAGS=-Wl,-z,now CPPFLAGS=-DGOSSIP_PKGTEST=1 AR=wrapper OBJCOPY=wrapper"
mkdir -p "$tmp/bin"
for t in ar objcopy; do
  printf '#!/bin/sh\necho "$0 $*" >>"%s/%s.used"\nexec %s "$@"\n' "$tmp" "$t" "$(command -v $t)" >"$tmp/bin/my-$t"
  chmod +x "$tmp/bin/my-$t"
done
o=$tmp/o
UFLAGS=(CFLAGS=-O1 LDFLAGS=-Wl,-z,now CPPFLAGS=-DGOSSIP_PKGTEST=1 AR="$tmp/bin/my-ar" OBJCOPY="$tmp/bin/my-objcopy")
if $MAKE -j2 O="$o" "${UFLAGS[@]}" >"$tmp/o.log" 2>&1; then
  ok "out-of-tree build"
else
  bad "out-of-tree build failed:"; tail -n 30 "$tmp/o.log"
fi
for f in lib/libgossip.so lib/libgossip.a examples/gossip-node examples/select-loop examples/mailserver bin/gossip-node; do
  [ -e "$o/$f" ] || bad "O=DIR: no $f under DIR"
done
for f in lib/libgossip.so examples/gossip-node examples/select-loop bin/gossip-node; do
  [ -e "$o/$f" ] || continue
  if bind_now "$o/$f"; then ok "BIND_NOW in $f"; else bad "$f: no BIND_NOW (LDFLAGS=-Wl,-z,now ignored)"; fi
done
if [ -e "$o/lib/libgossip.so" ]; then
  if readelf -d "$o/lib/libgossip.so" | grep -q TEXTREL; then bad "libgossip.so has TEXTREL (not PIC)"; else ok "no TEXTREL in libgossip.so"; fi
fi
# Every library compile line: the project's flags kept, the user's after them.
ncomp=0
while IFS= read -r line; do
  ncomp=$((ncomp + 1))
  src=${line##* }
  for want in -fPIC -std=c11 -Wall -Wextra -Iinclude -DGOSSIP_PKGTEST=1; do
    case " $line " in *" $want "*) ;; *) bad "$src compiled without $want";; esac
  done
  case "$line" in *" -O2 "*" -O1 "*) ;; *) bad "$src: the user's -O1 does not come after the default -O2";; esac
done < <(grep -E " -c -o $o/lib/[a-z_]+\.o " "$tmp/o.log")
nsrc=$(ls lib/*.c | wc -l)
[ "$ncomp" = "$nsrc" ] && ok "$ncomp library objects with -fPIC -std=c11 -Wall -Wextra, -O1 after -O2" \
  || bad "$ncomp library compile lines for $nsrc sources"
# The same from the binary: gcc records its switches in DW_AT_producer.
prod=$(readelf --debug-dump=info "$o/lib/libgossip.so" 2>/dev/null | grep -A0 'DW_AT_producer' | grep -- ' -f' | head -n 1)
if [ -n "$prod" ]; then
  case "$prod" in *-fPIC*) ok "DW_AT_producer of libgossip.so says -fPIC";; *) bad "DW_AT_producer lacks -fPIC: $prod";; esac
  case "$prod" in *"-O2"*"-O1"*|*"-O1"*) ok "DW_AT_producer of libgossip.so says -O1";; *) bad "DW_AT_producer lacks -O1: $prod";; esac
fi
[ -s "$tmp/ar.used" ] && ok "AR wrapper used" || bad "AR=... ignored"
[ -s "$tmp/objcopy.used" ] && ok "OBJCOPY wrapper used" || bad "OBJCOPY=... ignored"
# Exported: gossip_* only, each in version node LIBGOSSIP_0 or LIBGOSSIP_0.N.
if [ -e "$o/lib/libgossip.so" ]; then
  other=$(nm -D --defined-only "$o/lib/libgossip.so" | awk '$2 != "A" { print $3 }' | grep -v '^gossip_[a-z_0-9]*@@LIBGOSSIP_0\(\.[0-9][0-9]*\)\?$')
  [ -z "$other" ] && ok "exports: gossip_*@@LIBGOSSIP_0[.N] only" || bad "exported besides gossip_*@@LIBGOSSIP_0[.N]: $other"
fi
# Up to date means nothing to do; another CFLAGS rebuilds.
again=$($MAKE O="$o" "${UFLAGS[@]}" 2>&1 | grep -c -- ' -c -o ')
[ "$again" = 0 ] && ok "second run compiles nothing" || bad "second run compiled $again files"
again=$($MAKE -j2 O="$o" "${UFLAGS[@]}" CFLAGS=-O0 2>&1 | grep -c -- ' -c -o ')
[ "$again" -ge "$nsrc" ] && ok "CFLAGS changed: $again files recompiled" || bad "CFLAGS changed, only $again files recompiled"
if command -v clang >/dev/null 2>&1; then
  if $MAKE -j2 O="$tmp/clang" CC=clang WERROR=1 >"$tmp/clang.log" 2>&1 && grep -q '^clang ' "$tmp/clang.log"; then
    ok "CC=clang WERROR=1 builds"
  else
    bad "CC=clang WERROR=1 build failed:"; grep -E 'error|warning' "$tmp/clang.log" | head -n 20
  fi
else
  echo "(clang not installed: no clang build)"
fi

# --- 2. install, uninstall -----------------------------------------------------
step "2. make install / uninstall PREFIX=/usr DESTDIR=..."
d=$tmp/inst
$MAKE O="$o" "${UFLAGS[@]}" install PREFIX=/usr DESTDIR="$d" >"$tmp/install.log" 2>&1 || { bad "make install failed:"; tail -n 20 "$tmp/install.log"; }
mode() { stat -c %a "$1" 2>/dev/null; }
L=$d/usr/lib
[ -f "$L/libgossip.so.$VERSION" ] && [ ! -L "$L/libgossip.so.$VERSION" ] && [ "$(mode "$L/libgossip.so.$VERSION")" = 644 ] \
  && ok "libgossip.so.$VERSION, mode 644" || bad "libgossip.so.$VERSION missing or mode $(mode "$L/libgossip.so.$VERSION")"
[ "$(readlink "$L/libgossip.so.0")" = "libgossip.so.$VERSION" ] && ok "libgossip.so.0 -> libgossip.so.$VERSION" || bad "libgossip.so.0 link: $(readlink "$L/libgossip.so.0")"
[ "$(readlink "$L/libgossip.so")" = libgossip.so.0 ] && ok "libgossip.so -> libgossip.so.0" || bad "libgossip.so link: $(readlink "$L/libgossip.so")"
for f in usr/lib/libgossip.a usr/include/gossip.h usr/lib/pkgconfig/libgossip.pc usr/share/man/man1/gossip-node.1 \
         usr/share/man/man5/gossip.conf.5 usr/share/man/man7/libgossip.7; do
  [ "$(mode "$d/$f")" = 644 ] || bad "$f missing or mode $(mode "$d/$f")"
done
[ "$(mode "$d/usr/bin/gossip-node")" = 755 ] && ok "usr/bin/gossip-node 755" || bad "usr/bin/gossip-node missing or mode $(mode "$d/usr/bin/gossip-node")"
readelf -d "$d/usr/bin/gossip-node" 2>/dev/null | grep -q 'NEEDED.*\[libgossip\.so\.0\]' \
  && ok "gossip-node linked with libgossip.so.0" || bad "installed gossip-node not linked with libgossip.so.0"
n3=$(ls "$d/usr/share/man/man3" 2>/dev/null | wc -l); w3=$(ls man/*.3 | wc -l)
[ "$n3" = "$w3" ] && ok "$n3 section 3 pages" || bad "$n3 section 3 pages installed, $w3 in man/"
grep -q '^prefix=/usr$' "$d/usr/lib/pkgconfig/libgossip.pc" 2>/dev/null || bad "libgossip.pc: prefix is not /usr"
$MAKE O="$o" "${UFLAGS[@]}" uninstall PREFIX=/usr DESTDIR="$d" >"$tmp/uninstall.log" 2>&1 || bad "make uninstall failed"
left=$(find "$d" ! -type d)
[ -z "$left" ] && ok "uninstall removed every file" || bad "left after uninstall: $left"

# --- 3. SHARED=0, STATIC=0 -------------------------------------------------------
step "3. SHARED=0 and STATIC=0"
if $MAKE -j2 O="$tmp/s0" SHARED=0 >"$tmp/s0.log" 2>&1 && $MAKE O="$tmp/s0" SHARED=0 install DESTDIR="$tmp/s0i" PREFIX=/usr >>"$tmp/s0.log" 2>&1; then
  [ -e "$tmp/s0/lib/libgossip.a" ] && [ ! -e "$tmp/s0/lib/libgossip.so" ] && [ -z "$(ls "$tmp/s0i/usr/lib" | grep '\.so')" ] \
    && [ -e "$tmp/s0i/usr/lib/libgossip.a" ] && ! readelf -d "$tmp/s0i/usr/bin/gossip-node" | grep -q libgossip \
    && ok "SHARED=0: static library only, gossip-node linked statically" || bad "SHARED=0 built or installed a shared library"
else
  bad "SHARED=0 build or install failed"; tail -n 20 "$tmp/s0.log"
fi
if $MAKE -j2 O="$tmp/a0" STATIC=0 >"$tmp/a0.log" 2>&1 && $MAKE O="$tmp/a0" STATIC=0 install DESTDIR="$tmp/a0i" PREFIX=/usr >>"$tmp/a0.log" 2>&1; then
  [ -e "$tmp/a0/lib/libgossip.so" ] && [ ! -e "$tmp/a0/lib/libgossip.a" ] && [ ! -e "$tmp/a0i/usr/lib/libgossip.a" ] \
    && [ -e "$tmp/a0i/usr/lib/libgossip.so.$VERSION" ] \
    && ok "STATIC=0: shared library only" || bad "STATIC=0 built or installed a static library"
else
  bad "STATIC=0 build or install failed"; tail -n 20 "$tmp/a0.log"
fi

# --- 4. make deb, lintian, symbols -------------------------------------------------
step "4. make deb (DEB_BUILD_OPTIONS=nocheck), lintian"
start=$SECONDS
if DEB_BUILD_OPTIONS="nocheck parallel=2" $MAKE O="$tmp/d" deb >"$tmp/deb.log" 2>&1; then
  ok "make deb ($((SECONDS - start)) s)"
else
  bad "make deb failed:"; tail -n 30 "$tmp/deb.log"
fi
debs=$tmp/d/deb
ls -1 "$debs"/*.deb 2>/dev/null | sed 's|.*/|  |'
for p in libgossip0 libgossip-dev libgossip-tools; do
  ls "$debs/${p}_"*.deb >/dev/null 2>&1 || bad "no $p package"
done
changes=$(ls "$debs"/*.changes 2>/dev/null | head -n 1)
if [ -n "$changes" ]; then
  start=$SECONDS
  lintian -I --fail-on error,warning "$changes" >"$tmp/lintian.txt" 2>&1
  rc=$?
  grep -v 'running with root privileges' "$tmp/lintian.txt" | sed 's/^/  /'
  ne=$(grep -c '^E: ' "$tmp/lintian.txt"); nw=$(grep -c '^W: ' "$tmp/lintian.txt"); ni=$(grep -c '^I: ' "$tmp/lintian.txt")
  no=$(lintian --show-overrides "$changes" 2>/dev/null | grep -c '^O: ')
  if [ $rc = 0 ] && [ "$ne" = 0 ] && [ "$nw" = 0 ]; then
    ok "lintian $(lintian --version | awk '{print $2}'): $ne errors, $nw warnings, $ni info, $no overridden ($((SECONDS - start)) s)"
  else
    bad "lintian (exit $rc): $ne errors, $nw warnings"
  fi
fi
lib_deb=$(ls "$debs"/libgossip0_*.deb 2>/dev/null | head -n 1)
dev_deb=$(ls "$debs"/libgossip-dev_*.deb 2>/dev/null | head -n 1)
tools_deb=$(ls "$debs"/libgossip-tools_*.deb 2>/dev/null | head -n 1)
root=$tmp/root
for deb in $lib_deb $dev_deb $tools_deb; do dpkg-deb -x "$deb" "$root"; done
so=$root/usr/lib/$MA/libgossip.so.$VERSION
if [ -f "$so" ]; then
  # as dpkg-gensymbols writes them: name@VERSION, the version node itself too
  exported=$(nm -D --defined-only "$so" | awk '$2 == "A" { print $3 "@" $3; next } { sub(/@@/, "@", $3); print $3 }' | sort)
  listed=$(awk '/^ / { print $1 }' debian/libgossip0.symbols | sort)
  if [ "$exported" = "$listed" ]; then
    ok "debian/libgossip0.symbols lists the $(echo "$listed" | grep -c '^gossip_') exported gossip_* symbols, all @LIBGOSSIP_0[.N]"
  else
    bad "debian/libgossip0.symbols and the library differ (make update-symbols rewrites it):"
    diff <(echo "$listed") <(echo "$exported") | sed 's/^/    /'
  fi
  echo "$exported" | grep -v '@LIBGOSSIP_0\(\.[0-9][0-9]*\)\?$' | grep -q . && bad "a symbol outside version nodes LIBGOSSIP_0[.N]"
else
  bad "no libgossip.so.$VERSION in the libgossip0 package"
fi
cv=$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
[ "${cv%-*}" = "$VERSION" ] && ok "debian/changelog $cv matches VERSION $VERSION" || bad "debian/changelog $cv, Makefile VERSION $VERSION"
hv=$(awk '$1 == "#define" && $2 ~ /^GOSSIP_VERSION_(MAJOR|MINOR|PATCH)$/ { v[$2] = $3 }
          END { print v["GOSSIP_VERSION_MAJOR"] "." v["GOSSIP_VERSION_MINOR"] "." v["GOSSIP_VERSION_PATCH"] }' include/gossip.h)
hs=$(sed -n 's/^#define GOSSIP_VERSION_STRING "\(.*\)"$/\1/p' include/gossip.h)
[ "$hv" = "$VERSION" ] && [ "$hs" = "$VERSION" ] && ok "include/gossip.h says $hv too" \
  || bad "include/gossip.h: GOSSIP_VERSION_* $hv, GOSSIP_VERSION_STRING \"$hs\", Makefile VERSION $VERSION"

# --- 5. the packaged library through pkg-config ---------------------------------------
step "5. examples/select-loop.c against the unpacked packages (pkg-config)"
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$root/usr/lib/$MA/pkgconfig
pv=$(pkg-config --modversion libgossip 2>&1)
[ "$pv" = "$VERSION" ] && ok "pkg-config --modversion libgossip: $pv" || bad "pkg-config --modversion libgossip: $pv"
cflags=$(pkg-config --cflags libgossip) libs=$(pkg-config --libs libgossip)
echo "  cflags: $cflags"; echo "  libs: $libs"
case " $cflags " in *" -I$root/usr/include "*) ;; *) bad "--cflags does not point into the root";; esac
case " $libs " in *" -L$root/usr/lib/$MA "*) ;; *) bad "--libs does not point into the root";; esac
slibs=$(pkg-config --static --libs-only-l libgossip | sed 's/\(^\| \)-lgossip\( \|$\)/ /')
echo "  static: $slibs"
for l in -lcrypto -linih -lcares -lm; do case " $slibs " in *" $l "*) ;; *) bad "pkg-config --static lacks $l";; esac; done
${CC:-cc} $cflags -o "$tmp/sl" examples/select-loop.c $libs 2>&1 || bad "select-loop: compile against the packages failed"
${CC:-cc} $cflags -o "$tmp/sl-static" examples/select-loop.c $(pkg-config --libs-only-L libgossip) \
  -Wl,-Bstatic -lgossip -Wl,-Bdynamic $slibs 2>&1 || bad "select-loop: static link against the packages failed"
export LD_LIBRARY_PATH=$root/usr/lib/$MA
if [ -x "$tmp/sl" ] && [ -x "$tmp/sl-static" ]; then
  ldd "$tmp/sl" | grep -q "libgossip.so.0 => $root/" && ok "select-loop runs with the packaged libgossip.so.0" \
    || bad "select-loop does not load the packaged library: $(ldd "$tmp/sl" | grep gossip)"
  readelf -d "$tmp/sl-static" | grep -q 'NEEDED.*libgossip' && bad "static select-loop needs libgossip.so"
  p1=$((20000 + RANDOM % 20000)); p2=$((p1 + 1))
  "$tmp/sl" 1 $p1 >"$tmp/n1.out" 2>&1 & pids+=($!)
  "$tmp/sl-static" 2 $p2 127.0.0.1:$p1 >"$tmp/n2.out" 2>&1 & pids+=($!)
  joined=false
  for _ in $(seq 1 100); do
    if grep -q '^member 2: join' "$tmp/n1.out" && grep -q '^member 1: join' "$tmp/n2.out"; then joined=true; break; fi
    sleep 0.2
  done
  $joined && ok "two select-loop nodes (shared and static) see each other join" \
    || { bad "select-loop nodes did not see each other:"; sed 's/^/    1| /' "$tmp/n1.out"; sed 's/^/    2| /' "$tmp/n2.out"; }
fi
node=$root/usr/bin/gossip-node
if [ -x "$node" ]; then
  "$node" --help | grep -q '^usage: gossip-node' && ok "packaged gossip-node --help" || bad "packaged gossip-node --help"
  out=$("$node" --check-config --node-id 7 --bind 127.0.0.1 --key pkgtest 2>&1)
  case "$out" in *"configuration OK"*) ok "packaged gossip-node --check-config";; *) bad "gossip-node --check-config: $out";; esac
else
  bad "no usr/bin/gossip-node in libgossip-tools"
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH LD_LIBRARY_PATH

# --- 6. nothing written into the source tree ------------------------------------------
step "6. the source tree"
snapshot >"$tmp/tree.after"
changed=$(find . \( -path ./.git -o -path ./build/logs \) -prune -o ! -path ./build/results.txt -newer "$tmp/marker" -print)
if cmp -s "$tmp/tree.before" "$tmp/tree.after" && [ -z "$changed" ]; then
  ok "no file added, removed or changed in the source tree"
else
  bad "the source tree changed:"
  diff "$tmp/tree.before" "$tmp/tree.after" | sed 's/^/    /'
  echo "$changed" | sed 's/^/    changed: /'
fi

echo
[ $fail = 0 ] && echo "packaging: all checks pass" || echo "packaging: FAILED"
exit $fail
