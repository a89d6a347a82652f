#!/usr/bin/env bash
# Runs the sensor example and compares its output with the scenario line by
# line; the last line (directory size) must stay within the 150 KiB budget.
set -euo pipefail
binary=$1
expected=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$binary" "$dir/data" > "$dir/out"
head -n -1 "$dir/out" > "$dir/figures"
diff -u "$expected" "$dir/figures"
bytes=$(tail -n 1 "$dir/out" | sed -E 's/.*\(([0-9]+) bytes\).*/\1/')
echo "data directory: $bytes bytes"
[ "$bytes" -le $((150 * 1024)) ]
