// Glue shared by the subcommands: global options (declared on every
// command by add_global_options), opening the data directory, turning
// Status into exits, names and sizes for people. JSON
// output is json_out.h, reading lines and writing output line_io.h (both
// included here for the subcommands).
#pragma once

#include "exit_codes.h"
#include "json_out.h"
#include "line_io.h"

#include <merkql/json_text.h>
#include <merkql/merkql.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace merkql::cli {

struct GlobalOptions {
  std::string dir;          // --dir; empty: $MERKQL_DIR, else ./merkql-data
  bool no_wait = false;     // --no-wait
  bool no_progress = false; // --no-progress
};

// Declares the global options (--dir/-d, --no-wait, --no-progress) on app
// and again, under the heading "Global options", on every command and
// command of a command below it, all writing to global: they are accepted
// before and after the command name, and every --help lists them. main
// calls it once, after every command is declared, so that a new command
// gets them without a line of its own.
void add_global_options(CLI::App& app, GlobalOptions& global);

// The data directory the command works on.
std::string data_dir(const GlobalOptions& global);

// Opens the data directory, creating it with Create::if_missing (only
// produce does); a missing directory gives exit 66. Commands that only look
// (inspect, du, verify-proof) pass Repair::never so that they change
// nothing on disk. A wait for a lock another process holds is announced on
// a terminal (progress.h).
std::shared_ptr<Broker> open_broker(const GlobalOptions& global, Create create,
                                    Repair repair = Repair::on_open);

// Throws Exit with the mapped code when status is not ok.
void check(const Status& status, std::string_view context = {});
template<class T> T unwrap(Result<T> result, std::string_view context = {})
{
  check(result.status(), context);
  return std::move(result).value();
}

// Exit 2 unless name is a valid topic or group name.
void require_name(std::string_view name, std::string_view what);

// text with every byte a terminal could take as a control (C0, DEL, C1,
// bytes of invalid UTF-8) written as \xNN: for echoing input in messages.
std::string printable(std::string_view text);

// An existing topic, or exit 66.
Topic* existing_topic(Broker& broker, const std::string& name);
// The one topic asked for (which must exist), else every topic.
std::vector<std::string> selected_topics(Broker& broker, const std::optional<std::string>& topic);
// An existing partition of an existing topic, or exit 66.
Partition* existing_partition(Broker& broker, const std::string& topic, uint32_t partition);

// "12K", "3.4M" like du -h (powers of 1024).
std::string human_size(uint64_t bytes);

// Splits "a,b,c" at commas.
std::vector<std::string> split_commas(std::string_view text);

// Makes SIGINT and SIGTERM set stop_flag() instead of ending the process
// (without SA_RESTART, so a blocking call returns with EINTR): a command
// that runs until stopped then flushes, commits and exits 0.
void stop_on_signals();
// Set once SIGINT or SIGTERM arrived after stop_on_signals().
const std::atomic<bool>& stop_flag();

} // namespace merkql::cli
