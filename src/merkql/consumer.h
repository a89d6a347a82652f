// Consumer: reads the topics it subscribes to as a member of a consumer
// group, or chosen partitions (assign), with a group or without one. Its
// position in each partition starts where start_offset() says: the group's
// committed offset, else the reset policy (earliest: the retention
// watermark; latest: the end), never below the watermark; start_from()
// overrides that once per partition (kcat's -o). commit_sync() persists
// positions; close() commits when auto_commit is on and is idempotent; a
// closed consumer refuses calls. Without a group (an empty group_id) it
// commits nothing and creates no group state. With
// Coordination::file_locks, consumers of one group in different processes
// split the partitions between them and rebalance as members come and go;
// an assigned partition is held by its owner lock. One thread per Consumer.
// poll() copies records out; poll(visitor) hands over views into the block
// being read, with no copy or allocation per record (merkql consume).
#pragma once

#include <merkql/group.h>
#include <merkql/options.h>
#include <merkql/partition.h>
#include <merkql/record.h>
#include <merkql/status.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
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

// Where reading starts in a partition, as kcat's -o names it.
struct StartPosition {
  enum class Kind {
    beginning, // the oldest record retention keeps
    end,       // the next record appended
    offset,    // an absolute offset
    last,      // the last `value` records
    time,      // the first record whose timestamp is at or after time()
  };
  Kind kind = Kind::beginning;
  uint64_t value = 0; // the offset, the count, or the time's nanoseconds as two's complement
  static StartPosition at_time(TimestampNs ns) { return {Kind::time, static_cast<uint64_t>(ns)}; }
  TimestampNs time() const { return static_cast<TimestampNs>(value); }
  // "beginning", "end", "N" (an offset) or "-N" (the last N records);
  // invalid_argument otherwise.
  static Result<StartPosition> parse(std::string_view text);
};

// The offset `where` names in partition, kept between the retention
// watermark and the end of the log: an offset below the watermark starts at
// the watermark, one past the end at the end; the last N of fewer records
// start at the watermark; a time no record reaches (in offset order,
// timestamps may go back) is the end.
Result<uint64_t> start_offset(Partition& partition, const StartPosition& where);

// A record as Consumer::poll(visitor) hands it over: views into the
// decoded block and the partition, valid only during the call (copy what
// must outlive it, e.g. with to_record()).
struct PolledRecord {
  std::string_view topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  TimestampNs timestamp = 0;
  std::optional<std::string_view> key;
  std::string_view value;
  // The writer vouched that value is one line of valid JSON text.
  bool value_is_json = false;
};

// The record a view shows, copied.
Record to_record(const PolledRecord& view);

using RecordVisitor = std::function<void(const PolledRecord&)>;

class Consumer {
public:
  // A consumer of broker's topics for config.group_id (invalid_argument for
  // a bad group name or max_poll_records of 0); with
  // Coordination::file_locks it joins the group's membership. Broker::consumer
  // forwards here.
  static Result<std::unique_ptr<Consumer>> open(std::shared_ptr<Broker> broker,
                                                ConsumerConfig config);
  ~Consumer();

  // Reads these topics, sharing their partitions with the group's other
  // members. Topics are created when the broker auto-creates them.
  Status subscribe(const std::vector<std::string>& topics);
  // Reads exactly these partitions (which must exist), without joining
  // the group or rebalancing; with a group and Coordination::file_locks
  // each is held by its owner lock (busy while another process of the
  // group reads it). Not after subscribe (invalid_argument).
  Status assign(const std::vector<TopicPartition>& partitions);
  // Every partition this consumer takes starts at `where` the first time,
  // instead of at the group's committed offset (which, with a group, it
  // then becomes unless commit_start_position is off). Before subscribe or
  // assign.
  void start_from(StartPosition where) { m_start = where; }
  bool has_group() const { return !m_config.group_id.empty(); }
  // Up to max_poll_records records; waits up to timeout for the first one.
  Result<std::vector<Record>> poll(std::chrono::milliseconds timeout = std::chrono::milliseconds{
                                     0});
  // The same without copies: passes each record, up to max and
  // max_poll_records, to fn as views; returns how many it passed. Positions
  // move past exactly the records passed.
  Result<size_t> poll(const RecordVisitor& fn,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds{0},
                      size_t max = SIZE_MAX);
  // Commits the position of every owned partition (invalid_argument
  // without a group).
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
  Status take(const TopicPartition& tp, Partition* partition,
              const std::map<TopicPartition, uint64_t>& committed);
  Status commit_offsets(const std::map<TopicPartition, uint64_t>& offsets);
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
  std::optional<StartPosition> m_start;
  std::set<TopicPartition> m_started; // partitions start_from has moved
  bool m_manual = false;              // assign(): fixed partitions, no rebalancing
  bool m_closed = false;
};

} // namespace merkql
