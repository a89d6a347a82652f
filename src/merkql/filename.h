// Every file and directory name merkql creates, built and parsed in one place
// (docs/FORMAT.md §Directory layout). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace merkql {

// DIR/MERKQL: marks a merkql data directory and names its format version.
std::string marker_file(const std::string& dir);
// DIR/LOCK: serialises topic creation.
std::string broker_lock_file(const std::string& dir);
std::string topics_dir(const std::string& dir);
std::string topic_dir(const std::string& dir, std::string_view topic);
// DIR/topics/T/TOPIC: the topic's settings.
std::string topic_config_file(const std::string& dir, std::string_view topic);
std::string partition_dir(const std::string& dir, std::string_view topic, uint32_t partition);
// DIR/topics/T~deleted: a topic being deleted ('~' is in no valid name).
std::string deleted_topic_dir(const std::string& dir, std::string_view topic);

// Inside a partition directory.
std::string partition_lock_file(const std::string& partition_dir);
std::string head_file(const std::string& partition_dir);
std::string index_file(const std::string& partition_dir);
std::string tree_file(const std::string& partition_dir);
std::string segment_file(const std::string& partition_dir, uint32_t segment);
std::string segment_file_name(uint32_t segment);
// "00000012.log" -> 12.
std::optional<uint32_t> parse_segment_file_name(std::string_view name);

std::string groups_dir(const std::string& dir);
std::string group_dir(const std::string& dir, std::string_view group);
std::string group_offsets_file(const std::string& dir, std::string_view group);
std::string group_lock_file(const std::string& dir, std::string_view group);
std::string group_members_dir(const std::string& dir, std::string_view group);
std::string group_owners_dir(const std::string& dir, std::string_view group);
// groups/G/owners/T: byte N of it is locked by the member owning partition N.
std::string group_owner_file(const std::string& dir, std::string_view group,
                             std::string_view topic);

// A temporary sibling of path used by AtomicFile ("path.tmp").
std::string temp_file(const std::string& path);
bool is_temp_file_name(std::string_view name);

// Topic and group names: 1-249 characters of [A-Za-z0-9._-], not "." or "..".
bool is_valid_name(std::string_view name);

} // namespace merkql
