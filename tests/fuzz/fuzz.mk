# tests/fuzz/fuzz.mk - host fuzzers (libFuzzer, clang, ASan + UBSan), included
# by the top-level Makefile.  Not part of `all`: the normal build needs no
# clang.  `make fuzz-build` builds build/fuzz/fuzz_*; `make fuzz` runs each
# for FUZZ_SECONDS (default 60) on a working corpus in build/fuzz/corpus/
# seeded from tests/fuzz/corpus/, and prints executions, exec/s, coverage
# and crashes per harness.  `make test` replays the committed corpora once
# (tests/scenario/fuzz_corpus.sh).

FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -DLAMINA_HOST_TEST -Ihypervisor -Ipv-abi/include -Itoolstack/builder \
                -Itoolstack/cli -I$(XEN_INC) -Itests/unit
FUZZ_SECONDS ?= 60

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

$(B)/fuzz/%: tests/fuzz/%.c $(DEPS) $(HV_SRCS) $(CTL_SRCS) $(CLI_SRCS) $(wildcard hypervisor/*/*.h hypervisor/arch/x86/*.h)
	@mkdir -p $(dir $@)
	@command -v clang >/dev/null 2>&1 || { echo "fuzz: clang is missing (make deps installs it)" >&2; exit 1; }
	$(Q)$(call quiet,FUZZ,$@)clang $(FUZZ_CFLAGS) $< -o $@ -lz

fuzz: $(FUZZ_BINS)
	@tests/fuzz/run-fuzzers $(FUZZ_SECONDS)
