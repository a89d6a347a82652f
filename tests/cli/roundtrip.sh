#!/usr/bin/env bash
# Records as JSON lines and back: "ts" next to "timestamp", one reading of
# text and JSON values, `consume | produce --input envelope` copying keys,
# values and timestamps byte for byte, kcat -J lines, and files as input.
source "$(dirname "$0")/lib.sh"
cd "$T"

# A topic of every kind of value, key and timestamp.
printf '%s\n' '{"b": 1,  "a":[1.50, 1e2, "\u00e9\/"]}' '"hello"' '42' '  [1 ,2] ' 'null' \
    > json.in
printf '%s\n' 'hello' '"hello"' '42' '{"a":1}' 'tab	here \ back"slash ünï' '' > raw.in
cat > env.in <<'JSON'
{"key":"k1","value":{"t": 21.5},"timestamp":"2024-05-01T12:00:00.123456789Z"}
{"key":"","value":"text\nwith\u0000nul","timestamp":"1969-12-31T23:59:59.9995Z"}
{"key":"k\"3","value":"\"json string\"","value_is_json":true,"timestamp":"1960-01-01T00:00:00.001Z"}
{"value":" 7 ","value_is_json":true,"ts":-1}
{"value":"plain","ts":1714564800123,"timestamp":"2024-05-01T12:00:00.5Z"}
JSON
"$M" produce -t a --partitions 3 --key jk < json.in
"$M" produce -t a --input raw --key rk < raw.in
"$M" produce -t a --input envelope < env.in
"$M" consume -t a -g copy --no-commit > a.jsonl
assert_eq 16 "$(wc -l < a.jsonl | tr -d ' ')" "records of a"

# ts: integer milliseconds, rounded down (also before 1970); timestamp exact.
jq -e 'select((.ts | type) != "number" or .ts != (.ts | floor))' a.jsonl > /dev/null &&
    fail "a ts that is not an integer: $(cat a.jsonl)"
ts_of() { jq -r --arg k "$1" 'select(.key == $k) | "\(.timestamp) \(.ts)"' a.jsonl; }
assert_eq "2024-05-01T12:00:00.123456789Z 1714564800123" "$(ts_of k1)" "ts of a nanosecond time"
assert_eq "1969-12-31T23:59:59.999500Z -1" "$(ts_of '')" "ts before 1970 rounds down"
assert_eq "1960-01-01T00:00:00.001Z -315619199999" "$(ts_of 'k"3')" "ts of 1960"
assert_eq "1969-12-31T23:59:59.999Z -1" \
    "$(jq -r 'select(.value == " 7 ") | "\(.timestamp) \(.ts)"' a.jsonl)" "ts given as ts"
assert_eq "2024-05-01T12:00:00.500Z 1714564800500" \
    "$(jq -r 'select(.value == "plain") | "\(.timestamp) \(.ts)"' a.jsonl)" "timestamp wins over ts"
# jq sorts by ts as by time (the text of timestamp does not sort).
assert_eq "1960 1969 1969" \
    "$(jq -s -r 'sort_by(.ts) | .[0:3] | map(.timestamp[0:4]) | join(" ")' a.jsonl)" "sort_by(.ts)"

# Text and JSON values have one reading each.
assert_eq '"hello"' "$(grep '"key":"rk"' a.jsonl | sed -n 1p | sed 's/.*"value"://; s/}$//')" \
    "raw hello is a string"
assert_eq '"\"hello\""' "$(grep '"key":"rk"' a.jsonl | sed -n 2p | sed 's/.*"value"://; s/}$//')" \
    "raw \"hello\" is a string holding the quotes"
assert_eq '42,"value_is_json":false' \
    "$(grep '"key":"rk"' a.jsonl | sed -n 3p | sed 's/.*"value"://; s/}$//')" \
    "raw 42 is shown as JSON, said to be text"
grep -qF '"value":42}' a.jsonl || fail "JSON 42 is not a number: $(cat a.jsonl)"
grep -qF '"value":"\"hello\"","value_is_json":true}' a.jsonl ||
    fail "the JSON string \"hello\" is not flagged: $(cat a.jsonl)"
grep -qF '"value":"  [1 ,2] ","value_is_json":true}' a.jsonl ||
    fail "a JSON value with spaces around it is not flagged: $(cat a.jsonl)"
grep -qF '"value":{"b": 1,  "a":[1.50, 1e2, "\u00e9\/"]}' a.jsonl ||
    fail "a JSON value is not printed as stored: $(cat a.jsonl)"
assert_eq 6 "$(grep -c value_is_json a.jsonl)" "value_is_json only where needed"

# consume | produce --input envelope copies every record exactly.
"$M" produce -t b --partitions 3 --input envelope < a.jsonl
"$M" consume -t b -g copy --no-commit > b.jsonl
sort a.jsonl | sed 's/^{"topic":"a"/{"topic":"b"/' > a.sorted
sort b.jsonl > b.sorted
cmp -s a.sorted b.sorted || fail "copy differs: $(diff a.sorted b.sorted)"
cmp -s <("$M" consume -t a -g v --format value | sort) \
    <("$M" consume -t b -g v --format value | sort) || fail "stored values differ"
