// The one JSON writer of the command line: strings, stored values, and a
// record's line as consume, inspect --json and produce's acks print it
// (man/merkql-consume.1, OUTPUT). Keys and values are UTF-8 text; a record
// written by an earlier build may still hold other bytes, and those are
// never printed lossily: a key or value that is not valid UTF-8 is printed
// as "key_hex" or "value_hex" instead of "key" or "value", holding its bytes
// as lower-case hexadecimal (the same rule as the proof file,
// docs/FORMAT.md §Proof file). Pure code; thread-safe.
#pragma once

#include <merkql/json_text.h>
#include <merkql/merkql.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace merkql::cli {

// Appends s as a quoted JSON string (s must be valid UTF-8): '"' and '\\'
// escaped, \b \f \n \r \t as such, other bytes below 0x20 as \u00XX.
void append_json_string(std::string& out, std::string_view s);

// Appends the text of a stored value as JSON: verbatim when it is a JSON
// document (line breaks turned into spaces), else as a JSON string. Bytes
// that are not UTF-8 become U+FFFD here: a record's value goes through
// RecordJson, which prints such a value losslessly as "value_hex".
void append_json_value(std::string& out, std::string_view value);

// Appends the member `"name":"text"` when text is valid UTF-8, else
// `"name_hex":"<hex of its bytes>"`, with colon between name and value (the
// proof file's pretty form passes ": "). Appends no comma.
void append_text_member(std::string& out, std::string_view name, std::string_view text,
                        std::string_view colon = ":");

// nlohmann's parse error text without its "[json.exception...] " prefix.
std::string json_error_text(const std::string& what);

// "hex" or null for an optional root.
std::string root_json(const std::optional<Hash>& root);

// Writes records as one-line JSON objects: "topic", "partition", "offset",
// "timestamp", then "key" (null for none) and "value", then the caller's
// extra members. Keeps the last topic's and timestamp's text, which the
// records of one batch share.
class RecordJson {
public:
  // Appends {"topic":..,"partition":..,"offset":..,"timestamp":"..",
  // "key":..,"value":..<extra>}; extra is either empty or starts with ','.
  // A value the writer vouched is one-line JSON is embedded as it is.
  void append(std::string& out, const Record& record, std::string_view extra = {});
  // The same without "key" and "value" (produce's acks).
  void append_position(std::string& out, std::string_view topic, uint32_t partition,
                       uint64_t offset, TimestampNs timestamp, std::string_view extra = {});

private:
  void open(std::string& out, std::string_view topic, uint32_t partition, uint64_t offset,
            TimestampNs timestamp);

  std::string m_topic;
  std::string m_topic_json;
  std::optional<TimestampNs> m_timestamp;
  std::string m_timestamp_text;
};

// One record as RecordJson::append writes it, and a final newline.
void append_record_json(std::string& out, const Record& record, std::string_view extra = {});

} // namespace merkql::cli
