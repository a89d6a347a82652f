#include <merkql/file_cache.h>

#include <algorithm>

#include <sys/resource.h>

namespace merkql {

namespace {

// Half the descriptors the process may open, leaving the rest to locks,
// sockets and the caller's own files.
size_t default_capacity()
{
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return 4096;
  }
  return std::clamp<size_t>(static_cast<size_t>(limit.rlim_cur) / 2, 8, 65536);
}

} // namespace

FileCache::FileCache(Env* env, size_t capacity)
  : m_env(env), m_capacity(capacity ? capacity : default_capacity())
{}

Result<std::shared_ptr<File>> FileCache::get(const std::string& path, Access access, Create create)
{
  std::lock_guard guard(m_mutex);
  auto it = m_by_path.find(path);
  if (it != m_by_path.end()) {
    if (access == Access::read_only || it->second->access == Access::read_write) {
      m_lru.splice(m_lru.begin(), m_lru, it->second);
      return it->second->file;
    }
    m_lru.erase(it->second); // upgrade a read-only handle
    m_by_path.erase(it);
  }
  evict_to(m_capacity - 1);
  auto open = [&]() {
    return access == Access::read_write ? m_env->open_file(path, create)
                                        : m_env->open_read_only(path);
  };
  auto opened = open();
  if (!opened.is_ok() && opened.status().is_busy() && !m_lru.empty()) {
    // Out of descriptors (EMFILE): close every idle file, try again.
    evict_to(0);
    opened = open();
  }
  if (!opened.is_ok()) {
    return opened.status();
  }
  std::shared_ptr<File> file(std::move(opened).value());
  m_lru.push_front(Entry{path, access, file});
  m_by_path[path] = m_lru.begin();
  return file;
}

bool FileCache::try_keep_lock()
{
  std::lock_guard guard(m_mutex);
  if (m_kept_locks >= std::max<size_t>(m_capacity / 4, 1)) {
    return false;
  }
  ++m_kept_locks;
  return true;
}

void FileCache::release_lock()
{
  std::lock_guard guard(m_mutex);
  --m_kept_locks;
}

void FileCache::forget(const std::string& path)
{
  std::lock_guard guard(m_mutex);
  auto it = m_by_path.find(path);
  if (it != m_by_path.end()) {
    m_lru.erase(it->second);
    m_by_path.erase(it);
  }
}

size_t FileCache::open_files() const
{
  std::lock_guard guard(m_mutex);
  return m_lru.size();
}

void FileCache::evict_to(size_t keep)
{
  for (auto it = m_lru.end(); m_lru.size() > keep && it != m_lru.begin();) {
    --it;
    if (it->file.use_count() == 1) {
      m_by_path.erase(it->path);
      it = m_lru.erase(it);
    }
  }
}

} // namespace merkql
