#!/bin/sh
# Checks an installed prefix (from `make install PREFIX=...`): the files and
# links, stripped libraries with the shared one's debug info beside it, then
# builds examples/c/hello.c against it with nothing but pkg-config: shared (run
# through LD_LIBRARY_PATH, and through an rpath), static with the .so installed
# beside the .a (`pkg-config --static`), fully static (`-static`, when the C
# library's static archives are installed), and the C++ hello with the
# installed taskengine.hpp; with cmake on PATH also through the CMake package.
# Without pkg-config, the .pc files are read by tests/c/pcflags.awk instead
# (said so in the output).
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
    lib/.debug/libtaskengine.so.$version.debug lib/pkgconfig/taskengine.pc lib/pkgconfig/taskengine-link.pc \
    lib/cmake/taskengine/taskengineConfig.cmake \
    lib/cmake/taskengine/taskengineConfigVersion.cmake; do
    [ -f "$prefix/$f" ] || fail "$f is not installed"
done
[ "$(readlink "$prefix/lib/libtaskengine.so.$soversion")" = "libtaskengine.so.$version" ] ||
    fail "lib/libtaskengine.so.$soversion does not link to libtaskengine.so.$version"
[ "$(readlink "$prefix/lib/libtaskengine.so")" = "libtaskengine.so.$soversion" ] ||
    fail "lib/libtaskengine.so does not link to libtaskengine.so.$soversion"
soname=$(readelf -d "$prefix/lib/libtaskengine.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libtaskengine.so.$soversion" ] || fail "SONAME is '$soname'"

# ---- stripped: no debug sections in either library; the shared one's debug
# info is in lib/.debug/, named by its .gnu_debuglink ----
so="$prefix/lib/libtaskengine.so.$version"
debug="$prefix/lib/.debug/libtaskengine.so.$version.debug"
if readelf -S --wide "$so" | grep -q '\.debug_'; then fail "libtaskengine.so.$version has debug sections"; fi
if readelf -S --wide "$prefix/lib/libtaskengine.a" | grep -q '\.debug_'; then fail "libtaskengine.a has debug sections"; fi
link=$(readelf --string-dump=.gnu_debuglink "$so" 2>/dev/null | sed -n 's/^ *\[ *0\] *//p')
[ "$link" = "libtaskengine.so.$version.debug" ] || fail ".gnu_debuglink is '$link'"
readelf -S --wide "$debug" | grep -q '\.debug_info' || fail "the debug file has no .debug_info"
if command -v gdb >/dev/null 2>&1; then
    # gdb follows the link (and checks its CRC) to the source line of a function.
    gdb -batch -nx -ex 'info line te_version' "$so" 2>&1 | grep -q 'Line [0-9]* of "src/ffi/' ||
        fail "gdb does not find the debug info of libtaskengine.so through .gnu_debuglink"
    found="gdb finds it"
else
    found="gdb is not installed: not followed"
fi
size() { wc -c < "$1" | tr -d ' '; }
echo "test-install: stripped: libtaskengine.so $(size "$so") bytes, libtaskengine.a $(size "$prefix/lib/libtaskengine.a") bytes;" \
    "debug info in lib/.debug/ ($(size "$debug") bytes; $found)"

# Collapses runs of blanks (pkg-config leaves a trailing one).
norm() {
    # shellcheck disable=SC2048,SC2086 # splitting on blanks is the point
    echo $*
}

# ---- pkg-config, or the stand-in ----
pc_dir="$prefix/lib/pkgconfig"
pc_file="$pc_dir/taskengine.pc"
# What pkg-config prints for FIELD [static]: taskengine.pc's flags, then those
# of the module it requires, taskengine-link.pc.
pc_awk() {
    awk -v field="$1" -v static="${2:-0}" -f "$here/pcflags.awk" "$pc_file"
    awk -v field="$1" -v static="${2:-0}" -f "$here/pcflags.awk" "$pc_dir/taskengine-link.pc"
}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
if command -v "$PKG_CONFIG" >/dev/null 2>&1; then
    reader="$PKG_CONFIG"
    cflags=$(norm "$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --cflags taskengine)")
    libdir=$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --variable=libdir taskengine)
    libs=$(norm "$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --libs taskengine)")
    libs_static=$(norm "$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --static --libs taskengine)")
    [ "$(PKG_CONFIG_PATH="$pc_dir" "$PKG_CONFIG" --modversion taskengine)" = "$version" ] ||
        fail "pkg-config --modversion is not $version"
    # The stand-in must agree with the real thing, so the fallback stays honest.
    [ "$(norm "$(pc_awk Cflags)")" = "$cflags" ] || fail "pcflags.awk disagrees with pkg-config on Cflags"
    [ "$(norm "$(pc_awk Libs)")" = "$libs" ] || fail "pcflags.awk disagrees with pkg-config on Libs"
    [ "$(norm "$(pc_awk Libs 1)")" = "$libs_static" ] || fail "pcflags.awk disagrees with pkg-config on Libs --static"
    [ "$(awk -v var=libdir -f "$here/pcflags.awk" "$pc_file")" = "$libdir" ] ||
        fail "pcflags.awk disagrees with pkg-config on the libdir variable"
