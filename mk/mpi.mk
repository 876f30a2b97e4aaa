# MPI + taskengine (examples/mpi): a distributed sample sort and reduction, C and
# C++, run with 2 ranks on this machine. The MPI is MPICH from PyPI, installed
# without root into target/mpi/venv (else an MPI on PATH; else a one-line skip).
#
#   make test-mpi    build the examples with mpicc/mpicxx, run them, check them
#   make bench-mpi   the sample sort: 2 ranks x 1 engine worker vs 1 rank x 2

MPI_OUT  := target/mpi
MPI_VENV := $(MPI_OUT)/venv
MPI_REQS := examples/mpi/requirements.txt
# The directory of mpicc/mpicxx/mpiexec (empty: none), found when a recipe runs.
MPI_FIND := sh examples/mpi/find-mpi.sh $(PYTHON) $(MPI_VENV) $(MPI_REQS)
MPI_SKIP := echo "SKIPPED: no MPI (pip install mpich into $(MPI_VENV) failed and no mpicc/mpicxx/mpiexec on PATH)"
# The wrappers compile with the compilers make uses (MPICH and Open MPI names).
MPI_CC_ENV := MPICH_CC="$(CC)" MPICH_CXX="$(CXX)" OMPI_CC="$(CC)" OMPI_CXX="$(CXX)"
MPI_BENCH_N ?= 10000000

.PHONY: mpi-examples test-mpi bench-mpi

# Built next to the other C programs, which find the library through ../lib.
mpi-examples: $(TE_LIB_STAMP)
	@mkdir -p $(C_BIN) $(MPI_OUT)
	@bin=$$($(MPI_FIND)); if [ -z "$$bin" ]; then $(MPI_SKIP) > $(MPI_OUT)/skip; exit 0; fi; rm -f $(MPI_OUT)/skip; \
	set -ex; \
	$(MPI_CC_ENV) $$bin/mpicc $(TE_CFLAGS) examples/mpi/sample_sort.c -o $(C_BIN)/mpi_sort_c $(LINK_SHARED); \
	$(MPI_CC_ENV) $$bin/mpicxx $(TE_CXXFLAGS) examples/mpi/sample_sort.cpp -o $(C_BIN)/mpi_sort_cpp $(LINK_SHARED)

test-mpi: mpi-examples
	@if [ -f $(MPI_OUT)/skip ]; then echo "test-mpi: $$(cat $(MPI_OUT)/skip)"; exit 0; fi; \
	bin=$$($(MPI_FIND)); set -e; run="timeout 120 $$bin/mpiexec"; \
	echo "test-mpi: mpiexec from $$bin, $$($$bin/mpiexec --version 2>&1 | grep -m1 -i -E 'version' | sed 's/^ *//')"; \
	echo "== C, 2 ranks, default engines"; $$run -n 2 $(C_BIN)/mpi_sort_c -n 300000 -r 2; \
	echo "== C, 3 ranks, engines of 2 workers, tiny parts"; $$run -n 3 $(C_BIN)/mpi_sort_c -n 5 -w 2 -e 2; \
	echo "== C, 2 ranks bound to a core each: default engines of 1 worker"; \
	$$run -n 2 -bind-to core $(C_BIN)/mpi_sort_c -n 100000 -e 1; \
	if command -v taskset > /dev/null; then \
		cpu=$$($(PYTHON) -c 'import os; print(min(os.sched_getaffinity(0)))'); \
		echo "== C, 2 ranks under taskset -c $$cpu: default engines of 1 worker"; \
		taskset -c $$cpu $$run -n 2 $(C_BIN)/mpi_sort_c -n 100000 -e 1; \
	else echo "== skipped: taskset (util-linux) not installed"; fi; \
	echo "== C++, 2 ranks, default engines"; $$run -n 2 $(C_BIN)/mpi_sort_cpp 300000; \
	echo "== C++, 3 ranks, engines of 1 worker"; $$run -n 3 $(C_BIN)/mpi_sort_cpp 20000 1 1; \
	echo "test-mpi: sample sort and reduction match the serial references"

# Same data size both ways: 2 ranks of N items (one core, one engine worker
# each) against 1 rank of 2N items with an engine of 2 workers. Medians of 5.
bench-mpi: mpi-examples
	@if [ -f $(MPI_OUT)/skip ]; then echo "bench-mpi: $$(cat $(MPI_OUT)/skip)"; exit 0; fi; \
	bin=$$($(MPI_FIND)); set -e; \
	echo "== 2 ranks x 1 engine worker, $(MPI_BENCH_N) int64 per rank"; \
	timeout 600 $$bin/mpiexec -n 2 -bind-to core $(C_BIN)/mpi_sort_c -n $(MPI_BENCH_N) -w 1 -r 5; \
	echo "== 1 rank x 2 engine workers, $$(( 2 * $(MPI_BENCH_N) )) int64"; \
	timeout 600 $$bin/mpiexec -n 1 $(C_BIN)/mpi_sort_c -n $$(( 2 * $(MPI_BENCH_N) )) -w 2 -r 5

TEST_TARGETS  += test-mpi
BENCH_TARGETS += bench-mpi
