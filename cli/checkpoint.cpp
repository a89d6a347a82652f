// merkql checkpoint: print the tlog-checkpoint note of a partition's tree at
// any size, signed with --sign (man/merkql-checkpoint.1, docs/FORMAT.md
// §Checkpoints and signed notes).
#include "commands.h"

#include <merkql/env.h>
#include <merkql/note.h>

#include <fmt/format.h>

namespace merkql::cli {

CLI::App* add_checkpoint(CLI::App& app, CheckpointOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand(
    "checkpoint", "Print the checkpoint (origin, size, root) of a partition, optionally signed");
  cmd->add_option("-t,--topic", o.topic, "Topic of the partition")->required();
  cmd->add_option("--partition", o.partition, "Partition")->required()->check(NonNegativeInteger);
  cmd
    ->add_option("--size", o.size,
                 "The tree of the first N records (default: every record written)")
    ->check(NonNegativeInteger);
  cmd->add_option("--origin", o.origin,
                  "First line of the checkpoint (default: KEYNAME/TOPIC/PARTITION with --sign, "
                  "else merkql/TOPIC/PARTITION)");
  cmd->add_option("--sign", o.sign, "Sign with the signer key in FILE (from merkql keygen)");
  return cmd;
}

std::string read_key_line(const std::string& path)
{
  // A key file holds one line; 64 KiB bounds a file that is something else.
  std::string text = unwrap(read_file(Env::posix(), path, 64 * 1024), path);
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  return text;
}

NoteVerifier read_verifier_key(const std::string& path)
{
  auto key = parse_verifier_key(read_key_line(path));
  if (!key.is_ok()) {
    throw Exit(exit_data_err, fmt::format("{}: {}", path, key.status().message()));
  }
  return std::move(key).value();
}

Result<Checkpoint> read_signed_checkpoint(const std::string& path, const NoteVerifier& key)
{
  // A checkpoint note is a few lines; a file beyond this is not one.
  constexpr uint64_t max_bytes = 64 * 1024;
  auto note = read_file(Env::posix(), path, max_bytes);
  if (note.status().is_corruption()) {
    return Status::invalid_argument(
      fmt::format("{}: larger than {} bytes, not a checkpoint note", path, max_bytes));
  }
  const std::string text = unwrap(std::move(note), path);
  auto checkpoint = verify_checkpoint(text, key);
  if (!checkpoint.is_ok()) {
    return checkpoint.status().with_context(path);
  }
  return checkpoint;
}

int run_checkpoint(const CheckpointOptions& o)
{
  require_name(o.topic, "topic");
  std::optional<NoteSigner> signer;
  if (o.sign) {
    auto parsed = parse_signer_key(read_key_line(*o.sign));
    if (!parsed.is_ok()) {
      throw Exit(exit_data_err, fmt::format("{}: {}", *o.sign, parsed.status().message()));
    }
    signer = std::move(parsed).value();
  }
  const std::string label = fmt::format("{}/{}", o.topic, o.partition);
  auto broker = open_broker(*o.global, Create::no, Repair::never);
  Partition* partition = existing_partition(*broker, o.topic, o.partition);
  const uint64_t records = unwrap(partition->next_offset(), label);
  const uint64_t size = o.size.value_or(records);
  if (size > records) {
    throw Exit(exit_no_input, fmt::format("{}: --size {} is beyond the partition's {} record{}",
                                          label, size, records, records == 1 ? "" : "s"));
  }
  const std::optional<Hash> root = unwrap(partition->merkle_root_at(size), label);
  if (size == 0 || !root) {
    throw Exit(exit_no_input,
               fmt::format("{}: no checkpoint of an empty tree (size 0 has no root)", label));
  }
  Checkpoint checkpoint;
  checkpoint.origin =
    o.origin ? *o.origin
             : fmt::format("{}/{}/{}", signer ? signer->name : "merkql", o.topic, o.partition);
  checkpoint.size = size;
  checkpoint.root = *root;
  std::string text = unwrap(format_checkpoint(checkpoint), "--origin");
  if (signer) {
    text = unwrap(sign_note(text, *signer), "signing");
  }
  write_stdout(text);
  return exit_ok;
}

} // namespace merkql::cli
