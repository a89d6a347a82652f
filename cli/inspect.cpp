// merkql inspect: describe topics, partitions and groups, or show one record
// (man/merkql-inspect.1).
#include "commands.h"

#include <fmt/format.h>

#include <map>

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

struct PartitionInfo {
  uint32_t id = 0;
  uint64_t next_offset = 0;
  uint64_t watermark = 0;
  std::optional<Hash> root;
  uint64_t bytes = 0;
};

struct TopicInfo {
  std::string name;
  TopicConfig config;
  std::vector<PartitionInfo> partitions;
};

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
    out = "{\"topic\":";
    append_json_string(out, record.topic);
    fmt::format_to(std::back_inserter(out),
                   ",\"partition\":{},\"offset\":{},\"timestamp\":\"{}\",\"key\":",
                   record.partition, record.offset, format_timestamp(record.timestamp));
    if (record.key) {
      append_json_string(out, *record.key);
    } else {
      out += "null";
    }
    out += ",\"value\":";
    append_json_value(out, record.value);
    fmt::format_to(std::back_inserter(out), ",\"record_hash\":\"{}\",\"leaf_hash\":\"{}\"}}\n",
                   to_hex(rh), to_hex(lh));
  } else {
    out += fmt::format("topic:       {}\npartition:   {}\noffset:      {}\ntimestamp:   {}\n",
                       record.topic, record.partition, record.offset,
                       format_timestamp(record.timestamp));
    out += "key:         ";
    if (record.key) {
      append_json_string(out, *record.key);
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
  auto broker = open_broker(*o.global, false, Repair::never);
  if (o.partition) {
    return show_record(o, *broker);
  }
  const std::vector<std::string> names = selected_topics(*broker, o.topic);
  std::vector<TopicInfo> topics;
  std::map<TopicPartition, const PartitionInfo*> by_tp;
  for (const std::string& name : names) {
    Topic* topic = unwrap(broker->topic(name));
    TopicInfo info{name, topic->config(), {}};
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      Partition* partition = unwrap(topic->partition(p));
      PartitionInfo pi;
      pi.id = p;
      PartitionHead head = unwrap(partition->head());
      pi.next_offset = head.next_offset;
      pi.watermark = partition->watermark_for(pi.next_offset);
      pi.root = unwrap(partition->merkle_root_at(pi.next_offset));
      pi.bytes = unwrap(partition->usage()).total();
      info.partitions.push_back(pi);
    }
    topics.push_back(std::move(info));
  }
  for (const TopicInfo& t : topics) {
    for (const PartitionInfo& p : t.partitions) {
      by_tp[{t.name, p.id}] = &p;
    }
  }
  struct GroupOffset {
    TopicPartition tp;
    uint64_t committed;
    std::optional<uint64_t> lag;
  };
  std::vector<std::pair<std::string, std::vector<GroupOffset>>> groups;
  for (const std::string& g : unwrap(broker->group_names())) {
    GroupOffsets offsets(broker->env(), broker->dir(), g);
    auto loaded = offsets.load();
    std::map<TopicPartition, uint64_t> committed;
    if (loaded.is_ok()) {
      committed = *loaded;
    } else if (!loaded.status().is_not_found()) {
      check(loaded.status(), fmt::format("group {}", g));
    }
    std::vector<GroupOffset> list;
    for (const auto& [tp, offset] : committed) {
      if (o.topic && tp.first != *o.topic) {
        continue;
      }
      GroupOffset go{tp, offset, std::nullopt};
      auto it = by_tp.find(tp);
      if (it != by_tp.end()) {
        const uint64_t from = std::max(offset, it->second->watermark);
        go.lag = it->second->next_offset > from ? it->second->next_offset - from : 0;
      }
      list.push_back(go);
    }
    if (o.topic && list.empty()) {
      continue;
    }
    groups.emplace_back(g, std::move(list));
  }

  std::string out;
  if (o.json) {
    out += "{\"topics\":[";
    for (size_t i = 0; i < topics.size(); ++i) {
      const TopicInfo& t = topics[i];
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, t.name);
      fmt::format_to(
        std::back_inserter(out),
        ",\"partition_count\":{},\"compression\":\"{}\",\"retention_records\":{},\"partitions\":[",
        t.config.partitions, compression_name(t.config.compression),
        t.config.max_records ? std::to_string(*t.config.max_records) : "null");
      for (size_t k = 0; k < t.partitions.size(); ++k) {
        const PartitionInfo& p = t.partitions[k];
        fmt::format_to(std::back_inserter(out),
                       "{}{{\"partition\":{},\"next_offset\":{},\"watermark\":{},\"records\":{},"
                       "\"root\":{},\"bytes\":{}}}",
                       k ? "," : "", p.id, p.next_offset, p.watermark, p.next_offset - p.watermark,
                       root_json(p.root), p.bytes);
      }
      out += "]}";
    }
    out += "],\"groups\":[";
    for (size_t i = 0; i < groups.size(); ++i) {
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, groups[i].first);
      out += ",\"offsets\":[";
      for (size_t k = 0; k < groups[i].second.size(); ++k) {
        const GroupOffset& go = groups[i].second[k];
        out += k ? ",{\"topic\":" : "{\"topic\":";
        append_json_string(out, go.tp.first);
        fmt::format_to(std::back_inserter(out), ",\"partition\":{},\"committed\":{},\"lag\":{}}}",
                       go.tp.second, go.committed, go.lag ? std::to_string(*go.lag) : "null");
      }
      out += "]}";
    }
    out += "]}\n";
  } else {
    for (const TopicInfo& t : topics) {
      out += fmt::format(
        "topic {}: {} partition{}, compression {}, retention {}\n", t.name, t.config.partitions,
        t.config.partitions == 1 ? "" : "s", compression_name(t.config.compression),
        t.config.max_records ? fmt::format("{} records per partition", *t.config.max_records)
                             : std::string("none"));
      out += fmt::format("  {:>9}  {:>12}  {:>12}  {:>12}  {:>8}  {}\n", "partition", "records",
                         "watermark", "next_offset", "bytes", "root");
      for (const PartitionInfo& p : t.partitions) {
        out += fmt::format("  {:>9}  {:>12}  {:>12}  {:>12}  {:>8}  {}\n", p.id,
                           p.next_offset - p.watermark, p.watermark, p.next_offset,
                           human_size(p.bytes), p.root ? to_hex(*p.root) : "-");
      }
    }
    for (const auto& [name, list] : groups) {
      out += fmt::format("group {}:\n", name);
      if (list.empty()) {
        out += "  (no committed offsets)\n";
      }
      for (const GroupOffset& go : list) {
        out += fmt::format("  {}/{}: committed {}, lag {}\n", go.tp.first, go.tp.second,
                           go.committed, go.lag ? std::to_string(*go.lag) : "?");
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
