#!/usr/bin/env bash
# merkql consume: output formats, --from, --max, --no-commit, --follow,
# closed output, several topics, and errors.
source "$(dirname "$0")/lib.sh"
cd "$T"

printf '{"n":1}\nnot json\n"s"\n' > in.txt
"$M" produce -t t --input raw < in.txt
for i in 4 5 6 7 8 9 10; do echo "{\"n\":$i}"; done | "$M" produce -t t

# Default JSON lines: value embedded when it reads as JSON (raw text then
# marked "value_is_json":false), else a string; ts next to timestamp.
"$M" consume -t t -g g --max 3 > out
assert_eq '{"topic":"t","partition":0,"offset":0,"key":null,"value":{"n":1},"value_is_json":false}' \
    "$(sed -n 1p out | jq -c 'del(.timestamp, .ts)')" "json line"
jq -e '.ts | type == "number"' out > /dev/null || fail "no ts: $(cat out)"
assert_eq '"not json"' "$(sed -n 2p out | jq -c .value)" "non-JSON value as string"
assert_eq '"\"s\""' "$(sed -n 3p out | jq -c .value)" "raw text \"s\", quotes included"
grep -q '"value":{"n":1},"value_is_json":false}$' <<< "$(sed -n 1p out)" ||
    fail "value not written verbatim"
# --max 3 committed exactly 3: the next run starts at offset 3.
assert_eq 3 "$("$M" consume -t t -g g --max 1 | jq .offset)" "--max commit"
assert_eq 4 "$("$M" inspect --json | jq '.groups[] | select(.name=="g") | .offsets[0].committed')" "committed"
assert_eq 6 "$("$M" consume -t t -g g | wc -l | tr -d ' ')" "rest"
assert_eq 0 "$("$M" consume -t t -g g | wc -l | tr -d ' ')" "nothing left"

# --format value: the stored text exactly.
assert_eq "$(cat in.txt)" "$("$M" consume -t t -g v --format value --max 3)" "--format value"

# --no-commit: nothing moves, not even the starting position.
"$M" consume -t t -g nc --no-commit --max 2 > /dev/null
"$M" consume -t t -g nc --no-commit > /dev/null
assert_eq 0 "$("$M" inspect --json | jq '[.groups[] | select(.name=="nc") | .offsets[]] | length')" "--no-commit"
"$M" commit -g nc -t t --partition 0 --offset 8
assert_eq "8 9" "$("$M" consume -t t -g nc --no-commit | jq .offset | tr '\n' ' ' | sed 's/ $//')" \
    "--no-commit starts at the committed offset"

# --from latest: only records written afterwards; the start is committed.
assert_eq 0 "$("$M" consume -t t -g late --from latest | wc -l | tr -d ' ')" "--from latest"
echo '{"n":11}' | "$M" produce -t t
assert_eq '{"n":11}' "$("$M" consume -t t -g late --format value)" "--from latest then new"
assert_eq 11 "$("$M" consume -t t -g early --from earliest | wc -l | tr -d ' ')" "--from earliest"

# Several topics, comma-separated.
seq 1 5 | "$M" produce -t u --partitions 2
assert_eq 16 "$("$M" consume -t t,u -g multi | wc -l | tr -d ' ')" "two topics"
assert_eq "t u" "$("$M" consume -t t,u -g multi2 | jq -r .topic | sort -u | tr '\n' ' ' | sed 's/ $//')" "topics"

# --follow: new records appear; SIGTERM and SIGINT stop it with status 0 and
# what was written is committed.
for sig in TERM INT; do
    # A new group reads every record of u, then the three produced below.
    before=$("$M" consume -t u -g "count$sig" --no-commit | wc -l | tr -d ' ')
    "$M" consume -t u -g "follow$sig" --follow > "follow.$sig" &
    pid=$!
    BG_PIDS+=($pid)
    wait_for 5 has_lines "follow.$sig" "$before" || fail "follow: first records"
    seq 6 8 | "$M" produce -t u
    wait_for 5 has_lines "follow.$sig" $((before + 3)) || fail "follow: new records"
    kill -$sig $pid
    rc=0
    wait $pid || rc=$?
    assert_eq 0 "$rc" "--follow exit after SIG$sig"
    assert_eq 0 "$("$M" consume -t u -g "follow$sig" | wc -l | tr -d ' ')" "--follow committed"
    seq 6 8 | "$M" produce -t u # keep counts uniform for the next round
    "$M" consume -t u -g "follow$sig" > /dev/null
done

# Standard output closed: exit 0.
seq 1 30000 | "$M" produce -t big
rc=0
{ "$M" consume -t big -g closed; echo "rc=$?" > rc.txt; } | head -n 1 > /dev/null
assert_eq "rc=0" "$(cat rc.txt)" "closed stdout"
"$M" consume -t big -g closedf --follow | head -n 1 > /dev/null
"$M" consume -t big -g closed > rest
[[ $(wc -l < rest) -lt 30000 ]] || fail "closed stdout: nothing was committed"

# Errors.
expect_exit 66 "$M" consume -t nosuch -g g 2> err
grep -q "merkql: error:" err || fail "error message: $(cat err)"
expect_exit 66 "$M" consume -t t,nosuch -g g 2> /dev/null
expect_exit 66 "$M" --dir "$T/missing" consume -t t -g g 2> err
grep -q "no merkql data directory" err || fail "missing dir message: $(cat err)"
[[ ! -e $T/missing ]] || fail "consume created the directory"
expect_exit 2 "$M" consume -t t -g 'bad/group' 2> /dev/null
expect_exit 2 "$M" consume -t 'a b' -g g 2> /dev/null
# Without --group it reads (tests/cli/consume_offsets.sh); without --topic, usage.
expect_exit 2 "$M" consume -g g 2> /dev/null
expect_exit 2 "$M" consume -t t -g g --format xml 2> /dev/null
expect_exit 2 "$M" consume -t t -g g --from middle 2> /dev/null
expect_exit 2 "$M" consume -t t -g g --max -1 2> /dev/null
# MERKQL_DIR is used when --dir is absent; --dir wins over it.
MERKQL_DIR=$T/missing expect_exit 66 "$M" consume -t t -g g 2> /dev/null
MERKQL_DIR=$T/missing "$M" --dir "$T/data" consume -t t -g envdir --max 1 > /dev/null
echo "consume: ok"
