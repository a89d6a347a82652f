#!/usr/bin/env bash
# Usage: --help everywhere, --version, unknown commands and options, bad names.
source "$(dirname "$0")/lib.sh"
cd "$T"

for sub in "" produce consume commit inspect verify-proof du compact; do
    "$M" $sub --help > help.txt || fail "merkql $sub --help failed"
    grep -q "Usage:" help.txt || fail "merkql $sub --help printed no usage"
done
[[ $("$M" --version) == "merkql "* ]] || fail "--version"

expect_exit 2 "$M"
expect_exit 2 "$M" bogus
"$M" bogus 2> err || true
grep -q "unknown command 'bogus'" err || fail "unknown command message: $(cat err)"
expect_exit 2 "$M" produce -t t --no-such-option
expect_exit 2 "$M" consume -t t -g 'bad/name'
expect_exit 2 "$M" consume -t .. -g g
expect_exit 2 "$M" produce -t "$(printf 'x%.0s' $(seq 1 250))" < /dev/null
expect_exit 2 "$M" produce -t t --batch 0 < /dev/null
expect_exit 2 "$M" produce -t t --input yaml < /dev/null
# Nothing was created by refused commands.
[[ ! -e $MERKQL_DIR ]] || fail "a refused command created the data directory"
echo "usage: ok"
