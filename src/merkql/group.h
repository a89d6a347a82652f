// Consumer groups (docs/FORMAT.md §Groups): committed offsets per (topic,
// partition), and membership of processes that share a group's partitions.
//
// GroupOffsets reads and commits OFFSETS; a commit merges with what other
// processes committed for other partitions, under the group's LOCK, and is
// written atomically (temp + fsync + rename + fsync dir).
// GroupMembership registers this process as a live member (a file it keeps
// locked, so a killed member disappears with its lock), computes the
// assignment of partitions to members, and owns partitions by locking one
// byte per partition of a lock file per topic, so that at most one member
// reads a partition and a member holds one descriptor per topic.
// Neither class is thread-safe; processes coordinate through the locks.
#pragma once

#include <merkql/env.h>
#include <merkql/status.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace merkql {

using TopicPartition = std::pair<std::string, uint32_t>;

// OFFSETS holds at most this many (topic, partition) entries, each at most
// 2 + 249 + 4 + 8 bytes (a name of up to 249 characters), so a file larger
// than 16 + count * k_max_group_offset_entry_size is damaged and is refused
// before it is read.
constexpr uint32_t k_max_group_offsets = 1000000;
constexpr uint64_t k_max_group_offset_entry_size = 2 + 249 + 4 + 8;

class GroupOffsets {
public:
  GroupOffsets(Env* env, std::string dir, std::string group, Wait lock_wait = Wait::yes);

  Result<std::map<TopicPartition, uint64_t>> load();
  // Merges offsets into the stored ones (replacing those partitions' values).
  Status commit(const std::map<TopicPartition, uint64_t>& offsets);
  // Removes every offset committed for `topic` (the topic was deleted).
  Status forget_topic(const std::string& topic);

private:
  Env* m_env;
  std::string m_dir;
  std::string m_group;
  Wait m_lock_wait;
};

std::string encode_group_offsets(const std::map<TopicPartition, uint64_t>& offsets);
Result<std::map<TopicPartition, uint64_t>> decode_group_offsets(std::string_view bytes);

class GroupMembership {
public:
  ~GroupMembership();
  static Result<std::unique_ptr<GroupMembership>> join(Env* env, std::string dir,
                                                       std::string group);

  const std::string& member_id() const { return m_member_id; }
  // Live members, sorted (this one included); removes dead members' files.
  Result<std::vector<std::string>> live_members();
  // The partitions this member should own among `all` (sorted round-robin
  // over the live members).
  Result<std::vector<TopicPartition>> assignment(const std::vector<TopicPartition>& all);
  // Takes ownership of a partition without waiting; false if another member
  // still owns it.
  Result<bool> try_acquire(const TopicPartition& tp);
  void release(const TopicPartition& tp);
  bool owns(const TopicPartition& tp) const { return m_owned.count(tp) > 0; }
  std::vector<TopicPartition> owned() const;

private:
  GroupMembership(Env* env, std::string dir, std::string group);

  Env* m_env;
  std::string m_dir;
  std::string m_group;
  std::string m_member_id;
  std::unique_ptr<FileLock> m_member_lock;
  std::map<std::string, std::unique_ptr<ByteLocks>> m_owner_locks; // per topic
  std::set<TopicPartition> m_owned;
};

} // namespace merkql
