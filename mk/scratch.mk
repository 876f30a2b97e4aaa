# The allocators example in every language (examples/allocators.rs,
# examples/c/allocators.c, examples/cpp/allocators.cpp,
# examples/python/allocators.py): each must print tests/c/allocators.expected.
# The C and C++ ones also run under AddressSanitizer/UBSan.

ALLOC_EXPECTED := tests/c/allocators.expected

.PHONY: test-allocators

$(C_BIN)/allocators_c: examples/c/allocators.c include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $< -o $@ $(LINK_SHARED) -lpthread

$(C_BIN)/allocators_cpp: examples/cpp/allocators.cpp $(C_HEADERS) $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(TE_CXXFLAGS) $< -o $@ $(LINK_SHARED) -lpthread

$(C_SAN)/allocators_c: examples/c/allocators.c include/taskengine.h $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $(SAN_FLAGS) $< -o $@ $(LINK_STATIC)

$(C_SAN)/allocators_cpp: examples/cpp/allocators.cpp $(C_HEADERS) $(TE_LIB_STAMP) $(TE_NATIVE)
	@mkdir -p $(@D)
	$(CXX) $(TE_CXXFLAGS) $(SAN_FLAGS) $< -o $@ $(LINK_STATIC)

test-allocators: $(C_BIN)/allocators_c $(C_BIN)/allocators_cpp $(C_SAN)/allocators_c $(C_SAN)/allocators_cpp $(PY_EXT_STAMP)
	@set -e; for prog in $(C_BIN)/allocators_c $(C_BIN)/allocators_cpp; do \
		timeout 120 $$prog > $$prog.out; diff -u $(ALLOC_EXPECTED) $$prog.out; done
	@set -e; for prog in $(C_SAN)/allocators_c $(C_SAN)/allocators_cpp; do \
		$(SAN_ENV) timeout 300 $$prog > $$prog.out; diff -u $(ALLOC_EXPECTED) $$prog.out; done
	$(CARGO) run --quiet --release --example allocators > target/allocators_rust.out
	diff -u $(ALLOC_EXPECTED) target/allocators_rust.out
	$(VENV_PYTHON) examples/python/allocators.py > target/allocators_python.out
	diff -u $(ALLOC_EXPECTED) target/allocators_python.out
	@echo "allocators: the example prints the same lines in C, C++, Rust and Python"

TEST_TARGETS += test-allocators
