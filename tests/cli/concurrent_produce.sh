#!/usr/bin/env bash
# 8 concurrent producers x 2,000 keyed records into a 4-partition topic: every
# record stored exactly once, each producer's order kept within a partition.
source "$(dirname "$0")/lib.sh"
cd "$T"

producers=8
per=2000
for p in $(seq 1 $producers); do
    awk -v p="$p" -v n="$per" \
        'BEGIN { for (i = 0; i < n; i++) printf "{\"k\":\"p%d-%d\",\"p\":%d,\"i\":%d}\n", p, i % 16, p, i }' > "in.$p"
done
pids=()
for p in $(seq 1 $producers); do
    "$M" produce -t load --partitions 4 --key-field k --batch 100 < "in.$p" &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || fail "a producer failed"
done

"$M" consume -t load -g check > out
total=$((producers * per))
assert_eq "$total" "$(wc -l < out | tr -d ' ')" "records consumed"
assert_eq "$total" "$(jq -r '"\(.value.p) \(.value.i)"' out | sort -u | wc -l | tr -d ' ')" "distinct records"
assert_eq 4 "$(jq -r .partition out | sort -u | wc -l | tr -d ' ')" "partitions used"
# Offsets in each partition are dense from 0.
jq -r '"\(.partition) \(.offset)"' out | sort -k1,1n -k2,2n |
    awk '$1 != part { part = $1; next_offset = 0 } $2 != next_offset++ { bad = 1 } END { exit bad }' ||
    fail "offsets are not dense"
# Within each partition, each producer's records appear in increasing i.
jq -r '"\(.partition) \(.offset) \(.value.p) \(.value.i)"' out | sort -k1,1n -k2,2n |
    awk '{ key = $1 " " $3; if (key in last && $4 <= last[key]) bad = 1; last[key] = $4 } END { exit bad }' ||
    fail "per-producer order not kept within a partition"
# Each key is in exactly one partition.
assert_eq 128 "$(jq -r '"\(.key) \(.partition)"' out | sort -u | wc -l | tr -d ' ')" "keys routed to one partition"
"$M" verify-proof --all > /dev/null

# Producers creating one topic at once with the same settings: every one uses
# whichever topic was created first, and every record is stored.
for round in 1 2 3 4 5 6 7 8; do
    dir=$T/race$round
    pids=()
    for p in 1 2 3 4; do
        echo "{\"p\":$p}" | "$M" --dir "$dir" produce -t raced --partitions 3 2> "race$round.$p.err" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || fail "a producer racing to create the topic failed: $(cat race$round.*.err)"
    done
    assert_eq 4 "$("$M" --dir "$dir" consume -t raced -g g | wc -l | tr -d ' ')" "records of racing producers"
done
echo "concurrent_produce: ok"
