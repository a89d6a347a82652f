# Shell helpers of the tests that talk to Kafka (tests/cli/forward.sh,
# tests/cli/forward_kill.sh, bench/forward): a mock cluster
# (merkql_mock_kafka, see mock_cluster.cpp) in the background, commands to
# it, and Kafka topics read back with kcat. Source it after tests/cli/lib.sh
# (it uses $T, BG_PIDS, fail, wait_for and has_lines) with MOCK and KCAT set
# to the two executables.

# absolute PATH: PATH made absolute (a name without / is looked up in $PATH),
# as the tests leave the directory they were started in.
absolute()
{
    if [[ $1 == */* ]]; then
        echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    else
        command -v "$1" || echo "$1"
    fi
}
MOCK=$(absolute "$MOCK")
KCAT=$(absolute "$KCAT")

# mock_start TOPIC:PARTITIONS...: starts the cluster with these topics and
# sets BOOT to its bootstrap list. It stops when this shell exits.
mock_start()
{
    mkfifo "$T/mock.in"
    "$MOCK" "$@" < "$T/mock.in" > "$T/mock.out" 2> "$T/mock.err" &
    MOCK_PID=$!
    BG_PIDS+=("$MOCK_PID")
    exec {MOCK_FD}> "$T/mock.in"
    mock_started() { has_lines "$T/mock.out" 1 || ! kill -0 "$MOCK_PID" 2> /dev/null; }
    wait_for 20 mock_started && has_lines "$T/mock.out" 1 ||
        fail "the mock cluster did not start: $(cat "$T/mock.err")"
    BOOT=$(head -n 1 "$T/mock.out")
    MOCK_ANSWERS=1
}

# kafka_test_start TOPIC:PARTITIONS...: the start of a test that forwards
# into the mock cluster (tests/cli/forward*.sh): a command that fails
# outside fail() still says where, the test runs in $T, and the cluster is
# up with these topics (mock_start).
kafka_test_start()
{
    set -E
    trap 'echo "FAIL: $0 line $LINENO: exit status $?" >&3' ERR
    cd "$T"
    mock_start "$@"
}

# mock_cmd COMMAND...: sends one command (down, up, create TOPIC PARTITIONS)
# and fails unless the cluster answers ok.
mock_cmd()
{
    echo "$*" >&"$MOCK_FD"
    MOCK_ANSWERS=$((MOCK_ANSWERS + 1))
    wait_for 10 has_lines "$T/mock.out" "$MOCK_ANSWERS" || fail "mock cluster: no answer to '$*'"
    local answer
    answer=$(sed -n "${MOCK_ANSWERS}p" "$T/mock.out")
    [[ $answer == ok ]] || fail "mock cluster: '$*': $answer"
}

# kafka_read TOPIC: every record of Kafka topic TOPIC, from the beginning of
# each partition to its end, one kcat -J line each: {"topic", "partition",
# "offset", "tstype", "ts", "broker", "headers": [name, value, name, value,
# ...], "key", "payload"} (kcat 1.7.1 writes the headers as a flat array).
kafka_read()
{
    timeout 60 "$KCAT" -C -b "$BOOT" -t "$1" -J -e -o beginning -q
}

# kafka_ids FILE: "PARTITION OFFSET" of the merkql record each Kafka record
# of FILE (kafka_read's output) carries in its merkql.partition and
# merkql.offset headers, in the file's order.
kafka_ids()
{
    jq -r '[.headers as $h | range(0; $h | length; 2) | {($h[.]): $h[. + 1]}] | add
           | "\(.["merkql.partition"]) \(.["merkql.offset"])"' "$1"
}
