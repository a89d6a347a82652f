// FaultEnv: an Env over the real file system that remembers what has been
// made durable, so a test can simulate power loss (drop_unsynced) or make a
// chosen call fail with a chosen errno (fail_after, fail_at).
//
// Model: a file's durable content is its content at its last sync(), plus
// nothing written after. A directory entry (a file or directory created, a
// file renamed into place, removed, or renamed away) is durable only after
// sync_dir of its directory. drop_unsynced() restores every tracked file to
// its durable content, deletes files and directories whose creation was
// never made durable, and brings back files whose removal or replacement
// was never made durable (with their durable content).
//
// Faults: every call of the kinds in count_calls() (default: the mutating
// ones, write sync truncate rename remove sync_dir) is numbered from 1.
// fail_at(n, err) makes call n fail with err (and, with a mask, every later
// call of those kinds: a disk that stays full); fail_after(n) makes every
// counted call after the next n fail with EIO (a dead device).
//
// An EnvWrapper over its base: the calls it neither numbers nor tracks
// (exists, is_dir, canonical_path, the clock) pass through, and open_lock
// keeps Env's default, so each lock a handle takes goes through lock_file
// and is numbered. The model is kept under a mutex and the count is atomic;
// the fault settings are made before the calls they concern start.
#pragma once

#include <merkql/env.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace merkql::test {

// The kinds of calls a FaultEnv numbers and can fail (a bit mask).
enum FaultCall : unsigned {
  fault_open = 1u << 0, // open_file, open_read_only
  fault_read = 1u << 1,
  fault_write = 1u << 2,
  fault_sync = 1u << 3,
  fault_truncate = 1u << 4,
  fault_preallocate = 1u << 5,
  fault_stat = 1u << 6, // File::size, Env::file_size
  fault_rename = 1u << 7,
  fault_remove = 1u << 8,
  fault_sync_dir = 1u << 9,
  fault_create_dir = 1u << 10,
  fault_list_dir = 1u << 11,
  fault_lock = 1u << 12,
};
constexpr unsigned k_fault_mutating_calls =
  fault_write | fault_sync | fault_truncate | fault_rename | fault_remove | fault_sync_dir;
constexpr unsigned k_fault_all_calls = (1u << 13) - 1;
// The calls a full disk keeps failing (removing and truncating still work).
constexpr unsigned k_fault_space_calls = fault_open | fault_write | fault_sync | fault_preallocate
                                         | fault_rename | fault_create_dir | fault_lock;

inline const char* fault_call_name(unsigned kind)
{
  switch (kind) {
  case fault_open:
    return "open";
  case fault_read:
    return "read";
  case fault_write:
    return "write";
  case fault_sync:
    return "sync";
  case fault_truncate:
    return "truncate";
  case fault_preallocate:
    return "preallocate";
  case fault_stat:
    return "stat";
  case fault_rename:
    return "rename";
  case fault_remove:
    return "remove";
  case fault_sync_dir:
    return "sync_dir";
  case fault_create_dir:
    return "create_dir";
  case fault_list_dir:
    return "list_dir";
  case fault_lock:
    return "lock";
  default:
    return "?";
  }
}

class FaultEnv final : public EnvWrapper {
public:
  struct FileState {
    std::string durable;        // content as of the last sync
    bool durable_known = false; // false: the file existed before tracking began
    bool entry_durable = true;  // directory entry survives a crash
  };

  // Tracked files are read whole whatever their size.
  static constexpr uint64_t k_any_size = std::numeric_limits<uint64_t>::max();

  // The call a fault was injected into.
  struct Injected {
    uint64_t call = 0;
    unsigned kind = 0;
    std::string path;
    int err = 0;
  };

  explicit FaultEnv(Env* base = Env::posix()) : EnvWrapper(base) {}

  // Fails every counted call after `n` more succeed (-1: never), with EIO.
  void fail_after(int n)
  {
    m_fail_after = n;
    m_fail_err = EIO;
  }
  // Counted calls so far (of the kinds in count_calls()).
  int operations() const { return static_cast<int>(m_operations.load()); }
  // Which kinds of calls are numbered (and can fail); a FaultCall mask.
  void count_calls(unsigned mask) { m_mask = mask; }
  // Makes counted call number n (from 1) fail with err (EIO, ENOSPC…), and
  // every later call of the kinds in `then` (a FaultCall mask) too.
  void fail_at(uint64_t n, int err, unsigned then = 0)
  {
    m_fail_at = n;
    m_fail_err = err;
    m_fail_then = then;
  }
  // The call a fault went into, if one did.
  std::optional<Injected> injected() const
  {
    std::lock_guard guard(m_mutex);
    return m_injected;
  }
  // Skips the real fsync and directory sync (the model tracks durability,
  // so sweeps that only use drop_unsynced need not pay for the disk).
  void skip_real_sync(bool skip) { m_skip_real_sync = skip; }

