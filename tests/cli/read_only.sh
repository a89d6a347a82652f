#!/usr/bin/env bash
# The commands that only look (inspect, du, verify-proof) open everything
# read-only and create nothing: they work on a read-only mount, and on damaged
# or never-written partitions they leave every file exactly as it was. Writers
# on a read-only mount fail with exit 74 and a clear message. Needs a tmpfs
# (root); skipped (77) where mounting is not allowed.
source "$(dirname "$0")/lib.sh"
cd "$T"

mkdir ro
if ! mount -t tmpfs -o size=16m tmpfs ro 2> /dev/null; then
    echo "read_only: cannot mount a tmpfs here: skipped"
    exit 77
fi
trap 'umount "$T/ro" 2> /dev/null || true; cleanup' EXIT
export MERKQL_DIR=$T/ro/data

seq 1 300 | "$M" produce -t t --partitions 3
echo '{"x":1}' | "$M" produce -t empty --partitions 4 --partition 0
"$M" consume -t t -g g --max 10 > /dev/null
find "$MERKQL_DIR" -printf '%p %s %T@\n' | sort > before
mount -o remount,ro "$T/ro"

"$M" inspect > /dev/null || fail "inspect on a read-only mount"
"$M" inspect --json | jq -e '.topics | length == 2' > /dev/null || fail "inspect --json"
"$M" inspect -t t --partition 1 --offset 5 --json > /dev/null || fail "inspect --offset"
"$M" du > /dev/null || fail "du on a read-only mount"
"$M" verify-proof --all > audit || fail "audit on a read-only mount: $(cat audit)"
"$M" verify-proof -t t --partition 2 --offset 7 > proof.json || fail "proof export"
"$M" verify-proof --proof proof.json > /dev/null || fail "proof check"
rc=0
echo 1 | "$M" produce -t t 2> err || rc=$?
assert_eq 74 "$rc" "produce on a read-only mount"
grep -q "Read-only file system" err || fail "produce message: $(cat err)"
rc=0
"$M" commit -g g -t t --partition 0 --offset 1 2> err || rc=$?
assert_eq 74 "$rc" "commit on a read-only mount"

mount -o remount,rw "$T/ro"
find "$MERKQL_DIR" -printf '%p %s %T@\n' | sort > after
diff before after > /dev/null || fail "the read-only commands changed the directory: $(diff before after)"

# Damage: looking reports it and repairs, creates or rewrites nothing.
: > "$MERKQL_DIR/topics/t/0/INDEX"
rm "$MERKQL_DIR/topics/t/1/HEAD"
find "$MERKQL_DIR" -printf '%p %s %T@\n' | sort > before
"$M" inspect > /dev/null 2>&1 || true
"$M" du > /dev/null 2>&1 || true
rc=0
"$M" verify-proof --all > audit 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "the audit passed a damaged INDEX and a lost HEAD: $(cat audit)"
find "$MERKQL_DIR" -printf '%p %s %T@\n' | sort > after
diff before after > /dev/null || fail "looking changed a damaged directory: $(diff before after)"
echo "read_only: ok"
