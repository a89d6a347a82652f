// merkql produce's envelope input (--input envelope; man/merkql-produce.1,
// Input formats): one JSON object a line that holds a record's value and
// may hold its key, partition and timestamp, as `merkql consume` prints a
// record and `kcat -J` prints a Kafka message, so that both read back.
// Pure code with no I/O: cli/produce_line.cpp's LineParser hands it the
// envelope lines (a byte order mark already removed) and applies what it
// returns over --key and --partition. An EnvelopeReader belongs to one
// thread.
#pragma once

#include <merkql/merkql.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace merkql::cli {

// What one envelope line holds. The views point into the line or into the
// reader; they stay valid until the next read() call.
struct Envelope {
  bool has_key = false;                // a "key" member is given (it replaces --key)
  std::optional<std::string_view> key; // its text; none: null, a record without a key
  std::string_view value;
  bool value_is_json = false;
  std::optional<uint32_t> partition;
  std::optional<TimestampNs> timestamp; // "timestamp", else "ts"
};

class EnvelopeReader {
public:
  // partition_count: of the topic written to; max_value_bytes: the longest
  // value (--max-record-bytes).
  EnvelopeReader(uint32_t partition_count, uint64_t max_value_bytes);

  // Reads one line of valid UTF-8, without its line break. Returns the
  // empty string and fills out, or returns why the line is bad
  // ("invalid JSON: ...", "invalid envelope: ...").
  std::string read(std::string_view line, Envelope& out);

private:
  uint32_t m_partition_count;
  uint64_t m_max_value_bytes;
  std::string m_key;   // the "key" member's text
  std::string m_value; // the value, decoded or cut from the line
};

} // namespace merkql::cli
