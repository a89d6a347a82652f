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

// Appends the member `"name":"text"` when text is valid UTF-8, else
// `"name_hex":"<hex of its bytes>"`, with colon between name and value (the
// proof file's pretty form passes ": "). Appends no comma.
void append_text_member(std::string& out, std::string_view name, std::string_view text,
                        std::string_view colon = ":");

// nlohmann's parse error text without its "[json.exception...] " prefix.
std::string json_error_text(const std::string& what);

// "hex" or null for an optional root.
std::string root_json(const std::optional<Hash>& root);

// Integer milliseconds since the epoch of a timestamp, as kcat's "ts":
// floor(ns / 1e6), so an instant before 1970 with a fraction of a
// millisecond rounds down too (-1 ns is -1 ms, not 0).
int64_t timestamp_ms(TimestampNs ns);

// Writes records as one-line JSON objects: "topic", "partition", "offset",
// "timestamp" (the exact stored text), "ts" (timestamp_ms), then "key"
// (null for none) and "value", then the caller's extra members. Keeps the
// last topic's and timestamp's text, which the records of one batch share.
//
// The value (man/merkql-consume.1, Output) is embedded as its exact text
// when that text can stand as the member, else written as a JSON string
// holding the text; "value_is_json" follows only where that default
// reading (a string is text, anything else a JSON value) would be wrong:
//   JSON value (Record::value_is_json)   {"a":1}   -> "value":{"a":1}
//   ... a string, or with spaces around  "x"       -> "value":"\"x\"","value_is_json":true
//   text                                 hello     -> "value":"hello"
//   text that reads as JSON              42        -> "value":42,"value_is_json":false
// Every value thus has one reading, which cli/produce_line.h reads back
// exactly.
class RecordJson {
public:
  // Appends {"topic":..,"partition":..,"offset":..,"timestamp":"..",
  // "ts":..,"key":..,"value":..<extra>}; extra is either empty or starts
  // with ','.
  void append(std::string& out, const Record& record, std::string_view extra = {});
  void append(std::string& out, const PolledRecord& record, std::string_view extra = {});
  // The same without "key" and "value" (produce's acks).
  void append_position(std::string& out, std::string_view topic, uint32_t partition,
                       uint64_t offset, TimestampNs timestamp, std::string_view extra = {});

private:
  // Makes m_head and m_time those of this topic, partition and timestamp.
  void refresh(std::string_view topic, uint32_t partition, TimestampNs timestamp);
  void open(std::string& out, std::string_view topic, uint32_t partition, uint64_t offset,
            TimestampNs timestamp);

  // `{"topic":<topic>,"partition":<partition>,"offset":` of the last record.
  std::string m_topic;
  std::optional<uint32_t> m_partition;
  std::string m_head;
  // `,"timestamp":"<text>","ts":<ms>` of the last timestamp.
  std::optional<TimestampNs> m_timestamp;
  std::string m_time;
};

// One record as RecordJson::append writes it, and a final newline.
void append_record_json(std::string& out, const Record& record, std::string_view extra = {});

} // namespace merkql::cli
