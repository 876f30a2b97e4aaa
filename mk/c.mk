# C and C++: the library as a C or C++ programmer gets it. Builds the tests,
# examples and benchmark against the artifacts cargo already produced in
# target/release (nothing is rebuilt unless a Rust or C source changed), runs
# them plain, under AddressSanitizer/UBSan and under valgrind, checks the
# exported symbols and `make install`, and regenerates the header.
#
#   make header         rewrite include/taskengine.h from src/ffi (commit it)
#   make install PREFIX=/some/prefix [DESTDIR=...] [INSTALL_STRIP=0]

TE_VERSION   := $(shell sed -n 's/^version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)
# The SONAME's number: keep in step with build.rs (test-symbols checks it).
TE_SOVERSION := 1

PKG_CONFIG ?= pkg-config

C_OUT     := target/c
C_LIBDIR  := $(C_OUT)/lib
C_BIN     := $(C_OUT)/bin
C_SAN     := $(C_OUT)/san
TE_SO     := $(RELEASE_DIR)/libtaskengine.so
TE_A      := $(RELEASE_DIR)/libtaskengine.a
TE_RLIB   := $(RELEASE_DIR)/libtaskengine.rlib
TE_NATIVE := $(C_OUT)/native-static-libs
TE_LIBS_PRIVATE := $(C_OUT)/libs-private
# Stripped copies for `make install` (INSTALL_STRIP=0 installs the libraries
# as built, for packaging tools that split the debug info themselves).
INSTALL_STRIP ?= 1
TE_DIST       := $(C_OUT)/dist
TE_DIST_SO    := $(TE_DIST)/libtaskengine.so.$(TE_VERSION)
TE_DIST_DEBUG := $(TE_DIST_SO).debug
TE_DIST_A     := $(TE_DIST)/libtaskengine.a

# The library is rebuilt (by cargo) only when one of its inputs changed.
TE_LIB_STAMP  := $(C_OUT)/.lib-stamp
TE_LIB_INPUTS := $(shell find src csrc -type f 2>/dev/null) Cargo.toml Cargo.lock build.rs
TE_LIB_FORCE  := $(if $(and $(wildcard $(TE_SO)),$(wildcard $(TE_A)),$(wildcard $(TE_RLIB))),,c-force)

C_WARN      := -Wall -Wextra -Wpedantic -Werror
TE_CFLAGS   := -std=c11 $(C_WARN) -O2 -g -Iinclude
TE_CXXFLAGS := -std=c++17 $(C_WARN) -O2 -g -Iinclude -Ibindings/cpp
SAN_FLAGS   := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# Binaries find the library through target/c/lib, which holds the SONAME link.
LINK_SHARED := -L$(C_LIBDIR) -ltaskengine -Wl,-rpath,'$$ORIGIN/../lib'
# The static link: the archive plus the system libraries rustc says it needs.
LINK_STATIC  = $(TE_A) $$(cat $(TE_NATIVE))
# --fair-sched=yes: valgrind runs one thread at a time, and without it a thread
# that spins (test_race's writer) can hold the CPU for most of a run: test_race
# took from 27 s to over 120 s (its alarm) that way, 5 s with fair scheduling.
VALGRIND    := valgrind -q --fair-sched=yes --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
               --show-leak-kinds=definite
SAN_ENV     := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

C_TESTS     := $(patsubst tests/c/%.c,%,$(wildcard tests/c/test_*.c))
CPP_SOURCES := $(wildcard tests/cpp/*.cpp)
C_TEST_BINS := $(addprefix $(C_BIN)/,$(C_TESTS)) $(C_BIN)/test_cpp $(C_BIN)/test_cpp20
C_SAN_BINS  := $(addprefix $(C_SAN)/,$(C_TESTS)) $(C_SAN)/test_cpp
C_EXAMPLES  := $(C_BIN)/hello_c $(C_BIN)/wordfreq
CPP_EXAMPLES := $(C_BIN)/hello_cpp $(C_BIN)/blur
C_HEADERS   := include/taskengine.h bindings/cpp/taskengine.hpp

.PHONY: c-force c-lib header test-c test-cpp test-c-asan test-c-valgrind test-install test-header \
        test-symbols demo-c demo-cpp bench-c install clean-c

c-force:
c-lib: $(TE_LIB_STAMP)

$(TE_LIB_STAMP): $(TE_LIB_INPUTS) $(TE_LIB_FORCE)
	$(CARGO) build --release --lib
	@mkdir -p $(C_LIBDIR)
	ln -sf ../../release/libtaskengine.so $(C_LIBDIR)/libtaskengine.so.$(TE_SOVERSION)
	ln -sf libtaskengine.so.$(TE_SOVERSION) $(C_LIBDIR)/libtaskengine.so
	touch $@

$(TE_NATIVE): $(TE_LIB_STAMP) packaging/native-static-libs.sh
	sh packaging/native-static-libs.sh $(RELEASE_DIR) > $@.tmp
	mv $@.tmp $@

# What an installed program linking libtaskengine.a adds (pkg-config's
# Libs.private, the CMake static target): rustc's list without -lgcc_s. The
# compiler driver links the unwinder itself, the shared libgcc_s or, under
# -static (where libgcc_s.a does not exist), libgcc_eh.a.
$(TE_LIBS_PRIVATE): $(TE_NATIVE)
	echo $$(tr ' ' '\n' < $< | grep -v -x -e '-lgcc_s' -e '') > $@.tmp
	mv $@.tmp $@

# The installed libraries: the release profile keeps debug info (for the tests
# and benchmarks here); installed, the shared library is stripped and its debug
# info (with the full symbol table) goes to lib/.debug/, where gdb, perf and
# Rust's own backtraces find it through .gnu_debuglink; the archive drops its
# debug info (a program's own build decides what it keeps).
$(TE_DIST_SO): $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	objcopy --only-keep-debug --compress-debug-sections=zlib $(TE_SO) $(TE_DIST_DEBUG)
	cd $(@D) && objcopy --strip-unneeded --add-gnu-debuglink=$(notdir $(TE_DIST_DEBUG)) \
		$(abspath $(TE_SO)) $(notdir $@)

$(TE_DIST_A): $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	strip --strip-debug -o $@ $(TE_A)

# ---- binaries ----

$(C_BIN)/test_%: tests/c/test_%.c tests/c/check.h include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $< -o $@ $(LINK_SHARED) -lpthread -lm

$(C_SAN)/test_%: tests/c/test_%.c tests/c/check.h include/taskengine.h $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $(SAN_FLAGS) $< -o $@ $(LINK_STATIC) -lm

$(C_BIN)/test_cpp: $(CPP_SOURCES) $(C_HEADERS) $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(TE_CXXFLAGS) $(CPP_SOURCES) -o $@ $(LINK_SHARED) -lpthread

# The same tests as C++20, where the wrapper adds std::span overloads.
$(C_BIN)/test_cpp20: $(CPP_SOURCES) $(C_HEADERS) $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(TE_CXXFLAGS) -std=c++20 $(CPP_SOURCES) -o $@ $(LINK_SHARED) -lpthread

$(C_SAN)/test_cpp: $(CPP_SOURCES) $(C_HEADERS) $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	$(CXX) $(TE_CXXFLAGS) $(SAN_FLAGS) $(CPP_SOURCES) -o $@ $(LINK_STATIC)

$(C_BIN)/hello_c: examples/c/hello.c include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $< -o $@ $(LINK_SHARED)

$(C_BIN)/wordfreq: examples/c/wordfreq.c include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $< -o $@ $(LINK_SHARED)

$(C_BIN)/hello_cpp: examples/cpp/hello.cpp $(C_HEADERS) $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(TE_CXXFLAGS) $< -o $@ $(LINK_SHARED)

$(C_BIN)/blur: examples/cpp/blur.cpp $(C_HEADERS) $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(TE_CXXFLAGS) $< -o $@ $(LINK_SHARED)

# ---- tests ----

# The header as committed must be what cbindgen makes of src/ffi, and both
# headers must compile on their own, as C99/C11 and C++11/17/20, warnings fatal.
test-header:
	$(CARGO) test --quiet --test header
	@mkdir -p $(C_OUT)
	printf '#include "taskengine.h"\nint te_header_only;\n' > $(C_OUT)/header_check.c
	$(CC) -std=c99 $(C_WARN) -Iinclude -fsyntax-only $(C_OUT)/header_check.c
	$(CC) -std=c11 $(C_WARN) -Iinclude -fsyntax-only $(C_OUT)/header_check.c
	$(CXX) -std=c++11 $(C_WARN) -Iinclude -fsyntax-only -x c++ $(C_OUT)/header_check.c
	$(CXX) -std=c++17 $(C_WARN) -Iinclude -fsyntax-only -x c++ $(C_OUT)/header_check.c
	printf '#include "taskengine.hpp"\n' > $(C_OUT)/hpp_check.cpp
	$(CXX) -std=c++17 $(C_WARN) -Iinclude -Ibindings/cpp -fsyntax-only $(C_OUT)/hpp_check.cpp
	$(CXX) -std=c++20 $(C_WARN) -Iinclude -Ibindings/cpp -fsyntax-only $(C_OUT)/hpp_check.cpp

# The shared library has the SONAME and exports exactly the functions the header
# declares: te_ symbols only, none of the C kernels' internal te_k_ ones.
test-symbols: $(TE_LIB_STAMP)
	readelf -d $(TE_SO) | grep -q 'SONAME.*\[libtaskengine.so.$(TE_SOVERSION)\]'
	@mkdir -p $(C_OUT)
	@nm -D --defined-only $(TE_SO) | awk '{ print $$3 }' | sort > $(C_OUT)/exported.txt
	@# Deprecated functions (still exported for old callers) start with their marker.
	@sed -E 's/^TE_DEPRECATED\([^)]*\) //' include/taskengine.h \
		| grep -E '^[a-z].*[^a-z_]te_[a-z0-9_]+\(.*\);$$' | grep -v '^typedef' \
		| sed -E 's/.*[^a-z_](te_[a-z0-9_]+)\(.*/\1/' | sort > $(C_OUT)/declared.txt
	@diff -u $(C_OUT)/declared.txt $(C_OUT)/exported.txt || \
		{ echo "test-symbols: exported symbols differ from the header's functions (- header, + library)"; exit 1; }
	@echo "test-symbols: SONAME libtaskengine.so.$(TE_SOVERSION); $$(wc -l < $(C_OUT)/exported.txt) symbols exported, exactly the header's functions"

test-c: $(addprefix $(C_BIN)/,$(C_TESTS)) $(C_EXAMPLES)
	@set -e; for t in $(C_TESTS); do echo "== $$t"; timeout 60 $(C_BIN)/$$t; done
	@# hello prints what examples/hello.rs prints (the hash: FNV-1a 64 of "hello").
	sed 's/@VERSION@/$(TE_VERSION)/' tests/c/hello.expected > $(C_OUT)/hello.expected
	timeout 60 $(C_BIN)/hello_c > $(C_OUT)/hello_c.out
	diff -u $(C_OUT)/hello.expected $(C_OUT)/hello_c.out
	@# wordfreq against a shell pipeline doing the same count (8 copies of our
	@# sources: many 64 KiB pieces to merge).
	@set -e; text=$(C_OUT)/wordfreq-input.txt; \
	for i in 1 2 3 4 5 6 7 8; do cat include/taskengine.h src/ffi/*.rs tests/c/*.c; done > $$text; \
	timeout 60 $(C_BIN)/wordfreq $$text 25 > $(C_OUT)/wordfreq.out; \
	tr -cs 'A-Za-z' '\n' < $$text | tr 'A-Z' 'a-z' | sed '/^$$/d' | LC_ALL=C sort | uniq -c \
		| LC_ALL=C sort -k1,1nr -k2,2 | head -n 25 | awk '{ print $$1, $$2 }' > $(C_OUT)/wordfreq.expected; \
	diff -u $(C_OUT)/wordfreq.expected $(C_OUT)/wordfreq.out; \
	echo "wordfreq: top 25 words of $$(wc -c < $$text) bytes match sort | uniq -c"

test-cpp: $(C_BIN)/test_cpp $(C_BIN)/test_cpp20 $(CPP_EXAMPLES)
	timeout 60 $(C_BIN)/test_cpp
	timeout 60 $(C_BIN)/test_cpp20 > /dev/null
	sed 's/@VERSION@/$(TE_VERSION)/' tests/c/hello.expected > $(C_OUT)/hello.expected
	timeout 60 $(C_BIN)/hello_cpp > $(C_OUT)/hello_cpp.out
	diff -u $(C_OUT)/hello.expected $(C_OUT)/hello_cpp.out
	timeout 60 $(C_BIN)/blur $(C_OUT)/blur.ppm 640 360 4

test-c-asan: $(C_SAN_BINS)
	@set -e; for t in $(C_TESTS) test_cpp; do echo "== $$t (ASan+UBSan)"; $(SAN_ENV) timeout 120 $(C_SAN)/$$t > /dev/null; done
	@echo "test-c-asan: C and C++ tests clean under AddressSanitizer and UBSan"

# test_fork's child leaks the engines it inherited on purpose (their threads do
# not exist there, so they cannot be shut down): leaks are not errors for it.
test-c-valgrind: $(C_TEST_BINS)
	@set -e; for t in $(C_TESTS) test_cpp; do echo "== $$t (valgrind)"; \
		if [ $$t = test_fork ]; then extra="--errors-for-leak-kinds=none --show-leak-kinds=none"; else extra=; fi; \
		timeout 300 $(VALGRIND) $$extra $(C_BIN)/$$t > /dev/null; done
	@echo "test-c-valgrind: C and C++ tests clean under valgrind memcheck"

test-install: $(TE_DIST_SO) $(TE_DIST_A) $(TE_LIBS_PRIVATE)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX="$$tmp/prefix" > "$$tmp/install.log"; \
	CC="$(CC)" CXX="$(CXX)" PKG_CONFIG="$(PKG_CONFIG)" timeout 300 sh tests/c/test_install.sh "$$tmp/prefix" "$$tmp/work" $(TE_SOVERSION) $(TE_VERSION)

header:
	TASKENGINE_BLESS_HEADER=1 $(CARGO) test --quiet --test header

# ---- demo and benchmark ----

demo-c: $(C_BIN)/hello_c
	$(C_BIN)/hello_c

demo-cpp: $(C_BIN)/hello_cpp
	$(C_BIN)/hello_cpp

$(C_BIN)/bench_c: benches/c/bench.c include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(C_WARN) -O2 -g -fopenmp -Iinclude $< -o $@ $(LINK_SHARED) -lm

$(C_BIN)/bench_c_static: benches/c/bench.c include/taskengine.h $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(C_WARN) -O2 -g -fopenmp -Iinclude $< -o $@ $(LINK_STATIC)

# The Rust side of the fib(32) comparison, compiled by rustc against the same
# release rlib (no cargo rebuild), with the release profile's optimisation.
$(C_BIN)/rust_fib: benches/c/rust_fib.rs $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	rustc --edition 2021 -C opt-level=3 -C debuginfo=1 --extern taskengine=$(TE_RLIB) \
		-L dependency=$(RELEASE_DIR)/deps $< -o $@

# The table comes from the static link, like the Rust reference; the shared
# library's fib line follows (its thread-locals cost a __tls_get_addr call).
bench-c: $(C_BIN)/bench_c $(C_BIN)/bench_c_static $(C_BIN)/rust_fib
	TE_BENCH_RUST_FIB=$(C_BIN)/rust_fib $(C_BIN)/bench_c_static
	@printf 'linked to libtaskengine.so: '
	@TE_BENCH_ONLY=fib TE_BENCH_RUST_FIB=$(C_BIN)/rust_fib $(C_BIN)/bench_c 2>/dev/null | tail -n 1

# ---- install ----

ifeq ($(INSTALL_STRIP),0)
INSTALL_LIBS := $(TE_LIB_STAMP)
else
INSTALL_LIBS := $(TE_DIST_SO) $(TE_DIST_A)
endif

install: $(INSTALL_LIBS) $(TE_LIBS_PRIVATE)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/cmake/taskengine $(DESTDIR)$(PREFIX)/include
ifeq ($(INSTALL_STRIP),0)
	install -m 0755 $(TE_SO) $(DESTDIR)$(PREFIX)/lib/libtaskengine.so.$(TE_VERSION)
	install -m 0644 $(TE_A) $(DESTDIR)$(PREFIX)/lib/libtaskengine.a
else
	install -d $(DESTDIR)$(PREFIX)/lib/.debug
	install -m 0755 $(TE_DIST_SO) $(DESTDIR)$(PREFIX)/lib/libtaskengine.so.$(TE_VERSION)
	install -m 0644 $(TE_DIST_DEBUG) $(DESTDIR)$(PREFIX)/lib/.debug/
	install -m 0644 $(TE_DIST_A) $(DESTDIR)$(PREFIX)/lib/libtaskengine.a
endif
	ln -sf libtaskengine.so.$(TE_VERSION) $(DESTDIR)$(PREFIX)/lib/libtaskengine.so.$(TE_SOVERSION)
	ln -sf libtaskengine.so.$(TE_SOVERSION) $(DESTDIR)$(PREFIX)/lib/libtaskengine.so
	install -m 0644 $(C_HEADERS) $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(TE_VERSION)|' packaging/taskengine.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/taskengine.pc
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(TE_VERSION)|' -e "s|@LIBS_PRIVATE@|$$(cat $(TE_LIBS_PRIVATE))|" \
		packaging/taskengine-link.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/taskengine-link.pc
	sed -e 's|@VERSION@|$(TE_VERSION)|' -e 's|@SOVERSION@|$(TE_SOVERSION)|' \
		-e "s|@CMAKE_LIBS@|$$(sed -e 's/-l//g' -e 's/ /;/g' $(TE_LIBS_PRIVATE))|" \
		packaging/taskengineConfig.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/taskengine/taskengineConfig.cmake
	sed -e 's|@VERSION@|$(TE_VERSION)|' packaging/taskengineConfigVersion.cmake.in \
		> $(DESTDIR)$(PREFIX)/lib/cmake/taskengine/taskengineConfigVersion.cmake

clean-c:
	rm -rf $(C_OUT)

TEST_TARGETS  += test-header test-symbols test-c test-cpp test-c-asan test-c-valgrind test-install
DEMO_TARGETS  += demo-c demo-cpp
BENCH_TARGETS += bench-c
CLEAN_TARGETS += clean-c
