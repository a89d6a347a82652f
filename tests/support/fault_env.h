// FaultEnv: an Env over the real file system that remembers what has been
// made durable, so a test can simulate power loss (drop_unsynced) or make the
// Nth write, sync or rename fail (fail_after).
//
// Model: a file's durable content is its content at its last sync(), plus
// nothing written after. A file created or renamed into place is durable as
// a directory entry only after sync_dir of its directory. drop_unsynced()
// restores every tracked file to its durable content and deletes files whose
// creation was never made durable.
#pragma once

#include <merkql/env.h>

#include <fmt/format.h>

#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace merkql::test {

class FaultEnv final : public Env {
public:
  struct FileState {
    std::string durable;        // content as of the last sync
    bool durable_known = false; // false: the file existed before tracking began
    bool entry_durable = true;  // directory entry survives a crash
  };

  // Tracked files are read whole whatever their size.
  static constexpr uint64_t k_any_size = std::numeric_limits<uint64_t>::max();

  explicit FaultEnv(Env* base = Env::posix()) : m_base(base) {}

  // Fails every write/sync/rename/remove after `n` more succeed (-1: never).
  void fail_after(int n) { m_fail_after = n; }
  int operations() const { return m_operations; }

  Status maybe_fail(const std::string& what)
  {
    ++m_operations;
    if (m_fail_after == 0) {
      return Status::io_error(fmt::format("injected failure: {}", what));
    }
    if (m_fail_after > 0) {
      --m_fail_after;
    }
    return Status::ok();
  }

  // Simulates power loss for everything this env has touched.
  void drop_unsynced()
  {
    std::lock_guard guard(m_mutex);
    for (auto& [path, state] : m_files) {
      if (!state.entry_durable) {
        (void)m_base->remove(path);
        continue;
      }
      if (!state.durable_known) {
        continue;
      }
      auto file = m_base->open_file(path, Create::if_missing);
      if (file.is_ok()) {
        (void)(*file)->truncate(0);
        (void)(*file)->write_at(0, state.durable);
      }
    }
    m_files.clear();
  }

  FileState& state(const std::string& path)
  {
    auto it = m_files.find(path);
    if (it == m_files.end()) {
      FileState s;
      if (!m_base->exists(path)) {
        s.durable_known = true;
        s.entry_durable = false;
      } else {
        auto content = read_file(m_base, path, k_any_size);
        s.durable = content.is_ok() ? *content : std::string();
        s.durable_known = true;
      }
      it = m_files.emplace(path, std::move(s)).first;
    }
    return it->second;
  }

  Result<std::unique_ptr<File>> open_file(const std::string& path, Create create) override;
  Result<std::unique_ptr<File>> open_read_only(const std::string& path) override
  {
    return m_base->open_read_only(path);
  }
  Status rename(const std::string& from, const std::string& to) override
  {
    MERKQL_TRY(maybe_fail("rename " + from));
    std::lock_guard guard(m_mutex);
    FileState& src = state(from);
    FileState moved = src;
    m_files.erase(from);
    MERKQL_TRY(m_base->rename(from, to));
    FileState& dst = state(to);
    dst.durable = moved.durable;
    dst.durable_known = moved.durable_known;
    dst.entry_durable = false; // until the directory is synced
    m_pending_renames[to] = true;
    return Status::ok();
  }
  Status remove(const std::string& path) override
  {
    MERKQL_TRY(maybe_fail("remove " + path));
    std::lock_guard guard(m_mutex);
    m_files.erase(path);
    return m_base->remove(path);
  }
  Status sync_dir(const std::string& path) override
  {
    MERKQL_TRY(maybe_fail("sync_dir " + path));
    std::lock_guard guard(m_mutex);
    for (auto& [file, s] : m_files) {
      if (file.rfind(path + "/", 0) == 0 && file.find('/', path.size() + 1) == std::string::npos) {
        s.entry_durable = true;
      }
    }
    return m_base->sync_dir(path);
  }
  Status create_dir(const std::string& path) override { return m_base->create_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override
  {
    return m_base->list_dir(path);
  }
  bool exists(const std::string& path) override { return m_base->exists(path); }
  bool is_dir(const std::string& path) override { return m_base->is_dir(path); }
  Result<uint64_t> file_size(const std::string& path) override { return m_base->file_size(path); }
  Result<FileStat> stat(const std::string& path) override { return m_base->stat(path); }
  Result<std::string> canonical_path(const std::string& path) override
  {
    return m_base->canonical_path(path);
  }
  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                              Wait wait) override
  {
    return m_base->lock_file(path, mode, wait);
  }
  Result<std::unique_ptr<ByteLocks>> open_byte_locks(const std::string& path) override
  {
    return m_base->open_byte_locks(path);
  }
  int64_t now_ns() override { return m_base->now_ns(); }
  void sleep_ms(int ms) override { m_base->sleep_ms(ms); }

  Env* base() { return m_base; }
  std::mutex& mutex() { return m_mutex; }

private:
  Env* m_base;
  std::mutex m_mutex;
  std::map<std::string, FileState> m_files;
  std::map<std::string, bool> m_pending_renames;
  int m_fail_after = -1;
  int m_operations = 0;
};

class FaultFile final : public File {
public:
  FaultFile(FaultEnv* env, std::unique_ptr<File> base) : m_env(env), m_base(std::move(base)) {}

  Result<size_t> read_at(uint64_t pos, size_t n, char* out) override
  {
    return m_base->read_at(pos, n, out);
  }
  Status write_at(uint64_t pos, std::string_view data) override
  {
    MERKQL_TRY(m_env->maybe_fail("write " + path()));
    return m_base->write_at(pos, data);
  }
  Status sync() override
  {
    MERKQL_TRY(m_env->maybe_fail("sync " + path()));
    MERKQL_TRY(m_base->sync());
    std::lock_guard guard(m_env->mutex());
    auto content = read_file(m_env->base(), path(), FaultEnv::k_any_size);
    FaultEnv::FileState& s = m_env->state(path());
    s.durable = content.is_ok() ? *content : std::string();
    s.durable_known = true;
    return Status::ok();
  }
  Result<uint64_t> size() override { return m_base->size(); }
  Result<uint64_t> allocated_bytes() override { return m_base->allocated_bytes(); }
  Status truncate(uint64_t size) override
  {
    MERKQL_TRY(m_env->maybe_fail("truncate " + path()));
    return m_base->truncate(size);
  }
  Status preallocate(uint64_t pos, uint64_t len) override { return m_base->preallocate(pos, len); }
  Status trim_preallocation() override { return m_base->trim_preallocation(); }
  const std::string& path() const override { return m_base->path(); }

private:
  FaultEnv* m_env;
  std::unique_ptr<File> m_base;
};

inline Result<std::unique_ptr<File>> FaultEnv::open_file(const std::string& path, Create create)
{
  {
    std::lock_guard guard(m_mutex);
    state(path); // remember whether it existed before
  }
  MERKQL_ASSIGN_OR_RETURN(auto file, m_base->open_file(path, create));
  return std::unique_ptr<File>(new FaultFile(this, std::move(file)));
}

} // namespace merkql::test
