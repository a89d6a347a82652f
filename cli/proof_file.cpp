#include "proof_file.h"

#include "common.h"
#include "json_in.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <unistd.h>
#include <vector>

namespace merkql::cli {

namespace {

using Json = nlohmann::json;

// What the next string of the document is, which sets its bound.
enum class StringKind { other, topic, payload };

// The bytes of a proof document, from a descriptor or from memory, with the
// accounting that stops reading once a bound is crossed. Every string is
// measured as it streams in (escapes counted as the bytes they decode to),
// before the JSON lexer has buffered it whole.
class ProofInput {
public:
  explicit ProofInput(int fd) : m_fd(fd) {}
  explicit ProofInput(std::string_view text) : m_data(text.data()), m_len(text.size()) {}

  // Sets the kind of the next string to begin.
  void expect(StringKind kind) { m_next_kind = kind; }

  bool at_end()
  {
    if (!m_over.empty() || m_error) {
      return true;
    }
    if (m_pos < m_len) {
      return false;
    }
    if (m_fd < 0 || m_eof) {
      return true;
    }
    refill();
    return m_pos >= m_len;
  }
  char current() const { return m_data[m_pos]; }
  void advance()
  {
    account(static_cast<unsigned char>(m_data[m_pos]));
    ++m_pos;
  }

  const std::string& over() const { return m_over; } // the bound crossed
  int error() const { return m_error; }              // errno of a failed read

private:
  void refill()
  {
    for (;;) {
      ssize_t n = ::read(m_fd, m_buffer, sizeof m_buffer);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        m_error = errno;
        return;
      }
      if (n == 0) {
        m_eof = true;
      }
      m_data = m_buffer;
      m_pos = 0;
      m_len = static_cast<size_t>(n);
      return;
    }
  }

  static uint32_t hex_value(unsigned char c)
  {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return 0; // the lexer rejects it
  }

  void account(unsigned char c)
  {
    if (c == 0 && m_over.empty()) {
      // nlohmann's lexer would take it for the end of the document.
      m_over = "not valid JSON: " + nul_byte_reason();
    }
    switch (m_lex) {
    case Lex::outside:
      if (c == '"') {
        m_lex = Lex::string;
        m_kind = m_next_kind;
        m_string_bytes = 0;
      }
      count_other(1);
      break;
    case Lex::string:
      if (c == '\\') {
        m_lex = Lex::escape;
      } else if (c == '"') {
        m_lex = Lex::outside;
        count_other(1);
      } else {
        count_string(1);
      }
      break;
    case Lex::escape:
      if (c == 'u') {
        m_lex = Lex::unicode;
        m_hex = 0;
        m_hex_digits = 0;
      } else {
        m_lex = Lex::string;
        count_string(1);
      }
      break;
    case Lex::unicode:
      m_hex = m_hex * 16 + hex_value(c);
      if (++m_hex_digits == 4) {
        m_lex = Lex::string;
        // The UTF-8 length of the code point; each half of a surrogate
        // pair counts half of its 4 bytes.
        count_string(m_hex < 0x80                        ? 1
                     : m_hex < 0x800                     ? 2
                     : m_hex >= 0xD800 && m_hex < 0xE000 ? 2
                                                         : 3);
      }
      break;
    }
  }

  void count_other(uint64_t n)
  {
    m_other_bytes += n;
    if (m_other_bytes > k_max_proof_other_bytes && m_over.empty()) {
      m_over = fmt::format("the document is larger than a proof can be (more than {} bytes "
                           "besides the record's key and value)",
                           k_max_proof_other_bytes);
    }
  }

  void count_string(uint64_t n)
  {
    if (m_kind == StringKind::payload) {
      m_payload_bytes += n;
      if (m_payload_bytes > format::k_max_record_bytes && m_over.empty()) {
        m_over = fmt::format("the record's key and value hold more than the {} bytes a record "
                             "can hold",
                             format::k_max_record_bytes);
      }
      return;
    }
    m_string_bytes += n;
    if (m_kind == StringKind::topic && m_string_bytes > k_max_proof_topic_bytes && m_over.empty()) {
      m_over = fmt::format("the topic is longer than {} bytes", k_max_proof_topic_bytes);
    }
    count_other(n);
  }

  enum class Lex { outside, string, escape, unicode };

  int m_fd = -1;
  const char* m_data = nullptr;
  size_t m_pos = 0;
  size_t m_len = 0;
  bool m_eof = false;
  int m_error = 0;
  std::string m_over;
  char m_buffer[65536];

  Lex m_lex = Lex::outside;
  StringKind m_next_kind = StringKind::other;
  StringKind m_kind = StringKind::other;
  uint64_t m_string_bytes = 0;
  uint64_t m_payload_bytes = 0;
  uint64_t m_other_bytes = 0;
  uint32_t m_hex = 0;
  int m_hex_digits = 0;
};

// An input iterator over a ProofInput for nlohmann's sax_parse(first, last);
// a default-constructed one is the end.
class ProofInputIterator {
public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = char;

  ProofInputIterator() = default;
  explicit ProofInputIterator(ProofInput* in) : m_in(in) {}

