#!/usr/bin/env bash
# merkql forward into a Kafka cluster that speaks the real protocol
# (librdkafka's mock cluster, tests/kafka/mock_cluster.cpp), read back with
# kcat: every record arrives with its key, value, timestamp, partition and
# five merkql.* headers, for keyed, unkeyed, JSON and text values on 4
# partitions; --kafka-topic; --partitioner kafka; a Kafka topic with fewer
# partitions (exit 66); a second run forwards nothing new; --max; two
# forwarders of one group split the partitions; brokers down, without -f
# (exit 69, nothing new committed) and with -f (retries, then delivers all);
# records removed by retention before they were forwarded (exit 3, offsets
# named); verify-proof --kafka-record accepts each record read back and
# rejects each altered field.
# The mock creates any topic a client names (mock_cluster.cpp), so a missing
# Kafka topic is not tested here.
#
# Usage: forward.sh MERKQL MERKQL_MOCK_KAFKA [KCAT]
source "$(dirname "$0")/lib.sh"
MOCK=${2:?usage: $0 merkql merkql_mock_kafka [kcat]}
KCAT=${3:-kcat}
source "$(dirname "$0")/../kafka/kafka.sh"
kafka_test_start ev:4 copy:4 kp:3 few:2 mx:1 pair:4 dn:4 rt:1

# forward ARGS...: merkql forward against the mock cluster; fails unless it
# exits 0 with nothing on stdout.
forward()
{
    local rc=0
    "$M" forward --brokers "$BOOT" "$@" > fwd.out 2> fwd.err || rc=$?
    [[ $rc == 0 ]] || fail "forward $* exited $rc: $(cat fwd.err)"
    [[ ! -s fwd.out ]] || fail "forward $* wrote to stdout: $(head -c 300 fwd.out)"
}

# committed GROUP TOPIC: "PARTITION COMMITTED LAG" of each partition the group
# has an offset for.
committed()
{
    "$M" inspect --json | jq -r --arg g "$1" --arg t "$2" \
        '.groups[] | select(.name == $g) | .offsets[] | select(.topic == $t)
         | "\(.partition) \(.committed) \(.lag)"' | sort -n
}

