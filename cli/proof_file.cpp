#include "proof_file.h"

#include "common.h"
#include "json_document.h"
#include "json_in.h"

#include <fmt/format.h>

#include <iterator>
#include <vector>

namespace merkql::cli {

namespace {

using Json = nlohmann::json;

// The bounds of a proof document (proof_file.h).
JsonBounds proof_bounds()
{
  return JsonBounds{
    .max_bytes = k_max_proof_other_bytes,
    .too_large = fmt::format("the document is larger than a proof can be (more than {} bytes "
                             "besides the record's key and value)",
                             k_max_proof_other_bytes),
    .max_string_bytes = k_max_proof_topic_bytes, // the topic
    .string_too_long = fmt::format("the topic is longer than {} bytes", k_max_proof_topic_bytes),
    .max_payload_bytes = k_max_record_bytes,
    .payload_too_large =
      fmt::format("the record's key and value hold more than the {} bytes a record can hold",
                  k_max_record_bytes),
  };
}

// One member's value, as far as a proof needs it.
struct Field {
  enum class Kind { absent, string, unsigned_number, null, other };
  Kind kind = Kind::absent;
  std::string text;
  uint64_t number = 0;
};

struct SiblingFields {
  bool is_object = false;
  Field hash;
  Field side;
};

enum class Member {
  none,
  version,
  topic,
  partition,
  offset,
  tree_size,
  record,
  record_hash,
  leaf_hash,
  root,
  siblings,
  key,
  key_hex,
  value,
  value_hex,
  timestamp,
  hash,
  side,
};

Member root_member(const std::string& name)
{
  static const std::pair<const char*, Member> names[] = {
    {"version", Member::version},
    {"topic", Member::topic},
    {"partition", Member::partition},
    {"offset", Member::offset},
    {"tree_size", Member::tree_size},
    {"record", Member::record},
    {"record_hash", Member::record_hash},
    {"leaf_hash", Member::leaf_hash},
    {"root", Member::root},
    {"siblings", Member::siblings},
  };
  for (const auto& [n, m] : names) {
    if (name == n) {
      return m;
    }
  }
  return Member::none;
}

// Collects the members of a proof document as it streams past; keeps
// nothing it does not need, and stops at the 65th sibling.
class ProofSax : public CountingSax {
public:
  explicit ProofSax(JsonDocumentInput& in) : m_in(in) {}

  bool root_is_object = false;
  Field version, topic, partition, offset, tree_size, record_hash, leaf_hash, root;
  // "record" and "siblings": absent, other (an object, an array) or string
  // (a value of any other shape).
  Field::Kind record_kind = Field::Kind::absent;
  Field record_key, record_key_hex, record_value, record_value_hex, record_timestamp;
  Field::Kind siblings_kind = Field::Kind::absent;
  std::vector<SiblingFields> siblings;
  std::string too_many; // set when a bound was crossed

  bool null() { return set(Field::Kind::null, {}, 0); }
  bool boolean(bool) { return set(Field::Kind::other, {}, 0); }
  bool number_integer(Json::number_integer_t) { return set(Field::Kind::other, {}, 0); }
  bool number_unsigned(Json::number_unsigned_t v)
  {
    return set(Field::Kind::unsigned_number, {}, v);
  }
  bool number_float(Json::number_float_t, const std::string&)
  {
    return set(Field::Kind::other, {}, 0);
  }
  bool string(std::string& s) { return set(Field::Kind::string, std::move(s), 0); }
  bool start_object(size_t) { return start(true); }
  bool start_array(size_t) { return start(false); }
  bool end_object() { return end(); }
  bool end_array() { return end(); }
  bool key(std::string& name)
  {
    m_in.expect(StringKind::other);
    if (depth == 1 && root_is_object) {
      m_member1 = root_member(name);
      if (m_member1 == Member::topic) {
        m_in.expect(StringKind::bounded);
      }
    } else if (depth == 2 && in_record()) {
      m_member2 = name == "key"         ? Member::key
                  : name == "key_hex"   ? Member::key_hex
                  : name == "value"     ? Member::value
                  : name == "value_hex" ? Member::value_hex
                  : name == "timestamp" ? Member::timestamp
                                        : Member::none;
      if (m_member2 == Member::key || m_member2 == Member::value) {
        m_in.expect(StringKind::payload);
      } else if (m_member2 == Member::key_hex || m_member2 == Member::value_hex) {
        m_in.expect(StringKind::payload_hex);
      }
    } else if (depth == 3 && in_sibling()) {
      m_member3 = name == "hash" ? Member::hash : name == "side" ? Member::side : Member::none;
    }
    return true;
  }

private:
  bool in_record() const
  {
    return root_is_object && m_member1 == Member::record && record_kind == Field::Kind::other;
  }
  bool in_siblings() const
  {
    return root_is_object && m_member1 == Member::siblings && siblings_kind == Field::Kind::other;
  }
  bool in_sibling() const
  {
    return in_siblings() && !siblings.empty() && siblings.back().is_object;
  }

