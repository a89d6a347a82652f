// merkql verify-proof: export an inclusion or consistency proof, verify
// one offline, or audit the data directory (man/merkql-verify-proof.1).
#include "commands.h"
#include "consistency_file.h"
#include "kafka_record.h"
#include "progress.h"
#include "proof_file.h"

#include <merkql/note.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace merkql::cli {

CLI::App* add_verify_proof(CLI::App& app, VerifyProofOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand(
    "verify-proof", "Export a merkle proof, verify one offline, or audit the data directory");
  auto* topic = cmd->add_option("-t,--topic", o.topic,
                                "Topic of the record to prove, or with --all the topic to audit");
  auto* partition = cmd->add_option("--partition", o.partition, "Partition of the record to prove")
                      ->check(NonNegativeInteger);
  auto* offset = cmd->add_option("--offset", o.offset, "Offset of the record to prove")
                   ->check(NonNegativeInteger);
  auto* tree_size =
    cmd
      ->add_option("--tree-size", o.tree_size,
                   "Prove against the tree of the first N records (a root published earlier)")
      ->check(NonNegativeInteger);
  auto* out = cmd->add_option("--out", o.out, "Write the proof to FILE instead of standard output");
  auto* proof = cmd->add_option("--proof", o.proof, "Verify the proof in FILE, or - for stdin");
  auto* root = cmd->add_option("--root", o.root, "With --proof, require this root (64 hex digits)");
  auto* kafka_record = cmd->add_option(
    "--kafka-record", o.kafka_record,
    "With --proof, check that the Kafka record in FILE (one kcat -J line, or -) is the proven one");
  auto* all = cmd->add_flag("--all", o.all, "Audit every record and tree node");
  kafka_record->needs(proof);
  proof->excludes(topic)->excludes(partition)->excludes(offset)->excludes(out)->excludes(all);
  proof->excludes(tree_size);
  all->excludes(tree_size);
  root->needs(proof);
  all->excludes(partition)->excludes(offset)->excludes(out);

  // Consistency proofs.
  auto* from_size =
    cmd
      ->add_option("--from-size", o.from_size,
                   "Export a consistency proof: the tree of the first M records is a prefix of "
                   "the tree of --to-size")
      ->check(NonNegativeInteger);
  auto* to_size = cmd
                    ->add_option("--to-size", o.to_size,
                                 "With --from-size, the larger tree's size (default: now)")
                    ->check(NonNegativeInteger);
  auto* consistency =
    cmd->add_option("--consistency", o.consistency, "Verify the consistency proof in FILE, or -");
  auto* from_root = cmd->add_option("--from-root", o.from_root,
                                    "With --consistency, the root of the smaller tree (64 hex)");
  auto* to_root = cmd->add_option("--to-root", o.to_root,
                                  "With --consistency, the root of the larger tree (64 hex)");
  from_size->excludes(offset)->excludes(tree_size)->excludes(proof)->excludes(all);
  to_size->needs(from_size);
  consistency->excludes(topic)->excludes(partition)->excludes(offset)->excludes(out);
  consistency->excludes(all)->excludes(proof)->excludes(tree_size)->excludes(from_size);
  consistency->excludes(root);
  from_root->needs(consistency);
  to_root->needs(consistency);
  // Signed checkpoints: --checkpoint FILE --key PUBFILE.
  auto* checkpoint = cmd->add_option(
    "--checkpoint", o.checkpoint,
    "Verify the signed checkpoint note in FILE; with --proof, check the proof against it");
  auto* key =
    cmd->add_option("--key", o.key, "Verifier key FILE (from merkql keygen) for the checkpoints");
  auto* from_checkpoint =
    cmd->add_option("--from-checkpoint", o.from_checkpoint,
                    "With --consistency, the signed checkpoint of the smaller tree");
  auto* to_checkpoint =
    cmd->add_option("--to-checkpoint", o.to_checkpoint,
                    "With --consistency, the signed checkpoint of the larger tree");
  checkpoint->needs(key)->excludes(topic)->excludes(partition)->excludes(offset)->excludes(out);
  checkpoint->excludes(all)->excludes(tree_size)->excludes(root);
  checkpoint->excludes(consistency)->excludes(from_size);
  from_checkpoint->needs(consistency)->needs(to_checkpoint)->needs(key);
  to_checkpoint->needs(consistency)->needs(from_checkpoint)->needs(key);
  from_checkpoint->excludes(from_root)->excludes(to_root);
  to_checkpoint->excludes(from_root)->excludes(to_root);
  return cmd;
}

