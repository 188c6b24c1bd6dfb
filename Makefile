# procshare: one plain Makefile for the daemon, the library, the tools and
# the tests. `make check` is what CI runs: plain build and tests, then the
# same suite under AddressSanitizer and UndefinedBehaviorSanitizer.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/procshare
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

CC ?= cc
PKGS := libevent msgpack libsodium
TEST_PKGS := cmocka

ifeq ($(SANITIZE),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS :=
endif

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC -pthread $(WARN) $(CFLAGS) $(SANFLAGS) \
	-DPS_VERSION=\"$(VERSION)\" -Iproto -Iclient -Idaemon -Idaemon/types \
	$(shell pkg-config --cflags $(PKGS))
LIBS := $(shell pkg-config --libs $(PKGS)) -pthread
LDFLAGS_ALL := $(LDFLAGS) $(SANFLAGS)

PROTO_SRC := $(wildcard proto/*.c)
DAEMON_SRC := $(wildcard daemon/*.c daemon/types/*.c)
CLIENT_SRC := $(filter-out client/cli%.c,$(wildcard client/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
EXAMPLE_SRC := $(wildcard examples/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

PROTO_OBJ := $(call obj,$(PROTO_SRC))
DAEMON_OBJ := $(call obj,$(DAEMON_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
TESTLIB_OBJ := $(call obj,$(TESTLIB_SRC))
DAEMON_LIB_OBJ := $(filter-out $(BUILD)/daemon/main.o,$(DAEMON_OBJ))

DAEMON := $(BUILD)/procshared
CLI := $(BUILD)/procshare
CLI_OBJ := $(call obj,$(wildcard client/cli*.c))
LIBA := $(BUILD)/libprocshare.a
LIBSO := $(BUILD)/libprocshare.so.0
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
INTEG_BIN := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(INTEG_SRC))
EXAMPLE_BIN := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRC))

.PHONY: all deps test check run install uninstall clean tests examples
# Keep objects made by chained pattern rules, so a rebuild is incremental.
.SECONDARY:
all: $(DAEMON) $(CLI) $(LIBA) $(LIBSO) $(BUILD)/procshare.pc examples

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(DAEMON): $(DAEMON_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# The procshare command line tool, on the library like any client.
$(CLI): $(CLI_OBJ) $(LIBA)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(LIBA): $(CLIENT_OBJ) $(PROTO_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Only ps_* symbols leave the shared library (see client/procshare.map).
$(LIBSO): $(CLIENT_OBJ) $(PROTO_OBJ) client/procshare.map
	$(CC) $(LDFLAGS_ALL) -shared -Wl,-soname,libprocshare.so.0 \
		-Wl,--version-script=client/procshare.map -o $@ $(CLIENT_OBJ) $(PROTO_OBJ) $(LIBS)
	ln -sf libprocshare.so.0 $(BUILD)/libprocshare.so

$(BUILD)/procshare.pc: client/procshare.pc.in Makefile
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/examples/%: $(BUILD)/examples/%.o $(LIBA)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)
examples: $(EXAMPLE_BIN)

# The benchmark load generator, on libprocshare.a; `make bench` runs
# procshare, Python's manager and Redis side by side (bench/run.sh).
LOADGEN := $(BUILD)/bench/loadgen
$(LOADGEN): $(call obj,$(wildcard bench/*.c)) $(LIBA)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)
$(BUILD)/tests/test_bench_smoke: | $(LOADGEN)
.PHONY: bench
bench: all $(LOADGEN)
	BUILD=$(BUILD) bench/run.sh

# Unit tests link the pure modules directly (proto/, daemon internals).
$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(DAEMON_LIB_OBJ) $(PROTO_OBJ) $(CLIENT_OBJ) $(TESTLIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(shell pkg-config --libs $(TEST_PKGS))

$(BUILD)/tests/test_%: $(BUILD)/tests/integration/test_%.o $(TESTLIB_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(shell pkg-config --libs $(TEST_PKGS))

# The C client of the network tests (tests/net, scripts/run-net-tests.sh).
$(BUILD)/tests/net/netclient: $(BUILD)/tests/net/netclient.o $(LIBA)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

tests: all $(UNIT_BIN) $(INTEG_BIN)

deps:
	@scripts/deps.sh

# Runs every test binary; each prints cmocka's summary. PS_TEST_PREFIX runs
# them under a tool (e.g. PS_TEST_PREFIX="valgrind -q").
test: tests
	@BUILD=$(BUILD) scripts/run-tests.sh $(UNIT_BIN) $(INTEG_BIN)

# Everything CI runs: dependencies, plain and sanitizer builds and tests,
# the Python client's tests; ends with one "check: N passed, N failed" line.
check:
	@scripts/check.sh

# Hardening (SECURITY.md). Fuzzers: tests/fuzz/fuzz.mk (clang, libFuzzer),
# each harness for FUZZ_SECONDS; fuzz-smoke is the short run make check
# does. valgrind: the integration suite with the daemon under memcheck.
# soak: the load test for SOAK_SECONDS, memory checked between rounds.
.PHONY: fuzz fuzz-smoke valgrind soak
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 300
fuzz:
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS)
fuzz-smoke:
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk fuzz-smoke
# A copy of the wrapper sits beside the daemon: tests find the examples
# and tools next to PS_DAEMON.
valgrind: tests
	@install -m 0755 scripts/valgrind-daemon.sh $(BUILD)/procshared-valgrind
	@BUILD=$(BUILD) PS_DAEMON=$(CURDIR)/$(BUILD)/procshared-valgrind PS_VALGRIND_DAEMON=$(CURDIR)/$(DAEMON) \
		PS_LOAD_CONNS=100 PS_TEST_TIMEOUT=1800 scripts/run-tests.sh $(INTEG_BIN)
soak: tests
	@BUILD=$(BUILD) PS_LOAD_SECONDS=$(SOAK_SECONDS) PS_TEST_TIMEOUT=$$(($(SOAK_SECONDS) + 600)) \
		scripts/run-tests.sh $(BUILD)/tests/test_load

# Starts a daemon in the foreground on the default private socket.
run: deps
	$(MAKE) all
	$(BUILD)/procshared

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/procshared
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/libprocshare.a
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)/libprocshare.so.0
	ln -sf libprocshare.so.0 $(DESTDIR)$(LIBDIR)/libprocshare.so
	install -m 0644 client/procshare.h $(DESTDIR)$(INCLUDEDIR)/procshare.h
	# Written at install time, so it names the PREFIX given to install.
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    client/procshare.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/procshare.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/procshare
	install -m 0644 man/procshare.1 $(DESTDIR)$(MANDIR)/man1/procshare.1
	install -m 0644 man/libprocshare.3 $(DESTDIR)$(MANDIR)/man3/libprocshare.3
	install -m 0644 man/procshared.8 $(DESTDIR)$(MANDIR)/man8/procshared.8
	install -m 0644 systemd/procshared.conf $(DESTDIR)$(DOCDIR)/procshared.conf.example
	for u in procshared.service procshared.socket; do \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|' systemd/$$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/procshared $(DESTDIR)$(LIBDIR)/libprocshare.a \
	      $(DESTDIR)$(LIBDIR)/libprocshare.so.0 $(DESTDIR)$(LIBDIR)/libprocshare.so \
	      $(DESTDIR)$(INCLUDEDIR)/procshare.h $(DESTDIR)$(PKGCONFIGDIR)/procshare.pc \
	      $(DESTDIR)$(BINDIR)/procshare $(DESTDIR)$(MANDIR)/man1/procshare.1 \
	      $(DESTDIR)$(MANDIR)/man3/libprocshare.3 $(DESTDIR)$(MANDIR)/man8/procshared.8 \
	      $(DESTDIR)$(DOCDIR)/procshared.conf.example \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/procshared.service $(DESTDIR)$(SYSTEMDUNITDIR)/procshared.socket

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
