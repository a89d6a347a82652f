#!/usr/bin/env bash
# Command-line throughput: produce N small JSON lines, consume them as JSON
# lines and as values, and report records per second, bytes per record on
# disk (everything in the directory) and the machine.
# Usage: bench/cli_bench.sh [path/to/merkql] [N=1000000]
set -euo pipefail
merkql=${1:-build/cli/merkql}
n=${2:-1000000}
merkql=$(cd "$(dirname "$merkql")" && pwd)/$(basename "$merkql")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
  printf "{\"sensor\":\"s-%d\",\"temp\":%.1f,\"ts\":%d}\n", i % 16, 20 + (i % 200) * 0.1, 1700000000 + i }' \
  > "$work/in.jsonl"
echo "input: $n lines, $(stat -c %s "$work/in.jsonl") bytes, e.g. $(head -n 1 "$work/in.jsonl")"

seconds() { # command...: wall seconds of one run
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
report() { # label seconds
  awk -v l="$1" -v t="$2" -v n="$n" 'BEGIN { printf "%-34s %6.2f s  %10.0f records/s\n", l, t, n / t }'
}

t=$(seconds "$merkql" --dir "$work/d" produce -t bench < "$work/in.jsonl")
report "produce (json, batch 1000)" "$t"
bytes=$(du -sb "$work/d" | cut -f1)
awk -v b="$bytes" -v n="$n" 'BEGIN { printf "%-34s %6.2f bytes/record (%d bytes)\n", "on disk, everything counted", b / n, b }'
t=$(seconds sh -c "'$merkql' --dir '$work/d' consume -t bench -g json > /dev/null")
report "consume (JSON lines)" "$t"
t=$(seconds sh -c "'$merkql' --dir '$work/d' consume -t bench -g value --format value > /dev/null")
report "consume (--format value)" "$t"
t=$(seconds sh -c "'$merkql' --dir '$work/d' verify-proof --all -t bench > /dev/null")
report "verify-proof --all" "$t"
