#!/usr/bin/env bash
# Retention by bytes, records and age, enforced as segments roll: the disk
# space really allocated (du, stat blocks) stays bounded, proofs of retained
# records verify, loosening retention keeps the directory sound, and kill -9
# during enforcement leaves nothing damaged.
source "$(dirname "$0")/lib.sh" "$@"

D=$MERKQL_DIR
# allocated FILES...: bytes of disk space the files hold (stat blocks).
allocated()
{
    local total=0 f
    for f in "$@"; do
        total=$((total + $(stat -c '%b * %B' "$f")))
    done
    echo "$total"
}
# records_line N: N lines of about 100 bytes that LZ4 cannot shrink much.
records()
{
    seq 1 "$1" | awk '{ srand($1); s = ""; for (i = 0; i < 12; i++) s = s sprintf("%08x", int(rand() * 4294967295)); print s }'
}

# Bytes: 256 KiB per partition, 64 KiB segments; 6 MB produced.
B=262144
S=65536
"$M" topic create -t bytes --retention-bytes $B --segment-bytes $S --compression none > /dev/null
records 60000 | "$M" produce -t bytes --input raw --batch 500
P=$D/topics/bytes/0
log_alloc=$(allocated "$P"/*.log)
dir_alloc=$(du -s -B1 "$P" | cut -f1)
tree_index=$(allocated "$P/TREE" "$P/INDEX")
nlogs=$(ls "$P"/*.log | wc -l)
((log_alloc <= B + S + 4096 * nlogs)) || fail "segments hold $log_alloc bytes, bound $((B + S))"
((dir_alloc <= B + S + 4096 * nlogs + tree_index + 3 * 4096)) \
    || fail "du says $dir_alloc bytes for the partition (segments $log_alloc, tree+index $tree_index)"
((dir_alloc < 6000000 / 4)) || fail "retention reclaimed too little: $dir_alloc"
# The stored records are the newest ones, and each retained one proves.
d=$("$M" topic describe -t bytes --json)
next=$(jq '.partitions[0].next_offset' <<< "$d")
wm=$(jq '.partitions[0].watermark' <<< "$d")
assert_eq 60000 "$next" "next_offset"
((wm > 0 && wm % 64 == 0)) || fail "watermark $wm"
assert_eq $((next - wm)) "$("$M" consume -t bytes -g all | wc -l)" "visible records"
"$M" consume -t bytes -g first --max 1 > "$T/first"
assert_eq "$wm" "$(jq .offset "$T/first")" "a group starts at the log start"
"$M" verify-proof -t bytes --partition 0 --offset "$wm" --out "$T/p.json"
"$M" verify-proof --proof "$T/p.json" > /dev/null
"$M" verify-proof -t bytes --partition 0 --offset $((next - 1)) --out "$T/q.json"
"$M" verify-proof --proof "$T/q.json" > /dev/null
"$M" verify-proof --all > /dev/null
expect_exit 66 "$M" verify-proof -t bytes --partition 0 --offset 0 2> /dev/null

# Loosening retention later keeps every removal explained.
"$M" topic alter -t bytes --retention-bytes none > /dev/null
records 2000 | "$M" produce -t bytes --input raw
"$M" inspect > /dev/null
assert_eq "$wm" "$("$M" topic describe -t bytes --json | jq '.partitions[0].watermark')" "log start kept"
"$M" verify-proof --all > /dev/null

# Records: the newest 100 visible, whole segments reclaimed without compact.
"$M" topic create -t recs --retention-records 100 --segment-bytes 4096 > /dev/null
seq 1 20000 | "$M" produce -t recs --input raw --batch 10
assert_eq 100 "$(count_records recs)" "retention-records"
nlogs=$(ls "$D"/topics/recs/0/*.log | wc -l)
((nlogs <= 4)) || fail "records retention left $nlogs segments"
"$M" verify-proof --all > /dev/null
grep -q "^reclaimed 0 bytes" <<< "$("$M" compact -t recs)" || fail "compact after automatic enforcement found more"

# Age: segments older than 1 s go at the next roll.
"$M" topic create -t age --retention-ms 1000 --segment-bytes 4096 > /dev/null
seq 1 2000 | "$M" produce -t age --input raw --batch 20
sleep 1.5
seq 2001 8000 | "$M" produce -t age --input raw --batch 20
wm=$("$M" topic describe -t age --json | jq '.partitions[0].watermark')
((wm >= 1024 && wm <= 2048)) || fail "age retention kept offsets from $wm"
assert_eq "$wm" "$("$M" consume -t age -g a --max 1 | jq .offset)" "age: first record read"

# kill -9 while producing with retention enforced at every roll: the
# directory stays sound, and every acknowledged record is either read or
# below the log start.
"$M" topic create -t crash --retention-bytes 20000 --segment-bytes 4096 --partitions 2 > /dev/null
for round in 1 2 3 4 5 6 7 8; do
    seq 1 100000 | "$M" produce -t crash --input raw --batch 7 --ack > "$T/acks" 2> /dev/null &
    pid=$!
    sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
    kill -9 "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    "$M" inspect > /dev/null || fail "round $round: inspect"
    "$M" verify-proof --all > /dev/null || fail "round $round: verify-proof --all"
    "$M" compact -t crash > /dev/null || fail "round $round: compact"
    for p in 0 1; do
        d=$("$M" topic describe -t crash --json)
        next=$(jq ".partitions[$p].next_offset" <<< "$d")
        wm=$(jq ".partitions[$p].watermark" <<< "$d")
        last=$(jq -s "[.[] | select(.partition == $p) | .offset] | max // -1" "$T/acks")
        ((last < next)) || fail "round $round: acknowledged offset $last of partition $p lost (next $next)"
        got=$("$M" consume -t crash -g "c$round$p" --no-commit | jq -s "[.[] | select(.partition == $p)] | length")
        assert_eq $((next - wm)) "$got" "round $round partition $p: records read"
    done
done
echo "retention: ok"
