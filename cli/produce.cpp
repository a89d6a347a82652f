// merkql produce: append lines of files or standard input as records
// (man/merkql-produce.1).
//
// Each input, in order, is split into lines by a LineReader (line_io.h). Records
// accumulate in a RecordBatch until --batch of them are pending or input
// has nothing more ready or ends; then the batch
// goes to a ProducerPipeline (src/merkql/producer.h), whose writer thread
// appends each partition's share with one fsync and prints the acks, while
// this thread parses the next batch.
#include "commands.h"
#include "produce_line.h"
#include "progress.h"

#include <merkql/options.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <sys/stat.h>
#include <unistd.h>

namespace merkql::cli {

CLI::App* add_produce(CLI::App& app, ProduceOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd =
    app.add_subcommand("produce", "Append records read from files or standard input to a topic");
  cmd->add_option("-t,--topic", o.topic, "Topic to append to")->required();
  cmd->add_option("--input", o.input, "Input format: json, raw or envelope")
    ->check(CLI::IsMember({"json", "raw", "envelope"}));
  auto* key = cmd->add_option("--key", o.key, "Constant key for every record");
  auto* key_field =
    cmd->add_option("--key-field", o.key_field, "Field or JSON pointer holding the key");
  key->excludes(key_field);
  cmd->add_option("--partition", o.partition, "Send every record to this partition")
    ->check(NonNegativeInteger);
  add_topic_settings(cmd, o.settings, "of a new topic");
  cmd->add_option("--batch", o.batch, "Maximum records per batch and fsync (default 10000)")
    ->check(NonNegativeInteger)
    ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 24));
  cmd->add_flag("--ack", o.ack, "Print one JSON line per durable record");
  cmd
    ->add_option("--max-record-bytes", o.max_record_bytes,
                 "Maximum record size in bytes (default 1048576)")
    ->check(NonNegativeInteger)
    ->check(CLI::Range(uint64_t{1}, k_max_record_bytes));
  cmd->add_flag("--skip-bad", o.skip_bad, "Report and skip bad lines");
  cmd->add_option("FILE", o.files, "Files to read in order; - is standard input (the default)");
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
  // open_topic is called once, before the first record goes out: a topic
  // is created only when a valid record is ready for it.
  LineProducer(const ProduceOptions& o, std::shared_ptr<Broker> broker, uint32_t partition_count,
               std::function<void()> open_topic)
    : m_o(o), m_parser(parser_options(o, partition_count)), m_batch(o.topic),
      m_open_topic(std::move(open_topic)), m_pipeline(std::move(broker), ack_callback()),
      // Not while lines are typed on the terminal or acks printed to it.
      m_progress("produce", !is_terminal(STDIN_FILENO) && !(o.ack && is_terminal(STDOUT_FILENO)))
  {}

  // Reads the inputs in order ("-": standard input).
  int run(const std::vector<std::string>& inputs);

private:
  // Reads one input; returns false when the command must stop.
  bool read_input(const std::string& path);
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
  std::string m_source; // the input in messages: "stdin" or its name
  uint64_t m_line = 0;  // of the current input
  uint64_t m_bytes = 0; // of the lines read, from every input
  uint64_t m_skipped = 0;
  RecordBatch m_batch;
  std::function<void()> m_open_topic;
  std::string m_acks; // used by the writer thread only
  RecordJson m_ack_json;
  ProducerPipeline m_pipeline;
  Progress m_progress;
};

bool LineProducer::report_bad(const std::string& reason)
{
  m_progress.clear();
  std::fprintf(stderr, "merkql: %s line %llu: %s\n", m_source.c_str(),
               static_cast<unsigned long long>(m_line), printable(reason).c_str());
  ++m_skipped;
  return m_o.skip_bad;
}

bool LineProducer::handle_line(std::string_view line)
{
  ++m_line;
  m_bytes += line.size() + 1;
  m_progress.update(m_line, m_bytes);
  std::string bad = m_parser.parse(line, m_parsed, Padded::yes);
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
      m_ack_json.append_position(m_acks, r.topic, r.partition, r.offset, r.timestamp,
                                 fmt::format(",\"hash\":\"{}\"", to_hex(r.record_hash)));
      m_acks.push_back('\n');
    }
    if (!write_all(STDOUT_FILENO, m_acks)) {
      return Status::io_error(fmt::format("writing standard output: {}", std::strerror(errno)));
    }
    return Status::ok();
  };
}

