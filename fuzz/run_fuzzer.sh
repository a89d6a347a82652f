#!/usr/bin/env bash
# Fuzzes one libFuzzer target for a bounded time, as a test.
#   run_fuzzer.sh BINARY NAME SECONDS CORPUS_DIR REGRESSIONS_DIR WORK_DIR
# The committed corpus is copied into WORK_DIR/NAME/corpus first, so new inputs
# never land in the source tree; the regressions are read in place. Crash
# artifacts go to WORK_DIR/NAME/. Scratch files go to a private directory on
# /dev/shm (else under WORK_DIR), removed afterwards. Prints the executions
# and writes them to WORK_DIR/NAME.summary.
set -euo pipefail
binary=$1 name=$2 seconds=$3 corpus=$4 regressions=$5 work=$6
out="$work/$name"
rm -rf "$out"
mkdir -p "$out/corpus"
if [ -d "$corpus" ]; then
  cp -R "$corpus/." "$out/corpus/"
fi
dirs=("$out/corpus")
if [ -d "$regressions" ]; then
  dirs+=("$regressions")
fi
tmp_base=/dev/shm
[ -d "$tmp_base" ] && [ -w "$tmp_base" ] || tmp_base=$out
TMPDIR=$(mktemp -d "$tmp_base/merkql-fuzz-$name-XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
status=0
start=$SECONDS
# A fixed seed (MERKQL_FUZZ_SEED, default 1) makes the run in CI explore the
# same inputs every time, so it checks what was checked before a change
# landed; set MERKQL_FUZZ_SEED=0 for a random seed when hunting.
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
  -seed="${MERKQL_FUZZ_SEED:-1}" -print_final_stats=1 \
  -artifact_prefix="$out/" "${dirs[@]}" > "$out/log" 2>&1 || status=$?
elapsed=$((SECONDS - start))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log" | tail -1)
corpus_size=$(find "$out/corpus" -type f | wc -l)
summary="fuzz $name: ${execs:-?} executions in ${elapsed}s (${rate:-?}/s), corpus $corpus_size inputs"
echo "$summary" | tee "$out.summary"
if [ "$status" -ne 0 ]; then
  # The crash report and the input that caused it.
  grep -v '^#' "$out/log" | tail -80
  ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2> /dev/null || true
  echo "fuzz $name failed (exit $status); reproduce with: $binary <artifact>"
  exit 1
fi
