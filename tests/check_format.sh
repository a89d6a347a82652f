#!/usr/bin/env bash
# Fails when a C++ source differs from the committed .clang-format style.
# Skipped (exit 77) where clang-format is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format > /dev/null || { echo "clang-format not installed: skipped"; exit 77; }
clang-format --dry-run --Werror src/merkql/*.h src/merkql/*.cc cli/*.cpp cli/*.h tests/*.cpp \
  tests/support/*.h tests/cli/*.cpp tests/kafka/*.cpp examples/*.cpp bench/*.cpp tests/package/main.cpp fuzz/*.cpp fuzz/*.h
echo "format: ok"
