#!/usr/bin/env bash
# merkql inspect, du and compact: text and JSON output, filters, errors.
source "$(dirname "$0")/lib.sh"
cd "$T"

seq 1 10 | "$M" produce -t a --partitions 2
printf '{"k":"x","v":1}\n' | "$M" produce -t b --key-field k --retention-records 100
"$M" consume -t a -g g --max 4 > /dev/null

# inspect --json: the documented shape.
j=$("$M" inspect --json)
assert_eq "a b" "$(jq -r '[.topics[].name] | join(" ")' <<< "$j")" "topics"
assert_eq 2 "$(jq '.topics[0].partition_count' <<< "$j")" "partition_count"
assert_eq 2 "$(jq '.topics[0].partitions | length' <<< "$j")" "partitions array"
assert_eq lz4 "$(jq -r '.topics[0].compression' <<< "$j")" "compression"
assert_eq null "$(jq '.topics[0].retention_records' <<< "$j")" "retention (none)"
assert_eq 100 "$(jq '.topics[1].retention_records' <<< "$j")" "retention"
jq -e '.topics[0].partitions[0] | has("partition") and has("next_offset") and has("watermark") and has("records") and has("bytes") and (.root | test("^[0-9a-f]{64}$"))' <<< "$j" > /dev/null ||
    fail "partition members: $j"
assert_eq 10 "$(jq '[.topics[0].partitions[].next_offset] | add' <<< "$j")" "next offsets"
assert_eq 6 "$(jq '[.groups[] | select(.name=="g") | .offsets[].lag] | add' <<< "$j")" "lag"
assert_eq 4 "$(jq '[.groups[] | select(.name=="g") | .offsets[].committed] | add' <<< "$j")" "committed"
# An empty partition has a null root.
seq 1 1 | "$M" produce -t c --partitions 2 --partition 0
assert_eq null "$("$M" inspect --json -t c | jq '.topics[0].partitions[1].root')" "empty root"
# --topic filters topics and groups.
assert_eq b "$("$M" inspect --json -t b | jq -r '[.topics[].name] | join(" ")')" "--topic"
assert_eq 0 "$("$M" inspect --json -t b | jq '.groups | length')" "--topic groups"
# Text form.
"$M" inspect > text
grep -q "^topic a: 2 partitions, compression lz4" text || fail "text: $(cat text)"
grep -q "^group g:" text || fail "text groups: $(cat text)"
# One record.
"$M" inspect -t b --partition 0 --offset 0 > rec
grep -q '^key: *"x"' rec || fail "record text: $(cat rec)"
grep -q '^record hash: *[0-9a-f]\{64\}$' rec || fail "record text: $(cat rec)"
r=$("$M" inspect --json -t b --partition 0 --offset 0)
assert_eq '{"k":"x","v":1}' "$(jq -c .value <<< "$r")" "record value"
assert_eq x "$(jq -r .key <<< "$r")" "record key"
jq -e '(.record_hash | test("^[0-9a-f]{64}$")) and (.leaf_hash | test("^[0-9a-f]{64}$")) and (.timestamp | test("Z$"))' <<< "$r" > /dev/null ||
    fail "record json: $r"
expect_exit 66 "$M" inspect -t b --partition 0 --offset 1 2> /dev/null
expect_exit 66 "$M" inspect -t b --partition 1 --offset 0 2> /dev/null
expect_exit 66 "$M" inspect -t nosuch 2> /dev/null
expect_exit 66 "$M" --dir "$T/missing" inspect 2> /dev/null
expect_exit 2 "$M" inspect -t b --partition 0 2> /dev/null
expect_exit 2 "$M" inspect --partition 0 --offset 0 2> /dev/null
expect_exit 2 "$M" inspect -t 'x/y' 2> /dev/null

# du: totals add up; --bytes exact; --json.
d=$("$M" du --json)
total=$(jq .total <<< "$d")
assert_eq "$total" "$(jq '.bytes + .groups_bytes' <<< "$d")" "du total"
# The total is disk held by the files: never more than du(1) counts for the
# whole directory (which adds the directories themselves).
[[ $total -le $(du -sB1 "$MERKQL_DIR" | cut -f1) ]] || fail "du total $total above du(1)"
assert_eq "$(jq '.records' <<< "$d")" "$(jq '[.topics[].records] | add' <<< "$d")" "du records"
jq -e '.topics[0].partitions[0] | has("records") and has("index") and has("tree") and has("metadata") and has("reclaimable")' <<< "$d" > /dev/null ||
    fail "du partition members: $d"
assert_eq g "$(jq -r '.groups[0].name' <<< "$d")" "du groups"
grep -q "^$total	total" <<< "$("$M" du --bytes)" || fail "du --bytes: $("$M" du --bytes)"
grep -q "	total" <<< "$("$M" du)" || fail "du text"
grep -q "reclaimable" <<< "$("$M" du)" || fail "du reclaimable"
expect_exit 66 "$M" --dir "$T/missing" du 2> /dev/null
expect_exit 2 "$M" du --bogus 2> /dev/null

# compact: runs everywhere or on one topic; nothing to reclaim here.
grep -q "^reclaimed 0 bytes" <<< "$("$M" compact)" || fail "compact output"
grep -q "^reclaimed" <<< "$("$M" compact -t b)" || fail "compact -t"
expect_exit 66 "$M" compact -t nosuch 2> /dev/null
expect_exit 2 "$M" compact -t '..' 2> /dev/null
expect_exit 66 "$M" --dir "$T/missing" compact 2> /dev/null
"$M" verify-proof --all > /dev/null
echo "inspect_du_compact: ok"
