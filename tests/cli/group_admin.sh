#!/usr/bin/env bash
# merkql group list/describe/delete, and merkql commit --to-datetime,
# --dry-run and the refusal of an offset past the end.
source "$(dirname "$0")/lib.sh"
cd "$T"

tree()
{ # everything under the data directory, with sizes and times
    find "$MERKQL_DIR" -printf '%p %s %T@\n' | sort
}

# Records of t stamped 10:00:00, 10:00:01 ... in both partitions.
for i in 0 1 2 3 4 5; do
    printf '{"key":null,"value":%d,"timestamp":"2026-01-01T10:00:0%dZ","partition":%d}\n' \
        "$i" "$i" $((i % 2))
done > in.jsonl
"$M" produce -t t --partitions 2 --input envelope < in.jsonl
seq 1 4 | "$M" produce -t u

# list: none, then the groups by name.
assert_eq "" "$("$M" group list)" "no groups"
assert_eq '{"groups":[]}' "$("$M" group list --json)" "no groups (json)"
"$M" consume -t t -g beta --max 2 > /dev/null
"$M" commit -g alpha -t u --reset earliest
assert_eq "alpha beta" "$("$M" group list | tr '\n' ' ' | sed 's/ $//')" "group list"
assert_eq '{"name":"alpha","members":0,"partitions":1}' \
    "$("$M" group list --json | jq -c '.groups[0]')" "group list --json"

# describe: committed, end, lag, reading, members.
"$M" describe 2> /dev/null && fail "describe is not a command"
out=$("$M" group describe -g beta --json)
assert_eq '[]' "$(jq -c .members <<< "$out")" "no live member"
assert_eq '[{"topic":"t","partition":0,"committed":2,"end":3,"lag":1,"reading":false},{"topic":"t","partition":1,"committed":0,"end":3,"lag":3,"reading":false}]' \
    "$(jq -c .offsets <<< "$out")" "describe offsets"
"$M" group describe -g beta > text
grep -q "group beta: 0 live members" text || fail "describe text: $(cat text)"
grep -Eq '^ +t +0 +2 +3 +1 +no$' text || fail "describe row: $(cat text)"

# A live member: shown by describe, and delete is refused, changing nothing.
"$M" consume -t t -g beta -f > /dev/null &
member=$!
BG_PIDS+=($member)
live() { [[ $("$M" group describe -g beta --json | jq '.members | length') == 1 ]]; }
wait_for 20 live || fail "the member is not shown"
reading() { [[ $("$M" group describe -g beta --json | jq '[.offsets[].reading] | all') == true ]]; }
wait_for 20 reading || fail "partitions not shown as being read"
joined=$("$M" group describe -g beta --json | jq -r '.members[0].joined')
[[ $joined == 20* ]] || fail "joined: $joined"
before=$(tree)
expect_exit 75 "$M" group delete -g beta 2> err
grep -q "group beta has 1 live member" err || fail "refusal message: $(cat err)"
assert_eq "$before" "$(tree)" "a refused delete changes nothing"
kill -TERM "$member"
wait "$member" || fail "member exit status"

# A process reading one partition as the group also blocks the delete.
"$M" consume -t t -g beta --partition 1 -f > /dev/null &
holder=$!
BG_PIDS+=($holder)
held() { "$M" group describe -g beta --json | jq -e '.offsets[] | select(.partition==1) | .reading' > /dev/null; }
wait_for 20 held || fail "the held partition is not shown as being read"
expect_exit 75 "$M" group delete -g beta 2> err
grep -q "partition 1 of topic t is being read" err || fail "refusal message: $(cat err)"
kill -TERM "$holder"
wait "$holder" || fail "holder exit status"

# Then the deletion goes through; the name starts afresh.
"$M" group delete -g beta
assert_eq "alpha" "$("$M" group list)" "after delete"
[[ ! -e $MERKQL_DIR/groups/beta ]] || fail "group directory left"
assert_eq 6 "$("$M" consume -t t -g beta | wc -l | tr -d ' ')" "a re-created group starts afresh"
expect_exit 66 "$M" group delete -g nosuch 2> /dev/null
expect_exit 66 "$M" group describe -g nosuch 2> /dev/null
expect_exit 2 "$M" group delete -g 'bad name' 2> /dev/null
expect_exit 2 "$M" group describe 2> /dev/null
expect_exit 2 "$M" group 2> /dev/null
expect_exit 2 "$M" group frobnicate 2> /dev/null

committed()
{ # committed GROUP TOPIC PARTITION
    "$M" group describe -g "$1" --json | jq ".offsets[] | select(.topic==\"$2\" and .partition==$3) | .committed"
}

