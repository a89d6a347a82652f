// merkql du: disk usage of the data directory (man/merkql-du.1).
#include "commands.h"

#include <merkql/filename.h>

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace merkql::cli {

CLI::App* add_du(CLI::App& app, DuOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand("du", "Report the disk space allocated to the data directory");
  cmd->add_flag("--json", o.json, "Write one JSON document instead of text");
  cmd->add_flag("--bytes", o.bytes, "Show every size as an exact number of bytes");
  return cmd;
}

namespace {

using Usage = PartitionUsage; // summed over partitions, topics and the directory

// Disk space allocated to one entry, without following a symbolic link (a
// link counts as itself); 0 when it is missing.
uint64_t allocated_bytes(const std::string& path, bool* is_dir = nullptr)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return 0;
  }
  if (is_dir) {
    *is_dir = S_ISDIR(st.st_mode);
  }
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// The names in directory path; none when path is not a directory (a
// symbolic link to one included).
std::vector<std::string> list_dir_no_follow(const std::string& path)
{
  std::vector<std::string> names;
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return names;
  }
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return names;
  }
  while (const struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      names.push_back(std::move(name));
    }
  }
  ::closedir(dir);
  return names;
}

// Disk space allocated to the files under path. Symbolic links are never
// followed, so a link cannot lead the walk out of the directory or round in
// a loop; the walk keeps its own stack instead of recursing.
uint64_t tree_bytes(const std::string& path)
{
  uint64_t total = 0;
  std::vector<std::string> pending{path};
  while (!pending.empty()) {
    const std::string next = std::move(pending.back());
    pending.pop_back();
    bool is_dir = false;
    const uint64_t bytes = allocated_bytes(next, &is_dir);
    if (!is_dir) {
      total += bytes;
      continue;
    }
    for (const std::string& n : list_dir_no_follow(next)) {
      pending.push_back(next + "/" + n);
    }
  }
  return total;
}

// Adds a metadata file (TOPIC, MERKQL, LOCK): its size to the metadata
// bytes, the disk it holds to the allocated bytes.
void add_metadata_file(Usage& u, const std::string& path)
{
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    u.metadata_bytes += static_cast<uint64_t>(st.st_size);
    u.allocated_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  }
}

// "bytes" is the disk held (allocated blocks); the kinds are file sizes.
std::string usage_json(const Usage& u)
{
  return fmt::format("\"bytes\":{},\"size\":{},\"records\":{},\"index\":{},\"tree\":{},"
                     "\"metadata\":{},\"reclaimable\":{}",
                     u.allocated_bytes, u.total(), u.records_bytes, u.index_bytes, u.tree_bytes,
                     u.metadata_bytes, u.reclaimable_bytes);
}

} // namespace

int run_du(const DuOptions& o)
{
  auto broker = open_broker(*o.global, false, Repair::never);
  const std::string& dir = broker->dir();
  struct TopicUsage {
    std::string name;
    Usage usage;
    std::vector<Usage> partitions;
  };
  std::vector<TopicUsage> topics;
  Usage all;
  for (const std::string& name : unwrap(broker->topic_names())) {
    Topic* topic = unwrap(broker->topic(name));
    TopicUsage tu{name, {}, {}};
    add_metadata_file(tu.usage, topic_config_file(dir, name));
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      Partition* partition = unwrap(topic->partition(p), fmt::format("{}/{}", name, p));
      const Usage u = unwrap(partition->usage(), fmt::format("{}/{}", name, p));
      tu.usage.add(u);
      tu.partitions.push_back(u);
    }
    all.add(tu.usage);
    topics.push_back(std::move(tu));
  }
  for (const char* f : {"MERKQL", "LOCK"}) {
    add_metadata_file(all, dir + "/" + f);
  }
  std::vector<std::pair<std::string, uint64_t>> groups;
  uint64_t groups_total = 0;
  for (const std::string& g : unwrap(broker->group_names())) {
    const uint64_t bytes = tree_bytes(group_dir(dir, g));
    groups.emplace_back(g, bytes);
    groups_total += bytes;
  }
  const uint64_t total = all.allocated_bytes + groups_total;

  std::string out;
  if (o.json) {
    out += fmt::format("{{\"dir\":");
    append_json_string(out, dir);
    out += fmt::format(",\"total\":{},{},\"groups_bytes\":{},\"topics\":[", total, usage_json(all),
                       groups_total);
    for (size_t i = 0; i < topics.size(); ++i) {
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, topics[i].name);
      out += "," + usage_json(topics[i].usage) + ",\"partitions\":[";
      for (size_t k = 0; k < topics[i].partitions.size(); ++k) {
        out += fmt::format("{}{{\"partition\":{},{}}}", k ? "," : "", k,
                           usage_json(topics[i].partitions[k]));
      }
      out += "]}";
    }
    out += "],\"groups\":[";
    for (size_t i = 0; i < groups.size(); ++i) {
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, groups[i].first);
      out += fmt::format(",\"bytes\":{}}}", groups[i].second);
    }
    out += "]}\n";
  } else {
    auto size = [&](uint64_t b) { return o.bytes ? std::to_string(b) : human_size(b); };
    auto detail = [&](const Usage& u) {
      return fmt::format("files: records {}, index {}, tree {}, metadata {}", size(u.records_bytes),
                         size(u.index_bytes), size(u.tree_bytes), size(u.metadata_bytes));
    };
    for (const TopicUsage& t : topics) {
      for (size_t k = 0; k < t.partitions.size(); ++k) {
        out += fmt::format("{}\t{}/{}\t({})\n", size(t.partitions[k].allocated_bytes), t.name, k,
                           detail(t.partitions[k]));
      }
      out += fmt::format("{}\t{}\t({})\n", size(t.usage.allocated_bytes), t.name, detail(t.usage));
    }
    for (const auto& [name, bytes] : groups) {
      out += fmt::format("{}\tgroup {}\n", size(bytes), name);
    }
    out +=
      fmt::format("{}\ttotal\t({}, groups {})\n", size(total), detail(all), size(groups_total));
    out += fmt::format("{}\treclaimable by merkql compact\n", size(all.reclaimable_bytes));
  }
  write_stdout(out);
  return exit_ok;
}

} // namespace merkql::cli