  char operator*() const { return m_in->current(); }
  ProofInputIterator& operator++()
  {
    m_in->advance();
    return *this;
  }
  bool operator==(const ProofInputIterator& other) const { return ended() == other.ended(); }
  bool operator!=(const ProofInputIterator& other) const { return !(*this == other); }

private:
  bool ended() const { return !m_in || m_in->at_end(); }
  ProofInput* m_in = nullptr;
};

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
  value,
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
  explicit ProofSax(ProofInput& in) : m_in(in) {}

  bool root_is_object = false;
  Field version, topic, partition, offset, tree_size, record_hash, leaf_hash, root;
  // "record" and "siblings": absent, other (an object, an array) or string
  // (a value of any other shape).
  Field::Kind record_kind = Field::Kind::absent;
  Field record_key, record_value, record_timestamp;
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
        m_in.expect(StringKind::topic);
      }
    } else if (depth == 2 && in_record()) {
      m_member2 = name == "key"         ? Member::key
                  : name == "value"     ? Member::value
                  : name == "timestamp" ? Member::timestamp
                                        : Member::none;
      if (m_member2 == Member::key || m_member2 == Member::value) {
        m_in.expect(StringKind::payload);
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
        record_key = record_value = record_timestamp = Field{};
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
      case Member::value:
        return &record_value;
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

  ProofInput& m_in;
  Member m_member1 = Member::none; // in the root object
  Member m_member2 = Member::none; // in "record"
  Member m_member3 = Member::none; // in a sibling
};

ProofVerdict invalid(std::string why)
{
  return ProofVerdict{ProofVerdict::Kind::invalid, std::move(why)};
}

std::optional<Hash> hash_of(const Field& f)
{
  if (f.kind != Field::Kind::string || f.text.size() != 64) {
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

ProofVerdict check(ProofInput& in, const std::optional<Hash>& trusted)
{
  ProofSax doc(in);
  const bool parsed = Json::sax_parse(ProofInputIterator(&in), ProofInputIterator(), &doc);
  if (in.error()) {
    return ProofVerdict{ProofVerdict::Kind::io_error, std::strerror(in.error())};
  }
  if (!in.over().empty()) {
    return invalid(in.over());
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
  if (!version || *version != 1) {
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
  Record r;
  r.topic = std::move(doc.topic.text);
  r.partition = static_cast<uint32_t>(*partition);
  r.offset = *offset;
  if (doc.record_key.kind != Field::Kind::null && doc.record_key.kind != Field::Kind::string) {
    return malformed("record.key");
  }
  if (doc.record_key.kind == Field::Kind::string) {
    r.key = std::move(doc.record_key.text);
  }
  if (doc.record_value.kind != Field::Kind::string) {
    return malformed("record.value");
  }
  r.value = std::move(doc.record_value.text);
  if (doc.record_timestamp.kind != Field::Kind::string) {
    return malformed("record.timestamp");
  }
  auto ts = parse_timestamp(doc.record_timestamp.text);
  if (!ts.is_ok()) {
    return invalid("record.timestamp: " + ts.status().message());
  }
  r.timestamp = *ts;

  InclusionProof proof;
  proof.offset = *offset;
  proof.tree_size = *tree_size;
  proof.leaf_hash = *lh;
  for (const SiblingFields& s : doc.siblings) {
    auto h = hash_of(s.hash);
    if (!s.is_object || !h || s.side.kind != Field::Kind::string) {
      return invalid("malformed sibling");
    }
    ProofSibling sibling;
    sibling.hash = *h;
    if (s.side.text == "Left") {
      sibling.side = Side::left;
    } else if (s.side.text == "Right") {
      sibling.side = Side::right;
    } else {
      return invalid("sibling side must be \"Left\" or \"Right\"");
    }
    proof.siblings.push_back(sibling);
  }

  Sha256 ctx;
  const Hash computed = record_hash(r, ctx);
  if (computed != *rh) {
    return invalid("record hash does not match the record");
  }
  if (leaf_hash(computed, r.offset, ctx) != *lh) {
    return invalid("leaf hash does not follow from the record hash");
  }
  auto reached = proof_root(proof, ctx);
  if (!reached.is_ok()) {
    return invalid(reached.status().message());
  }
  if (*reached != *root) {
    return invalid("the siblings do not lead from the leaf to the root");
  }
  if (trusted && *trusted != *root) {
    return invalid(fmt::format("the proof leads to root {}, not to the given root {}",
                               to_hex(*root), to_hex(*trusted)));
  }
  return ProofVerdict{
    ProofVerdict::Kind::valid,
    fmt::format("proof valid: offset {} of {}/{} is in the tree of {} record{} with root {}{}",
                r.offset, printable(r.topic), r.partition, proof.tree_size,
                proof.tree_size == 1 ? "" : "s", to_hex(*root),
                trusted ? " (the given root)" : "")};
}

} // namespace

ProofVerdict check_proof_fd(int fd, const std::optional<Hash>& trusted_root)
{
  ProofInput in(fd);
  return check(in, trusted_root);
}

ProofVerdict check_proof_text(std::string_view text, const std::optional<Hash>& trusted_root)
{
  ProofInput in(text);
  return check(in, trusted_root);
}

} // namespace merkql::cli