namespace {

// Writes text to the file named by out, or to standard output.
void write_output(const std::optional<std::string>& out, const std::string& text)
{
  if (!out) {
    write_stdout(text);
    return;
  }
  std::FILE* f = std::fopen(out->c_str(), "wb");
  if (!f) {
    throw Exit(exit_io_err, fmt::format("{}: {}", *out, std::strerror(errno)));
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) {
    throw Exit(exit_io_err, fmt::format("writing {}: {}", *out, std::strerror(errno)));
  }
}

Hash root_option(const std::optional<std::string>& text, const char* name)
{
  if (!text) {
    throw Exit(exit_usage, fmt::format("--consistency needs {}", name));
  }
  auto hash = hash_from_hex(*text);
  if (!hash || text->size() != 64) {
    throw Exit(exit_usage, fmt::format("{} {}: not 64 hexadecimal digits", name, *text));
  }
  return *hash;
}

int fail(const std::string& reason)
{
  std::fprintf(stderr, "merkql: proof invalid: %s\n", printable(reason).c_str());
  return exit_verify_failed;
}

// The checkpoint in `path`, signed by `key`; else "checkpoint invalid: ..."
// on stderr (naming the file when `name_file`) and exit 1.
Checkpoint signed_checkpoint_or_exit(const std::string& path, const NoteVerifier& key,
                                     bool name_file)
{
  auto checkpoint = read_signed_checkpoint(path, key);
  if (!checkpoint.is_ok()) {
    const std::string reason = checkpoint.status().message();
    std::fprintf(stderr, "merkql: checkpoint invalid: %s\n",
                 printable(name_file ? fmt::format("{}: {}", path, reason) : reason).c_str());
    throw Exit(exit_verify_failed, "");
  }
  return std::move(checkpoint).value();
}

int export_proof(const VerifyProofOptions& o)
{
  auto broker = open_broker(*o.global, Create::no, Repair::never);
  Partition* partition = existing_partition(*broker, *o.topic, *o.partition);
  const RecordProof proof = unwrap(make_record_proof(*partition, *o.offset, o.tree_size),
                                   fmt::format("{}/{}", *o.topic, *o.partition));
  if (!verify_record_proof(proof).is_ok()) {
    std::fprintf(stderr,
                 "merkql: proof invalid: the stored record or tree of %s/%u does not verify "
                 "against the partition's root\n",
                 o.topic->c_str(), *o.partition);
    return exit_verify_failed;
  }
  write_output(o.out, write_proof_json(proof));
  return exit_ok;
}

// The proof document in the file named on the command line ("-": standard
// input), read by read(fd): exit 74 when the file cannot be read, and 1
// ("proof invalid: ...") when it is not a valid document of its kind.
template<class T> T read_document(const std::string& path, DocumentRead<T> (*read)(int))
{
  const int fd = open_input(path);
  DocumentRead<T> doc = read(fd);
  if (fd != STDIN_FILENO) {
    ::close(fd);
  }
  switch (doc.kind) {
  case DocumentReadKind::io_error:
    throw Exit(exit_io_err, fmt::format("reading {}: {}", input_name(path), doc.message));
  case DocumentReadKind::invalid:
    throw Exit(fail(doc.message), "");
  case DocumentReadKind::ok:
    break;
  }
  return std::move(doc.proof);
}

// --proof P --kafka-record REC: the Kafka record is malformed (65), or is
// not the record of a valid proof (1).
int check_kafka_record(const VerifyProofOptions& o, const std::optional<Hash>& trusted,
                       std::optional<uint64_t> tree_size)
{
  const std::string& rec_path = *o.kafka_record;
  if (rec_path == "-" && *o.proof == "-") {
    throw Exit(exit_usage, "--proof and --kafka-record cannot both be standard input");
  }
  const int fd = open_input(rec_path);
  const KafkaRecordRead rec = read_kafka_record_fd(fd);
  if (fd != STDIN_FILENO) {
    ::close(fd);
  }
  const std::string rec_name = input_name(rec_path);
  switch (rec.kind) {
  case KafkaRecordRead::Kind::io_error:
    throw Exit(exit_io_err, fmt::format("reading {}: {}", rec_name, rec.message));
  case KafkaRecordRead::Kind::invalid:
    throw Exit(exit_data_err, fmt::format("{}: {}", rec_name, rec.message));
  case KafkaRecordRead::Kind::ok:
    break;
  }
  const KafkaRecordLine& line = rec.line;
  auto rebuilt = record_from_kafka(line.key, line.value.value_or(std::string()), line.headers);
  if (!rebuilt.is_ok()) {
    throw Exit(exit_data_err, fmt::format("{}: not a record forwarded by merkql: {}", rec_name,
                                          rebuilt.status().message()));
  }

  const RecordProof proof = read_document(*o.proof, read_proof_fd);
  const ProofVerdict verdict = check_record_proof(proof, trusted, tree_size);
  if (verdict.kind != ProofVerdict::Kind::valid) {
    return fail(verdict.message);
  }
  const std::string mismatch = kafka_record_mismatch(line, *rebuilt, proof);
  if (!mismatch.empty()) {
    std::fprintf(stderr, "merkql: Kafka record does not match the proof: %s\n",
                 printable(mismatch).c_str());
    return exit_verify_failed;
  }
  std::string where;
  if (line.topic && line.partition && line.offset) {
    where = fmt::format(" (Kafka {}/{} offset {})", printable(*line.topic), *line.partition,
                        *line.offset);
  }
  write_stdout(fmt::format("{}\nKafka record matches{}: it is offset {} of {}/{}, record hash "
                           "{}\n",
                           verdict.message, where, proof.record.offset,
                           printable(proof.record.topic), proof.record.partition,
                           to_hex(proof.record_hash)));
  return exit_ok;
}

int check_proof(const VerifyProofOptions& o)
{
  std::optional<Hash> trusted;
  std::optional<uint64_t> tree_size;
  if (o.checkpoint) {
    // The checkpoint says which tree the proof must be in.
    const Checkpoint checkpoint =
      signed_checkpoint_or_exit(*o.checkpoint, read_verifier_key(*o.key), false);
    trusted = checkpoint.root;
    tree_size = checkpoint.size;
  }
  if (o.root) {
    trusted = hash_from_hex(*o.root);
    if (!trusted || o.root->size() != 64) {
      throw Exit(exit_usage, fmt::format("--root {}: not 64 hexadecimal digits", *o.root));
    }
  }
  if (o.kafka_record) {
    return check_kafka_record(o, trusted, tree_size);
  }
  const std::string& path = *o.proof;
  const int fd = open_input(path);
  const ProofVerdict verdict = check_proof_fd(fd, trusted, tree_size);
  if (fd != STDIN_FILENO) {
    ::close(fd);
  }
  switch (verdict.kind) {
  case ProofVerdict::Kind::valid:
    write_stdout(verdict.message + "\n");
    return exit_ok;
  case ProofVerdict::Kind::io_error:
    throw Exit(exit_io_err, fmt::format("reading {}: {}", input_name(path), verdict.message));
  case ProofVerdict::Kind::invalid:
    break;
  }
  return fail(verdict.message);
}

int export_consistency(const VerifyProofOptions& o)
{
  if (!o.topic || !o.partition) {
    throw Exit(exit_usage, "--from-size needs --topic and --partition");
  }
  auto broker = open_broker(*o.global, Create::no, Repair::never);
  Partition* partition = existing_partition(*broker, *o.topic, *o.partition);
  const std::string label = fmt::format("{}/{}", *o.topic, *o.partition);
  const ConsistencyProof proof =
    unwrap(partition->consistency_proof(*o.from_size, o.to_size), label);
  write_output(o.out, write_consistency_json(proof));
  return exit_ok;
}

int check_consistency_file(const VerifyProofOptions& o)
{
  Hash from_root{};
  Hash to_root{};
  // With checkpoints, their sizes must be the proof's.
  std::optional<uint64_t> from_size;
  std::optional<uint64_t> to_size;
  if (o.from_checkpoint) {
    const NoteVerifier key = read_verifier_key(*o.key);
    const Checkpoint from = signed_checkpoint_or_exit(*o.from_checkpoint, key, true);
    const Checkpoint to = signed_checkpoint_or_exit(*o.to_checkpoint, key, true);
    if (from.origin != to.origin) {
      return fail(fmt::format("the checkpoints are of two logs: origin {} and origin {}",
                              from.origin, to.origin));
    }
    from_root = from.root;
    to_root = to.root;
    from_size = from.size;
    to_size = to.size;
  } else {
    from_root = root_option(o.from_root, "--from-root");
    to_root = root_option(o.to_root, "--to-root");
  }
  const ConsistencyProof p = read_document(*o.consistency, read_consistency_fd);
  if (from_size && (p.from_size != *from_size || p.to_size != *to_size)) {
    return fail(fmt::format("the proof is from size {} to {}, the checkpoints are of sizes {} "
                            "and {}",
                            p.from_size, p.to_size, *from_size, *to_size));
  }
  const Status verified = check_consistency(p, from_root, to_root);
  if (!verified.is_ok()) {
    return fail(verified.message());
  }
  write_stdout(fmt::format("consistency proof valid: the tree of {} record{} with root {} is a "
                           "prefix of the tree of {} record{} with root {}\n",
                           p.from_size, p.from_size == 1 ? "" : "s", to_hex(from_root), p.to_size,
                           p.to_size == 1 ? "" : "s", to_hex(to_root)));
  return exit_ok;
}

int audit(const VerifyProofOptions& o)
{
  auto broker = open_broker(*o.global, Create::no, Repair::never);
  const std::vector<std::string> names = selected_topics(*broker, o.topic);
  Progress progress("verify-proof --all");
  bool failed = false;
  uint64_t partitions = 0;
  for (const std::string& name : names) {
    Topic* topic = unwrap(broker->topic(name));
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      ++partitions;
      const std::string label = fmt::format("{}/{}", name, p);
      Partition* partition = unwrap(topic->partition(p), label);
      progress.set_item(label);
      progress.set_total_records(0);
      progress.update(0);
      auto result = partition->audit([&progress](uint64_t done, uint64_t total) {
        progress.set_total_records(total);
        progress.update(done);
      });
      progress.clear();
      std::string line;
      if (!result.is_ok()) {
        if (!result.status().is_corruption()) {
          check(result.status(), label);
        }
        failed = true;
        line = fmt::format("{}: MISMATCH: {}\n", label, result.status().message());
      } else if (!result->ok()) {
        failed = true;
        line = fmt::format("{}: MISMATCH at offset {}: {}\n", label, *result->first_bad_offset,
                           result->problem);
      } else {
        line = fmt::format("{}: ok, {} record{} checked, root {}\n", label, result->records_checked,
                           result->records_checked == 1 ? "" : "s",
                           result->root ? to_hex(*result->root) : "(empty)");
      }
      if (result.is_ok() && result->torn_tail_bytes) {
        line += fmt::format("{}: torn unacknowledged tail of {} bytes (not a failure)\n", label,
                            result->torn_tail_bytes);
      }
      write_stdout(line);
    }
  }
  if (failed) {
    std::fprintf(stderr, "merkql: audit failed: stored data does not match the merkle tree\n");
    return exit_verify_failed;
  }
  write_stdout(
    fmt::format("audit ok: {} partition{} verified\n", partitions, partitions == 1 ? "" : "s"));
  return exit_ok;
}

