#!/usr/bin/env bash
# kill -9 and concurrency soak. Each round runs together: producers
# (`produce --ack`, each input line carrying a unique id), a `consume --follow`
# member of group alpha (which commits what it writes), a `consume --no-commit
# --max N` reader of group beta with `commit` processes committing what beta
# read in the round before, `compact` and `verify-proof --all`; then kills a
# random subset of them with SIGKILL at a random instant. After each round:
# - every acknowledged record is stored once, at its acknowledged offset,
#   with its exact value bytes, key and timestamp (and, for a sample, the
#   acknowledged hash); every stored record is one that was sent, intact;
# - offsets are dense;
# - no group is re-delivered anything below its last acknowledged commit, or
#   skips a record above the retention watermark, and what a group reads is
#   what is stored;
# - committed offsets are at or after the last acknowledged commit and never
#   past what the group read;
# - every process that was not killed exited 0 (audits run during compaction
#   included), and `verify-proof --all` passes.
# The topic has retention and 8 KiB segments, so compaction removes segments
# every few rounds. The CLI cannot set a segment size, so the script writes
# the topic's TOPIC file (docs/FORMAT.md §Topic) right after creating it.
#
# SOAK_ROUNDS rounds (default 200), stopped early after SOAK_SECONDS of
# wall-clock time (default 600); SOAK_ROUNDS=5000 SOAK_SECONDS=0 is the long
# mode (0: no time limit). SOAK_SEED makes a run repeatable.

# Run in a process group of our own so that nothing is left behind.
if [[ ${MERKQL_SOAK_GROUP:-} != "$$" ]]; then
    export MERKQL_SOAK_GROUP=
    exec setsid -w bash -c 'export MERKQL_SOAK_GROUP=$$; exec bash "$0" "$@"' "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
cd "$T" || exit

kill_group()
{
    local pids
    pids=$(pgrep -g "$MERKQL_SOAK_GROUP" | grep -vx "$MERKQL_SOAK_GROUP" || true)
    if [[ -n $pids ]]; then
        # shellcheck disable=SC2086
        kill -9 $pids 2> /dev/null || true
    fi
    wait 2> /dev/null || true
    cleanup
}
trap kill_group EXIT
trap 'exit 130' INT TERM

rounds=${SOAK_ROUNDS:-200}
max_seconds=${SOAK_SECONDS:-600}
RANDOM=${SOAK_SEED:-$$}
echo "soak: seed ${SOAK_SEED:-$$}, up to $rounds rounds, time limit ${max_seconds}s"
topic=soak
retention=1000
partitions=2

# The exact value line of record id rRpKiI.
gen_awk='function gen(r, k, i) {
    return sprintf("{\"id\":\"r%dp%di%d\",\"k\":\"p%d-%d\",\"pad\":\"%s\"}", r, k, i, k, i % 5,
                   substr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 20 + (r * 7 + k * 3 + i) % 40))
}'
gen_lines()
{ # gen_lines ROUND PRODUCER COUNT
    awk -v r="$1" -v k="$2" -v n="$3" "$gen_awk"' BEGIN { for (i = 0; i < n; i++) print gen(r, k, i) }'
}

