// How a merkql record travels as a Kafka record, and how it is recognised
// when it comes back (docs/FORMAT.md §Kafka records). The forwarder
// (kafka_forwarder.h, built only with librdkafka) produces each record with
// its key, its value, its time in milliseconds as CreateTime, and the five
// headers forward_headers() makes; record_from_kafka() rebuilds the merkql
// record from what a Kafka consumer received, so that its record hash can be
// checked against a merkql inclusion proof. DeliveryTracker is the one rule
// for what a forwarder may commit: never past a record Kafka has not
// acknowledged.
// Pure code, no Kafka library needed; thread-compatible.
#pragma once

#include <merkql/group.h>
#include <merkql/record.h>
#include <merkql/sha256.h>
#include <merkql/status.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace merkql {

// The headers of a forwarded record. Each value is text: the topic name,
// the partition and offset in decimal, the timestamp exactly as the record
// hash covers it (format_timestamp), the record hash in 64 lowercase hex.
inline constexpr std::string_view k_header_topic = "merkql.topic";
inline constexpr std::string_view k_header_partition = "merkql.partition";
inline constexpr std::string_view k_header_offset = "merkql.offset";
inline constexpr std::string_view k_header_timestamp = "merkql.timestamp";
inline constexpr std::string_view k_header_hash = "merkql.hash";

struct KafkaHeader {
  std::string name;
  std::string value;
  bool operator==(const KafkaHeader&) const = default;
};

// The five headers of the record at topic/partition/offset with this
// timestamp and record hash, in the order above.
std::vector<KafkaHeader> forward_headers(std::string_view topic, uint32_t partition,
                                         uint64_t offset, TimestampNs timestamp,
                                         const Hash& record_hash);
// The same into out, reusing its strings: no allocation per record once
// they have grown (the forwarder's loop).
void forward_headers(std::string_view topic, uint32_t partition, uint64_t offset,
                     TimestampNs timestamp, const Hash& record_hash, std::vector<KafkaHeader>& out);

// Kafka's timestamp for a record: its time in whole milliseconds, rounded
// toward minus infinity.
int64_t kafka_timestamp_ms(TimestampNs timestamp);

// What a Kafka record carries of a merkql record.
struct ForwardedRecord {
  Record record;                    // topic, partition, offset, timestamp, key, value
  std::optional<Hash> claimed_hash; // merkql.hash, when the record has it
};

// Rebuilds the merkql record from a Kafka record as a consumer received it:
// key (nullopt for Kafka's null key), value, and the headers merkql.topic,
// merkql.partition, merkql.offset and merkql.timestamp, each exactly once
// (other headers are ignored). invalid_argument, naming the header, when one
// is missing or repeated, a number is not canonical decimal text in range,
// the timestamp is not the exact text format_timestamp gives, or
// merkql.hash (optional) is not 64 lowercase hex digits.
Result<ForwardedRecord> record_from_kafka(std::optional<std::string_view> key,
                                          std::string_view value,
                                          const std::vector<KafkaHeader>& headers);

// Which offsets a forwarder may commit. Records of each partition are sent
// in increasing offset order (with gaps where retention removed some);
// Kafka acknowledges them in any order. The committable offset of a
// partition is the next offset to read after the longest acknowledged
// prefix of what was sent: the first unacknowledged offset, or one past
// the last sent when all are acknowledged.
class DeliveryTracker {
public:
  // Records that offset was handed to Kafka (greater than any sent before in
  // that partition).
  void sent(const TopicPartition& tp, uint64_t offset);
  // Records that the offsets below `offset` need no delivery (retention
  // removed them before they were sent): once every record sent before is
  // acknowledged, the partition may be committed up to `offset`.
  void skip_to(const TopicPartition& tp, uint64_t offset);
  // Records Kafka's acknowledgement and returns true; an unknown or repeated
  // one (of a partition forgotten since it was sent) is ignored: false.
  bool delivered(const TopicPartition& tp, uint64_t offset);
  // Drops what is known of tp (the partition went to another member of the
  // group); its later acknowledgements are ignored.
  void forget(const TopicPartition& tp);
  // Per partition that had records sent: the offset to commit.
  std::map<TopicPartition, uint64_t> committable() const;
  // Records sent and not yet acknowledged, over all partitions.
  size_t in_flight() const { return m_in_flight; }

private:
  struct Pending {
    std::deque<std::pair<uint64_t, bool>> sent; // (offset, acknowledged), oldest first
    uint64_t next = 0;                          // one past the last offset sent
  };
  std::map<TopicPartition, Pending> m_partitions;
  size_t m_in_flight = 0;
};

} // namespace merkql
