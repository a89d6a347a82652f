#!/usr/bin/env bash
# The benchmarks' smoke test (ctest bench_smoke): bench/run --smoke on tiny
# sizes must print its table and write JSON holding every core figure with a
# positive value; merkql_bench must answer --help and run one benchmark.
# Usage: bench/smoke.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
for tool in sqlite3 jq /usr/bin/time; do
  if ! command -v "$tool" > /dev/null; then
    echo "SKIP: $tool missing (scripts/install-deps --bench)"
    exit 77
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$src/bench/run" --smoke --build "$build" --work "$work" --out "$work/result.json" > "$work/table"
cat "$work/table"
for label in "produce --key-field sensor" "SQLite WAL FULL import" "consume --format value" \
  "bytes per record on disk" "produce --batch 1" "verify-proof process" "limit: SHA-256"; do
  grep -q -- "$label" "$work/table" || { echo "FAIL: table lacks '$label'"; exit 1; }
done
jq -e '.mode == "smoke" and .records == 3000 and (.machine.cores | . > 0)' "$work/result.json" > /dev/null ||
  { echo "FAIL: JSON header"; exit 1; }
for figure in produce sqlite_import produce4 consume consume_group consume_value sqlite_select \
  bytes batch1 send fsync_preallocated fsync_growing proof verify_process noop_process open \
  open_small sha256 lz4_compress lz4_decompress; do
  jq -e --arg f "$figure" \
    '[.figures[] | select(.figure == $f)] | length == 1 and (.[0].median > 0)' \
    "$work/result.json" > /dev/null || { echo "FAIL: figure $figure missing or not positive"; exit 1; }
done
jq -e '[.figures[] | select(.figure == "produce")][0] | (.ratios | length) == 1' \
  "$work/result.json" > /dev/null || { echo "FAIL: produce has no ratio to SQLite"; exit 1; }

"$build/bench/merkql_bench" --help > "$work/help" || { echo "FAIL: merkql_bench --help"; exit 1; }
grep -q benchmark_filter "$work/help" || { echo "FAIL: --help lacks benchmark_filter"; exit 1; }
"$build/bench/merkql_bench" --benchmark_filter='^BM_AppendBatch/1000/|^BM_Proof/1000$' \
  --benchmark_min_time=0.01 --benchmark_format=json > "$work/micro.json"
jq -e '[.benchmarks[] | select(.real_time > 0)] | length == 2' "$work/micro.json" > /dev/null ||
  { echo "FAIL: merkql_bench did not run both benchmarks"; exit 1; }
echo "PASS"
