#!/usr/bin/env bash
# A full disk: produce stops with exit 74 and a clear message; every record it
# acknowledged is stored and the log audits clean; once space is freed the
# same topic takes writes again. Needs a small tmpfs (root); skipped (77)
# where mounting is not allowed.
source "$(dirname "$0")/lib.sh"
cd "$T"

mkdir small
if ! mount -t tmpfs -o size=3m tmpfs small 2> /dev/null; then
    echo "disk_full: cannot mount a tmpfs here: skipped"
    exit 77
fi
trap 'umount "$T/small" 2> /dev/null || true; cleanup' EXIT
export MERKQL_DIR=$T/small/data

# Incompressible values of about 1 KB, far more than fit.
head -c 8000000 /dev/urandom | base64 -w 1000 | sed 's/.*/"&"/' > values.jsonl
rc=0
"$M" produce -t t --compression none --batch 50 --ack < values.jsonl > acks 2> err || rc=$?
assert_eq 74 "$rc" "exit status on a full disk"
grep -q "No space left on device" err || fail "message: $(cat err)"
acked=$(grep -c '"hash"' acks || true)
[[ $acked -gt 100 ]] || fail "only $acked records acknowledged before the disk filled"

stored=$("$M" consume -t t -g check --no-commit | wc -l | tr -d ' ')
[[ $stored -ge $acked ]] || fail "stored $stored < acknowledged $acked"
"$M" verify-proof --all > audit || fail "audit after a full disk: $(cat audit)"
last=$(tail -n 1 acks)
offset=$(jq -r .offset <<< "$last")
assert_eq "$(jq -r .hash <<< "$last")" \
    "$("$M" inspect -t t --partition 0 --offset "$offset" --json | jq -r .record_hash)" \
    "last acknowledged record"

# More space: the topic takes writes again, after the last stored record.
mount -o remount,size=32m "$T/small"
echo '"after"' | "$M" produce -t t --ack > more
assert_eq "$stored" "$(jq -r .offset more)" "offset after the disk was full"
"$M" verify-proof --all > /dev/null
echo "disk_full: ok ($acked records acknowledged before the disk filled)"
