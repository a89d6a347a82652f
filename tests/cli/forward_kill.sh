#!/usr/bin/env bash
# kill -9 of merkql forward, at each crash point of the test hook
# (MERKQL_FORWARD_CRASH=STEP:N: produced, delivered, committing, committed)
# and at random moments, over many rounds, into the mock Kafka cluster
# (tests/kafka/mock_cluster.cpp). After each kill: every merkql offset below
# the group's committed offset is in Kafka (by its merkql.partition and
# merkql.offset headers), and a record is in Kafka more than once only when
# kills left it at or above the committed offset often enough to explain
# each resend. After a final run every record is in Kafka, lag 0.
# Negative control: with MERKQL_FORWARD_UNSAFE_COMMIT=1 (offsets committed
# when handed to librdkafka, before Kafka acknowledges them) the same check
# must catch a lost record, which shows that it can fail.
#
# Usage: forward_kill.sh MERKQL MERKQL_MOCK_KAFKA [KCAT]
source "$(dirname "$0")/lib.sh"
MOCK=${2:?usage: $0 merkql merkql_mock_kafka [kcat]}
KCAT=${3:-kcat}
source "$(dirname "$0")/../kafka/kafka.sh"
# Random rounds stop starting after this many seconds of the test.
budget=${FORWARD_KILL_SECONDS:-30}
kafka_test_start kill:4 control:4

# gen FROM TO: records FROM..TO-1, keyed over 16 keys.
gen()
{
    awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i < b; i++)
        printf "{\"k\":\"key-%d\",\"i\":%d,\"pad\":\"%010d\"}\n", i % 16, i, i }'
}

# committed GROUP TOPIC: "PARTITION COMMITTED" of each partition of TOPIC,
# 0 where the group has committed nothing.
committed()
{
    "$M" inspect --json | jq -r --arg g "$1" --arg t "$2" \
        '(.topics[] | select(.name == $t) | .partitions | length) as $n
         | ([.groups[] | select(.name == $g) | .offsets[] | select(.topic == $t)
             | {key: (.partition | tostring), value: .committed}] | from_entries) as $c
         | range(0; $n) | "\(.) \($c[tostring] // 0)"'
}

# check TOPIC GROUP: the state after a kill (or a clean end) is sound. Kills
# recorded in kills.TOPIC ("PARTITION COMMITTED" after each kill) bound the
# duplicates: a record may be in Kafka 1 + k times when k kills left it at
# or above the committed offset. Prints what is wrong and returns 1.
check()
{
    kafka_read "$1" > "kafka.$1.json" || { echo "cannot read Kafka topic $1"; return 1; }
    kafka_ids "kafka.$1.json" > "ids.$1"
    committed "$2" "$1" > "committed.$1"
    touch "kills.$1"
    awk 'FILENAME == ARGV[1] { committed[$1] = $2; next }
         FILENAME == ARGV[2] { kills[$1] = kills[$1] " " $2; next }
         { seen[$1 " " $2]++ }
         END {
           for (p in committed)
             for (o = 0; o < committed[p]; o++)
               if (!((p " " o) in seen)) { printf "lost: %s/%d is below the committed offset %d and not in Kafka\n", p, o, committed[p]; bad = 1 }
           for (id in seen) {
             if (seen[id] < 2) continue
             split(id, f, " ")
             explained = 0
             n = split(kills[f[1]], at, " ")
             for (i = 1; i <= n; i++) if (at[i] + 0 <= f[2] + 0) explained++
             if (seen[id] - 1 > explained) { printf "duplicate: %s/%d is in Kafka %d times, only %d kills left it at or above the committed offset\n", f[1], f[2], seen[id], explained; bad = 1 }
           }
           exit bad
         }' "committed.$1" "kills.$1" "ids.$1"
}

# after_kill TOPIC GROUP: records the committed offsets at the kill.
after_kill()
{
    committed "$2" "$1" >> "kills.$1"
    kills=$((kills + 1))
}

