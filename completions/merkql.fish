# fish completion for merkql
# Install as ~/.config/fish/completions/merkql.fish or in a directory of
# $fish_complete_path.

set -l merkql_commands produce consume commit topic group inspect verify-proof du compact keygen checkpoint forward

# The data directory the command line refers to: --dir/-d anywhere on the
# line (before or after the command), else $MERKQL_DIR, else ./merkql-data.
function __merkql_datadir
    set -l tokens (commandline -opc)
    set -l dir
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --dir -d
                set i (math $i + 1)
                if test $i -le (count $tokens)
                    set dir $tokens[$i]
                end
            case '--dir=*'
                set dir (string replace -- --dir= '' $tokens[$i])
            case '-d?*'
                set dir (string sub -s 3 -- $tokens[$i])
        end
        set i (math $i + 1)
    end
    if test -z "$dir"
        if set -q MERKQL_DIR; and test -n "$MERKQL_DIR"
            set dir $MERKQL_DIR
        else
            set dir ./merkql-data
        end
    end
    string replace -r -- '^~' $HOME $dir
end

# Entries of subdirectory $argv[1] (topics or groups) of the data directory.
function __merkql_names
    set -l base (__merkql_datadir)/$argv[1]
    test -d $base; or return 0
    for entry in $base/*
        test -d $entry; and basename $entry
    end
end

# Topics, completing the last element of a comma-separated list.
function __merkql_topic_list
    # What precedes the element being completed: "" or "a,b,".
    set -l head (string replace -r -- '[^,]*$' '' (commandline -ct))
    for topic in (__merkql_names topics)
        echo $head$topic
    end
end

# The words of the line that are not options, without the global options'
# values: the command, the command of a command, then option values.
function __merkql_words
    set -l tokens (commandline -opc)
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --dir -d
                set i (math $i + 1)
            case '-*'
            case '*'
                echo $tokens[$i]
        end
        set i (math $i + 1)
    end
end

# True when no command has been given yet.
function __merkql_needs_command
    test (count (__merkql_words)) -eq 0
end

# True when the command being completed is $argv[1] (and, for a command of
# a command, $argv[2]: "__merkql_using_command topic create").
function __merkql_using_command
    set -l words (__merkql_words)
    test (count $words) -ge (count $argv); or return 1
    for i in (seq (count $argv))
        test "$words[$i]" = "$argv[$i]"; or return 1
    end
end

# True when the command is $argv[1] and its own command is still to come.
function __merkql_needs_subcommand
    set -l words (__merkql_words)
    test (count $words) -eq 1; and test "$words[1]" = "$argv[1]"
end

complete -c merkql -f

# Global options, accepted before and after the command: --dir/-d DIR,
# --no-wait, --no-progress, --help/-h; --version/-V before it only.
complete -c merkql -s d -l dir -x -a '(__fish_complete_directories (commandline -ct | string replace -r -- "^--dir=" ""))' -d 'Data directory'
complete -c merkql -l no-wait -d 'Fail with exit status 75 instead of waiting for a lock'
complete -c merkql -l no-progress -d 'Show no progress or lock-wait notice on a terminal'
complete -c merkql -s h -l help -d 'Show help'
complete -c merkql -n __merkql_needs_command -s V -l version -d 'Show version'

# Commands.
complete -c merkql -n __merkql_needs_command -a produce -d 'Append records read from files or standard input to a topic'
complete -c merkql -n __merkql_needs_command -a consume -d 'Read records, with a consumer group or without'
complete -c merkql -n __merkql_needs_command -a commit -d 'Commit consumer group offsets'
complete -c merkql -n __merkql_needs_command -a group -d 'List, describe or delete consumer groups'
complete -c merkql -n __merkql_needs_command -a inspect -d 'Show topics, partitions, groups or one record'
complete -c merkql -n __merkql_needs_command -a verify-proof -d 'Export or check a merkle proof, or audit the directory'
complete -c merkql -n __merkql_needs_command -a du -d 'Report allocated disk space'
complete -c merkql -n __merkql_needs_command -a compact -d 'Delete log segments below the retention watermark'
complete -c merkql -n __merkql_needs_command -a topic -d 'Create, alter, list, describe or delete topics'
complete -c merkql -n __merkql_needs_command -a keygen -d 'Generate a key pair for signing checkpoints'
complete -c merkql -n __merkql_needs_command -a checkpoint -d 'Print a partition checkpoint, optionally signed'
complete -c merkql -n __merkql_needs_command -a forward -d 'Produce a topic'"'"'s records to Kafka, at least once'

# merkql produce --topic/-t T --input json|raw|envelope --key K --key-field F
#   --partition P --partitions N --compression lz4|none --retention-records N
#   --retention-bytes B --retention-ms MS --segment-bytes S
#   --batch N --ack --max-record-bytes N --skip-bad [FILE...]
set -l c '__merkql_using_command produce'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d 'Topic to append to'
complete -c merkql -n $c -l input -x -a 'json raw envelope' -d 'Input format'
complete -c merkql -n $c -l key -x -d 'Constant key for every record'
complete -c merkql -n $c -l key-field -x -d 'Field or JSON pointer holding the key'
complete -c merkql -n $c -l partition -x -d 'Send every record to this partition'
complete -c merkql -n $c -l partitions -x -d 'Partitions of a new topic'
complete -c merkql -n $c -l compression -x -a 'lz4 none' -d 'Compression of a new topic'
complete -c merkql -n $c -l retention-records -x -d 'Records kept per partition of a new topic'
complete -c merkql -n $c -l retention-bytes -x -d 'Log bytes kept per partition of a new topic'
complete -c merkql -n $c -l retention-ms -x -d 'Milliseconds records are kept in a new topic'
complete -c merkql -n $c -l segment-bytes -x -d 'Segment size of a new topic'
complete -c merkql -n $c -l batch -x -d 'Maximum records per batch and fsync'
complete -c merkql -n $c -l ack -d 'Print one JSON line per durable record'
complete -c merkql -n $c -l max-record-bytes -x -d 'Maximum record size in bytes'
complete -c merkql -n $c -l skip-bad -d 'Report and skip bad lines'
complete -c merkql -n $c -F -d 'File to read (- for standard input)'

# merkql consume --topic/-t T[,T...] --group/-g G --partition P
#   --offset beginning|end|N|-N --format json|value
#   --from earliest|latest --max N --follow/-f --no-commit
set c '__merkql_using_command consume'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_topic_list)' -d 'Topics to read, comma-separated'
complete -c merkql -n $c -s g -l group -x -a '(__merkql_names groups)' -d 'Consumer group'
complete -c merkql -n $c -l partition -x -d 'Read only this partition'
complete -c merkql -n $c -l offset -x -a 'beginning end' -d 'Start: beginning, end, N or -N'
complete -c merkql -n $c -l format -x -a 'json value' -d 'Output format'
complete -c merkql -n $c -l from -x -a 'earliest latest' -d 'Start of a partition without commit'
complete -c merkql -n $c -l max -x -d 'Stop after this many records'
complete -c merkql -n $c -s f -l follow -d 'Keep waiting for new records'
complete -c merkql -n $c -l no-commit -d 'Do not commit offsets'

# merkql commit --group/-g G --topic/-t T --partition P --offset O
#   --reset earliest|latest --to-datetime TIME --dry-run
set c '__merkql_using_command commit'
complete -c merkql -n $c -s g -l group -x -a '(__merkql_names groups)' -d 'Consumer group'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d Topic
complete -c merkql -n $c -l partition -x -d 'Partition whose offset to set'
complete -c merkql -n $c -l offset -x -d 'Offset of the next record to read'
complete -c merkql -n $c -l reset -x -a 'earliest latest' -d 'Move to the start or the end'
complete -c merkql -n $c -l to-datetime -x -d 'Move to the first record at or after this time'
complete -c merkql -n $c -l dry-run -d 'Print what would be committed'

# merkql group list --json | describe --group/-g G --json | delete --group/-g G
complete -c merkql -n '__merkql_needs_subcommand group' -a list -d 'List the consumer groups'
complete -c merkql -n '__merkql_needs_subcommand group' -a describe -d 'Offsets, lag and live members'
complete -c merkql -n '__merkql_needs_subcommand group' -a delete -d 'Delete a group with no live member'
set c '__merkql_using_command group list'
complete -c merkql -n $c -l json -d 'Write JSON'
set c '__merkql_using_command group describe'
complete -c merkql -n $c -s g -l group -x -a '(__merkql_names groups)' -d 'Consumer group'
complete -c merkql -n $c -l json -d 'Write JSON'
set c '__merkql_using_command group delete'
complete -c merkql -n $c -s g -l group -x -a '(__merkql_names groups)' -d 'Consumer group'

# merkql inspect --json --topic/-t T --partition P --offset O
set c '__merkql_using_command inspect'
complete -c merkql -n $c -l json -d 'Write JSON'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d Topic
complete -c merkql -n $c -l partition -x -d 'Partition of the record to show'
complete -c merkql -n $c -l offset -x -d 'Offset of the record to show'

# merkql verify-proof --topic/-t T --partition P --offset O --tree-size N --out FILE
#   --proof FILE|- --root HEX --all
set c '__merkql_using_command verify-proof'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d Topic
complete -c merkql -n $c -l partition -x -d 'Partition of the record to prove'
complete -c merkql -n $c -l offset -x -d 'Offset of the record to prove'
complete -c merkql -n $c -l tree-size -x -d 'Prove against the tree of the first N records'
complete -c merkql -n $c -l out -r -F -d 'File to write the proof to'
complete -c merkql -n $c -l proof -r -F -a - -d 'Proof to verify (- for stdin)'
complete -c merkql -n $c -l root -x -d 'Required merkle root (hex)'
complete -c merkql -n $c -l kafka-record -r -F -a - -d 'Kafka record (kcat -J line) that must be the proven one'
complete -c merkql -n $c -l all -d 'Audit the data directory'
# consistency proofs: --from-size M --to-size N | --consistency FILE --from-root HEX --to-root HEX
complete -c merkql -n $c -l from-size -x -d 'Export a consistency proof from the tree of M records'
complete -c merkql -n $c -l to-size -x -d 'Size of the larger tree (default: now)'
complete -c merkql -n $c -l consistency -r -F -a - -d 'Consistency proof to verify (- for stdin)'
complete -c merkql -n $c -l from-root -x -d 'Trusted root of the smaller tree (hex)'
complete -c merkql -n $c -l to-root -x -d 'Trusted root of the larger tree (hex)'
complete -c merkql -n $c -l checkpoint -r -F -d 'Signed checkpoint to verify'
complete -c merkql -n $c -l key -r -F -d 'Verifier key for the checkpoints'
complete -c merkql -n $c -l from-checkpoint -r -F -d 'Signed checkpoint of the smaller tree'
complete -c merkql -n $c -l to-checkpoint -r -F -d 'Signed checkpoint of the larger tree'

# merkql du --json --bytes
set c '__merkql_using_command du'
complete -c merkql -n $c -l json -d 'Write JSON'
complete -c merkql -n $c -l bytes -d 'Show exact byte counts'

# merkql compact --topic/-t T
set c '__merkql_using_command compact'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d 'Compact only this topic'

# merkql forward --topic/-t T --group/-g G --brokers/-b LIST --kafka-topic K
#   --partitioner same|kafka --follow/-f --max N --timeout S --property/-X P
set c '__merkql_using_command forward'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d 'Topic to forward'
complete -c merkql -n $c -s g -l group -x -a '(__merkql_names groups)' -d 'Consumer group'
complete -c merkql -n $c -s b -l brokers -x -d 'Kafka bootstrap servers'
complete -c merkql -n $c -l kafka-topic -x -d 'Kafka topic to produce to'
complete -c merkql -n $c -l partitioner -x -a 'same kafka' -d 'Which Kafka partition'
complete -c merkql -n $c -s f -l follow -d 'Keep forwarding new records'
complete -c merkql -n $c -l max -x -d 'Stop after this many records'
complete -c merkql -n $c -l timeout -x -d 'Seconds to wait for Kafka'
complete -c merkql -n $c -s X -l property -x -d 'librdkafka property NAME=VALUE'

# merkql topic create|alter --topic/-t T [--partitions N --compression C
#   --retention-records N --retention-bytes B --retention-ms MS
#   --segment-bytes S] | list | describe --topic/-t T --json | delete --topic/-t T
complete -c merkql -n '__merkql_needs_subcommand topic' -a create -d 'Create a topic'
complete -c merkql -n '__merkql_needs_subcommand topic' -a alter -d 'Change retention and segment size'
complete -c merkql -n '__merkql_needs_subcommand topic' -a list -d 'List the topics'
complete -c merkql -n '__merkql_needs_subcommand topic' -a describe -d 'Show settings and partitions'
complete -c merkql -n '__merkql_needs_subcommand topic' -a delete -d 'Delete a topic and its group offsets'
# create and alter take the same settings (partitions and compression are
# fixed at creation).
set c '__merkql_using_command topic create; or __merkql_using_command topic alter'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d Topic
complete -c merkql -n $c -l partitions -x -d 'Partitions (fixed at creation)'
complete -c merkql -n $c -l compression -x -a 'lz4 none' -d 'Compression (fixed at creation)'
complete -c merkql -n $c -l retention-records -x -d 'Records kept visible per partition, or none'
complete -c merkql -n $c -l retention-bytes -x -d 'Log bytes kept per partition, or none'
complete -c merkql -n $c -l retention-ms -x -d 'Milliseconds records are kept, or none'
complete -c merkql -n $c -l segment-bytes -x -d 'Segment size in bytes'
set c '__merkql_using_command topic describe'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d Topic
complete -c merkql -n $c -l json -d 'Print one JSON object'
set c '__merkql_using_command topic delete'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d Topic

# merkql keygen --name NAME --out PREFIX
set c '__merkql_using_command keygen'
complete -c merkql -n $c -l name -x -d 'Key name'
complete -c merkql -n $c -l out -r -F -d 'Write PREFIX.key and PREFIX.pub'

# merkql checkpoint --topic/-t T --partition P --size N --origin O --sign KEYFILE
set c '__merkql_using_command checkpoint'
complete -c merkql -n $c -s t -l topic -x -a '(__merkql_names topics)' -d Topic
complete -c merkql -n $c -l partition -x -d Partition
complete -c merkql -n $c -l size -x -d 'The tree of the first N records'
complete -c merkql -n $c -l origin -x -d 'First line of the checkpoint'
complete -c merkql -n $c -l sign -r -F -d 'Signer key file'
