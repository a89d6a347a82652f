#!/usr/bin/env bash
# merkql topic create/alter/list/describe/delete, produce's settings check,
# and the crash safety of delete.
source "$(dirname "$0")/lib.sh" "$@"

D=$MERKQL_DIR
# create, and create again
"$M" topic create -t a --partitions 3 --compression none --retention-records 100 \
    --retention-bytes 200000 --segment-bytes 65536 > "$T/out"
grep -q "partitions *3" "$T/out" || fail "create prints the settings"
expect_exit 2 "$M" topic create -t a 2> "$T/err"
grep -q "already exists" "$T/err" || fail "create of an existing topic says so"
"$M" topic create -t b > /dev/null
assert_eq $'a\nb' "$("$M" topic list)" "topic list"

# describe --json
"$M" topic describe -t a --json > "$T/d.json"
assert_eq "3 none 100 200000 null 65536 3" \
    "$(jq -r '"\(.partition_count) \(.compression) \(.retention_records) \(.retention_bytes) \(.retention_ms) \(.segment_bytes) \(.partitions | length)"' "$T/d.json")" \
    "describe --json"
grep -q "segment-bytes *1048576" < <("$M" topic describe -t b) || fail "default segment size is 1 MiB"
expect_exit 66 "$M" topic describe -t nosuch

# alter: retention and segment size; partitions and compression are fixed
"$M" topic alter -t a --retention-records none --retention-ms 3600000 --segment-bytes 8192 > /dev/null
assert_eq "null 200000 3600000 8192" \
    "$("$M" topic describe -t a --json | jq -r '"\(.retention_records) \(.retention_bytes) \(.retention_ms) \(.segment_bytes)"')" \
    "after alter"
expect_exit 2 "$M" topic alter -t a --partitions 5 2> "$T/err"
grep -q "partitions of topic a cannot change (3 now, 5 asked)" "$T/err" || fail "alter --partitions: $(cat "$T/err")"
expect_exit 2 "$M" topic alter -t a --compression lz4 2> "$T/err"
grep -q "compression" "$T/err" || fail "alter --compression names the setting"
"$M" topic alter -t a --partitions 3 --compression none > /dev/null # unchanged values are fine
expect_exit 66 "$M" topic alter -t nosuch --retention-records 5
expect_exit 2 "$M" topic alter -t a --retention-records 0
expect_exit 2 "$M" topic create -t z --segment-bytes 100

# produce: settings given must match an existing topic; nothing appended
for opt in "--partitions 2" "--compression lz4" "--retention-records 7" "--retention-bytes 5000" \
    "--retention-ms 5" "--segment-bytes 4096"; do
    # shellcheck disable=SC2086
    expect_exit 2 "$M" produce -t a $opt 2> "$T/err" < <(echo '{"x":1}')
    setting=${opt%% *}
    grep -q -- "$setting is" "$T/err" || fail "produce $opt names the setting: $(cat "$T/err")"
done
expect_exit 2 "$M" produce -t a --partitions 2 2> "$T/err" < <(echo '{"x":1}')
grep -q -- "--partitions is 3, not 2" "$T/err" || fail "both values: $(cat "$T/err")"
assert_eq 0 "$(count_records a)" "nothing appended by a refused produce"
echo '{"x":1}' | "$M" produce -t a --partitions 3 --compression none --retention-ms 3600000
assert_eq 1 "$(count_records a)" "matching settings append"

# a produce with no valid record creates no topic
expect_exit 65 "$M" produce -t c 2> /dev/null < <(printf 'not json\n')
[[ ! -e $D/topics/c ]] || fail "a failed produce created topic c"
printf '' | "$M" produce -t c
[[ ! -e $D/topics/c ]] || fail "an empty produce created topic c"
printf 'bad\n{"ok":1}\n' | "$M" produce -t c --skip-bad --partitions 2 2> /dev/null
assert_eq 2 "$("$M" topic describe -t c --json | jq .partition_count)" "created with the first valid record"

# delete removes the topic and every group's offsets for it
for i in 1 2 3 4 5; do echo "{\"n\":$i}"; done | "$M" produce -t b
"$M" consume -t b -g g1 > /dev/null
"$M" consume -t c -g g1 > /dev/null
assert_eq 5 "$("$M" inspect --json | jq '[.groups[] | select(.name == "g1") | .offsets[] | select(.topic == "b") | .committed] | add')" "g1 committed b"
"$M" topic delete -t b > /dev/null
assert_eq $'a\nc' "$("$M" topic list)" "list after delete"
assert_eq 0 "$("$M" inspect --json | jq '[.groups[] | .offsets[] | select(.topic == "b")] | length')" "no offsets for b"
assert_eq 2 "$("$M" inspect --json | jq '[.groups[] | .offsets[] | select(.topic == "c")] | length')" "offsets of c stay"
[[ -z $(ls "$D/topics" | grep '~') ]] || fail "delete left a trash directory"
expect_exit 66 "$M" topic delete -t b
for i in 1 2 3; do echo "{\"again\":$i}"; done | "$M" produce -t b
assert_eq 3 "$("$M" consume -t b -g g1 | wc -l)" "a re-created topic is read from its start"

# A crash after the rename (simulated): the topic is gone, and the next
# create finishes the deletion before creating it anew.
for i in 1 2 3 4; do echo "{\"n\":$i}"; done | "$M" produce -t d
"$M" consume -t d -g g2 > /dev/null
mv "$D/topics/d" "$D/topics/d~deleted"
grep -qx d < <("$M" topic list) && fail "a topic being deleted is listed"
echo '{"new":1}' | "$M" produce -t d
[[ ! -e "$D/topics/d~deleted" ]] || fail "create did not finish the deletion"
assert_eq 1 "$("$M" consume -t d -g g2 | wc -l)" "g2 reads the new topic d from its start"

# kill -9 at random moments of a delete: the topic is either whole or gone,
# nothing is reported damaged, and a later delete or create finishes it.
for round in 1 2 3 4 5 6; do
    seq 1 2000 | "$M" produce -t k --input raw --partitions 40 --batch 50
    "$M" consume -t k -g gk --max 100 > /dev/null
    "$M" topic delete -t k > /dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 10))"
    kill -9 "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    "$M" inspect > /dev/null || fail "round $round: inspect after a killed delete"
    if grep -qx k < <("$M" topic list); then
        assert_eq 2000 "$(count_records k)" "round $round: a topic not deleted is whole"
        "$M" topic delete -t k > /dev/null
    fi
    seq 1 3 | "$M" produce -t k --input raw --partitions 40
    [[ -z $(ls "$D/topics" | grep '~') ]] || fail "round $round: trash left after create"
    assert_eq 3 "$("$M" consume -t k -g gk | wc -l)" "round $round: group reads the new topic from its start"
    "$M" topic delete -t k > /dev/null
done
echo "topic_admin: ok"
