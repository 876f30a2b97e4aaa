#!/bin/sh
# Checks the Python packages `make wheel` built, as a user gets them: the abi3
# wheel installed (with numpy, nothing else) into a fresh virtual environment of
# each CPython found from 3.11 on, with examples/python run there against the
# installed package, from outside the source tree; then a wheel built from the
# sdist by pip, installed and run the same way.
#
#   usage: test_wheel.sh WHEEL SDIST_DIR WORKDIR VENV_PYTHON
#
# WHEEL: the .whl; SDIST_DIR: the unpacked sdist (built in place, so cargo
# reuses its work between runs); WORKDIR: scratch space (wiped); VENV_PYTHON:
# the development environment's python, which has maturin and numpy (its
# CPython makes the first fresh environment, its numpy version is the one
# installed). Extra interpreters: WHEEL_PYTHONS (space-separated), else every
# python3.12 ... python3.15 on PATH or under pyenv's versions that runs.
# numpy wheels are downloaded once into WHEEL_DEPS (default: beside WHEEL).
set -eu
wheel=$1
sdist_dir=$2
work=$3
venv_python=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
wheel=$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")
venv_python=$(cd "$(dirname "$venv_python")" && pwd)/$(basename "$venv_python")
deps=${WHEEL_DEPS:-$(dirname "$wheel")/deps}

fail() {
    echo "test-wheel: FAIL: $*" >&2
    exit 1
}

case $(basename "$wheel") in
    *-cp311-abi3-*.whl) ;;
    *) fail "$(basename "$wheel") is not a cp311-abi3 wheel" ;;
esac
rm -rf "$work"
mkdir -p "$work" "$deps"
work=$(cd "$work" && pwd)
numpy_version=$("$venv_python" -c 'import numpy; print(numpy.__version__)')
version=$(sed -n 's/^version = "\([^"]*\)"/\1/p' "$root/Cargo.toml" | head -n 1)
sed "s/@VERSION@/$version/" "$root/tests/c/hello.expected" > "$work/hello.expected"

# Every interpreter at most once, by its version.
pythons=$("$venv_python" -c 'import sys; print(sys._base_executable)')
seen=" $("$venv_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') "
if [ -n "${WHEEL_PYTHONS:-}" ]; then
    candidates=$WHEEL_PYTHONS
else
    candidates=
    for minor in 12 13 14 15; do
        candidates="$candidates $(command -v "python3.$minor" 2>/dev/null || true)"
    done
    if command -v pyenv >/dev/null 2>&1; then
        candidates="$candidates $(ls -d "$(pyenv root)"/versions/3.1[2-9]*/bin/python3 2>/dev/null || true)"
    fi
fi
for py in $candidates; do
    # (pyenv's shims exit 0 with nothing printed for a version not selected.)
    v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    [ -n "$v" ] || continue
    case "$seen" in *" $v "*) continue ;; esac
    seen="$seen$v "
    pythons="$pythons $py"
done

# The environments are made without pip (ensurepip takes seconds each); the
# development environment's pip installs into them (pip --python).
pip_in() { # venv, pip arguments...
    target=$1
    shift
    "$venv_python" -m pip --python "$target/bin/python" "$@"
}

# The wheel and numpy for this environment's CPython (from WHEEL_DEPS,
# downloaded there once); no .pyc compiling at install (it would dominate).
install_wheel() { # venv, wheel
    pip_in "$1" install --quiet --no-compile --no-index --find-links "$deps" "numpy==$numpy_version" "$2" 2>/dev/null &&
        return 0
    pip_in "$1" download --quiet --only-binary=:all: --dest "$deps" "numpy==$numpy_version" > /dev/null 2>&1 || return 2
    pip_in "$1" install --quiet --no-compile --no-index --find-links "$deps" "numpy==$numpy_version" "$2" || return 1
}

# The examples, run from the scratch directory against the installed package.
run_examples() { # venv, what
    vpy="$1/bin/python"
    (
        cd "$work"
        # The package and its extension come from the environment, not the source tree.
        "$vpy" -c '
import sys, taskengine, taskengine._native as n
assert n.__file__.startswith(sys.prefix) and n.__file__.endswith(".abi3.so"), n.__file__
assert taskengine.__file__.startswith(sys.prefix), taskengine.__file__
' || fail "$2: taskengine is not the installed abi3 package"
        timeout 120 "$vpy" "$root/examples/python/hello.py" > hello.out || fail "$2: hello.py exited with $?"
        diff -u hello.expected hello.out || fail "$2: hello.py printed something else"
        timeout 120 "$vpy" "$root/examples/python/tasks.py" > tasks.out || fail "$2: tasks.py exited with $?"
        diff -u "$root/tests/c/tasks.expected" tasks.out || fail "$2: tasks.py printed something else"
        timeout 120 "$vpy" "$root/examples/python/transactions.py" > transactions.out ||
            fail "$2: transactions.py exited with $?"
    )
}

first_venv=
n=0
for py in $pythons; do
    n=$((n + 1))
    v=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
    venv="$work/venv$n"
    "$py" -m venv --without-pip "$venv"
    [ -n "$first_venv" ] || first_venv=$venv
    status=0
    install_wheel "$venv" "$wheel" || status=$?
    if [ $status = 2 ] && [ "$venv" != "$first_venv" ]; then
        echo "test-wheel: CPython $v: skipped (numpy $numpy_version cannot be downloaded for it)"
        continue
    fi
    [ $status = 0 ] || fail "pip cannot install the wheel and numpy $numpy_version on CPython $v"
    run_examples "$venv" "CPython $v"
    echo "test-wheel: CPython $v, fresh venv, $(basename "$wheel"): hello, tasks, transactions ok"
done

# The sdist: pip builds it (maturin from the development environment, no
# network), and the wheel it gives works the same.
(
    PATH="$(dirname "$venv_python"):$PATH"
    export PATH
    "$venv_python" -m pip wheel --quiet --no-deps --no-build-isolation --no-index --no-cache-dir \
        --wheel-dir "$work/from-sdist" "$sdist_dir" > "$work/sdist.log" 2>&1
) || { tail -n 40 "$work/sdist.log" >&2; fail "pip cannot build a wheel from the sdist"; }
built=$(ls "$work"/from-sdist/taskengine-*-cp311-abi3-*.whl 2>/dev/null) || fail "the sdist did not give a cp311-abi3 wheel"
pip_in "$first_venv" install --quiet --no-index --no-deps --force-reinstall "$built"
run_examples "$first_venv" "wheel from the sdist"
echo "test-wheel: sdist: pip builds $(basename "$built"); hello, tasks, transactions ok"
