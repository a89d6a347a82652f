#include "produce_line.h"

#include "common.h"

#include <fmt/format.h>

#include <charconv>
#include <utility>

namespace merkql::cli {

namespace {

using Json = nlohmann::json;

// The array index a JSON pointer token names, as nlohmann's contains()
// reads it: digits without a leading zero.
std::optional<uint64_t> array_index(const std::string& token)
{
  if (token.empty() || (token.size() > 1 && token[0] == '0')) {
    return std::nullopt;
  }
  uint64_t index = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc() || end != token.data() + token.size()) {
    return std::nullopt;
  }
  return index;
}

// Validates a line and finds the value at a path of member names and array
// indexes: a string is copied, a number is kept as its JSON text. Nothing
// else of the document is kept.
class KeyFieldSax : public CountingSax {
public:
  enum class Found { none, string, number, other };

  KeyFieldSax(const std::vector<std::string>& path,
              const std::vector<std::optional<uint64_t>>& indexes, bool root_must_be_object,
              std::string& key, uint64_t budget)
    : m_path(path), m_indexes(indexes), m_root_must_be_object(root_must_be_object), m_key(key),
      m_budget(budget)
  {}

  Found found = Found::none;

  bool null() { return scalar(Found::other); }
  bool boolean(bool) { return scalar(Found::other); }
  bool number_integer(Json::number_integer_t v) { return number(std::to_string(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return number(std::to_string(v)); }
  bool number_float(Json::number_float_t, const std::string& text) { return number(text); }
  bool string(std::string& s)
  {
    if (value_begins()) {
      if (s.size() > m_budget) {
        error = "key too large";
        m_too_large = true;
        return false;
      }
      found = Found::string;
      m_key = std::move(s);
    }
    value_ends();
    return true;
  }
  bool start_object(size_t) { return start(false); }
  bool start_array(size_t) { return start(true); }
  bool end_object() { return end(); }
  bool end_array() { return end(); }
  bool key(std::string& name)
  {
    Frame& f = m_frames.back();
    const size_t d = m_frames.size();
    f.here_ok = f.parent_ok && d <= m_path.size() && name == m_path[d - 1];
    return true;
  }

  bool too_large() const { return m_too_large; }

private:
  struct Frame {
    bool array = false;
    uint64_t index = 0;     // of the next element, in an array
    bool parent_ok = false; // the path so far leads here
    bool here_ok = false;   // ... and on to the current member or element
  };

  // A value starts; true when it is the one at the path.
  bool value_begins()
  {
    if (m_frames.empty()) {
      return false; // the root; the path has at least one token
    }
    Frame& f = m_frames.back();
    const size_t d = m_frames.size();
    if (f.array) {
      f.here_ok =
        f.parent_ok && d <= m_path.size() && m_indexes[d - 1] && *m_indexes[d - 1] == f.index;
    }
    return f.here_ok && d == m_path.size();
  }
  void value_ends()
  {
    if (!m_frames.empty() && m_frames.back().array) {
      ++m_frames.back().index;
    }
  }
  bool scalar(Found kind)
  {
    if (value_begins()) {
      found = kind;
    }
    value_ends();
    return true;
  }
  bool number(std::string text)
  {
    if (value_begins()) {
      found = Found::number;
      m_key = std::move(text);
    }
    value_ends();
    return true;
  }
  bool start(bool array)
  {
    bool parent_ok;
    if (m_frames.empty()) {
      parent_ok = !(array && m_root_must_be_object);
    } else {
      if (value_begins()) {
        found = Found::other;
      }
      parent_ok = m_frames.back().here_ok;
    }
    m_frames.push_back(Frame{array, 0, parent_ok, false});
    return enter();
  }
  bool end()
  {
    m_frames.pop_back();
    value_ends();
    return leave();
  }

  const std::vector<std::string>& m_path;
  const std::vector<std::optional<uint64_t>>& m_indexes;
  bool m_root_must_be_object;
  std::string& m_key;
  uint64_t m_budget; // longest key that fits next to the line
  bool m_too_large = false;
  std::vector<Frame> m_frames;
};

// Validates an envelope line and takes its members; the value member is
// written out as compact JSON text as it streams past (member order and
// number spelling kept), so no recursion ever runs over it.
class EnvelopeSax : public CountingSax {
public:
  EnvelopeSax(uint32_t partition_count, std::string& value)
    : m_partition_count(partition_count), m_value(value)
  {}

  std::string invalid; // the first thing wrong with the envelope
  bool have_value = false;
  bool value_is_json = false;
  bool have_key_member = false;
  std::optional<std::string> env_key;
  std::optional<uint32_t> partition;
  std::optional<TimestampNs> timestamp;

  bool null()
  {
    if (m_capturing) {
      emit_scalar("null");
    } else if (Member m = member(); m == Member::value) {
      set_json_value("null");
    } else if (m == Member::key) {
      have_key_member = true;
      env_key.reset();
    } else {
      wrong_type(m);
    }
    return true;
  }
  bool boolean(bool b)
  {
    const char* text = b ? "true" : "false";
    if (m_capturing) {
      emit_scalar(text);
    } else if (Member m = member(); m == Member::value) {
      set_json_value(text);
    } else {
      wrong_type(m);
    }
    return true;
  }
  bool number_integer(Json::number_integer_t v) { return number(std::to_string(v), v, true); }
  bool number_unsigned(Json::number_unsigned_t v)
  {
    if (!m_capturing && member() == Member::partition) {
      if (v >= m_partition_count) {
        wrong_type(Member::partition);
      } else {
        partition = static_cast<uint32_t>(v);
      }
      return true;
    }
    const bool fits = v <= static_cast<uint64_t>(INT64_MAX);
    return number(std::to_string(v), fits ? static_cast<int64_t>(v) : INT64_MAX, true);
  }
  bool number_float(Json::number_float_t, const std::string& text)
  {
    return number(text, 0, false);
  }
  bool string(std::string& s)
  {
    if (m_capturing) {
      separate();
      append_json_string(m_value, s);
      m_need_comma = true;
      return true;
    }
    switch (Member m = member()) {
    case Member::value:
      m_value = std::move(s);
      have_value = true;
      value_is_json = false;
      break;
    case Member::key:
      have_key_member = true;
      env_key = std::move(s);
      break;
    case Member::timestamp: {
      auto ts = parse_timestamp(s);
      if (!ts.is_ok()) {
        fail("timestamp: " + ts.status().message());
      } else {
        timestamp = *ts;
      }
      break;
    }
    default:
      wrong_type(m);
    }
    return true;
  }
  bool start_object(size_t) { return start('{'); }
  bool start_array(size_t) { return start('['); }
  bool end_object() { return end('}'); }
  bool end_array() { return end(']'); }
  bool key(std::string& name)
  {
    if (m_capturing) {
      separate();
      append_json_string(m_value, name);
      m_value.push_back(':');
      m_need_comma = false;
    } else if (depth == 1 && m_root_object) {
      if (name == "key") {
        m_member = Member::key;
      } else if (name == "value") {
        m_member = Member::value;
      } else if (name == "partition") {
        m_member = Member::partition;
      } else if (name == "timestamp") {
        m_member = Member::timestamp;
      } else {
        m_member = Member::unknown;
        std::string quoted;
        append_json_string(quoted, name);
        fail(fmt::format("unknown member {}", quoted));
      }
    }
    return true;
  }

private:
  enum class Member { none, key, value, partition, timestamp, unknown, root };

  // The envelope member whose value starts here; none inside other members.
  Member member()
  {
    if (depth == 0) {
      return Member::root;
    }
    return depth == 1 && m_root_object ? m_member : Member::none;
  }

  void fail(std::string why)
  {
    if (invalid.empty()) {
      invalid = "invalid envelope: " + std::move(why);
    }
  }
  void wrong_type(Member m)
  {
    switch (m) {
    case Member::root:
      fail("not a JSON object");
      break;
    case Member::key:
      fail("key must be a string or null");
      break;
    case Member::partition:
      fail(fmt::format("partition must be an integer from 0 to {}", m_partition_count - 1));
      break;
    case Member::timestamp:
      fail("timestamp must be an RFC 3339 string or integer milliseconds since the epoch");
      break;
    default:
      break; // unknown members were reported at their name
    }
  }
  void set_json_value(std::string_view text)
  {
    m_value.assign(text);
    have_value = true;
    value_is_json = true;
  }
  void separate()
  {
    if (m_need_comma) {
      m_value.push_back(',');
    }
  }
  void emit_scalar(std::string_view text)
  {
    separate();
    m_value.append(text);
    m_need_comma = true;
  }
  bool number(const std::string& text, int64_t integer, bool is_integer)
  {
    if (m_capturing) {
      emit_scalar(text);
      return true;
    }
    switch (Member m = member()) {
    case Member::value:
      set_json_value(text);
      break;
    case Member::timestamp: {
      constexpr int64_t limit = INT64_MAX / 1000000;
      if (!is_integer) {
        wrong_type(m);
      } else if (integer > limit || integer < -limit) {
        fail("timestamp out of range");
      } else {
        timestamp = integer * 1000000;
      }
      break;
    }
    default:
      wrong_type(m);
    }
    return true;
  }
  bool start(char open)
  {
    if (m_capturing) {
      separate();
      m_value.push_back(open);
      m_need_comma = false;
    } else if (Member m = member(); m == Member::root && open == '{') {
      m_root_object = true;
    } else if (m == Member::value) {
      m_capturing = true;
      m_value.assign(1, open);
      m_need_comma = false;
    } else {
      wrong_type(m);
    }
    return enter();
  }
  bool end(char close)
  {
    leave();
    if (m_capturing) {
      m_value.push_back(close);
      m_need_comma = true;
      if (depth == 1) {
        m_capturing = false;
        have_value = true;
        value_is_json = true;
      }
    }
    return true;
  }

  uint32_t m_partition_count;
  std::string& m_value;
  bool m_root_object = false;
  Member m_member = Member::none;
  bool m_capturing = false; // inside the value member's array or object
  bool m_need_comma = false;
};

// A validated JSON line is stored with the JSON flag unless it holds a
// carriage return (JSON whitespace, but consumers print one line per record).
bool one_line(std::string_view line)
{
  return line.find('\r') == std::string_view::npos;
}

} // namespace

void check_key_option(const std::optional<std::string>& key)
{
  if (key && !is_valid_utf8(*key)) {
    throw Exit(
      exit_data_err,
      fmt::format("--key '{}': not valid UTF-8 (keys and values are UTF-8 text)", printable(*key)));
  }
}

LineParser::LineParser(LineParserOptions options) : m_o(std::move(options))
{
  check_key_option(m_o.key);
  if (!m_o.key_field) {
    return;
  }
  if (!m_o.key_field->starts_with('/')) {
    m_key_path = {*m_o.key_field};
    m_key_is_member = true;
    return;
  }
  try {
    Json::json_pointer pointer(*m_o.key_field);
    while (!pointer.empty()) {
      m_key_path.insert(m_key_path.begin(), pointer.back());
      pointer.pop_back();
    }
  } catch (const Json::exception& e) {
    throw Exit(exit_usage,
               fmt::format("--key-field {}: {}", *m_o.key_field, json_error_text(e.what())));
  }
}

std::string LineParser::parse(std::string_view line, ParsedLine& out)
{
  out = ParsedLine{};
  if (line.size() > m_o.max_record_bytes) {
    return fmt::format("line of {} bytes is longer than --max-record-bytes {}", line.size(),
                       m_o.max_record_bytes);
  }
  if (!is_valid_utf8(line)) {
    return "invalid UTF-8";
  }
  out.partition = m_o.partition;
  if (m_o.key) {
    out.key = *m_o.key;
  }
  std::string bad;
  switch (m_o.mode) {
  case InputMode::raw:
    out.value = line;
    break;
  case InputMode::json:
    // As jq does, a byte order mark before the document is not part of it.
    if (starts_with_bom(line)) {
      line.remove_prefix(k_utf8_bom.size());
    }
    bad = parse_json(line, out);
    break;
  case InputMode::envelope:
    if (starts_with_bom(line)) {
      line.remove_prefix(k_utf8_bom.size());
    }
    bad = parse_envelope(line, out);
    break;
  }
  if (!bad.empty()) {
    return bad;
  }
  const uint64_t bytes = (out.key ? out.key->size() : 0) + out.value.size();
  if (bytes > m_o.max_key_value_bytes) {
    return fmt::format("key and value of {} bytes are larger than the {} byte limit of a record",
                       bytes, m_o.max_key_value_bytes);
  }
  return {};
}

std::string LineParser::parse_json(std::string_view line, ParsedLine& out)
{
  out.value = line;
  out.value_is_json = one_line(line);
  if (!m_o.key_field) {
    return check_json(line);
  }
  if (starts_with_bom(line) || line.find('\0') != std::string_view::npos) {
    return check_json(line);
  }
  std::vector<std::optional<uint64_t>> indexes;
  indexes.reserve(m_key_path.size());
  for (const std::string& token : m_key_path) {
    indexes.push_back(m_key_is_member ? std::nullopt : array_index(token));
  }
  const uint64_t budget =
    m_o.max_key_value_bytes > line.size() ? m_o.max_key_value_bytes - line.size() : 0;
  KeyFieldSax sax(m_key_path, indexes, m_key_is_member, m_key, budget);
  if (!Json::sax_parse(line.begin(), line.end(), &sax)) {
    if (sax.too_large()) {
      return fmt::format(
        "key and value of more than {} bytes are larger than the {} byte limit of a record",
        m_o.max_key_value_bytes, m_o.max_key_value_bytes);
    }
    return "invalid JSON: " + sax.error;
  }
  switch (sax.found) {
  case KeyFieldSax::Found::none:
    return fmt::format("no key field {}", *m_o.key_field);
  case KeyFieldSax::Found::other:
    return fmt::format("key field {} is not a string or a number", *m_o.key_field);
  case KeyFieldSax::Found::string:
  case KeyFieldSax::Found::number:
    out.key = std::string_view(m_key);
    break;
  }
  return {};
}

std::string LineParser::parse_envelope(std::string_view line, ParsedLine& out)
{
  if (starts_with_bom(line) || line.find('\0') != std::string_view::npos) {
    return check_json(line);
  }
  EnvelopeSax sax(m_o.partition_count, m_value);
  if (!Json::sax_parse(line.begin(), line.end(), &sax)) {
    return "invalid JSON: " + sax.error;
  }
  if (!sax.invalid.empty()) {
    return sax.invalid;
  }
  if (!sax.have_value) {
    return "invalid envelope: no value member";
  }
  if (m_value.size() > m_o.max_record_bytes) {
    return fmt::format("value of {} bytes is longer than --max-record-bytes {}", m_value.size(),
                       m_o.max_record_bytes);
  }
  if (sax.have_key_member) {
    out.key.reset();
    if (sax.env_key) {
      m_key = std::move(*sax.env_key);
      out.key = std::string_view(m_key);
    }
  }
  if (sax.partition) {
    out.partition = sax.partition;
  }
  out.timestamp = sax.timestamp;
  out.value = m_value;
  out.value_is_json = sax.value_is_json;
  return {};
}

} // namespace merkql::cli
