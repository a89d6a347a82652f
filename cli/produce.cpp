// merkql produce: append lines of standard input as records (man/merkql-produce.1).
//
// Standard input is read with read(2) into one buffer and split into lines.
// Records accumulate in an arena until --batch of them are pending or input
// has nothing more ready (poll(2) with a zero timeout) or ends; then the batch
// goes to a writer thread, which appends each partition's share with one
// fsync and prints the acks, while this thread parses the next batch.
#include "commands.h"
#include "produce_line.h"

#include <merkql/record_format.h>

#include <fmt/format.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <poll.h>
#include <thread>
#include <unistd.h>

namespace merkql::cli {

CLI::App* add_produce(CLI::App& app, ProduceOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd =
    app.add_subcommand("produce", "Append records read from standard input to a topic");
  cmd->add_option("-t,--topic", o.topic, "Topic to append to")->required();
  cmd->add_option("--input", o.input, "Input format: json, raw or envelope")
    ->check(CLI::IsMember({"json", "raw", "envelope"}));
  auto* key = cmd->add_option("--key", o.key, "Constant key for every record");
  auto* key_field =
    cmd->add_option("--key-field", o.key_field, "Field or JSON pointer holding the key");
  key->excludes(key_field);
  cmd->add_option("--partition", o.partition, "Send every record to this partition")
    ->check(NonNegativeInteger);
  cmd->add_option("--partitions", o.partitions, "Partitions of a new topic (default 1)")
    ->check(NonNegativeInteger)
    ->check(CLI::Range(1u, 100000u));
  cmd->add_option("--compression", o.compression, "Compression of a new topic: lz4 or none")
    ->check(CLI::IsMember({"lz4", "none"}));
  cmd
    ->add_option("--retention-records", o.retention_records,
                 "Records kept visible per partition of a new topic")
    ->check(NonNegativeInteger)
    ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  cmd->add_option("--batch", o.batch, "Maximum records per batch and fsync (default 1000)")
    ->check(NonNegativeInteger)
    ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 24));
  cmd->add_flag("--ack", o.ack, "Print one JSON line per durable record");
  cmd
    ->add_option("--max-record-bytes", o.max_record_bytes,
                 "Maximum record size in bytes (default 1048576)")
    ->check(NonNegativeInteger)
    ->check(CLI::Range(uint64_t{1}, format::k_max_record_bytes));
  cmd->add_flag("--skip-bad", o.skip_bad, "Report and skip bad lines");
  return cmd;
}

namespace {

// One pending record; key and value live in the arena.
struct Pending {
  uint32_t partition = 0;
  bool has_key = false;
  size_t key_pos = 0, key_len = 0;
  size_t value_pos = 0, value_len = 0;
  std::optional<TimestampNs> timestamp;
  bool value_is_json = false;
};

// Lines parsed into records, waiting to be appended.
struct Batch {
  std::string arena;
  std::vector<Pending> pending;
};

// Appends batches on a thread of its own, so that parsing the next batch
// overlaps hashing, compressing and syncing the previous one. At most one
// batch waits while another is written; acks are printed in order.
class BatchWriter {
public:
  BatchWriter(const ProduceOptions& o, Topic* topic)
    : m_o(o), m_topic(topic), m_partitions(topic->partition_count()), m_thread([this] { loop(); })
  {}

  ~BatchWriter()
  {
    {
      std::lock_guard guard(m_mutex);
      m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
  }

  // Hands a batch over; waits while another one is already waiting.
  void submit(Batch& batch)
  {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [this] { return !m_waiting || m_error; });
    rethrow_locked();
    std::swap(m_next, batch);
    m_waiting = true;
    lock.unlock();
    m_changed.notify_all();
  }

  // Throws the writer's failure, if any.
  void check()
  {
    std::lock_guard guard(m_mutex);
    rethrow_locked();
  }

  // Waits until everything submitted is durable (and acked).
  void finish()
  {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [this] { return (!m_waiting && !m_busy) || m_error; });
    rethrow_locked();
  }

private:
  void rethrow_locked()
  {
    if (m_error) {
      std::exception_ptr error = m_error;
      m_error = nullptr;
      m_failed = true;
      std::rethrow_exception(error);
    }
    if (m_failed) {
      throw Exit(exit_io_err, ""); // reported already
    }
  }

