// merkql consume: write records of topics as JSON lines, as a member of a
// consumer group, or without one as kcat reads (man/merkql-consume.1).
//
// Records are polled in bounded batches, formatted into one buffer, written
// with write(2), and then the positions of what was written are committed.
// Members of one group divide the partitions through the library's file-lock
// coordination; --partition reads one partition, holding it as the group's
// without joining. With --no-commit, or without a group, nothing is
// committed, not even the starting positions the library's Consumer records.
// Where reading starts (--offset, --from) is the library's start_offset.
#include "commands.h"
#include "progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <thread>
#include <unistd.h>

namespace merkql::cli {

CLI::App* add_consume(CLI::App& app, ConsumeOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand(
    "consume", "Read records of topics, as a member of a consumer group or without one");
  cmd->add_option("-t,--topic", o.topics, "Topic or topics to read, separated by commas")
    ->required();
  cmd->add_option("-g,--group", o.group,
                  "Consumer group to read as (without one, nothing is committed)");
  cmd->add_option("--partition", o.partition, "Read only this partition (of one topic)")
    ->check(NonNegativeInteger);
  cmd->add_option("--offset", o.offset,
                  "Start at beginning, end, an offset N, or -N (the last N records) of each "
                  "partition; with --group, once, instead of the committed offset");
  cmd->add_option("--format", o.format, "Output format: json or value")
    ->check(CLI::IsMember({"json", "value"}));
  cmd
    ->add_option("--from", o.from,
                 "Start of a partition without a committed offset: earliest or latest")
    ->check(CLI::IsMember({"earliest", "latest"}));
  cmd->add_option("--max", o.max, "Stop after writing this many records")
    ->check(NonNegativeInteger);
  cmd->add_flag("-f,--follow", o.follow, "Keep waiting for new records");
  cmd->add_flag("--no-commit", o.no_commit, "Do not commit offsets");
  return cmd;
}

namespace {

void install_signal_handlers()
{
  stop_on_signals();
  std::signal(SIGPIPE, SIG_IGN);
}

constexpr size_t k_max_poll = 10000;

// Formats records into one buffer and writes it with one write_all, telling
// where each partition's records written whole end.
class Writer {
public:
  explicit Writer(const ConsumeOptions& o) : m_value_only(o.format == "value") {}

  void add(const PolledRecord& r)
  {
    if (m_value_only) {
      m_out += r.value;
    } else {
      m_json.append(m_out, r);
    }
    m_out.push_back('\n');
    // Records come in runs of consecutive offsets of one partition.
    if (m_runs.empty() || m_runs.back().partition != r.partition || m_runs.back().topic != r.topic
        || m_runs.back().first_offset + (m_ends.size() - m_runs.back().first_record) != r.offset) {
      m_runs.push_back(Run{std::string(r.topic), r.partition, r.offset, m_ends.size()});
    }
    m_ends.push_back(m_out.size());
  }

  // Writes what was added; false when standard output is closed or failing.
  // written() then tells the next offset of each partition after the
  // records written whole.
  bool flush()
  {
    size_t done = 0;
    const bool ok = write_all(STDOUT_FILENO, m_out, &done);
    m_errno = ok ? 0 : errno;
    const size_t complete =
      static_cast<size_t>(std::upper_bound(m_ends.begin(), m_ends.end(), done) - m_ends.begin());
    m_written.clear();
    for (size_t k = 0; k < m_runs.size() && m_runs[k].first_record < complete; ++k) {
      const Run& run = m_runs[k];
      const size_t run_end = k + 1 < m_runs.size() ? m_runs[k + 1].first_record : m_ends.size();
      m_written[{run.topic, run.partition}] =
        run.first_offset + (std::min(complete, run_end) - run.first_record);
    }
    m_out.clear();
    m_ends.clear();
    m_runs.clear();
    return ok;
  }
  const std::map<TopicPartition, uint64_t>& written() const { return m_written; }
  // The error of the failed flush().
  int error() const { return m_errno; }

private:
  struct Run {
    std::string topic;
    uint32_t partition = 0;
    uint64_t first_offset = 0;
    size_t first_record = 0; // index in m_ends
  };