else
    reader="tests/c/pcflags.awk ($PKG_CONFIG is not installed)"
    cflags=$(norm "$(pc_awk Cflags)")
    libs=$(norm "$(pc_awk Libs)")
    libs_static=$(norm "$(pc_awk Libs 1)")
    libdir=$(awk -v var=libdir -f "$here/pcflags.awk" "$pc_file")
fi
echo "test-install: flags from $reader"
echo "  cflags:        $cflags"
echo "  libs:          $libs"
echo "  libs (static): $libs_static"

expected="$work/expected.txt"
sed "s/@VERSION@/$version/" "$here/hello.expected" > "$expected"

# Runs with LD_LIBRARY_PATH unset (the prefix's lib/ is only found the way the
# program says), except where the caller sets it in `ld_path`.
ld_path=
check_output() { # program, what
    if [ -n "$ld_path" ]; then
        LD_LIBRARY_PATH="$ld_path" "$1" > "$work/out.txt" || fail "$2 exited with $?"
    else
        env -u LD_LIBRARY_PATH "$1" > "$work/out.txt" || fail "$2 exited with $?"
    fi
    cmp -s "$expected" "$work/out.txt" || { cat "$work/out.txt" >&2; fail "$2 printed something else"; }
}

# ---- shared ----
# shellcheck disable=SC2086 # flags are word lists
$CC -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$root/examples/c/hello.c" -o "$work/hello_shared" $libs
readelf -d "$work/hello_shared" | grep -q "NEEDED.*\[libtaskengine.so.$soversion\]" ||
    fail "hello_shared does not need libtaskengine.so.$soversion"
# A prefix outside the loader's search path: the program does not start until
# it is told where the library is (what README.md says).
if env -u LD_LIBRARY_PATH "$work/hello_shared" > /dev/null 2> "$work/err.txt"; then
    # Only possible with another copy installed where the loader looks.
    other=$(env -u LD_LIBRARY_PATH ldd "$work/hello_shared" | sed -n "s/.*libtaskengine.so.$soversion => \([^ ]*\).*/\1/p")
    case "$other" in
        "" | "$prefix"/*) fail "hello_shared started without being told where libtaskengine.so.$soversion is" ;;
    esac
    without="starts on its own only with the copy in $(dirname "$other")"
else
    grep -q "libtaskengine.so.$soversion" "$work/err.txt" ||
        { cat "$work/err.txt" >&2; fail "hello_shared failed for another reason"; }
    without="does not start on its own"
fi
ld_path="$prefix/lib"
check_output "$work/hello_shared" "hello (shared, LD_LIBRARY_PATH)"
ld_path=
echo "test-install: C hello, shared: $without; with LD_LIBRARY_PATH: ok"

# The same link with an rpath: starts on its own.
# shellcheck disable=SC2086
$CC -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$root/examples/c/hello.c" -o "$work/hello_rpath" $libs \
    "-Wl,-rpath,$libdir"
readelf -d "$work/hello_rpath" | grep -q "R.*PATH.*\[$libdir\]" || fail "hello_rpath has no rpath to $libdir"
check_output "$work/hello_rpath" "hello (shared, rpath)"
echo "test-install: C hello, shared with -Wl,-rpath,\$(pkg-config --variable=libdir taskengine): ok"

# ---- static: pkg-config --static as it is, the .so installed beside the .a ----
# shellcheck disable=SC2086
$CC -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$root/examples/c/hello.c" -o "$work/hello_static" $libs_static
if readelf -d "$work/hello_static" | grep -q "NEEDED.*libtaskengine"; then
    fail "hello_static still needs the shared library"
fi
check_output "$work/hello_static" "hello (static)"
echo "test-install: C hello, static (pkg-config --static, .so beside the .a): ok"

# ---- fully static: -static with the same flags (no -lgcc_s to trip on) ----
printf 'int main(void) { return 0; }\n' > "$work/static_probe.c"
if $CC -static "$work/static_probe.c" -o "$work/static_probe" > /dev/null 2>&1; then
    # glibc warns (getaddrinfo, getpwuid_r in Rust's std) but links.
    # shellcheck disable=SC2086
    $CC -static -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$root/examples/c/hello.c" \
        -o "$work/hello_full_static" $libs_static 2> "$work/static.log" ||
        { cat "$work/static.log" >&2; fail "the fully static link failed"; }
    if readelf -l "$work/hello_full_static" | grep -q INTERP; then
        fail "hello_full_static is dynamically linked"
    fi
    check_output "$work/hello_full_static" "hello (fully static)"
    echo "test-install: C hello, fully static (-static): ok"
else
    echo "test-install: C hello, fully static (-static): skipped ($CC -static cannot link a program here: no static C library)"
fi

# ---- C++ with the installed wrapper ----
# shellcheck disable=SC2086
$CXX -std=c++17 -Wall -Wextra -Wpedantic -Werror $cflags "$root/examples/cpp/hello.cpp" -o "$work/hello_cpp" $libs
ld_path="$prefix/lib"
check_output "$work/hello_cpp" "hello (C++)"
ld_path=
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
