# Python packages for users: one abi3 wheel (CPython 3.11 and every later
# version: the buffer protocol is in the limited API from 3.11 on) and an sdist
# that `pip install` builds. Built with the .venv's maturin, in the workspace's
# target/ (the editable build of mk/python.mk shares its compiled crates).
#
#   make wheel        target/wheels/taskengine-V-cp311-abi3-<platform>.whl + taskengine-V.tar.gz
#   make test-wheel   the wheel in fresh virtual environments, examples/python run there,
#                     and a wheel built from the sdist by pip (tests/wheel/test_wheel.sh)
#
# Uses PY_DIR, PY_BIN, VENV_PYTHON, PY_VENV_STAMP and PY_EXT_INPUTS from python.mk.

WHEEL_DIR    := target/wheels
WHEEL_STAMP  := $(WHEEL_DIR)/.built
# pip builds the unpacked sdist in place, with its own target dir (a copy of
# the sources at another path would otherwise replace the workspace's artifacts).
SDIST_OUT    := target/sdist
SDIST_STAMP  := $(SDIST_OUT)/.unpacked
WHEEL_INPUTS  = $(PY_EXT_INPUTS) $(shell find $(PY_DIR)/python -type f \( -name '*.py' -o -name '*.pyi' -o -name py.typed \) 2>/dev/null) \
                $(PY_DIR)/README.md include/taskengine.h

.PHONY: wheel test-wheel

wheel: $(WHEEL_STAMP)

$(WHEEL_STAMP): $(PY_VENV_STAMP) $(WHEEL_INPUTS)
	@mkdir -p $(WHEEL_DIR)
	rm -f $(WHEEL_DIR)/taskengine-*.whl $(WHEEL_DIR)/taskengine-*.tar.gz
	VIRTUAL_ENV="$(abspath $(PY_VENV))" PATH="$(abspath $(PY_BIN)):$$PATH" \
		$(PY_BIN)/maturin build --release --quiet --manifest-path $(PY_DIR)/Cargo.toml \
		--interpreter $(VENV_PYTHON) --out $(WHEEL_DIR)
	$(PY_BIN)/maturin sdist --manifest-path $(PY_DIR)/Cargo.toml --out $(WHEEL_DIR) > $(WHEEL_DIR)/sdist.log 2>&1 \
		|| { cat $(WHEEL_DIR)/sdist.log; exit 1; }
	@ls $(WHEEL_DIR)/taskengine-*.whl $(WHEEL_DIR)/taskengine-*.tar.gz
	touch $@

$(SDIST_STAMP): $(WHEEL_STAMP)
	rm -rf $(SDIST_OUT)/src
	mkdir -p $(SDIST_OUT)/src
	tar -xzf $(WHEEL_DIR)/taskengine-*.tar.gz -C $(SDIST_OUT)/src
	touch $@

test-wheel: $(WHEEL_STAMP) $(SDIST_STAMP) $(HELLO_EXPECTED)
	CARGO_TARGET_DIR="$(abspath $(SDIST_OUT)/target)" timeout 900 sh tests/wheel/test_wheel.sh \
		$$(ls $(WHEEL_DIR)/taskengine-*.whl) $$(ls -d $(SDIST_OUT)/src/taskengine-*) $(SDIST_OUT)/work $(VENV_PYTHON)

TEST_TARGETS += test-wheel
