// merkql commit: set a consumer group's committed offsets
// (man/merkql-commit.1): from consumed records on standard input, one
// partition's offset, or every partition of a topic moved to its start, its
// end or a time (positions from the library's start_offset); --dry-run
// prints what would change instead.
#include "commands.h"
#include "json_in.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
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
  auto* to_datetime =
    cmd->add_option("--to-datetime", o.to_datetime,
                    "Move every partition to its first record at or after this RFC 3339 time");
  cmd->add_flag("--dry-run", o.dry_run, "Print what would be committed; change nothing");
  partition->needs(offset);
  offset->needs(partition);
  reset->excludes(partition);
  reset->excludes(offset);
  to_datetime->excludes(partition);
  to_datetime->excludes(offset);
  to_datetime->excludes(reset);
  return cmd;
}

namespace {

// --dry-run: one line per partition, "TOPIC/PARTITION: CURRENT -> NEW"
// (CURRENT "none" when the group has no committed offset there).
void print_plan(GroupOffsets& offsets, const std::map<TopicPartition, uint64_t>& planned)
{
  const auto current = unwrap(offsets.load());
  std::string out;
  for (const auto& [tp, next] : planned) {
    auto it = current.find(tp);
    fmt::format_to(std::back_inserter(out), "{}/{}: {} -> {}\n", tp.first, tp.second,
                   it == current.end() ? std::string("none") : std::to_string(it->second), next);
  }
  write_stdout(out);
}

void commit_or_print(GroupOffsets& offsets, const std::map<TopicPartition, uint64_t>& positions,
                     bool dry_run)
{
  if (dry_run) {
    print_plan(offsets, positions);
  } else {
    check(offsets.commit(positions));
  }
}

class StdinCommitter {
public:
  StdinCommitter(Broker& broker, GroupOffsets& offsets, bool dry_run)
    : m_broker(broker), m_offsets(offsets), m_dry_run(dry_run)
  {}

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
    if (m_dry_run) {
      print_plan(m_offsets, m_planned);
    }
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
    if (m_dry_run) {
      for (const auto& [tp, next] : m_max) {
        m_planned[tp] = std::max(m_planned[tp], next);
      }
      m_max.clear();
    }
    if (!m_max.empty()) {
      check(m_offsets.commit(m_max));
      m_max.clear();
    }
  }

  Broker& m_broker;
  GroupOffsets& m_offsets;
  bool m_dry_run;
  std::map<TopicPartition, uint64_t> m_planned; // --dry-run: what would be committed
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
  const bool move_all = o.reset || o.to_datetime;
  if ((explicit_offset || move_all) && !o.topic) {
    throw Exit(exit_usage, "--partition/--offset, --reset and --to-datetime need --topic");
  }
  if (o.topic && !explicit_offset && !move_all) {
    throw Exit(exit_usage, "--topic needs --partition and --offset, --reset or --to-datetime");
  }
  std::optional<StartPosition> to;
  if (o.reset) {
    to = StartPosition{
      *o.reset == "earliest" ? StartPosition::Kind::beginning : StartPosition::Kind::end, 0};
  } else if (o.to_datetime) {
    auto at = parse_timestamp(*o.to_datetime);
    if (!at.is_ok()) {
      throw Exit(exit_usage, fmt::format("--to-datetime: {}", at.status().message()));
    }
    to = StartPosition::at_time(*at);
  }
  auto broker = open_broker(*o.global, Create::no, o.dry_run ? Repair::never : Repair::on_open);
  GroupOffsets offsets(broker->env(), broker->dir(), o.group,
                       o.global->no_wait ? Wait::no : Wait::yes);
  if (explicit_offset) {
    Partition* partition = existing_partition(*broker, *o.topic, *o.partition);
    const uint64_t next = unwrap(partition->next_offset());
    if (*o.offset > next) {
      throw Exit(exit_data_err,
                 fmt::format("offset {} is past the end of {}/{} (its next offset is {}); "
                             "nothing committed",
                             *o.offset, *o.topic, *o.partition, next));
    }
    commit_or_print(offsets, {{{*o.topic, *o.partition}, *o.offset}}, o.dry_run);
    return exit_ok;
  }
  if (to) {
    Topic* topic = existing_topic(*broker, *o.topic);
    std::map<TopicPartition, uint64_t> positions;
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      Partition* partition = unwrap(topic->partition(p));
      positions[{*o.topic, p}] = unwrap(start_offset(*partition, *to));
    }
    commit_or_print(offsets, positions, o.dry_run);
    return exit_ok;
  }
  StdinCommitter committer(*broker, offsets, o.dry_run);
  return committer.run();
}

} // namespace merkql::cli
