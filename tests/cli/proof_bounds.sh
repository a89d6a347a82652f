#!/usr/bin/env bash
# verify-proof --proof reads an untrusted file: it stops at the first bound
# a valid proof never crosses (siblings, topic length, size) with exit 1 and
# memory that does not grow with the file; the sibling-count message says
# which number is which; a directory or an unreadable file is an I/O error.
source "$(dirname "$0")/lib.sh"
cd "$T"
command -v python3 > /dev/null || exit 77

seq 1 200 | "$M" produce -t t --compression none
"$M" verify-proof -t t --partition 0 --offset 5 --out p.json
"$M" verify-proof --proof p.json > /dev/null

# peak_kib CMD...: runs CMD, prints its peak resident memory in KiB.
peak_kib()
{
    python3 - "$@" << 'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}

# 200,000 extra siblings (about 17 MiB): rejected at the 65th.
python3 - << 'PY'
import json
p = json.load(open("p.json"))
p["siblings"] += [p["siblings"][0]] * 200000
json.dump(p, open("many.json", "w"))
PY
expect_exit 1 "$M" verify-proof --proof many.json 2> err
grep -q "proof invalid: more than 64 siblings" err || fail "many siblings: $(cat err)"

# A 16 MiB topic string: rejected after 249 bytes.
python3 - << 'PY'
import json
p = json.load(open("p.json"))
p["topic"] = "t" * (16 << 20)
json.dump(p, open("topic.json", "w"))
PY
expect_exit 1 "$M" verify-proof --proof topic.json 2> err
grep -q "proof invalid: the topic is longer than 249 bytes" err || fail "long topic: $(cat err)"

# 16 MiB of an unknown member: rejected after 1 MiB.
python3 - << 'PY'
import json
p = json.load(open("p.json"))
p["padding"] = [0] * (8 << 20)
json.dump(p, open("padded.json", "w"))
PY
expect_exit 1 "$M" verify-proof --proof padded.json 2> err
grep -q "proof invalid: the document is larger than a proof can be" err || fail "padding: $(cat err)"

# None of them costs memory in proportion to its size (the valid proof is
# the baseline; a whole-file parse takes hundreds of MiB).
if [[ -z ${MERKQL_SANITIZED:-} ]]; then
    base=$(peak_kib "$M" verify-proof --proof p.json)
    for f in many.json topic.json padded.json; do
        peak=$(peak_kib "$M" verify-proof --proof "$f")
        ((peak < base + 16384)) || fail "$f: peak RSS ${peak} KiB against ${base} KiB for a valid proof"
    done
fi

# The sibling-count message: the tree's count first, the proof's second.
jq '.siblings += [.siblings[0]]' p.json > extra.json
n=$(jq '.siblings | length' p.json)
expect_exit 1 "$M" verify-proof --proof extra.json 2> err
grep -q "records needs $n siblings, not $((n + 1))" err || fail "sibling count message: $(cat err)"

# A directory, or a file that cannot be read, is an I/O error (74).
mkdir adir
expect_exit 74 "$M" verify-proof --proof adir 2> err
grep -q "adir: Is a directory" err || fail "directory: $(cat err)"
expect_exit 74 "$M" verify-proof --proof - < adir 2> /dev/null
if [[ $(id -u) != 0 ]]; then
    cp p.json secret.json
    chmod 000 secret.json
    expect_exit 74 "$M" verify-proof --proof secret.json 2> /dev/null
fi
echo "proof_bounds: ok"
