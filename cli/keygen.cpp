// merkql keygen: write an Ed25519 signer key and its verifier key in the
// signed-note text formats (man/merkql-keygen.1, docs/FORMAT.md
// §Checkpoints and signed notes).
#include "commands.h"

#include <merkql/note.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace merkql::cli {

CLI::App* add_keygen(CLI::App& app, KeygenOptions& o)
{
  CLI::App* cmd = app.add_subcommand(
    "keygen", "Generate a key pair for signing checkpoints (PREFIX.key, PREFIX.pub)");
  cmd
    ->add_option("--name", o.name, "Key name, shown in every signature line (e.g. example.com/log)")
    ->required();
  cmd->add_option("--out", o.out, "Write PREFIX.key (signer key, mode 0600) and PREFIX.pub")
    ->required();
  return cmd;
}

namespace {

// Creates path exclusively (never replacing a file) and writes text to it.
void write_new_file(const std::string& path, const std::string& text, mode_t mode)
{
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      throw Exit(exit_io_err, fmt::format("{} already exists; refusing to overwrite a key", path));
    }
    throw Exit(exit_io_err, fmt::format("{}: {}", path, std::strerror(errno)));
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(path.c_str());
      throw Exit(exit_io_err, fmt::format("writing {}: {}", path, std::strerror(error)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int error = errno;
    ::unlink(path.c_str());
    throw Exit(exit_io_err, fmt::format("writing {}: {}", path, std::strerror(error)));
  }
}

} // namespace

int run_keygen(const KeygenOptions& o)
{
  const NoteKeyPair pair = unwrap(generate_note_key(o.name), "--name");
  const std::string key_path = o.out + ".key";
  const std::string pub_path = o.out + ".pub";
  for (const std::string& path : {key_path, pub_path}) {
    if (::access(path.c_str(), F_OK) == 0) {
      throw Exit(exit_io_err, fmt::format("{} already exists; refusing to overwrite a key", path));
    }
  }
  write_new_file(key_path, pair.signer_key + "\n", 0600);
  try {
    write_new_file(pub_path, pair.verifier_key + "\n", 0644);
  } catch (const Exit&) {
    ::unlink(key_path.c_str()); // the key this run created: no half pair left behind
    throw;
  }
  write_stdout(fmt::format("wrote {} (signer key, keep it secret) and {} (verifier key)\n{}\n",
                           key_path, pub_path, pair.verifier_key));
  return exit_ok;
}

} // namespace merkql::cli
