#!/usr/bin/env bash
# merkql verify-proof --kafka-record, without Kafka: records as `kcat -C -J`
# prints them after `merkql forward` (docs/FORMAT.md §Kafka records) are
# built with jq from `merkql consume` and the proofs, then accepted, and
# refused for each altered field and for malformed lines. docs/AUDIT.md's
# Kafka step is run here too (audit_doc.sh skips it: it needs a cluster).
# tests/cli/forward.sh checks the same against real kcat output.
source "$(dirname "$0")/lib.sh"
doc="$(cd "$(dirname "$0")/../.." && pwd)/docs/AUDIT.md"
cd "$T"

# kcat_line PROOF CONSUMED: the kcat -J line of the record PROOF proves, as
# forwarded (CONSUMED: its line from merkql consume, for ts; the Kafka
# topic, partition and offset are taken from it too).
kcat_line()
{
    jq -c -n --slurpfile p "$1" --slurpfile c "$2" '$p[0] as $p | $c[0] as $c |
        {topic: $c.topic, partition: $c.partition, offset: $c.offset, tstype: "create",
         ts: $c.ts, broker: 1,
         headers: ["merkql.topic", $p.topic, "merkql.partition", ($p.partition | tostring),
                   "merkql.offset", ($p.offset | tostring),
                   "merkql.timestamp", $p.record.timestamp, "merkql.hash", $p.record_hash],
         key: $p.record.key, payload: $p.record.value}'
}

# Records of every shape: keyed and not, an empty key, JSON and text
# values, escapes, and timestamps before 1970 and below a millisecond.
cat > records.jsonl << 'EOF'
{"key": "sensor-1", "value": {"t": 21.5}, "timestamp": "2024-05-01T12:00:00Z"}
{"key": null, "value": "plain text, not JSON", "timestamp": "2024-05-01T12:00:00.000500Z"}
{"key": "", "value": "tab\there \"quoted\" \u00e9 \u0001", "timestamp": "1969-12-31T23:59:59.9995Z"}
{"key": "sensor-2", "value": [1, 2,  3], "timestamp": "1969-07-20T20:17:40.123456789Z"}
{"value": "", "timestamp": "2024-05-01T12:00:01.999999999Z"}
EOF
"$M" produce -t things --input envelope < records.jsonl
"$M" consume -t things -g reader > consumed.jsonl
assert_eq 5 "$(wc -l < consumed.jsonl)" "records consumed"
root=$("$M" inspect --json -t things | jq -r '.topics[0].partitions[0].root')
for o in 0 1 2 3 4; do
    "$M" verify-proof -t things --partition 0 --offset $o --out p$o.json
    sed -n "$((o + 1))p" consumed.jsonl > c$o.json
    kcat_line p$o.json c$o.json > rec$o.json
    out=$("$M" verify-proof --proof p$o.json --kafka-record rec$o.json --root "$root") ||
        fail "offset $o not accepted: $(cat rec$o.json)"
    [[ $out == *"proof valid: offset $o of things/0 is in the tree of 5 records with root $root (the given root)"* ]] ||
        fail "verdict: $out"
    [[ $out == *"Kafka record matches (Kafka things/0 offset $o): it is offset $o of things/0, record hash $(jq -r .record_hash p$o.json)" ]] ||
        fail "match line: $out"
    # Without a trusted root, and with the record on standard input.
    "$M" verify-proof --proof p$o.json --kafka-record - < rec$o.json > /dev/null
done
assert_eq null "$(jq .key rec1.json)" "null key"
assert_eq '""' "$(jq .key rec2.json)" "empty key"
assert_eq -1 "$(jq .ts rec2.json)" "CreateTime of -0.5 ms"
assert_eq -14182939877 "$(jq .ts rec3.json)" "CreateTime before 1970"
assert_eq 1714564801999 "$(jq .ts rec4.json)" "CreateTime rounds down"
assert_eq '""' "$(jq .payload rec4.json)" "empty value"
# librdkafka sends the time of sending for a CreateTime of 0: a record of
# the first millisecond of 1970 is not held to its CreateTime.
echo '{"value": "e", "timestamp": "1970-01-01T00:00:00.0005Z"}' | "$M" produce -t epoch --input envelope
"$M" verify-proof -t epoch --partition 0 --offset 0 --out pe.json
"$M" consume -t epoch -g reader > ce.json
kcat_line pe.json ce.json > rece.json
assert_eq 0 "$(jq .ts rece.json)" "CreateTime of 0.5 ms"
jq -c '.ts = 1795811911046' rece.json > ok.json
"$M" verify-proof --proof pe.json --kafka-record ok.json > /dev/null
# kcat's spelling: compact, members in its order.
[[ $(cat rec0.json) == '{"topic":"things","partition":0,"offset":0,"tstype":"create","ts":1714564800000,"broker":1,"headers":["merkql.topic","things","merkql.partition","0","merkql.offset","0","merkql.timestamp","2024-05-01T12:00:00Z","merkql.hash",'*'],"key":"sensor-1","payload":"{\"t\": 21.5}"}' ]] ||
    fail "not kcat's shape: $(cat rec0.json)"
