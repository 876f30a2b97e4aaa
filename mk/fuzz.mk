# Fuzzing and the nightly checkers: the C API-sequence fuzzer (tests/c/fuzz_api.c)
# under ASan/UBSan, the cargo-fuzz targets of fuzz/ (libFuzzer + ASan), the Rust
# tests under ThreadSanitizer, and Miri on the engine's lock-free parts and the
# allocators. `make test` runs each briefly; `make fuzz` runs the fuzzers long.
# A leg whose tool cannot be installed says so in one line and is skipped.
#
#   make fuzz [FUZZ_SECONDS=600]     each fuzzer for FUZZ_SECONDS
#   make test-fuzz-api FUZZ_SEED=N   replay one seed of the C fuzzer
#
# Uses C_SAN, SAN_FLAGS, SAN_ENV, LINK_STATIC, TE_LIB_STAMP and TE_NATIVE from c.mk.

FUZZ_SECONDS      ?= 600
# Bounded runs in `make test`: about a minute for all fuzz legs together.
FUZZ_API_SECONDS  ?= 20
FUZZ_RUST_SECONDS ?= 8
FUZZ_SEED         ?=
NIGHTLY           ?= +nightly
HOST_TARGET       := x86_64-unknown-linux-gnu
# cargo-fuzz goes into a local root, not the user's ~/.cargo.
FUZZ_TOOLS        := target/tools
CARGO_FUZZ        := $(FUZZ_TOOLS)/bin/cargo-fuzz
FUZZ_TARGETS      := utf8_reverse utf8_upper ascii_upper sort_i64 sort_f64

.PHONY: fuzz fuzz-api-bin test-fuzz-api test-fuzz-rust fuzz-rust-long test-tsan test-miri

# ---- the C API-sequence fuzzer ----

fuzz-api-bin: $(C_SAN)/fuzz_api

$(C_SAN)/fuzz_api: tests/c/fuzz_api.c include/taskengine.h $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $(SAN_FLAGS) $< -o $@ $(LINK_STATIC) -lm

test-fuzz-api: $(C_SAN)/fuzz_api
	$(SAN_ENV) timeout $$(( $(FUZZ_API_SECONDS) + 120 )) $(C_SAN)/fuzz_api $(FUZZ_API_SECONDS) $(FUZZ_SEED)

# ---- cargo-fuzz (libFuzzer) on the text and sort entry points ----

# Installs cargo-fuzz once; prints "skipped: ..." and ends the recipe (status 0)
# when the nightly toolchain or the install is not available.
define fuzz_rust_prereqs
	if ! $(CARGO) $(NIGHTLY) --version > /dev/null 2>&1; then \
		echo "skipped: cargo-fuzz targets (no nightly toolchain)"; exit 0; fi; \
	if [ ! -x $(CARGO_FUZZ) ]; then \
		$(CARGO) install cargo-fuzz --locked --root $(FUZZ_TOOLS) > $(FUZZ_TOOLS).log 2>&1 \
		|| { echo "skipped: cargo-fuzz targets (cargo install cargo-fuzz failed: see $(FUZZ_TOOLS).log)"; exit 0; }; fi
endef

# $(1): seconds per target. Seed corpora are generated into target/fuzz-corpus
# (fuzz/seeds holds the committed ones), so runs never write into the tree.
define fuzz_rust_run
	@mkdir -p $(FUZZ_TOOLS)
	@set -eo pipefail; $(fuzz_rust_prereqs); \
	export PATH="$(abspath $(FUZZ_TOOLS))/bin:$$PATH"; \
	for t in $(FUZZ_TARGETS); do \
		corpus=target/fuzz-corpus/$$t; mkdir -p $$corpus; \
		cp -n fuzz/seeds/$$t/* $$corpus/ 2>/dev/null || true; \
		echo "== cargo fuzz run $$t ($(1) s, ASan)"; \
		$(CARGO) $(NIGHTLY) fuzz run --fuzz-dir fuzz --target $(HOST_TARGET) $$t $$corpus \
			-- -max_total_time=$(1) -max_len=4096 -print_final_stats=1 2>&1 | tail -n 12; \
	done
endef

test-fuzz-rust: SHELL := /bin/bash
test-fuzz-rust:
	$(call fuzz_rust_run,$(FUZZ_RUST_SECONDS))

fuzz-rust-long: SHELL := /bin/bash
fuzz-rust-long:
	$(call fuzz_rust_run,$(FUZZ_SECONDS))

fuzz: $(C_SAN)/fuzz_api
	$(SAN_ENV) timeout $$(( $(FUZZ_SECONDS) + 300 )) $(C_SAN)/fuzz_api $(FUZZ_SECONDS) $(FUZZ_SEED)
	$(MAKE) --no-print-directory fuzz-rust-long FUZZ_SECONDS=$(FUZZ_SECONDS)

# ---- ThreadSanitizer ----

# The engine's concurrency under TSan: the lib's unit tests, tests/engine_*.rs and
# tests/group_reuse.rs
# (the whole suite takes too long with a std rebuilt for TSan on two cores; the
# fork test cannot run under TSan, and the counting global allocators see TSan's
# own allocations). TSan's reports fail the run (halt_on_error); the only ones
# suppressed are crossbeam's by-design races (tests/tsan.supp).
TSAN_TESTS := --lib --test engine_join --test engine_groups --test engine_scope --test engine_spawn \
	--test engine_parallel --test engine_config --test engine_lifecycle --test group_reuse --test group_slots --test team
test-tsan:
	@if ! rustup component add rust-src --toolchain nightly > /dev/null 2>&1; then \
		echo "skipped: ThreadSanitizer (cannot install rust-src for the nightly toolchain)"; exit 0; fi; \
	set -e; \
	RUSTFLAGS="-Zsanitizer=thread --cfg taskengine_tsan" RUSTDOCFLAGS="-Zsanitizer=thread --cfg taskengine_tsan" CARGO_TARGET_DIR=target/tsan \
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(abspath tests/tsan.supp)" \
		$(CARGO) $(NIGHTLY) test -Zbuild-std --target $(HOST_TARGET) $(TSAN_TESTS)

# ---- Miri ----

# The unit tests of the workers' deque, the block queue, the record pool and the
# allocators (module paths of src/engine/{deque,queue,pool}.rs and src/alloc;
# latch.rs has loom models only).
MIRI_FILTERS := engine::deque:: engine::queue:: engine::pool:: alloc:: per_thread::
test-miri:
	@if ! rustup component add miri --toolchain nightly > /dev/null 2>&1; then \
		echo "skipped: Miri (cannot install the miri component for the nightly toolchain)"; exit 0; fi; \
	CARGO_TARGET_DIR=target/miri $(CARGO) $(NIGHTLY) miri test --lib -- $(MIRI_FILTERS)

TEST_TARGETS += test-fuzz-api test-fuzz-rust test-tsan test-miri
