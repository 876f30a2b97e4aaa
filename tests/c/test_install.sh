#!/bin/sh
# Checks an installed prefix (from `make install PREFIX=...`): the files and
# links, then builds examples/c/hello.c against it with nothing but pkg-config,
# linked once with the shared and once with the static library, and the C++
# hello with the installed taskengine.hpp; with cmake on PATH also through the
# CMake package. Without pkg-config, the .pc file is read by tests/c/pcflags.awk
# instead (said so in the output).
#
#   usage: test_install.sh PREFIX WORKDIR SOVERSION VERSION
set -eu
prefix=$1
work=$2
soversion=$3
version=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CC=${CC:-cc}
CXX=${CXX:-c++}
mkdir -p "$work"

fail() {
    echo "test-install: FAIL: $*" >&2
    exit 1
}

# ---- the files ----
for f in lib/libtaskengine.so.$version lib/libtaskengine.a include/taskengine.h include/taskengine.hpp \
    lib/pkgconfig/taskengine.pc lib/cmake/taskengine/taskengineConfig.cmake \
    lib/cmake/taskengine/taskengineConfigVersion.cmake; do
    [ -f "$prefix/$f" ] || fail "$f is not installed"
done
[ "$(readlink "$prefix/lib/libtaskengine.so.$soversion")" = "libtaskengine.so.$version" ] ||
    fail "lib/libtaskengine.so.$soversion does not link to libtaskengine.so.$version"
[ "$(readlink "$prefix/lib/libtaskengine.so")" = "libtaskengine.so.$soversion" ] ||
    fail "lib/libtaskengine.so does not link to libtaskengine.so.$soversion"
soname=$(readelf -d "$prefix/lib/libtaskengine.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libtaskengine.so.$soversion" ] || fail "SONAME is '$soname'"

# Collapses runs of blanks (pkg-config leaves a trailing one).
norm() {
    # shellcheck disable=SC2048,SC2086 # splitting on blanks is the point
    echo $*
}

# ---- pkg-config, or the stand-in ----
pc_dir="$prefix/lib/pkgconfig"
pc_file="$pc_dir/taskengine.pc"
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
if command -v "$PKG_CONFIG" >/dev/null 2>&1; then
    reader="$PKG_CONFIG"
    cflags=$(norm "$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --cflags taskengine)")
    libs=$(norm "$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --libs taskengine)")
    libs_static=$(norm "$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --static --libs taskengine)")
    [ "$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --modversion taskengine)" = "$version" ] ||
        fail "pkg-config --modversion is not $version"
    # The stand-in must agree with the real thing, so the fallback stays honest.
    [ "$(norm "$(awk -v field=Cflags -f "$here/pcflags.awk" "$pc_file")")" = "$cflags" ] ||
        fail "pcflags.awk disagrees with pkg-config on Cflags"
    [ "$(norm "$(awk -v field=Libs -v static=1 -f "$here/pcflags.awk" "$pc_file")")" = "$libs_static" ] ||
        fail "pcflags.awk disagrees with pkg-config on Libs --static"
else
    reader="tests/c/pcflags.awk ($PKG_CONFIG is not installed)"
    cflags=$(awk -v field=Cflags -f "$here/pcflags.awk" "$pc_file")
    libs=$(awk -v field=Libs -f "$here/pcflags.awk" "$pc_file")
    libs_static=$(awk -v field=Libs -v static=1 -f "$here/pcflags.awk" "$pc_file")
fi
echo "test-install: flags from $reader"
echo "  cflags:        $cflags"
echo "  libs:          $libs"
echo "  libs (static): $libs_static"

expected="$work/expected.txt"
sed "s/@VERSION@/$version/" "$here/hello.expected" > "$expected"

check_output() { # program, what
    "$1" > "$work/out.txt" || fail "$2 exited with $?"
    cmp -s "$expected" "$work/out.txt" || { cat "$work/out.txt" >&2; fail "$2 printed something else"; }
}

# ---- shared ----
# shellcheck disable=SC2086 # flags are word lists
$CC -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$root/examples/c/hello.c" -o "$work/hello_shared" $libs
readelf -d "$work/hello_shared" | grep -q "NEEDED.*\[libtaskengine.so.$soversion\]" ||
    fail "hello_shared does not need libtaskengine.so.$soversion"
LD_LIBRARY_PATH="$prefix/lib" check_output "$work/hello_shared" "hello (shared)"
echo "test-install: C hello, shared: ok"

# ---- static: the same flags, with the archive named instead of -ltaskengine ----
libs_static_a=$(printf '%s\n' "$libs_static" | sed 's/-ltaskengine\([[:space:]]\|$\)/-l:libtaskengine.a\1/')
# shellcheck disable=SC2086
$CC -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$root/examples/c/hello.c" -o "$work/hello_static" $libs_static_a
if readelf -d "$work/hello_static" | grep -q "NEEDED.*libtaskengine"; then
    fail "hello_static still needs the shared library"
fi
check_output "$work/hello_static" "hello (static)"
echo "test-install: C hello, static: ok"

# ---- C++ with the installed wrapper ----
# shellcheck disable=SC2086
$CXX -std=c++17 -Wall -Wextra -Wpedantic -Werror $cflags "$root/examples/cpp/hello.cpp" -o "$work/hello_cpp" $libs
LD_LIBRARY_PATH="$prefix/lib" check_output "$work/hello_cpp" "hello (C++)"
echo "test-install: C++ hello, shared: ok"

# ---- CMake ----
if command -v cmake >/dev/null 2>&1; then
    mkdir -p "$work/cmake-src"
    cp "$root/examples/c/hello.c" "$work/cmake-src/"
    cat > "$work/cmake-src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(hello_taskengine C)
find_package(taskengine 0.1 CONFIG REQUIRED)
add_executable(hello_shared hello.c)
target_link_libraries(hello_shared PRIVATE taskengine::taskengine)
add_executable(hello_static hello.c)
target_link_libraries(hello_static PRIVATE taskengine::taskengine_static)
CMAKE
    cmake -S "$work/cmake-src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$CC" \
        -DCMAKE_C_STANDARD=11 > "$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "cmake configure"; }
    cmake --build "$work/cmake-build" > "$work/cmake-build.log" 2>&1 ||
        { cat "$work/cmake-build.log" >&2; fail "cmake build"; }
    check_output "$work/cmake-build/hello_shared" "hello (CMake, shared)"
    check_output "$work/cmake-build/hello_static" "hello (CMake, static)"
    echo "test-install: CMake package, shared and static: ok"
else
    echo "test-install: cmake is not installed: the CMake package files were installed but not exercised"
fi
echo "test-install: all checks passed"
