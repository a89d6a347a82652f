#!/usr/bin/env bash
# Untrusted JSON lines: no depth of nesting crashes produce, consume or
# inspect; a byte order mark never reaches the output; --key-field numbers
# keep their text (large_record.sh has the record size limit).
source "$(dirname "$0")/lib.sh"
cd "$T"
command -v python3 > /dev/null || exit 77

# A value nested 300,000 levels deep inside a string with a line break,
# stored and acknowledged, is printed by consume and inspect (as a string).
python3 -c 'import json; print(json.dumps({"value":"["*300000+"\n"+"]"*300000}))' |
    "$M" produce -t pill --input envelope
"$M" consume -t pill -g g > out.json || fail "consume of a deeply nested string value crashed"
assert_eq 600002 "$(jq -r .value out.json | wc -c | tr -d ' ')" "the value printed as a string"
"$M" inspect -t pill --partition 0 --offset 0 --json > out.json ||
    fail "inspect --json of a deeply nested string value crashed"
jq -e '.value | type == "string"' out.json > /dev/null || fail "inspect: the value is not a string"

# A raw line of 300,000 nested brackets is stored as it is; consume prints
# it as a string, since it is deeper than any JSON line produce accepts.
python3 -c 'print("["*300000 + "]"*300000)' | "$M" produce -t deep --input raw
"$M" consume -t deep -g g | jq -e '.value | type == "string"' > /dev/null ||
    fail "a deep raw value is not printed as a string"

# Text with line breaks stored raw is printed on one line, as a string
# holding it exactly (it does not stand as one line of JSON).
printf '{"a":\r[1,\r2]}\n' | "$M" produce -t crlf --input raw
assert_eq '"{\"a\":\r[1,\r2]}"' "$("$M" consume -t crlf -g g | jq -c .value)" \
    "value with line breaks"
assert_eq 1 "$("$M" consume -t crlf -g g2 | wc -l | tr -d ' ')" "one line per record"

# An envelope value deeper than 512 levels is a bad line (exit 65), not a
# crash; the line before it stays stored; 511 levels inside the envelope
# object are accepted.
{
    echo '{"value":1}'
    python3 -c 'print("{\"value\":" + "["*300000 + "]"*300000 + "}")'
} | expect_exit 65 "$M" produce -t env --input envelope 2> err
grep -q "stdin line 2: invalid JSON: nested deeper than 512 levels" err || fail "depth: $(cat err)"
assert_eq 1 "$(count_records env)" "records before the deep envelope"
python3 -c 'print("{\"value\":" + "["*511 + "]"*511 + "}")' | "$M" produce -t env --input envelope
python3 -c 'print("["*513 + "]"*513)' | expect_exit 65 "$M" produce -t env2 2> /dev/null
python3 -c 'print("{\"k\":" + "["*600 + "]"*600 + "}")' |
    expect_exit 65 "$M" produce -t env2 --key-field k 2> /dev/null

# An envelope value is kept as written: member order, number spelling, spaces.
printf '{"value":{"b":1.50,"a":[1e2, "x"]}}\n' | "$M" produce -t env3 --input envelope
"$M" consume -t env3 -g g > out.json
grep -qF '"value":{"b":1.50,"a":[1e2, "x"]}}' out.json || fail "envelope value text: $(cat out.json)"

# A byte order mark at the start of a JSON line is removed, as jq does; the
# record is stored as JSON and consume's output is valid JSON. Two marks
# are a bad line; raw input keeps the mark and prints it inside a string.
printf '\xef\xbb\xbf{"a":1}\n' | "$M" produce -t bom
assert_eq '{"a":1}' "$("$M" consume -t bom -g g | jq -c .value)" "BOM line"
printf '\xef\xbb\xbf{"value":2}\n' | "$M" produce -t bom --input envelope
assert_eq 2 "$("$M" consume -t bom -g g | jq -c .value)" "BOM envelope"
expect_exit 65 "$M" produce -t bom 2> /dev/null < <(printf '\xef\xbb\xbf\xef\xbb\xbf{"a":1}\n')
printf '\xef\xbb\xbf{"a":1}\n' | "$M" produce -t bomraw --input raw
assert_eq '"\ufeff{\"a\":1}"' "$("$M" consume -t bomraw -g g | jq -c .value | sed 's/\xef\xbb\xbf/\\ufeff/')" \
    "BOM raw"

# --key-field numbers are keys as their JSON text.
printf '{"id":1.50}\n{"id":1e2}\n{"id":17}\n{"m":{"id":[0,{"n":-2.0}]}}\n' |
    "$M" produce -t keys --key-field id --skip-bad 2> /dev/null
assert_eq '1.50 1e2 17' "$("$M" consume -t keys -g g | jq -r .key | tr '\n' ' ' | sed 's/ $//')" \
    "number keys"
printf '{"m":{"id":[0,{"n":-2.0}]}}\n' | "$M" produce -t keys2 --key-field /m/id/1/n
assert_eq '-2.0' "$("$M" consume -t keys2 -g g | jq -r .key)" "number key through a pointer"

echo "hostile_json: ok"
