#!/usr/bin/env bash
# Two `consume --follow` members of one group on 4 partitions: two partitions
# each, disjoint, all records delivered; after one is killed with SIGKILL the
# survivor takes all 4 partitions and delivers the rest.
source "$(dirname "$0")/lib.sh"
cd "$T"

gen()
{ # gen FROM TO
    awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i < b; i++) printf "{\"k\":\"key-%d\",\"i\":%d}\n", i % 32, i }'
}
gen 0 10 | "$M" produce -t work --partitions 4 --key-field k
"$M" commit -g workers -t work --reset latest

"$M" consume -t work -g workers --follow > out.1 &
pid1=$!
BG_PIDS+=($pid1)
"$M" consume -t work -g workers --follow > out.2 &
pid2=$!
BG_PIDS+=($pid2)
# Both members join; then the partitions settle (a rebalance every 250 ms).
two_members() { [[ $(ls "$MERKQL_DIR/groups/workers/members" | grep -vc '\.tmp$') -eq 2 ]]; }
wait_for 20 two_members || fail "the members did not join"
sleep 2

gen 10 2010 | "$M" produce -t work --key-field k
all_lines()
{
    [[ $(cat out.1 out.2 | jq -r .value.i | sort -u | wc -l) -ge $1 ]]
}
wait_for 15 all_lines 2000 || fail "not all records delivered: $(cat out.1 out.2 | wc -l)"
parts1=$(jq -r .partition out.1 | sort -u | tr '\n' ' ')
parts2=$(jq -r .partition out.2 | sort -u | tr '\n' ' ')
assert_eq 2 "$(wc -w <<< "$parts1")" "partitions of member 1 ($parts1)"
assert_eq 2 "$(wc -w <<< "$parts2")" "partitions of member 2 ($parts2)"
assert_eq 4 "$(echo $parts1 $parts2 | tr ' ' '\n' | sort -u | wc -l | tr -d ' ')" "disjoint"
assert_eq 2000 "$(cat out.1 out.2 | wc -l | tr -d ' ')" "each record once"

# Kill member 1; the survivor takes over its partitions.
kill -9 "$pid1"
wait "$pid1" 2> /dev/null || true
gen 2010 4010 | "$M" produce -t work --key-field k
new_lines()
{
    [[ $(cat out.1 out.2 | jq -r 'select(.value.i >= 2010) | .value.i' | sort -u | wc -l) -ge 2000 ]]
}
wait_for 15 new_lines || fail "survivor did not deliver the rest"
assert_eq 4 "$(jq -r 'select(.value.i >= 2010) | .partition' out.2 | sort -u | wc -l | tr -d ' ')" \
    "survivor owns all partitions"
assert_eq 4000 "$(cat out.1 out.2 | jq -r .value.i | sort -u | wc -l | tr -d ' ')" "union = all records"
kill -TERM "$pid2"
rc=0
wait "$pid2" || rc=$?
assert_eq 0 "$rc" "survivor exit status"
assert_eq 0 "$("$M" inspect --json | jq '[.groups[] | select(.name=="workers") | .offsets[].lag] | add')" "lag after"
echo "group_rebalance: ok"