# expected_records TOPIC > FILE: the Kafka record each merkql record of TOPIC
# must become, one JSON object a line, from the record's exported proof
# (kept as proof.TOPIC.P.O.json for verify-proof): its partition, key, value
# bytes, timestamp in ms (worked out here from the timestamp text) and the
# five headers. Fields: kp (Kafka partition), mp, mo (merkql partition and
# offset), ts, tstype, key, payload, headers.
expected_records()
{
    local p o
    "$M" consume -t "$1" | jq -r '"\(.partition) \(.offset)"' | while read -r p o; do
        "$M" verify-proof -t "$1" --partition "$p" --offset "$o" --out "proof.$1.$p.$o.json"
        jq -c -S 'def ms: capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$") as $c
                         | ($c.s + "Z" | fromdateiso8601) * 1000
                           + ((($c.f // "") + "000")[0:3] | tonumber);
                  {kp: .partition, mp: .partition, mo: .offset, ts: (.record.timestamp | ms),
                   tstype: "create", key: .record.key, payload: .record.value,
                   headers: ["merkql.topic", .topic, "merkql.partition", (.partition | tostring),
                             "merkql.offset", (.offset | tostring),
                             "merkql.timestamp", .record.timestamp, "merkql.hash", .record_hash]}' \
            "proof.$1.$p.$o.json"
    done
}

# got_records FILE: the records of kafka_read's output FILE in the shape of
# expected_records, sorted by merkql partition and offset.
got_records()
{
    jq -c -S '([.headers as $h | range(0; $h | length; 2) | {($h[.]): $h[. + 1]}] | add) as $m
              | {kp: .partition, mp: ($m["merkql.partition"] | tonumber),
                 mo: ($m["merkql.offset"] | tonumber), ts, tstype, key, payload, headers}' "$1" |
        jq -s -c 'sort_by(.mp, .mo)[]'
}

# check_kafka KAFKA_TOPIC EXPECTED [same|kafka]: Kafka topic KAFKA_TOPIC holds
# exactly the records of EXPECTED, each once; with kafka, on any partition.
check_kafka()
{
    local drop=.
    [[ ${3:-same} == same ]] || drop='del(.kp)'
    kafka_read "$1" > "kafka.$1.json"
    got_records "kafka.$1.json" | jq -c "$drop" > got
    jq -s -c 'sort_by(.mp, .mo)[]' "$2" | jq -c "$drop" > want
    diff want got > diff.out || fail "Kafka topic $1 differs from what was forwarded (< expected, > in Kafka):
$(head -n 20 diff.out)"
}

# --- Every record and every field ---------------------------------------
# Keyed JSON (key from a field), unkeyed JSON, keyed and unkeyed text, on 4
# partitions; explicit timestamps with and without a fraction of a second.
for i in $(seq 0 11); do printf '{"sensor":"s%d","temp":%d.5,"note":"caf\\u00e9 ü"}\n' $((i % 5)) "$i"; done |
    "$M" produce -t ev --partitions 4 --key-field sensor
for i in $(seq 0 7); do printf '{"i":%d,"list":[1,2,{"x":null}]}\n' "$i"; done | "$M" produce -t ev
printf 'text line %d with "quotes" and a \\ backslash\n' 1 2 3 | "$M" produce -t ev --input raw --key text-key
for p in 0 1 2 3; do echo "unkeyed text on $p" | "$M" produce -t ev --input raw --partition "$p"; done
printf '%s\n' '{"key":null,"value":"old","timestamp":"2024-05-01T12:00:00.123999999Z","partition":1}' \
    '{"key":"e","value":{"a":1},"timestamp":"2024-05-01T12:00:00Z","partition":2}' |
    "$M" produce -t ev --input envelope
total=$(count_records ev)
assert_eq 29 "$total" "records in ev"
forward -t ev -g fwd
[[ $(wc -l < fwd.err) -ge 1 ]] || fail "no summary line on stderr"
expected_records ev > expected.ev
assert_eq "$total" "$(wc -l < expected.ev | tr -d ' ')" "expected records"
check_kafka ev expected.ev
for p in 0 1 2 3; do
    jq -s -e --argjson p "$p" 'any(.[]; .kp == $p)' expected.ev > /dev/null || fail "no record on partition $p"
done
jq -s -e 'any(.[]; .key == null)' expected.ev > /dev/null || fail "no unkeyed record"
# Offsets committed: everything, lag 0, and a second run forwards nothing.
assert_eq "0 0 0 0" "$(committed fwd ev | awk '{print $3}' | xargs)" "lag of fwd"
assert_eq 4 "$(committed fwd ev | wc -l | tr -d ' ')" "partitions committed by fwd"
forward -t ev -g fwd
check_kafka ev expected.ev

# --- --kafka-topic --------------------------------------------------------
forward -t ev -g to-copy --kafka-topic copy
check_kafka copy expected.ev

# --- --partitioner kafka: 3 Kafka partitions for 4 merkql ones ---------------
forward -t ev -g to-kp --kafka-topic kp --partitioner kafka
check_kafka kp expected.ev kafka
jq -s -e 'any(.[]; .partition > 2)' kafka.kp.json > /dev/null && fail "a record on a Kafka partition kp does not have"
# The same key always lands on the same Kafka partition.
[[ $(jq -r 'select(.key != null) | "\(.key) \(.partition)"' kafka.kp.json | sort -u | cut -d' ' -f1 | uniq -d) == "" ]] ||
    fail "one key on several Kafka partitions"

# --- A Kafka topic with fewer partitions: refused, nothing committed ---------
expect_exit 66 "$M" forward -t ev -g to-few --brokers "$BOOT" --kafka-topic few 2> err
grep -qi partition err || fail "the refusal does not speak of partitions: $(cat err)"
[[ -z $(kafka_read few) ]] || fail "records were sent to a topic with too few partitions"
[[ -z $(committed to-few ev | awk '$2 != 0') ]] || fail "a refused run committed offsets"

# --- --max ------------------------------------------------------------------
seq 0 9 | "$M" produce -t mx --input raw
forward -t mx -g gmax --max 3
assert_eq "0 3" "$(committed gmax mx | cut -d' ' -f1,2)" "committed after --max 3"
forward -t mx -g gmax --max 3
forward -t mx -g gmax
kafka_read mx > kafka.mx.json
assert_eq "0 1 2 3 4 5 6 7 8 9" "$(kafka_ids kafka.mx.json | cut -d' ' -f2 | xargs)" "mx in Kafka"
assert_eq "$(seq 0 9 | xargs)" "$(jq -r .payload kafka.mx.json | xargs)" "mx values"

# --- Two forwarders of one group share the partitions -----------------------
"$M" topic create -t pair --partitions 4 > /dev/null
"$M" forward -t pair -g gpair --brokers "$BOOT" -f > pair.out.1 2> pair.err.1 &
pair1=$!
BG_PIDS+=("$pair1")
"$M" forward -t pair -g gpair --brokers "$BOOT" -f > pair.out.2 2> pair.err.2 &
pair2=$!
BG_PIDS+=("$pair2")
two_members() { [[ $(ls "$MERKQL_DIR/groups/gpair/members" 2> /dev/null | grep -vc '\.tmp$') -eq 2 ]]; }
wait_for 20 two_members || fail "the two forwarders did not both join group gpair"
sleep 2 # the partitions settle
for i in $(seq 0 199); do printf '{"k":"key-%d","i":%d}\n' $((i % 32)) "$i"; done |
    "$M" produce -t pair --key-field k
pair_delivered() { [[ $(kafka_read pair | wc -l) -ge 200 ]]; }
wait_for 30 pair_delivered || fail "the two forwarders did not deliver the 200 records"
kill -TERM "$pair1" "$pair2" 2> /dev/null || true # a forwarder gone already fails below
for pid in "$pair1" "$pair2"; do
    rc=0
    wait "$pid" || rc=$?
    assert_eq 0 "$rc" "exit status of a forwarder stopped by SIGTERM"
done
kafka_read pair > kafka.pair.json
assert_eq 200 "$(kafka_ids kafka.pair.json | sort -u | wc -l | tr -d ' ')" "distinct records of pair in Kafka"
assert_eq 200 "$(wc -l < kafka.pair.json | tr -d ' ')" "records of pair in Kafka (each once)"
assert_eq "0 0 0 0" "$(committed gpair pair | awk '{print $3}' | xargs)" "lag of gpair"
[[ ! -s pair.out.1 && ! -s pair.out.2 ]] || fail "a forwarder wrote to stdout"
# Each forwarded a share (the summary line on stderr counts them).
n1=$(sed -n 's/.*forwarded \([0-9]*\) record.*/\1/p' pair.err.1)
n2=$(sed -n 's/.*forwarded \([0-9]*\) record.*/\1/p' pair.err.2)
((${n1:-0} > 0 && ${n2:-0} > 0)) || fail "the forwarders did not share the work: ${n1:-?} and ${n2:-?} records"
assert_eq 200 "$((n1 + n2))" "records forwarded by the two"

# --- Brokers down, without -f: exit 69 after --timeout, nothing new committed --
seq 0 9 | "$M" produce -t dn --partitions 4 --input raw
forward -t dn -g gdn
before=$(committed gdn dn | cut -d" " -f1,2)
seq 10 19 | "$M" produce -t dn --input raw
mock_cmd down
started=$SECONDS
expect_exit 69 "$M" forward -t dn -g gdn --brokers "$BOOT" --timeout 3 2> err
((SECONDS - started <= 20)) || fail "--timeout 3 took $((SECONDS - started)) s"
[[ -s err ]] || fail "nothing said on stderr when Kafka is unreachable"
assert_eq "$before" "$(committed gdn dn | cut -d" " -f1,2)" "offsets committed while Kafka was down"
mock_cmd up
forward -t dn -g gdn
kafka_read dn > kafka.dn.json
assert_eq "$(seq 0 19 | xargs)" "$(jq -r .payload kafka.dn.json | sort -n | xargs)" "dn in Kafka after up"
assert_eq "0 0 0 0" "$(committed gdn dn | awk '{print $3}' | xargs)" "lag of gdn after up"

# --- Brokers down, with -f: says so, commits nothing, delivers after up ------
before=$(committed gdn dn | cut -d" " -f1,2)
mock_cmd down
seq 20 29 | "$M" produce -t dn --input raw
"$M" forward -t dn -g gdn --brokers "$BOOT" -f > follow.out 2> follow.err &
follower=$!
BG_PIDS+=("$follower")
says_down() { grep -qiE 'unreachable|not answer' follow.err; }
wait_for 30 says_down || fail "the follower did not say that Kafka is unreachable: $(cat follow.err)"
sleep 2
kill -0 "$follower" 2> /dev/null || fail "the follower gave up while Kafka was down"
assert_eq "$before" "$(committed gdn dn | cut -d" " -f1,2)" "offsets committed by the follower while Kafka was down"
mock_cmd up
dn_delivered() { [[ $(kafka_read dn | wc -l) -ge 30 ]]; }
wait_for 60 dn_delivered || fail "the follower did not deliver after up"
caught_up() { [[ $(committed gdn dn | awk '{print $3}' | xargs) == "0 0 0 0" ]]; }
wait_for 20 caught_up || fail "the follower did not commit after delivering: $(committed gdn dn)"
kill -TERM "$follower" 2> /dev/null || true
rc=0
wait "$follower" || rc=$?
assert_eq 0 "$rc" "exit status of the follower stopped by SIGTERM"
[[ ! -s follow.out ]] || fail "the follower wrote to stdout"
kafka_read dn > kafka.dn.json
assert_eq "$(seq 0 29 | xargs)" "$(jq -r .payload kafka.dn.json | sort -n | xargs)" "dn in Kafka after -f"

# --- Records removed by retention before they were forwarded ---------------
"$M" topic create -t rt --retention-records 5 --segment-bytes 4096 --compression none > /dev/null
seq 0 2 | awk '{ printf "record %05d %080d\n", $1, $1 }' | "$M" produce -t rt --input raw
forward -t rt -g grt
seq 3 202 | awk '{ printf "record %05d %080d\n", $1, $1 }' | "$M" produce -t rt --input raw
start=$("$M" topic describe -t rt --json | jq .partitions[0].watermark)
((start > 3)) || fail "retention removed nothing (watermark $start)"
expect_exit 3 "$M" forward -t rt -g grt --brokers "$BOOT" 2> err
grep -q "rt/0: offsets 3 to $((start - 1)) .*removed by retention before they were forwarded" err ||
    fail "the removed offsets 3 to $((start - 1)) are not named: $(cat err)"
kafka_read rt > kafka.rt.json
assert_eq "0 1 2 $(seq "$start" 202 | xargs)" "$(kafka_ids kafka.rt.json | cut -d' ' -f2 | xargs)" \
    "rt in Kafka"
assert_eq "0 203 0" "$(committed grt rt)" "grt after retention"
forward -t rt -g grt

# --- verify-proof --kafka-record ---------------------------------------------
if grep -q -- --kafka-record <<< "$("$M" verify-proof --help)"; then
    # proof_of LINE_FILE: the proof exported for the record in LINE_FILE (one
    # line of kcat -J).
    proof_of() { local id; id=$(kafka_ids "$1"); echo "proof.ev.${id/ /.}.json"; }
    # verify_kafka LINE_FILE PROOF: verify-proof of that record against PROOF
    # and the root PROOF gives.
    verify_kafka() { "$M" verify-proof --proof "$2" --kafka-record "$1" --root "$(jq -r .root "$2")"; }
    checked=0
    while IFS= read -r line; do
        printf '%s\n' "$line" > rec.json
        verify_kafka rec.json "$(proof_of rec.json)" > /dev/null 2> err || fail "a forwarded record does not verify: $(cat err)
$line"
        checked=$((checked + 1))
    done < kafka.ev.json
    assert_eq "$total" "$checked" "records verified"
    # Each field altered, in a keyed JSON, an unkeyed text, a keyed text and an
    # enveloped record: rejected with exit 1.
    for pick in 'select(.key == "s1")' 'select(.key == null)' 'select(.key == "text-key")' \
        'select(.key == "e")'; do
        jq -c -n "first(inputs | $pick)" kafka.ev.json > rec.json || true
        [[ -s rec.json ]] || fail "no record for $pick"
        proof=$(proof_of rec.json)
        alter_header='def alter:
            if test("^[0-9]+$") then tonumber + 1 | tostring
            elif test("^[0-9a-f]{64}$") then .[0:63] + (if .[63:64] == "0" then "1" else "0" end)
            elif test("Z$") then sub("(?<s>[0-9])(?<f>(\\.[0-9]+)?Z)$"; "\(if .s == "0" then "1" else "0" end)\(.f)")
            else . + "x" end;'
        for change in '.key = (if .key == null then "k" else .key + "x" end)' \
            '.payload = .payload + " "' \
            'header("merkql.topic")' 'header("merkql.partition")' 'header("merkql.offset")' \
            'header("merkql.timestamp")' 'header("merkql.hash")'; do
            jq -c "$alter_header"'
                   def header($n): .headers |= (. as $h | [range(0; length)
                       | if . % 2 == 1 and $h[. - 1] == $n then $h[.] | alter else $h[.] end]);
                   '"$change" rec.json > altered.json
            cmp -s rec.json altered.json && fail "$change changed nothing"
            expect_exit 1 verify_kafka altered.json "$proof" 2> /dev/null
        done
    done
else
    echo "forward: verify-proof has no --kafka-record here: that part is skipped"
fi

[[ ! -s "$T/mock.err" ]] || echo "mock cluster said: $(head -c 500 "$T/mock.err")"
echo "forward: ok"