int check_checkpoint(const VerifyProofOptions& o)
{
  const NoteVerifier key = read_verifier_key(*o.key);
  const Checkpoint checkpoint = signed_checkpoint_or_exit(*o.checkpoint, key, false);
  write_stdout(fmt::format("checkpoint valid: signed by {}\norigin {}\nsize {}\nroot {}\n",
                           format_verifier_key(key), checkpoint.origin, checkpoint.size,
                           to_hex(checkpoint.root)));
  return exit_ok;
}

} // namespace

int run_verify_proof(const VerifyProofOptions& o)
{
  if (o.topic) {
    require_name(*o.topic, "topic");
  }
  if (o.key && !o.checkpoint && !o.from_checkpoint) {
    throw Exit(exit_usage, "--key needs --checkpoint, or --from-checkpoint and --to-checkpoint");
  }
  if (o.proof) {
    return check_proof(o); // against --checkpoint when given
  }
  if (o.checkpoint) {
    return check_checkpoint(o);
  }
  if (o.consistency) {
    return check_consistency_file(o);
  }
  if (o.from_size) {
    return export_consistency(o);
  }
  if (o.all) {
    return audit(o);
  }
  if (o.topic && o.partition && o.offset) {
    return export_proof(o);
  }
  throw Exit(exit_usage, "give --topic, --partition and --offset to export a proof, --proof FILE "
                         "to verify one, --from-size to export a consistency proof, "
                         "--consistency FILE to verify one, or --all to audit");
}

} // namespace merkql::cli