# crc32c BYTE...: CRC-32C (Castagnoli) of the given byte values.
crc32c()
{
    local crc=$((0xFFFFFFFF)) b k
    for b in "$@"; do
        crc=$((crc ^ b))
        for k in 1 2 3 4 5 6 7 8; do
            if ((crc & 1)); then crc=$(((crc >> 1) ^ 0x82F63B78)); else crc=$((crc >> 1)); fi
        done
    done
    echo $((crc ^ 0xFFFFFFFF))
}
le_bytes()
{ # le_bytes VALUE WIDTH: little-endian byte values
    local v=$1 i
    for ((i = 0; i < $2; i++)); do
        echo $(((v >> (8 * i)) & 255))
    done
}
write_topic_file()
{ # write_topic_file PATH PARTITIONS RETENTION SEGMENT_BYTES (LZ4)
    local bytes
    mapfile -t bytes < <(le_bytes $((0x5054514d)) 4; le_bytes 1 4; le_bytes "$2" 4
        echo 1; echo 1; echo 0; echo 0; le_bytes "$3" 8; le_bytes "$4" 8)
    mapfile -t -O 32 bytes < <(le_bytes "$(crc32c "${bytes[@]}")" 4)
    printf "$(printf '\\x%02x' "${bytes[@]}")" > "$1.soak-tmp"
    mv "$1.soak-tmp" "$1"
}
# The checksum matches the example in docs/FORMAT.md §Examples.
assert_eq $((0x6f8ee9a3)) "$(crc32c 0x4d 0x51 0x54 0x50 1 0 0 0 1 0 0 0 1 1 0 0 0xf4 1 0 0 0 0 0 0 0 0 0 8 0 0 0 0)" \
    "CRC-32C of the example TOPIC"

# Round 0 creates the topic with one record.
gen_lines 0 0 1 > in.0.0
"$M" produce -t $topic --partitions $partitions --retention-records $retention --segment-bytes 8192 \
    --key-field k --ack < in.0.0 > ack.0.0

declare -A checked_end    # per partition: offsets below are verified
declare -A delivered_end  # per group:partition: past the highest offset delivered
declare -A commit_acked   # per group:partition: last acknowledged commit
for p in $(seq 0 $((partitions - 1))); do
    checked_end[$p]=0
    for g in alpha beta; do
        delivered_end[$g:$p]=0
        commit_acked[$g:$p]=0
    done
done
: > store.tsv # partition, offset, timestamp, key, value of every retained record
: > ids       # every id ever stored

# consumed_tsv FILE: whole consumed JSON lines as partition offset timestamp key value.
consumed_tsv()
{
    sed -n 's/^{"topic":"'$topic'","partition":\([0-9]*\),"offset":\([0-9]*\),"timestamp":"\([^"]*\)","ts":-\{0,1\}[0-9]*,"key":"\([^"]*\)","value":\(.*\)}$/\1\t\2\t\3\t\4\t\5/p' "$1"
}

