# libgossip: `make` builds the libraries and examples, `make check` runs every
# test, `make demo` shows a cluster on loopback.  Missing Debian packages are
# installed (apt-get, as root) before the first build.

PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
MANDIR   ?= $(PREFIX)/share/man
PCDIR    ?= $(LIBDIR)/pkgconfig
DESTDIR  ?=

CC       ?= cc
OPT      ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wvla
CPPFLAGS += -D_GNU_SOURCE -Iinclude -Ilib
CFLAGS   += $(OPT) $(WARN) -fPIC $(SAN)
LDLIBS   := -linih -lcrypto -lm
SOVERSION := 0
SONAME   := libgossip.so.$(SOVERSION)
VERSION  := 0.1.0

# Build directory: `build` for the normal build, `build/san` for the
# AddressSanitizer + UndefinedBehaviorSanitizer build of the same tests.
B        ?= build
LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
SIM_SRC  := test/sim.c
SIM_OBJ  := $(SIM_SRC:test/%.c=$(B)/test/%.o)
# The hook cluster of the unit tests (test/hc.h); it needs cmocka, so the
# bench, which links $(SIM_OBJ) without it, does not take it.
HC_OBJ   := $(B)/test/hc.o
UNIT_SRC := $(sort $(wildcard test/unit_*.c))
SCEN_SRC := $(sort $(wildcard test/scenario_*.c))
UNIT_BIN := $(UNIT_SRC:test/%.c=$(B)/test/%)
SCEN_BIN := $(SCEN_SRC:test/%.c=$(B)/test/%)
EX_SRC   := $(sort $(wildcard examples/*.c))
EX_BIN   := $(EX_SRC:examples/%.c=$(B)/examples/%)
DEPS_STAMP := build/.deps-ok

.SECONDARY:

.PHONY: all deps check check-fast check-san test-docs test-units test-scenarios test-loopback test-keyrotation test-reseed test-netns \
        demo bench bench-peers install uninstall clean

all: $(DEPS_STAMP) lib/libgossip.a lib/libgossip.so $(EX_BIN) examples-links

# --- dependencies ------------------------------------------------------------
# A compile probe per header: pkg-config files are not always there.
$(DEPS_STAMP): Makefile
	@mkdir -p build; missing=""; \
	echo '#include <openssl/evp.h>' | $(CC) -E -x c - >/dev/null 2>&1 || missing="$$missing libssl-dev"; \
	echo '#include <ini.h>'         | $(CC) -E -x c - >/dev/null 2>&1 || missing="$$missing libinih-dev"; \
	printf '#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <setjmp.h>\n#include <cmocka.h>\n' \
	    | $(CC) -E -x c - >/dev/null 2>&1 || missing="$$missing libcmocka-dev"; \
	command -v python3 >/dev/null 2>&1 || missing="$$missing python3"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v nft >/dev/null 2>&1 || missing="$$missing nftables"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || exit 1; \
	  else echo "missing packages:$$missing (run 'make deps' as root, or install them)"; exit 1; fi; \
	fi; touch $@

deps: $(DEPS_STAMP)

# --- library -----------------------------------------------------------------
$(B)/lib/%.o: lib/%.c include/gossip.h $(wildcard lib/*.h) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=hidden -c -o $@ $<

# One relocatable object with the internal symbols made local, so a host
# that links the archive statically never collides with our internal names.
lib/libgossip.a: $(LIB_OBJ)
	@mkdir -p $(B)
	ld -r -o $(B)/libgossip-all.o $^
	objcopy --localize-hidden $(B)/libgossip-all.o
	rm -f $@; ar rcs $@ $(B)/libgossip-all.o

# Only gossip_* is exported (lib/libgossip.map).
lib/libgossip.so: $(LIB_OBJ) lib/libgossip.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libgossip.map -Wl,-z,defs \
	    $(SAN) -o $@ $(LIB_OBJ) $(LDLIBS)

# --- examples ----------------------------------------------------------------
$(B)/examples/%: examples/%.c lib/libgossip.a include/gossip.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< lib/libgossip.a $(LDLIBS)

# The bench contract names examples/gossip-node: keep a link there.
examples-links: $(EX_BIN)
	@for b in $(EX_BIN); do ln -sf ../$$b examples/$$(basename $$b); done

# --- tests -------------------------------------------------------------------
$(B)/test/%.o: test/%.c test/sim.h test/hc.h include/gossip.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itest -c -o $@ $<

$(B)/test/unit_%: test/unit_%.c test/hc.h $(LIB_OBJ) $(SIM_OBJ) $(HC_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itest -o $@ $< $(LIB_OBJ) $(SIM_OBJ) $(HC_OBJ) $(LDLIBS) -lcmocka -lm

$(B)/test/scenario_%: test/scenario_%.c $(LIB_OBJ) $(SIM_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itest -o $@ $< $(LIB_OBJ) $(SIM_OBJ) $(LDLIBS) -lcmocka -lm

$(B)/test/bench_scale: test/bench_scale.c $(LIB_OBJ) $(SIM_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -Itest -o $@ $< $(LIB_OBJ) $(SIM_OBJ) $(LDLIBS) -lm

test-units: $(UNIT_BIN)
	@test/run-tests.sh units $(UNIT_BIN)

test-scenarios: $(SCEN_BIN)
	@test/run-tests.sh scenarios $(SCEN_BIN)

test-loopback: all
	@test/run-tests.sh loopback test/loopback_test.py

test-netns: all
	@test/run-tests.sh netns test/netns_test.py

test-docs:
	@test/run-tests.sh docs test/check_man.sh

test-keyrotation: all
	@test/run-tests.sh keyrotation test/keyrotation_test.py

test-reseed: all
	@test/run-tests.sh reseed test/reseed_test.py

check-fast: all test-units test-scenarios test-loopback test-keyrotation test-reseed

# The whole suite: plain build, then the same tests under ASan + UBSan.
check: all
	@rm -f build/results.txt
	@$(MAKE) --no-print-directory -k test-docs test-lint test-units test-scenarios test-swarm test-loopback test-keyrotation \
	    test-reseed test-netns test-flood test-valgrind test-fuzz || true
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

build/san/test/.built: $(UNIT_BIN) $(SCEN_BIN) $(EX_SRC:examples/%.c=$(B)/examples-san/%)
	@touch $@

$(B)/examples-san/%: examples/%.c $(LIB_OBJ)
	@mkdir -p $(B)/examples
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $(B)/examples/$* $< $(LIB_OBJ) $(LDLIBS)

# --- demo and benchmarks -----------------------------------------------------
demo: all
	@examples/demo.sh

bench: all
	@$(MAKE) --no-print-directory $(B)/test/bench_scale
	@bench/scale.sh

bench-peers: all
	@bench/peers.sh

# --- install -----------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) \
	    $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 644 include/gossip.h $(DESTDIR)$(INCDIR)/
	install -m 644 lib/libgossip.a $(DESTDIR)$(LIBDIR)/
	install -m 755 lib/libgossip.so $(DESTDIR)$(LIBDIR)/libgossip.so.$(VERSION)
	ln -sf libgossip.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libgossip.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' pkgconfig/libgossip.pc.in > $(DESTDIR)$(PCDIR)/libgossip.pc
	for m in man/*.3; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man3/; done
	for m in man/*.5; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in man/*.7; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man7/ || true; done

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/gossip.h $(DESTDIR)$(LIBDIR)/libgossip.* $(DESTDIR)$(PCDIR)/libgossip.pc
	for m in man/*.3; do rm -f $(DESTDIR)$(MANDIR)/man3/$$(basename $$m); done
	for m in man/*.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$$(basename $$m); done

clean:
	rm -rf build lib/libgossip.a lib/libgossip.so
	@for b in $(EX_SRC:examples/%.c=%); do rm -f examples/$$b; done

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

$(B)/test/unit_noalloc: private CFLAGS += -rdynamic

$(B)/test/flood: test/flood.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $<

test-flood: all $(B)/test/flood
	@FLOOD_SECONDS=$(FLOOD_SECONDS) FLOOD_SENDER=$(B)/test/flood test/run-tests.sh flood test/flood_test.py

# longer than run-tests.sh's 600 s limit per program: run directly
flood: all $(B)/test/flood
	@FLOOD_SECONDS=600 FLOOD_SENDER=$(B)/test/flood python3 test/flood_test.py

# --- swarm: randomized fault schedules on the simulator (test/swarm.c) -------
# `make test-swarm` (in make check): seeds 1-500 on 2 workers, then every
# schedule in test/swarm-regress/, with the flags of open bugs set (see
# `build/test/swarm --list-known`).  `make swarm SEED=n` replays one seed
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
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itest -o $@ $(SWARM_SRC) $(LIB_OBJ) $(SIM_OBJ) $(LDLIBS)

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
