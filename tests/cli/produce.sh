#!/usr/bin/env bash
# merkql produce: every option, every input format, bad lines and exit codes.
source "$(dirname "$0")/lib.sh"
cd "$T"

# json input: the exact line text is stored; --ack prints one line per record.
printf '{"b": 1,  "a":2}\n[1,2]\n"s"\n42\r\n{"last":true}' > in.jsonl
"$M" produce -t j --ack < in.jsonl > acks
assert_eq 5 "$(wc -l < acks | tr -d ' ')" "ack lines"
assert_eq "0 1 2 3 4" "$(jq -r .offset acks | tr '\n' ' ' | sed 's/ $//')" "ack offsets"
assert_eq "j" "$(jq -r .topic acks | sort -u)" "ack topic"
jq -e 'select(.hash | test("^[0-9a-f]{64}$")) | .timestamp | test("Z$")' acks > /dev/null
"$M" consume -t j -g g --format value > values
assert_eq "$(printf '{"b": 1,  "a":2}\n[1,2]\n"s"\n42\n{"last":true}')" "$(cat values)" "stored text"
hash=$("$M" inspect --json -t j --partition 0 --offset 3 | jq -r .record_hash)
assert_eq "$(sed -n 4p acks | jq -r .hash)" "$hash" "ack hash = inspect hash"

# raw input: any UTF-8 text, CRLF stripped.
printf 'plain text\r\nnot {json\n\nünïcode\n' | "$M" produce -t r --input raw
assert_eq "$(printf 'plain text\nnot {json\n\nünïcode')" \
    "$("$M" consume -t r -g g --format value)" "raw values"

# Values print as JSON when they are JSON or text that reads as JSON (then
# with "value_is_json":false); a JSON line holding a carriage return is
# stored as text, and prints as a string on one line.
printf '{"n":1}\n' | "$M" produce -t emb --input raw
printf '{"n":2}\n{"n":\r3}\n' | "$M" produce -t emb
printf '{"value":"{\\"n\\":4}"}\n{"value":{"n":5}}\n' | "$M" produce -t emb --input envelope
"$M" consume -t emb -g g > emb.out
assert_eq 5 "$(wc -l < emb.out | tr -d ' ')" "one line per value"
assert_eq "false null null false null" \
    "$(jq -r '.value_is_json' emb.out | tr '\n' ' ' | sed 's/ $//')" "text flagged"
assert_eq "object object string object object" \
    "$(jq -r '.value | type' emb.out | tr '\n' ' ' | sed 's/ $//')" "text or JSON"
assert_eq "1 2 3 4 5" \
    "$(jq -r '.value | if type == "string" then fromjson.n else .n end' emb.out | tr '\n' ' ' |
        sed 's/ $//')" "values"

# envelope input: key, value (string decoded, JSON as written), partition, timestamp.
cat > env.jsonl <<'JSON'
{"key":"k1","value":{"t": 21.5},"timestamp":"2024-05-01T12:00:00Z"}
{"key":null,"value":"hello\nworld","timestamp":1714564800000}
{"value":[1, 2],"partition":1}
JSON
"$M" produce -t e --input envelope --partitions 2 < env.jsonl
"$M" consume -t e -g g > out
assert_eq 3 "$(wc -l < out | tr -d ' ')" "envelope records"
assert_eq '{"t":21.5}' "$(jq -c 'select(.key=="k1") | .value' out)" "envelope JSON value"
assert_eq "2024-05-01T12:00:00Z" "$(jq -r 'select(.key=="k1") | .timestamp' out)" "RFC 3339 timestamp"
assert_eq "2024-05-01T12:00:00Z" "$(jq -r 'select(.value=="hello\nworld") | .timestamp' out)" \
    "epoch ms timestamp"
assert_eq 1 "$(jq -r 'select(.value==[1,2]) | .partition' out)" "envelope partition"