# Other headers, a Kafka topic and offset of its own, a record without
# merkql.hash, LogAppendTime: all still the record.
jq -c '.headers = ["traceparent", "00-1", "other", null] + .headers | .topic = "elsewhere" | .offset = 99' \
    rec0.json > ok.json
"$M" verify-proof --proof p0.json --kafka-record ok.json --root "$root" > /dev/null
jq -c '.headers = .headers[0:8]' rec0.json > ok.json
"$M" verify-proof --proof p0.json --kafka-record ok.json --root "$root" > /dev/null
jq -c '.tstype = "logappend" | .ts = 1' rec0.json > ok.json
"$M" verify-proof --proof p0.json --kafka-record ok.json --root "$root" > /dev/null

# Each altered field is refused with exit 1, naming it.
altered()
{ # altered OFFSET JQ_FILTER WHAT
    jq -c "$2" rec$1.json > bad.json
    expect_exit 1 "$M" verify-proof --proof p$1.json --kafka-record bad.json --root "$root" \
        > out 2> err
    grep -q "^merkql: Kafka record does not match the proof: $3 differs" err ||
        fail "$2: $(cat err)"
    [[ ! -s out ]] || fail "$2: printed $(cat out)"
}
header()
{ # header NAME VALUE: a jq filter setting the value of header NAME
    printf '.headers |= (. as $h | [range(0; length)] |
        map(if . %% 2 == 1 and $h[. - 1] == "%s" then "%s" else $h[.] end))' "$1" "$2"
}
altered 0 '.key = "sensor-2"' key
altered 0 '.key = null' key
altered 1 '.key = ""' key
altered 2 '.key = null' key
altered 0 '.payload = "{\"t\":21.5}"' value
altered 0 '.payload = null' value
altered 4 '.payload = null' value
altered 2 '.payload |= sub("tab"; "Tab")' value
altered 0 "$(header merkql.topic other)" topic
altered 0 "$(header merkql.partition 1)" partition
altered 0 "$(header merkql.offset 1)" offset
altered 3 "$(header merkql.timestamp 1969-07-20T20:17:40.123456788Z)" timestamp
altered 0 '.ts = 1714564800001' timestamp
altered 2 '.ts = 0' timestamp
altered 0 "$(header merkql.hash "$(jq -r .record_hash p1.json)")" hash
# The record of another offset, against this proof.
expect_exit 1 "$M" verify-proof --proof p0.json --kafka-record rec1.json --root "$root" 2> err
grep -q "offset differs: the Kafka record has merkql.offset 1, the proof is of offset 0" err ||
    fail "other record: $(cat err)"

# The proof is still checked: a tampered proof or another root is exit 1.
jq '.siblings[0].hash |= (.[0:63] + (if .[63:64] == "0" then "1" else "0" end))' p0.json > tp.json
expect_exit 1 "$M" verify-proof --proof tp.json --kafka-record rec0.json 2> err
grep -q "^merkql: proof invalid: " err || fail "tampered proof: $(cat err)"
expect_exit 1 "$M" verify-proof --proof p0.json --kafka-record rec0.json --root "$(printf '%064d' 0)" \
    2> err
grep -q "not to the given root" err || fail "other root: $(cat err)"
echo '{"version":1' > broken.json
expect_exit 1 "$M" verify-proof --proof broken.json --kafka-record rec0.json 2> /dev/null

# A line that is not a kcat record, or not one merkql forwarded: exit 65.
malformed()
{ # malformed FILE REASON
    expect_exit 65 "$M" verify-proof --proof p0.json --kafka-record "$1" --root "$root" \
        > out 2> err
    grep -q "$2" err || fail "$1: $(cat err)"
    [[ ! -s out ]] || fail "$1: printed $(cat out)"
}
echo '{"topic":' > m.json
malformed m.json "not a kcat -J record line: invalid JSON"
: > m.json
malformed m.json "not a kcat -J record line: invalid JSON"
echo '[]' > m.json
malformed m.json "not a JSON object"
cat rec0.json rec1.json > m.json # two lines, as kcat writes a partition
malformed m.json "invalid JSON"
sed 's/}$/,"payload":"x"}/' rec0.json > m.json
malformed m.json 'member "payload" appears more than once'
jq -c 'del(.payload)' rec0.json > m.json
malformed m.json 'member "payload"'
jq -c 'del(.key)' rec0.json > m.json
malformed m.json 'member "key"'
jq -c '.offset = "0"' rec0.json > m.json
malformed m.json 'member "offset"'
jq -c '.headers = .headers[0:9]' rec0.json > m.json
malformed m.json 'member "headers"'
jq -c '.headers[1] = null' rec0.json > m.json
malformed m.json "header merkql.topic has a null value"
jq -c 'del(.headers)' rec0.json > m.json
malformed m.json "not a record forwarded by merkql: header merkql.topic is missing"
for name in merkql.topic merkql.partition merkql.offset merkql.timestamp; do
    jq -c --arg n "$name" '.headers as $h | .headers = [range(0; $h | length; 2) |
        select($h[.] != $n) | $h[.], $h[. + 1]]' rec0.json > m.json
    assert_eq 8 "$(jq '.headers | length' m.json)" "headers without $name"
    malformed m.json "header $name is missing"
