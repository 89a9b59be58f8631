# libgossip.  `make` builds the libraries and the examples and needs only the
# build dependencies (OpenSSL and inih development files); it never installs
# anything.  `make demo` and `make check` (the README's two commands) and
# `make deps` install missing Debian packages first (apt-get, as root).
#
#   make [O=DIR] [SHARED=0|STATIC=0]   build (out of tree under DIR with O=)
#   make install [PREFIX=/usr] [DESTDIR=...]   and `make uninstall`
#   make check | demo | deps          tests, demo, test dependencies
#   make deb | dist | distcheck       Debian packages, release tarball
#
# CC, AR, OBJCOPY, PKG_CONFIG, INSTALL, CPPFLAGS, CFLAGS, LDFLAGS and LDLIBS
# from the command line or the environment are honoured and go after the
# project's own flags (so CFLAGS=-O0 wins over the default -O2); the flags
# the build needs (-std=c11, -fPIC, -Iinclude, the version script) are never
# replaced.  -Werror is on in the project's checks (WERROR=1, set by the
# check targets), off for a plain `make`.

VERSION   := 0.2.0
SOVERSION := 0
SONAME    := libgossip.so.$(SOVERSION)

# --- where things go ---------------------------------------------------------
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man
PCDIR   ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

# Build tree.  In tree (the default): objects and programs under build/,
# the libraries in lib/, links examples/NAME -> build/examples/NAME (the
# bench contract names examples/gossip-node).  `make O=DIR`: everything
# under DIR (DIR/lib, DIR/examples, DIR/bin, stamps), nothing in the source
# tree.  B is the object tree: build/san for the sanitizer build of the tests.
O       ?=
B       ?= $(if $(O),$(O),build)
LIBOUT  := $(if $(O),$(O)/lib,lib)

on = $(filter-out 0 no false off,$(strip $(1)))
SHARED  ?= 1
STATIC  ?= 1
ifeq ($(call on,$(SHARED))$(call on,$(STATIC)),)
$(error SHARED=0 and STATIC=0 leave nothing to build)
endif

ifneq ($(O),)
ifneq ($(filter check check-% test-% bench bench-% flood fuzz fuzz-%,$(MAKECMDGOALS)),)
$(error the tests run in the source tree (their logs go to build/): run them without O=)
endif
endif

# --- toolchain and flags -----------------------------------------------------
CC         ?= cc
AR         ?= ar
OBJCOPY    ?= objcopy
PKG_CONFIG ?= pkg-config
INSTALL    ?= install

OPT    ?= -O2 -g
WARN   := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wpointer-arith -Wformat=2 -Wvla
# On for the project's own checks, off for a plain build (a packager's
# compiler may warn where ours does not).  Exported: every sub-make of a
# check inherits it.
WERROR ?= $(if $(filter check check-% test-% distcheck,$(MAKECMDGOALS)),1)
export WERROR

# The dependencies' flags from pkg-config when it knows them.
DEP_PKGS   := libcrypto inih libcares
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(DEP_PKGS) 2>/dev/null)
DEP_LIBS   := $(or $(shell $(PKG_CONFIG) --libs $(DEP_PKGS) 2>/dev/null),-linih -lcrypto -lcares)