  Status maybe_fail(const std::string& what) { return check(fault_write, "", what); }

  // Numbers a call of `kind` on `path`; fails it if it is the chosen one.
  Status check(unsigned kind, const std::string& path, const std::string& what = {})
  {
    if ((m_mask & kind) == 0) {
      return Status::ok();
    }
    const uint64_t n = ++m_operations;
    int err = 0;
    if (m_fail_after == 0) {
      err = m_fail_err;
    } else if (m_fail_after > 0) {
      --m_fail_after;
    }
    if (m_fail_at != 0 && (n == m_fail_at || (n > m_fail_at && (m_fail_then & kind) != 0))) {
      err = m_fail_err;
    }
    if (err == 0) {
      return Status::ok();
    }
    {
      std::lock_guard guard(m_mutex);
      if (!m_injected) {
        m_injected = Injected{n, kind, path, err};
      }
    }
    return Status::io_error(fmt::format("injected failure: {} {}: {}",
                                        what.empty() ? fault_call_name(kind) : what, path,
                                        std::strerror(err)));
  }

  // Simulates power loss for everything this env has touched.
  void drop_unsynced()
  {
    std::lock_guard guard(m_mutex);
    for (auto& [path, state] : m_files) {
      if (!state.entry_durable) {
        (void)target()->remove(path);
        continue;
      }
      if (!state.durable_known) {
        continue;
      }
      restore(path, state.durable);
    }
    for (auto& [path, content] : m_lost_entries) {
      restore(path, content);
    }
    for (const std::string& dir : m_new_dirs) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
    m_files.clear();
    m_lost_entries.clear();
    m_new_dirs.clear();
  }

  FileState& state(const std::string& path)
  {
    auto it = m_files.find(path);
    if (it == m_files.end()) {
      FileState s;
      if (!target()->exists(path)) {
        s.durable_known = true;
        s.entry_durable = false;
      } else {
        auto content = read_file(target(), path, k_any_size);
        s.durable = content.is_ok() ? *content : std::string();
        s.durable_known = true;
      }
      it = m_files.emplace(path, std::move(s)).first;
    }
    return it->second;
  }

  Result<std::unique_ptr<File>> open_file(const std::string& path, Create create) override;
  Result<std::unique_ptr<File>> open_read_only(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override
  {
    MERKQL_TRY(check(fault_rename, from, "rename to " + to));
    std::lock_guard guard(m_mutex);
    FileState moved = state(from);
    m_files.erase(from);
    if (moved.entry_durable && moved.durable_known) {
      m_lost_entries.emplace(from, moved.durable); // back after a crash
    }
    FileState& old = state(to);
    if (old.entry_durable && old.durable_known) {
      m_lost_entries.emplace(to, old.durable); // the replaced file is back after a crash
    }
    MERKQL_TRY(target()->rename(from, to));
    FileState& dst = m_files[to];
    dst.durable = moved.durable;
    dst.durable_known = moved.durable_known;
    dst.entry_durable = false; // until the directory is synced
    return Status::ok();
  }
  Status remove(const std::string& path) override
  {
    MERKQL_TRY(check(fault_remove, path));
    std::lock_guard guard(m_mutex);
    if (target()->exists(path)) {
      FileState& s = state(path);
      if (s.entry_durable && s.durable_known) {
        m_lost_entries.emplace(path, s.durable); // back after a crash
      }
    }
    m_files.erase(path);
    return target()->remove(path);
  }
  Status remove_dir(const std::string& path) override
  {
    MERKQL_TRY(check(fault_remove, path));
    return target()->remove_dir(path);
  }
  Status sync_dir(const std::string& path) override
  {
    MERKQL_TRY(check(fault_sync_dir, path));
    std::lock_guard guard(m_mutex);
    auto in_dir = [&](const std::string& p) {
      return p.rfind(path + "/", 0) == 0 && p.find('/', path.size() + 1) == std::string::npos;
    };
    for (auto& [file, s] : m_files) {
      if (in_dir(file)) {
        s.entry_durable = true;
      }
    }
    std::erase_if(m_lost_entries, [&](const auto& entry) { return in_dir(entry.first); });
    std::erase_if(m_new_dirs, in_dir);
    return m_skip_real_sync ? Status::ok() : target()->sync_dir(path);
  }
  Status create_dir(const std::string& path) override
  {
    MERKQL_TRY(check(fault_create_dir, path));
    std::lock_guard guard(m_mutex);
    const bool existed = target()->exists(path);
    MERKQL_TRY(target()->create_dir(path));
    if (!existed) {
      m_new_dirs.insert(path); // gone after a crash until its parent is synced
    }
    return Status::ok();
  }
  Result<std::vector<std::string>> list_dir(const std::string& path) override
  {
    MERKQL_TRY(check(fault_list_dir, path));
    return target()->list_dir(path);
  }
  Result<uint64_t> file_size(const std::string& path) override
  {
    MERKQL_TRY(check(fault_stat, path));
    return target()->file_size(path);
  }
  Result<FileStat> stat(const std::string& path) override
  {
    MERKQL_TRY(check(fault_stat, path));
    return target()->stat(path);
  }
  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                              Wait wait) override
  {
    MERKQL_TRY(check(fault_lock, path));
    {
      std::lock_guard guard(m_mutex);
      state(path); // a lock file it creates is not durable until its directory is synced
    }
    return target()->lock_file(path, mode, wait);
  }
  Result<std::unique_ptr<ByteLocks>> open_byte_locks(const std::string& path) override
  {
    MERKQL_TRY(check(fault_lock, path));
    {
      std::lock_guard guard(m_mutex);
      state(path);
    }
    return target()->open_byte_locks(path);
  }
  std::mutex& mutex() { return m_mutex; }
  bool skips_real_sync() const { return m_skip_real_sync; }

private:
  void restore(const std::string& path, const std::string& content)
  {
    auto file = target()->open_file(path, Create::if_missing);
    if (file.is_ok()) {
      (void)(*file)->truncate(0);
      (void)(*file)->write_at(0, content);
    }
  }