  bool m_value_only;
  RecordJson m_json;
  std::string m_out;
  std::vector<size_t> m_ends; // end of each record's line in m_out
  std::vector<Run> m_runs;
  std::map<TopicPartition, uint64_t> m_written;
  int m_errno = 0;
};

int run_reads(const ConsumeOptions& o, const std::shared_ptr<Broker>& broker,
              const std::vector<std::string>& topics, const std::optional<StartPosition>& start)
{
  const bool grouped = !o.group.empty();
  const bool commit = grouped && !o.no_commit;
  ConsumerConfig config;
  config.group_id = o.group;
  config.auto_commit = false; // commit exactly what was written, after each write
  config.offset_reset = o.from == "latest" ? OffsetReset::latest : OffsetReset::earliest;
  config.max_poll_records = k_max_poll;
  config.coordination = grouped ? Coordination::file_locks : Coordination::none;
  config.commit_start_position = commit; // --no-commit commits nothing at all
  auto consumer = unwrap(broker->consumer(config));
  if (start) {
    consumer->start_from(*start);
  }
  size_t total_partitions = 0;
  if (o.partition) {
    check(consumer->assign({{topics.front(), *o.partition}}));
    total_partitions = 1;
  } else if (grouped) {
    check(consumer->subscribe(topics));
    for (const std::string& t : topics) {
      total_partitions += unwrap(broker->topic(t))->partition_count();
    }
  } else {
    std::vector<TopicPartition> all;
    for (const std::string& t : topics) {
      for (uint32_t p = 0; p < unwrap(broker->topic(t))->partition_count(); ++p) {
        all.emplace_back(t, p);
      }
    }
    check(consumer->assign(all));
    total_partitions = all.size();
  }

  Writer writer(o);
  uint64_t remaining = o.max.value_or(UINT64_MAX);
  auto last_change = std::chrono::steady_clock::now();
  auto assignment = consumer->assignment();
  // On a terminal (not when the records go to it): records written of the
  // backlog of the partitions read, counted again when they change.
  Progress progress("consume", !is_terminal(STDOUT_FILENO));
  uint64_t written_total = 0;
  auto count_backlog = [&] {
    uint64_t backlog = 0;
    for (const auto& [tp, position] : consumer->positions()) {
      auto end = unwrap(broker->topic(tp.first))->partition(tp.second);
      if (end.is_ok()) {
        if (auto next = (*end)->next_offset(); next.is_ok() && *next > position) {
          backlog += *next - position;
        }
      }
    }
    progress.set_total_records(std::min(written_total + backlog, o.max ? *o.max : UINT64_MAX));
  };
  count_backlog();
  while (remaining > 0 && !stop_flag()) {
    const size_t n =
      unwrap(consumer->poll([&writer](const PolledRecord& r) { writer.add(r); },
                            std::chrono::milliseconds(o.follow ? 50 : 0),
                            static_cast<size_t>(std::min<uint64_t>(remaining, k_max_poll))));
    if (auto now = consumer->assignment(); now != assignment) {
      assignment = std::move(now);
      last_change = std::chrono::steady_clock::now();
      count_backlog();
    }
    if (n == 0) {
      if (o.follow) {
        continue;
      }
      // Done unless partitions may still come to this member: it owns fewer
      // than all of them and the group has not been settled for a while.
      if (assignment.size() >= total_partitions
          || std::chrono::steady_clock::now() - last_change > std::chrono::milliseconds(600)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    remaining -= n;
    written_total += n;
    progress.update(written_total);
    if (!writer.flush()) {
      // Commit the lines written whole, then stop: quietly when the reader
      // has gone (a closed pipe), with exit 74 on any other failure.
      if (commit && !writer.written().empty()) {
        check(consumer->commit_sync(writer.written()));
      }
      if (writer.error() != EPIPE) {
        const int error = writer.error();
        (void)consumer->close();
        throw Exit(exit_io_err, fmt::format("writing standard output: {}", std::strerror(error)));
      }
      break;
    }
    if (commit) {
      check(consumer->commit_sync());
    }
  }
  progress.clear();
  check(consumer->close());
  return exit_ok;
}

} // namespace

int run_consume(const ConsumeOptions& o)
{
  auto topics = split_commas(o.topics);
  for (const std::string& t : topics) {
    require_name(t, "topic");
  }
  if (!o.group.empty()) {
    require_name(o.group, "group");
  }
  if (o.partition && topics.size() != 1) {
    throw Exit(exit_usage, "--partition needs exactly one topic");
  }
  std::optional<StartPosition> start;
  if (o.offset) {
    start = unwrap(StartPosition::parse(*o.offset));
  }
  install_signal_handlers();
  // Without a group nothing is written: open as the commands that only look
  // do, so that reading works on a read-only mount and repairs nothing.
  auto broker =
    open_broker(*o.global, Create::no, o.group.empty() ? Repair::never : Repair::on_open);
  for (const std::string& t : topics) {
    Topic* topic = unwrap(broker->topic(t));
    if (o.partition) {
      (void)unwrap(topic->partition(*o.partition));
    }
  }
  if (o.max && *o.max == 0) {
    return exit_ok;
  }
  return run_reads(o, broker, topics, start);
}

} // namespace merkql::cli
