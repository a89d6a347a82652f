#!/usr/bin/env bash
# merkql keygen, checkpoint and verify-proof --checkpoint end to end, and a
# cross-check both ways with Go's golang.org/x/mod/sumdb/note (Debian:
# golang-go, golang-golang-x-mod-dev; scripts/install-deps --tests). Without
# Go the cross-check is skipped with a loud message, or fails when
# MERKQL_REQUIRE_GO=1.
source "$(dirname "$0")/lib.sh"
go_src=$(cd "$(dirname "$0")/../go/notecheck" && pwd)
cd "$T"

for i in $(seq 0 4); do echo "{\"i\":$i}"; done | "$M" produce -t events > /dev/null

# hex_of_base64 TEXT: the bytes of base64 TEXT as lowercase hex.
hex_of_base64() { printf '%s' "$1" | base64 -d | od -An -v -tx1 | tr -d ' \n'; }

# keygen: the two files, their formats and modes; never an overwrite.
out=$("$M" keygen --name example.com/log --out log)
[[ $(stat -c %a log.key) == 600 ]] || fail "log.key mode $(stat -c %a log.key)"
grep -Eqx 'PRIVATE\+KEY\+example\.com/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}' log.key ||
    fail "signer key format: $(cat log.key)"
grep -Eqx 'example\.com/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}' log.pub ||
    fail "verifier key format: $(cat log.pub)"
[[ $out == *"$(cat log.pub)"* ]] || fail "keygen does not print the verifier key: $out"
cp log.key log.key.orig
cp log.pub log.pub.orig
expect_exit 74 "$M" keygen --name other --out log 2> err
grep -q "already exists" err || fail "overwrite message: $(cat err)"
cmp -s log.key log.key.orig && cmp -s log.pub log.pub.orig || fail "keygen changed existing keys"
touch half.pub
expect_exit 74 "$M" keygen --name half --out half 2> /dev/null
[[ ! -e half.key ]] || fail "keygen left half.key behind"
expect_exit 2 "$M" keygen --name "two words" --out bad 2> /dev/null
expect_exit 2 "$M" keygen --name "a+b" --out bad 2> /dev/null
[[ ! -e bad.key && ! -e bad.pub ]] || fail "keygen wrote keys for a bad name"
"$M" keygen --name witness.example --out witness > /dev/null

# checkpoint: the body, its root equal to the tree's at that size.
root=$("$M" inspect --json -t events | jq -r '.topics[0].partitions[0].root')
"$M" checkpoint -t events --partition 0 > body
assert_eq 3 "$(wc -l < body)" "unsigned checkpoint lines"
assert_eq "merkql/events/0" "$(sed -n 1p body)" "default unsigned origin"
assert_eq 5 "$(sed -n 2p body)" "size"
assert_eq "$root" "$(hex_of_base64 "$(sed -n 3p body)")" "checkpoint root = inspect root"
"$M" verify-proof -t events --partition 0 --offset 0 --tree-size 3 --out p3.json
"$M" checkpoint -t events --partition 0 --size 3 --origin example.com/events > body3
assert_eq "example.com/events" "$(sed -n 1p body3)" "--origin"
assert_eq 3 "$(sed -n 2p body3)" "--size"
assert_eq "$(jq -r .root p3.json)" "$(hex_of_base64 "$(sed -n 3p body3)")" "root at size 3"
expect_exit 66 "$M" checkpoint -t events --partition 0 --size 6 2> err
grep -q "beyond the partition's 5 records" err || fail "size beyond: $(cat err)"
expect_exit 66 "$M" checkpoint -t events --partition 0 --size 0 2> /dev/null
expect_exit 66 "$M" checkpoint -t nosuch --partition 0 2> /dev/null
expect_exit 66 "$M" checkpoint -t events --partition 7 2> /dev/null
expect_exit 2 "$M" checkpoint -t events --partition 0 --size -1 2> /dev/null
expect_exit 2 "$M" checkpoint -t events --partition 0 --origin '' 2> /dev/null
expect_exit 65 "$M" checkpoint -t events --partition 0 --sign log.pub 2> /dev/null
expect_exit 66 "$M" checkpoint -t events --partition 0 --sign nosuch.key 2> /dev/null

