// The subcommands: for each, its options, the function that declares it on
// the command line, and the function that runs it and returns the exit code.
#pragma once

#include "common.h"

#include <CLI/CLI.hpp>
#include <merkql/note.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace merkql::cli {

// Accepts only a plain unsigned decimal number (CLI11 would wrap "-1").
inline const CLI::Validator NonNegativeInteger(
  [](std::string& text) -> std::string {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
      return "'" + text + "' is not a non-negative integer";
    }
    return {};
  },
  "", "NON-NEGATIVE");

// Topic settings given on the command line (produce, topic create and
// alter), declared and read in one place (cli/topic.cpp). A retention
// limit is a number or "none".
struct TopicSettings {
  std::optional<uint32_t> partitions;
  std::optional<std::string> compression;
  std::optional<std::string> retention_records;
  std::optional<std::string> retention_bytes;
  std::optional<std::string> retention_ms;
  std::optional<uint64_t> segment_bytes;
};
// Declares --partitions, --compression, --retention-records,
// --retention-bytes, --retention-ms and --segment-bytes; `what` says whose
// settings they are, for --help ("of a new topic"; "" for alter, where
// partitions and compression are fixed at creation).
void add_topic_settings(CLI::App* cmd, TopicSettings& settings, const std::string& what);
// base with the settings given put in.
TopicConfig apply_topic_settings(TopicConfig base, const TopicSettings& settings);
// Exit 2 naming the first setting given that differs from the topic's, with
// both values.
void require_topic_settings(const std::string& topic, const TopicConfig& have,
                            const TopicSettings& settings);

struct TopicOptions {
  const GlobalOptions* global = nullptr;
  std::string topic;
  TopicSettings settings;
  bool json = false;
  CLI::App* create = nullptr;
  CLI::App* alter = nullptr;
  CLI::App* list = nullptr;
  CLI::App* describe = nullptr;
  CLI::App* remove = nullptr;
};
CLI::App* add_topic(CLI::App& app, TopicOptions& options, const GlobalOptions& global);
int run_topic(const TopicOptions& options);

struct ProduceOptions {
  const GlobalOptions* global = nullptr;
  std::string topic;
  std::string input = "json";
  std::optional<std::string> key;
  std::optional<std::string> key_field;
  std::optional<uint32_t> partition;
  TopicSettings settings; // of a new topic; checked against an existing one
  uint64_t batch = 10000;
  bool ack = false;
  uint64_t max_record_bytes = 1048576;
  bool skip_bad = false;
  std::vector<std::string> files; // read in order; "-" or none: standard input
};
CLI::App* add_produce(CLI::App& app, ProduceOptions& options, const GlobalOptions& global);
int run_produce(const ProduceOptions& options);

struct ConsumeOptions {
  const GlobalOptions* global = nullptr;
  std::string topics;
  std::string group; // empty: read without a group
  std::optional<uint32_t> partition;
  std::optional<std::string> offset;
  std::string format = "json";
  std::string from = "earliest";
  std::optional<uint64_t> max;
  bool follow = false;
  bool no_commit = false;
};
CLI::App* add_consume(CLI::App& app, ConsumeOptions& options, const GlobalOptions& global);
int run_consume(const ConsumeOptions& options);

struct CommitOptions {
  const GlobalOptions* global = nullptr;
  std::string group;
  std::optional<std::string> topic;
  std::optional<uint32_t> partition;
  std::optional<uint64_t> offset;
  std::optional<std::string> reset;
  std::optional<std::string> to_datetime;
  bool dry_run = false;
};
CLI::App* add_commit(CLI::App& app, CommitOptions& options, const GlobalOptions& global);
int run_commit(const CommitOptions& options);

// merkql group list|describe|delete (cli/group.cpp).
struct GroupOptions {
  const GlobalOptions* global = nullptr;
  std::string group;
  bool json = false;
  // The subcommands, to tell which one was given.
  CLI::App* list = nullptr;
  CLI::App* describe = nullptr;
  CLI::App* remove = nullptr;
};
CLI::App* add_group(CLI::App& app, GroupOptions& options, const GlobalOptions& global);
int run_group(const GroupOptions& options);

