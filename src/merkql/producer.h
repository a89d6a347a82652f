// Producer: appends records to topics, routing each to a partition by key
// (SHA-256) or round-robin. send() is durable (one fsync) before it returns;
// send_batch() groups records per partition and makes each group durable with
// one fsync. Thread-safe (it only holds a Broker).
#pragma once

#include <merkql/record.h>
#include <merkql/status.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace merkql {

class Broker;

struct ProducerRecord {
  std::string topic;
  std::optional<std::string> key;
  std::string value;
  std::optional<uint32_t> partition = std::nullopt;    // overrides routing
  std::optional<TimestampNs> timestamp = std::nullopt; // default: now
  bool value_is_json = false;                          // vouch that value is one line of valid JSON
};

// Where a record was stored.
struct RecordMetadata {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  TimestampNs timestamp = 0;
  Hash record_hash{};
};

class Producer {
public:
  explicit Producer(std::shared_ptr<Broker> broker) : m_broker(std::move(broker)) {}

  Result<RecordMetadata> send(const ProducerRecord& record);
  Result<std::vector<RecordMetadata>> send_batch(const std::vector<ProducerRecord>& records);

private:
  std::shared_ptr<Broker> m_broker;
};

} // namespace merkql
