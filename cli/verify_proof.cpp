// merkql verify-proof: export an inclusion proof, verify one offline, or
// audit the data directory (man/merkql-verify-proof.1).
#include "commands.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
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
  auto* all = cmd->add_flag("--all", o.all, "Audit every record and tree node");
  proof->excludes(topic)->excludes(partition)->excludes(offset)->excludes(out)->excludes(all);
  proof->excludes(tree_size);
  all->excludes(tree_size);
  root->needs(proof);
  all->excludes(partition)->excludes(offset)->excludes(out);
  return cmd;
}

namespace {

int fail(const std::string& reason)
{
  std::fprintf(stderr, "merkql: proof invalid: %s\n", reason.c_str());
  return exit_verify_failed;
}

int export_proof(const VerifyProofOptions& o)
{
  auto broker = open_broker(*o.global, false, Repair::never);
  Partition* partition = existing_partition(*broker, *o.topic, *o.partition);
  const uint64_t next = unwrap(partition->next_offset());
  const uint64_t size = o.tree_size.value_or(next);
  if (size > next) {
    throw Exit(exit_no_input, fmt::format("{}/{} holds {} records, fewer than --tree-size {}",
                                          *o.topic, *o.partition, next, size));
  }
  if (*o.offset >= size) {
    throw Exit(exit_no_input,
               o.tree_size
                 ? fmt::format("offset {} is not in the tree of {} records", *o.offset, size)
                 : fmt::format("{}/{} has no offset {} (next offset is {})", *o.topic, *o.partition,
                               *o.offset, next));
  }
  Record record = unwrap(partition->read(*o.offset),
                         fmt::format("{}/{} offset {}", *o.topic, *o.partition, *o.offset));
  InclusionProof proof = unwrap(partition->proof(*o.offset, size));
  auto root = unwrap(partition->merkle_root_at(size));
  Sha256 ctx;
  const Hash rh = record_hash(record, ctx);
  if (!root || leaf_hash(rh, *o.offset, ctx) != proof.leaf_hash || !verify_proof(proof, *root)) {
    std::fprintf(stderr,
                 "merkql: proof invalid: the stored record or tree of %s/%u does not verify "
                 "against the partition's root\n",
                 o.topic->c_str(), *o.partition);
    return exit_verify_failed;
  }
  nlohmann::ordered_json doc;
  doc["version"] = 1;
  doc["topic"] = record.topic;
  doc["partition"] = record.partition;
  doc["offset"] = record.offset;
  doc["tree_size"] = proof.tree_size;
  nlohmann::ordered_json rec;
  rec["key"] = record.key ? nlohmann::ordered_json(*record.key) : nlohmann::ordered_json(nullptr);
  rec["value"] = record.value;
  rec["timestamp"] = format_timestamp(record.timestamp);
  doc["record"] = rec;
  doc["record_hash"] = to_hex(rh);
  doc["leaf_hash"] = to_hex(proof.leaf_hash);
  auto siblings = nlohmann::ordered_json::array();
  for (const ProofSibling& s : proof.siblings) {
    nlohmann::ordered_json j;
    j["hash"] = to_hex(s.hash);
    j["side"] = side_name(s.side);
    siblings.push_back(j);
  }
  doc["siblings"] = siblings;
  doc["root"] = to_hex(*root);
  const std::string text =
    doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  if (o.out) {
    std::FILE* f = std::fopen(o.out->c_str(), "wb");
    if (!f) {
      throw Exit(exit_io_err, fmt::format("{}: {}", *o.out, std::strerror(errno)));
    }
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) {
      throw Exit(exit_io_err, fmt::format("writing {}: {}", *o.out, std::strerror(errno)));
    }
  } else {
    write_stdout(text);
  }
  return exit_ok;
}

