# The libFuzzer harnesses (tests/fuzz/fuzz_*.c), built with clang in
# build-fuzz/ with ASan and UBSan: the top-level Makefile's `make fuzz`
# and `make fuzz-smoke` come here. Run from the source tree's root.
#
#   make fuzz                   each harness for FUZZ_SECONDS (default 60)
#   make fuzz-smoke             each harness over its corpus and for
#                               FUZZ_SMOKE_SECONDS (default 10); prints
#                               "N passed, N failed" (make check runs it)
#   make fuzz FUZZ=dispatch     one harness
#
# New inputs found by `make fuzz` go to build-fuzz/corpus/NAME (the
# checked-in seeds in tests/fuzz/corpus/NAME stay untouched); a crash
# leaves build-fuzz/crash-NAME-*. Once fixed, copy the crashing input into
# tests/fuzz/corpus/NAME as a regression seed.

FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ ?= decode handshake dispatch seal

PKGS := libevent msgpack libsodium
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Werror
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -pthread $(WARN) $(SAN) -fsanitize=fuzzer-no-link \
	-DPS_VERSION=\"fuzz\" -Iproto -Iclient -Idaemon -Idaemon/types $(shell pkg-config --cflags $(PKGS))
FUZZ_LIBS := $(shell pkg-config --libs $(PKGS)) -pthread

PROTO_SRC := $(wildcard proto/*.c)
DAEMON_SRC := $(filter-out daemon/main.c,$(wildcard daemon/*.c daemon/types/*.c))
LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(PROTO_SRC) $(DAEMON_SRC))
HARNESS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ))

.PHONY: fuzz-build fuzz-run fuzz-smoke
.SECONDARY:

fuzz-build: $(HARNESS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/tests/fuzz/fuzz_common.o $(LIB_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer $(SAN) -o $@ $^ $(FUZZ_LIBS)

fuzz-run: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) run $(FUZZ_SECONDS) $(FUZZ)

fuzz-smoke: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ)

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
