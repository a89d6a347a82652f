#!/usr/bin/env bash
# A data directory with planted symbolic links and FIFOs: every command that
# meets one fails within seconds with a message (no hang, no crash), and
# nothing outside the directory is read, created, written or truncated.
source "$(dirname "$0")/lib.sh"
cd "$T"

IN=/dev/null
# refused WHAT CMD...: CMD (stdin from $IN) must exit non-zero, not by a
# signal, within 10 s, with a message on stderr.
refused()
{
    local what=$1 got=0
    shift
    timeout 10 "$@" < "$IN" > out 2> err || got=$?
    ((got != 0)) || fail "$what: exit 0"
    ((got != 124)) || fail "$what: still running after 10 s"
    ((got < 128)) || fail "$what: killed by signal $((got - 128))"
    ((got != 2)) || fail "$what: a usage error (exit 2): $(cat err)"
    [[ -s err ]] || fail "$what: no message on stderr"
}

# fresh: a new data directory with topic t (one record) and group g (committed).
fresh()
{
    rm -rf "$T/data" "$T/outside"
    mkdir -p "$T/outside"
    echo '{"n":1}' | "$M" produce -t t > /dev/null
    "$M" consume -t t -g g > /dev/null
}

# untouched: nothing was made or changed outside the data directory.
untouched()
{
    local what=$1 listing
    listing=$(cd "$T/outside" && find . | LC_ALL=C sort | tr '\n' ' ')
    assert_eq "$2" "$listing" "$what: outside"
}

echo '{"n":2}' > one

# A topic directory that is a link to a directory elsewhere.
fresh
ln -s "$T/outside" data/topics/x
IN=one refused "produce into a linked topic" "$M" produce -t x
refused "consume a linked topic" "$M" consume -t x -g g2
grep -q "data/topics/x.*symbolic link" err || fail "message names the link: $(cat err)"
untouched "linked topic" ". "

# A group directory that is a link.
fresh
ln -s "$T/outside" data/groups/G
refused "consume as a linked group" "$M" consume -t t -g G
refused "commit to a linked group" "$M" commit -g G -t t --partition 0 --offset 1
untouched "linked group" ". "

# A temporary offsets file that is a link: it is removed, never written
# through; the commit itself succeeds.
fresh
echo victim > outside/victim
ln -s "$T/outside/victim" data/groups/g/OFFSETS.tmp
timeout 10 "$M" commit -g g -t t --partition 0 --offset 0 || fail "commit over a linked OFFSETS.tmp"
assert_eq victim "$(cat outside/victim)" "OFFSETS.tmp victim"
[[ -f data/groups/g/OFFSETS && ! -L data/groups/g/OFFSETS ]] || fail "OFFSETS is not a regular file"
[[ ! -e data/groups/g/OFFSETS.tmp && ! -L data/groups/g/OFFSETS.tmp ]] || fail "OFFSETS.tmp left"
untouched "linked OFFSETS.tmp" ". ./victim "

# Dangling LOCK links are not created through.
fresh
rm -f data/groups/g/LOCK data/topics/t/0/LOCK
ln -s "$T/outside/group-lock" data/groups/g/LOCK
ln -s "$T/outside/partition-lock" data/topics/t/0/LOCK
refused "commit with a dangling group LOCK" "$M" commit -g g -t t --partition 0 --offset 0
IN=one refused "produce with a dangling partition LOCK" "$M" produce -t t
untouched "dangling LOCK" ". "

# A log segment, HEAD and INDEX that are links to copies outside.
for f in 00000000.log HEAD INDEX TREE; do
    fresh
    cp "data/topics/t/0/$f" "outside/$f"
    rm "data/topics/t/0/$f"
    ln -s "$T/outside/$f" "data/topics/t/0/$f"
    cp "outside/$f" copy
    IN=one refused "produce with a linked $f" "$M" produce -t t
    refused "consume with a linked $f" "$M" consume -t t -g fresh --no-commit
    refused "inspect with a linked $f" "$M" inspect
    cmp -s copy "outside/$f" || fail "linked $f: the file outside was changed"
    untouched "linked $f" ". ./$f "
done

# An INDEX linked to a small file outside: inspect must not rewrite it.
fresh
printf 'abcd' > outside/small
rm data/topics/t/0/INDEX
ln -s "$T/outside/small" data/topics/t/0/INDEX
refused "inspect with INDEX linked to a small file" "$M" inspect
refused "inspect --json with INDEX linked to a small file" "$M" inspect --json
assert_eq abcd "$(cat outside/small)" "small INDEX victim"

# FIFOs in place of MERKQL, TOPIC, OFFSETS and a segment: errors, no hang.
fifo_in_place()
{
    rm -f "$1"
    mkfifo "$1"
}
fresh
fifo_in_place data/MERKQL
refused "inspect with a FIFO MERKQL" "$M" inspect
IN=one refused "produce with a FIFO MERKQL" "$M" produce -t t
grep -q "not a regular file" err || fail "FIFO MERKQL message: $(cat err)"

fresh
fifo_in_place data/topics/t/TOPIC
refused "inspect with a FIFO TOPIC" "$M" inspect
IN=one refused "produce with a FIFO TOPIC" "$M" produce -t t
refused "consume with a FIFO TOPIC" "$M" consume -t t -g g

fresh
fifo_in_place data/groups/g/OFFSETS
refused "consume with a FIFO OFFSETS" "$M" consume -t t -g g
refused "commit with a FIFO OFFSETS" "$M" commit -g g -t t --partition 0 --offset 0

fresh
fifo_in_place data/topics/t/0/00000000.log
refused "consume with a FIFO segment" "$M" consume -t t -g fresh --no-commit
IN=one refused "produce with a FIFO segment" "$M" produce -t t

# A regular file where the data directory should be: an I/O error (74),
# not a usage error.
rm -rf data
echo file > data
expect_exit 74 "$M" inspect 2> err
grep -q "data: not a directory" err || fail "file as data directory: $(cat err)"