std::string read_proof_text(const std::string& path)
{
  if (path == "-") {
    std::string text;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        throw Exit(exit_io_err, fmt::format("reading standard input: {}", std::strerror(errno)));
      }
      if (n == 0) {
        return text;
      }
      text.append(buf, static_cast<size_t>(n));
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Exit(errno == ENOENT ? exit_no_input : exit_io_err,
               fmt::format("{}: {}", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int check_proof(const VerifyProofOptions& o)
{
  std::optional<Hash> trusted;
  if (o.root) {
    trusted = hash_from_hex(*o.root);
    if (!trusted || o.root->size() != 64) {
      throw Exit(exit_usage, fmt::format("--root {}: not 64 hexadecimal digits", *o.root));
    }
  }
  const std::string text = read_proof_text(*o.proof);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return fail("not valid JSON: " + json_error_text(e.what()));
  }
  if (!doc.is_object()) {
    return fail("not a JSON object");
  }
  auto member = [&](const nlohmann::json& obj, const char* name) -> const nlohmann::json* {
    auto it = obj.find(name);
    return it == obj.end() ? nullptr : &*it;
  };
  auto uint_member = [&](const nlohmann::json& obj, const char* name) -> std::optional<uint64_t> {
    const nlohmann::json* v = member(obj, name);
    if (!v || !v->is_number_unsigned()) {
      return std::nullopt;
    }
    return v->get<uint64_t>();
  };
  auto hash_member = [&](const nlohmann::json& obj, const char* name) -> std::optional<Hash> {
    const nlohmann::json* v = member(obj, name);
    if (!v || !v->is_string() || v->get_ref<const std::string&>().size() != 64) {
      return std::nullopt;
    }
    return hash_from_hex(v->get_ref<const std::string&>());
  };
  auto version = uint_member(doc, "version");
  if (!version || *version != 1) {
    return fail("unknown or missing proof version (this merkql reads version 1)");
  }
  const nlohmann::json* topic = member(doc, "topic");
  auto partition = uint_member(doc, "partition");
  auto offset = uint_member(doc, "offset");
  auto tree_size = uint_member(doc, "tree_size");
  const nlohmann::json* record = member(doc, "record");
  auto rh = hash_member(doc, "record_hash");
  auto lh = hash_member(doc, "leaf_hash");
  auto root = hash_member(doc, "root");
  const nlohmann::json* siblings = member(doc, "siblings");
  if (!topic || !topic->is_string()) {
    return fail("missing or malformed member \"topic\"");
  }
  if (!partition || *partition > UINT32_MAX) {
    return fail("missing or malformed member \"partition\"");
  }
  if (!offset) {
    return fail("missing or malformed member \"offset\"");
  }
  if (!tree_size) {
    return fail("missing or malformed member \"tree_size\"");
  }
  if (!record || !record->is_object()) {
    return fail("missing or malformed member \"record\"");
  }
  if (!rh) {
    return fail("missing or malformed member \"record_hash\"");
  }
  if (!lh) {
    return fail("missing or malformed member \"leaf_hash\"");
  }
  if (!root) {
    return fail("missing or malformed member \"root\"");
  }
  if (!siblings || !siblings->is_array()) {
    return fail("missing or malformed member \"siblings\"");
  }
  Record r;
  r.topic = topic->get<std::string>();
  r.partition = static_cast<uint32_t>(*partition);
  r.offset = *offset;
  const nlohmann::json* key = member(*record, "key");
  const nlohmann::json* value = member(*record, "value");
  const nlohmann::json* timestamp = member(*record, "timestamp");
  if (!key || !(key->is_null() || key->is_string())) {
    return fail("missing or malformed member \"record.key\"");
  }
  if (key->is_string()) {
    r.key = key->get<std::string>();
  }
  if (!value || !value->is_string()) {
    return fail("missing or malformed member \"record.value\"");
  }
  r.value = value->get<std::string>();
  if (!timestamp || !timestamp->is_string()) {
    return fail("missing or malformed member \"record.timestamp\"");
  }
  auto ts = parse_timestamp(timestamp->get_ref<const std::string&>());
  if (!ts.is_ok()) {
    return fail("record.timestamp: " + ts.status().message());
  }
  r.timestamp = *ts;

  InclusionProof proof;
  proof.offset = *offset;
  proof.tree_size = *tree_size;
  proof.leaf_hash = *lh;
  for (const auto& s : *siblings) {
    if (!s.is_object()) {
      return fail("malformed sibling");
    }
    auto h = hash_member(s, "hash");
    const nlohmann::json* side = member(s, "side");
    if (!h || !side || !side->is_string()) {
      return fail("malformed sibling");
    }
    ProofSibling sib;
    sib.hash = *h;
    if (*side == "Left") {
      sib.side = Side::left;
    } else if (*side == "Right") {
      sib.side = Side::right;
    } else {
      return fail("sibling side must be \"Left\" or \"Right\"");
    }
    proof.siblings.push_back(sib);
  }

  Sha256 ctx;
  const Hash computed = record_hash(r, ctx);
  if (computed != *rh) {
    return fail("record hash does not match the record");
  }
  if (leaf_hash(computed, r.offset, ctx) != *lh) {
    return fail("leaf hash does not follow from the record hash");
  }
  auto reached = proof_root(proof, ctx);
  if (!reached.is_ok()) {
    return fail(reached.status().message());
  }
  if (*reached != *root) {
    return fail("the siblings do not lead from the leaf to the root");
  }
  if (trusted && *trusted != *root) {
    return fail(fmt::format("the proof leads to root {}, not to the given root {}", to_hex(*root),
                            to_hex(*trusted)));
  }
  write_stdout(
    fmt::format("proof valid: offset {} of {}/{} is in the tree of {} record{} with root {}{}\n",
                r.offset, r.topic, r.partition, proof.tree_size, proof.tree_size == 1 ? "" : "s",
                to_hex(*root), trusted ? " (the given root)" : ""));
  return exit_ok;
}

int audit(const VerifyProofOptions& o)
{
  auto broker = open_broker(*o.global, false, Repair::never);
  const std::vector<std::string> names = selected_topics(*broker, o.topic);
  const bool progress = ::isatty(STDERR_FILENO);
  bool failed = false;
  uint64_t partitions = 0;
  for (const std::string& name : names) {
    Topic* topic = unwrap(broker->topic(name));
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      ++partitions;
      const std::string label = fmt::format("{}/{}", name, p);
      Partition* partition = unwrap(topic->partition(p), label);
      std::function<void(uint64_t, uint64_t)> report_progress;
      if (progress) {
        report_progress = [&label](uint64_t done, uint64_t total) {
          std::fprintf(stderr, "\r%s: %llu/%llu records", label.c_str(),
                       static_cast<unsigned long long>(done),
                       static_cast<unsigned long long>(total));
        };
      }
      auto result = partition->audit(report_progress);
      if (progress) {
        std::fprintf(stderr, "\r\033[K");
      }
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

} // namespace

int run_verify_proof(const VerifyProofOptions& o)
{
  if (o.topic) {
    require_name(*o.topic, "topic");
  }
  if (o.proof) {
    return check_proof(o);
  }
  if (o.all) {
    return audit(o);
  }
  if (o.topic && o.partition && o.offset) {
    return export_proof(o);
  }
  throw Exit(exit_usage, "give --topic, --partition and --offset to export a proof, --proof FILE "
                         "to verify one, or --all to audit");
}

} // namespace merkql::cli
