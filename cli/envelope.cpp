#include "envelope.h"

#include "json_in.h"
#include "json_out.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace merkql::cli {

namespace {

using Json = nlohmann::json;

// Validates an envelope line and takes its members (man/merkql-produce.1,
// Input formats): a text value is decoded as it streams past; of a JSON
// value only its kind is noted, and its exact text is cut from the line
// afterwards (member_text), so no recursion ever runs over it.
class EnvelopeSax : public CountingSax {
public:
  EnvelopeSax(uint32_t partition_count, std::string& value)
    : m_partition_count(partition_count), m_value(value)
  {}

  enum class ValueKind { none, text, json };

  std::string invalid; // the first thing wrong with the envelope
  ValueKind value_kind = ValueKind::none;
  std::string_view value_name; // "value" or "payload": the member holding it
  std::optional<bool> value_is_json;
  bool have_key_member = false;
  std::optional<std::string> env_key;
  std::optional<uint32_t> partition;
  std::optional<TimestampNs> timestamp; // "timestamp"
  std::optional<TimestampNs> ts;        // "ts"
  bool ts_out_of_range = false;

  bool null()
  {
    switch (Member m = member()) {
    case Member::value:
      set_json_value();
      break;
    case Member::payload:
      fail("payload is null (a Kafka tombstone): a merkql record always has a value");
      break;
    case Member::key:
      have_key_member = true;
      env_key.reset();
      break;
    case Member::headers:
      break; // none
    default:
      wrong_type(m);
    }
    return true;
  }
  bool boolean(bool b)
  {
    if (Member m = member(); m == Member::value || m == Member::payload) {
      set_json_value();
    } else if (m == Member::value_is_json) {
      value_is_json = b;
    } else {
      wrong_type(m);
    }
    return true;
  }
  bool number_integer(Json::number_integer_t v) { return number(v, true); }
  bool number_unsigned(Json::number_unsigned_t v)
  {
    if (member() == Member::partition) {
      if (v >= m_partition_count) {
        fail(fmt::format("partition {}: the topic has {} partition{} (a copy of a topic needs "
                         "as many: --partitions)",
                         v, m_partition_count, m_partition_count == 1 ? "" : "s"));
      } else {
        partition = static_cast<uint32_t>(v);
      }
      return true;
    }
    const bool fits = v <= static_cast<uint64_t>(INT64_MAX);
    return number(fits ? static_cast<int64_t>(v) : INT64_MAX, true);
  }
  bool number_float(Json::number_float_t, const std::string&) { return number(0, false); }
  bool string(std::string& s)
  {
    switch (Member m = member()) {
    case Member::value:
    case Member::payload:
      m_value = std::move(s);
      value_kind = ValueKind::text;
      break;
    case Member::key:
      have_key_member = true;
      env_key = std::move(s);
      break;
    case Member::timestamp: {
      auto parsed = parse_timestamp(s);
      if (!parsed.is_ok()) {
        fail("timestamp: " + parsed.status().message());
      } else {
        timestamp = *parsed;
      }
      break;
    }
    default:
      wrong_type(m);
    }
    return true;
  }
  bool start_object(size_t) { return start(true); }
  bool start_array(size_t) { return start(false); }
  bool end_object() { return leave(); }
  bool end_array() { return leave(); }
  bool key(std::string& name)
  {
    if (depth == 1 && m_root_object) {
      m_member = member_named(name);
      if (m_member == Member::value || m_member == Member::payload) {
        const std::string_view here = m_member == Member::value ? "value" : "payload";
        if (!value_name.empty() && value_name != here) {
          fail("both value and payload");
        }
        value_name = here;
      } else if (m_member == Member::unknown) {
        std::string quoted;
        append_json_string(quoted, name);
        fail(fmt::format("unknown member {}", quoted));
      } else if (m_member == Member::hex) {
        fail(
          fmt::format("{} holds bytes that are not UTF-8 text, which merkql does not store", name));
      }
    } else if (depth == 2 && m_member == Member::headers) {
      headers_given();
    }
    return true;
  }

private:
  enum class Member {
    none,
    key,
    value,
    payload,
    value_is_json,
    partition,
    timestamp,
    ts,
    headers,
    ignored,
    hex,
    unknown,
    root
  };

