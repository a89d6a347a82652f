// merkql produce: append lines of standard input as records (man/merkql-produce.1).
//
// Standard input is read with read(2) into one buffer and split into lines.
// Records accumulate in an arena until --batch of them are pending or input
// has nothing more ready (poll(2) with a zero timeout) or ends; then the batch
// goes to a ProducerPipeline (src/merkql/producer.h), whose writer thread
// appends each partition's share with one fsync and prints the acks, while
// this thread parses the next batch.
#include "commands.h"
#include "produce_line.h"

#include <merkql/record_format.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <poll.h>
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

// Parses lines into a batch and hands full batches to the pipeline, which
// appends them on its writer thread and prints the acks there.
class LineProducer {
public:
  LineProducer(const ProduceOptions& o, std::shared_ptr<Broker> broker, Topic* topic)
    : m_o(o), m_parser(parser_options(o, topic->partition_count())), m_batch(topic->name()),
      m_pipeline(std::move(broker), ack_callback())
  {}

  int run();

private:
  // Returns false when the command must stop (bad line without --skip-bad).
  bool handle_line(std::string_view line);
  bool report_bad(const std::string& reason);
  // Prints one JSON line per record of a durable batch (writer thread).
  ProducerPipeline::AckCallback ack_callback();
  // Hands the records parsed so far to the pipeline.
  void flush();
  // Flushes and waits until every record so far is durable.
  void finish();

  const ProduceOptions& m_o;
  LineParser m_parser;
  ParsedLine m_parsed;
  uint64_t m_line = 0;
  uint64_t m_skipped = 0;
  RecordBatch m_batch;
  std::string m_acks; // used by the writer thread only
  ProducerPipeline m_pipeline;
};

bool LineProducer::report_bad(const std::string& reason)
{
  std::fprintf(stderr, "merkql: stdin line %llu: %s\n", static_cast<unsigned long long>(m_line),
               printable(reason).c_str());
  ++m_skipped;
  return m_o.skip_bad;
}

bool LineProducer::handle_line(std::string_view line)
{
  ++m_line;
  std::string bad = m_parser.parse(line, m_parsed);
  if (!bad.empty()) {
    return report_bad(bad);
  }
  m_batch.add(RecordView{m_parsed.key, m_parsed.value, m_parsed.partition, m_parsed.timestamp,
                         m_parsed.value_is_json});
  if (m_batch.size() >= m_o.batch) {
    flush();
  }
  return true;
}

ProducerPipeline::AckCallback LineProducer::ack_callback()
{
  if (!m_o.ack) {
    return {};
  }
  return [this](const RecordBatch&, std::span<const RecordMetadata> acks) {
    m_acks.clear();
    for (const RecordMetadata& r : acks) {
      m_acks += "{\"topic\":";
      append_json_string(m_acks, r.topic);
      fmt::format_to(std::back_inserter(m_acks),
                     ",\"partition\":{},\"offset\":{},\"timestamp\":\"{}\",\"hash\":\"{}\"}}\n",
                     r.partition, r.offset, format_timestamp(r.timestamp), to_hex(r.record_hash));
    }
    if (!write_all(STDOUT_FILENO, m_acks)) {
      return Status::io_error(fmt::format("writing standard output: {}", std::strerror(errno)));
    }
    return Status::ok();
  };
}

void LineProducer::flush()
{
  check(m_pipeline.submit(m_batch));
}

void LineProducer::finish()
{
  flush();
  check(m_pipeline.finish());
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

int LineProducer::run()
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
      check(m_pipeline.status());
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
    if (!eof && !m_batch.empty() && !input_ready()) {
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
  LineProducer producer(o, broker, topic);
  return producer.run();
}

} // namespace merkql::cli
