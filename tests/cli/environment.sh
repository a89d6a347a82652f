#!/usr/bin/env bash
# A hostile environment: closed standard descriptors never let output reach
# a data file; a failing standard output is exit 74 with nothing committed
# past what was written; an empty --dir is a usage error and a data
# directory that is a file an I/O error; commit honours --no-wait; a bad
# name inside a commit line is bad input, echoed without raw control bytes.
source "$(dirname "$0")/lib.sh"
cd "$T"

# With standard output or error closed, acks and diagnostics go nowhere,
# not into a partition's files.
seq 1 100 | "$M" produce -t t
seq 1 5 | "$M" produce -t t --ack >&-
"$M" verify-proof --all > /dev/null || fail "produce --ack with stdout closed damaged the partition"
(
    printf '{"a":1}\n'
    sleep 0.4
    printf 'bad\n'
) | "$M" --dir d2 produce -t t --skip-bad 2>&-
"$M" --dir d2 verify-proof --all > /dev/null ||
    fail "produce with stderr closed damaged the partition"
assert_eq 1 "$("$M" --dir d2 consume -t t -g g | wc -l | tr -d ' ')" "records with stderr closed"
"$M" consume -t t -g closed --max 3 >&- 0<&- 2>&-
"$M" verify-proof --all > /dev/null || fail "consume with every standard stream closed damaged data"

# Standard output failing (a full disk): exit 74, and nothing committed.
if [[ -w /dev/full ]]; then
    expect_exit 74 "$M" consume -t t -g full > /dev/full 2> err
    grep -q "writing standard output: No space left on device" err || fail "/dev/full: $(cat err)"
    assert_eq 105 "$("$M" consume -t t -g full | wc -l | tr -d ' ')" "records left for the group"
fi

# --dir '' is a usage error; it never falls back to $MERKQL_DIR.
expect_exit 2 "$M" --dir '' inspect 2> err
grep -q "must not be an empty string" err || fail "--dir '': $(cat err)"
expect_exit 2 "$M" --dir '' produce -t x 2> /dev/null < <(echo 1)
expect_exit 2 "$M" -d '' du 2> /dev/null

# A regular file as the data directory is an I/O error (74), not usage.
: > plain
expect_exit 74 "$M" --dir plain inspect 2> err
grep -q "plain: not a directory" err || fail "--dir file: $(cat err)"
echo 1 | MERKQL_DIR=$T/plain expect_exit 74 "$M" produce -t x 2> /dev/null

# A bad name inside a commit line is a bad input line (65, with its line
# number), and control characters of the name are escaped in the message.
printf '{"topic":"t","partition":0,"offset":1}\n{"topic":"../x","partition":0,"offset":1}\n' |
    expect_exit 65 "$M" commit -g c 2> err
grep -q "stdin line 2: not a consumed record: invalid topic name '../x'" err ||
    fail "bad name in a line: $(cat err)"
printf '{"topic":"\\u001b]0;pwn\\u0007","partition":0,"offset":1}\n' |
    expect_exit 65 "$M" commit -g c 2> err
grep -q $'\e' err && fail "a terminal escape from input reached stderr"
grep -qF "'\\x1b]0;pwn\\x07'" err || fail "escaped name: $(cat err)"
expect_exit 2 "$M" inspect -t $'a\e[31mb' 2> err
grep -q $'\e' err && fail "a terminal escape from the command line reached stderr"

# commit --no-wait with the group's lock held elsewhere: exit 75 at once.
if command -v flock > /dev/null; then
    "$M" commit -g locked -t t --partition 0 --offset 1
    (
        exec 9> "$MERKQL_DIR/groups/locked/LOCK"
        flock 9
        exec sleep 30
    ) &
    holder=$!
    BG_PIDS+=($holder)
    lock_held() { ! flock -n "$MERKQL_DIR/groups/locked/LOCK" true; }
    wait_for 10 lock_held || fail "the test could not take the lock"
    expect_exit 75 timeout 10 "$M" --no-wait commit -g locked -t t --partition 0 --offset 5 2> /dev/null
    echo '{"topic":"t","partition":0,"offset":7}' |
        expect_exit 75 timeout 10 "$M" --no-wait commit -g locked 2> /dev/null
    kill "$holder"
    wait "$holder" 2> /dev/null || true
fi
echo "environment: ok"