"$M" topic create -t kill --partitions 4 > /dev/null
next=0
kills=0
rounds=0
crashes=

# --- Deterministic crash points ----------------------------------------------
for step in produced delivered committing committed; do
    crashed=0
    for n in 1 3 40; do
        gen $next $((next + 150)) | "$M" produce -t kill --key-field k
        next=$((next + 150))
        rounds=$((rounds + 1))
        rc=0
        MERKQL_FORWARD_CRASH=$step:$n "$M" forward -t kill -g gk --brokers "$BOOT" 2> err || rc=$?
        case $rc in
            137) after_kill kill gk; crashed=$((crashed + 1)); crashes+=" $step:$n" ;;
            0) ;; # the step was not reached N times: the run finished
            *) fail "crash at $step:$n: exit $rc: $(cat err)" ;;
        esac
        check kill gk > problems || fail "after a crash at $step:$n: $(head -n 5 problems)"
    done
    ((crashed > 0)) || fail "MERKQL_FORWARD_CRASH=$step never crashed the forwarder"
done

# --- Random moments ------------------------------------------------------------
# A follower (-f) forwards records produced while it runs and commits every
# 100 ms; it is killed 0 to 0.4 s after the last of them is produced. The
# mock keeps ~5 MiB per partition (about 20,000 of these records with their
# headers), so the topic stays below 45,000 records before duplicates.
while ((SECONDS < budget && next < 45000)); do
    rounds=$((rounds + 1))
    "$M" forward -t kill -g gk --brokers "$BOOT" -f 2> err &
    pid=$!
    BG_PIDS+=("$pid")
    for chunk in 1 2; do
        gen $next $((next + 1000)) | "$M" produce -t kill --key-field k
        next=$((next + 1000))
        sleep "0.0$((RANDOM % 10))"
    done
    sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
    kill -9 "$pid" 2> /dev/null || true
    rc=0
    wait "$pid" || rc=$?
    [[ $rc == 137 ]] || fail "random round $rounds: the follower exited $rc before the kill: $(cat err)"
    after_kill kill gk
    check kill gk > problems || fail "after a kill in random round $rounds: $(head -n 5 problems)"
done

# --- A final run delivers everything -----------------------------------------
"$M" forward -t kill -g gk --brokers "$BOOT" 2> err || fail "final run: $(cat err)"
check kill gk > problems || fail "after the final run: $(head -n 5 problems)"
assert_eq "$next" "$(sort -u ids.kill | wc -l | tr -d ' ')" "distinct records in Kafka"
[[ $(awk '{ s += $2 } END { print s }' committed.kill) == "$next" ]] ||
    fail "committed $(cat committed.kill | xargs), not all $next records"
echo "forward_kill: crashed at$crashes"
echo "forward_kill: $rounds rounds, $kills kills, $next records, $(wc -l < ids.kill | tr -d ' ') in Kafka"

# --- Negative control: committing before the acknowledgement is caught -------
# librdkafka holds the records for a second before it sends them
# (linger.ms), so the unsafe commit gets ahead of Kafka before the kill.
gen 0 2000 | "$M" produce -t control --partitions 4 --key-field k
caught=
for point in committed:1 committing:2 produced:2000; do
    rc=0
    MERKQL_FORWARD_UNSAFE_COMMIT=1 MERKQL_FORWARD_CRASH=$point \
        "$M" forward -t control -g gc --brokers "$BOOT" -X linger.ms=1000 2> err || rc=$?
    [[ $rc == 137 ]] || continue
    after_kill control gc
    if ! check control gc > problems; then
        grep -q '^lost: ' problems || fail "negative control: $(head -n 3 problems)"
        caught=$point
        break
    fi
done
[[ -n $caught ]] || fail "negative control: commits before the acknowledgement went unnoticed"
echo "forward_kill: negative control caught at $caught: $(head -n 1 problems)"
echo "forward_kill: ok"
