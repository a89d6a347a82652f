#include "produce_line.h"

#include "common.h"

#include "line_io.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
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

// A validated JSON line is stored with the JSON flag unless it holds a
// carriage return (JSON whitespace, but consumers print one line per record).
bool one_line(std::string_view line)
{
  return line.find('\r') == std::string_view::npos;
}

// Longest line the fast path reads: simdjson's DOM parser holds about 14
// bytes per byte of its capacity (structural indexes, tape, strings), so a
// longer line, rare and costly anyway, goes the nlohmann way.
constexpr size_t k_fast_max_bytes = size_t{1} << 20;
static_assert(k_line_padding >= simdjson::SIMDJSON_PADDING);

} // namespace

// The fast path of JSON lines (produce_line.h). Measured on lines like
// {"sensor":"sensor-a","temp":23.4,"ts":1700000123}, thread CPU time per
// line, 1,000,000 lines split in place (16.9 ns of it the loop itself):
//   nlohmann::json::accept (the validation of check_json)    442-475 ns
//   nlohmann parse + key lookup                              738-775 ns
//   simdjson DOM parse (full validation)                      61-63 ns
//   simdjson DOM parse + walk of the root to the key          64-65 ns
//   simdjson On-Demand, walking and checking every value    132-137 ns
// On-Demand is inlined from the header for the compiler's target (here
// its portable "fallback" kernel); the DOM parser is the library's, picked
// at run time for the CPU (AVX2, AVX-512), and validates every value.
// The whole of produce's parse thread per such line (read(2) of 1 MiB
// blocks, the split, the parse, --key-field sensor, RecordBatch::add):
// 597-605 ns through the nlohmann SAX path, 105-107 ns with this one.
struct LineParser::Fast {
  simdjson::dom::parser parser;
  std::string copy;              // a line of an unpadded caller, with padding after it
  std::array<char, 24> number{}; // an integer key's text
  std::vector<std::optional<uint64_t>> indexes; // of m_key_path's tokens
  bool ready = false;                           // the parser has its depth set

  // Parses text, which has k_line_padding readable bytes after it.
  bool parse(std::string_view text, simdjson::dom::element& root)
  {
    if (!ready || parser.capacity() < text.size()) {
      // Grows by doubling, so that lines growing in size do not allocate
      // each time; the depth limit is k_max_json_depth, as the nlohmann
      // path counts it (512 levels accepted, 513 refused).
      const size_t capacity = std::max({text.size(), 2 * parser.capacity(), size_t{4096}});
      if (parser.allocate(std::min(capacity, k_fast_max_bytes), k_max_json_depth)
          != simdjson::SUCCESS) {
        return false;
      }
      ready = true;
    }
    return parser.parse(reinterpret_cast<const uint8_t*>(text.data()), text.size(), false).get(root)
           == simdjson::SUCCESS;
  }
};