# check_round ROUND: the checks after a round (see the top of this file).
records_checked=0
kills=0
declare -A killed_kinds
check_round()
{
    local r=$1 p g out problem
    "$M" verify-proof --all > audit.after 2>&1 || fail "round $r: the audit fails after the round: $(cat audit.after)"

    # Everything stored since the last check, through a checking group.
    for p in $(seq 0 $((partitions - 1))); do
        "$M" commit -g check -t $topic --partition "$p" --offset "${checked_end[$p]}"
    done
    "$M" consume -t $topic -g check --no-commit > dump.json
    consumed_tsv dump.json > dump.tsv
    assert_eq "$(wc -l < dump.json)" "$(wc -l < dump.tsv)" "round $r: well-formed consumed lines"
    # Dense, from where the last check ended; each value is the line sent for its id.
    out=$(awk -F '\t' -v ends="$(for p in "${!checked_end[@]}"; do echo -n "$p=${checked_end[$p]} "; done)" \
        "$gen_awk"'
        BEGIN { n = split(ends, e, " "); for (i = 1; i <= n; i++) { split(e[i], kv, "="); next_off[kv[1]] = kv[2] } }
        {
            if ($2 != next_off[$1]) { print "offset " $1 "/" $2 " where " next_off[$1] " was expected"; exit }
            next_off[$1] = $2 + 1
            if (!match($5, /"id":"r[0-9]+p[0-9]+i[0-9]+"/)) { print "record " $1 "/" $2 " was never sent: " $5; exit }
            id = substr($5, RSTART + 6, RLENGTH - 7)
            split(substr(id, 2), a, /[pi]/)
            if ($5 != gen(a[1], a[2], a[3])) { print "record " $1 "/" $2 " is not the line sent: " $5; exit }
            if ($4 != "p" a[2] "-" a[3] % 5) { print "record " $1 "/" $2 " has key " $4; exit }
            print id > "ids.new"
        }
        END { for (p in next_off) print "END " p " " next_off[p] }' dump.tsv)
    problem=$(grep -v '^END ' <<< "$out" || true)
    [[ -z $problem ]] || fail "round $r: $problem"
    touch ids.new
    sort ids ids.new | uniq -d > dup
    [[ ! -s dup ]] || fail "round $r: stored more than once: $(head -n 3 dup | tr '\n' ' ')"
    cat ids.new >> ids
    rm -f ids.new
    local end
    declare -A wm
    for p in $(seq 0 $((partitions - 1))); do
        end=$(awk -v p="$p" '$1 == "END" && $2 == p { print $3 }' <<< "$out")
        checked_end[$p]=${end:-${checked_end[$p]}}
        wm[$p]=$((checked_end[$p] > retention ? checked_end[$p] - retention : 0))
    done
    cat dump.tsv >> store.tsv

    # Every acknowledged record of the round, at its offset, byte for byte.
    local acks k
    for acks in ack."$r".*; do
        k=${acks##*.}
        sed -n 's/^{"topic":"'$topic'","partition":\([0-9]*\),"offset":\([0-9]*\),"timestamp":"\([^"]*\)","hash":"\([0-9a-f]\{64\}\)"}$/\1\t\2\t\3\t\4/p' \
            "$acks" > acked.tsv
        head -n "$(wc -l < acked.tsv)" "in.$r.$k" | paste acked.tsv - > expected.tsv
        out=$(awk -F '\t' 'NR == FNR { ts[$1 "/" $2] = $3; key[$1 "/" $2] = $4; val[$1 "/" $2] = $5; next }
            {
                at = $1 "/" $2
                if (!(at in val)) { print "acknowledged " at " is not stored (or was stored before)"; exit }
                if (val[at] != $5) { print "acknowledged " at " holds " val[at] ", not " $5; exit }
                if (ts[at] != $3) { print "acknowledged " at " has timestamp " ts[at] ", not " $3; exit }
                n++
            }
            END { print "CHECKED " n + 0 }' dump.tsv expected.tsv)
        [[ $out == CHECKED* ]] || fail "round $r, producer $k: $out"
        records_checked=$((records_checked + ${out#CHECKED }))
    done
    # The acknowledged hash of one acknowledged record of the round.
    local sample
    sample=$(cat ack."$r".* | sed -n 's/^{"topic":"'$topic'","partition":\([0-9]*\),"offset":\([0-9]*\),.*"hash":"\([0-9a-f]\{64\}\)"}$/\1 \2 \3/p' |
        awk -v pick=$RANDOM '{ line[NR] = $0 } END { if (NR) print line[pick % NR + 1] }')
    if [[ -n $sample ]]; then
        read -r p offset hash <<< "$sample"
        assert_eq "$hash" "$("$M" inspect -t $topic --partition "$p" --offset "$offset" --json | jq -r .record_hash)" \
            "round $r: hash of acknowledged $p/$offset"
    fi

    # What each group read: what is stored, never below its last
    # acknowledged commit, no record skipped above the watermark.
    for g in alpha beta; do
        consumed_tsv "$g.$r.out" > "$g.tsv"
        out=$(awk -F '\t' -v ends="$(for p in $(seq 0 $((partitions - 1))); do
                echo -n "$p=${delivered_end[$g:$p]}:${commit_acked[$g:$p]}:${wm[$p]} "
            done)" '
            BEGIN {
                n = split(ends, e, " ")
                for (i = 1; i <= n; i++) { split(e[i], kv, "[=:]"); dend[kv[1]] = kv[2]; acked[kv[1]] = kv[3]; wm[kv[1]] = kv[4] }
            }
            NR == FNR { val[$1 "/" $2] = $5; next }
            {
                at = $1 "/" $2
                if (!(at in val)) { print "read " at " that is not stored"; exit }
                if (val[at] != $5) { print "read " at " as " $5 ", stored " val[at]; exit }
                if ($2 < acked[$1]) { print "re-delivered " at " below the acknowledged commit " acked[$1]; exit }
                if (!($1 in last)) {
                    if ($2 > dend[$1] && $2 > wm[$1]) { print "started at " at ", past " dend[$1] " and the watermark " wm[$1]; exit }
                } else if ($2 != last[$1] + 1 && $2 > wm[$1]) {
                    print "skipped from " $1 "/" last[$1] " to " at; exit
                }
                last[$1] = $2
            }
            END { for (p in last) print "LAST " p " " last[p] + 1 }' store.tsv "$g.tsv")
        problem=$(grep -v '^LAST ' <<< "$out" || true)
        [[ -z $problem ]] || fail "round $r: group $g $problem"
        records_checked=$((records_checked + $(wc -l < "$g.tsv")))
        while read -r _ p end; do
            ((end > ${delivered_end[$g:$p]})) && delivered_end[$g:$p]=$end
            if [[ $g == alpha && ${alpha_clean:-0} == 1 ]] && ((end > ${commit_acked[$g:$p]})); then
                commit_acked[$g:$p]=$end # alpha exited 0: it committed what it wrote
            fi
        done < <(grep '^LAST ' <<< "$out")
    done

    # Commits of beta acknowledged in the round count from now on.
    for p in "${!beta_committed[@]}"; do
        commit_acked[beta:$p]=${beta_committed[$p]}
    done

    # Committed offsets: at or after the acknowledged commit, never past
    # what the group read (or the watermark a position jumps to).
    "$M" inspect --json > inspect.json
    for g in alpha beta; do
        for p in $(seq 0 $((partitions - 1))); do
            local committed bound
            committed=$(jq -r --arg g $g --argjson p "$p" \
                '[.groups[] | select(.name == $g) | .offsets[] | select(.partition == $p) | .committed][0] // "none"' inspect.json)
            if [[ $committed == none ]]; then
                ((${commit_acked[$g:$p]} == 0)) || fail "round $r: group $g lost its commit of partition $p"
                continue
            fi
            ((committed >= ${commit_acked[$g:$p]})) ||
                fail "round $r: group $g partition $p is committed at $committed, behind the acknowledged ${commit_acked[$g:$p]}"
            bound=${delivered_end[$g:$p]}
            ((wm[$p] > bound)) && bound=${wm[$p]}
            ((committed <= bound)) ||
                fail "round $r: group $g partition $p is committed at $committed, past what it read ($bound)"
        done
    done
    # Keep only what retention still keeps.
    awk -F '\t' -v w0="${wm[0]}" -v w1="${wm[1]}" '($1 == 0 && $2 >= w0) || ($1 == 1 && $2 >= w1)' store.tsv > store.new
    mv store.new store.tsv
    rm -f ./*."$((r - 1))".* "audit.$((r - 1))"
}

# launch NAME STDIN STDOUT ARG...: runs merkql ARG... in the background after
# a random delay of 0-99 ms, its stderr in err.ROUND.NAME.
launch()
{
    local name=$1 in=$2 out=$3 delay
    shift 3
    delay=$((RANDOM % 100))
    (sleep "$(printf '0.%03d' $delay)" && exec "$M" "$@") < "$in" > "$out" 2> "err.$r.$name" &
    pids+=($!)
    names+=("$name")
    delays+=("$delay")
}
# running_merkql PID: PID is merkql itself (not still waiting to start), not finished.
running_merkql()
{
    [[ $(cat "/proc/$1/comm" 2> /dev/null) == merkql ]] &&
        [[ $(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null) != Z ]]
}

start=$SECONDS
done_rounds=0
for r in $(seq 1 "$rounds"); do
    if ((max_seconds > 0 && SECONDS - start >= max_seconds)); then
        echo "soak: time limit reached after $done_rounds rounds"
        break
    fi
    pids=()
    names=()
    delays=()
    # Producers.
    for k in 1 2 3; do
        gen_lines "$r" "$k" $((20 + RANDOM % 180)) > "in.$r.$k"
        launch "produce$k" "in.$r.$k" "ack.$r.$k" \
            produce -t $topic --key-field k --batch $((1 + RANDOM % 8)) --ack
    done
    # Group alpha follows and commits what it writes.
    launch alpha /dev/null "alpha.$r.out" consume -t $topic -g alpha --from earliest --follow
    # Group beta reads without committing; committers commit what beta read before.
    launch beta /dev/null "beta.$r.out" \
        consume -t $topic -g beta --from earliest --no-commit --max $((1 + RANDOM % 150))
    declare -A beta_target=() beta_committed=()
    for p in $(seq 0 $((partitions - 1))); do
        if ((${delivered_end[beta:$p]} > ${commit_acked[beta:$p]})); then
            beta_target[$p]=${delivered_end[beta:$p]}
            launch "commit$p" /dev/null /dev/null \
                commit -g beta -t $topic --partition "$p" --offset "${beta_target[$p]}"
        fi
    done
    launch compact /dev/null /dev/null compact
    launch audit /dev/null "audit.$r" verify-proof --all

    # SIGKILL for a random half of the processes, each at a random instant
    # of its run (short-lived commands within their first 40 ms), if it is
    # still running then. (Job notices of the shell go to /dev/null.)
    {
        plan=()
        for i in "${!pids[@]}"; do
            if ((RANDOM % 2)); then
                case ${names[$i]} in
                produce* | alpha) window=250 ;;
                *) window=40 ;;
                esac
                plan+=("$((delays[i] + RANDOM % window)) $i")
            fi
        done
        t0=${EPOCHREALTIME/./}
        declare -A killed=()
        while read -r at i; do
            [[ -n $at ]] || continue
            wait_us=$((t0 + at * 1000 - ${EPOCHREALTIME/./}))
            ((wait_us > 0)) && sleep "$(printf '%d.%06d' $((wait_us / 1000000)) $((wait_us % 1000000)))"
            if running_merkql "${pids[$i]}" && kill -9 "${pids[$i]}"; then
                killed[$i]=1
                kills=$((kills + 1))
                kind=${names[$i]%%[0-9]*}
                killed_kinds[$kind]=$((${killed_kinds[$kind]:-0} + 1))
            fi
        done < <(printf '%s\n' "${plan[@]}" | sort -n)
        for i in "${!pids[@]}"; do
            [[ ${names[$i]} == alpha && -z ${killed[$i]:-} ]] && kill -TERM "${pids[$i]}"
        done
        # Every process ends within the deadline; those not killed succeed.
        deadline=$((SECONDS + 120))
        alpha_clean=0
        for i in "${!pids[@]}"; do
            while kill -0 "${pids[$i]}"; do
                ((SECONDS < deadline)) || fail "round $r: ${names[$i]} hangs"
                sleep 0.02
            done
            rc=0
            wait "${pids[$i]}" || rc=$?
            [[ -n ${killed[$i]:-} ]] && continue
            if [[ ${names[$i]} == alpha && $rc == 143 ]]; then
                continue # SIGTERM came before it set its handler: as good as killed
            fi
            if [[ ${names[$i]} == audit ]]; then
                [[ $rc == 0 ]] || fail "round $r: verify-proof --all during the round exited $rc: $(tail -n 3 "audit.$r")"
                continue
            fi
            [[ $rc == 0 ]] || fail "round $r: ${names[$i]} exited $rc: $(tail -n 3 "err.$r.${names[$i]}")"
            case ${names[$i]} in
            alpha) alpha_clean=1 ;;
            commit*) beta_committed[${names[$i]#commit}]=${beta_target[${names[$i]#commit}]} ;;
            esac
        done
    } 2> /dev/null
    check_round "$r"
    done_rounds=$r
done

((done_rounds > 0)) || fail "no round ran"
"$M" compact > /dev/null
"$M" verify-proof --all > /dev/null || fail "the final audit fails"
echo "soak: ok: $done_rounds rounds, $records_checked records checked, $kills kills ($(for k in "${!killed_kinds[@]}"; do echo -n "$k ${killed_kinds[$k]} "; done| sed 's/ $//')), $((SECONDS - start))s"
