#include <merkql/filename.h>

#include <fmt/format.h>

namespace merkql {

std::string marker_file(const std::string& dir)
{
  return dir + "/MERKQL";
}
std::string broker_lock_file(const std::string& dir)
{
  return dir + "/LOCK";
}
std::string topics_dir(const std::string& dir)
{
  return dir + "/topics";
}

std::string topic_dir(const std::string& dir, std::string_view topic)
{
  return fmt::format("{}/topics/{}", dir, topic);
}

std::string topic_config_file(const std::string& dir, std::string_view topic)
{
  return fmt::format("{}/topics/{}/TOPIC", dir, topic);
}

std::string partition_dir(const std::string& dir, std::string_view topic, uint32_t partition)
{
  return fmt::format("{}/topics/{}/{}", dir, topic, partition);
}

std::string deleted_topic_dir(const std::string& dir, std::string_view topic)
{
  return fmt::format("{}/topics/{}~deleted", dir, topic);
}

std::string partition_lock_file(const std::string& partition_dir)
{
  return partition_dir + "/LOCK";
}
std::string head_file(const std::string& partition_dir)
{
  return partition_dir + "/HEAD";
}
std::string index_file(const std::string& partition_dir)
{
  return partition_dir + "/INDEX";
}
std::string tree_file(const std::string& partition_dir)
{
  return partition_dir + "/TREE";
}

std::string segment_file_name(uint32_t segment)
{
  return fmt::format("{:08}.log", segment);
}

std::string segment_file(const std::string& partition_dir, uint32_t segment)
{
  return partition_dir + "/" + segment_file_name(segment);
}

std::optional<uint32_t> parse_segment_file_name(std::string_view name)
{
  if (name.size() != 12 || name.substr(8) != ".log") {
    return std::nullopt;
  }
  uint32_t value = 0;
  for (char c : name.substr(0, 8)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  return value;
}

std::string groups_dir(const std::string& dir)
{
  return dir + "/groups";
}

std::string group_dir(const std::string& dir, std::string_view group)
{
  return fmt::format("{}/groups/{}", dir, group);
}

std::string group_offsets_file(const std::string& dir, std::string_view group)
{
  return group_dir(dir, group) + "/OFFSETS";
}

std::string group_lock_file(const std::string& dir, std::string_view group)
{
  return group_dir(dir, group) + "/LOCK";
}

std::string group_members_dir(const std::string& dir, std::string_view group)
{
  return group_dir(dir, group) + "/members";
}

std::string group_owners_dir(const std::string& dir, std::string_view group)
{
  return group_dir(dir, group) + "/owners";
}

std::string group_owner_file(const std::string& dir, std::string_view group, std::string_view topic)
{
  return fmt::format("{}/{}", group_owners_dir(dir, group), topic);
}

std::string temp_file(const std::string& path)
{
  return path + ".tmp";
}

bool is_temp_file_name(std::string_view name)
{
  return name.size() > 4 && name.substr(name.size() - 4) == ".tmp";
}

bool is_valid_name(std::string_view name)
{
  if (name.empty() || name.size() > 249 || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
              || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

} // namespace merkql
