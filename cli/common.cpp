#include "common.h"

#include "progress.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <csignal>
#include <cstdlib>

namespace merkql::cli {

namespace {

void declare_global_options(CLI::App& cmd, GlobalOptions& global, const std::string& group)
{
  // An option of the same name declared by the command itself wins.
  if (!cmd.get_option_no_throw("--dir")) {
    cmd
      .add_option("-d,--dir", global.dir,
                  "Data directory (default: $MERKQL_DIR, else ./merkql-data)")
      ->check(CLI::Validator(
        [](std::string& dir) -> std::string {
          return dir.empty() ? "the data directory must not be an empty string" : "";
        },
        "", "NOT-EMPTY"))
      ->group(group);
  }
  if (!cmd.get_option_no_throw("--no-wait")) {
    cmd
      .add_flag("--no-wait", global.no_wait,
                "Fail with exit status 75 instead of waiting for a lock")
      ->group(group);
  }
  if (!cmd.get_option_no_throw("--no-progress")) {
    cmd
      .add_flag("--no-progress", global.no_progress,
                "Show no progress or lock-wait notice on a terminal")
      ->group(group);
  }
}

void declare_below(CLI::App& cmd, GlobalOptions& global)
{
  for (CLI::App* sub : cmd.get_subcommands([](CLI::App*) { return true; })) {
    // Nameless subcommands are CLI11's option groups, not commands.
    if (sub->get_name().empty()) {
      continue;
    }
    declare_global_options(*sub, global, "Global options");
    declare_below(*sub, global);
  }
}

// The Env of the data directory: on a terminal, one that tells when a lock
// held by another process makes the command wait.
Env* command_env()
{
  if (!progress_enabled()) {
    return Env::posix();
  }
  static const std::unique_ptr<Env> env = notify_lock_waits(Env::posix(), notice_lock_wait);
  return env.get();
}

} // namespace

void add_global_options(CLI::App& app, GlobalOptions& global)
{
  declare_global_options(app, global, "Options");
  declare_below(app, global);
}

std::string data_dir(const GlobalOptions& global)
{
  if (!global.dir.empty()) {
    return global.dir;
  }
  const char* env = std::getenv("MERKQL_DIR");
  if (env && *env) {
    return env;
  }
  return "./merkql-data";
}

std::shared_ptr<Broker> open_broker(const GlobalOptions& global, Create create, Repair repair)
{
  BrokerConfig config;
  config.dir = data_dir(global);
  // A file where the directory should be is an environment problem, not a
  // usage error.
  Env* env = Env::posix();
  if (env->exists(config.dir) && !env->is_dir(config.dir)) {
    throw Exit(exit_io_err, fmt::format("{}: not a directory", config.dir));
  }
  config.create = create;
  config.lock_wait = global.no_wait ? Wait::no : Wait::yes;
  config.auto_create_topics = false;
  config.repair = repair;
  config.env = command_env();
  return unwrap(Broker::open(std::move(config)));
}

void check(const Status& status, std::string_view context)
{
  if (status.is_ok()) {
    return;
  }
  std::string message =
    context.empty() ? status.message() : fmt::format("{}: {}", context, status.message());
  throw Exit(exit_code_for(status.code()), message);
}

void require_name(std::string_view name, std::string_view what)
{
  if (Status s = check_name(name, what); !s.is_ok()) {
    throw Exit(exit_usage, printable(s.message()));
  }
}

std::string printable(std::string_view text)
{
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  auto escape = [&out](unsigned char c) {
    out += "\\x";
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  };
  while (p < end) {
    const unsigned char c = *p;
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
      ++p;
      continue;
    }
    if (c < 0x80) {
      escape(c); // C0 controls and DEL
      ++p;
      continue;
    }
    // A whole valid UTF-8 sequence passes, except the C1 controls U+0080 to
    // U+009F (0xC2 0x80 to 0xC2 0x9F), which terminals also obey.
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (static_cast<size_t>(end - p) >= n && is_valid_utf8({reinterpret_cast<const char*>(p), n})
        && !(c == 0xC2 && p[1] < 0xA0)) {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
      continue;
    }
    escape(c);
    ++p;
  }
  return out;
}

std::vector<std::string> selected_topics(Broker& broker, const std::optional<std::string>& topic)
{
  if (topic) {
    (void)existing_topic(broker, *topic);
    return {*topic};
  }
  return unwrap(broker.topic_names());
}

Topic* existing_topic(Broker& broker, const std::string& name)
{
  require_name(name, "topic");
  return unwrap(broker.topic(name));
}

Partition* existing_partition(Broker& broker, const std::string& topic, uint32_t partition)
{
  Topic* t = existing_topic(broker, topic);
  return unwrap(t->partition(partition));
}

std::string human_size(uint64_t bytes)
{
  static const char* units = "KMGTPE";
  if (bytes < 1024) {
    return std::to_string(bytes);
  }
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  // Like du -h: one decimal below 10, rounded up.
  if (v < 10) {
    double r = std::ceil(v * 10) / 10;
    if (r < 10) {
      return fmt::format("{:.1f}{}", r, units[u]);
    }
    v = r;
  }
  double r = std::ceil(v);
  if (r >= 1024 && u < 5) {
    return fmt::format("1.0{}", units[u + 1]);
  }
  return fmt::format("{:.0f}{}", r, units[u]);
}

std::vector<std::string> split_commas(std::string_view text)
{
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    out.emplace_back(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) {
      return out;
    }
    start = comma + 1;
  }
}

namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_stop_signal(int)
{
  g_stop.store(true);
}

} // namespace

void stop_on_signals()
{
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: let blocking calls return
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

const std::atomic<bool>& stop_flag()
{
  return g_stop;
}

} // namespace merkql::cli