# commit --offset past the end: refused (65), nothing changed.
"$M" commit -g c -t t --partition 0 --offset 3
before=$(tree)
expect_exit 65 "$M" commit -g c -t t --partition 0 --offset 4 2> err
grep -q "offset 4 is past the end of t/0 (its next offset is 3)" err || fail "message: $(cat err)"
assert_eq "$before" "$(tree)" "refused commit changed nothing"
expect_exit 65 "$M" commit -g fresh -t t --partition 0 --offset 999 2> /dev/null
[[ ! -e $MERKQL_DIR/groups/fresh ]] || fail "a refused commit created its group"

# --to-datetime: the first record at or after the time, per partition.
# Partition 0 holds 10:00:00, :02, :04 (offsets 0-2); partition 1 :01, :03, :05.
"$M" commit -g c -t t --to-datetime 2026-01-01T10:00:02Z
assert_eq "1 1" "$(committed c t 0) $(committed c t 1)" "--to-datetime :02"
"$M" commit -g c -t t --to-datetime 2026-01-01T11:00:02.5+01:00
assert_eq "2 1" "$(committed c t 0) $(committed c t 1)" "--to-datetime with an offset zone"
"$M" commit -g c -t t --to-datetime 2026-01-01T10:00:05Z
assert_eq "3 2" "$(committed c t 0) $(committed c t 1)" "--to-datetime :05"
"$M" commit -g c -t t --to-datetime 2030-01-01T00:00:00Z
assert_eq "3 3" "$(committed c t 0) $(committed c t 1)" "--to-datetime after every record: the end"
"$M" commit -g c -t t --to-datetime 2000-01-01T00:00:00Z
assert_eq "0 0" "$(committed c t 0) $(committed c t 1)" "--to-datetime before every record"
expect_exit 2 "$M" commit -g c -t t --to-datetime yesterday 2> err
grep -q -- "--to-datetime" err || fail "message: $(cat err)"
expect_exit 2 "$M" commit -g c --to-datetime 2026-01-01T10:00:00Z 2> /dev/null
expect_exit 2 "$M" commit -g c -t t --to-datetime 2026-01-01T10:00:00Z --reset latest 2> /dev/null

# --dry-run: prints the plan, changes nothing, in every form.
before=$(tree)
assert_eq "t/0: 0 -> 2
t/1: 0 -> 1" "$("$M" commit -g c -t t --to-datetime 2026-01-01T10:00:03Z --dry-run)" \
    "--dry-run --to-datetime"
assert_eq "t/0: 0 -> 3
t/1: 0 -> 3" "$("$M" commit -g c -t t --reset latest --dry-run)" "--dry-run --reset"
assert_eq "t/1: 0 -> 2" "$("$M" commit -g c -t t --partition 1 --offset 2 --dry-run)" \
    "--dry-run --offset"
assert_eq "u/0: none -> 3" \
    "$(echo '{"topic":"u","partition":0,"offset":2}' | "$M" commit -g c --dry-run)" "--dry-run stdin"
assert_eq "u/0: none -> 3" \
    "$(echo '{"topic":"u","partition":0,"offset":2}' | "$M" commit -g new --dry-run)" \
    "--dry-run for a new group"
expect_exit 65 "$M" commit -g c -t t --partition 1 --offset 9 --dry-run 2> /dev/null
assert_eq "$before" "$(tree)" "--dry-run changed nothing"

# On a read-only mount (a tmpfs, where mounting is allowed): list, describe
# and a read without a group work; delete fails (74) and changes nothing.
mkdir ro
if mount -t tmpfs -o size=16m tmpfs ro 2> /dev/null; then
    trap 'umount "$T/ro" 2> /dev/null || true; cleanup' EXIT
    export MERKQL_DIR=$T/ro/data
    seq 1 5 | "$M" produce -t r
    "$M" consume -t r -g g --max 2 > /dev/null
    before=$(tree)
    mount -o remount,ro "$T/ro"
    assert_eq g "$("$M" group list)" "group list on a read-only mount"
    assert_eq '[{"topic":"r","partition":0,"committed":2,"end":5,"lag":3,"reading":false}]' \
        "$("$M" group describe -g g --json | jq -c .offsets)" "describe on a read-only mount"
    assert_eq 5 "$("$M" consume -t r | wc -l | tr -d ' ')" "read without a group on a read-only mount"
    assert_eq "0:3 0:4" "$("$M" consume -t r --offset -2 | jq -r '"\(.partition):\(.offset)"' | tr '\n' ' ' | sed 's/ $//')" \
        "--offset on a read-only mount"
    expect_exit 74 "$M" group delete -g g 2> /dev/null
    assert_eq "$before" "$(tree)" "nothing changed on the read-only mount"
    umount "$T/ro"
else
    echo "group_admin: cannot mount a tmpfs here: read-only part skipped"
fi
echo "group_admin: ok"