  // The field a value starting here fills, if any; records the shape of
  // "record", "siblings" and their elements.
  Field* target(bool is_object, bool is_array)
  {
    if (depth == 0) {
      root_is_object = is_object;
      return nullptr;
    }
    if (!root_is_object) {
      return nullptr;
    }
    if (depth == 1) {
      switch (m_member1) {
      case Member::version:
        return &version;
      case Member::topic:
        return &topic;
      case Member::partition:
        return &partition;
      case Member::offset:
        return &offset;
      case Member::tree_size:
        return &tree_size;
      case Member::record_hash:
        return &record_hash;
      case Member::leaf_hash:
        return &leaf_hash;
      case Member::root:
        return &root;
      case Member::record:
        // A later "record" replaces an earlier one, as in a DOM.
        record_kind = is_object ? Field::Kind::other : Field::Kind::string;
        record_key = record_key_hex = record_value = record_value_hex = record_timestamp = Field{};
        m_member2 = Member::none;
        return nullptr;
      case Member::siblings:
        siblings_kind = is_array ? Field::Kind::other : Field::Kind::string;
        siblings.clear();
        return nullptr;
      default:
        return nullptr;
      }
    }
    if (depth == 2 && in_record()) {
      switch (m_member2) {
      case Member::key:
        return &record_key;
      case Member::key_hex:
        return &record_key_hex;
      case Member::value:
        return &record_value;
      case Member::value_hex:
        return &record_value_hex;
      case Member::timestamp:
        return &record_timestamp;
      default:
        return nullptr;
      }
    }
    if (depth == 2 && in_siblings()) {
      if (siblings.size() == k_max_proof_siblings) {
        too_many = fmt::format("more than {} siblings (no proof has more)", k_max_proof_siblings);
        return nullptr;
      }
      siblings.push_back(SiblingFields{is_object, {}, {}});
      m_member3 = Member::none;
      return nullptr;
    }
    if (depth == 3 && in_sibling()) {
      if (m_member3 == Member::hash) {
        return &siblings.back().hash;
      }
      if (m_member3 == Member::side) {
        return &siblings.back().side;
      }
    }
    return nullptr;
  }

  bool set(Field::Kind kind, std::string text, uint64_t number)
  {
    m_in.expect(StringKind::other);
    if (Field* f = target(false, false)) {
      f->kind = kind;
      f->text = std::move(text);
      f->number = number;
    }
    return too_many.empty();
  }
  bool start(bool is_object)
  {
    m_in.expect(StringKind::other);
    if (Field* f = target(is_object, !is_object)) {
      *f = Field{Field::Kind::other, {}, 0};
    }
    if (!too_many.empty()) {
      return false;
    }
    return enter();
  }
  bool end() { return leave(); }

