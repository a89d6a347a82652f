// The file layer: every operating-system call merkql makes goes through Env.
// The engine receives an Env* (default: Env::posix()); tests substitute one
// that drops unsynced data or fails the Nth call (tests/support/fault_env.h),
// built, like every Env that changes only some calls, on EnvWrapper.
// Env::posix() is stateless and thread-safe; a File is used by one thread at a
// time; a FileLock excludes other processes and other FileLocks of this one.
//
// Paths given to an Env hold no symbolic link in any component: Env follows
// none (a link met anywhere in a path is an error naming it, and nothing is
// opened, created, truncated, renamed, removed or listed through it), so a
// link planted in a data directory cannot send merkql outside it. The one
// exception is canonical_path(), which resolves the directory the user named
// (whose own path may hold links) once; Broker::open keeps that form. Files
// are regular files only: a FIFO, device, socket or directory where a file is
// expected is an error, and opening one never blocks.
#pragma once

#include <merkql/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace merkql {

// if_missing creates the file when absent; exclusive creates it and fails if
// anything (file, directory, symbolic link) already has the name.
enum class Create { no, if_missing, exclusive };
enum class Wait { no, yes };
enum class LockMode { shared, exclusive };

// What is at a path, the path's last component not followed (lstat).
struct FileStat {
  enum class Type { regular, directory, symlink, other };
  Type type = Type::other;
  uint64_t size = 0;            // st_size
  uint64_t allocated_bytes = 0; // disk blocks held, st_blocks * 512
};

// An open regular file addressed by absolute position (pread/pwrite).
class File {
public:
  virtual ~File() = default;
  // Reads up to n bytes at pos into out; fewer only at end of file.
  virtual Result<size_t> read_at(uint64_t pos, size_t n, char* out) = 0;
  virtual Status write_at(uint64_t pos, std::string_view data) = 0;
  // Makes every byte written so far durable (fdatasync).
  virtual Status sync() = 0;
  virtual Result<uint64_t> size() = 0;
  // Disk space the file holds (st_blocks * 512), reservations included.
  virtual Result<uint64_t> allocated_bytes() = 0;
  virtual Status truncate(uint64_t size) = 0;
  // Sets the file's size to at least pos + len ahead of what is written,
  // reserving the disk for [pos, pos+len) where the file system can
  // (fallocate; else only the size is set, a hole). Bytes added read as zero.
  virtual Status preallocate(uint64_t pos, uint64_t len) = 0;
  // Cuts the file back to `end`, giving back what preallocate set ahead past
  // it, when the first bytes past end (up to 4 KiB) read as zero; else
  // leaves it (something was written there). The file must be open for
  // writing.
  virtual Status trim_preallocation(uint64_t end) = 0;
  virtual const std::string& path() const = 0;

  // Reads exactly n bytes or fails with corruption (short file).
  Status read_exact(uint64_t pos, size_t n, char* out);
};

// An advisory lock on a file, held until destruction.
class FileLock {
public:
  virtual ~FileLock() = default;
};

// A lock file kept open to be locked and unlocked again and again (flock on
// one open file description): a writer that locks once per batch saves the
// open and close of each batch. Locking twice without unlock is an error.
// Destruction releases a lock still held. Used by one thread at a time.
class LockHandle {
public:
  virtual ~LockHandle() = default;
  // Takes the lock; with Wait::no a lock held elsewhere gives Status::busy.
  virtual Status lock(LockMode mode, Wait wait) = 0;
  virtual void unlock() = 0;
};

// A file whose bytes are locked one at a time, each with an
// open-file-description lock (Linux F_OFD_SETLK): one descriptor holds any
// number of them, and they exclude every other handle, in this process or
// another. All are released when the object is destroyed or the process
// dies.
class ByteLocks {
public:
  virtual ~ByteLocks() = default;
  // Locks byte `index` without waiting; false when another handle holds it.
  virtual Result<bool> try_lock(uint64_t index) = 0;
  virtual void unlock(uint64_t index) = 0;
};

class Env {
public:
  virtual ~Env() = default;
  static Env* posix();

