#include "json_out.h"

#include "json_in.h"

#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace merkql::cli {

void append_json_string(std::string& out, std::string_view s)
{
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0; // start of the pending run of plain bytes
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      out += "\\u00";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_text_member(std::string& out, std::string_view name, std::string_view text,
                        std::string_view colon)
{
  out.push_back('"');
  out.append(name);
  const bool utf8 = is_valid_utf8(text);
  if (!utf8) {
    out += "_hex";
  }
  out.push_back('"');
  out.append(colon);
  if (utf8) {
    append_json_string(out, text);
  } else {
    out.push_back('"');
    out += bytes_to_hex(text);
    out.push_back('"');
  }
}

std::string json_error_text(const std::string& what)
{
  if (what.rfind("[json.exception.", 0) == 0) {
    auto close = what.find("] ");
    if (close != std::string::npos) {
      return what.substr(close + 2);
    }
  }
  return what;
}

std::string root_json(const std::optional<Hash>& root)
{
  return root ? "\"" + to_hex(*root) + "\"" : "null";
}

int64_t timestamp_ms(TimestampNs ns)
{
  const int64_t ms = ns / 1000000;
  return ns % 1000000 < 0 ? ms - 1 : ms;
}

namespace {

template<class Integer> void append_number(std::string& out, Integer v)
{
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, static_cast<size_t>(end - buf));
}

// A value that, being JSON, a reader can take as one line of JSON: not
// empty, no byte order mark, no NUL byte, no line break (for a flagged
// value the writer vouched for the rest).
bool fits_one_line(std::string_view value)
{
  return !value.empty() && !starts_with_bom(value)
         && value.find_first_of(std::string_view("\0\n\r", 3)) == std::string_view::npos;
}

// ... and can also stand as the value member itself: not a JSON string
// (which would read back as text) and without whitespace around it (which
// the reader of the member would not keep).
bool embeddable_json(std::string_view value)
{
  return fits_one_line(value) && value.front() != '"' && !is_json_space(value.front())
         && !is_json_space(value.back());
}

} // namespace

namespace {

// Bytes that a JSON string member must escape or check more closely: below
// 0x20 (control), from 0x80 (not ASCII: UTF-8 to validate), '"' and '\\'.
// Eight bytes at a time; each test is exact for whether any byte matches
// (the borrow of the subtraction only marks bytes above one that does).
// Scanning this way is what keeps consume's JSON output at memcpy speed:
// find_first_of over "\0\n\r" and the byte loops took a third of its time.
constexpr uint64_t k_ones = 0x0101010101010101ull;
constexpr uint64_t k_highs = 0x8080808080808080ull;

constexpr unsigned k_text_high = 1;
constexpr unsigned k_text_control = 2;
constexpr unsigned k_text_quote = 4;

inline uint64_t bytes_below(uint64_t w, uint8_t n)
{
  return (w - k_ones * n) & ~w & k_highs;
}

// Which kinds of bytes text holds (k_text_*).
unsigned scan_text(std::string_view text)
{
  const char* p = text.data();
  const char* end = p + text.size();
#if defined(__SSE2__)
  // Sixteen bytes at a time, the last sixteen overlapping what was seen:
  // with eight at a time consume spent 19.6% of its time here, with sixteen
  // 15.1% (perf, 1M records of the bench workload).
  if (text.size() >= 16) {
    const __m128i below_space = _mm_set1_epi8(0x1f);
    const __m128i quote_mark = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    __m128i high = _mm_setzero_si128();
    __m128i control = high;
    __m128i quote = high;
    auto scan = [&](const char* at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      high = _mm_or_si128(high, v);
      control = _mm_or_si128(control, _mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v));
      quote = _mm_or_si128(
        quote, _mm_or_si128(_mm_cmpeq_epi8(v, quote_mark), _mm_cmpeq_epi8(v, backslash)));
    };
    for (; end - p >= 16; p += 16) {
      scan(p);
    }
    if (p != end) {
      scan(end - 16);
    }
    return (_mm_movemask_epi8(high) ? k_text_high : 0)
           | (_mm_movemask_epi8(control) ? k_text_control : 0)
           | (_mm_movemask_epi8(quote) ? k_text_quote : 0);
  }
#endif
  uint64_t high = 0, control = 0, quote = 0;
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    high |= w & k_highs;
    control |= bytes_below(w, 0x20);
    quote |= bytes_below(w ^ (k_ones * '"'), 1) | bytes_below(w ^ (k_ones * '\\'), 1);
  }
  unsigned kinds =
    (high ? k_text_high : 0) | (control ? k_text_control : 0) | (quote ? k_text_quote : 0);
  for (; p < end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    kinds |= (c >= 0x80 ? k_text_high : 0) | (c < 0x20 ? k_text_control : 0)
             | (c == '"' || c == '\\' ? k_text_quote : 0);
  }
  return kinds;
}

