#!/usr/bin/env bash
# Feedback on a terminal: progress lines of produce, consume and verify-proof --all,
# and the notice of a wait for another process's lock, shown when standard
# error is a terminal (driven through script(1), which gives the command a
# pseudo-terminal), never when it is a file or a pipe, nor with
# --no-progress.
source "$(dirname "$0")/lib.sh"
cd "$T"
command -v script > /dev/null || { echo "progress: script(1) not found: skipped"; exit 77; }
command -v flock > /dev/null || { echo "progress: flock(1) not found: skipped"; exit 77; }

# on_terminal COMMAND: runs the shell command with standard input, output
# and error on a new terminal; prints what the terminal received.
on_terminal()
{
    script -qec "$1" /dev/null < /dev/null
}

seq 1 20000 | sed 's/.*/{"n":&}/' > in.json # 228,894 bytes: 224K

# produce from a file: records, bytes of the file and percentage.
on_terminal "'$M' produce -t t < in.json" > tty.txt
grep -aq "merkql: produce: [0-9]* records, [0-9.]*K\? of 224K ([0-9]*%)" tty.txt ||
    fail "no produce progress on a terminal: $(tr '\r' '\n' < tty.txt | head -3)"
# The line is erased at the end: the terminal's last bytes are spaces
# between two carriage returns.
[[ $(tail -c 1 tty.txt | od -An -c | tr -d ' ') == '\r' ]] || fail "progress line not erased"
assert_eq 20000 "$(count_records t)" "records produced on a terminal"

# Never when standard error is a file or a pipe, even with the output on
# the terminal.
on_terminal "'$M' produce -t t < in.json 2> err.txt" > tty.txt
[[ ! -s err.txt ]] || fail "progress written to a file: $(head -c 200 err.txt)"
! grep -aq "merkql: produce" tty.txt || fail "progress on the terminal with stderr in a file"
"$M" produce -t t < in.json 2>&1 | cat > pipe.txt
[[ ! -s pipe.txt ]] || fail "progress written to a pipe: $(head -c 200 pipe.txt)"
# Not with --no-progress, given before or after the command.
on_terminal "'$M' produce -t t --no-progress < in.json" > tty.txt
! grep -aq "merkql: produce" tty.txt || fail "progress with --no-progress"
on_terminal "'$M' --no-progress produce -t t < in.json" > tty.txt
! grep -aq "merkql: produce" tty.txt || fail "progress with --no-progress before the command"

# consume of a backlog into a file: records written of the backlog; not
# when the records themselves go to the terminal, nor into a file.
on_terminal "'$M' consume -t t > out.json" > tty.txt
grep -aq "merkql: consume: [0-9]* of 100000 records ([0-9]*%)" tty.txt ||
    fail "no consume progress on a terminal: $(tr '\r' '\n' < tty.txt | head -3)"
assert_eq 100000 "$(wc -l < out.json)" "records consumed with progress shown"
on_terminal "'$M' consume -t t --max 3" > tty.txt
! grep -aq "merkql: consume:" tty.txt || fail "consume progress mixed with records on the terminal"
"$M" consume -t t 2> err.txt > out.json
[[ ! -s err.txt ]] || fail "consume progress written to a file: $(head -c 200 err.txt)"

# verify-proof --all: the partition being audited.
echo '{"n":1}' | "$M" produce -t other
on_terminal "'$M' verify-proof --all" > tty.txt
grep -aq "merkql: verify-proof --all: t/0: " tty.txt || fail "no audit progress for t/0: $(cat -A tty.txt | head -c 600)"
grep -aq "merkql: verify-proof --all: other/0: " tty.txt || fail "no audit progress for other/0"
grep -aq "audit ok: 2 partitions verified" tty.txt || fail "audit result missing"
"$M" verify-proof --all 2> err.txt > out.txt
[[ ! -s err.txt ]] || fail "audit progress written to a file: $(head -c 200 err.txt)"

# A wait for a lock held by another process (flock(1) on the group's lock
# file, which merkql locks with flock(2) too): said once on a terminal.
"$M" consume -t t -g g --max 1 > /dev/null
lock=$MERKQL_DIR/groups/g/LOCK
[[ -f $lock ]] || fail "no group lock file at $lock"
hold_lock()
{ # hold_lock SECONDS: another process holds the group lock that long
    flock "$lock" sleep "$1" &
    BG_PIDS+=($!)
    wait_for 10 bash -c "! flock -n '$lock' true"
}
hold_lock 1
on_terminal "'$M' commit -g g -t t --reset earliest; echo exit=\$?" > tty.txt
grep -aq "merkql: waiting for the lock on .*groups/g/LOCK held by another process" tty.txt ||
    fail "no lock-wait notice: $(cat tty.txt)"
[[ $(grep -ac "waiting for the lock" tty.txt) == 1 ]] || fail "lock-wait notice not said once"
grep -aq "exit=0" tty.txt || fail "commit after the wait failed: $(cat tty.txt)"
wait "${BG_PIDS[-1]}"
hold_lock 1
"$M" commit -g g -t t --reset earliest 2> err.txt
[[ ! -s err.txt ]] || fail "lock-wait notice written to a file: $(cat err.txt)"
wait "${BG_PIDS[-1]}"
# A free lock: no notice.
on_terminal "'$M' commit -g g -t t --reset earliest" > tty.txt
! grep -aq "waiting for the lock" tty.txt || fail "notice for a free lock"
# --no-wait still fails at once, without a notice.
hold_lock 2
on_terminal "'$M' --no-wait commit -g g -t t --reset earliest; echo exit=\$?" > tty.txt
grep -aq "exit=75" tty.txt || fail "--no-wait on a held lock: $(cat tty.txt)"
! grep -aq "waiting for the lock" tty.txt || fail "notice with --no-wait"
wait "${BG_PIDS[-1]}"
echo "progress: ok"