  JsonDocumentInput& m_in;
  Member m_member1 = Member::none; // in the root object
  Member m_member2 = Member::none; // in "record"
  Member m_member3 = Member::none; // in a sibling
};

ProofRead invalid(std::string why)
{
  return ProofRead{ProofRead::Kind::invalid, {}, std::move(why)};
}

std::optional<Hash> hash_of(const Field& f)
{
  if (f.kind != Field::Kind::string) {
    return std::nullopt;
  }
  return hash_from_hex(f.text);
}

std::optional<uint64_t> unsigned_of(const Field& f)
{
  if (f.kind != Field::Kind::unsigned_number) {
    return std::nullopt;
  }
  return f.number;
}

// The bytes of "key"/"key_hex" or "value"/"value_hex": text is a string
// (or null when null_ok), hex a string of hexadecimal digit pairs; exactly
// one of the two present. False when malformed.
bool payload_of(Field& text, const Field& hex, bool null_ok, std::optional<std::string>& out)
{
  if (text.kind != Field::Kind::absent && hex.kind != Field::Kind::absent) {
    return false;
  }
  if (hex.kind != Field::Kind::absent) {
    out = hex.kind == Field::Kind::string ? bytes_from_hex(hex.text) : std::nullopt;
    return out.has_value();
  }
  if (text.kind == Field::Kind::null && null_ok) {
    out.reset();
    return true;
  }
  if (text.kind != Field::Kind::string) {
    return false;
  }
  out = std::move(text.text);
  return true;
}

ProofRead read_proof(JsonDocumentInput& in)
{
  ProofSax doc(in);
  const bool parsed = in.parse(doc);
  std::string why;
  if (const DocumentReadKind kind = in.status(why); kind != DocumentReadKind::ok) {
    return ProofRead{kind, {}, std::move(why)};
  }
  if (!doc.too_many.empty()) {
    return invalid(doc.too_many);
  }
  if (!parsed) {
    return invalid("not valid JSON: " + doc.error);
  }
  if (!doc.root_is_object) {
    return invalid("not a JSON object");
  }
  auto version = unsigned_of(doc.version);
  if (!version || *version != k_proof_version) {
    return invalid("unknown or missing proof version (this merkql reads version 1)");
  }
  auto partition = unsigned_of(doc.partition);
  auto offset = unsigned_of(doc.offset);
  auto tree_size = unsigned_of(doc.tree_size);
  auto rh = hash_of(doc.record_hash);
  auto lh = hash_of(doc.leaf_hash);
  auto root = hash_of(doc.root);
  auto malformed = [](const char* name) {
    return invalid(fmt::format("missing or malformed member \"{}\"", name));
  };
  if (doc.topic.kind != Field::Kind::string) {
    return malformed("topic");
  }
  if (!partition || *partition > UINT32_MAX) {
    return malformed("partition");
  }
  if (!offset) {
    return malformed("offset");
  }
  if (!tree_size) {
    return malformed("tree_size");
  }
  if (doc.record_kind != Field::Kind::other) {
    return malformed("record");
  }
  if (!rh) {
    return malformed("record_hash");
  }
  if (!lh) {
    return malformed("leaf_hash");
  }
  if (!root) {
    return malformed("root");
  }
  if (doc.siblings_kind != Field::Kind::other) {
    return malformed("siblings");
  }
  ProofRead read{ProofRead::Kind::ok, {}, {}};
  RecordProof& p = read.proof;
  Record& r = p.record;
  r.topic = std::move(doc.topic.text);
  r.partition = static_cast<uint32_t>(*partition);
  r.offset = *offset;
  if (!payload_of(doc.record_key, doc.record_key_hex, true, r.key)) {
    return malformed("record.key");
  }
  std::optional<std::string> value;
  if (!payload_of(doc.record_value, doc.record_value_hex, false, value)) {
    return malformed("record.value");
  }
  r.value = std::move(*value);
  if (doc.record_timestamp.kind != Field::Kind::string) {
    return malformed("record.timestamp");
  }
  auto ts = parse_timestamp(doc.record_timestamp.text);
  if (!ts.is_ok()) {
    return invalid("record.timestamp: " + ts.status().message());
  }
  r.timestamp = *ts;
  p.record_hash = *rh;
  p.root = *root;
  p.proof.offset = *offset;
  p.proof.tree_size = *tree_size;
  p.proof.leaf_hash = *lh;
  for (const SiblingFields& s : doc.siblings) {
    auto h = hash_of(s.hash);
    if (!s.is_object || !h || s.side.kind != Field::Kind::string) {
      return invalid("malformed sibling");
    }
    ProofSibling sibling;
    sibling.hash = *h;
    if (s.side.text == side_name(Side::left)) {
      sibling.side = Side::left;
    } else if (s.side.text == side_name(Side::right)) {
      sibling.side = Side::right;
    } else {
      return invalid("sibling side must be \"Left\" or \"Right\"");
    }
    p.proof.siblings.push_back(sibling);
  }
  return read;
}

ProofVerdict check(JsonDocumentInput& in, const std::optional<Hash>& trusted,
                   std::optional<uint64_t> tree_size)
{
  ProofRead read = read_proof(in);
  switch (read.kind) {
  case ProofRead::Kind::io_error:
    return ProofVerdict{ProofVerdict::Kind::io_error, std::move(read.message)};
  case ProofRead::Kind::invalid:
    return ProofVerdict{ProofVerdict::Kind::invalid, std::move(read.message)};
  case ProofRead::Kind::ok:
    break;
  }
  return check_record_proof(read.proof, trusted, tree_size);
}

// `"name": "hex"` for a hash.
void append_hash_member(std::string& out, std::string_view name, const Hash& hash)
{
  fmt::format_to(std::back_inserter(out), "\"{}\": \"{}\"", name, to_hex(hash));
}

} // namespace

ProofVerdict check_record_proof(const RecordProof& p, const std::optional<Hash>& trusted,
                                std::optional<uint64_t> tree_size)
{
  if (tree_size && p.proof.tree_size != *tree_size) {
    return ProofVerdict{ProofVerdict::Kind::invalid,
                        fmt::format("the proof is in the tree of {} records, the checkpoint's "
                                    "tree has {} (export it with --tree-size {})",
                                    p.proof.tree_size, *tree_size, *tree_size)};
  }
  const Status verified = verify_record_proof(p, trusted);
  if (!verified.is_ok()) {
    return ProofVerdict{ProofVerdict::Kind::invalid, verified.message()};
  }
  return ProofVerdict{
    ProofVerdict::Kind::valid,
    fmt::format("proof valid: offset {} of {}/{} is in the tree of {} record{} with root {}{}",
                p.record.offset, printable(p.record.topic), p.record.partition, p.proof.tree_size,
                p.proof.tree_size == 1 ? "" : "s", to_hex(p.root),
                !trusted    ? ""
                : tree_size ? " (the checkpoint's root)"
                            : " (the given root)")};
}

std::string write_proof_json(const RecordProof& p)
{
  const Record& r = p.record;
  std::string out = "{\n";
  fmt::format_to(std::back_inserter(out), "  \"version\": {},\n  \"topic\": ", k_proof_version);
  append_json_string(out, r.topic);
  fmt::format_to(std::back_inserter(out),
                 ",\n  \"partition\": {},\n  \"offset\": {},\n  \"tree_size\": {},\n"
                 "  \"record\": {{\n    ",
                 r.partition, r.offset, p.proof.tree_size);
  if (r.key) {
    append_text_member(out, "key", *r.key, ": ");
  } else {
    out += "\"key\": null";
  }
  out += ",\n    ";
  append_text_member(out, "value", r.value, ": ");
  fmt::format_to(std::back_inserter(out), ",\n    \"timestamp\": \"{}\"\n  }},\n  ",
                 format_timestamp(r.timestamp));
  append_hash_member(out, "record_hash", p.record_hash);
  out += ",\n  ";
  append_hash_member(out, "leaf_hash", p.proof.leaf_hash);
  out += ",\n  \"siblings\": [";
  for (size_t i = 0; i < p.proof.siblings.size(); ++i) {
    const ProofSibling& s = p.proof.siblings[i];
    out += i == 0 ? "\n    {\n      " : ",\n    {\n      ";
    append_hash_member(out, "hash", s.hash);
    fmt::format_to(std::back_inserter(out), ",\n      \"side\": \"{}\"\n    }}", side_name(s.side));
  }
  out += p.proof.siblings.empty() ? "],\n  " : "\n  ],\n  ";
  append_hash_member(out, "root", p.root);
  out += "\n}\n";
  return out;
}

ProofRead read_proof_fd(int fd)
{
  JsonDocumentInput in(fd, proof_bounds());
  return read_proof(in);
}

ProofRead read_proof_text(std::string_view text)
{
  JsonDocumentInput in(text, proof_bounds());
  return read_proof(in);
}

ProofVerdict check_proof_fd(int fd, const std::optional<Hash>& trusted_root,
                            std::optional<uint64_t> tree_size)
{
  JsonDocumentInput in(fd, proof_bounds());
  return check(in, trusted_root, tree_size);
}

ProofVerdict check_proof_text(std::string_view text, const std::optional<Hash>& trusted_root,
                              std::optional<uint64_t> tree_size)
{
  JsonDocumentInput in(text, proof_bounds());
  return check(in, trusted_root, tree_size);
}

} // namespace merkql::cli
