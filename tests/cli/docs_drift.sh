#!/usr/bin/env bash
# Every long option `merkql <command> --help` lists is documented in the
# command's man page and offered by the bash, zsh and fish completions.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

options_of()
{ # options_of [COMMAND]: the long options in the help text
    "$M" "$@" --help | sed -n '/^Options:/,/^Subcommands:/p' | grep -o -- '--[a-z][a-z-]*' | sort -u
}

fish_lines()
{ # fish_lines COND: the fish completion lines for a command (or the globals)
    local fish=$root/completions/merkql.fish
    if [[ $1 == __merkql_needs_command ]]; then
        grep -- "-n __merkql_needs_command" "$fish"
    else
        awk -v cmd="$1" '
            /^set (-l )?c / { on = ($0 ~ ("__merkql_using_command " cmd "\x27")) }
            on && /^complete/' "$fish"
    fi
}

check()
{ # check MAN_PAGE FISH_COND OPTION...
    local man=$1 cond=$2 opt
    shift 2
    local text
    text=$(sed 's/\\-/-/g' "$man")
    for opt in "$@"; do
        grep -q -- "$opt\b" <<< "$text" || fail "$opt missing from ${man#$root/}"
        grep -q -- "$opt\b" "$root/completions/merkql.bash" || fail "$opt missing from merkql.bash"
        grep -q -- "$opt\b" "$root/completions/merkql.zsh" || fail "$opt missing from merkql.zsh"
        if [[ $opt == --help && $cond != __merkql_needs_command ]]; then
            # Given to every command by one loop.
            grep -q -- '-n "__merkql_using_command $cmd" -s h -l help' "$root/completions/merkql.fish" ||
                fail "--help missing from merkql.fish ($cond)"
            continue
        fi
        grep -q -- "-l ${opt#--}\b" <<< "$(fish_lines "$cond")" ||
            fail "$opt missing from merkql.fish ($cond)"
    done
}

mapfile -t global < <(options_of)
[[ ${#global[@]} -ge 4 ]] || fail "no global options found"
check "$root/man/merkql.1" "__merkql_needs_command" "${global[@]}"
for cmd in produce consume commit inspect verify-proof du compact keygen checkpoint; do
    mapfile -t opts < <(options_of "$cmd")
    [[ ${#opts[@]} -ge 2 ]] || fail "no options found for $cmd"
    [[ -e $root/man/merkql-$cmd.1 ]] || fail "no man page for $cmd"
    check "$root/man/merkql-$cmd.1" "$cmd" "${opts[@]}"
    grep -q -- "$cmd" <<< "$(sed 's/\\-/-/g' "$root/man/merkql.1")" || fail "$cmd missing from merkql.1"
done
# Commands with subcommands: each subcommand's options, in the command's
# man page and completions.
for cmd in "group list" "group describe" "group delete"; do
    mapfile -t opts < <(options_of $cmd)
    [[ ${#opts[@]} -ge 1 ]] || fail "no options found for $cmd"
    check "$root/man/merkql-${cmd%% *}.1" "${cmd%% *}" "${opts[@]}"
    grep -q -- "${cmd#* }" <<< "$(sed 's/\\-/-/g' "$root/man/merkql-${cmd%% *}.1")" ||
        fail "$cmd missing from merkql-${cmd%% *}.1"
    grep -q -- "${cmd%% *}" <<< "$(sed 's/\\-/-/g' "$root/man/merkql.1")" || fail "${cmd%% *} missing from merkql.1"
done
echo "docs_drift: ok"
