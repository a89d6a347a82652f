// merkql forward: produce a topic's records to a Kafka topic as a consumer
// group, at least once, committing only what Kafka acknowledged
// (man/merkql-forward.1). The work is the library's forward_to_kafka
// (src/merkql/kafka_forwarder.h); this file reads the options, shows
// progress and warnings, and maps the outcome to an exit status.
//
// Two variables of the environment serve the crash tests only:
// MERKQL_FORWARD_CRASH=STEP[:N] sends this process SIGKILL the N-th time
// (default the first) it reaches STEP (produced, delivered, committing,
// committed), and MERKQL_FORWARD_UNSAFE_COMMIT=1 commits records before
// Kafka acknowledges them, which the tests must catch as a loss.
#include "commands.h"
#include "progress.h"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <string_view>

#if MERKQL_WITH_KAFKA
#include <merkql/kafka_forwarder.h>
#endif

namespace merkql::cli {

CLI::App* add_forward(CLI::App& app, ForwardCommandOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand(
    "forward", "Produce a topic's records to Kafka, committing what Kafka acknowledged");
  cmd->add_option("-t,--topic", o.topic, "Topic to forward")->required();
  cmd->add_option("-g,--group", o.group, "Consumer group whose offsets say what was forwarded")
    ->required();
  cmd->add_option("-b,--brokers", o.brokers, "Kafka bootstrap servers, HOST:PORT[,HOST:PORT...]")
    ->required();
  cmd->add_option("--kafka-topic", o.kafka_topic, "Kafka topic to produce to (default: TOPIC)");
  cmd
    ->add_option("--partitioner", o.partitioner,
                 "same: the record's partition number; kafka: Kafka's partitioner over the key")
    ->check(CLI::IsMember({"same", "kafka"}));
  cmd->add_flag("-f,--follow", o.follow,
                "Keep forwarding new records, and keep retrying while Kafka is unreachable");
  cmd->add_option("--max", o.max, "Stop after forwarding this many records")
    ->check(NonNegativeInteger);
  cmd
    ->add_option("--timeout", o.timeout_s,
                 "Seconds to wait for Kafka before giving up, without --follow (default 30)")
    ->check(CLI::PositiveNumber);
  cmd->add_option("-X,--property", o.properties,
                  "A librdkafka property NAME=VALUE (repeatable), e.g. -X linger.ms=20");
  return cmd;
}

#if MERKQL_WITH_KAFKA

namespace {

// MERKQL_FORWARD_CRASH=STEP[:N]: the step and on which arrival to die.
struct CrashPoint {
  std::optional<ForwardStep> step;
  uint64_t at = 1;
  uint64_t seen = 0;
};

CrashPoint crash_point_from_environment()
{
  CrashPoint c;
  const char* text = std::getenv("MERKQL_FORWARD_CRASH");
  if (!text || !*text) {
    return c;
  }
  std::string_view spec(text);
  const size_t colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  static const std::pair<std::string_view, ForwardStep> steps[] = {
    {"produced", ForwardStep::produced},
    {"delivered", ForwardStep::delivered},
    {"committing", ForwardStep::committing},
    {"committed", ForwardStep::committed},
  };
  for (const auto& [n, step] : steps) {
    if (n == name) {
      c.step = step;
    }
  }
  if (!c.step) {
    throw Exit(exit_usage, fmt::format("MERKQL_FORWARD_CRASH: no step named {}", printable(name)));
  }
  if (colon != std::string_view::npos) {
    c.at = std::strtoull(std::string(spec.substr(colon + 1)).c_str(), nullptr, 10);
  }
  return c;
}

} // namespace

int run_forward(const ForwardCommandOptions& o)
{
  require_name(o.topic, "topic");
  require_name(o.group, "group");
  ForwardOptions options;
  options.topic = o.topic;
  options.group = o.group;
  options.brokers = o.brokers;
  options.kafka_topic = o.kafka_topic;
  options.partitioner = o.partitioner == "kafka" ? KafkaPartitioner::kafka : KafkaPartitioner::same;
  options.follow = o.follow;
  options.max_records = o.max;
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  for (const std::string& p : o.properties) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Exit(exit_usage, fmt::format("-X {}: expected NAME=VALUE", printable(p)));
    }
    options.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  if (o.max && *o.max == 0) {
    return exit_ok;
  }
  const char* unsafe = std::getenv("MERKQL_FORWARD_UNSAFE_COMMIT");
  options.commit_before_delivery = unsafe && std::string_view(unsafe) == "1";
  CrashPoint crash = crash_point_from_environment();

  stop_on_signals();
  options.stop = &stop_flag();

  auto broker = open_broker(*o.global, Create::no);
  existing_topic(*broker, o.topic);
  Progress progress("forward");
  uint64_t acknowledged = 0;
  options.on_step = [&](ForwardStep step) {
    if (step == ForwardStep::delivered) {
      progress.update(++acknowledged);
    }
    if (crash.step == step && ++crash.seen == crash.at) {
      std::raise(SIGKILL);
    }
  };
  options.warn = [&](const std::string& message) {
    progress.clear();
    std::fprintf(stderr, "merkql: forward: %s\n", printable(message).c_str());
  };
  auto result = forward_to_kafka(broker, options);
  progress.clear();
  check(result.status());
  const double seconds = std::chrono::duration<double>(result->elapsed).count();
  std::fprintf(stderr, "merkql: forwarded %llu record(s) to Kafka topic %s in %.2f s\n",
               static_cast<unsigned long long>(result->records),
               printable(o.kafka_topic.empty() ? o.topic : o.kafka_topic).c_str(), seconds);
  if (!result->gaps.empty()) {
    uint64_t lost = 0;
    for (const ForwardGap& gap : result->gaps) {
      lost += gap.to - gap.from;
    }
    throw Exit(
      exit_records_lost,
      fmt::format("{} record(s) were removed by retention before they were forwarded", lost));
  }
  return exit_ok;
}

#else

int run_forward(const ForwardCommandOptions&)
{
  throw Exit(exit_unavailable, "this merkql was built without Kafka support (without librdkafka): "
                               "merkql forward is not available");
}

#endif

} // namespace merkql::cli
