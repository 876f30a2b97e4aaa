# The patterns benchmark (benches/c/patterns*.c, *.cpp): the BOTS workloads and
# the fork/spawn patterns C and C++ programmers write, on taskengine from C and
# from C++, beside oneTBB task_group and OpenMP tasks, timed in one run and
# printed with their ratios. Uses the C fragment's build of the library (the
# static archive, as bench-c's table does).
#
#   make bench-patterns                   every workload
#   make bench-patterns TE_BENCH_ONLY=fib,nqueens TE_BENCH_THREADS=2
#
# oneTBB is optional, for benchmarking only (Debian: libtbb-dev): when a
# task_group does not compile and link here (with TBB_CFLAGS and TBB_LIBS), its
# rows read "skipped: oneTBB not installed". The library never depends on it.
# fib(32) also runs as Rust programs: taskengine's Engine::join (bench-c's
# rust_fib) and rayon::join (rayon_fib, from the rlib cargo builds for the Rust
# benches).

TBB_CFLAGS ?=
TBB_LIBS   ?= -ltbb

PB_OUT   := $(C_OUT)/patterns
PB_TBB   := $(PB_OUT)/tbb.flags
PB_JSON  := $(C_OUT)/bench_patterns.json
PB_CFLAGS   := -std=c11 $(C_WARN) -O2 -g -fopenmp -Iinclude
PB_CXXFLAGS := $(TE_CXXFLAGS)
PB_OBJS  := $(PB_OUT)/patterns.o $(PB_OUT)/patterns_c.o $(PB_OUT)/patterns_kernels.o \
            $(PB_OUT)/patterns_te.o $(PB_OUT)/patterns_tbb.o

.PHONY: bench-patterns pb-force

pb-force:

# The flags oneTBB needs when it compiles and links, else nothing; rewritten
# only when that changes, so that only then is anything rebuilt.
$(PB_TBB): pb-force
	@mkdir -p $(@D)
	@printf '#include <tbb/task_group.h>\nint main() { tbb::task_group g; g.run([] {}); g.wait(); }\n' \
		> $(PB_OUT)/tbb_check.cpp
	@if $(CXX) -std=c++17 $(TBB_CFLAGS) $(PB_OUT)/tbb_check.cpp -o $(PB_OUT)/tbb_check $(TBB_LIBS) > /dev/null 2>&1; \
		then echo '-DTE_BENCH_HAVE_TBB=1 $(TBB_CFLAGS)'; echo '$(TBB_LIBS)'; else echo; echo; fi > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(PB_OUT)/%.o: benches/c/%.c benches/c/patterns.h include/taskengine.h
	@mkdir -p $(@D)
	$(CC) $(PB_CFLAGS) -c $< -o $@

$(PB_OUT)/patterns_te.o: benches/c/patterns_te.cpp benches/c/patterns_cpp.hpp benches/c/patterns.h $(C_HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(PB_CXXFLAGS) -c $< -o $@

$(PB_OUT)/patterns_tbb.o: benches/c/patterns_tbb.cpp benches/c/patterns_cpp.hpp benches/c/patterns.h $(PB_TBB)
	@mkdir -p $(@D)
	$(CXX) $(PB_CXXFLAGS) $$(sed -n 1p $(PB_TBB)) -c $< -o $@

$(C_BIN)/bench_patterns: $(PB_OBJS) $(PB_TBB) $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	$(CXX) -fopenmp $(PB_OBJS) -o $@ $(LINK_STATIC) $$(sed -n 2p $(PB_TBB)) -lm

# Rayon from the rlib the Rust benches use (built with them if it is missing),
# compiled by rustc with the release profile's optimisation, as rust_fib is.
$(C_BIN)/rayon_fib: benches/c/rayon_fib.rs $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	@ls $(RELEASE_DIR)/deps/librayon-*.rlib > /dev/null 2>&1 || $(CARGO) build --release --bench engine
	rustc --edition 2021 -C opt-level=3 -C debuginfo=1 \
		--extern rayon=$$(ls -t $(RELEASE_DIR)/deps/librayon-*.rlib | head -n 1) \
		-L dependency=$(RELEASE_DIR)/deps $< -o $@

# Each version is stopped after TE_BENCH_CAP_MS (10 s) by the program itself;
# the timeout is the backstop for the whole run.
bench-patterns: $(C_BIN)/bench_patterns $(C_BIN)/rust_fib $(C_BIN)/rayon_fib
	TE_BENCH_RUST_FIB=$(C_BIN)/rust_fib TE_BENCH_RAYON_FIB=$(C_BIN)/rayon_fib TE_BENCH_PATTERNS_JSON=$(PB_JSON) \
		timeout 900 $(C_BIN)/bench_patterns

BENCH_TARGETS += bench-patterns

# `make test` builds the benchmark without running it, so a change of the C or
# C++ API that breaks it shows there rather than at the next `make bench`.
.PHONY: test-bench-build
test-bench-build: $(C_BIN)/bench_patterns

TEST_TARGETS += test-bench-build
