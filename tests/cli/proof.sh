#!/usr/bin/env bash
# merkql verify-proof: export, offline verification, tampering, --root,
# --all audit catching a flipped byte in stored data.
source "$(dirname "$0")/lib.sh"
cd "$T"

for i in $(seq 0 9); do echo "{\"i\":$i,\"payload\":\"record-number-$i\"}"; done |
    "$M" produce -t events --compression none
"$M" verify-proof -t events --partition 0 --offset 5 --out p.json
"$M" verify-proof -t events --partition 0 --offset 5 > p2.json
cmp -s p.json p2.json || fail "--out and stdout differ"
root=$("$M" inspect --json -t events | jq -r '.topics[0].partitions[0].root')
assert_eq "$root" "$(jq -r .root p.json)" "proof root = inspect root"
assert_eq 10 "$(jq .tree_size p.json)" "tree_size"
assert_eq 1 "$(jq .version p.json)" "version"

# Offline, in an empty directory with no data directory around.
empty=$(mktemp -d "$T/empty.XXXXXX")
cp p.json "$empty/"
(
    cd "$empty"
    unset MERKQL_DIR
    out=$("$M" verify-proof --proof p.json)
    [[ $out == "proof valid: offset 5 of events/0 is in the tree of 10 records with root $root"* ]] ||
        fail "verdict: $out"
    "$M" verify-proof --proof p.json --root "$root" > /dev/null
    "$M" verify-proof --proof - < p.json > /dev/null
    [[ ! -e merkql-data ]] || fail "verify-proof created a data directory"
    [[ $(ls) == p.json ]] || fail "verify-proof wrote files"
)

# Each kind of tampering is rejected with exit 1 and a reason.
tamper()
{ # tamper WHAT JQ_FILTER EXPECTED_REASON
    jq "$2" p.json > t.json
    expect_exit 1 "$M" verify-proof --proof t.json 2> err
    grep -q "merkql: proof invalid: $3" err || fail "$1: $(cat err)"
}
tamper "value byte" '.record.value |= sub("number-5"; "number-6")' "record hash does not match"
tamper "key" '.record.key = "k"' "record hash does not match"
tamper "timestamp" '.record.timestamp = "2020-01-01T00:00:00Z"' "record hash does not match"
tamper "offset" '.offset = 4' "record hash does not match"
tamper "sibling hash" '.siblings[0].hash |= (.[0:63] + (if .[63:64] == "0" then "1" else "0" end))' \
    "the siblings do not lead"
tamper "root" '.root |= (.[0:63] + (if .[63:64] == "0" then "1" else "0" end))' "the siblings do not lead"
tamper "side" '.siblings[0].side |= (if . == "Left" then "Right" else "Left" end)' ""
tamper "leaf hash" '.leaf_hash = .record_hash' "leaf hash"
tamper "tree size" '.tree_size = 11' ""
tamper "sibling removed" 'del(.siblings[0])' ""
tamper "version" '.version = 2' "unknown or missing proof version"
# A different (valid-looking) trusted root.
expect_exit 1 "$M" verify-proof --proof p.json --root "$(printf '%064d' 0)" 2> err
grep -q "not to the given root" err || fail "--root mismatch: $(cat err)"
# Malformed proofs are verification failures; a missing file is 66.
echo '{"version":1' > broken.json
expect_exit 1 "$M" verify-proof --proof broken.json 2> /dev/null
echo '[]' > broken.json
expect_exit 1 "$M" verify-proof --proof broken.json 2> /dev/null
expect_exit 66 "$M" verify-proof --proof nosuch.json 2> /dev/null
expect_exit 2 "$M" verify-proof --proof p.json --root xyz 2> /dev/null
expect_exit 2 "$M" verify-proof 2> /dev/null
expect_exit 2 "$M" verify-proof --proof p.json --all 2> /dev/null
expect_exit 2 "$M" verify-proof --root "$root" 2> /dev/null
expect_exit 66 "$M" verify-proof -t events --partition 0 --offset 10 2> /dev/null
expect_exit 66 "$M" verify-proof -t events --partition 1 --offset 0 2> /dev/null
expect_exit 66 "$M" verify-proof -t nosuch --partition 0 --offset 0 2> /dev/null

# A proof against a past size verifies against the root published then.
old_root=$(jq -r .root p.json)
old_size=$(jq -r .tree_size p.json)
seq 100 102 | "$M" produce -t events
"$M" verify-proof -t events --partition 0 --offset 2 --tree-size "$old_size" --out past.json
assert_eq "$old_size" "$(jq -r .tree_size past.json)" "--tree-size in the proof"
(cd "$empty" && "$M" verify-proof --proof "$T/past.json" --root "$old_root" > /dev/null) ||
    fail "a proof against a past size does not verify against the root of that size"
expect_exit 66 "$M" verify-proof -t events --partition 0 --offset "$old_size" --tree-size "$old_size" 2> /dev/null
expect_exit 66 "$M" verify-proof -t events --partition 0 --offset 0 --tree-size 100000 2> /dev/null
expect_exit 2 "$M" verify-proof --proof p.json --tree-size 3 2> /dev/null

# A proof stays valid after more records are appended.
seq 1 5 | "$M" produce -t events
"$M" verify-proof --proof p.json --root "$root" > /dev/null

# Audit: intact, then a flipped byte inside a record's payload.
seq 1 3 | "$M" produce -t other --partitions 2
out=$("$M" verify-proof --all)
grep -q "^events/0: ok, 18 records checked" <<< "$out" || fail "audit: $out"
grep -q "^other/1: ok" <<< "$out" || fail "audit: $out"
grep -q "^other/0: ok" <<< "$("$M" verify-proof --all -t other)" || fail "audit --topic"
grep -q "^events" <<< "$("$M" verify-proof --all -t other)" && fail "audit --topic shows other topics"
# A torn, never acknowledged tail (as a crash mid-write leaves it) is reported
# and is not a failure; the audit, inspect and du leave it on disk.
other_log=$MERKQL_DIR/topics/other/0/00000000.log
printf 'torn-batch-bytes-torn-batch-bytes-torn' >> "$other_log"
size_before=$(stat -c %s "$other_log")
out=$("$M" verify-proof --all -t other) || fail "a torn tail failed the audit: $out"
grep -q "^other/0: torn unacknowledged tail of 38 bytes (not a failure)" <<< "$out" ||
    fail "torn tail not reported: $out"
"$M" inspect > /dev/null
"$M" du > /dev/null
assert_eq "$size_before" "$(stat -c %s "$other_log")" "looking changed the log"
# The next writer cuts it.
echo 4 | "$M" produce -t other --partition 0
out=$("$M" verify-proof --all -t other)
grep -q "torn" <<< "$out" && fail "tail not cut by the next writer: $out"

log=$MERKQL_DIR/topics/events/0/00000000.log
pos=$(grep -abo 'record-number-3' "$log" | head -1 | cut -d: -f1)
[[ -n $pos ]] || fail "payload not found in the log"
printf 'X' | dd of="$log" bs=1 seek="$pos" conv=notrunc status=none
expect_exit 1 "$M" verify-proof --all > audit.out 2> audit.err
grep -q "^events/0: MISMATCH" audit.out || fail "audit output: $(cat audit.out)"
grep -q "^other/0: ok" audit.out || fail "audit stops early: $(cat audit.out)"
expect_exit 0 "$M" verify-proof --all -t other > /dev/null
expect_exit 66 "$M" verify-proof --all -t nosuch 2> /dev/null
echo "proof: ok"
