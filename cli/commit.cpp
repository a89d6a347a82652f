// merkql commit: set a consumer group's committed offsets
// (man/merkql-commit.1).
#include "commands.h"
#include "json_in.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <unistd.h>

namespace merkql::cli {

CLI::App* add_commit(CLI::App& app, CommitOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand("commit", "Commit consumer group offsets");
  cmd->add_option("-g,--group", o.group, "Consumer group whose offsets to set")->required();
  cmd->add_option("-t,--topic", o.topic, "Topic, with --partition and --offset or --reset");
  auto* partition = cmd->add_option("--partition", o.partition, "Partition whose offset to set")
                      ->check(NonNegativeInteger);
  auto* offset = cmd->add_option("--offset", o.offset, "Offset of the next record to read")
                   ->check(NonNegativeInteger);
  auto* reset = cmd
                  ->add_option("--reset", o.reset,
                               "Move to the start or the end of every partition: earliest or "
                               "latest")
                  ->check(CLI::IsMember({"earliest", "latest"}));
  partition->needs(offset);
  offset->needs(partition);
  reset->excludes(partition);
  reset->excludes(offset);
  return cmd;
}

namespace {

class StdinCommitter {
public:
  StdinCommitter(Broker& broker, GroupOffsets& offsets) : m_broker(broker), m_offsets(offsets) {}

  int run()
  {
    LineReaderOptions options;
    // Commit what each read delivered, so it works at the end of a
    // --follow pipeline.
    options.before_read = [this] { commit(); };
    LineReader reader(STDIN_FILENO, std::move(options));
    for (;;) {
      std::string_view text;
      const LineReader::Next next = reader.next(text);
      if (next == LineReader::Next::end) {
        break;
      }
      if (next == LineReader::Next::error) {
        commit();
        throw Exit(exit_io_err,
                   fmt::format("reading standard input: {}", std::strerror(reader.error())));
      }
      if (!line(text)) {
        commit();
        return exit_data_err;
      }
    }
    commit();
    return exit_ok;
  }

private:
  bool bad(const std::string& reason)
  {
    std::fprintf(stderr, "merkql: stdin line %llu: %s\n", static_cast<unsigned long long>(m_line),
                 printable(reason).c_str());
    return false;
  }

  bool line(std::string_view text)
  {
    ++m_line;
    if (text.find_first_not_of(" \t") == std::string_view::npos) {
      return true; // blank lines are ignored
    }
    nlohmann::json doc;
    try {
      doc = parse_json_limited(text);
    } catch (const nlohmann::json::exception& e) {
      return bad("invalid JSON: " + json_error_text(e.what()));
    } catch (const std::runtime_error& e) { // JsonTooDeep, JsonNulByte
      return bad(std::string("invalid JSON: ") + e.what());
    }
    if (!doc.is_object()) {
      return bad("not a consumed record: not a JSON object");
    }
    auto topic = doc.find("topic");
    auto partition = doc.find("partition");
    auto offset = doc.find("offset");
    if (topic == doc.end() || !topic->is_string()) {
      return bad("not a consumed record: no string member \"topic\"");
    }
    if (partition == doc.end() || !partition->is_number_unsigned()
        || partition->get<uint64_t>() > UINT32_MAX) {
      return bad("not a consumed record: no integer member \"partition\"");
    }
    if (offset == doc.end() || !offset->is_number_unsigned()
        || offset->get<uint64_t>() == UINT64_MAX) {
      return bad("not a consumed record: no integer member \"offset\"");
    }
    const std::string& name = topic->get_ref<const std::string&>();
    const auto p = static_cast<uint32_t>(partition->get<uint64_t>());
    if (Status valid = check_name(name, "topic"); !valid.is_ok()) {
      return bad("not a consumed record: " + valid.message()); // bad() makes it printable
    }
    TopicPartition tp{name, p};
    if (!m_known.count(tp)) {
      (void)existing_partition(m_broker, name, p);
      m_known.insert(tp);
    }
    const uint64_t next = offset->get<uint64_t>() + 1;
    auto& slot = m_max[tp];
    if (next > slot) {
      slot = next;
    }
    return true;
  }

  void commit()
  {
    if (!m_max.empty()) {
      check(m_offsets.commit(m_max));
      m_max.clear();
    }
  }

  Broker& m_broker;
  GroupOffsets& m_offsets;
  uint64_t m_line = 0;
  std::set<TopicPartition> m_known;
  std::map<TopicPartition, uint64_t> m_max; // not yet committed
};

} // namespace

int run_commit(const CommitOptions& o)
{
  require_name(o.group, "group");
  if (o.topic) {
    require_name(*o.topic, "topic");
  }
  const bool explicit_offset = o.partition.has_value();
  if ((explicit_offset || o.reset) && !o.topic) {
    throw Exit(exit_usage, "--partition/--offset and --reset need --topic");
  }
  if (o.topic && !explicit_offset && !o.reset) {
    throw Exit(exit_usage, "--topic needs --partition and --offset, or --reset");
  }
  auto broker = open_broker(*o.global, Create::no);
  GroupOffsets offsets(broker->env(), broker->dir(), o.group,
                       o.global->no_wait ? Wait::no : Wait::yes);
  if (explicit_offset) {
    (void)existing_partition(*broker, *o.topic, *o.partition);
    check(offsets.commit({{{*o.topic, *o.partition}, *o.offset}}));
    return exit_ok;
  }
  if (o.reset) {
    Topic* topic = existing_topic(*broker, *o.topic);
    const OffsetReset reset = *o.reset == "earliest" ? OffsetReset::earliest : OffsetReset::latest;
    std::map<TopicPartition, uint64_t> positions;
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      Partition* partition = unwrap(topic->partition(p));
      positions[{*o.topic, p}] = unwrap(start_offset(*partition, reset));
    }
    check(offsets.commit(positions));
    return exit_ok;
  }
  StdinCommitter committer(*broker, offsets);
  return committer.run();
}

} // namespace merkql::cli
