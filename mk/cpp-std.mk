# taskengine.hpp needs C++17: below it, compiling a file that includes it must
# fail with the header's own #error (and only that error), not a page of
# errors from deep inside the wrapper. Uses C_OUT and C_WARN from c.mk.

.PHONY: test-cpp-std

test-cpp-std:
	@mkdir -p $(C_OUT)
	@printf '#include "taskengine.hpp"\nint main() { return 0; }\n' > $(C_OUT)/hpp_std_check.cpp
	@set -e; for std in c++11 c++14; do \
		if $(CXX) -std=$$std $(C_WARN) -Iinclude -Ibindings/cpp -fsyntax-only $(C_OUT)/hpp_std_check.cpp \
			> $(C_OUT)/hpp_std_check.log 2>&1; then \
			echo "test-cpp-std: taskengine.hpp compiled under -std=$$std"; exit 1; fi; \
		grep -q '#error "taskengine.hpp needs C++17 or later' $(C_OUT)/hpp_std_check.log || \
			{ cat $(C_OUT)/hpp_std_check.log; echo "test-cpp-std: -std=$$std failed without the #error"; exit 1; }; \
		if [ $$(grep -c ': error:' $(C_OUT)/hpp_std_check.log) -ne 1 ]; then \
			cat $(C_OUT)/hpp_std_check.log; echo "test-cpp-std: -std=$$std gave more than the one #error"; exit 1; fi; \
	done
	$(CXX) -std=c++17 $(C_WARN) -Wundef -Iinclude -Ibindings/cpp -fsyntax-only $(C_OUT)/hpp_std_check.cpp
	@echo "test-cpp-std: -std=c++11 and -std=c++14 stop at the #error, C++17 compiles"

TEST_TARGETS += test-cpp-std