struct InspectOptions {
  const GlobalOptions* global = nullptr;
  bool json = false;
  std::optional<std::string> topic;
  std::optional<uint32_t> partition;
  std::optional<uint64_t> offset;
};
CLI::App* add_inspect(CLI::App& app, InspectOptions& options, const GlobalOptions& global);
int run_inspect(const InspectOptions& options);

struct VerifyProofOptions {
  const GlobalOptions* global = nullptr;
  std::optional<std::string> topic;
  std::optional<uint32_t> partition;
  std::optional<uint64_t> offset;
  std::optional<uint64_t> tree_size;
  std::optional<std::string> out;
  std::optional<std::string> proof;
  std::optional<std::string> root;
  // With --proof: the Kafka record (a kcat -J line) that must be the proven one.
  std::optional<std::string> kafka_record;
  bool all = false;
  // Consistency proofs: export (--from-size, --to-size) and check
  // (--consistency, --from-root, --to-root).
  std::optional<uint64_t> from_size;
  std::optional<uint64_t> to_size;
  std::optional<std::string> consistency;
  std::optional<std::string> from_root;
  std::optional<std::string> to_root;
  // --checkpoint FILE --key PUBFILE: check a signed checkpoint (alone, or
  // as the trusted root and size of --proof).
  std::optional<std::string> checkpoint;
  std::optional<std::string> key;
  // --consistency FILE --from-checkpoint A --to-checkpoint B --key PUBFILE.
  std::optional<std::string> from_checkpoint;
  std::optional<std::string> to_checkpoint;
};
CLI::App* add_verify_proof(CLI::App& app, VerifyProofOptions& options, const GlobalOptions& global);
int run_verify_proof(const VerifyProofOptions& options);

struct DuOptions {
  const GlobalOptions* global = nullptr;
  bool json = false;
  bool bytes = false;
};
CLI::App* add_du(CLI::App& app, DuOptions& options, const GlobalOptions& global);
int run_du(const DuOptions& options);

struct CompactOptions {
  const GlobalOptions* global = nullptr;
  std::optional<std::string> topic;
};
CLI::App* add_compact(CLI::App& app, CompactOptions& options, const GlobalOptions& global);
int run_compact(const CompactOptions& options);

// Signed checkpoints (cli/keygen.cpp, cli/checkpoint.cpp).
struct KeygenOptions {
  std::string name;
  std::string out;
};
CLI::App* add_keygen(CLI::App& app, KeygenOptions& options);
int run_keygen(const KeygenOptions& options);

struct CheckpointOptions {
  const GlobalOptions* global = nullptr;
  std::string topic;
  uint32_t partition = 0;
  std::optional<uint64_t> size;
  std::optional<std::string> origin;
  std::optional<std::string> sign;
};
CLI::App* add_checkpoint(CLI::App& app, CheckpointOptions& options, const GlobalOptions& global);
int run_checkpoint(const CheckpointOptions& options);
// One line of a key file (a final newline dropped), read bounded.
std::string read_key_line(const std::string& path);
// The verifier key in the file at path: exit 65 when it holds none, 66 when
// the file does not exist.
NoteVerifier read_verifier_key(const std::string& path);
// The checkpoint in the signed note file at path, when one of its signatures
// is by key; otherwise why not (the caller exits 1). A missing or unreadable
// file throws Exit (66, 74).
Result<Checkpoint> read_signed_checkpoint(const std::string& path, const NoteVerifier& key);

struct ForwardCommandOptions {
  const GlobalOptions* global = nullptr;
  std::string topic;
  std::string group;
  std::string brokers;
  std::string kafka_topic;
  std::string partitioner = "same";
  bool follow = false;
  std::optional<uint64_t> max;
  double timeout_s = 30;
  std::vector<std::string> properties; // NAME=VALUE
};
CLI::App* add_forward(CLI::App& app, ForwardCommandOptions& options, const GlobalOptions& global);
int run_forward(const ForwardCommandOptions& options);

} // namespace merkql::cli
