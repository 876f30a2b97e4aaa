# taskengine: the one entry point for building, testing, the demo and benchmarks.
#
#   make          library (release) + C header
#   make test     every test, in every language
#   make demo     hello in each language, then a table of real work
#   make bench    criterion + the C benchmark (+ Python vs numpy)
#   make install PREFIX=/some/prefix
#
# Language fragments live in mk/*.mk and add themselves to the *_TARGETS lists.

CARGO    ?= cargo
PREFIX   ?= /usr/local
PYTHON   ?= python3
RELEASE_DIR := target/release
HELLO_EXPECTED := target/hello.expected

TEST_TARGETS  :=
DEMO_TARGETS  :=
BENCH_TARGETS :=
CLEAN_TARGETS :=

.PHONY: all lib test test-rust test-loom test-hello-rust lint demo demo-rust bench bench-rust clean

all: lib

lib:
	$(CARGO) build --release --lib

-include mk/*.mk

test: lint test-rust test-loom test-hello-rust $(TEST_TARGETS)
	@echo "make test: all suites passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

test-rust:
	$(CARGO) test

# Every language's hello prints the same lines (tests/c/hello.expected).
$(HELLO_EXPECTED): tests/c/hello.expected Cargo.toml
	@mkdir -p target
	sed "s/@VERSION@/$$(sed -n 's/^version = \"\(.*\)\"/\1/p' Cargo.toml | head -1)/" tests/c/hello.expected > $@

test-hello-rust: $(HELLO_EXPECTED)
	$(CARGO) run --quiet --release --example hello > target/hello_rust.out
	diff -u $(HELLO_EXPECTED) target/hello_rust.out

# The sleep/wake and latch protocols, model-checked (own target dir: different cfg).
test-loom:
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom $(CARGO) test --release --lib loom_

demo: demo-rust $(DEMO_TARGETS)

demo-rust:
	$(CARGO) run --quiet --release --example hello
	$(CARGO) run --quiet --release --example demo

bench: bench-rust $(BENCH_TARGETS)
	$(PYTHON) scripts/bench_summary.py target/criterion

bench-rust:
	$(CARGO) bench --benches

clean: $(CLEAN_TARGETS)
	$(CARGO) clean
