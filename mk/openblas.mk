# OpenBLAS on the engine (te_openblas_attach): the C test runs against the
# OpenBLAS numpy ships in .venv (found after the venv is made), opened by path
# with RTLD_LOCAL as numpy does; it prints SKIP where there is none. The
# Python tests (bindings/python/tests/test_blas.py) run with the other Python
# tests; the benchmark is bindings/python/benches/blas_oversubscription.py.

OPENBLAS_FIND = ls $(PY_VENV)/lib/python3*/site-packages/numpy.libs/lib*openblas*.so* 2>/dev/null | head -n 1

.PHONY: test-openblas bench-openblas

$(C_BIN)/test_openblas: tests/openblas/test_openblas.c tests/c/check.h include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $< -o $@ $(LINK_SHARED) -ldl -lm

test-openblas: $(C_BIN)/test_openblas $(PY_VENV_STAMP)
	timeout 300 $(C_BIN)/test_openblas "$$($(OPENBLAS_FIND))"

bench-openblas: $(PY_EXT_STAMP)
	$(VENV_PYTHON) $(PY_DIR)/benches/blas_oversubscription.py

TEST_TARGETS  += test-openblas
BENCH_TARGETS += bench-openblas
