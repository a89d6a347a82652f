// merkql inspect: describe topics, partitions and groups, or show one record
// (man/merkql-inspect.1).
#include "commands.h"

#include <fmt/format.h>

namespace merkql::cli {

CLI::App* add_inspect(CLI::App& app, InspectOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand(
    "inspect", "Show topics, partitions, merkle roots and groups, or one record");
  cmd->add_flag("--json", o.json, "Write one JSON document instead of text");
  cmd->add_option("-t,--topic", o.topic, "Only this topic, or the topic of the record to show");
  auto* partition = cmd->add_option("--partition", o.partition, "Partition of the record to show")
                      ->check(NonNegativeInteger);
  auto* offset = cmd->add_option("--offset", o.offset, "Offset of the record to show")
                   ->check(NonNegativeInteger);
  partition->needs(offset);
  offset->needs(partition);
  return cmd;
}

namespace {

int show_record(const InspectOptions& o, Broker& broker)
{
  Partition* partition = existing_partition(broker, *o.topic, *o.partition);
  const uint64_t next = unwrap(partition->next_offset());
  if (*o.offset >= next) {
    throw Exit(exit_no_input, fmt::format("{}/{} has no offset {} (next offset is {})", *o.topic,
                                          *o.partition, *o.offset, next));
  }
  const uint64_t watermark = partition->watermark_for(next);
  if (*o.offset < watermark) {
    throw Exit(exit_no_input, fmt::format("offset {} of {}/{} is below the retention watermark {}",
                                          *o.offset, *o.topic, *o.partition, watermark));
  }
  Record record = unwrap(partition->read(*o.offset));
  Sha256 ctx;
  const Hash rh = record_hash(record, ctx);
  const Hash lh = leaf_hash(rh, record.offset, ctx);
  std::string out;
  if (o.json) {
    append_record_json(
      out, record,
      fmt::format(",\"record_hash\":\"{}\",\"leaf_hash\":\"{}\"", to_hex(rh), to_hex(lh)));
  } else {
    out += fmt::format("topic:       {}\npartition:   {}\noffset:      {}\ntimestamp:   {}\n",
                       record.topic, record.partition, record.offset,
                       format_timestamp(record.timestamp));
    out += "key:         ";
    if (record.key && is_valid_utf8(*record.key)) {
      append_json_string(out, *record.key);
    } else if (record.key) {
      // Only records of earlier builds; the bytes as the JSON forms give them.
      out += "(not UTF-8) " + bytes_to_hex(*record.key);
    } else {
      out += "(none)";
    }
    out += "\nvalue:       " + record.value + "\n";
    out += fmt::format("record hash: {}\nleaf hash:   {}\n", to_hex(rh), to_hex(lh));
  }
  write_stdout(out);
  return exit_ok;
}

} // namespace

int run_inspect(const InspectOptions& o)
{
  if (o.topic) {
    require_name(*o.topic, "topic");
  }
  if (o.partition && !o.topic) {
    throw Exit(exit_usage, "--partition and --offset need --topic");
  }
  auto broker = open_broker(*o.global, Create::no, Repair::never);
  if (o.partition) {
    return show_record(o, *broker);
  }
  const std::vector<TopicDescription> topics =
    unwrap(describe_topics(*broker, selected_topics(*broker, o.topic)));
  const std::vector<GroupDescription> groups = unwrap(describe_groups(*broker, topics, o.topic));

  std::string out;
  if (o.json) {
    out += "{\"topics\":[";
    for (size_t i = 0; i < topics.size(); ++i) {
      const TopicDescription& t = topics[i];
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, t.name);
      fmt::format_to(
        std::back_inserter(out),
        ",\"partition_count\":{},\"compression\":\"{}\",\"retention_records\":{},\"partitions\":[",
        t.config.partitions, compression_name(t.config.compression),
        t.config.retention.max_records ? std::to_string(*t.config.retention.max_records) : "null");
      for (size_t k = 0; k < t.partitions.size(); ++k) {
        const PartitionDescription& p = t.partitions[k];
        fmt::format_to(std::back_inserter(out),
                       "{}{{\"partition\":{},\"next_offset\":{},\"watermark\":{},\"records\":{},"
                       "\"root\":{},\"bytes\":{}}}",
                       k ? "," : "", p.partition, p.next_offset, p.watermark, p.records(),
                       root_json(p.root), p.bytes);
      }
      out += "]}";
    }
    out += "],\"groups\":[";
    for (size_t i = 0; i < groups.size(); ++i) {
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, groups[i].name);
      out += ",\"offsets\":[";
      for (size_t k = 0; k < groups[i].offsets.size(); ++k) {
        const CommittedOffset& c = groups[i].offsets[k];
        out += k ? ",{\"topic\":" : "{\"topic\":";
        append_json_string(out, c.partition.first);
        fmt::format_to(std::back_inserter(out), ",\"partition\":{},\"committed\":{},\"lag\":{}}}",
                       c.partition.second, c.committed, c.lag ? std::to_string(*c.lag) : "null");
      }
      out += "]}";
    }
    out += "]}\n";
  } else {
    for (const TopicDescription& t : topics) {
      out += fmt::format(
        "topic {}: {} partition{}, compression {}, retention {}\n", t.name, t.config.partitions,
        t.config.partitions == 1 ? "" : "s", compression_name(t.config.compression),
        t.config.retention.max_records
          ? fmt::format("{} records per partition", *t.config.retention.max_records)
          : std::string("none"));
      out += fmt::format("  {:>9}  {:>12}  {:>12}  {:>12}  {:>8}  {}\n", "partition", "records",
                         "watermark", "next_offset", "bytes", "root");
      for (const PartitionDescription& p : t.partitions) {
        out += fmt::format("  {:>9}  {:>12}  {:>12}  {:>12}  {:>8}  {}\n", p.partition, p.records(),
                           p.watermark, p.next_offset, human_size(p.bytes),
                           p.root ? to_hex(*p.root) : "-");
      }
    }
    for (const GroupDescription& g : groups) {
      out += fmt::format("group {}:\n", g.name);
      if (g.offsets.empty()) {
        out += "  (no committed offsets)\n";
      }
      for (const CommittedOffset& c : g.offsets) {
        out += fmt::format("  {}/{}: committed {}, lag {}\n", c.partition.first, c.partition.second,
                           c.committed, c.lag ? std::to_string(*c.lag) : "?");
      }
    }
    if (topics.empty() && groups.empty()) {
      out += "no topics\n";
    }
  }
  write_stdout(out);
  return exit_ok;
}

} // namespace merkql::cli