# --key, --key-field (name and JSON pointer, number as its text), --partition.
echo '{"x":1}' | "$M" produce -t k --key fixed
assert_eq fixed "$("$M" consume -t k -g g | jq -r .key)" "--key"
printf '{"id":42,"meta":{"id":"m1"}}\n' | "$M" produce -t kf --key-field id
printf '{"id":42,"meta":{"id":"m1"}}\n' | "$M" produce -t kf --key-field /meta/id
assert_eq "42 m1" "$("$M" consume -t kf -g g | jq -r .key | tr '\n' ' ' | sed 's/ $//')" "--key-field"
seq 1 10 | "$M" produce -t p --partitions 3 --partition 2 --batch 1
assert_eq 10 "$("$M" inspect --json -t p | jq '.topics[0].partitions[2].next_offset')" "--partition"
assert_eq 0 "$("$M" inspect --json -t p | jq '.topics[0].partitions[0].next_offset')" "--partition (others)"
# Keyed records of one key stay in one partition.
for i in $(seq 1 20); do echo "{\"s\":\"a\",\"i\":$i}"; done | "$M" produce -t kp --partitions 4 --key-field s
assert_eq 1 "$("$M" inspect --json -t kp | jq '[.topics[0].partitions[] | select(.next_offset > 0)] | length')" "key routing"
# Unkeyed records spread round-robin.
seq 1 8 | "$M" produce -t rr --partitions 4
assert_eq "2 2 2 2" "$("$M" inspect --json -t rr | jq -r '[.topics[0].partitions[].next_offset] | join(" ")')" "round-robin"

# Topic settings: --partitions, --compression, --retention-records; later
# produces must give the same ones or none (exit 2, nothing appended).
seq 1 20 | "$M" produce -t s --partitions 3 --compression none --retention-records 5 --partition 0
info=$("$M" inspect --json -t s)
assert_eq 3 "$(jq '.topics[0].partition_count' <<< "$info")" "--partitions"
assert_eq 3 "$(jq '.topics[0].partitions | length' <<< "$info")" "partitions array"
assert_eq none "$(jq -r '.topics[0].compression' <<< "$info")" "--compression"
assert_eq 5 "$(jq '.topics[0].retention_records' <<< "$info")" "--retention-records"
assert_eq 15 "$(jq '.topics[0].partitions[0].watermark' <<< "$info")" "watermark"
assert_eq "16 17 18 19 20" "$("$M" consume -t s -g g --format value | tr '\n' ' ' | sed 's/ $//')" "retained"
expect_exit 2 "$M" produce -t s --partitions 3 --compression lz4 2> /dev/null < <(seq 1 2)
assert_eq none "$("$M" inspect --json -t s | jq -r '.topics[0].compression')" "settings kept"
assert_eq 5 "$(count_records s)" "nothing appended by a produce with other settings"

# --batch: a big input in batches of 7 is all stored.
seq 1 1000 | "$M" produce -t b --batch 7
assert_eq 1000 "$(count_records b)" "--batch"