void LineProducer::flush()
{
  if (m_open_topic && m_batch.size() > 0) {
    m_open_topic();
    m_open_topic = nullptr;
  }
  check(m_pipeline.submit(m_batch));
}

void LineProducer::finish()
{
  flush();
  check(m_pipeline.finish());
}

bool LineProducer::read_input(const std::string& path)
{
  int fd;
  try {
    fd = open_input(path);
  } catch (const Exit&) {
    finish(); // what the earlier inputs gave is stored and acknowledged
    throw;
  }
  m_source = path == "-" ? "stdin" : printable(path);
  m_line = 0;
  LineReaderOptions options;
  options.max_line_bytes = m_o.max_record_bytes;
  options.read_size = 1 << 20;
  // Idle input: hand over what is parsed, and let a failure of the writer
  // thread surface.
  options.on_idle = [this] {
    flush();
    check(m_pipeline.status());
  };
  LineReader reader(fd, std::move(options));
  struct Closer {
    int fd;
    ~Closer()
    {
      if (fd != STDIN_FILENO) {
        ::close(fd);
      }
    }
  } closer{fd};
  for (;;) {
    std::string_view line;
    const LineReader::Next next = reader.next(line);
    if (next == LineReader::Next::end) {
      return true;
    }
    if (next == LineReader::Next::error) {
      finish();
      throw Exit(exit_io_err,
                 fmt::format("reading {}: {}", input_name(path), std::strerror(reader.error())));
    }
    bool go_on;
    if (next == LineReader::Next::line) {
      go_on = handle_line(line);
    } else {
      ++m_line;
      go_on =
        report_bad(fmt::format("line longer than --max-record-bytes {}", m_o.max_record_bytes));
    }
    if (!go_on) {
      return false;
    }
  }
}

int LineProducer::run(const std::vector<std::string>& inputs)
{
  // A percentage when every input's size is known (regular files).
  uint64_t total = 0;
  for (const std::string& path : inputs) {
    struct stat st {};
    const uint64_t size = path == "-" ? bytes_left_to_read(STDIN_FILENO)
                          : ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)
                            ? static_cast<uint64_t>(st.st_size)
                            : 0;
    if (size == 0) {
      total = 0;
      break;
    }
    total += size;
  }
  m_progress.set_total_bytes(total);
  for (const std::string& path : inputs) {
    if (!read_input(path)) {
      finish();
      return exit_data_err;
    }
  }
  finish();
  m_progress.clear();
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
  // A missing input is reported before anything is stored.
  const std::vector<std::string> inputs = o.files.empty() ? std::vector<std::string>{"-"} : o.files;
  for (const std::string& path : inputs) {
    check_input(path);
  }
  auto broker = open_broker(*o.global, Create::if_missing);
  // The settings are for a new topic; an existing one must have those given
  // (exit 2 naming the first that differs). A new topic is created with
  // the first valid record (even if another producer creates it first,
  // the settings given are checked then).
  auto existing = broker->topic(o.topic);
  if (!existing.is_ok() && !existing.status().is_not_found()) {
    check(existing.status());
  }
  const TopicConfig config = existing.is_ok()
                               ? (*existing)->config()
                               : apply_topic_settings(broker->config().default_topic(), o.settings);
  require_topic_settings(o.topic, config, o.settings);
  if (o.partition && *o.partition >= config.partitions) {
    throw Exit(exit_usage,
               fmt::format("--partition {}: topic {} has {} partition{}", *o.partition, o.topic,
                           config.partitions, config.partitions == 1 ? "" : "s"));
  }
  auto open_topic = [&o, broker, config] {
    Topic* topic = unwrap(broker->topic_or_create(o.topic, config));
    require_topic_settings(o.topic, topic->config(), o.settings);
  };
  LineProducer producer(o, broker, config.partitions, open_topic);
  return producer.run(inputs);
}

} // namespace merkql::cli