# Project flags first, then the user's; SAN is the sanitizer build's (in
# ALL_CFLAGS, which every link line also takes).
ALL_CPPFLAGS = -D_GNU_SOURCE -Iinclude -Ilib $(DEP_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = -std=c11 $(OPT) $(WARN) $(if $(call on,$(WERROR)),-Werror) $(CFLAGS) $(SAN)
ALL_LDFLAGS  = $(LDFLAGS) $(EXTRA_LDFLAGS)
ALL_LIBS     = $(DEP_LIBS) -lm $(LDLIBS)
# Library objects: position independent and hidden unless exported.
LIB_CFLAGS   = $(ALL_CFLAGS) -fPIC -fvisibility=hidden

# --- files -------------------------------------------------------------------
LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
# One relocatable object of the whole library, internal names made local:
# what the static archive holds and what the examples link.
LIB_ALL  := $(B)/lib/libgossip-all.o
LIB_A    := $(LIBOUT)/libgossip.a
LIB_SO   := $(LIBOUT)/libgossip.so
LIBS     := $(if $(call on,$(STATIC)),$(LIB_A)) $(if $(call on,$(SHARED)),$(LIB_SO))
SIM_SRC  := test/sim.c
SIM_OBJ  := $(SIM_SRC:test/%.c=$(B)/test/%.o)
# The hook cluster of the unit tests (test/hc.h); it needs cmocka, so the
# bench, which links $(SIM_OBJ) without it, does not take it.
HC_OBJ   := $(B)/test/hc.o
# Hand-made wire format 2 datagrams and a spy (test/forge.h): unit tests
# and the fuzz harness (test/fuzz/run.sh links test/forge.c itself).
FORGE_OBJ := $(B)/test/forge.o
UNIT_SRC := $(sort $(wildcard test/unit_*.c))
SCEN_SRC := $(sort $(wildcard test/scenario_*.c))
UNIT_BIN := $(UNIT_SRC:test/%.c=$(B)/test/%)
SCEN_BIN := $(SCEN_SRC:test/%.c=$(B)/test/%)
EX_SRC   := $(sort $(wildcard examples/*.c))
EX_BIN   := $(EX_SRC:examples/%.c=$(B)/examples/%)
# The installed gossip-node: linked with the shared library when there is one.
NODE_BIN := $(B)/bin/gossip-node
MAN_PAGES := $(sort $(wildcard man/*.[1-9]))

# Stamps: the build dependencies were found; the flags of the last build
# (a change rebuilds every object).
BUILD_STAMP := $(B)/.build-deps-ok
FLAGS_STAMP := $(B)/.flags

.SECONDARY:
.DELETE_ON_ERROR:

.PHONY: all deps check check-fast check-san test-docs test-oracle test-epoll test-units test-scenarios \
        test-loopback test-replay test-keyrotation test-reseed test-netns test-packaging test-dns demo bench bench-peers bench-rolling \
        install uninstall clean dist distcheck deb update-symbols examples-links FORCE

all: $(LIBS) $(EX_BIN) $(NODE_BIN) $(if $(O),,examples-links)

# --- dependencies ------------------------------------------------------------
# How each package is recognised: a header that preprocesses, or a command.
# A probe, not dpkg: files may come from elsewhere than a Debian package.
probe_libssl-dev    = echo '\#include <openssl/evp.h>' | $(CC) $(ALL_CPPFLAGS) -E -x c - >/dev/null 2>&1
probe_libinih-dev   = echo '\#include <ini.h>' | $(CC) $(ALL_CPPFLAGS) -E -x c - >/dev/null 2>&1
probe_libc-ares-dev = echo '\#include <ares.h>' | $(CC) $(ALL_CPPFLAGS) -E -x c - >/dev/null 2>&1
probe_libcmocka-dev = printf '\#include <stdarg.h>\n\#include <stddef.h>\n\#include <stdint.h>\n\#include <setjmp.h>\n\#include <cmocka.h>\n' \
                      | $(CC) $(ALL_CPPFLAGS) -E -x c - >/dev/null 2>&1
probe_python3       = command -v python3 >/dev/null 2>&1
probe_iproute2      = command -v ip >/dev/null 2>&1
probe_nftables      = command -v nft >/dev/null 2>&1
probe_debhelper     = command -v dh >/dev/null 2>&1
probe_dpkg-dev      = command -v dpkg-buildpackage >/dev/null 2>&1
probe_lintian       = command -v lintian >/dev/null 2>&1
probe_fakeroot      = command -v fakeroot >/dev/null 2>&1
probe_pkgconf       = command -v $(PKG_CONFIG) >/dev/null 2>&1

BUILD_PKGS := libssl-dev libinih-dev libc-ares-dev
DEMO_PKGS  := $(BUILD_PKGS) python3
CHECK_PKGS := $(DEMO_PKGS) libcmocka-dev iproute2 nftables debhelper dpkg-dev lintian fakeroot pkgconf

# A package without a probe above is asked of dpkg.
probe_dpkg = dpkg-query -W -f='$${Status}' $(1) 2>/dev/null | grep -q ' installed$$'

# $(call missing_pkgs,LIST): sets $missing in the recipe's shell.
missing_pkgs = missing=""; $(foreach p,$(1),{ $(or $(probe_$(p)),$(call probe_dpkg,$(p))); } || missing="$$missing $(p)";)
# $(call ensure_pkgs,LIST): install what is missing (root and apt-get: one
# `apt-get update`, then `apt-get install`), or stop with the list.
define ensure_pkgs
$(call missing_pkgs,$(1)) \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
    echo "installing:$$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing >/dev/null || exit 1; \
    $(call missing_pkgs,$(1)) \
    [ -z "$$missing" ] || { echo "still missing after apt-get:$$missing"; exit 1; }; \
  else echo "missing packages:$$missing (run 'make deps' as root, or install them)"; exit 1; fi; \
fi
endef

# The plain build only looks: it names what is missing and stops.
$(BUILD_STAMP): Makefile
	@mkdir -p $(@D); $(call missing_pkgs,$(BUILD_PKGS)) \
	if [ -n "$$missing" ]; then \
	  echo "missing build dependencies:$$missing (install them, or run 'make deps' as root)"; exit 1; fi; \
	touch $@

$(B)/.deps-demo: Makefile
	@mkdir -p $(@D); $(call ensure_pkgs,$(DEMO_PKGS)); touch $@

$(B)/.deps-check: Makefile
	@mkdir -p $(@D); $(call ensure_pkgs,$(CHECK_PKGS)); touch $@

deps:
	@mkdir -p $(B); $(call ensure_pkgs,$(CHECK_PKGS)); touch $(B)/.deps-check $(B)/.deps-demo

FORCE:

# Rewritten only when the compiler or a flag changed.
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D); \
	printf '%s\n' '$(subst ','\'',$(CC) $(ALL_CPPFLAGS) $(LIB_CFLAGS) $(ALL_LDFLAGS) $(ALL_LIBS))' >$@.new; \
	if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

# --- library -----------------------------------------------------------------
$(B)/lib/%.o: lib/%.c include/gossip.h $(wildcard lib/*.h) $(FLAGS_STAMP) | $(BUILD_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(LIB_CFLAGS) -c -o $@ $<

$(LIB_ALL): $(LIB_OBJ)
	$(CC) -r -nostdlib -o $@ $^
	$(OBJCOPY) --localize-hidden $@

$(LIB_A): $(LIB_ALL)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $<

# Only gossip_*, in version node LIBGOSSIP_0, is exported (lib/libgossip.map).
$(LIB_SO): $(LIB_OBJ) lib/libgossip.map
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libgossip.map \
	    -Wl,-z,defs $(ALL_LDFLAGS) -o $@ $(LIB_OBJ) $(ALL_LIBS)

# --- examples ----------------------------------------------------------------
# Linked with the library object: they run from the build tree, whichever
# libraries are built.
$(B)/examples/%.o: examples/%.c include/gossip.h $(FLAGS_STAMP) | $(BUILD_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(EX_BIN): $(B)/examples/%: $(B)/examples/%.o $(LIB_ALL)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(NODE_BIN): $(B)/examples/gossip-node.o $(if $(call on,$(SHARED)),$(LIB_SO),$(LIB_ALL))
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(if $(call on,$(SHARED)),,$(ALL_LIBS))

# The bench contract names examples/gossip-node: keep a link there (in-tree
# build only).
examples-links: $(EX_BIN)
	@for b in $(EX_BIN); do ln -sfn ../$$b examples/$$(basename $$b); done

# --- tests -------------------------------------------------------------------
$(B)/test/%.o: test/%.c test/sim.h test/hc.h include/gossip.h $(FLAGS_STAMP) | $(BUILD_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Itest -c -o $@ $<

$(FORGE_OBJ): test/forge.h $(wildcard lib/*.h)

$(B)/test/unit_%: test/unit_%.c test/hc.h test/forge.h test/core_harness.h test/core_harness.c $(LIB_OBJ) $(SIM_OBJ) \
                  $(HC_OBJ) $(FORGE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Itest $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJ) $(SIM_OBJ) $(HC_OBJ) \
	    $(FORGE_OBJ) $(ALL_LIBS) -lcmocka

$(B)/test/scenario_%: test/scenario_%.c $(LIB_OBJ) $(SIM_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Itest $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJ) $(SIM_OBJ) \
	    $(ALL_LIBS) -lcmocka

$(B)/test/bench_scale: test/bench_scale.c $(LIB_OBJ) $(SIM_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -O2 -Itest $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJ) $(SIM_OBJ) $(ALL_LIBS)

test-units: $(UNIT_BIN)
	@test/run-tests.sh units $(UNIT_BIN)

test-scenarios: $(SCEN_BIN)
	@test/run-tests.sh scenarios $(SCEN_BIN)

test-loopback: all
	@test/run-tests.sh loopback test/loopback_test.py

# Recorded loopback traffic replayed with spoofed sources (raw sockets: root;
# skipped otherwise): issue 11's black-box test.
test-replay: all
	@test/run-tests.sh replay test/replay_test.py

test-netns: all
	@test/run-tests.sh netns test/netns_test.py

test-docs:
	@test/run-tests.sh docs test/check_man.sh

# The byte-exact oracle (test/oracle.sh): every simulator's hash of its
# trace, datagram bytes and callbacks against test/oracle.txt.
test-oracle: $(B)/test/unit_sim $(SCEN_BIN)
	@test/run-tests.sh oracle test/oracle.sh

test-keyrotation: all
	@test/run-tests.sh keyrotation test/keyrotation_test.py

# examples/epoll-et (edge-triggered epoll) on loopback, burst included.
test-epoll: all
	@EPOLL_ET=$(B)/examples/epoll-et test/run-tests.sh epoll test/epoll_et_test.py

test-reseed: all
	@test/run-tests.sh reseed test/reseed_test.py

# Seed names through a DNS server on 127.0.0.1 (test/fakedns.py) that
# answers never, late, then again, and a name with two A records.
test-dns: all
	@test/run-tests.sh dns test/dns_test.py

# Debian packages, lintian, the packaged library through pkg-config, an
# out-of-tree build with the user's flags, install/uninstall, the switches.
test-packaging:
	@MAKE="$(MAKE)" test/run-tests.sh packaging test/package_test.sh

check-fast: $(B)/.deps-check
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory test-units test-scenarios test-loopback test-keyrotation test-reseed

# The whole suite: plain build, then the same tests under ASan + UBSan.
check: $(B)/.deps-check
	@$(MAKE) --no-print-directory all
	@rm -f build/results.txt
	@$(MAKE) --no-print-directory -k test-docs test-lint test-packaging test-units test-scenarios test-oracle \
	    test-swarm test-loopback test-replay test-epoll test-dns test-keyrotation test-reseed test-netns test-flood test-valgrind test-fuzz || true
	@$(MAKE) --no-print-directory check-san
	@test/run-tests.sh summary

check-san:
	@$(MAKE) --no-print-directory B=build/san OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	    build/san/test/.built
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    test/run-tests.sh units-san $(UNIT_BIN:$(B)/%=build/san/%)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    test/run-tests.sh scenarios-san $(SCEN_BIN:$(B)/%=build/san/%)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    GOSSIP_NODE=build/san/examples/gossip-node test/run-tests.sh loopback-san test/loopback_test.py
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    GOSSIP_NODE=build/san/examples/gossip-node test/run-tests.sh replay-san test/replay_test.py
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    GOSSIP_NODE=build/san/examples/gossip-node test/run-tests.sh dns-san test/dns_test.py

build/san/test/.built: $(UNIT_BIN) $(SCEN_BIN) $(EX_BIN)
	@touch $@

# --- demo and benchmarks -----------------------------------------------------
demo: $(B)/.deps-demo
	@$(MAKE) --no-print-directory all
	@GOSSIP_NODE=$${GOSSIP_NODE:-$(B)/examples/gossip-node} \
	    GOSSIP_MAILSERVER=$${GOSSIP_MAILSERVER:-$(B)/examples/mailserver} examples/demo.sh

bench: all
	@$(MAKE) --no-print-directory $(B)/test/bench_scale
	@bench/scale.sh

bench-peers: all
	@r=0; bench/peers.sh || r=1; bench/rolling.sh || r=1; exit $$r

bench-rolling: all
	@bench/rolling.sh

# --- install -----------------------------------------------------------------
# Shared library 0644 (nothing runs it), relative links, every man page.
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	$(INSTALL) -m 644 include/gossip.h $(DESTDIR)$(INCDIR)/gossip.h
ifneq ($(call on,$(STATIC)),)
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libgossip.a
endif
ifneq ($(call on,$(SHARED)),)
	$(INSTALL) -m 644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libgossip.so.$(VERSION)
	ln -sfn libgossip.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libgossip.so
endif
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' pkgconfig/libgossip.pc.in >$(DESTDIR)$(PCDIR)/libgossip.pc
	chmod 644 $(DESTDIR)$(PCDIR)/libgossip.pc
	$(INSTALL) -m 755 $(NODE_BIN) $(DESTDIR)$(BINDIR)/gossip-node
	for m in $(MAN_PAGES); do $(INSTALL) -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gossip-node $(DESTDIR)$(INCDIR)/gossip.h $(DESTDIR)$(PCDIR)/libgossip.pc \
	    $(DESTDIR)$(LIBDIR)/libgossip.a $(DESTDIR)$(LIBDIR)/libgossip.so \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libgossip.so.$(VERSION)
	for m in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}; done

clean:
ifeq ($(O),)
	rm -rf build lib/libgossip.a lib/libgossip.so libgossip-*.tar.gz
	@for b in $(EX_SRC:examples/%.c=%); do rm -f examples/$$b; done
else
	rm -rf $(O)/lib $(O)/examples $(O)/bin $(O)/test $(O)/dist $(O)/deb $(O)/libgossip-*.tar.gz \
	    $(O)/.build-deps-ok $(O)/.flags $(O)/.deps-demo $(O)/.deps-check
endif

# --- release tarball and Debian packages ---------------------------------------
# `make dist`: libgossip-VERSION.tar.gz (under O= when given) of every file
# git tracks, or of MANIFEST's list in an unpacked tarball (which carries
# one); reproducible (sorted, owner 0, mtime of the last commit).
# `make distcheck`: unpack it in a temporary directory, build it out of tree,
# install into a DESTDIR and uninstall, then `make check` there (long: the
# whole suite; not part of `make check`).
# The build's own variables, given to this make on its command line or in
# the environment: kept from the package build (dpkg-buildflags and
# DEB_BUILD_OPTIONS decide there) and from distcheck's builds.
BUILD_VARS   := O B SHARED STATIC PREFIX BINDIR LIBDIR INCDIR MANDIR PCDIR DESTDIR OPT SAN WERROR \
                CC AR OBJCOPY PKG_CONFIG INSTALL CPPFLAGS CFLAGS LDFLAGS LDLIBS
CLEAN_ENV    := env $(foreach v,$(BUILD_VARS) MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES,-u $(v))

DIST_NAME    := libgossip-$(VERSION)
DIST_TARBALL := $(if $(O),$(O)/)$(DIST_NAME).tar.gz
DIST_FILES    = $(wildcard $(if $(wildcard .git),$(shell git ls-files),$(shell cat MANIFEST 2>/dev/null)))
DIST_EPOCH    = $(or $(if $(wildcard .git),$(shell git log -1 --format=%ct 2>/dev/null)),$(shell stat -c %Y MANIFEST 2>/dev/null),0)

dist:
	@[ -n "$(DIST_FILES)" ] || { echo "dist: no file list (neither a git checkout nor MANIFEST)"; exit 1; }
	@rm -rf $(B)/dist && mkdir -p $(B)/dist/$(DIST_NAME)
	@cp -p --parents $(DIST_FILES) $(B)/dist/$(DIST_NAME)/
	@printf '%s\n' $(filter-out MANIFEST,$(DIST_FILES)) MANIFEST | sort >$(B)/dist/$(DIST_NAME)/MANIFEST
	@tar -C $(B)/dist --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(DIST_EPOCH) \
	    -cf - $(DIST_NAME) | gzip -9n >$(DIST_TARBALL).tmp
	@mv $(DIST_TARBALL).tmp $(DIST_TARBALL); rm -rf $(B)/dist
	@echo "dist: $(DIST_TARBALL) ($$(tar -tzf $(DIST_TARBALL) | grep -vc '/$$') files)"

distcheck: dist
	@$(CLEAN_ENV) MAKE="$(MAKE)" test/distcheck.sh $(DIST_TARBALL)

# `make deb`: dpkg-buildpackage -us -uc -b in a fresh unpack of the tarball
# under $(B)/deb, so the packages (written beside the unpacked tree, in
# $(B)/deb) and debhelper's files stay out of the source tree and out of its
# parent.  DEB_BUILD_OPTIONS (nocheck, parallel=N, noopt) apply as usual.
deb: dist
	@rm -rf $(B)/deb && mkdir -p $(B)/deb
	@tar -xzf $(DIST_TARBALL) -C $(B)/deb
	cd $(B)/deb/$(DIST_NAME) && $(CLEAN_ENV) dpkg-buildpackage -us -uc -b
	@ls -1 $(B)/deb/*.deb

# After a change to the API: `make update-symbols` builds the packages and
# rewrites debian/libgossip0.symbols from the library (a new symbol at
# $(VERSION)); the packaging test fails until the file matches the library.
update-symbols: deb
	cd $(B)/deb/$(DIST_NAME) && dpkg-gensymbols -plibgossip0 -Pdebian/libgossip0 -v$(VERSION) -c0 \
	    -O$(CURDIR)/debian/libgossip0.symbols
	@git diff --stat -- debian/libgossip0.symbols 2>/dev/null || true

# --- fuzzing (libFuzzer; clang, installed as root if missing) ----------------
# `make fuzz` fuzzes every target for FUZZ_SECONDS (default 600) in
# build/fuzz/corpus-<t> (seeded from test/fuzz/corpus/<t>, kept across runs;
# FUZZ_TARGETS="wire" picks targets, FUZZ_JOBS=n runs n processes each).
# `make test-fuzz` is the bounded run for `make check`: every kept crasher
# (test/fuzz/regressions/<t>/) and seed once, then FUZZ_CHECK_SECONDS
# (default 20) per target; it is skipped (exit 77) without clang/libFuzzer.
FUZZ_SECONDS       ?= 600
FUZZ_CHECK_SECONDS ?= 20
FUZZ_TARGETS       ?=

.PHONY: fuzz fuzz-build test-fuzz

fuzz-build:
	@test/fuzz/run.sh build

fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) test/fuzz/run.sh fuzz $(FUZZ_TARGETS)

test-fuzz:
	@FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS) test/run-tests.sh fuzz test/fuzz/run.sh

# --- valgrind and static analysis --------------------------------------------
# `make test-valgrind`: the unit tests of the normal build (not build/san)
# under valgrind memcheck, two at a time; any memory error or definite or
# indirect leak fails.  `make test-lint`: cppcheck over lib/ and include/
# (false positives in test/cppcheck-suppressions.txt, each with its reason)
# and clang-tidy over lib/*.c with the checked-in .clang-tidy; zero findings.
# Both install their tool as root if missing, else are skipped (exit 77).
.PHONY: test-valgrind test-lint

test-valgrind: $(UNIT_BIN)
	@VALGRIND_BINS="$(UNIT_BIN)" test/run-tests.sh valgrind test/valgrind.sh

test-lint:
	@test/run-tests.sh lint test/lint.sh

# --- bounds and hostile-input flood --------------------------------------------
# unit_noalloc prints backtraces of unexpected allocations: keep symbol names.
# `make test-flood`: two real gossip-node processes on 127.0.0.1, node 0's
# port flooded with hostile datagrams for FLOOD_SECONDS (default 20) from
# build/test/flood; node 0's RSS must stay flat and node 1 must keep seeing
# it alive (test/flood_test.py).  `make flood` is the same for 10 minutes.
FLOOD_SECONDS ?= 20

.PHONY: test-flood flood

$(B)/test/unit_noalloc: private EXTRA_LDFLAGS := -rdynamic

$(B)/test/flood: test/flood.c $(FLAGS_STAMP) | $(BUILD_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

test-flood: all $(B)/test/flood
	@FLOOD_SECONDS=$(FLOOD_SECONDS) FLOOD_SENDER=$(B)/test/flood test/run-tests.sh flood test/flood_test.py

# longer than run-tests.sh's 600 s limit per program: run directly
flood: all $(B)/test/flood
	@FLOOD_SECONDS=600 FLOOD_SENDER=$(B)/test/flood python3 test/flood_test.py

# --- swarm: randomized fault schedules on the simulator (test/swarm.c) -------
# `make test-swarm` (part of make check; its budget: at least 500 seeds in
# at most 90 s on 2 cores): seeds 1-500 on 2 workers, then every schedule
# in test/swarm-regress/ and in test/swarm-regress/known/, with the flags
# of open bugs set (see `build/test/swarm --list-known`).  `make swarm SEED=n` replays one seed
# with its whole story; `make swarm-known` replays the minimised schedules of
# open bugs, each with its own flag off (expected to fail until fixed);
# `make soak SEEDS=n` runs n fresh seeds and reports seeds per second, then
# test/chaos_test.py (12 real gossip-node processes, 5 minutes of generated
# faults; CHAOS=0 skips it);
# `make swarm-san` runs SEEDS (default 1-40) under ASan + UBSan.
SWARM_SRC := test/swarm.c test/swarm_sched.c test/swarm_alloc.c
SEEDS ?= 2000
SEED  ?= 1
CHAOS ?= 1

.PHONY: test-swarm swarm swarm-known soak swarm-san

$(B)/test/swarm: $(SWARM_SRC) test/swarm.h test/sim.h $(LIB_OBJ) $(SIM_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Itest $(ALL_LDFLAGS) -o $@ $(SWARM_SRC) $(LIB_OBJ) $(SIM_OBJ) $(ALL_LIBS)

test-swarm: $(B)/test/swarm
	@test/run-tests.sh swarm $(B)/test/swarm

swarm: $(B)/test/swarm
	@$(B)/test/swarm --seed $(SEED) -v

swarm-known: $(B)/test/swarm
	@$(B)/test/swarm --known test/swarm-regress/known

soak: $(B)/test/swarm all
	@$(B)/test/swarm --soak $(SEEDS) --jobs 2
	@if [ "$(CHAOS)" != 0 ]; then python3 test/chaos_test.py; fi

swarm-san:
	@$(MAKE) --no-print-directory B=build/san OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" build/san/test/swarm
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    build/san/test/swarm --seeds $(if $(filter 2000,$(SEEDS)),1-40,$(SEEDS))
