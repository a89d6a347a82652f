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
# An unknown option is named as unknown, with the option meant, before a
# missing required option (here --topic and --group).
"$M" consume --topik x 2> err && fail "--topik accepted"
grep -q "unknown option --topik (did you mean --topic?)" err || fail "--topik: $(cat err)"
expect_exit 2 "$M" consume --topik x
"$M" inspect --dri=x 2> err || true
grep -q "unknown option --dri (did you mean --dir?)" err || fail "--dri: $(cat err)"
grep -q "Run 'merkql inspect --help'" err || fail "--dri: no pointer to the command's help"
"$M" --bogus 2> err || true
grep -q "unknown option --bogus$" err || fail "--bogus: $(cat err)"
# Nothing was created by refused commands.
[[ ! -e $MERKQL_DIR ]] || fail "a refused command created the data directory"

# Global options after the command, in every form, and --help of each
# command lists them.
unset MERKQL_DIR
echo '{"a":1}' | "$M" produce -t t -d "$T/after"
echo '{"a":2}' | "$M" produce -t t --dir "$T/after" --no-wait --no-progress
grep -q "^t" < <("$M" inspect -d "$T/after") || fail "inspect -d DIR after the command"
"$M" inspect --dir="$T/after" --json | jq -e '.topics | length == 1' > /dev/null ||
    fail "inspect --dir=DIR after the command"
n=$("$M" consume -t t -g g --dir="$T/after" | wc -l)
assert_eq 2 "$n" "consume -t t -g g --dir=DIR"
# Given twice, the last one counts, as for any option.
"$M" -d "$T/nowhere" inspect -d "$T/after" > /dev/null || fail "-d before and after the command"
expect_exit 66 "$M" -d "$T/after" inspect -d "$T/nowhere"
for sub in produce consume commit inspect verify-proof du compact keygen checkpoint; do
    "$M" $sub --help > help.txt
    grep -q "^Global options:" help.txt || fail "merkql $sub --help lists no global options"
    for opt in -d,--dir --no-wait --no-progress; do
        grep -q -- "^  $opt" help.txt || fail "merkql $sub --help lacks $opt"
    done
done
echo "usage: ok"
