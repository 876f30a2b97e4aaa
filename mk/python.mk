# The Python binding (bindings/python): a local .venv holding maturin, pytest,
# numpy and mypy, with the extension built into it by `maturin develop --release`
# (an editable install: python/taskengine is used in place, the compiled
# _native module is put beside it). Both steps are skipped when nothing they
# depend on changed; the extension shares the workspace's target/ with cargo.

PY_DIR        := bindings/python
PY_VENV       := .venv
PY_BIN        := $(PY_VENV)/bin
VENV_PYTHON   := $(PY_BIN)/python
PY_REQS       := $(PY_DIR)/requirements-dev.txt
PY_VENV_STAMP := $(PY_VENV)/.taskengine-requirements
PY_EXT_STAMP  := $(PY_VENV)/.taskengine-extension
PY_EXT_INPUTS := $(shell find src csrc $(PY_DIR)/src -type f \( -name '*.rs' -o -name '*.c' -o -name '*.h' \) 2>/dev/null) \
                 Cargo.toml Cargo.lock build.rs $(PY_DIR)/Cargo.toml $(PY_DIR)/pyproject.toml
# Rebuild when the compiled module is gone even if the stamp is not.
PY_EXT_FORCE  := $(if $(wildcard $(PY_DIR)/python/taskengine/_native*.so),,python-force)

.PHONY: python-venv python-ext test-python demo-python bench-python clean-python python-force

python-venv: $(PY_VENV_STAMP)
python-ext: $(PY_EXT_STAMP)
python-force:

$(PY_VENV_STAMP): $(PY_REQS)
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(PY_VENV)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r $(PY_REQS)
	touch $@

$(PY_EXT_STAMP): $(PY_VENV_STAMP) $(PY_EXT_INPUTS) $(PY_EXT_FORCE)
	@# A module built before the extension was abi3 would be imported instead of
	@# the new _native.abi3.so (CPython tries its own suffix first).
	rm -f $(PY_DIR)/python/taskengine/_native.cpython-*.so
	VIRTUAL_ENV="$(abspath $(PY_VENV))" PATH="$(abspath $(PY_BIN)):$$PATH" PYO3_PYTHON="$(abspath $(VENV_PYTHON))" \
		$(PY_BIN)/maturin develop --release --quiet --manifest-path $(PY_DIR)/Cargo.toml
	touch $@

test-python: $(PY_EXT_STAMP) $(HELLO_EXPECTED)
	$(VENV_PYTHON) -m pytest $(PY_DIR)/tests
	$(VENV_PYTHON) -m mypy.stubtest taskengine
	$(VENV_PYTHON) -m mypy --strict $(PY_DIR)/python/taskengine examples/python $(PY_DIR)/benches
	$(VENV_PYTHON) examples/python/hello.py > target/hello_python.out
	diff -u $(HELLO_EXPECTED) target/hello_python.out
	$(VENV_PYTHON) examples/python/transactions.py

demo-python: $(PY_EXT_STAMP)
	$(VENV_PYTHON) examples/python/hello.py

bench-python: $(PY_EXT_STAMP)
	$(VENV_PYTHON) $(PY_DIR)/benches/vs_numpy.py

clean-python:
	rm -rf $(PY_VENV) $(PY_DIR)/python/taskengine/_native*.so

TEST_TARGETS  += test-python
DEMO_TARGETS  += demo-python
BENCH_TARGETS += bench-python
CLEAN_TARGETS += clean-python
