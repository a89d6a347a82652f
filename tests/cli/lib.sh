# Shared setup of the merkql command-line tests. Source it with the merkql
# binary as $1: it makes a private temporary directory $T (removed on exit),
# points MERKQL_DIR into it and defines the helpers below.
set -euo pipefail
exec 3>&2 # fail() reports here even when a command's stderr is redirected

M=${1:?usage: $0 path/to/merkql}
M=$(cd "$(dirname "$M")" && pwd)/$(basename "$M")
T=$(mktemp -d "${TMPDIR:-/tmp}/merkql-cli-test.XXXXXX")
export MERKQL_DIR=$T/data
BG_PIDS=()
cleanup()
{
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT

fail()
{
    echo "FAIL: $*" >&3
    exit 1
}

# expect_exit CODE CMD...: run CMD, fail unless it exits with CODE.
expect_exit()
{
    local want=$1 got=0
    shift
    "$@" || got=$?
    [[ $got == "$want" ]] || fail "expected exit $want, got $got: $*"
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq()
{
    [[ $1 == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"
}

# count_records TOPIC: number of records a fresh group sees in TOPIC.
count_records()
{
    "$M" consume -t "$1" -g "count-$RANDOM$RANDOM" --no-commit | wc -l | tr -d ' '
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for()
{
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# has_lines FILE N: true when FILE has at least N lines.
has_lines()
{
    [[ -e $1 && $(wc -l < "$1") -ge $2 ]]
}
