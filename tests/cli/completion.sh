#!/usr/bin/env bash
# The shell completions, driven as the shells drive them: bash's function
# through COMP_WORDS/COMP_CWORD (split at "=" as readline splits), fish
# through `complete -C` when fish is installed. Topic and group names come
# from the data directory named anywhere on the line (-d DIR, --dir DIR,
# --dir=DIR, before or after the command), else $MERKQL_DIR; every command
# with --topic or --group completes their names; the global options are
# offered after the command.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$T"

unset MERKQL_DIR
D=$T/d
echo '{"a":1}' | "$M" -d "$D" produce -t alpha
echo '{"a":1}' | "$M" -d "$D" produce -t beta
"$M" -d "$D" consume -t alpha -g readers --max 1 > /dev/null
mkdir -p "$T/other/topics/gamma" # another directory, to tell them apart
export MERKQL_DIR=$T/other

# Commands with --topic and with --group, and commands of commands, read
# from the help as tests/cli/docs_drift.sh does.
commands_of()
{
    "$M" "$@" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' |
        while read -r name; do echo "${*:+$* }$name"; done
}
mapfile -t commands < <(commands_of)
for ((i = 0; i < ${#commands[@]}; i++)); do
    read -ra words <<< "${commands[i]}"
    mapfile -t -O "${#commands[@]}" commands < <(commands_of "${words[@]}")
done
with_option()
{ # with_option OPTION: the commands whose --help lists OPTION
    local cmd words
    for cmd in "${commands[@]}"; do
        read -ra words <<< "$cmd"
        grep -q -- "$1\b" < <("$M" "${words[@]}" --help | sed '/^Global options:/,$d') && echo "$cmd"
    done
    return 0
}
mapfile -t topic_commands < <(with_option --topic)
mapfile -t group_commands < <(with_option --group)
[[ ${#topic_commands[@]} -ge 6 && ${#group_commands[@]} -ge 2 ]] ||
    fail "commands with --topic or --group not found"

# bash_complete LINE: what bash's completion offers with the cursor at the
# end of LINE, one per line.
bash_complete()
{
    bash -c '
        source "$1"
        line=$2
        # Split as readline does: at blanks, and "=" is a word of its own.
        read -ra COMP_WORDS <<< "${line//=/ = }"
        [[ $line == *[[:space:]] ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line COMP_POINT=${#line}
        _merkql
        printf "%s\n" "${COMPREPLY[@]}"' _ "$root/completions/merkql.bash" "$1" | sort
}

# expect_offer SHELL LINE WORD...: the completion of LINE offers each WORD.
expect_offer()
{
    local shell=$1 line=$2 got word
    shift 2
    got=$("${shell}_complete" "$line")
    for word in "$@"; do
        grep -qx -- "$word" <<< "$got" || fail "$shell: '$line' does not offer '$word' (offers: $got)"
    done
}

# expect_no_offer SHELL LINE WORD: the completion of LINE does not offer WORD.
expect_no_offer()
{
    local got
    got=$("${1}_complete" "$2")
    ! grep -qx -- "$3" <<< "$got" || fail "$1: '$2' offers '$3'"
}

check_shell()
{
    local sh=$1 cmd
    # The data directory, in every form and place.
    expect_offer "$sh" "merkql --dir=$D consume -t " alpha beta
    expect_offer "$sh" "merkql -d $D consume -t " alpha beta
    expect_offer "$sh" "merkql --dir $D consume --topic " alpha beta
    expect_offer "$sh" "merkql consume -d $D -t " alpha beta
    expect_offer "$sh" "merkql consume -t alpha --dir=$D -g " readers
    expect_offer "$sh" "merkql consume --dir=$D --topic=al" alpha
    expect_no_offer "$sh" "merkql --dir=$D consume -t " gamma
    # $MERKQL_DIR without --dir.
    expect_offer "$sh" "merkql consume -t " gamma
    expect_no_offer "$sh" "merkql consume -t " alpha
    # The command is found after --dir=DIR, and a comma list goes on.
    expect_offer "$sh" "merkql --dir=$D " produce consume inspect
    expect_offer "$sh" "merkql --dir=$D consume -t beta,al" beta,alpha
    # Global options after the command.
    expect_offer "$sh" "merkql consume --no-" --no-commit --no-wait --no-progress
    expect_offer "$sh" "merkql inspect --d" --dir
    # Every --topic completes topic names, every --group group names.
    for cmd in "${topic_commands[@]}"; do
        expect_offer "$sh" "merkql -d $D $cmd -t " alpha beta
        expect_offer "$sh" "merkql $cmd --dir=$D --topic " alpha beta
    done
    for cmd in "${group_commands[@]}"; do
        expect_offer "$sh" "merkql -d $D $cmd -g " readers
    done
}

check_shell bash

if command -v fish > /dev/null; then
    fish_complete()
    { # what fish offers for LINE, without the descriptions
        fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$root/completions/merkql.fish" "$1" |
            cut -f1 | sed 's/^--[a-z-]*=//' | sort
    }
    check_shell fish
else
    echo "completion: fish is not installed (scripts/install-deps --tests): fish not tested"
fi
echo "completion: ok"
