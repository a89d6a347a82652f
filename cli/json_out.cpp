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

void append_json_value(std::string& out, std::string_view value)
{
  // Embedded only if it is JSON that a reader of the input would have
  // accepted: no byte order mark, at most k_max_json_depth levels deep.
  if (check_json(value).empty()) {
    // Outside strings (which cannot hold them raw) line breaks are just
    // whitespace: a space keeps the output one line per record, without
    // re-serialising the document.
    const size_t start = out.size();
    out.append(value);
    for (size_t i = out.find_first_of("\n\r", start); i != std::string::npos;
         i = out.find_first_of("\n\r", i + 1)) {
      out[i] = ' ';
    }
    return;
  }
  if (is_valid_utf8(value)) {
    append_json_string(out, value);
  } else {
    // Only for a caller that did not go through append_text_member: still
    // valid JSON, with U+FFFD for the bytes that are not UTF-8.
    out += nlohmann::json(std::string(value))
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
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

namespace {

void append_number(std::string& out, uint64_t v)
{
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, static_cast<size_t>(end - buf));
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
  out.push_back('"');
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
  } else if (r.value_is_json && !starts_with_bom(r.value)
             && r.value.find('\0') == std::string::npos) {
    // The writer validated it: one line of JSON. Values stored by versions
    // that let a byte order mark or a NUL byte through are checked again.
    out += "\"value\":";
    out += r.value;
  } else {
    out += "\"value\":";
    append_json_value(out, r.value);
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
