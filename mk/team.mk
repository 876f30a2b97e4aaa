# Teams and FFTW: the FFTW adapter's test against FFTW itself, and the
# benchmark of teams (cost of a small team) and of FFTW plans executed by k
# outer tasks, on the engine's workers vs on FFTW's own threads. The team tests
# proper are in the C, C++, Rust and Python suites.
#
#   make test-fftw     bitwise equal to FFTW's own threads; nested plans
#   make bench-team    teams of 2 and 4; k = 1, 2, 4 tasks each running a plan
#
# FFTW is optional (Debian: libfftw3-dev, with libfftw3_threads): where a program
# using fftw_threads_set_callback does not compile and link (with FFTW_CFLAGS and
# FFTW_LIBS), the FFTW test and rows say "skipped: FFTW not installed". The
# library never depends on FFTW: te_fftw_parallel_loop only calls the pointer.

FFTW_CFLAGS ?=
FFTW_LIBS   ?= -lfftw3_threads -lfftw3 -lm -lpthread

TEAM_OUT := $(C_OUT)/team
# Exit status 0 when FFTW 3.3.9+ (with its threads library) is usable here.
FFTW_PROBE = mkdir -p $(TEAM_OUT) && \
	printf '\#include <fftw3.h>\nint main(void) { fftw_threads_set_callback(0, 0); return !fftw_init_threads(); }\n' \
		> $(TEAM_OUT)/fftw_probe.c && \
	$(CC) $(FFTW_CFLAGS) $(TEAM_OUT)/fftw_probe.c -o $(TEAM_OUT)/fftw_probe $(FFTW_LIBS) > /dev/null 2>&1
FFTW_SKIP := skipped: FFTW not installed (Debian: libfftw3-dev with libfftw3_threads)

.PHONY: test-fftw bench-team

$(C_BIN)/test_fftw: tests/fftw/test_fftw.c tests/c/check.h include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $(FFTW_CFLAGS) $< -o $@ $(LINK_SHARED) $(FFTW_LIBS)

$(C_SAN)/test_fftw: tests/fftw/test_fftw.c tests/c/check.h include/taskengine.h $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $(SAN_FLAGS) $(FFTW_CFLAGS) $< -o $@ $(LINK_STATIC) $(FFTW_LIBS)

# Plain, then under AddressSanitizer/UBSan (FFTW itself is not instrumented).
test-fftw: $(TE_LIB_STAMP)
	@if $(FFTW_PROBE); then \
		$(MAKE) --no-print-directory $(C_BIN)/test_fftw $(C_SAN)/test_fftw && \
		timeout 120 $(C_BIN)/test_fftw && \
		echo "== test_fftw (ASan+UBSan)" && $(SAN_ENV) timeout 300 $(C_SAN)/test_fftw > /dev/null; \
	else echo "test-fftw: $(FFTW_SKIP)"; fi

# The benchmark builds with or without FFTW (TE_BENCH_HAVE_FFTW).
$(C_BIN)/bench_team: benches/c/bench_team.c include/taskengine.h $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	@if $(FFTW_PROBE); then fftw="-DTE_BENCH_HAVE_FFTW=1 $(FFTW_CFLAGS)"; libs="$(FFTW_LIBS)"; \
	else fftw=; libs="-lm -lpthread"; fi; \
	echo "$(CC) -std=c11 $(C_WARN) -O2 -g -Iinclude $$fftw $< -o $@ $(LINK_STATIC) $$libs"; \
	$(CC) -std=c11 $(C_WARN) -O2 -g -Iinclude $$fftw $< -o $@ $(LINK_STATIC) $$libs

bench-team: $(C_BIN)/bench_team
	$(C_BIN)/bench_team

TEST_TARGETS  += test-fftw
BENCH_TARGETS += bench-team
