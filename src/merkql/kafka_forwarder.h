// Forwards a merkql topic to a Kafka topic with librdkafka (merkql forward),
// reading it as a member of a consumer group: two forwarders of one group
// split the partitions, and the group's lag shows in describe_groups like
// any consumer's. Each record becomes a Kafka record as forward.h says
// (key, value, CreateTime in ms, five merkql.* headers), produced with
// enable.idempotence=true and acks=all.
//
// At least once, nothing acknowledged lost: the group's offset of a
// partition is committed only up to the first record Kafka has not
// acknowledged (DeliveryTracker), so after a crash the records after the
// last commit are sent again; a Kafka consumer recognises those duplicates
// by their merkql.partition and merkql.offset headers.
//
// Built only with librdkafka (the merkql_kafka library); merkql itself never
// needs it. One call at a time per Broker; the call runs on the caller's
// thread (librdkafka runs its own).
#pragma once

#include <merkql/broker.h>
#include <merkql/group.h>
#include <merkql/status.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace merkql {

enum class KafkaPartitioner {
  same,  // the record's merkql partition number; the Kafka topic needs as many
  kafka, // librdkafka's default partitioner over the key
};

// The moments of the forwarding loop a caller may observe (on_step): the
// crash tests stop the process at each of them.
enum class ForwardStep {
  produced,   // a record was handed to librdkafka
  delivered,  // Kafka acknowledged a record; not yet committed
  committing, // offsets are about to be committed
  committed,  // offsets were committed
};

struct ForwardOptions {
  std::string topic;       // the merkql topic
  std::string group;       // the consumer group whose offsets say what was forwarded
  std::string brokers;     // Kafka bootstrap list, HOST:PORT[,HOST:PORT...]
  std::string kafka_topic; // empty: the merkql topic's name
  KafkaPartitioner partitioner = KafkaPartitioner::same;
  // Keep forwarding new records until stop is set, and keep retrying while
  // Kafka is unreachable; otherwise stop at the end of the log and give up
  // after `timeout`.
  bool follow = false;
  std::optional<uint64_t> max_records; // stop after this many records
  std::chrono::milliseconds timeout{30000};
  // librdkafka properties, applied after merkql's own (bootstrap.servers,
  // enable.idempotence=true, acks=all, message.timeout.ms).
  std::vector<std::pair<std::string, std::string>> properties;
  // Set (from a signal handler, say) to stop: what was sent is flushed and
  // committed as far as it was acknowledged.
  const std::atomic<bool>* stop = nullptr;
  // Called at each step (on the caller's thread), e.g. to show progress.
  std::function<void(ForwardStep)> on_step;
  // Messages for the user while Kafka is unreachable, and retention gaps.
  std::function<void(const std::string&)> warn;
  // Commit each record's offset as soon as it is handed to librdkafka,
  // before Kafka acknowledges it. Loses records on a crash: it exists only
  // so that the crash tests can show they catch a forwarder doing so.
  bool commit_before_delivery = false;
};

// Offsets of a partition that retention removed before they were forwarded:
// [from, to).
struct ForwardGap {
  TopicPartition partition;
  uint64_t from = 0;
  uint64_t to = 0;
};

struct ForwardResult {
  uint64_t records = 0;                         // acknowledged by Kafka in this call
  std::map<TopicPartition, uint64_t> committed; // the group's offsets at the end
  std::vector<ForwardGap> gaps;                 // never forwarded: removed by retention
  std::chrono::nanoseconds elapsed{0};
};

// Forwards as the options say. Errors: not_found (no such merkql topic; the
// Kafka topic missing, or with fewer partitions than the merkql topic for
// KafkaPartitioner::same), invalid_argument (a property librdkafka refuses),
// unavailable (Kafka unreachable for `timeout` without follow, or a record
// it refused), and the storage errors of reading and committing. Whatever
// the outcome, offsets are committed as far as Kafka acknowledged.
Result<ForwardResult> forward_to_kafka(std::shared_ptr<Broker> broker,
                                       const ForwardOptions& options);

} // namespace merkql
