#!/usr/bin/env bash
# merkql verify-proof consistency proofs: export, offline verification in an
# empty directory, tampering, refusals, and a rewritten history caught.
source "$(dirname "$0")/lib.sh"
cd "$T"

# envelope LINES: records i in [from, to) with fixed timestamps and a value
# naming the history they belong to.
envelope()
{ # envelope FROM TO HISTORY
    local i
    for ((i = $1; i < $2; ++i)); do
        printf '{"value":{"i":%d,"h":"%s"},"timestamp":"2024-05-01T12:%02d:%02dZ"}\n' \
            "$i" "$3" $((i / 60 % 60)) $((i % 60))
    done
}

# root_at DIR SIZE: the root of the tree of SIZE records of events/0 in DIR.
root_at()
{
    MERKQL_DIR=$1 "$M" verify-proof -t events --partition 0 --offset 0 --tree-size "$2" |
        jq -r .root
}

envelope 0 200 a | "$M" produce -t events --input envelope
"$M" verify-proof -t events --partition 0 --from-size 70 --to-size 150 --out c.json
"$M" verify-proof -t events --partition 0 --from-size 70 --to-size 150 > c2.json
cmp -s c.json c2.json || fail "--out and stdout differ"
assert_eq 1 "$(jq .version c.json)" "version"
assert_eq 70 "$(jq .from_size c.json)" "from_size"
assert_eq 150 "$(jq .to_size c.json)" "to_size"
jq -e '.hashes | all(test("^[0-9a-f]{64}$"))' c.json > /dev/null || fail "hash format"
r70=$(root_at "$MERKQL_DIR" 70)
r150=$(root_at "$MERKQL_DIR" 150)
r200=$("$M" inspect --json -t events | jq -r '.topics[0].partitions[0].root')

# Offline, in an empty directory with no data directory around.
empty=$(mktemp -d "$T/empty.XXXXXX")
cp c.json "$empty/"
(
    cd "$empty"
    unset MERKQL_DIR
    out=$("$M" verify-proof --consistency c.json --from-root "$r70" --to-root "$r150")
    assert_eq "consistency proof valid: the tree of 70 records with root $r70 is a prefix of the tree of 150 records with root $r150" \
        "$out" "verdict"
    "$M" verify-proof --consistency - --from-root "$r70" --to-root "$r150" < c.json > /dev/null
    [[ ! -e merkql-data ]] || fail "verify-proof created a data directory"
    [[ $(ls) == c.json ]] || fail "verify-proof wrote files"
)
# The default larger size is now.
"$M" verify-proof -t events --partition 0 --from-size 70 --out now.json
assert_eq 200 "$(jq .to_size now.json)" "default to_size"
"$M" verify-proof --consistency now.json --from-root "$r70" --to-root "$r200" > /dev/null

# Each kind of tampering is rejected with exit 1 and a reason.
flip_last='(.[0:63] + (if .[63:64] == "0" then "1" else "0" end))'
tamper()
{ # tamper WHAT JQ_FILTER EXPECTED_REASON
    jq "$2" c.json > t.json
    expect_exit 1 "$M" verify-proof --consistency t.json --from-root "$r70" --to-root "$r150" 2> err
    grep -q "merkql: proof invalid: $3" err || fail "$1: $(cat err)"
}
tamper "first hash" ".hashes[0] |= $flip_last" "the proof leads to root"
tamper "last hash" ".hashes[-1] |= $flip_last" "the proof leads to root"
tamper "from size" '.from_size = 71' ""
tamper "to size" '.to_size = 151' ""
tamper "hash removed" 'del(.hashes[0])' "a consistency proof from 70 to 150 records needs 8 hashes, not 7"
tamper "hash added" '.hashes += [.hashes[0]]' "a consistency proof from 70 to 150 records needs 8 hashes, not 9"
tamper "sizes swapped" '.from_size = 150 | .to_size = 70' "a consistency proof needs 1 <= from size <= to size"
tamper "upper-case hash" '.hashes[0] |= ascii_upcase' 'a member of "hashes" is not 64 lowercase'
tamper "version" '.version = 2' "unknown or missing consistency proof version"
tamper "size as text" '.from_size = "70"' 'missing or malformed member "from_size"'
expect_exit 1 "$M" verify-proof --consistency c.json --from-root "$r150" --to-root "$r150" 2> /dev/null
expect_exit 1 "$M" verify-proof --consistency c.json --from-root "$r70" --to-root "$r200" 2> /dev/null
echo '{"version":1' > broken.json
expect_exit 1 "$M" verify-proof --consistency broken.json --from-root "$r70" --to-root "$r150" 2> /dev/null
head -c 70000 /dev/zero | tr '\0' ' ' > big.json
expect_exit 1 "$M" verify-proof --consistency big.json --from-root "$r70" --to-root "$r150" 2> err
grep -q "larger than a consistency proof can be" err || fail "big file: $(cat err)"

