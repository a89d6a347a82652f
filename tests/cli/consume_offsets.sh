#!/usr/bin/env bash
# merkql consume without a group (kcat-style reads): nothing committed, no
# group state; --partition and --offset (beginning, end, N, -N), retention
# and past-the-end starts; --offset with a group (once, then committed);
# --partition with a group (the partition held as the group's).
source "$(dirname "$0")/lib.sh"
cd "$T"

offsets()
{ # offsets ARGS...: the "partition:offset" of each record consume writes
    "$M" consume "$@" | jq -r '"\(.partition):\(.offset)"' | tr '\n' ' ' | sed 's/ $//'
}
tree()
{ # everything under the data directory, with sizes and times
    find "$MERKQL_DIR" -printf '%p %s %T@\n' | sort
}

for i in 0 1 2 3 4 5 6 7 8 9; do echo "$i"; done | "$M" produce -t t --partition 0 --partitions 2
for i in 0 1 2; do echo "$i"; done | "$M" produce -t t --partition 1

# Without a group: everything, from the beginning, and nothing changes.
before=$(tree)
assert_eq 13 "$("$M" consume -t t | wc -l | tr -d ' ')" "all records without a group"
assert_eq "0:0 0:1 0:2" "$(offsets -t t --partition 0 --max 3)" "--partition 0"
assert_eq "1:0 1:1 1:2" "$(offsets -t t --partition 1)" "--partition 1"
assert_eq "$before" "$(tree)" "a read without a group changes nothing"
[[ -z $(ls -A "$MERKQL_DIR/groups") ]] || fail "group state created: $(ls -A "$MERKQL_DIR/groups")"
assert_eq '{"groups":[]}' "$("$M" inspect --json | jq -c '{groups}')" "no group in inspect"

# --offset forms, per partition.
assert_eq "0:7 0:8 0:9" "$(offsets -t t --partition 0 --offset 7)" "--offset N"
assert_eq "0:8 0:9 1:1 1:2" "$(offsets -t t --offset -2 | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" \
    "--offset -N: the last N of each partition"
assert_eq "1:0 1:1 1:2" "$(offsets -t t --partition 1 --offset -50)" "-N beyond the start"
assert_eq "0:0" "$(offsets -t t --partition 0 --offset beginning --max 1)" "--offset beginning"
assert_eq "" "$(offsets -t t --offset end)" "--offset end"
# Past the end: starts at the end (nothing now, new records with -f).
assert_eq "" "$(offsets -t t --partition 1 --offset 999)" "past the end"
seq 1 3 | "$M" produce -t f
"$M" consume -t f --offset 999 -f > follow.out &
pid=$!
BG_PIDS+=($pid)
# It starts at the end whenever it gets there: append until it shows one.
produce_new() { echo '"new"' | "$M" produce -t f; has_lines follow.out 1; }
wait_for 20 produce_new || fail "past the end with -f: no new record"
kill -TERM "$pid"
wait "$pid" || fail "follow exit status"
first=$(head -n 1 follow.out)
assert_eq '"new"' "$(jq -r .value <<< "$first")" "past the end: only new records"
(($(jq .offset <<< "$first") >= 3)) || fail "past the end: offset $(jq .offset <<< "$first")"
[[ -z $(ls -A "$MERKQL_DIR/groups") ]] || fail "group state created by a follow"

# Retention: an offset below the watermark starts at the watermark.
seq 1 10 | "$M" produce -t ret --retention-records 4
assert_eq "0:6 0:7 0:8 0:9" "$(offsets -t ret --offset 2)" "below the watermark"
assert_eq "0:6" "$(offsets -t ret --max 1)" "beginning is the watermark"

# With a group: --offset overrides the start once, and is committed.
assert_eq "0:0 0:1" "$(offsets -t t -g g --partition 0 --max 2)" "group from its start"
committed()
{ # committed GROUP PARTITION
    "$M" inspect --json -t t | jq ".groups[] | select(.name==\"$1\") | .offsets[] | select(.partition==$2) | .committed"
}
assert_eq 2 "$(committed g 0)" "committed after two"
assert_eq "0:8 0:9" "$(offsets -t t -g g --partition 0 --offset 8)" "--offset with a group"
assert_eq 10 "$(committed g 0)" "committed after the override"
echo "\"more\"" | "$M" produce -t t --partition 0
assert_eq "0:10" "$(offsets -t t -g g --partition 0)" "the next run continues from the commit"
# --offset end with a group and nothing to read still moves the group.
"$M" commit -g g2 -t t --partition 0 --offset 1
"$M" consume -t t -g g2 --offset end > /dev/null
assert_eq "11 3" "$(committed g2 0) $(committed g2 1)" "--offset end is committed"
# --no-commit with --offset: nothing moves.
"$M" consume -t t -g g2 --offset beginning --no-commit > /dev/null
assert_eq "11 3" "$(committed g2 0) $(committed g2 1)" "--no-commit --offset commits nothing"
# --from still decides for partitions without a commit.
assert_eq "" "$(offsets -t t -g late --from latest)" "--from latest with a group"
assert_eq "11 3" "$(committed late 0) $(committed late 1)" "--from latest committed"

# --partition with a group: the partition is held as the group's; a second
# reader of it is refused (75), a member of the group waits for it.
"$M" commit -g hold -t t --partition 0 --offset 0
"$M" consume -t t -g hold --partition 0 -f > hold.out &
holder=$!
BG_PIDS+=($holder)
wait_for 10 has_lines hold.out 11 || fail "holder did not read"
expect_exit 75 "$M" consume -t t -g hold --partition 0 2> err
grep -q "partition 0 of topic t is being read by another process of group hold" err ||
    fail "busy message: $(cat err)"
assert_eq "" "$("$M" consume -t t -g hold --max 100 | jq -r 'select(.partition==0) | .offset')" \
    "a member does not read the held partition"
kill -TERM "$holder"
wait "$holder" || fail "holder exit status"
assert_eq 11 "$(committed hold 0)" "the holder committed what it wrote"

# Errors: a bad --offset, --partition with two topics, a missing partition.
expect_exit 2 "$M" consume -t t --offset middle 2> err
grep -q "'middle' is not an offset" err || fail "bad offset message: $(cat err)"
expect_exit 2 "$M" consume -t t --offset 1x 2> /dev/null
expect_exit 2 "$M" consume -t t,ret --partition 0 2> err
grep -q -- "--partition needs exactly one topic" err || fail "message: $(cat err)"
expect_exit 66 "$M" consume -t t --partition 2 2> /dev/null
expect_exit 66 "$M" consume -t nosuch 2> /dev/null
expect_exit 2 "$M" consume -t t -g 'bad name' 2> /dev/null
echo "consume_offsets: ok"