# Bad lines: records before stay, nothing from the bad line on, exit 65.
check_bad()
{ # check_bad TOPIC EXPECTED_STORED MESSAGE_PATTERN PRODUCE_ARGS... < input
    local topic=$1 stored=$2 pattern=$3
    shift 3
    expect_exit 65 "$M" produce -t "$topic" "$@" 2> err
    grep -q "merkql: stdin line" err || fail "no line number in: $(cat err)"
    grep -q -- "$pattern" err || fail "expected '$pattern' in: $(cat err)"
    assert_eq "$stored" "$(count_records "$topic")" "records stored before the bad line ($topic)"
}
printf '{"a":1}\n{"a":2}\n{"a":\n{"a":4}\n' | check_bad bad1 2 "line 3: invalid JSON"
printf '{"a":1}\n"\xff"\n{"a":3}\n' | check_bad bad2 1 "line 2: invalid UTF-8"
printf 'ok\n\xc3\x28\n' | check_bad bad3 1 "invalid UTF-8" --input raw
printf '{"id":"x"}\n{"other":1}\n' | check_bad bad4 1 "line 2: no key field id" --key-field id
printf '{"m":{"id":1}}\n{"m":{}}\n' | check_bad bad5 1 "line 2: no key field" --key-field /m/id
printf '"short"\n"this line is long"\n' | check_bad bad6 1 "max-record-bytes" --max-record-bytes 10
printf '{"value":1}\n{"key":1,"value":2}\n' | check_bad bad7 1 "invalid envelope" --input envelope
printf '{"value":1}\n[1]\n' | check_bad bad8 1 "invalid envelope" --input envelope
printf '{"value":1}\n{"key":"k"}\n' | check_bad bad9 1 "no value" --input envelope
printf '{"value":1}\n{"value":1,"partition":5}\n' | check_bad bad10 1 "partition" --input envelope
printf '{"value":1}\n{"value":1,"timestamp":"yesterday"}\n' | check_bad bad11 1 "timestamp" --input envelope
# With --ack, the records before a bad line are acknowledged.
expect_exit 65 "$M" produce -t bad12 --ack > acks 2> /dev/null < <(printf '1\n2\nbad\n')
assert_eq 2 "$(wc -l < acks | tr -d ' ')" "acks before the bad line"
# A huge line is refused without being stored whole.
{ head -c 3000000 /dev/zero | tr '\0' 'a'; echo; echo '"after"'; } > long.txt
check_bad bad13 0 "max-record-bytes" --input raw < long.txt

# --skip-bad: report each, store the rest, exit 0, print the count.
printf '1\nnope\n3\n\xff\n5\n' | "$M" produce -t skip --skip-bad 2> err
assert_eq 3 "$(count_records skip)" "--skip-bad stored"
assert_eq 2 "$(grep -c 'stdin line' err)" "--skip-bad reports"
grep -q "skipped 2 bad lines" err || fail "no skip count: $(cat err)"
{ echo x; cat long.txt; echo y; } > long2.txt
"$M" produce -t skip2 --input raw --skip-bad < long2.txt 2> err
assert_eq 'x "after" y' "$("$M" consume -t skip2 -g g --format value | tr '\n' ' ' | sed 's/ $//')" "skip long line"

# Usage errors: exit 2.
expect_exit 2 "$M" produce < /dev/null 2> /dev/null
expect_exit 2 "$M" produce -t 'bad name' < /dev/null 2> /dev/null
expect_exit 2 "$M" produce -t .. < /dev/null 2> /dev/null
expect_exit 2 "$M" produce -t x --input xml < /dev/null 2> /dev/null
expect_exit 2 "$M" produce -t x --compression zstd < /dev/null 2> /dev/null
expect_exit 2 "$M" produce -t x --key a --key-field b < /dev/null 2> /dev/null
expect_exit 2 "$M" produce -t x --bogus < /dev/null 2> /dev/null
expect_exit 2 "$M" produce -t p --partition 3 < /dev/null 2> /dev/null
expect_exit 2 "$M" produce -t x --batch 0 < /dev/null 2> /dev/null

# The data directory is created, from --dir too.
echo 1 | "$M" --dir "$T/other/dir" produce -t x
assert_eq 1 "$("$M" --dir "$T/other/dir" consume -t x -g g | wc -l | tr -d ' ')" "--dir"

# --no-wait while another process holds the partition lock: exit 75.
if command -v flock > /dev/null; then
    echo 1 | "$M" produce -t locked
    flock "$MERKQL_DIR/topics/locked/0/LOCK" sleep 30 > /dev/null 2>&1 &
    holder=$!
    BG_PIDS+=($holder)
    lock_held() { ! flock -n "$MERKQL_DIR/topics/locked/0/LOCK" true; }
    wait_for 10 lock_held || fail "the test could not take the lock"
    expect_exit 75 "$M" --no-wait produce -t locked 2> /dev/null < <(echo 2)
    pkill -P "$holder" sleep || true # release the lock now
fi
echo "produce: ok"
