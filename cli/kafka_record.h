// A record as a Kafka consumer received it: one line of `kcat -C -J`
// output (kcat 1.7.1), read for `merkql verify-proof --kafka-record`
// (man/merkql-verify-proof.1), and its comparison with the record a merkql
// inclusion proof proves. The rule that rebuilds a merkql record from a
// Kafka record is the library's record_from_kafka (merkql/forward.h,
// docs/FORMAT.md §Kafka records); this file only reads kcat's JSON and
// words the differences. Pure code apart from read(2) on the given
// descriptor; thread-compatible.
#pragma once

#include <merkql/forward.h>
#include <merkql/options.h>
#include <merkql/proof.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace merkql::cli {

// The members of a kcat -J line that are read. kcat writes "topic",
// "partition", "offset", "tstype", "ts", "broker", "headers" (only when the
// record has headers: an array alternating name and value), "key" and
// "payload" (each a string, or null). Members it does not write are
// ignored; the ones above must have these types when present, and "key"
// and "payload" must be present.
struct KafkaRecordLine {
  std::optional<std::string> topic;  // the Kafka topic
  std::optional<int64_t> partition;  // the Kafka partition
  std::optional<int64_t> offset;     // the Kafka offset
  std::optional<std::string> tstype; // "create", "logappend" or "unknown"
  std::optional<int64_t> ts;         // the Kafka timestamp in milliseconds
  std::optional<std::string> key;    // nullopt for a null key
  std::optional<std::string> value;  // "payload"; nullopt for a null value
  std::vector<KafkaHeader> headers;  // in order; other than merkql.*, null values dropped
};

// The largest kcat line read: a record's key and value hold at most
// k_max_record_bytes, each byte written as at most 6 bytes of JSON
// (\u00XX), and the rest of the line is small.
constexpr uint64_t k_max_kafka_record_line_bytes = 6 * k_max_record_bytes + (1 << 20);

struct KafkaRecordRead {
  enum class Kind {
    ok,       // line holds the record
    invalid,  // message: why the text is not one kcat -J line
    io_error, // message: the read error
  };
  Kind kind = Kind::invalid;
  KafkaRecordLine line;
  std::string message;
};

// Parses one kcat -J line (one JSON object; surrounding whitespace, such as
// the final newline, allowed). A merkql.* header with a null value is
// invalid: the headers forward_headers makes are all text.
KafkaRecordRead parse_kafka_record_line(std::string_view text);
// The same, reading fd to its end (at most k_max_kafka_record_line_bytes).
KafkaRecordRead read_kafka_record_fd(int fd, uint64_t max_bytes = k_max_kafka_record_line_bytes);

// Empty when the Kafka record `line`, rebuilt as `rebuilt`
// (record_from_kafka of its key, value and headers), is the record `proof`
// proves; else what differs first, naming it: topic, partition, offset,
// timestamp (the merkql.timestamp header, or a CreateTime that is not its
// milliseconds; not compared when those are 0, which librdkafka replaces
// with the time of sending), key, value, or hash (merkql.hash, or the
// rebuilt record's hash).
std::string kafka_record_mismatch(const KafkaRecordLine& line, const ForwardedRecord& rebuilt,
                                  const RecordProof& proof);

} // namespace merkql::cli
