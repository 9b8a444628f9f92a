#!/usr/bin/env bash
# Configure (once) and build one flavour of pxed. Usage: tools/build.sh [gcc|clang|asan]
# gcc -> build/ (the binary is build/pxed), clang -> build-clang/, asan -> build-asan/
# (clang, ASan + UBSan, libFuzzer binaries too).
set -eu
cd "$(dirname "$0")/.."
flavour=${1:-gcc}
case "$flavour" in
gcc) dir=build; env="CC=gcc"; opts="" ;;
clang) dir=build-clang; env="CC=clang"; opts="" ;;
asan)
	dir=build-asan
	env="CC=clang"
	opts="-Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true -Dc_args=-fno-sanitize-recover=all"
	;;
*) echo "usage: $0 [gcc|clang|asan]" >&2; exit 2 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
	env $env meson setup "$dir" --werror $opts >/dev/null
fi
ninja -C "$dir" >/dev/null