// The value member of a record (see RecordJson), any value.
void append_value_member(std::string& out, std::string_view value, bool value_is_json)
{
  if (!is_valid_utf8(value)) {
    append_text_member(out, "value", value);
  } else if (value_is_json && embeddable_json(value)) {
    out += "\"value\":";
    out += value;
  } else if (value_is_json && fits_one_line(value)) {
    out += "\"value\":";
    append_json_string(out, value);
    out += ",\"value_is_json\":true";
  } else if (embeddable_json(value) && check_json(value).empty()) {
    // Text that reads as JSON (of a raw line, or of a library writer that
    // did not vouch for it): shown as JSON, and said to be text.
    out += "\"value\":";
    out += value;
    out += ",\"value_is_json\":false";
  } else {
    // Text; also a value flagged by a writer that broke its word (a byte
    // order mark, a NUL byte or a line break), which no reader could take
    // for one line of JSON.
    out += "\"value\":";
    append_json_string(out, value);
  }
}

} // namespace

void RecordJson::refresh(std::string_view topic, uint32_t partition, TimestampNs timestamp)
{
  if (partition != m_partition || topic != m_topic) {
    m_topic = topic;
    m_partition = partition;
    m_head = "{\"topic\":";
    append_json_string(m_head, topic);
    m_head += ",\"partition\":";
    append_number(m_head, partition);
    m_head += ",\"offset\":";
  }
  if (timestamp != m_timestamp) {
    m_timestamp = timestamp;
    m_time = ",\"timestamp\":\"";
    m_time += format_timestamp(timestamp);
    m_time += "\",\"ts\":";
    append_number(m_time, timestamp_ms(timestamp));
  }
}

void RecordJson::open(std::string& out, std::string_view topic, uint32_t partition, uint64_t offset,
                      TimestampNs timestamp)
{
  refresh(topic, partition, timestamp);
  out += m_head;
  append_number(out, offset);
  out += m_time;
}

void RecordJson::append(std::string& out, const Record& r, std::string_view extra)
{
  PolledRecord view;
  view.topic = r.topic;
  view.partition = r.partition;
  view.offset = r.offset;
  view.timestamp = r.timestamp;
  view.key = r.key;
  view.value = r.value;
  view.value_is_json = r.value_is_json;
  append(out, view, extra);
}

namespace {

char* put(char* p, std::string_view s)
{
  if (!s.empty()) { // an empty view's data() may be null, which memcpy may not be given
    std::memcpy(p, s.data(), s.size());
  }
  return p + s.size();
}

} // namespace

void RecordJson::append(std::string& out, const PolledRecord& r, std::string_view extra)
{
  // A flagged value of ASCII text with no control byte is valid UTF-8 with
  // no byte order mark and no line break: embedded as it is unless it is a
  // string or empty, or has spaces around it.
  const bool value_as_is = r.value_is_json && !r.value.empty() && r.value.front() != '"'
                           && r.value.front() != ' ' && r.value.back() != ' '
                           && (scan_text(r.value) & (k_text_high | k_text_control)) == 0;
  if (value_as_is && (!r.key || scan_text(*r.key) == 0)) {
    // The common record, written through one pointer into space made once:
    // a dozen small appends took a third of consume's time.
    constexpr std::string_view k_no_key = ",\"key\":null,\"value\":";
    constexpr std::string_view k_key = ",\"key\":\"";
    constexpr std::string_view k_after_key = "\",\"value\":";
    refresh(r.topic, r.partition, r.timestamp);
    const size_t old = out.size();
    out.resize(old + m_head.size() + 20 + m_time.size()
               + (r.key ? k_key.size() + r.key->size() + k_after_key.size() : k_no_key.size())
               + r.value.size() + extra.size() + 1);
    char* p = out.data() + old;
    p = put(p, m_head);
    p = std::to_chars(p, p + 20, r.offset).ptr;
    p = put(p, m_time);
    if (r.key) {
      p = put(put(put(p, k_key), *r.key), k_after_key);
    } else {
      p = put(p, k_no_key);
    }
    p = put(put(p, r.value), extra);
    *p++ = '}';
    out.resize(static_cast<size_t>(p - out.data()));
    return;
  }
  open(out, r.topic, r.partition, r.offset, r.timestamp);
  if (!r.key) {
    out += ",\"key\":null,";
  } else if (scan_text(*r.key) == 0) {
    // Printable ASCII with nothing to escape: as it is.
    out += ",\"key\":\"";
    out += *r.key;
    out += "\",";
  } else {
    out.push_back(',');
    append_text_member(out, "key", *r.key);
    out.push_back(',');
  }
  if (value_as_is) {
    out += "\"value\":";
    out += r.value;
  } else {
    append_value_member(out, r.value, r.value_is_json);
  }
  out += extra;
  out.push_back('}');
}

void RecordJson::append_position(std::string& out, std::string_view topic, uint32_t partition,
                                 uint64_t offset, TimestampNs timestamp, std::string_view extra)
{
  open(out, topic, partition, offset, timestamp);
  out += extra;
  out.push_back('}');
}

void append_record_json(std::string& out, const Record& record, std::string_view extra)
{
  RecordJson().append(out, record, extra);
  out.push_back('\n');
}

} // namespace merkql::cli
