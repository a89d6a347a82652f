// Consumer: reads the topics it subscribes to as a member of a consumer
// group. Its position in each partition starts where start_offset() says:
// the group's committed offset, else the reset policy (earliest: the
// retention watermark; latest: the end), never below the watermark.
// commit_sync() persists positions; close() commits when auto_commit is on
// and is idempotent; a closed consumer refuses calls. With
// Coordination::file_locks, consumers of one group in different processes
// split the partitions between them and rebalance as members come and go.
// One thread per Consumer.
#pragma once

#include <merkql/group.h>
#include <merkql/options.h>
#include <merkql/partition.h>
#include <merkql/record.h>
#include <merkql/status.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace merkql {

class Broker;

// Where a member of a group starts reading partition: at `committed` (the
// group's committed offset, if it has one), kept between the retention
// watermark and the end of the log; without one, at the watermark
// (earliest) or the end (latest). The one rule for the Consumer and for
// resetting a group's offsets (merkql commit --reset).
Result<uint64_t> start_offset(Partition& partition, OffsetReset reset,
                              std::optional<uint64_t> committed = std::nullopt);

class Consumer {
public:
  // A consumer of broker's topics for config.group_id (invalid_argument for
  // a bad group name or max_poll_records of 0); with
  // Coordination::file_locks it joins the group's membership. Broker::consumer
  // forwards here.
  static Result<std::unique_ptr<Consumer>> open(std::shared_ptr<Broker> broker,
                                                ConsumerConfig config);
  ~Consumer();

  Status subscribe(const std::vector<std::string>& topics);
  // Up to max_poll_records records; waits up to timeout for the first one.
  Result<std::vector<Record>> poll(std::chrono::milliseconds timeout = std::chrono::milliseconds{
                                     0});
  // Commits the position of every owned partition.
  Status commit_sync();
  // Commits explicit positions (the next offset to read).
  Status commit_sync(const std::map<TopicPartition, uint64_t>& offsets);
  Status close();
  bool is_closed() const { return m_closed; }

  // Current position per owned partition (next offset to read).
  std::map<TopicPartition, uint64_t> positions() const;
  std::vector<TopicPartition> assignment() const;

private:
  Consumer(std::shared_ptr<Broker> broker, ConsumerConfig config);

  struct Assigned {
    Partition* partition = nullptr;
    uint64_t position = 0;
    std::unique_ptr<PartitionReader> reader;
  };

  Status rebalance(bool force);
  Status assign(const TopicPartition& tp, Partition* partition,
                const std::map<TopicPartition, uint64_t>& committed);
  Result<std::vector<TopicPartition>> all_partitions();

  std::shared_ptr<Broker> m_broker;
  ConsumerConfig m_config;
  GroupOffsets m_offsets;
  std::unique_ptr<GroupMembership> m_membership;
  std::vector<std::string> m_topics;
  std::map<TopicPartition, Assigned> m_assigned;
  std::map<TopicPartition, uint64_t> m_last_committed;
  std::chrono::steady_clock::time_point m_last_rebalance{};
  size_t m_next_partition = 0; // fairness across partitions between polls
  bool m_closed = false;
};

} // namespace merkql
