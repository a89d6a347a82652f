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
  : m_o(std::move(options)), m_fast(std::make_unique<Fast>()),
    m_envelope(m_o.partition_count, m_o.max_record_bytes)
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
  case InputMode::envelope: {
    if (starts_with_bom(line)) {
      line.remove_prefix(k_utf8_bom.size());
    }
    Envelope envelope;
    bad = m_envelope.read(line, envelope);
    if (!bad.empty()) {
      break;
    }
    if (envelope.has_key) {
      out.key = envelope.key;
    }
    if (envelope.partition) {
      out.partition = envelope.partition;
    }
    out.timestamp = envelope.timestamp;
    out.value = envelope.value;
    out.value_is_json = envelope.value_is_json;
    break;
  }
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

} // namespace merkql::cli
