// merkql: the command-line front end. Declares the global options and the
// subcommands, parses, runs the chosen one and turns failures into exit
// statuses (cli/exit_codes.h).
#include "commands.h"

#include <fmt/format.h>

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

} // namespace

int main(int argc, char** argv)
{
  if (!fill_closed_standard_descriptors()) {
    return exit_io_err; // with no safe place for a message
  }
  CLI::App app{"merkql: append-only topic log with merkle proofs over a plain data directory",
               "merkql"};
  app.set_version_flag("-V,--version", "merkql 0.1.0");
  GlobalOptions global;
  app
    .add_option("-d,--dir", global.dir, "Data directory (default: $MERKQL_DIR, else ./merkql-data)")
    ->check(CLI::Validator(
      [](std::string& dir) -> std::string {
        return dir.empty() ? "the data directory must not be an empty string" : "";
      },
      "", "NOT-EMPTY"));
  app.add_flag("--no-wait", global.no_wait,
               "Fail with exit status 75 instead of waiting for a lock");
  app.require_subcommand(1);

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
    // "merkql bogus" reads better as an unknown command than CLI11's
    // "A subcommand is required".
    std::string message = e.what();
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "-d" || arg == "--dir") {
        ++i;
        continue;
      }
      if (!arg.empty() && arg[0] != '-') {
        auto known = app.get_subcommands([&arg](CLI::App* sub) { return sub->check_name(arg); });
        if (known.empty()) {
          message = "unknown command '" + arg + "'";
        }
        break;
      }
    }
    std::fprintf(stderr, "merkql: error: %s\nRun 'merkql --help' for usage.\n",
                 printable(message).c_str());
    return exit_usage;
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
