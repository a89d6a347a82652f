# bash completion for merkql                                  -*- shell-script -*-
#
# Install as /usr/share/bash-completion/completions/merkql, or source it
# from ~/.bashrc.

# Sets words and cword: COMP_WORDS and COMP_CWORD with "--opt", "=",
# "value" (readline splits words at "=") joined back into "--opt=value".
_merkql_join_words()
{
    words=()
    cword=0
    local i
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        if [[ ${COMP_WORDS[i]} == = && ${#words[@]} -gt 0 && ${words[-1]} == --* &&
            ${words[-1]} != *=* ]]; then
            words[-1]+==
            ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
            if ((i < COMP_CWORD)); then
                ((i++))
                words[-1]+=${COMP_WORDS[i]}
                ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
            fi
            continue
        fi
        words+=("${COMP_WORDS[i]}")
        ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
}

# Print the data directory the command line being completed refers to:
# --dir/-d anywhere on the line (before or after the command), else
# $MERKQL_DIR, else ./merkql-data. Needs words and cword.
_merkql_datadir()
{
    local i dir=
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --dir | -d)
                dir=${words[i + 1]}
                ((i++))
                ;;
            --dir=*)
                dir=${words[i]#--dir=}
                ;;
            -d?*)
                dir=${words[i]#-d}
                ;;
        esac
    done
    [[ -z $dir ]] && dir=${MERKQL_DIR:-./merkql-data}
    # Expand a leading ~ as the shell would.
    [[ $dir == "~"* ]] && dir=$HOME${dir#\~}
    printf '%s\n' "$dir"
}

# Print the entries of subdirectory $1 (topics or groups) of the data directory.
_merkql_names()
{
    local base
    base=$(_merkql_datadir)/$1
    [[ -d $base ]] || return 0
    local entry
    for entry in "$base"/*; do
        [[ -d $entry ]] && printf '%s\n' "${entry##*/}"
    done
}

