# bash completion for merkql                                  -*- shell-script -*-
#
# Install as /usr/share/bash-completion/completions/merkql, or source it
# from ~/.bashrc.

# Print the data directory the command line being completed refers to:
# --dir/-d on the line, else $MERKQL_DIR, else ./merkql-data.
_merkql_datadir()
{
    local i dir=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --dir | -d)
                dir=${COMP_WORDS[i + 1]}
                ;;
            --dir=*)
                dir=${COMP_WORDS[i]#--dir=}
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
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}

    local commands="produce consume commit inspect verify-proof du compact keygen checkpoint topic"
    local global_opts="--dir -d --no-wait --help -h --version -V"

    # Find the command word, skipping global options and their arguments.
    local i cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --dir | -d)
                ((i++))
                ;;
            -*) ;;
            *)
                cmd=${COMP_WORDS[i]}
                break
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
        --out)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return
            ;;
        --proof)
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
            --batch | --max-record-bytes | --max | --offset | --root | --name | --size | --origin)
            # Free-form argument.
            return
            ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    local opts
    case $cmd in
        produce)
            opts="--topic -t --input --key --key-field --partition --partitions
                --compression --retention-records --retention-bytes --retention-ms
                --segment-bytes --batch --ack
                --max-record-bytes --skip-bad --help -h"
            ;;
        consume)
            opts="--topic -t --group -g --format --from --max --follow -f
                --no-commit --help -h"
            ;;
        commit)
            opts="--group -g --topic -t --partition --offset --reset --help -h"
            ;;
        inspect)
            opts="--json --topic -t --partition --offset --help -h"
            ;;
        verify-proof)
            opts="--topic -t --partition --offset --tree-size --out --proof --root --all
                --from-size --to-size --consistency --from-root --to-root
                --checkpoint --key --from-checkpoint --to-checkpoint --help -h"
            ;;
        du)
            opts="--json --bytes --help -h"
            ;;
        compact)
            opts="--topic -t --help -h"
            ;;
        topic)
            # merkql topic SUBCOMMAND: the subcommand, then its options.
            local sub="" w
            for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
                case $w in create | alter | list | describe | delete) sub=$w ;; esac
            done
            case $sub in
                "") opts="create alter list describe delete --help -h" ;;
                create | alter)
                    opts="--topic -t --partitions --compression --retention-records
                        --retention-bytes --retention-ms --segment-bytes --help -h" ;;
                describe) opts="--topic -t --json --help -h" ;;
                delete) opts="--topic -t --help -h" ;;
                list) opts="--help -h" ;;
            esac
            ;;
        keygen)
            opts="--name --out --help -h"
            ;;
        checkpoint)
            opts="--topic -t --partition --size --origin --sign --help -h"
            ;;
        *)
            return
            ;;
    esac

    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
} &&
    complete -F _merkql merkql

# ex: filetype=sh
