#!/usr/bin/env bash
# merkql du never follows a symbolic link (self-links do not hang it, a
# link to / is not walked, a file outside is not counted) and reports the
# disk space allocated to files, not their apparent size.
source "$(dirname "$0")/lib.sh"
cd "$T"

echo '{"a":1}' | "$M" produce -t t
echo '{"a":1}' | "$M" consume -t t -g g > /dev/null
g=$MERKQL_DIR/groups/g
before=$("$M" du --json | jq .groups_bytes)

ln -s . "$g/a"
ln -s . "$g/b"
ln -s / "$g/root"
head -c $((8 << 20)) /dev/zero > outside
ln -s "$T/outside" "$g/big"
timeout 20 "$M" du --json > du.json || fail "du did not finish with self-links and a link to /"
after=$(jq .groups_bytes du.json)
((after < before + 65536)) || fail "du counted what links point to: $before -> $after bytes"

# Allocated space: a sparse 64 MiB file in a group counts what it occupies.
truncate -s 64M "$g/sparse"
sparse=$("$M" du --json | jq .groups_bytes)
((sparse < after + 65536)) || fail "du counted the apparent size of a sparse file ($sparse bytes)"
echo "du_links: ok"