done
jq -c '.headers += ["merkql.offset", "0"]' rec0.json > m.json
malformed m.json "header merkql.offset appears more than once"
malformed_header()
{ # malformed_header NAME VALUE REASON
    jq -c "$(header "$1" "$2")" rec0.json > m.json
    malformed m.json "header $1 $3"
}
malformed_header merkql.offset 007 "is not an offset"
malformed_header merkql.offset +0 "is not an offset"
malformed_header merkql.offset 18446744073709551616 "is not an offset"
malformed_header merkql.partition 4294967296 "is not a partition number"
malformed_header merkql.timestamp 2024-05-01T12:00:00.000Z "is not a timestamp as merkql writes it"
malformed_header merkql.timestamp 2024-05-01T14:00:00+02:00 "is not a timestamp as merkql writes it"
malformed_header merkql.hash "$(jq -r .record_hash p0.json | tr a-f A-F)" "is not 64 lowercase hex"
# kcat writes a value that is not UTF-8 as raw bytes: not JSON, refused.
printf '{"key":null,"payload":"\xff\xfe"}\n' > m.json
malformed m.json "not UTF-8"
# Missing, unreadable, both on standard input, or without --proof.
expect_exit 66 "$M" verify-proof --proof p0.json --kafka-record nosuch.json 2> /dev/null
expect_exit 74 "$M" verify-proof --proof p0.json --kafka-record . 2> /dev/null
expect_exit 2 "$M" verify-proof --proof - --kafka-record - < rec0.json 2> /dev/null
expect_exit 2 "$M" verify-proof --kafka-record rec0.json 2> /dev/null
expect_exit 2 "$M" verify-proof --kafka-record rec0.json -t things --partition 0 --offset 0 \
    2> /dev/null

# docs/AUDIT.md's Kafka step, as written, on the walk-through's data: the
# record at offset 120 as kcat would print it from the Kafka topic.
awk '/^```sh$/ {on = 1; next} /^```$/ {on = 0} on' "$doc" > walkthrough.sh
grep -q 'record-120.json' walkthrough.sh || fail "AUDIT.md no longer makes record-120.json"
awk '/^```shell$/ {on = 1; next} /^```$/ {on = 0} on' "$doc" > kafka-step.sh
grep -q '^merkql verify-proof --proof record-120.json --kafka-record kafka-120.json' kafka-step.sh ||
    fail "AUDIT.md has no Kafka step: $(cat kafka-step.sh)"
mkdir walk && cd walk
unset MERKQL_DIR
bin_dir=$(mktemp -d "$T/bin.XXXXXX")
ln -s "$M" "$bin_dir/merkql"
PATH="$bin_dir:$PATH" bash -u ../walkthrough.sh > /dev/null 2> err || fail "walk-through: $(cat err)"
"$M" -d ../walk/data consume -t readings -g kafka-doc --no-commit | sed -n 121p > c120.json
kcat_line record-120.json c120.json > kafka-120.json
grep '^merkql verify-proof' ../kafka-step.sh > verify-step.sh
PATH="$bin_dir:$PATH" bash -eu verify-step.sh > out 2> err || fail "AUDIT.md Kafka step: $(cat err)"
grep -q '^proof valid: offset 120 of readings/0 is in the tree of 150 records' out ||
    fail "AUDIT.md Kafka step: $(cat out)"
grep -q '^Kafka record matches (Kafka readings/0 offset 120): it is offset 120 of readings/0' out ||
    fail "AUDIT.md Kafka step: $(cat out)"
jq -c '.payload = "{\"reading\":999}"' kafka-120.json > forged.json
expect_exit 1 "$M" verify-proof --proof record-120.json --kafka-record forged.json \
    --checkpoint checkpoint-150 --key operator.pub 2> err
grep -q "value differs" err || fail "forged Kafka record: $(cat err)"
# Against a checkpoint of another size the proof is refused first.
expect_exit 1 "$M" verify-proof --proof record-120.json --kafka-record kafka-120.json \
    --checkpoint checkpoint-100 --key operator.pub 2> err
grep -q "the checkpoint's tree has 100" err || fail "checkpoint size: $(cat err)"
cd ..
echo "kafka_record: ok"