# ... and so does copying the copy (a fixed point), and inspect's lines.
"$M" consume -t b -g copy --no-commit | "$M" produce -t c --partitions 3 --input envelope
cmp -s <(sort a.jsonl | sed 's/"topic":"a"/"topic":"c"/') \
    <("$M" consume -t c -g copy --no-commit | sort) || fail "second copy differs"
first=$(grep -F '"key":"k1"' a.jsonl)
"$M" inspect --json -t a --partition "$(jq .partition <<< "$first")" \
    --offset "$(jq .offset <<< "$first")" > rec.json
jq -e '.ts | type == "number"' rec.json > /dev/null || fail "inspect has no ts: $(cat rec.json)"
"$M" produce -t one --partitions 3 --input envelope < rec.json
assert_eq "$(jq -c '{key, value, timestamp, ts}' rec.json)" \
    "$("$M" consume -t one -g g | jq -c '{key, value, timestamp, ts}')" "inspect line copied"

# produce --ack lines carry ts.
echo '{"value":1,"ts":1714564800123}' | "$M" produce -t acked --input envelope --ack > ack
assert_eq "1714564800123 2024-05-01T12:00:00.123Z" "$(jq -r '"\(.ts) \(.timestamp)"' ack)" "ack ts"

# kcat -J lines (as kcat 1.7 writes them) are envelopes.
cat > kcat.jsonl <<'JSON'
{"topic":"syslog","partition":0,"offset":0,"tstype":"create","ts":1564501455493,"broker":1,"key":"host1","payload":"Jul 30 15:44:15 host1 sshd[1]: ok"}
{"topic":"syslog","partition":1,"offset":9,"tstype":"logappend","ts":-5,"broker":-1,"headers":[],"key":null,"payload":"{\"a\":1}"}
{"topic":"syslog","partition":0,"offset":1,"tstype":"create","ts":1564501455494,"broker":1,"key":"k","payload":{"decoded":true},"value_schema_id":7}
JSON
"$M" produce -t k --partitions 2 --input envelope < kcat.jsonl
"$M" consume -t k -g g > k.out
assert_eq 3 "$(wc -l < k.out | tr -d ' ')" "kcat records"
assert_eq '"Jul 30 15:44:15 host1 sshd[1]: ok" 1564501455493 0' \
    "$(jq -c -r 'select(.key == "host1") | "\(.value | tojson) \(.ts) \(.partition)"' k.out)" "kcat line"
assert_eq '{"a":1} false -5 1' \
    "$(jq -r 'select(.key == null) | "\(.value | tojson) \(.value_is_json) \(.ts) \(.partition)"' k.out)" \
    "kcat payload is text"
assert_eq '{"decoded":true}' "$(jq -c 'select(.key == "k") | .value' k.out)" "kcat JSON payload"
echo '{"key":"k","payload":"v","headers":["h","x"]}' |
    expect_exit 65 "$M" produce -t k2 --input envelope 2> err
grep -q "headers are not supported" err || fail "headers: $(cat err)"
expect_exit 65 "$M" produce -t k2 --input envelope 2> err < <(echo '{"key":"k","payload":null}')
grep -q "tombstone" err || fail "null payload: $(cat err)"
[[ ! -e $MERKQL_DIR/topics/k2 ]] || assert_eq 0 "$(count_records k2)" "nothing stored from bad kcat lines"

# Files as input, in order; - is standard input.
printf '1\n2' > f1
printf '3\n' > f2
printf '4\n5\n' | "$M" produce -t files f1 - f2
assert_eq "1 2 4 5 3" "$("$M" consume -t files -g g --format value | tr '\n' ' ' | sed 's/ $//')" \
    "files in order"
# A missing or unreadable file: named, exit 66 or 74, nothing stored.
expect_exit 66 "$M" produce -t files f1 missing.jsonl f2 < /dev/null 2> err
grep -q "missing.jsonl: No such file or directory" err || fail "missing file: $(cat err)"
mkdir adir
expect_exit 74 "$M" produce -t files f1 adir < /dev/null 2> err
grep -q "adir: Is a directory" err || fail "directory: $(cat err)"
if [[ $(id -u) != 0 ]]; then
    printf '9\n' > locked && chmod 000 locked
    expect_exit 74 "$M" produce -t files f1 locked < /dev/null 2> err
    grep -q "locked: Permission denied" err || fail "unreadable file: $(cat err)"
fi
assert_eq 5 "$(count_records files)" "nothing stored from a run with a missing file"
expect_exit 66 "$M" produce -t newtopic missing.jsonl 2> /dev/null
[[ ! -e $MERKQL_DIR/topics/newtopic ]] || fail "a missing file created its topic"
# Bad lines are named by file and line.
printf '1\n{bad\n' > bad.jsonl
expect_exit 65 "$M" produce -t files f1 bad.jsonl < /dev/null 2> err
grep -q "merkql: bad.jsonl line 2: invalid JSON" err || fail "bad line: $(cat err)"
assert_eq 8 "$(count_records files)" "the lines before the bad one are stored"
expect_exit 65 "$M" produce -t files - 2> err < <(echo '{')
grep -q "merkql: stdin line 1" err || fail "stdin line: $(cat err)"
echo "roundtrip: ok"
