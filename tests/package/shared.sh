#!/usr/bin/env bash
# A shared build (-DBUILD_SHARED_LIBS=ON) of the library alone: the file is
# libmerkql.so.VERSION with the SONAME libmerkql.so.SOVERSION (MAJOR.MINOR
# while the major version is 0, else MAJOR), both from project(VERSION);
# merkql.pc keeps the library's own dependencies private; a program linked
# with it records that SONAME and runs. Usage: shared.sh SOURCE_DIR BUILD_DIR;
# the shared build stays in BUILD_DIR, so that a second run only rebuilds
# what changed.
set -euo pipefail
root=$1
shared=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail()
{
    echo "FAIL: $*" >&2
    exit 1
}
launcher=()
if command -v ccache > /dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$shared" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_SHARED_LIBS=ON \
    -DMERKQL_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
cmake --build "$shared" --target merkql -j2 > /dev/null
lib=$shared/src
version=$(sed -n 's/^#define MERKQL_VERSION "\(.*\)"$/\1/p' "$lib/include/merkql/version.h")
[[ $version =~ ^([0-9]+)\.([0-9]+)\.[0-9]+$ ]] || fail "version.h: '$version'"
if [[ ${BASH_REMATCH[1]} == 0 ]]; then
    soversion=0.${BASH_REMATCH[2]}
else
    soversion=${BASH_REMATCH[1]}
fi
[[ -f $lib/libmerkql.so.$version && ! -L $lib/libmerkql.so.$version ]] ||
    fail "no libmerkql.so.$version"
[[ $(readlink "$lib/libmerkql.so.$soversion") == "libmerkql.so.$version" ]] ||
    fail "libmerkql.so.$soversion does not link to libmerkql.so.$version"
[[ $(readlink "$lib/libmerkql.so") == "libmerkql.so.$soversion" ]] ||
    fail "libmerkql.so does not link to libmerkql.so.$soversion"
soname=$(readelf -d "$lib/libmerkql.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == "libmerkql.so.$soversion" ]] || fail "SONAME '$soname', expected libmerkql.so.$soversion"

grep -qx "Version: $version" "$lib/merkql.pc" || fail "merkql.pc version"
grep -qx "Requires: fmt >= 9" "$lib/merkql.pc" || fail "merkql.pc Requires: $(grep Requires "$lib/merkql.pc")"
grep -q "^Requires.private: .*libcrypto" "$lib/merkql.pc" || fail "merkql.pc Requires.private"

# A program linked with it needs libmerkql.so.SOVERSION and runs.
c++ -std=c++20 -o "$tmp/program" "$root/tests/package/main.cpp" -I "$root/src" -I "$lib/include" \
    -L "$lib" -lmerkql -lfmt -Wl,-rpath,"$lib"
grep -q "(NEEDED).*\[libmerkql.so.$soversion\]" < <(readelf -d "$tmp/program") ||
    fail "the program does not need libmerkql.so.$soversion"
[[ $("$tmp/program" "$tmp/data" | tail -n 1) == "example: ok" ]] || fail "the program failed"
echo "shared: ok"
