#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and builds a program against
# it with find_package(merkql), as a user of the library would.
set -euo pipefail
build=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
cmake -S "$source_dir" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" > /dev/null
cmake --build "$tmp/build" > /dev/null
[ "$("$tmp/build/merkql_package_test")" = 357d3a1111b12e15ea855ff09a8bc0b20a814667dd56d15ab90fe6667f17e9da ]
# The README's library example, built against the installed headers only.
[ "$("$tmp/build/merkql_package_test" "$tmp/data" | tail -n 1)" = "example: ok" ]
# Internal headers (formats, codecs, file names) are not installed.
for h in coding.h format.h filename.h atomic_file.h log_block.h segment.h partition_meta.h file_cache.h; do
  [ ! -e "$tmp/prefix/include/merkql/$h" ] || { echo "internal header installed: $h" >&2; exit 1; }
done
[ -x "$tmp/prefix/bin/merkql" ]
[ -f "$tmp/prefix/share/man/man1/merkql.1" ]
[ -f "$tmp/prefix/share/bash-completion/completions/merkql" ]
echo "package: ok"