# Signed: verifies with the key, offline; prints origin, size and root.
"$M" checkpoint -t events --partition 0 --sign log.key > cp
assert_eq "example.com/log/events/0" "$(sed -n 1p cp)" "default signed origin"
head -n 3 cp | cmp -s - <(sed 's|^merkql/|example.com/log/|' body) || fail "signed body differs"
assert_eq "" "$(sed -n 4p cp)" "blank line before the signature"
sed -n 5p cp | grep -Eqx '— example\.com/log [A-Za-z0-9+/]{91}=' || fail "signature line: $(sed -n 5p cp)"
assert_eq 5 "$(wc -l < cp)" "signed checkpoint lines"
mkdir offline
cp cp log.pub witness.pub offline/
(
    cd offline
    unset MERKQL_DIR
    out=$("$M" verify-proof --checkpoint cp --key log.pub)
    assert_eq "checkpoint valid: signed by $(cat log.pub)
origin example.com/log/events/0
size 5
root $root" "$out" "verify-proof --checkpoint output"
    [[ ! -e merkql-data ]] || fail "verify-proof --checkpoint created a data directory"

    # Another key, a tampered size, root, origin or signature: exit 1.
    expect_exit 1 "$M" verify-proof --checkpoint cp --key witness.pub 2> err
    grep -q "no signature by key witness.example" err || fail "other key: $(cat err)"
    sed '2s/5/4/' cp > t1
    sed '3s/^./A/;3s/^AA/BA/' cp > t2
    sed '1s/log/l0g/' cp > t3
    sed '5s/ .\(.\)/ A\1/;5s/ AA/ BA/' cp > t4
    sed '4d' cp > t5
    for t in t1 t2 t3 t4 t5; do
        ! cmp -s cp $t || fail "$t is not altered"
        expect_exit 1 "$M" verify-proof --checkpoint $t --key log.pub 2> /dev/null
    done
    head -c 70000 /dev/zero | tr '\0' 'a' > big
    expect_exit 1 "$M" verify-proof --checkpoint big --key log.pub 2> err
    grep -q "larger than" err || fail "big note: $(cat err)"
    # Bad or missing key files.
    expect_exit 65 "$M" verify-proof --checkpoint cp --key cp 2> /dev/null
    sed 's/+A/+B/' log.pub > wrongalg.pub
    expect_exit 65 "$M" verify-proof --checkpoint cp --key wrongalg.pub 2> err
    grep -q "unknown key algorithm" err || fail "wrong algorithm: $(cat err)"
    expect_exit 66 "$M" verify-proof --checkpoint cp --key nosuch.pub 2> /dev/null
    expect_exit 66 "$M" verify-proof --checkpoint nosuch --key log.pub 2> /dev/null
    expect_exit 2 "$M" verify-proof --checkpoint cp 2> /dev/null
    expect_exit 2 "$M" verify-proof --checkpoint cp --key log.pub --all 2> /dev/null
)

# A witness's cosignature next to ours: verifies with either key.
"$M" checkpoint -t events --partition 0 --sign witness.key --origin example.com/log/events/0 > wcp
{ cat cp; tail -n 1 wcp; } > cosigned
"$M" verify-proof --checkpoint cosigned --key log.pub > /dev/null
"$M" verify-proof --checkpoint cosigned --key witness.pub > /dev/null

# Cross-check with Go's note package, both ways.
if ! command -v go > /dev/null || [[ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note ]]; then
    msg="Go cross-check SKIPPED: go or golang.org/x/mod missing (apt-get install golang-go golang-golang-x-mod-dev, or scripts/install-deps --tests)"
    [[ ${MERKQL_REQUIRE_GO:-0} == 1 ]] && fail "$msg"
    echo "checkpoint: WARNING: $msg" >&2
    echo "checkpoint: ok (without the Go cross-check)"
    exit 0
fi
# Debian installs the package's source under /usr/share/gocode: build in
# GOPATH mode, offline, with a private build cache.
(cd "$go_src" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$T/gocache" \
    CGO_ENABLED=0 go build -o "$T/notecheck" .) || fail "building the Go helper"
# Go opens what merkql signed, and refuses it altered or with the wrong key.
"$T/notecheck" open log.pub < cp > go_text || fail "Go's note.Open refused merkql's checkpoint"
head -n 3 cp | cmp -s - go_text || fail "Go's note text differs from the checkpoint body"
"$T/notecheck" open witness.pub < cosigned > /dev/null || fail "Go refused the cosigned note"
expect_exit 1 "$T/notecheck" open log.pub < offline/t1 2> /dev/null
expect_exit 1 "$T/notecheck" open witness.pub < cp 2> /dev/null
# merkql verifies what Go signed with a merkql-generated key.
head -n 3 cp | "$T/notecheck" sign log.key > go_cp
cmp -s go_cp cp || fail "Go's signature bytes differ from merkql's (Ed25519 is deterministic)"
printf 'example.com/other\n3\n%s\n' "$(sed -n 3p body3)" | "$T/notecheck" sign witness.key > go_cp3
out=$("$M" verify-proof --checkpoint go_cp3 --key witness.pub)
[[ $out == *"size 3"* && $out == *"root $(jq -r .root p3.json)"* ]] || fail "Go-signed: $out"
# A validly signed note that is not a checkpoint is refused.
printf 'example.com/log\n1.5\nnot base64\n' | "$T/notecheck" sign log.key > go_bad
expect_exit 1 "$M" verify-proof --checkpoint go_bad --key log.pub 2> err
grep -q "not a checkpoint" err || fail "signed non-checkpoint: $(cat err)"
echo "checkpoint: ok (Go cross-check included)"
