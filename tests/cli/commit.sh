#!/usr/bin/env bash
# merkql commit: from consumed lines on stdin, explicit offsets, --reset.
source "$(dirname "$0")/lib.sh"
cd "$T"

seq 0 19 | "$M" produce -t t --partitions 2
committed()
{ # committed GROUP PARTITION
    "$M" inspect --json -t t | jq ".groups[] | select(.name==\"$1\") | .offsets[] | select(.partition==$2) | .committed"
}

# Pipeline: commit only what got through the filter (highest offset + 1).
"$M" consume -t t -g g --no-commit | jq -c 'select(.value < 6)' | "$M" commit -g g
assert_eq "3 3" "$(committed g 0) $(committed g 1)" "stdin commit"
assert_eq 14 "$("$M" consume -t t -g g | wc -l | tr -d ' ')" "rest after stdin commit"
# Lines that are not records: exit 65, earlier lines still committed.
printf '{"topic":"t","partition":0,"offset":4}\nnot json\n{"topic":"t","partition":1,"offset":9}\n' |
    expect_exit 65 "$M" commit -g bad 2> err
grep -q "stdin line 2: invalid JSON" err || fail "message: $(cat err)"
assert_eq 5 "$(committed bad 0)" "committed before the bad line"
expect_exit 65 "$M" commit -g bad 2> /dev/null < <(printf '{"topic":"t","partition":0}\n')
expect_exit 66 "$M" commit -g bad 2> /dev/null < <(printf '{"topic":"t","partition":7,"offset":1}\n')
expect_exit 66 "$M" commit -g bad 2> /dev/null < <(printf '{"topic":"nosuch","partition":0,"offset":1}\n')
# Follow pipeline: commits as lines arrive, while its input is still open
# (the input ends only once the test has seen the commit).
{
    echo '{"topic":"t","partition":1,"offset":2}'
    while [[ ! -e input-may-end ]]; do sleep 0.05; done
} | "$M" commit -g live &
live_pid=$!
BG_PIDS+=($live_pid)
has_commit() { [[ $(committed live 1) == 3 ]]; }
wait_for 20 has_commit || fail "commit did not commit as it went"
kill -0 "$live_pid" 2> /dev/null || fail "commit had already ended: the commit was not made as it went"
touch input-may-end
wait "$live_pid" || fail "commit failed when its input ended"

# Explicit offsets.
"$M" commit -g e -t t --partition 1 --offset 7
assert_eq 7 "$(committed e 1)" "--partition --offset"
assert_eq 3 "$("$M" consume -t t -g e | jq "select(.partition==1)" -c | wc -l | tr -d " ")" "consume after explicit commit (p1: 7..9)"
# --reset earliest / latest.
"$M" commit -g r -t t --reset latest
assert_eq "10 10" "$(committed r 0) $(committed r 1)" "--reset latest"
assert_eq 0 "$("$M" consume -t t -g r | wc -l | tr -d ' ')" "nothing after --reset latest"
"$M" commit -g r -t t --reset earliest
assert_eq "0 0" "$(committed r 0) $(committed r 1)" "--reset earliest"
# With retention, earliest is the watermark.
seq 1 10 | "$M" produce -t ret --retention-records 4
"$M" commit -g r -t ret --reset earliest
assert_eq 6 "$("$M" inspect --json -t ret | jq '.groups[] | select(.name=="r") | .offsets[0].committed')" "earliest = watermark"

# Usage errors and missing things.
expect_exit 2 "$M" commit < /dev/null 2> /dev/null
expect_exit 2 "$M" commit -g g -t t < /dev/null 2> /dev/null
expect_exit 2 "$M" commit -g g -t t --partition 0 2> /dev/null
expect_exit 2 "$M" commit -g g -t t --offset 0 2> /dev/null
expect_exit 2 "$M" commit -g g --partition 0 --offset 0 2> /dev/null
expect_exit 2 "$M" commit -g g -t t --reset latest --partition 0 --offset 1 2> /dev/null
expect_exit 2 "$M" commit -g g -t t --reset middle 2> /dev/null
expect_exit 2 "$M" commit -g 'no good' -t t --reset latest 2> /dev/null
expect_exit 66 "$M" commit -g g -t nosuch --reset latest 2> /dev/null
expect_exit 66 "$M" commit -g g -t t --partition 2 --offset 0 2> /dev/null
expect_exit 66 "$M" --dir "$T/missing" commit -g g -t t --reset latest 2> /dev/null
echo "commit: ok"
