// FileCache: the open files of a broker's partitions. A file is opened on
// first use and kept open for the next; when more are open than the process
// should hold (RLIMIT_NOFILE), the least recently used one that nobody is
// using is closed, as leveldb's TableCache does for tables. So a topic of
// thousands of partitions can be read under `ulimit -n 1024`.
// Thread-safe. A file handed out stays open while the caller holds it.
#pragma once

#include <merkql/env.h>
#include <merkql/status.h>

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace merkql {

enum class Access { read_only, read_write };

class FileCache {
public:
  // capacity: open files to keep at most (0: derived from RLIMIT_NOFILE).
  explicit FileCache(Env* env, size_t capacity = 0);

  // The file at path, opened for access (read_write creates it when create
  // says so). A read_write handle also serves read_only requests.
  Result<std::shared_ptr<File>> get(const std::string& path, Access access,
                                    Create create = Create::no);
  // Drops the handles of path (it was removed, or replaced by another
  // process); holders keep theirs until they let go.
  void forget(const std::string& path);

  // Partitions keep their LOCK open between appends while they may: at
  // most a quarter of capacity() such handles in all, so a writer of
  // thousands of partitions stays within the descriptors it may open.
  // try_keep_lock counts one more (false: none left, close it after use).
  bool try_keep_lock();
  void release_lock();

  size_t capacity() const { return m_capacity; }
  size_t open_files() const;

private:
  struct Entry {
    std::string path;
    Access access;
    std::shared_ptr<File> file;
  };
  using Lru = std::list<Entry>;

  // Closes idle files until at most `keep` are open; under m_mutex.
  void evict_to(size_t keep);

  Env* m_env;
  size_t m_capacity;
  mutable std::mutex m_mutex;
  Lru m_lru; // most recently used first
  size_t m_kept_locks = 0;
  std::unordered_map<std::string, Lru::iterator> m_by_path;
};

} // namespace merkql