  static Member member_named(std::string_view name)
  {
    static constexpr std::pair<std::string_view, Member> k_members[] = {
      {"key", Member::key},
      {"value", Member::value},
      {"payload", Member::payload},
      {"value_is_json", Member::value_is_json},
      {"partition", Member::partition},
      {"timestamp", Member::timestamp},
      {"ts", Member::ts},
      {"headers", Member::headers},
      {"key_hex", Member::hex},
      {"value_hex", Member::hex},
      // Where a record was read from, and what a reader made of it:
      // consume's, inspect's and kcat -J's other members.
      {"topic", Member::ignored},
      {"offset", Member::ignored},
      {"tstype", Member::ignored},
      {"broker", Member::ignored},
      {"record_hash", Member::ignored},
      {"leaf_hash", Member::ignored},
      {"key_schema_id", Member::ignored},
      {"value_schema_id", Member::ignored},
    };
    for (const auto& [n, m] : k_members) {
      if (n == name) {
        return m;
      }
    }
    return Member::unknown;
  }

  // The envelope member whose value starts here; none inside other members.
  Member member()
  {
    if (depth == 0) {
      return Member::root;
    }
    if (depth == 2 && m_member == Member::headers) {
      headers_given();
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
    case Member::ts:
      fail("ts must be integer milliseconds since the epoch");
      break;
    case Member::value_is_json:
      fail("value_is_json must be true or false");
      break;
    case Member::headers:
      fail("headers must be an array or an object");
      break;
    default:
      break; // ignored members take any value; unknown ones were reported
    }
  }
  void headers_given()
  {
    fail("headers are not supported: a merkql record has a key, a value and a timestamp "
         "(remove them, e.g. with jq -c 'del(.headers)')");
  }
  void set_json_value() { value_kind = ValueKind::json; }
  bool number(int64_t integer, bool is_integer)
  {
    switch (Member m = member()) {
    case Member::value:
    case Member::payload:
      set_json_value();
      break;
    case Member::timestamp:
    case Member::ts: {
      // An unsigned number beyond int64 arrives as INT64_MAX: out of range too.
      const __int128 ns = static_cast<__int128>(integer) * 1000000;
      if (!is_integer) {
        wrong_type(m);
      } else if (ns > INT64_MAX || ns < INT64_MIN) {
        if (m == Member::ts) {
          ts_out_of_range = true; // an error unless timestamp is given
        } else {
          fail("timestamp out of range");
        }
      } else {
        (m == Member::ts ? ts : timestamp) = static_cast<TimestampNs>(ns);
      }
      break;
    }
    default:
      wrong_type(m);
    }
    return true;
  }
  bool start(bool object)
  {
    if (Member m = member(); m == Member::root) {
      // Only an object is an envelope; the rest is still read for depth.
      m_root_object = object;
      if (!object) {
        wrong_type(m);
      }
    } else if (m == Member::value || m == Member::payload) {
      set_json_value();
    } else if (m != Member::headers && m != Member::none && m != Member::ignored) {
      wrong_type(m);
    }
    return enter();
  }