  void loop()
  {
    Batch current;
    for (;;) {
      {
        std::unique_lock lock(m_mutex);
        m_busy = false;
        m_changed.notify_all();
        m_changed.wait(lock, [this] { return m_waiting || m_stop; });
        if (!m_waiting) {
          return;
        }
        std::swap(current, m_next);
        m_waiting = false;
        m_busy = true;
      }
      m_changed.notify_all();
      try {
        write(current);
      } catch (...) {
        std::lock_guard guard(m_mutex);
        m_error = std::current_exception();
        m_busy = false;
        m_changed.notify_all();
        return;
      }
      current.arena.clear();
      current.pending.clear();
    }
  }

  void write(const Batch& batch);

  const ProduceOptions& m_o;
  Topic* m_topic;
  std::vector<Partition*> m_partitions; // opened on first use, by the writer thread
  std::string m_acks;

  std::mutex m_mutex;
  std::condition_variable m_changed;
  Batch m_next;
  bool m_waiting = false; // m_next holds a batch
  bool m_busy = false;    // the thread is writing one
  bool m_stop = false;
  bool m_failed = false;
  std::exception_ptr m_error;
  std::thread m_thread; // last: starts after the members above exist
};

LineParserOptions parser_options(const ProduceOptions& o, uint32_t partition_count)
{
  LineParserOptions options;
  options.mode = o.input == "raw"        ? InputMode::raw
                 : o.input == "envelope" ? InputMode::envelope
                                         : InputMode::json;
  options.key = o.key;
  options.key_field = o.key_field;
  options.partition = o.partition;
  options.max_record_bytes = o.max_record_bytes;
  options.partition_count = partition_count;
  return options;
}

class Producer {
public:
  Producer(const ProduceOptions& o, Topic* topic)
    : m_o(o), m_topic(topic), m_parser(parser_options(o, topic->partition_count()))
  {}

  int run();

private:
  // Returns false when the command must stop (bad line without --skip-bad).
  bool handle_line(std::string_view line);
  void add_record(const ParsedLine& line);
  bool report_bad(const std::string& reason);
  // Hands the records parsed so far to the writer.
  void flush();
  // Flushes and waits until every record so far is durable.
  void finish();

  const ProduceOptions& m_o;
  Topic* m_topic;
  LineParser m_parser;
  ParsedLine m_parsed;
  uint64_t m_line = 0;
  uint64_t m_skipped = 0;
  Batch m_batch;
  BatchWriter m_writer{m_o, m_topic};
};

bool Producer::report_bad(const std::string& reason)
{
  std::fprintf(stderr, "merkql: stdin line %llu: %s\n", static_cast<unsigned long long>(m_line),
               printable(reason).c_str());
  ++m_skipped;
  return m_o.skip_bad;
}

bool Producer::handle_line(std::string_view line)
{
  ++m_line;
  std::string bad = m_parser.parse(line, m_parsed);
  if (!bad.empty()) {
    return report_bad(bad);
  }
  add_record(m_parsed);
  if (m_batch.pending.size() >= m_o.batch) {
    flush();
  }
  return true;
}

void Producer::add_record(const ParsedLine& line)
{
  Pending p;
  p.value_is_json = line.value_is_json;
  p.partition = line.partition ? *line.partition : m_topic->route(line.key);
  if (line.key) {
    p.has_key = true;
    p.key_pos = m_batch.arena.size();
    p.key_len = line.key->size();
    m_batch.arena.append(*line.key);
  }
  p.value_pos = m_batch.arena.size();
  p.value_len = line.value.size();
  m_batch.arena.append(line.value);
  p.timestamp = line.timestamp;
  m_batch.pending.push_back(p);
}

void BatchWriter::write(const Batch& batch)
{
  const uint32_t count = m_topic->partition_count();
  std::vector<std::vector<AppendInput>> inputs(count);
  for (const Pending& p : batch.pending) {
    AppendInput in;
    if (p.has_key) {
      in.key = std::string_view(batch.arena).substr(p.key_pos, p.key_len);
    }
    in.value = std::string_view(batch.arena).substr(p.value_pos, p.value_len);
    in.timestamp = p.timestamp;
    in.value_is_json = p.value_is_json;
    inputs[p.partition].push_back(in);
  }
  std::vector<std::vector<AppendedRecord>> appended(count);
  for (uint32_t id = 0; id < count; ++id) {
    if (inputs[id].empty()) {
      continue;
    }
    if (!m_partitions[id]) {
      m_partitions[id] = unwrap(m_topic->partition(id));
    }
    appended[id] =
      unwrap(m_partitions[id]->append(inputs[id]), fmt::format("{}/{}", m_topic->name(), id));
  }
  if (m_o.ack) {
    m_acks.clear();
    std::vector<size_t> next(count, 0);
    for (const Pending& p : batch.pending) {
      const AppendedRecord& r = appended[p.partition][next[p.partition]++];
      m_acks += "{\"topic\":";
      append_json_string(m_acks, m_topic->name());
      fmt::format_to(std::back_inserter(m_acks),
                     ",\"partition\":{},\"offset\":{},\"timestamp\":\"{}\",\"hash\":\"{}\"}}\n",
                     p.partition, r.offset, format_timestamp(r.timestamp), to_hex(r.record_hash));
    }
    write_stdout(m_acks);
  }
}

