#!/usr/bin/env bash
# A key plus value over the 256 MiB a record holds, made by --key-field
# taking a 130 MiB key from a 130 MiB line: a bad line (exit 65, with its
# line number), checked before the record is built, and the good line
# before it stays stored and acknowledged.
source "$(dirname "$0")/lib.sh"
cd "$T"

{
    echo '{"k":"small"}'
    printf '{"k":"'
    head -c $((130 << 20)) /dev/zero | tr '\0' 'a'
    printf '"}\n'
} | expect_exit 65 "$M" produce -t huge --key-field k --max-record-bytes 268435456 --ack \
    > acks 2> err
grep -q "stdin line 2: key and value of .* larger than the 268435456 byte limit" err ||
    fail "key plus value over the limit: $(cat err)"
assert_eq 1 "$(wc -l < acks | tr -d ' ')" "acknowledged before the oversized line"
assert_eq 1 "$(count_records huge)" "stored before the oversized line"
echo "large_record: ok"