namespace {

// What the walk to --key-field found, as the nlohmann path's KeyFieldSax:
// the last value at the path in document order wins.
struct KeyMatch {
  enum class Kind { none, string, integer, other } kind = Kind::none;
  std::string_view text;  // string: its decoded text
  int64_t integer = 0;    // integer, with is_unsigned false
  uint64_t unsigned_ = 0; // integer, with is_unsigned true
  bool is_unsigned = false;
  bool slow = false; // a float or an oversized string: the nlohmann path decides
};

void match_value(simdjson::dom::element value, uint64_t budget, KeyMatch& m)
{
  using simdjson::dom::element_type;
  switch (value.type()) {
  case element_type::STRING: {
    std::string_view text = value.get_string().value_unsafe();
    if (text.size() > budget) {
      m.slow = true; // "key too large", however the document goes on
    }
    m.kind = KeyMatch::Kind::string;
    m.text = text;
    break;
  }
  case element_type::INT64:
    m.kind = KeyMatch::Kind::integer;
    m.is_unsigned = false;
    m.integer = value.get_int64().value_unsafe();
    break;
  case element_type::UINT64:
    m.kind = KeyMatch::Kind::integer;
    m.is_unsigned = true;
    m.unsigned_ = value.get_uint64().value_unsafe();
    break;
  case element_type::DOUBLE:
    // Its key is its source text, which the DOM does not keep.
    m.slow = true;
    break;
  default:
    m.kind = KeyMatch::Kind::other;
  }
}

// Walks e, reached by the first `depth` tokens of path, towards the rest.
void walk_to_key(simdjson::dom::element e, size_t depth, const std::vector<std::string>& path,
                 const std::vector<std::optional<uint64_t>>& indexes, uint64_t budget, KeyMatch& m)
{
  const bool last = depth + 1 == path.size();
  if (e.type() == simdjson::dom::element_type::OBJECT) {
    const simdjson::dom::object object = e.get_object().value_unsafe();
    for (const simdjson::dom::key_value_pair field : object) {
      if (m.slow) {
        return;
      }
      if (field.key != path[depth]) {
        continue;
      }
      if (last) {
        match_value(field.value, budget, m);
      } else if (field.value.is_object() || field.value.is_array()) {
        walk_to_key(field.value, depth + 1, path, indexes, budget, m);
      }
    }
  } else if (e.type() == simdjson::dom::element_type::ARRAY && indexes[depth]) {
    simdjson::dom::element item;
    const simdjson::dom::array array = e.get_array().value_unsafe();
    if (array.at(*indexes[depth]).get(item) != simdjson::SUCCESS) {
      return;
    }
    if (last) {
      match_value(item, budget, m);
    } else if (item.is_object() || item.is_array()) {
      walk_to_key(item, depth + 1, path, indexes, budget, m);
    }
  }
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

LineParser::LineParser(LineParserOptions options)
  : m_o(std::move(options)), m_fast(std::make_unique<Fast>())
{
  check_key_option(m_o.key);
  if (!m_o.key_field) {
    return;
  }
  if (!m_o.key_field->starts_with('/')) {
    m_key_path = {*m_o.key_field};
    m_key_is_member = true;
  } else {
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
  for (const std::string& token : m_key_path) {
    m_fast->indexes.push_back(m_key_is_member ? std::nullopt : array_index(token));
  }
}

LineParser::~LineParser() = default;
LineParser::LineParser(LineParser&&) noexcept = default;
LineParser& LineParser::operator=(LineParser&&) noexcept = default;

std::string LineParser::parse(std::string_view line, ParsedLine& out, Padded padded)
{
  out = ParsedLine{};
  if (line.size() > m_o.max_record_bytes) {
    return fmt::format("line of {} bytes is longer than --max-record-bytes {}", line.size(),
                       m_o.max_record_bytes);
  }
  if (m_o.mode != InputMode::json || !m_o.fast_json || !parse_json_fast(line, padded, out)) {
    out = ParsedLine{};
    std::string bad = parse_checked(line, out);
    if (!bad.empty()) {
      return bad;
    }
  }
  const uint64_t bytes = (out.key ? out.key->size() : 0) + out.value.size();
  if (bytes > m_o.max_key_value_bytes) {
    return fmt::format("key and value of {} bytes are larger than the {} byte limit of a record",
                       bytes, m_o.max_key_value_bytes);
  }
  return {};
}

bool LineParser::parse_json_fast(std::string_view line, Padded padded, ParsedLine& out)
{
  // As in parse_checked: one byte order mark is not part of the document.
  if (starts_with_bom(line)) {
    line.remove_prefix(k_utf8_bom.size());
  }
  if (line.size() > k_fast_max_bytes) {
    return false;
  }
  std::string_view text = line;
  if (padded == Padded::no) {
    if (m_fast->copy.size() < line.size() + k_line_padding) {
      m_fast->copy.resize(line.size() + k_line_padding);
    }
    std::memcpy(m_fast->copy.data(), line.data(), line.size());
    text = std::string_view(m_fast->copy.data(), line.size());
  }
  // A document simdjson accepts is valid UTF-8 (it checks every byte), so
  // that parse_checked's check would pass; one it refuses may still be one
  // nlohmann reads (a number beyond 64 bits), or bad: the slow path says.
  simdjson::dom::element root;
  if (!m_fast->parse(text, root)) {
    return false;
  }
  out.value = line;
  out.value_is_json = one_line(line);
  out.partition = m_o.partition;
  if (m_o.key) {
    out.key = *m_o.key;
  }
  if (!m_o.key_field) {
    return true;
  }
  KeyMatch match;
  const uint64_t budget =
    m_o.max_key_value_bytes > line.size() ? m_o.max_key_value_bytes - line.size() : 0;
  walk_to_key(root, 0, m_key_path, m_fast->indexes, budget, match);
  if (match.slow) {
    return false;
  }
  switch (match.kind) {
  case KeyMatch::Kind::string:
    out.key = match.text;
    return true;
  case KeyMatch::Kind::integer: {
    // The text nlohmann's SAX hands over (std::to_string): the digits, so
    // that -0 is 0, like simdjson's value of it.
    char* const first = m_fast->number.data();
    char* const last = first + m_fast->number.size();
    const std::to_chars_result r = match.is_unsigned ? std::to_chars(first, last, match.unsigned_)
                                                     : std::to_chars(first, last, match.integer);
    out.key = std::string_view(first, static_cast<size_t>(r.ptr - first));
    return true;
  }
  case KeyMatch::Kind::none:
  case KeyMatch::Kind::other:
    break; // the slow path words the message
  }
  return false;
}

std::string LineParser::parse_checked(std::string_view line, ParsedLine& out)
{
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
  return bad;
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
  const uint64_t budget =
    m_o.max_key_value_bytes > line.size() ? m_o.max_key_value_bytes - line.size() : 0;
  KeyFieldSax sax(m_key_path, m_fast->indexes, m_key_is_member, m_key, budget);
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
  // Both given: the RFC 3339 text, exact to the nanosecond, wins.
  if (!sax.timestamp && sax.ts_out_of_range) {
    return "invalid envelope: ts out of range";
  }
  out.timestamp = sax.timestamp ? sax.timestamp : sax.ts;
  out.value = m_value;
  out.value_is_json = is_json;
  return {};
}

} // namespace merkql::cli
