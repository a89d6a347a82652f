#compdef merkql
#
# zsh completion for merkql.
# Install as a file named _merkql in a directory of $fpath.

# The data directory the command line refers to: --dir/-d after the
# command (in $words, which then holds the command's words), else before it
# (kept in $_merkql_dir by _merkql), else $MERKQL_DIR, else ./merkql-data.
(( $+functions[_merkql_datadir] )) ||
_merkql_datadir() {
  local dir=$_merkql_dir i
  for (( i = 1; i < CURRENT; i++ )); do
    case $words[i] in
      (-d|--dir) dir=$words[i+1] ;;
      (--dir=*) dir=${words[i]#--dir=} ;;
      (-d?*) dir=${words[i]#-d} ;;
    esac
  done
  [[ -z $dir ]] && dir=${MERKQL_DIR:-./merkql-data}
  print -r -- ${~dir}
}

(( $+functions[_merkql_topics] )) ||
_merkql_topics() {
  local base=$(_merkql_datadir)/topics
  local -a topics
  topics=( $base/*(N/:t) )
  _describe -t topics 'topic' topics
}

(( $+functions[_merkql_topic_list] )) ||
_merkql_topic_list() {
  local base=$(_merkql_datadir)/topics
  local -a topics
  topics=( $base/*(N/:t) )
  if (( $#topics )); then
    _values -s , 'topic' $topics
  else
    _message 'topic'
  fi
}

(( $+functions[_merkql_groups] )) ||
_merkql_groups() {
  local base=$(_merkql_datadir)/groups
  local -a groups
  groups=( $base/*(N/:t) )
  _describe -t groups 'consumer group' groups
}

(( $+functions[_merkql_commands] )) ||
_merkql_commands() {
  local -a commands
  commands=(
    'produce:append records read from files or standard input to a topic'
    'consume:read records, as a member of a consumer group or without one'
    'commit:commit consumer group offsets'
    'group:list, describe or delete consumer groups'
    'inspect:show topics, partitions, groups or one record'
    'verify-proof:export or check a merkle proof, or audit the directory'
    'du:report allocated disk space'
    'compact:delete log segments below the retention watermark'
    'topic:create, alter, list, describe or delete topics'
    'keygen:generate a key pair for signing checkpoints'
    'checkpoint:print a partition checkpoint, optionally signed'
    'forward:produce a topic'"'"'s records to Kafka, at least once'
  )
  _describe -t commands 'merkql command' commands
}

_merkql() {
  local curcontext=$curcontext state state_descr line ret=1
  local -A opt_args

  _arguments -C \
    '(-d --dir)'{-d+,--dir=}'[data directory]:directory:_directories' \
    '--no-wait[fail with exit status 75 instead of waiting for a lock]' \
    '--no-progress[show no progress or lock-wait notice on a terminal]' \
    '(- *)'{-h,--help}'[show help]' \
    '(- *)'{-V,--version}'[show version]' \
    '1: :_merkql_commands' \
    '*:: :->command' && ret=0

  local _merkql_dir=${(Q)${opt_args[--dir]:-${opt_args[-d]}}}

  case $state in
    (command)
      local cmd=${words[1]}
      curcontext=${curcontext%:*:*}:merkql-$cmd:
      # The global options, accepted after the command too, for every command.
      local -a global
      global=(
        '(-d --dir)'{-d+,--dir=}'[data directory]:directory:_directories'
        '--no-wait[fail with exit status 75 instead of waiting for a lock]'
        '--no-progress[show no progress or lock-wait notice on a terminal]'
        '(- *)'{-h,--help}'[show help]'
      )
      case $cmd in
        (produce)
          _arguments -S \
            '(-t --topic)'{-t+,--topic=}'[topic to append to]:topic:_merkql_topics' \
            '--input=[input format]:format:(json raw envelope)' \
            '(--key-field)--key=[constant key for every record]:key' \
            '(--key)--key-field=[field or JSON pointer holding the key]:field' \
            '--partition=[send every record to this partition]:partition' \
            '--partitions=[partitions of a new topic]:count' \
            '--compression=[compression of a new topic]:compression:(lz4 none)' \
            '--retention-records=[records kept per partition of a new topic]:count' \
            '--retention-bytes=[log bytes kept per partition of a new topic]:bytes' \
            '--retention-ms=[milliseconds records are kept in a new topic]:milliseconds' \
            '--segment-bytes=[segment size of a new topic]:bytes' \
            '--batch=[maximum records per batch and fsync]:count' \
            '--ack[print one JSON line per durable record]' \
            '--max-record-bytes=[maximum record size in bytes]:bytes' \
            '--skip-bad[report and skip bad lines]' \
            '*:input file (- for standard input):_files' \
            $global && ret=0
          ;;
        (consume)
          _arguments -S \
            '(-t --topic)'{-t+,--topic=}'[topics to read, comma-separated]:topics:_merkql_topic_list' \
            '(-g --group)'{-g+,--group=}'[consumer group]:group:_merkql_groups' \
            '--partition=[read only this partition]:partition' \
            '--offset=[where to start: beginning, end, N or -N]:offset:(beginning end)' \
            '--format=[output format]:format:(json value)' \
            '--from=[start of a partition without commit]:position:(earliest latest)' \
            '--max=[stop after this many records]:count' \
            '(-f --follow)'{-f,--follow}'[keep waiting for new records]' \
            '--no-commit[do not commit offsets]' \
            $global && ret=0
          ;;
        (commit)
          _arguments -S \
            '(-g --group)'{-g+,--group=}'[consumer group]:group:_merkql_groups' \
            '(-t --topic)'{-t+,--topic=}'[topic]:topic:_merkql_topics' \
            '(--reset --to-datetime)--partition=[partition whose offset to set]:partition' \
            '(--reset --to-datetime)--offset=[offset of the next record to read]:offset' \
            '(--partition --offset --to-datetime)--reset=[move to the start or the end]:position:(earliest latest)' \
            '(--partition --offset --reset)--to-datetime=[move to the first record at or after this RFC 3339 time]:time' \
            '--dry-run[print what would be committed; change nothing]' \
            $global && ret=0
          ;;
        (group)
          local -a subs
          subs=(
            'list:list the consumer groups'
            'describe:show committed offsets, lag and live members'
            'delete:delete a group that has no live member'
          )
          if (( CURRENT == 2 )); then
            _describe -t commands 'merkql group command' subs && ret=0
          else
            case ${words[2]} in
              (list)
                _arguments -S '--json[write JSON]' $global && ret=0
                ;;
              (describe)
                _arguments -S \
                  '(-g --group)'{-g+,--group=}'[consumer group]:group:_merkql_groups' \
                  '--json[write JSON]' \
                  $global && ret=0
                ;;
              (delete)
                _arguments -S \
                  '(-g --group)'{-g+,--group=}'[consumer group]:group:_merkql_groups' \
                  $global && ret=0
                ;;
            esac
          fi
          ;;
        (inspect)
          _arguments -S \
            '--json[write JSON]' \
            '(-t --topic)'{-t+,--topic=}'[topic]:topic:_merkql_topics' \
            '--partition=[partition of the record to show]:partition' \
            '--offset=[offset of the record to show]:offset' \
            $global && ret=0
          ;;
        (verify-proof)
          _arguments -S \
            '(-t --topic --proof --root)'{-t+,--topic=}'[topic]:topic:_merkql_topics' \
            '(--proof --root --all)--partition=[partition of the record to prove]:partition' \
            '(--proof --root --all)--offset=[offset of the record to prove]:offset' \
            '(--proof --root --all)--tree-size=[prove against the tree of the first N records]:records' \
            '(--proof --root --all)--out=[file to write the proof to]:file:_files' \
            '(-t --topic --partition --offset --tree-size --out --all)--proof=[proof to verify]:proof file (- for stdin):_files' \
            '(-t --topic --partition --offset --tree-size --out --all)--root=[required merkle root]:root (hex)' \
            '(-t --topic --partition --offset --tree-size --out --all --from-size --to-size --consistency)--kafka-record=[Kafka record that must be the proven one]:kcat -J line file (- for stdin):_files' \
            '(--partition --offset --tree-size --out --proof --root)--all[audit the data directory]' \
            '(--offset --tree-size --proof --root --all --consistency)--from-size=[export a consistency proof from the tree of M records]:records' \
            '(--offset --tree-size --proof --root --all --consistency)--to-size=[size of the larger tree]:records' \
            '(-t --topic --partition --offset --tree-size --out --all --proof --root --from-size --to-size)--consistency=[consistency proof to verify]:proof file (- for stdin):_files' \
            '(-t --topic --partition --offset --tree-size --out --all --proof --root --from-size --to-size)--from-root=[trusted root of the smaller tree]:root (hex)' \
            '(-t --topic --partition --offset --tree-size --out --all --proof --root --from-size --to-size)--to-root=[trusted root of the larger tree]:root (hex)' \
            '(-t --topic --partition --offset --tree-size --out --all --root)--checkpoint=[signed checkpoint to verify]:checkpoint file:_files' \
            '--key=[verifier key for the checkpoints]:verifier key file:_files' \
            '--from-checkpoint=[signed checkpoint of the smaller tree]:checkpoint file:_files' \
            '--to-checkpoint=[signed checkpoint of the larger tree]:checkpoint file:_files' \
            $global && ret=0
          ;;
        (du)
          _arguments -S \
            '--json[write JSON]' \
            '--bytes[show exact byte counts]' \
            $global && ret=0
          ;;
        (compact)
          _arguments -S \
            '(-t --topic)'{-t+,--topic=}'[compact only this topic]:topic:_merkql_topics' \
            $global && ret=0
          ;;
        (forward)
          _arguments -S \
            '(-t --topic)'{-t+,--topic=}'[topic to forward]:topic:_merkql_topics' \
            '(-g --group)'{-g+,--group=}'[consumer group whose offsets say what was forwarded]:group:_merkql_groups' \
            '(-b --brokers)'{-b+,--brokers=}'[Kafka bootstrap servers]:host\:port list' \
            '--kafka-topic=[Kafka topic to produce to]:Kafka topic' \
            '--partitioner=[which Kafka partition]:partitioner:(same kafka)' \
            '(-f --follow)'{-f,--follow}'[keep forwarding new records]' \
            '--max=[stop after this many records]:count' \
            '--timeout=[seconds to wait for Kafka]:seconds' \
            '*'{-X+,--property=}'[librdkafka property NAME=VALUE]:property' \
            $global && ret=0
          ;;
        (topic)
          local -a settings
          settings=(
            '--partitions=[partitions (fixed at creation)]:count'
            '--compression=[compression (fixed at creation)]:compression:(lz4 none)'
            '--retention-records=[records kept visible per partition, or none]:count'
            '--retention-bytes=[log bytes kept per partition, or none]:bytes'
            '--retention-ms=[milliseconds records are kept, or none]:milliseconds'
            '--segment-bytes=[segment size in bytes]:bytes'
          )
          local -a topic_opt
          topic_opt=('(-t --topic)'{-t+,--topic=}'[topic]:topic:_merkql_topics')
          if (( CURRENT == 2 )); then
            local -a subs
            subs=('create:create a topic' 'alter:change retention and segment size'
                  'list:list the topics' 'describe:show settings and partitions'
                  'delete:delete a topic and its group offsets')
            _describe -t commands 'topic command' subs && ret=0
          else
            case ${words[2]} in
              (create|alter) _arguments -S $topic_opt $settings $global && ret=0 ;;
              (describe) _arguments -S $topic_opt '--json[print one JSON object]' $global && ret=0 ;;
              (delete) _arguments -S $topic_opt $global && ret=0 ;;
              (*) _arguments -S $global && ret=0 ;;
            esac
          fi
          ;;
        (keygen)
          _arguments -S \
            '--name=[key name]:name' \
            '--out=[write PREFIX.key and PREFIX.pub]:prefix:_files' \
            $global && ret=0
          ;;
        (checkpoint)
          _arguments -S \
            '(-t --topic)'{-t+,--topic=}'[topic]:topic:_merkql_topics' \
            '--partition=[partition]:partition' \
            '--size=[the tree of the first N records]:records' \
            '--origin=[first line of the checkpoint]:origin' \
            '--sign=[signer key file]:signer key file:_files' \
            $global && ret=0
          ;;
        (*)
          _message "unknown merkql command: $cmd"
          ;;
      esac
      ;;
  esac
  return ret
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  # Autoloaded from $fpath.
  _merkql "$@"
else
  # Sourced directly.
  compdef _merkql merkql
fi
