// merkql topic: create, alter, list, describe and delete topics
// (man/merkql-topic.1); also the topic settings options that produce shares.
#include "commands.h"

#include <merkql/admin.h>

#include <fmt/format.h>

namespace merkql::cli {

namespace {

const CLI::Validator LimitOrNone(
  [](std::string& text) -> std::string {
    if (text == "none") {
      return {};
    }
    if (text.empty() || text.size() > 19
        || text.find_first_not_of("0123456789") != std::string::npos || std::stoull(text) == 0) {
      return "'" + text + "' is neither a positive integer nor none";
    }
    return {};
  },
  "", "N|none");

std::optional<uint64_t> parse_limit(const std::string& text)
{
  return text == "none" ? std::nullopt : std::optional<uint64_t>(std::stoull(text));
}

} // namespace

void add_topic_settings(CLI::App* cmd, TopicSettings& s, const std::string& what)
{
  // "of a new topic", "of the topic"; "" for alter, where partitions and
  // compression are fixed.
  const std::string of = what.empty() ? "" : " " + what;
  const bool fixed = what.empty();
  cmd
    ->add_option("--partitions", s.partitions,
                 "Partitions" + of + (fixed ? " (fixed at creation)" : " (default 1)"))
    ->check(NonNegativeInteger)
    ->check(CLI::Range(1u, 100000u));
  cmd
    ->add_option("--compression", s.compression,
                 "Compression" + of + (fixed ? " (fixed at creation)" : ": lz4 or none"))
    ->check(CLI::IsMember({"lz4", "none"}));
  cmd
    ->add_option("--retention-records", s.retention_records,
                 "Records kept visible per partition" + of + " (or none)")
    ->check(LimitOrNone);
  cmd
    ->add_option("--retention-bytes", s.retention_bytes,
                 "Log bytes kept per partition" + of + " (or none)")
    ->check(LimitOrNone);
  cmd
    ->add_option("--retention-ms", s.retention_ms,
                 "Milliseconds a record is kept" + of + " (or none)")
    ->check(LimitOrNone);
  cmd
    ->add_option("--segment-bytes", s.segment_bytes,
                 "Segment size in bytes" + of + (fixed ? "" : " (default 1048576)"))
    ->check(NonNegativeInteger)
    ->check(CLI::Range(uint64_t{4096}, uint64_t{1} << 30));
}

TopicConfig apply_topic_settings(TopicConfig base, const TopicSettings& s)
{
  if (s.partitions) {
    base.partitions = *s.partitions;
  }
  if (s.compression) {
    base.compression = *parse_compression(*s.compression);
  }
  if (s.retention_records) {
    base.retention.max_records = parse_limit(*s.retention_records);
  }
  if (s.retention_bytes) {
    base.retention.max_bytes = parse_limit(*s.retention_bytes);
  }
  if (s.retention_ms) {
    base.retention.max_age_ms = parse_limit(*s.retention_ms);
  }
  if (s.segment_bytes) {
    base.segment_bytes = *s.segment_bytes;
  }
  return base;
}

void require_topic_settings(const std::string& topic, const TopicConfig& have,
                            const TopicSettings& s)
{
  if (auto diff = topic_config_difference(have, apply_topic_settings(have, s))) {
    throw Exit(exit_usage,
               fmt::format("topic {} exists with other settings: --{}; nothing was appended "
                           "(change retention and segment size with merkql topic alter)",
                           topic, *diff));
  }
}

CLI::App* add_topic(CLI::App& app, TopicOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand("topic", "Create, alter, list, describe or delete topics");
  cmd->require_subcommand(1);
  o.create = cmd->add_subcommand("create", "Create a topic");
  o.create->add_option("-t,--topic", o.topic, "Topic to create")->required();
  add_topic_settings(o.create, o.settings, "of the topic");
  o.alter = cmd->add_subcommand("alter", "Change a topic's retention and segment size");
  o.alter->add_option("-t,--topic", o.topic, "Topic to change")->required();
  add_topic_settings(o.alter, o.settings, "");
  o.list = cmd->add_subcommand("list", "List the topics");
  o.describe = cmd->add_subcommand("describe", "Show a topic's settings and partitions");
  o.describe->add_option("-t,--topic", o.topic, "Topic to describe")->required();
  o.describe->add_flag("--json", o.json, "Print one JSON object");
  o.remove = cmd->add_subcommand("delete", "Delete a topic and its group offsets");
  o.remove->add_option("-t,--topic", o.topic, "Topic to delete")->required();
  return cmd;
}

namespace {

std::string settings_text(const TopicConfig& c)
{
  return fmt::format("  partitions         {}\n  compression        {}\n  retention-records  {}\n"
                     "  retention-bytes    {}\n  retention-ms       {}\n  segment-bytes      {}\n",
                     c.partitions, compression_name(c.compression),
                     limit_text(c.retention.max_records), limit_text(c.retention.max_bytes),
                     limit_text(c.retention.max_age_ms), c.segment_bytes);
}

std::string json_limit(const std::optional<uint64_t>& limit)
{
  return limit ? std::to_string(*limit) : "null";
}

int describe(Broker& broker, const TopicOptions& o)
{
  existing_topic(broker, o.topic);
  const std::vector<TopicDescription> topics = unwrap(describe_topics(broker, {o.topic}));
  const TopicDescription& t = topics.front();
  const TopicConfig& c = t.config;
  std::string out;
  if (o.json) {
    out += "{\"name\":";
    append_json_string(out, t.name);
    fmt::format_to(std::back_inserter(out),
                   ",\"partition_count\":{},\"compression\":\"{}\",\"retention_records\":{},"
                   "\"retention_bytes\":{},\"retention_ms\":{},\"segment_bytes\":{},"
                   "\"partitions\":[",
                   c.partitions, compression_name(c.compression),
                   json_limit(c.retention.max_records), json_limit(c.retention.max_bytes),
                   json_limit(c.retention.max_age_ms), c.segment_bytes);
    for (size_t k = 0; k < t.partitions.size(); ++k) {
      const PartitionDescription& p = t.partitions[k];
      fmt::format_to(std::back_inserter(out),
                     "{}{{\"partition\":{},\"watermark\":{},\"next_offset\":{},\"records\":{},"
                     "\"bytes\":{},\"allocated_bytes\":{}}}",
                     k ? "," : "", p.partition, p.watermark, p.next_offset, p.records(), p.bytes,
                     p.allocated_bytes);
    }
    out += "]}\n";
  } else {
    out += fmt::format("topic {}\n", t.name) + settings_text(c);
    out += fmt::format("  {:>9}  {:>12}  {:>12}  {:>12}  {:>10}  {:>10}\n", "partition", "records",
                       "watermark", "next_offset", "bytes", "allocated");
    for (const PartitionDescription& p : t.partitions) {
      out +=
        fmt::format("  {:>9}  {:>12}  {:>12}  {:>12}  {:>10}  {:>10}\n", p.partition, p.records(),
                    p.watermark, p.next_offset, human_size(p.bytes), human_size(p.allocated_bytes));
    }
  }
  write_stdout(out);
  return exit_ok;
}

} // namespace

int run_topic(const TopicOptions& o)
{
  if (o.list->parsed()) {
    auto broker = open_broker(*o.global, Create::no, Repair::never);
    std::string out;
    for (const std::string& name : unwrap(broker->topic_names())) {
      out += name + "\n";
    }
    write_stdout(out);
    return exit_ok;
  }
  require_name(o.topic, "topic");
  if (o.describe->parsed()) {
    auto broker = open_broker(*o.global, Create::no, Repair::never);
    return describe(*broker, o);
  }
  if (o.create->parsed()) {
    auto broker = open_broker(*o.global, Create::if_missing);
    if (broker->topic(o.topic).is_ok()) {
      throw Exit(exit_usage, fmt::format("topic {} already exists", o.topic));
    }
    const TopicConfig config = apply_topic_settings(broker->config().default_topic(), o.settings);
    Topic* topic = unwrap(broker->create_topic(o.topic, config));
    write_stdout(fmt::format("created topic {}\n", o.topic) + settings_text(topic->config()));
    return exit_ok;
  }
  auto broker = open_broker(*o.global, Create::no);
  if (o.alter->parsed()) {
    Topic* topic = existing_topic(*broker, o.topic);
    const TopicConfig config = apply_topic_settings(topic->config(), o.settings);
    topic = unwrap(broker->alter_topic(o.topic, config));
    write_stdout(fmt::format("topic {}\n", o.topic) + settings_text(topic->config()));
    return exit_ok;
  }
  existing_topic(*broker, o.topic);
  check(broker->delete_topic(o.topic));
  write_stdout(fmt::format("deleted topic {}\n", o.topic));
  return exit_ok;
}

} // namespace merkql::cli
