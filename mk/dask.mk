# taskengine inside Dask (bindings/python/python/taskengine/dask.py). Its tests
# run with the Python suite (bindings/python/tests/test_dask.py, dask[distributed]
# comes from requirements-dev.txt); this adds the benchmark.
#
#   make bench-dask [DASK_BENCH_N=2e8]   sum and sort on a 2-worker LocalCluster,
#                                        taskengine chunk kernels vs numpy's

DASK_BENCH_N ?= 2e8

.PHONY: bench-dask

bench-dask: $(PY_EXT_STAMP)
	$(VENV_PYTHON) $(PY_DIR)/benches/dask_vs_numpy.py --n $(DASK_BENCH_N)

BENCH_TARGETS += bench-dask