  uint32_t m_partition_count;
  std::string& m_value;
  bool m_root_object = false;
  Member m_member = Member::none;
};

size_t skip_space(std::string_view s, size_t i)
{
  while (i < s.size() && is_json_space(s[i])) {
    ++i;
  }
  return i;
}

// s[i] is the opening quote of a string; returns the position after it.
size_t skip_string(std::string_view s, size_t i)
{
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

// s[i] starts a value; returns the position after it. No recursion: the
// nesting of arrays and objects is only counted.
size_t skip_value(std::string_view s, size_t i)
{
  if (i >= s.size()) {
    return i;
  }
  if (s[i] == '"') {
    return skip_string(s, i);
  }
  if (s[i] == '{' || s[i] == '[') {
    size_t depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < s.size() && !is_json_space(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') {
    ++i;
  }
  return i;
}

// True when the quoted member name (without its quotes) is name.
bool name_is(std::string_view quoted, std::string_view name)
{
  if (quoted.find('\\') == std::string_view::npos) {
    return quoted == name;
  }
  try {
    return Json::parse("\"" + std::string(quoted) + "\"").get<std::string>() == name;
  } catch (const Json::exception&) {
    return false;
  }
}

// The exact text of the last top-level member `name` of a JSON object that
// has already been validated, from the first to the last byte of its value.
std::string_view member_text(std::string_view object, std::string_view name)
{
  std::string_view found;
  size_t i = skip_space(object, 0);
  if (i >= object.size() || object[i] != '{') {
    return found;
  }
  ++i;
  for (;;) {
    i = skip_space(object, i);
    if (i >= object.size() || object[i] == '}') {
      return found;
    }
    if (object[i] == ',') {
      ++i;
      continue;
    }
    const size_t name_start = i;
    i = skip_string(object, i);
    const std::string_view quoted = object.substr(name_start + 1, i - name_start - 2);
    i = skip_space(object, i) + 1; // the colon
    i = skip_space(object, i);
    const size_t value_start = i;
    i = skip_value(object, i);
    if (name_is(quoted, name)) {
      found = object.substr(value_start, i - value_start);
    }
  }
}

// One line of JSON text, as a flagged value must be: valid, and no line
// break (JSON whitespace, but consumers print one line per record).
bool one_line_json(std::string_view text)
{
  return text.find_first_of("\r\n") == std::string_view::npos && check_json(text).empty();
}

} // namespace

EnvelopeReader::EnvelopeReader(uint32_t partition_count, uint64_t max_value_bytes)
  : m_partition_count(partition_count), m_max_value_bytes(max_value_bytes)
{}

std::string EnvelopeReader::read(std::string_view line, Envelope& out)
{
  if (starts_with_bom(line) || line.find('\0') != std::string_view::npos) {
    return check_json(line);
  }
  EnvelopeSax sax(m_partition_count, m_value);
  if (!Json::sax_parse(line.begin(), line.end(), &sax)) {
    return "invalid JSON: " + sax.error;
  }
  if (!sax.invalid.empty()) {
    return sax.invalid;
  }
  bool is_json = false;
  switch (sax.value_kind) {
  case EnvelopeSax::ValueKind::none:
    return "invalid envelope: no value member";
  case EnvelopeSax::ValueKind::text:
    // A string: text, unless value_is_json says it holds JSON text.
    if (sax.value_is_json.value_or(false)) {
      if (!one_line_json(m_value)) {
        return "invalid envelope: value_is_json is true but value does not hold one line of "
               "JSON text";
      }
      is_json = true;
    }
    break;
  case EnvelopeSax::ValueKind::json:
    // The value's own text, byte for byte: text with value_is_json false,
    // else a JSON value, where a carriage return can only be whitespace
    // between tokens and becomes a space (one line).
    m_value.assign(member_text(line, sax.value_name));
    is_json = sax.value_is_json.value_or(true);
    if (is_json) {
      std::replace(m_value.begin(), m_value.end(), '\r', ' ');
    }
    break;
  }
  if (m_value.size() > m_max_value_bytes) {
    return fmt::format("value of {} bytes is longer than --max-record-bytes {}", m_value.size(),
                       m_max_value_bytes);
  }
  // Both given: the RFC 3339 text, exact to the nanosecond, wins.
  if (!sax.timestamp && sax.ts_out_of_range) {
    return "invalid envelope: ts out of range";
  }
  out = Envelope{};
  out.has_key = sax.have_key_member;
  if (sax.env_key) {
    m_key = std::move(*sax.env_key);
    out.key = std::string_view(m_key);
  }
  out.partition = sax.partition;
  out.timestamp = sax.timestamp ? sax.timestamp : sax.ts;
  out.value = m_value;
  out.value_is_json = is_json;
  return {};
}

} // namespace merkql::cli
