#include "json_out.h"

#include "json_in.h"

#include <charconv>

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

void RecordJson::open(std::string& out, std::string_view topic, uint32_t partition, uint64_t offset,
                      TimestampNs timestamp)
{
  if (topic != m_topic || m_topic_json.empty()) {
    m_topic = topic;
    m_topic_json.clear();
    append_json_string(m_topic_json, topic);
  }
  if (timestamp != m_timestamp) {
    m_timestamp = timestamp;
    m_timestamp_text = format_timestamp(timestamp);
  }
  out += "{\"topic\":";
  out += m_topic_json;
  out += ",\"partition\":";
  append_number(out, partition);
  out += ",\"offset\":";
  append_number(out, offset);
  out += ",\"timestamp\":\"";
  out += m_timestamp_text;
  out += "\",\"ts\":";
  append_number(out, timestamp_ms(timestamp));
}

void RecordJson::append(std::string& out, const Record& r, std::string_view extra)
{
  open(out, r.topic, r.partition, r.offset, r.timestamp);
  out.push_back(',');
  if (r.key) {
    append_text_member(out, "key", *r.key);
  } else {
    out += "\"key\":null";
  }
  out.push_back(',');
  if (!is_valid_utf8(r.value)) {
    append_text_member(out, "value", r.value);
  } else if (r.value_is_json && embeddable_json(r.value)) {
    out += "\"value\":";
    out += r.value;
  } else if (r.value_is_json && fits_one_line(r.value)) {
    out += "\"value\":";
    append_json_string(out, r.value);
    out += ",\"value_is_json\":true";
  } else if (embeddable_json(r.value) && check_json(r.value).empty()) {
    // Text that reads as JSON (of a raw line, or of a library writer that
    // did not vouch for it): shown as JSON, and said to be text.
    out += "\"value\":";
    out += r.value;
    out += ",\"value_is_json\":false";
  } else {
    // Text; also a value flagged by a writer that broke its word (a byte
    // order mark, a NUL byte or a line break), which no reader could take
    // for one line of JSON.
    out += "\"value\":";
    append_json_string(out, r.value);
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
