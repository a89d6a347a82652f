// Reports over a data directory: what its topics and partitions hold
// (describe_topics), where each consumer group stands, how far behind it is
// and which of its processes are live (describe_groups), and the disk space
// every part takes (disk_usage); and the one group administration that
// changes something, delete_group. Called by `merkql inspect`, `merkql du`
// and `merkql group`, which only format the structs, and by library users.
// Reports only look (probing a member's lock takes it for an instant, which
// delays that member's next rebalance at most): opened through a Broker with
// Repair::never they read every file read-only, create nothing, and follow
// no symbolic link (env.h), so they work on a read-only mount and on a
// damaged directory. They take no lock, so a report made while others write
// may mix moments (each partition is read from one HEAD). Thread-safe as the
// Broker is. Directory layout: docs/FORMAT.md §Directory layout.
#pragma once

#include <merkql/broker.h>
#include <merkql/group.h>
#include <merkql/merkle.h>
#include <merkql/partition.h>
#include <merkql/status.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace merkql {

// One partition as one read of its HEAD found it.
struct PartitionDescription {
  uint32_t partition = 0;
  uint64_t next_offset = 0;     // offset the next record appended gets
  uint64_t watermark = 0;       // first offset retention keeps visible
  std::optional<Hash> root;     // merkle root of next_offset records; none when empty
  uint64_t bytes = 0;           // size of the partition's files (PartitionUsage::total())
  uint64_t allocated_bytes = 0; // disk space those files hold (PartitionUsage)
  // Records visible under retention.
  uint64_t records() const { return next_offset - watermark; }
};

struct TopicDescription {
  std::string name;
  TopicConfig config;
  std::vector<PartitionDescription> partitions; // by partition number
};

// The named topics (each must exist: not_found otherwise), in that order.
Result<std::vector<TopicDescription>> describe_topics(Broker& broker,
                                                      const std::vector<std::string>& names);
// Every topic, by name.
Result<std::vector<TopicDescription>> describe_topics(Broker& broker);

// A group's committed offset for one partition.
struct CommittedOffset {
  TopicPartition partition;
  uint64_t committed = 0; // the next offset the group reads
  // Records the group has still to read: from its committed offset, or the
  // retention watermark if that is higher, to the end of the log. None when
  // the partition is not among the topics the lag is measured against.
  std::optional<uint64_t> lag;
  std::optional<uint64_t> end; // the partition's next offset, as lag was measured
  // A process of the group reads this partition now (it holds the
  // partition's owner lock). Only when GroupQuery::members asked.
  bool owned = false;
};

// A live member of a group: a process that joined it (Consumer::subscribe
// with Coordination::file_locks) and has not left.
struct GroupMember {
  std::string id;                   // its file under groups/G/members/
  std::optional<int64_t> joined_ns; // when it joined, from its id
};

struct GroupDescription {
  std::string name;
  std::vector<CommittedOffset> offsets; // by topic and partition
  std::vector<GroupMember> members;     // by id; only when GroupQuery::members asked
};

struct GroupQuery {
  std::optional<std::string> topic; // just this topic's offsets, and the groups that have one
  std::optional<std::string> group; // just this group (not_found when it does not exist)
  bool members = false;             // probe live members and owned partitions
};

// Every group with its committed offsets (a group that never committed has
// none), the lag of each measured against `topics` as describe_topics
// returned them. With `only_topic`, just that topic's offsets, and only the
// groups that have one.
Result<std::vector<GroupDescription>>
describe_groups(Broker& broker, const std::vector<TopicDescription>& topics,
                const std::optional<std::string>& only_topic = std::nullopt);
// The same, narrowed and detailed as query says.
Result<std::vector<GroupDescription>> describe_groups(Broker& broker,
                                                      const std::vector<TopicDescription>& topics,
                                                      const GroupQuery& query);

// Deletes a consumer group: its committed offsets and its directory.
// Refused with busy, nothing changed, while the group has a live member or
// a process holds one of its partitions (the message says which);
// not_found when there is no such group. Waits for the group's LOCK as the
// broker's lock_wait says.
Status delete_group(Broker& broker, const std::string& group);

struct TopicUsage {
  std::string name;
  PartitionUsage usage;                   // its partitions plus TOPIC (as metadata)
  std::vector<PartitionUsage> partitions; // by partition number, as Partition::usage()
};

struct GroupUsage {
  std::string name;
  // Disk space allocated to every file under the group's directory
  // (OFFSETS, LOCK, members, owners, anything else), no link followed.
  uint64_t allocated_bytes = 0;
  uint64_t file_bytes = 0; // the sizes of those files
};

struct DiskUsage {
  std::string dir; // the data directory, as the broker resolved it
  // The topics plus the directory's own files (MERKQL and LOCK, as
  // metadata). Groups are counted apart: they have no breakdown by kind.
  PartitionUsage usage;
  std::vector<TopicUsage> topics; // by name
  std::vector<GroupUsage> groups; // by name
  uint64_t groups_bytes = 0;      // sum of groups[].allocated_bytes
  uint64_t groups_file_bytes = 0; // sum of groups[].file_bytes
  // Disk space the whole directory holds.
  uint64_t allocated_bytes() const { return usage.allocated_bytes + groups_bytes; }
  // The sizes of every file in the directory.
  uint64_t file_bytes() const { return usage.total() + groups_file_bytes; }
};

// Sizes every partition, topic, group and the directory's own files. An
// error names the partition or file it came from. progress(done, total) is
// called after each partition.
Result<DiskUsage> disk_usage(Broker& broker,
                             const std::function<void(uint64_t, uint64_t)>& progress = {});

} // namespace merkql