_merkql()
{
    local words cword
    _merkql_join_words
    local cur=${words[cword]} prev=${words[cword - 1]}
    # "--opt=value": readline completes the value alone, as the value of --opt.
    if [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
    fi

    local commands="produce consume commit topic group inspect verify-proof du compact keygen
        checkpoint forward"
    # Accepted before and after the command; --version/-V only before.
    local global_opts="--dir -d --no-wait --no-progress --help -h"
    # Commands that have commands of their own ("merkql topic create"):
    # subcommands[cmd]="sub1 sub2 ...".
    local -A subcommands=([topic]="create alter list describe delete"
        [group]="list describe delete")

    # Find the command word (and the command of a command), skipping the
    # global options and their arguments.
    local i cmd= sub=
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --dir | -d)
                ((i++))
                ;;
            -*) ;;
            *)
                if [[ -z $cmd ]]; then
                    cmd=${words[i]}
                    [[ -n ${subcommands[$cmd]-} ]] || break
                else
                    sub=${words[i]}
                    break
                fi
                ;;
        esac
    done

    # Values of options.
    case $prev in
        --dir | -d)
            COMPREPLY=($(compgen -d -- "$cur"))
            return
            ;;
        --input)
            COMPREPLY=($(compgen -W "json raw envelope" -- "$cur"))
            return
            ;;
        --compression)
            COMPREPLY=($(compgen -W "lz4 none" -- "$cur"))
            return
            ;;
        --format)
            COMPREPLY=($(compgen -W "json value" -- "$cur"))
            return
            ;;
        --from | --reset)
            COMPREPLY=($(compgen -W "earliest latest" -- "$cur"))
            return
            ;;
        --offset)
            [[ $cmd == consume ]] && COMPREPLY=($(compgen -W "beginning end" -- "$cur"))
            return
            ;;
        --topic | -t)
            if [[ -n $cmd ]]; then
                local topics
                topics=$(_merkql_names topics)
                if [[ $cmd == consume && $cur == *,* ]]; then
                    # Comma-separated list: complete the last element.
                    local head=${cur%,*},
                    COMPREPLY=($(compgen -W "$topics" -P "$head" -- "${cur##*,}"))
                else
                    COMPREPLY=($(compgen -W "$topics" -- "$cur"))
                fi
                [[ $cmd == consume ]] && compopt -o nospace 2>/dev/null
                return
            fi
            ;;
        --group | -g)
            if [[ -n $cmd ]]; then
                COMPREPLY=($(compgen -W "$(_merkql_names groups)" -- "$cur"))
                return
            fi
            ;;
        --partitioner)
            COMPREPLY=($(compgen -W "same kafka" -- "$cur"))
            return
            ;;
        --out)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return
            ;;
        --proof | --kafka-record)
            COMPREPLY=($(compgen -f -- "$cur"))
            [[ -z $cur || $cur == - ]] && COMPREPLY+=(-)
            compopt -o filenames 2>/dev/null
            return
            ;;
        --checkpoint | --from-checkpoint | --to-checkpoint | --sign)
            # Signed checkpoints: files.
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return
            ;;
        --key)
            if [[ $cmd == verify-proof ]]; then
                COMPREPLY=($(compgen -f -- "$cur"))
                compopt -o filenames 2>/dev/null
            fi
            return
            ;;
        --key-field | --partition | --partitions | --retention-records | \
            --retention-bytes | --retention-ms | --segment-bytes | \
            --batch | --max-record-bytes | --max | --root | --name | --size | --origin | \
            --to-datetime)
            # Free-form argument.
            return
            ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts --version -V" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi
    if [[ -n ${subcommands[$cmd]-} && -z $sub ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "${subcommands[$cmd]}" -- "$cur"))
        fi
        return
    fi

    # Each command's own options ("cmd sub" for a command of a command); the
    # global options are added to every one.
    local opts
    case $cmd${sub:+ $sub} in
        produce)
            opts="--topic -t --input --key --key-field --partition --partitions
                --compression --retention-records --retention-bytes --retention-ms
                --segment-bytes --batch --ack --max-record-bytes --skip-bad"
            ;;
        consume)
            opts="--topic -t --group -g --partition --offset --format --from --max
                --follow -f --no-commit"
            ;;
        commit)
            opts="--group -g --topic -t --partition --offset --reset --to-datetime
                --dry-run"
            ;;
        "group list")
            opts="--json"
            ;;
        "group describe")
            opts="--group -g --json"
            ;;
        "group delete")
            opts="--group -g"
            ;;
        inspect)
            opts="--json --topic -t --partition --offset"
            ;;
        verify-proof)
            opts="--topic -t --partition --offset --tree-size --out --proof --root --all
                --kafka-record
                --from-size --to-size --consistency --from-root --to-root
                --checkpoint --key --from-checkpoint --to-checkpoint"
            ;;
        du)
            opts="--json --bytes"
            ;;
        compact)
            opts="--topic -t"
            ;;
        forward)
            opts="--topic -t --group -g --brokers -b --kafka-topic --partitioner --follow -f
                --max --timeout --property -X"
            ;;
        "topic create" | "topic alter")
            opts="--topic -t --partitions --compression --retention-records
                --retention-bytes --retention-ms --segment-bytes"
            ;;
        "topic list")
            opts=""
            ;;
        "topic describe")
            opts="--topic -t --json"
            ;;
        "topic delete")
            opts="--topic -t"
            ;;
        keygen)
            opts="--name --out"
            ;;
        checkpoint)
            opts="--topic -t --partition --size --origin --sign"
            ;;
        *)
            return
            ;;
    esac

    if [[ $cmd == produce && $cur != -?* ]]; then
        # FILE... to read; - is standard input.
        COMPREPLY=($(compgen -f -- "$cur"))
        [[ -z $cur || $cur == - ]] && COMPREPLY+=(-)
        compopt -o filenames 2>/dev/null
        return
    fi
    COMPREPLY=($(compgen -W "$opts $global_opts" -- "$cur"))
} &&
    complete -F _merkql merkql

# ex: filetype=sh
