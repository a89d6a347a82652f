// What is built on Env alone, for every implementation: exact reads, whole
// small files, directory trees, the lock-wait notifying EnvWrapper. No
// operating-system call here (those are in env_posix.cc and
// env_posix_path.cc), as leveldb keeps its env.cc helpers apart from
// env_posix.cc.
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

namespace {

// A held lock file of LockWaitNotifyingEnv: tells of a wait as lock_file does.
class NotifyingLockHandle final : public LockHandle {
public:
  NotifyingLockHandle(std::unique_ptr<LockHandle> base, std::string path,
                      const std::function<void(const std::string&)>& on_wait)
    : m_base(std::move(base)), m_path(std::move(path)), m_on_wait(on_wait)
  {}

  Status lock(LockMode mode, Wait wait) override
  {
    if (wait == Wait::yes) {
      Status tried = m_base->lock(mode, Wait::no);
      if (!tried.is_busy()) {
        return tried;
      }
      m_on_wait(m_path);
    }
    return m_base->lock(mode, wait);
  }
  void unlock() override { m_base->unlock(); }

private:
  std::unique_ptr<LockHandle> m_base;
  std::string m_path;
  const std::function<void(const std::string&)>& m_on_wait; // the Env's, which outlives it
};

class LockWaitNotifyingEnv final : public EnvWrapper {
public:
  LockWaitNotifyingEnv(Env* base, std::function<void(const std::string&)> on_wait)
    : EnvWrapper(base), m_on_wait(std::move(on_wait))
  {}

  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                              Wait wait) override
  {
    if (wait == Wait::yes) {
      auto lock = target()->lock_file(path, mode, Wait::no);
      if (!lock.status().is_busy()) {
        return lock;
      }
      m_on_wait(path);
    }
    return target()->lock_file(path, mode, wait);
  }

  Result<std::unique_ptr<LockHandle>> open_lock(const std::string& path) override
  {
    MERKQL_ASSIGN_OR_RETURN(auto base, target()->open_lock(path));
    return std::unique_ptr<LockHandle>(new NotifyingLockHandle(std::move(base), path, m_on_wait));
  }

private:
  std::function<void(const std::string&)> m_on_wait;
};

} // namespace

namespace {

// Env::open_lock for an Env that has only lock_file: each lock opens the
// file anew.
class RelockingHandle final : public LockHandle {
public:
  RelockingHandle(Env* env, std::string path) : m_env(env), m_path(std::move(path)) {}

  Status lock(LockMode mode, Wait wait) override
  {
    MERKQL_ASSIGN_OR_RETURN(m_held, m_env->lock_file(m_path, mode, wait));
    return Status::ok();
  }
  void unlock() override { m_held.reset(); }

private:
  Env* m_env;
  std::string m_path;
  std::unique_ptr<FileLock> m_held;
};

} // namespace

Result<std::unique_ptr<LockHandle>> Env::open_lock(const std::string& path)
{
  return std::unique_ptr<LockHandle>(new RelockingHandle(this, path));
}

std::unique_ptr<Env> notify_lock_waits(Env* base,
                                       std::function<void(const std::string& path)> on_wait)
{
  return std::make_unique<LockWaitNotifyingEnv>(base, std::move(on_wait));
}

} // namespace merkql
