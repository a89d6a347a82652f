// What is built on Env alone, for every implementation: exact reads, whole
// small files, directory trees. No operating-system call here (those are in
// env_posix.cc), as leveldb keeps its env.cc helpers apart from env_posix.cc.
#include <merkql/env.h>

#include <fmt/format.h>

namespace merkql {

Status File::read_exact(uint64_t pos, size_t n, char* out)
{
  MERKQL_ASSIGN_OR_RETURN(size_t got, read_at(pos, n, out));
  if (got != n) {
    return Status::corruption(
      fmt::format("{}: expected {} bytes at position {}, file ends after {}", path(), n, pos, got));
  }
  return Status::ok();
}

Result<std::string> read_file(Env* env, const std::string& path, uint64_t max_bytes)
{
  MERKQL_ASSIGN_OR_RETURN(auto file, env->open_read_only(path));
  MERKQL_ASSIGN_OR_RETURN(uint64_t size, file->size());
  if (size > max_bytes) {
    return Status::corruption(fmt::format(
      "{}: {} bytes, larger than such a file can be (at most {})", path, size, max_bytes));
  }
  std::string data(size, '\0');
  MERKQL_ASSIGN_OR_RETURN(size_t got, file->read_at(0, size, data.data()));
  data.resize(got);
  return data;
}

Status create_dirs(Env* env, const std::string& path)
{
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    const std::string prefix = path.substr(0, end);
    // Existing levels are only looked at: mkdir() of an existing directory
    // fails with EROFS on a read-only mount.
    if (!prefix.empty() && !env->is_dir(prefix)) {
      MERKQL_TRY(env->create_dir(prefix));
    }
    if (end == std::string::npos) {
      return Status::ok();
    }
  }
}

} // namespace merkql