  // Opens a regular file for reading and writing (Create::if_missing creates
  // it, Create::exclusive creates it and requires that nothing has the name).
  virtual Result<std::unique_ptr<File>> open_file(const std::string& path, Create create) = 0;
  // Opens a regular file read-only; needs no write access (read-only mounts).
  virtual Result<std::unique_ptr<File>> open_read_only(const std::string& path) = 0;
  // Renames one directory entry (a symbolic link is moved, not followed).
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // Removes one directory entry that is not a directory (a symbolic link is
  // removed itself).
  virtual Status remove(const std::string& path) = 0;
  // Removes one empty directory (not a symbolic link to one).
  virtual Status remove_dir(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status sync_dir(const std::string& path) = 0;
  // Creates one directory level; ok if a directory has the name already
  // (anything else there is an error, also when another process made it).
  virtual Status create_dir(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  // Whether something has the name (a symbolic link counts). A path that
  // cannot be looked at (a link or no permission on the way) counts as
  // existing, so that the caller's next call reports why.
  virtual bool exists(const std::string& path) = 0;
  // A directory, not a symbolic link to one.
  virtual bool is_dir(const std::string& path) = 0;
  // st_size of what has the name, without opening it (lstat).
  virtual Result<uint64_t> file_size(const std::string& path) = 0;
  virtual Result<FileStat> stat(const std::string& path) = 0;
  // Takes an advisory lock on a regular file (created if missing; opened
  // read-only when it exists on a read-only mount). With Wait::no a lock
  // held elsewhere gives Status::busy.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                                      Wait wait) = 0;
  // A handle on the lock file at path for lock_file()'s locks, kept open
  // between them where the Env can (the default opens the file at each
  // lock through lock_file, so an Env that overrides lock_file alone keeps
  // seeing every lock).
  virtual Result<std::unique_ptr<LockHandle>> open_lock(const std::string& path);
  // Opens (creating it if missing) a regular file to lock byte by byte.
  virtual Result<std::unique_ptr<ByteLocks>> open_byte_locks(const std::string& path) = 0;
  // The absolute path with "." and ".." and every symbolic link resolved;
  // the part that does not exist yet is kept as given. The only call that
  // follows links: for the directory the user names, before any other call.
  virtual Result<std::string> canonical_path(const std::string& path) = 0;
  // Wall clock, nanoseconds since the Unix epoch.
  virtual int64_t now_ns() = 0;
  virtual void sleep_ms(int ms) = 0;
};

// An Env that forwards every call to another, its target (which must outlive
// it), as leveldb's EnvWrapper does: an Env that changes a few calls derives
// from it and overrides only those. open_lock is the one call not forwarded:
// it keeps Env's default, which takes each lock through this Env's
// lock_file, so that a wrapper overriding lock_file alone sees every lock; a
// wrapper that changes lock handles overrides open_lock as well. As safe to
// share between threads as its target.
class EnvWrapper : public Env {
public:
  explicit EnvWrapper(Env* target) : m_target(target) {}
  Env* target() const { return m_target; }

  Result<std::unique_ptr<File>> open_file(const std::string& path, Create create) override
  {
    return m_target->open_file(path, create);
  }
  Result<std::unique_ptr<File>> open_read_only(const std::string& path) override
  {
    return m_target->open_read_only(path);
  }
  Status rename(const std::string& from, const std::string& to) override
  {
    return m_target->rename(from, to);
  }
  Status remove(const std::string& path) override { return m_target->remove(path); }
  Status remove_dir(const std::string& path) override { return m_target->remove_dir(path); }
  Status sync_dir(const std::string& path) override { return m_target->sync_dir(path); }
  Status create_dir(const std::string& path) override { return m_target->create_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override
  {
    return m_target->list_dir(path);
  }
  bool exists(const std::string& path) override { return m_target->exists(path); }
  bool is_dir(const std::string& path) override { return m_target->is_dir(path); }
  Result<uint64_t> file_size(const std::string& path) override { return m_target->file_size(path); }
  Result<FileStat> stat(const std::string& path) override { return m_target->stat(path); }
  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                              Wait wait) override
  {
    return m_target->lock_file(path, mode, wait);
  }
  Result<std::unique_ptr<ByteLocks>> open_byte_locks(const std::string& path) override
  {
    return m_target->open_byte_locks(path);
  }
  Result<std::string> canonical_path(const std::string& path) override
  {
    return m_target->canonical_path(path);
  }
  int64_t now_ns() override { return m_target->now_ns(); }
  void sleep_ms(int ms) override { m_target->sleep_ms(ms); }

private:
  Env* m_target;
};

// Reads a whole small file, refusing (corruption, before allocating) one of
// more than max_bytes: every file merkql reads whole has a bounded size.
Result<std::string> read_file(Env* env, const std::string& path, uint64_t max_bytes);

// Creates path and each missing directory above it (mkdir -p); a directory
// made by another process at the same moment is fine.
Status create_dirs(Env* env, const std::string& path);

// An Env that forwards every call to base (which must outlive it), except
// that lock_file() with Wait::yes first tries without waiting and, when
// another process holds the lock, calls on_wait(path) once before it waits.
// For telling a person why a command pauses; the locking is unchanged.
// on_wait may be called from any thread that takes a lock.
std::unique_ptr<Env> notify_lock_waits(Env* base,
                                       std::function<void(const std::string& path)> on_wait);

namespace detail {
// Env::posix() as it works where openat2() is unavailable (Linux before 5.6,
// or refused by a seccomp filter): it walks each path component by component
// with openat(O_NOFOLLOW). For tests of that path.
Env* posix_env_walking_components();
} // namespace detail

} // namespace merkql