# Bad sizes and options: clear refusals.
refuse()
{ # refuse CODE EXPECTED_MESSAGE ARGS...
    local code=$1 want=$2
    shift 2
    expect_exit "$code" "$M" verify-proof "$@" 2> err
    grep -q -- "$want" err || fail "verify-proof $*: $(cat err)"
}
refuse 66 "has 200 records, not 201" -t events --partition 0 --from-size 201
refuse 66 "has 200 records, not 300" -t events --partition 0 --from-size 5 --to-size 300
refuse 2 "cannot be a prefix" -t events --partition 0 --from-size 100 --to-size 50
refuse 2 "at least 1 record" -t events --partition 0 --from-size 0
refuse 2 "not a non-negative integer" -t events --partition 0 --from-size 1.5
refuse 2 "not a non-negative integer" -t events --partition 0 --from-size -3
refuse 2 "not a non-negative integer" -t events --partition 0 --from-size 5 --to-size x
refuse 2 "" -t events --partition 0 --to-size 5
refuse 2 "" -t events --partition 0 --from-size 5 --offset 3
refuse 2 "needs --from-root" --consistency c.json --to-root "$r150"
refuse 2 "not 64 hexadecimal digits" --consistency c.json --from-root xyz --to-root "$r150"
refuse 2 "" --consistency c.json --from-root "$r70" --to-root "$r150" -t events
refuse 66 "" --consistency nosuch.json --from-root "$r70" --to-root "$r150"
refuse 66 "" -t nosuch --partition 0 --from-size 1

# A rewritten history is caught. Two data directories get the same first K
# records, then different ones.
K=100
A=$T/history-a
B=$T/history-b
envelope 0 $K shared | MERKQL_DIR=$A "$M" produce -t events --input envelope
envelope 0 $K shared | MERKQL_DIR=$B "$M" produce -t events --input envelope
envelope $K 180 original | MERKQL_DIR=$A "$M" produce -t events --input envelope
envelope $K 180 rewritten | MERKQL_DIR=$B "$M" produce -t events --input envelope
a_now=$(root_at "$A" 180)
[[ $a_now != "$(root_at "$B" 180)" ]] || fail "the histories have the same root"
# Control: for M <= K, the second's proofs verify against the first's roots.
for m in 1 37 64 $K; do
    MERKQL_DIR=$B "$M" verify-proof -t events --partition 0 --from-size $m --out b.json
    (cd "$empty" && "$M" verify-proof --consistency "$T/b.json" --from-root "$(root_at "$A" $m)" \
        --to-root "$(root_at "$B" 180)" > /dev/null) || fail "control: M=$m does not verify"
done
# For M > K, no proof from the second verifies against the first's root at M.
for m in $((K + 1)) 128 150 179 180; do
    MERKQL_DIR=$B "$M" verify-proof -t events --partition 0 --from-size $m --out b.json
    expect_exit 1 "$M" verify-proof --consistency b.json --from-root "$(root_at "$A" $m)" \
        --to-root "$(root_at "$B" 180)" 2> err
    grep -q "merkql: proof invalid" err || fail "rewritten M=$m: $(cat err)"
done
# Nor does a proof from the first lead to the second's newer root.
MERKQL_DIR=$A "$M" verify-proof -t events --partition 0 --from-size 50 --out a.json
expect_exit 1 "$M" verify-proof --consistency a.json --from-root "$(root_at "$A" 50)" \
    --to-root "$(root_at "$B" 180)" 2> /dev/null
echo ok
