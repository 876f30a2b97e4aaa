# The task-model examples (engine config, math tasks, executors, retry) in every
# language: each prints tests/c/tasks.expected. The C and C++ ones are built
# with the warnings of the other examples, and the C one also runs under
# valgrind (a retry's backoff lives on a timer thread the engine must join).

TASKS_EXPECTED := tests/c/tasks.expected

.PHONY: test-tasks-examples

$(C_BIN)/tasks_c: examples/c/tasks.c include/taskengine.h $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(TE_CFLAGS) $< -o $@ $(LINK_SHARED) -lpthread

$(C_BIN)/tasks_cpp: examples/cpp/tasks.cpp $(C_HEADERS) $(TE_LIB_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(TE_CXXFLAGS) $< -o $@ $(LINK_SHARED) -lpthread

test-tasks-examples: $(C_BIN)/tasks_c $(C_BIN)/tasks_cpp $(PY_EXT_STAMP)
	$(CARGO) run --quiet --release --example tasks > target/tasks_rust.out
	diff -u $(TASKS_EXPECTED) target/tasks_rust.out
	timeout 60 $(C_BIN)/tasks_c > $(C_OUT)/tasks_c.out
	diff -u $(TASKS_EXPECTED) $(C_OUT)/tasks_c.out
	timeout 300 $(VALGRIND) $(C_BIN)/tasks_c > /dev/null
	timeout 60 $(C_BIN)/tasks_cpp > $(C_OUT)/tasks_cpp.out
	diff -u $(TASKS_EXPECTED) $(C_OUT)/tasks_cpp.out
	timeout 60 $(VENV_PYTHON) examples/python/tasks.py > target/tasks_python.out
	diff -u $(TASKS_EXPECTED) target/tasks_python.out

TEST_TARGETS += test-tasks-examples
