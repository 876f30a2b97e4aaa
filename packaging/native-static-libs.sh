#!/bin/sh
# Prints the system libraries a program linking libtaskengine.a also needs
# (e.g. "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"), as rustc itself reports
# them: it links a throw-away staticlib against the already built rlib of the
# same profile, so nothing of ours is rebuilt and the list is exact for this
# toolchain and target.
#
#   usage: native-static-libs.sh TARGET_PROFILE_DIR     (e.g. target/release)
set -eu
dir=$1
rustc=${RUSTC:-rustc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
printf 'extern crate taskengine;\n' > "$tmp/probe.rs"
"$rustc" --edition 2021 --crate-type staticlib --crate-name te_native_libs_probe \
    --extern taskengine="$dir/libtaskengine.rlib" -L dependency="$dir/deps" \
    --print native-static-libs -o "$tmp/libprobe.a" "$tmp/probe.rs" > "$tmp/out" 2>&1 || {
    cat "$tmp/out" >&2
    exit 1
}
libs=$(sed -n 's/^note: native-static-libs: //p' "$tmp/out")
if [ -z "$libs" ]; then
    echo "native-static-libs.sh: rustc printed no native-static-libs line" >&2
    cat "$tmp/out" >&2
    exit 1
fi
printf '%s\n' "$libs"