void Producer::flush()
{
  if (m_batch.pending.empty()) {
    return;
  }
  m_writer.submit(m_batch);
  m_batch.arena.clear();
  m_batch.pending.clear();
}

void Producer::finish()
{
  flush();
  m_writer.finish();
}

// True when standard input can be read without blocking, waiting up to
// timeout_ms for it.
bool input_ready(int timeout_ms = 0)
{
  pollfd pfd{STDIN_FILENO, POLLIN, 0};
  int n;
  do {
    n = ::poll(&pfd, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
}

int Producer::run()
{
  constexpr size_t k_read_size = 1 << 20;
  std::string buf;
  size_t len = 0;          // valid bytes in buf
  size_t start = 0;        // first byte of the current (incomplete) line
  size_t scan = 0;         // where to continue looking for a newline
  bool discarding = false; // inside an over-long line already reported
  bool eof = false;
  const size_t limit = m_o.max_record_bytes + 1; // a line may end in \r

  while (!eof) {
    if (buf.size() < len + k_read_size) {
      buf.resize(len + k_read_size);
    }
    // While input is idle, a failure of the writer thread still surfaces.
    while (!input_ready(200)) {
      m_writer.check();
    }
    ssize_t n = ::read(STDIN_FILENO, buf.data() + len, k_read_size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      finish();
      throw Exit(exit_io_err, fmt::format("reading standard input: {}", std::strerror(errno)));
    }
    if (n == 0) {
      eof = true;
    }
    len += static_cast<size_t>(n);
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(buf.data() + scan, '\n', len - scan));
      if (!nl) {
        break;
      }
      const size_t end = static_cast<size_t>(nl - buf.data());
      if (discarding) {
        discarding = false;
      } else if (!handle_line(std::string_view(buf.data() + start, end - start))) {
        finish();
        return exit_data_err;
      }
      start = scan = end + 1;
    }
    scan = len;
    if (!discarding && len - start > limit) {
      // An over-long line: report it now instead of buffering it whole.
      ++m_line;
      if (!report_bad(
            fmt::format("line longer than --max-record-bytes {}", m_o.max_record_bytes))) {
        finish();
        return exit_data_err;
      }
      discarding = true;
    }
    if (discarding) {
      start = len;
    }
    if (eof) {
      if (!discarding && start < len
          && !handle_line(std::string_view(buf.data() + start, len - start))) {
        finish();
        return exit_data_err;
      }
      start = len;
    }
    // Keep only the incomplete line.
    if (start > 0) {
      std::memmove(buf.data(), buf.data() + start, len - start);
      len -= start;
      scan -= start;
      start = 0;
    }
    if (!eof && !m_batch.pending.empty() && !input_ready()) {
      flush();
    }
  }
  finish();
  if (m_skipped > 0) {
    std::fprintf(stderr, "merkql: skipped %llu bad line%s\n",
                 static_cast<unsigned long long>(m_skipped), m_skipped == 1 ? "" : "s");
  }
  return exit_ok;
}

} // namespace

int run_produce(const ProduceOptions& o)
{
  require_name(o.topic, "topic");
  check_key_option(o.key);
  if (o.key_field && o.input != "json") {
    throw Exit(exit_usage, "--key-field needs --input json");
  }
  auto broker = open_broker(*o.global, true);
  // The settings are for a new topic; an existing one (even one another
  // producer creates this instant) is used as it is.
  TopicConfig config;
  config.partitions = o.partitions;
  config.compression = *parse_compression(o.compression);
  config.max_records = o.retention_records;
  Topic* topic = unwrap(broker->topic_or_create(o.topic, config));
  if (o.partition && *o.partition >= topic->partition_count()) {
    throw Exit(exit_usage,
               fmt::format("--partition {}: topic {} has {} partition{}", *o.partition, o.topic,
                           topic->partition_count(), topic->partition_count() == 1 ? "" : "s"));
  }
  Producer producer(o, topic);
  return producer.run();
}

} // namespace merkql::cli
