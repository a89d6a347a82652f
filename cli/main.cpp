// merkql: the command-line front end. Declares the global options and the
// subcommands, parses, runs the chosen one and turns failures into exit
// statuses (cli/exit_codes.h).
#include "commands.h"
#include "progress.h"

#include <merkql/version.h>

#include <fmt/format.h>

#include <algorithm>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <fcntl.h>
#include <unistd.h>

using namespace merkql::cli;

namespace {

// Opens /dev/null onto standard input, output or error when one is closed,
// so that the first file merkql opens cannot take its number and receive
// what is written to it. Returns false when that is impossible.
bool fill_closed_standard_descriptors()
{
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) {
      continue;
    }
    // open() returns the lowest free number: fd, as the lower ones are open.
    const int null_fd = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (null_fd != fd) {
      return false;
    }
  }
  return true;
}

// "merkql topic create": the names from the program down to cmd.
std::string command_path(const CLI::App* cmd)
{
  std::string path = cmd->get_name();
  for (const CLI::App* up = cmd->get_parent(); up; up = up->get_parent()) {
    path = up->get_name() + " " + path;
  }
  return path;
}

// The innermost command the line named (app itself when none).
CLI::App* innermost_command(CLI::App* app)
{
  for (;;) {
    std::vector<CLI::App*> parsed = app->get_subcommands();
    if (parsed.empty()) {
      return app;
    }
    app = parsed.front();
  }
}

// Edits (insertions, deletions, substitutions, swaps of neighbours) that
// turn a into b.
size_t edit_distance(std::string_view a, std::string_view b)
{
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
        {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The long option of cmd nearest to name ("--topik": "--topic"), when one
// is near enough to be the one meant; else empty.
std::string nearest_option(const CLI::App* cmd, std::string_view name)
{
  if (name.substr(0, 2) != "--") {
    return {};
  }
  name.remove_prefix(2);
  std::string best;
  size_t best_distance = name.size() < 5 ? 1 : 2;
  for (const CLI::Option* opt : cmd->get_options()) {
    for (const std::string& lname : opt->get_lnames()) {
      const size_t distance = edit_distance(name, lname);
      if (distance <= best_distance && (best.empty() || distance < best_distance)) {
        best = "--" + lname;
        best_distance = distance;
      }
    }
  }
  return best;
}

// What to say of a parse error: an unknown command, then an unknown option,
// are named before anything else CLI11 found (a missing --topic is
// secondary when --topik was given).
std::string usage_message(CLI::App& app, const CLI::ParseError& e, int argc, char** argv,
                          std::string& help_command)
{
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-d" || arg == "--dir") {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] != '-') {
      auto known = app.get_subcommands([&arg](CLI::App* sub) { return sub->check_name(arg); });
      if (known.empty()) {
        return "unknown command '" + arg + "'";
      }
      break;
    }
  }
  CLI::App* cmd = innermost_command(&app);
  help_command = command_path(cmd);
  for (const std::string& arg : app.remaining(true)) {
    if (arg.size() < 2 || arg[0] != '-') {
      continue;
    }
    const std::string name = arg.substr(0, arg.find('='));
    std::string message = "unknown option " + name;
    if (std::string near = nearest_option(cmd, name); !near.empty()) {
      message += " (did you mean " + near + "?)";
    }
    return message;
  }
  return e.what();
}

} // namespace

int main(int argc, char** argv)
{
  if (!fill_closed_standard_descriptors()) {
    return exit_io_err; // with no safe place for a message
  }
  CLI::App app{"merkql: append-only topic log with merkle proofs over a plain data directory",
               "merkql"};
  app.set_version_flag("-V,--version", "merkql " MERKQL_VERSION);
  app.require_subcommand(1);
  GlobalOptions global;

  ProduceOptions produce;
  ConsumeOptions consume;
  CommitOptions commit;
  InspectOptions inspect;
  VerifyProofOptions verify_proof;
  DuOptions du;
  CompactOptions compact;
  TopicOptions topic;
  KeygenOptions keygen;
  CheckpointOptions checkpoint;
  GroupOptions group;
  ForwardCommandOptions forward;
  CLI::App* produce_cmd = add_produce(app, produce, global);
  CLI::App* consume_cmd = add_consume(app, consume, global);
  CLI::App* commit_cmd = add_commit(app, commit, global);
  CLI::App* inspect_cmd = add_inspect(app, inspect, global);
  CLI::App* verify_proof_cmd = add_verify_proof(app, verify_proof, global);
  CLI::App* du_cmd = add_du(app, du, global);
  CLI::App* compact_cmd = add_compact(app, compact, global);
  CLI::App* topic_cmd = add_topic(app, topic, global);
  CLI::App* keygen_cmd = add_keygen(app, keygen);
  CLI::App* checkpoint_cmd = add_checkpoint(app, checkpoint, global);
  CLI::App* group_cmd = add_group(app, group, global);
  CLI::App* forward_cmd = add_forward(app, forward, global);
  // After every command: each one, and each command of a command, takes
  // the global options too.
  add_global_options(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);
    }
    std::string help_command = "merkql";
    const std::string message = usage_message(app, e, argc, argv, help_command);
    std::fprintf(stderr, "merkql: error: %s\nRun '%s --help' for usage.\n",
                 printable(message).c_str(), printable(help_command).c_str());
    return exit_usage;
  }
  if (global.no_progress) {
    disable_progress();
  }

  try {
    if (produce_cmd->parsed()) {
      return run_produce(produce);
    }
    if (consume_cmd->parsed()) {
      return run_consume(consume);
    }
    if (commit_cmd->parsed()) {
      return run_commit(commit);
    }
    if (inspect_cmd->parsed()) {
      return run_inspect(inspect);
    }
    if (verify_proof_cmd->parsed()) {
      return run_verify_proof(verify_proof);
    }
    if (du_cmd->parsed()) {
      return run_du(du);
    }
    if (compact_cmd->parsed()) {
      return run_compact(compact);
    }
    if (topic_cmd->parsed()) {
      return run_topic(topic);
    }
    if (keygen_cmd->parsed()) {
      return run_keygen(keygen);
    }
    if (checkpoint_cmd->parsed()) {
      return run_checkpoint(checkpoint);
    }
    if (group_cmd->parsed()) {
      return run_group(group);
    }
    if (forward_cmd->parsed()) {
      return run_forward(forward);
    }
    std::fprintf(stderr, "merkql: error: no command given\n");
    return exit_usage;
  } catch (const Exit& e) {
    if (*e.what()) {
      std::fprintf(stderr, "merkql: error: %s\n", printable(e.what()).c_str());
    }
    return e.code();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "merkql: error: out of memory\n");
    return exit_io_err;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "merkql: error: %s\n", printable(e.what()).c_str());
    return exit_io_err;
  }
}