  mutable std::mutex m_mutex;
  std::map<std::string, FileState> m_files;
  std::map<std::string, std::string> m_lost_entries; // removed or replaced, not yet durable
  std::set<std::string> m_new_dirs;                  // created, entry not yet durable
  std::optional<Injected> m_injected;
  std::atomic<uint64_t> m_operations{0};
  unsigned m_mask = k_fault_mutating_calls;
  int m_fail_after = -1;
  uint64_t m_fail_at = 0;
  unsigned m_fail_then = 0;
  int m_fail_err = EIO;
  bool m_skip_real_sync = false;
};

class FaultFile final : public File {
public:
  FaultFile(FaultEnv* env, std::unique_ptr<File> base) : m_env(env), m_base(std::move(base)) {}

  Result<size_t> read_at(uint64_t pos, size_t n, char* out) override
  {
    MERKQL_TRY(m_env->check(fault_read, path()));
    return m_base->read_at(pos, n, out);
  }
  Status write_at(uint64_t pos, std::string_view data) override
  {
    MERKQL_TRY(m_env->check(fault_write, path()));
    return m_base->write_at(pos, data);
  }
  Status sync() override
  {
    MERKQL_TRY(m_env->check(fault_sync, path()));
    if (!m_env->skips_real_sync()) {
      MERKQL_TRY(m_base->sync());
    }
    std::lock_guard guard(m_env->mutex());
    auto content = read_file(m_env->target(), path(), FaultEnv::k_any_size);
    FaultEnv::FileState& s = m_env->state(path());
    s.durable = content.is_ok() ? *content : std::string();
    s.durable_known = true;
    return Status::ok();
  }
  Result<uint64_t> size() override
  {
    MERKQL_TRY(m_env->check(fault_stat, path()));
    return m_base->size();
  }
  Result<uint64_t> allocated_bytes() override { return m_base->allocated_bytes(); }
  Status truncate(uint64_t size) override
  {
    MERKQL_TRY(m_env->check(fault_truncate, path()));
    return m_base->truncate(size);
  }
  Status preallocate(uint64_t pos, uint64_t len) override
  {
    MERKQL_TRY(m_env->check(fault_preallocate, path()));
    return m_base->preallocate(pos, len);
  }
  Status trim_preallocation(uint64_t end) override
  {
    MERKQL_TRY(m_env->check(fault_preallocate, path()));
    return m_base->trim_preallocation(end);
  }
  const std::string& path() const override { return m_base->path(); }

private:
  FaultEnv* m_env;
  std::unique_ptr<File> m_base;
};

inline Result<std::unique_ptr<File>> FaultEnv::open_file(const std::string& path, Create create)
{
  MERKQL_TRY(check(fault_open, path));
  {
    std::lock_guard guard(m_mutex);
    state(path); // remember whether it existed before
  }
  MERKQL_ASSIGN_OR_RETURN(auto file, target()->open_file(path, create));
  return std::unique_ptr<File>(new FaultFile(this, std::move(file)));
}

inline Result<std::unique_ptr<File>> FaultEnv::open_read_only(const std::string& path)
{
  MERKQL_TRY(check(fault_open, path));
  MERKQL_ASSIGN_OR_RETURN(auto file, target()->open_read_only(path));
  return std::unique_ptr<File>(new FaultFile(this, std::move(file)));
}

} // namespace merkql::test
