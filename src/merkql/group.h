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
// reads a partition and a member holds one descriptor per topic; a process
// may also take partitions' owner locks without joining (open_owner), to
// read chosen partitions as the group without a share of the assignment.
// live_group_members and partition_owned only look; delete_group_dir removes
// a group under its LOCK.
// Neither class is thread-safe; processes coordinate through the locks.
#pragma once

#include <merkql/env.h>
#include <merkql/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
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
  // Owner locks only: no member file, so no share of the assignment and
  // not counted among the live members (for reading chosen partitions).
  static Result<std::unique_ptr<GroupMembership>> open_owner(Env* env, std::string dir,
                                                             std::string group);

  const std::string& member_id() const { return m_member_id; }
  // Live members, sorted (this one included); removes dead members' files.
  Result<std::vector<std::string>> live_members();
  // Records the topics this member reads in its member file, so that the
  // others leave those partitions to the members that read them.
  Status set_topics(const std::vector<std::string>& topics);
  // The partitions this member should own among `all`: the sorted pairs go
  // round-robin over the live members sorted by id, each pair to the next
  // member that reads its topic (a member file listing no topic, as older
  // builds write, reads every topic).
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
  std::vector<std::string> m_topics; // as in the member file; empty: every topic
  std::map<std::string, std::unique_ptr<ByteLocks>> m_owner_locks; // per topic
  std::set<TopicPartition> m_owned;
};

// The live members of group (sorted ids), found by probing their locks;
// unlike GroupMembership::live_members it removes nothing.
Result<std::vector<std::string>> live_group_members(Env* env, const std::string& dir,
                                                    const std::string& group);
// When the member id encodes it (it does for ids made by join), the time
// the member joined, in nanoseconds since the epoch.
std::optional<int64_t> member_join_time(std::string_view member_id);
// Whether a process of group holds the owner lock of tp now (it is being
// read). Creates nothing; false where the owner file cannot be opened for
// writing (a read-only mount), as no process could lock it there.
Result<bool> partition_owned(Env* env, const std::string& dir, const std::string& group,
                             const TopicPartition& tp);
// Removes group's directory and everything in it. Under the group's LOCK
// (waiting as lock_wait says) it first calls check_idle, whose failure
// refuses the deletion with nothing changed; then it removes OFFSETS first
// (after a crash the group is left with no committed offsets, and deleting
// it again finishes the job), the rest, and the directory. not_found when
// the group does not exist.
Status delete_group_dir(Env* env, const std::string& dir, const std::string& group, Wait lock_wait,
                        const std::function<Status()>& check_idle);

} // namespace merkql
