#!/usr/bin/env bash
# docs/AUDIT.md's walk-through, run as written: every ```sh block of the
# document, in order, in one shell, with this build's merkql first on PATH.
# Checks that each step printed what the document says it prints.
source "$(dirname "$0")/lib.sh"
doc="$(cd "$(dirname "$0")/../.." && pwd)/docs/AUDIT.md"
bin_dir=$(mktemp -d)
ln -s "$(cd "$(dirname "$M")" && pwd)/$(basename "$M")" "$bin_dir/merkql"
cd "$T"

awk '/^```sh$/ {on = 1; next} /^```$/ {on = 0} on' "$doc" > walkthrough.sh
[[ $(grep -c '^merkql\|^cd\|^seq\|^mkdir\|^sed\|^cat' walkthrough.sh) -ge 12 ]] ||
    fail "fewer commands than expected in AUDIT.md: $(cat walkthrough.sh)"
PATH="$bin_dir:$PATH" bash -u walkthrough.sh > out 2> err || fail "walk-through failed: $(cat err)"
rm -rf "$bin_dir"

grep -q '^example.com/sensors/readings/0$' out || fail "no checkpoint origin line: $(cat out)"
assert_eq 1 "$(grep -c '^checkpoint valid: signed by example.com/sensors+' out)" "checkpoint verified"
grep -q '^size 150$' out || fail "checkpoint size: $(cat out)"
grep -q '^consistency proof valid: the tree of 100 records' out ||
    fail "consistency not verified: $(cat out) $(cat err)"
grep -q "^proof valid: offset 120 of readings/0 is in the tree of 150 records with root [0-9a-f]\{64\} (the checkpoint's root)$" out ||
    fail "inclusion not verified against the checkpoint: $(cat out) $(cat err)"
assert_eq 2 "$(grep -c '^refused, exit 1$' out)" "tampered evidence refused with exit 1"
[[ ! -e auditor/data ]] || fail "the auditor's checks created a data directory"

# Beyond the document: the combined modes' refusals.
cd auditor
expect_exit 1 "$M" verify-proof --proof record-120.json --checkpoint checkpoint-100 \
    --key operator.pub 2> err
grep -q "the checkpoint's tree has 100" err || fail "size mismatch message: $(cat err)"
sed '2s/.*/151/' checkpoint-150 > altered
expect_exit 1 "$M" verify-proof --proof record-120.json --checkpoint altered --key operator.pub \
    2> /dev/null
expect_exit 1 "$M" verify-proof --consistency consistency-100-150.json \
    --from-checkpoint checkpoint-100 --to-checkpoint altered --key operator.pub 2> /dev/null
"$M" keygen --name other.example --out other > /dev/null
expect_exit 1 "$M" verify-proof --consistency consistency-100-150.json \
    --from-checkpoint checkpoint-100 --to-checkpoint checkpoint-150 --key other.pub 2> /dev/null
expect_exit 2 "$M" verify-proof --all --key operator.pub 2> /dev/null
expect_exit 2 "$M" verify-proof --consistency consistency-100-150.json \
    --from-checkpoint checkpoint-100 --key operator.pub 2> /dev/null
cd ..
echo "audit_doc: ok"
