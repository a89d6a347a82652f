// merkql du: disk usage of the data directory (man/merkql-du.1).
#include "commands.h"

#include <fmt/format.h>

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

using Usage = PartitionUsage;

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
  auto broker = open_broker(*o.global, Create::no, Repair::never);
  const DiskUsage du = unwrap(disk_usage(*broker));
  const Usage& all = du.usage;
  const uint64_t total = du.allocated_bytes();

  std::string out;
  if (o.json) {
    out += fmt::format("{{\"dir\":");
    append_json_string(out, du.dir);
    out += fmt::format(",\"total\":{},{},\"groups_bytes\":{},\"topics\":[", total, usage_json(all),
                       du.groups_bytes);
    for (size_t i = 0; i < du.topics.size(); ++i) {
      const TopicUsage& t = du.topics[i];
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, t.name);
      out += "," + usage_json(t.usage) + ",\"partitions\":[";
      for (size_t k = 0; k < t.partitions.size(); ++k) {
        out +=
          fmt::format("{}{{\"partition\":{},{}}}", k ? "," : "", k, usage_json(t.partitions[k]));
      }
      out += "]}";
    }
    out += "],\"groups\":[";
    for (size_t i = 0; i < du.groups.size(); ++i) {
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, du.groups[i].name);
      out += fmt::format(",\"bytes\":{}}}", du.groups[i].allocated_bytes);
    }
    out += "]}\n";
  } else {
    auto size = [&](uint64_t b) { return o.bytes ? std::to_string(b) : human_size(b); };
    auto detail = [&](const Usage& u) {
      return fmt::format("files: records {}, index {}, tree {}, metadata {}", size(u.records_bytes),
                         size(u.index_bytes), size(u.tree_bytes), size(u.metadata_bytes));
    };
    for (const TopicUsage& t : du.topics) {
      for (size_t k = 0; k < t.partitions.size(); ++k) {
        out += fmt::format("{}\t{}/{}\t({})\n", size(t.partitions[k].allocated_bytes), t.name, k,
                           detail(t.partitions[k]));
      }
      out += fmt::format("{}\t{}\t({})\n", size(t.usage.allocated_bytes), t.name, detail(t.usage));
    }
    for (const GroupUsage& g : du.groups) {
      out += fmt::format("{}\tgroup {}\n", size(g.allocated_bytes), g.name);
    }
    out +=
      fmt::format("{}\ttotal\t({}, groups {})\n", size(total), detail(all), size(du.groups_bytes));
    out += fmt::format("{}\treclaimable by merkql compact\n", size(all.reclaimable_bytes));
  }
  write_stdout(out);
  return exit_ok;
}

} // namespace merkql::cli
