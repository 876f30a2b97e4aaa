# One pool per process: OpenBLAS and c-blosc2 on the engine's workers.
#
# OpenBLAS (te_openblas_attach): the C test runs against the
# OpenBLAS numpy ships in .venv (found after the venv is made), opened by path
# with RTLD_LOCAL as numpy does; it prints SKIP where there is none. The
# Python tests (bindings/python/tests/test_blas.py) run with the other Python
# tests; the benchmark is bindings/python/benches/blas_oversubscription.py.

OPENBLAS_FIND = ls $(PY_VENV)/lib/python3*/site-packages/numpy.libs/lib*openblas*.so* 2>/dev/null | head -n 1

.PHONY: test-openblas bench-openblas

$(C_BIN)/test_openblas: tests/openblas/test_openblas.c tests/c/check.h include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $< -o $@ $(LINK_SHARED) -ldl -lm

# A fixture exporting what an OpenBLAS older than 0.3.27 exports (no callback setter).
$(C_OUT)/fixtures/old_openblas.so: tests/openblas/old_openblas.c
	@mkdir -p $(@D)
	$(CC) -std=c11 $(C_WARN) -O2 -shared -fPIC $< -o $@

test-openblas: $(C_BIN)/test_openblas $(C_OUT)/fixtures/old_openblas.so $(PY_VENV_STAMP)
	timeout 300 $(C_BIN)/test_openblas "$$($(OPENBLAS_FIND))" $(C_OUT)/fixtures/old_openblas.so

bench-openblas: $(PY_EXT_STAMP)
	$(VENV_PYTHON) $(PY_DIR)/benches/blas_oversubscription.py

TEST_TARGETS  += test-openblas
BENCH_TARGETS += bench-openblas

# c-blosc2 on the engine (te_blosc2_parallel_loop as blosc2_set_threads_callback).
# The C test loads the libblosc2 that the PyPI `blosc2` wheel bundles: pip
# downloads the wheel (no dependencies, nothing installed) into target/blosc2
# and the library is taken out of it. Where pip cannot get it, the test prints
# SKIP. The library itself never depends on Blosc.

BLOSC2_DIR   := target/blosc2
BLOSC2_STAMP := $(BLOSC2_DIR)/.fetched
BLOSC2_FIND   = ls $(BLOSC2_DIR)/blosc2/lib/libblosc2.so.* 2>/dev/null | head -n 1

.PHONY: test-blosc2

$(BLOSC2_STAMP): $(PY_VENV_STAMP)
	rm -rf $(BLOSC2_DIR) && mkdir -p $(BLOSC2_DIR)
	-$(VENV_PYTHON) -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
		-d $(BLOSC2_DIR) 'blosc2>=3'
	-$(VENV_PYTHON) -c 'import glob, zipfile; [zipfile.ZipFile(w).extractall("$(BLOSC2_DIR)", [n for n in zipfile.ZipFile(w).namelist() if "/lib/libblosc2.so" in n]) for w in glob.glob("$(BLOSC2_DIR)/blosc2-*.whl")]'
	touch $@

$(C_BIN)/test_blosc2: tests/blosc2/test_blosc2.c tests/c/check.h include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $< -o $@ $(LINK_SHARED) -ldl

test-blosc2: $(C_BIN)/test_blosc2 $(BLOSC2_STAMP)
	timeout 300 $(C_BIN)/test_blosc2 "$$($(BLOSC2_FIND))"

TEST_TARGETS += test-blosc2
