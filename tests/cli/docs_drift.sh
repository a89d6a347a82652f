#!/usr/bin/env bash
# Every long option `merkql <command> --help` lists is documented in the
# command's man page and offered by the bash, zsh and fish completions; every
# command (and command of a command) lists the global options in its --help.
# The commands are read from the help itself, so a new one is checked too.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

options_of()
{ # options_of [COMMAND...]: the long options in the help text, without the
  # global ones (listed under "Global options:" by every command)
    "$M" "$@" --help | sed -n '/^Options:/,/^\(Subcommands\|Global options\):/p' |
        grep -o -- '--[a-z][a-z-]*' | sort -u
}

global_options_of()
{ # global_options_of COMMAND...: the options under "Global options:"
    "$M" "$@" --help | sed -n '/^Global options:/,/^Subcommands:/p' |
        grep -o -- '--[a-z][a-z-]*' | sort -u
}

commands_of()
{ # commands_of [COMMAND...]: the commands listed under "Subcommands:", as
  # "COMMAND... NAME"
    "$M" "$@" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' |
        while read -r name; do echo "${*:+$* }$name"; done
}

fish_lines()
{ # fish_lines COND: the fish completion lines for a command (or the globals)
    local fish=$root/completions/merkql.fish
    if [[ $1 == __merkql_needs_command ]]; then
        # Offered everywhere (no condition), or before the command only.
        grep -E -- "^complete -c merkql( -n __merkql_needs_command)? -(s|l) " "$fish"
    else
        # A condition names one command or several ("__merkql_using_command
        # topic create; or __merkql_using_command topic alter").
        awk -v cmd="$1" '
            /^set (-l )?c / { on = ($0 ~ ("__merkql_using_command " cmd "(\x27|;)")) }
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
        # A command's options, or the global ones offered everywhere (--help).
        grep -q -- "-l ${opt#--}\b" <<< "$(fish_lines "$cond"; fish_lines __merkql_needs_command)" ||
            fail "$opt missing from merkql.fish ($cond)"
    done
}

mapfile -t global < <(options_of)
[[ ${#global[@]} -ge 5 ]] || fail "no global options found"
check "$root/man/merkql.1" "__merkql_needs_command" "${global[@]}"

# Commands, and commands of commands ("topic create"), from the help.
mapfile -t commands < <(commands_of)
[[ ${#commands[@]} -ge 9 ]] || fail "no commands found"
for ((i = 0; i < ${#commands[@]}; i++)); do
    read -ra words <<< "${commands[i]}"
    mapfile -t -O "${#commands[@]}" commands < <(commands_of "${words[@]}")
done
for cmd in "${commands[@]}"; do
    read -ra words <<< "$cmd"
    # Global options after the command: accepted (every --help lists them)
    # and the same everywhere: --dir, --no-wait and --no-progress.
    mapfile -t listed < <(global_options_of "${words[@]}")
    for opt in "${global[@]}"; do
        [[ $opt == --help || $opt == --version ]] && continue
        grep -qx -- "$opt" < <(printf '%s\n' "${listed[@]}") || fail "merkql $cmd --help lacks global $opt"
    done
    mapfile -t opts < <(options_of "${words[@]}")
    [[ ${#opts[@]} -ge 1 ]] || fail "no options found for $cmd"
    man=$root/man/merkql-${words[0]}.1
    [[ -e $man ]] || fail "no man page for $cmd"
    check "$man" "$cmd" "${opts[@]}"
    grep -q -- "${words[0]}" <<< "$(sed 's/\\-/-/g' "$root/man/merkql.1")" || fail "$cmd missing from merkql.1"
done
echo "docs_drift: ok"
