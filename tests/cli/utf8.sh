#!/usr/bin/env bash
# Keys and values are UTF-8 text: a --key of other bytes is refused before
# anything is stored; a non-ASCII key prints identically in consume,
# inspect --json and an exported proof, and that proof verifies offline.
source "$(dirname "$0")/lib.sh"
cd "$T"

# --key with bytes that are not UTF-8: exit 65, nothing stored, no topic.
expect_exit 65 "$M" produce -t bad --key $'\xff\xfe' <<< '{"a":1}' 2> err
grep -q -- "--key '\\\\xff\\\\xfe': not valid UTF-8" err || fail "--key message: $(cat err)"
[[ ! -e $MERKQL_DIR ]] || [[ -z $("$M" inspect --json | jq -r '.topics[].name') ]] ||
    fail "a topic was created for a refused --key"
expect_exit 66 "$M" inspect -t bad 2> /dev/null
# Also into an existing topic: nothing is appended.
echo '{"a":0}' | "$M" produce -t t
expect_exit 65 "$M" produce -t t --key $'a\xc0\xafb' <<< '{"a":1}' 2> /dev/null
assert_eq 1 "$(count_records t)" "records after a refused --key"

# A UTF-8 key beyond ASCII prints the same everywhere.
key=$'clé-€-😀 "q"\t'
echo '{"a":"é"}' | "$M" produce -t t --key "$key"
consumed=$("$M" consume -t t -g g --no-commit | tail -n 1)
assert_eq "$key" "$(jq -j .key <<< "$consumed")" "consume key"
assert_eq '{"a":"é"}' "$(jq -c .value <<< "$consumed")" "consume value"
# The key's JSON text is the same bytes in consume and inspect --json.
key_json=$(jq -c .key <<< "$consumed")
grep -qF -- "\"key\":$key_json" <<< "$consumed" || fail "consume key text: $consumed"
inspected=$("$M" inspect --json -t t --partition 0 --offset 1)
grep -qF -- "\"key\":$key_json" <<< "$inspected" || fail "inspect key text: $inspected"
assert_eq "$key" "$(jq -j .key <<< "$inspected")" "inspect key"

"$M" verify-proof -t t --partition 0 --offset 1 --out p.json
assert_eq "$key" "$(jq -j .record.key p.json)" "proof key"
grep -qF -- "\"key\": $key_json" p.json || fail "proof key text: $(cat p.json)"
root=$("$M" inspect --json -t t | jq -r '.topics[0].partitions[0].root')
empty=$(mktemp -d "$T/empty.XXXXXX")
cp p.json "$empty/"
(
    cd "$empty"
    unset MERKQL_DIR
    "$M" verify-proof --proof p.json --root "$root" > out
    grep -q "^proof valid: offset 1 of t/0" out || fail "verdict: $(cat out)"
)

# The hex form of the same key verifies too (the record hash decides).
hex=$(printf '%s' "$key" | od -An -tx1 | tr -d ' \n')
jq --arg h "$hex" '.record |= (del(.key) | .key_hex = $h)' p.json > hex.json
"$M" verify-proof --proof hex.json --root "$root" > /dev/null || fail "key_hex proof"
jq '.record.key_hex = "ff"' p.json > both.json
expect_exit 1 "$M" verify-proof --proof both.json 2> err
grep -q 'malformed member "record.key"' err || fail "key and key_hex: $(cat err)"

# A record an earlier build could store, key FF FE and a value with a byte
# 80: its proof carries the bytes as key_hex/value_hex and verifies (hashes
# computed independently from docs/FORMAT.md §Record hash).
cat > legacy.json << 'JSON'
{
  "version": 1,
  "topic": "legacy",
  "partition": 0,
  "offset": 0,
  "tree_size": 1,
  "record": {
    "key_hex": "fffe",
    "value_hex": "6c656761637920802076616c7565",
    "timestamp": "2023-11-14T22:13:20Z"
  },
  "record_hash": "c2a2fa5f36833e670a63673f2f2079aa6302f54fefde84872f48fe69dc721080",
  "leaf_hash": "3937de094d3610a69d31cb79087c0cb5b708acaac149c3dad52dbeabaf886afa",
  "siblings": [],
  "root": "3937de094d3610a69d31cb79087c0cb5b708acaac149c3dad52dbeabaf886afa"
}
JSON
"$M" verify-proof --proof legacy.json \
    --root 3937de094d3610a69d31cb79087c0cb5b708acaac149c3dad52dbeabaf886afa > out ||
    fail "legacy proof: $(cat out)"
jq '.record.value_hex = "6c656761637920802076616c7565"' legacy.json > legacy2.json
cmp -s legacy.json legacy2.json || fail "value_hex is not the exact bytes"
jq '.record.key_hex = "fffd"' legacy.json > legacy3.json
expect_exit 1 "$M" verify-proof --proof legacy3.json 2> err
grep -q "record hash does not match" err || fail "tampered key_hex: $(cat err)"
echo "utf8: ok"
