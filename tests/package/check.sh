#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and builds a program against
# it as a user of the library would: with find_package(merkql), and with
# `pkg-config --cflags --libs merkql`. The version is the same everywhere:
# `merkql --version`, <merkql/version.h>, merkql.pc and the CMake package.
set -euo pipefail
build=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail()
{
    echo "FAIL: $*" >&2
    exit 1
}
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
[ -x "$tmp/prefix/bin/merkql" ]
version=$("$tmp/prefix/bin/merkql" --version)
version=${version#merkql }
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "merkql --version: '$version'"

# find_package(merkql)
cmake -S "$source_dir" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
    -DMERKQL_EXPECTED_VERSION="$version" > /dev/null
cmake --build "$tmp/build" > /dev/null
out=$("$tmp/build/merkql_package_test")
[ "$out" = "version $version
357d3a1111b12e15ea855ff09a8bc0b20a814667dd56d15ab90fe6667f17e9da" ] || fail "find_package build printed: $out"
# The README's library example, built against the installed headers only.
[ "$("$tmp/build/merkql_package_test" "$tmp/data" | tail -n 1)" = "example: ok" ]

# pkg-config, from wherever the prefix is (the file names no absolute path).
pc=$(find "$tmp/prefix" -name merkql.pc)
[ -n "$pc" ] || fail "merkql.pc not installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
[ "$(pkg-config --modversion merkql)" = "$version" ] ||
    fail "merkql.pc version $(pkg-config --modversion merkql), merkql --version $version"
# shellcheck disable=SC2046 # the flags are words
c++ -std=c++20 -o "$tmp/pc_test" "$source_dir/main.cpp" $(pkg-config --cflags --libs merkql)
[ "$("$tmp/pc_test" "$tmp/pc_data" | tail -n 1)" = "example: ok" ] || fail "pkg-config build"

# Internal headers (formats, codecs, file names) are not installed.
for h in coding.h format.h filename.h atomic_file.h log_block.h segment.h partition_meta.h file_cache.h; do
  [ ! -e "$tmp/prefix/include/merkql/$h" ] || { echo "internal header installed: $h" >&2; exit 1; }
done
[ -f "$tmp/prefix/include/merkql/version.h" ] || fail "version.h not installed"
[ -f "$tmp/prefix/share/man/man1/merkql.1" ]
[ -f "$tmp/prefix/share/bash-completion/completions/merkql" ]
echo "package: ok"
