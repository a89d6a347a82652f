#!/usr/bin/env bash
# A topic of more partitions than the process may open files: inspect,
# consume (as a group member owning every partition), commit, du and the
# audit all work under a small descriptor limit, because idle files are
# closed and a member holds one owner lock per topic.
source "$(dirname "$0")/lib.sh"
cd "$T"

seq 1 2000 | "$M" produce -t wide --partitions 400
(
    ulimit -n 64
    "$M" inspect > inspect.out || fail "inspect under ulimit -n 64"
    [[ $(grep -c '^ *[0-9]' inspect.out) -ge 400 ]] || fail "inspect did not list 400 partitions"
    "$M" consume -t wide -g g > consumed.out || fail "consume under ulimit -n 64"
    assert_eq 2000 "$(wc -l < consumed.out)" "records consumed"
    assert_eq 2000 "$(jq -r .value consumed.out | sort -un | wc -l)" "distinct records"
    "$M" consume -t wide -g g > again.out || fail "second consume"
    assert_eq 0 "$(wc -l < again.out)" "records after the commit"
    "$M" du > /dev/null || fail "du under ulimit -n 64"
    "$M" verify-proof --all > audit.out || fail "audit under ulimit -n 64"
    grep -q "400 partitions verified" audit.out || fail "audit did not verify 400 partitions"
)
echo "many_partitions: ok"
