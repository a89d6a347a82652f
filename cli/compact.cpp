// merkql compact: delete log segments below the retention watermark
// (man/merkql-compact.1).
#include "commands.h"

#include <fmt/format.h>

namespace merkql::cli {

CLI::App* add_compact(CLI::App& app, CompactOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd =
    app.add_subcommand("compact", "Delete log segments below the retention watermark");
  cmd->add_option("-t,--topic", o.topic, "Compact only this topic");
  return cmd;
}

int run_compact(const CompactOptions& o)
{
  if (o.topic) {
    require_name(*o.topic, "topic");
  }
  auto broker = open_broker(*o.global, Create::no);
  const std::vector<std::string> names = selected_topics(*broker, o.topic);
  uint64_t segments = 0;
  uint64_t bytes = 0;
  std::string out;
  for (const std::string& name : names) {
    Topic* topic = unwrap(broker->topic(name));
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      const std::string label = fmt::format("{}/{}", name, p);
      Partition* partition = unwrap(topic->partition(p), label);
      CompactResult r = unwrap(partition->compact(), label);
      if (r.segments_removed) {
        out += fmt::format("{}: removed {} segment{}, reclaimed {} bytes ({})\n", label,
                           r.segments_removed, r.segments_removed == 1 ? "" : "s",
                           r.bytes_reclaimed, human_size(r.bytes_reclaimed));
      }
      segments += r.segments_removed;
      bytes += r.bytes_reclaimed;
    }
  }
  out += fmt::format("reclaimed {} bytes ({}) in {} segment{}\n", bytes, human_size(bytes),
                     segments, segments == 1 ? "" : "s");
  write_stdout(out);
  return exit_ok;
}

} // namespace merkql::cli
