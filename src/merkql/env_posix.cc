// Env::posix(): the files, locks and Env calls over the operating system.
// How a path is opened (no symbolic link followed, regular files only, see
// env.h) is in env_posix_path.cc; env_posix.h declares what the two share.
// These two are the only files that talk to the operating system. Thread
// safety as env.h states it: the Env is stateless, a File or lock handle is
// used by one thread at a time.
#include "env_posix.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace merkql {

using env_posix::errno_status;
using env_posix::Fd;
using env_posix::open_error;
using env_posix::PathOpener;
using env_posix::symlink_status;

namespace {

FileStat to_file_stat(const struct stat& st)
{
  FileStat out;
  out.type = S_ISREG(st.st_mode)   ? FileStat::Type::regular
             : S_ISDIR(st.st_mode) ? FileStat::Type::directory
             : S_ISLNK(st.st_mode) ? FileStat::Type::symlink
                                   : FileStat::Type::other;
  out.size = static_cast<uint64_t>(st.st_size);
  out.allocated_bytes = static_cast<uint64_t>(st.st_blocks) * 512;
  return out;
}

class PosixFile final : public File {
public:
  PosixFile(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
  ~PosixFile() override { ::close(m_fd); }

  Result<size_t> read_at(uint64_t pos, size_t n, char* out) override
  {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(m_fd, out + done, n - done, static_cast<off_t>(pos + done));
      if (r < 0) {
        if (errno == EINTR) {
          continue;
        }
        return errno_status("read", m_path, errno);
      }
      if (r == 0) {
        break;
      }
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Status write_at(uint64_t pos, std::string_view data) override
  {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t r =
        ::pwrite(m_fd, data.data() + done, data.size() - done, static_cast<off_t>(pos + done));
      if (r < 0) {
        if (errno == EINTR) {
          continue;
        }
        return errno_status("write", m_path, errno);
      }
      done += static_cast<size_t>(r);
    }
    return Status::ok();
  }

  Status sync() override
  {
    if (::fdatasync(m_fd) != 0) {
      return errno_status("sync", m_path, errno);
    }
    return Status::ok();
  }

  Result<uint64_t> size() override
  {
    struct stat st;
    if (::fstat(m_fd, &st) != 0) {
      return errno_status("stat", m_path, errno);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  Result<uint64_t> allocated_bytes() override
  {
    struct stat st;
    if (::fstat(m_fd, &st) != 0) {
      return errno_status("stat", m_path, errno);
    }
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  Status truncate(uint64_t size) override
  {
    if (::ftruncate(m_fd, static_cast<off_t>(size)) != 0) {
      return errno_status("truncate", m_path, errno);
    }
    return Status::ok();
  }

  Status preallocate(uint64_t pos, uint64_t len) override
  {
    // Mode 0 reserves the blocks (as unwritten extents) and sets the size
    // in one call; where the file system cannot, ftruncate sets the size.
    int r = ::fallocate(m_fd, 0, static_cast<off_t>(pos), static_cast<off_t>(len));
    if (r != 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {
      MERKQL_ASSIGN_OR_RETURN(uint64_t now, size());
      return now >= pos + len ? Status::ok() : truncate(pos + len);
    }
    if (r != 0) {
      return errno_status("preallocate", m_path, errno);
    }
    return Status::ok();
  }

  // ftruncate() frees the blocks past the new end, the ones fallocate
  // reserved included.
  Status trim_preallocation(uint64_t end) override
  {
    char buf[4096];
    ssize_t got;
    do {
      got = ::pread(m_fd, buf, sizeof buf, static_cast<off_t>(end));
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      return errno_status("read", m_path, errno);
    }
    if (!std::all_of(buf, buf + got, [](char c) { return c == 0; })) {
      return Status::ok(); // written past end: not what preallocate set ahead
    }
    MERKQL_ASSIGN_OR_RETURN(uint64_t now, size());
    return now > end ? truncate(end) : Status::ok();
  }

  const std::string& path() const override { return m_path; }

private:
  int m_fd;
  std::string m_path;
};

// A lock file held open (open_lock), or one lock on it (lock_file).
class PosixLockHandle final : public LockHandle, public FileLock {
public:
  PosixLockHandle(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
  ~PosixLockHandle() override { ::close(m_fd); } // closing the descriptor releases the flock

  Status lock(LockMode mode, Wait wait) override
  {
    int op = (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | (wait == Wait::no ? LOCK_NB : 0);
    while (::flock(m_fd, op) != 0) {
      int err = errno;
      if (err == EINTR) {
        continue;
      }
      if (err == EWOULDBLOCK) {
        return Status::busy(fmt::format("{} is locked by another process", m_path));
      }
      return errno_status("lock", m_path, err);
    }
    return Status::ok();
  }
  void unlock() override { (void)::flock(m_fd, LOCK_UN); }

private:
  int m_fd;
  std::string m_path;
};

class PosixByteLocks final : public ByteLocks {
public:
  PosixByteLocks(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
  ~PosixByteLocks() override { ::close(m_fd); } // releases every byte's lock

  Result<bool> try_lock(uint64_t index) override
  {
    struct flock range {};
    range.l_type = F_WRLCK;
    range.l_whence = SEEK_SET;
    range.l_start = static_cast<off_t>(index);
    range.l_len = 1;
    while (::fcntl(m_fd, F_OFD_SETLK, &range) != 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EACCES) {
        return false;
      }
      return errno_status("lock a byte of", m_path, errno);
    }
    return true;
  }

  void unlock(uint64_t index) override
  {
    struct flock range {};
    range.l_type = F_UNLCK;
    range.l_whence = SEEK_SET;
    range.l_start = static_cast<off_t>(index);
    range.l_len = 1;
    (void)::fcntl(m_fd, F_OFD_SETLK, &range);
  }

private:
  int m_fd;
  std::string m_path;
};

class PosixEnv final : public Env {
public:
  explicit PosixEnv(bool use_openat2) : m_paths(use_openat2) {}

  Result<std::unique_ptr<File>> open_file(const std::string& path, Create create) override
  {
    int flags = O_RDWR;
    if (create == Create::if_missing) {
      flags |= O_CREAT;
    } else if (create == Create::exclusive) {
      flags |= O_CREAT | O_EXCL;
    }
    MERKQL_ASSIGN_OR_RETURN(Fd fd, m_paths.open_regular(path, flags, "open"));
    return std::unique_ptr<File>(new PosixFile(fd.release(), path));
  }

  Result<std::unique_ptr<File>> open_read_only(const std::string& path) override
  {
    MERKQL_ASSIGN_OR_RETURN(Fd fd, m_paths.open_regular(path, O_RDONLY, "open"));
    return std::unique_ptr<File>(new PosixFile(fd.release(), path));
  }

  Status rename(const std::string& from, const std::string& to) override
  {
    std::string from_name;
    std::string to_name;
    MERKQL_ASSIGN_OR_RETURN(Fd from_dir, m_paths.open_parent(from, &from_name, "rename"));
    MERKQL_ASSIGN_OR_RETURN(Fd to_dir, m_paths.open_parent(to, &to_name, "rename"));
    if (::renameat(from_dir.get(), from_name.c_str(), to_dir.get(), to_name.c_str()) != 0) {
      return Status::io_error(
        fmt::format("failed to rename {} to {}: {}", from, to, std::strerror(errno)));
    }
    return Status::ok();
  }

  Status remove(const std::string& path) override { return unlink_entry(path, 0, "remove"); }
  Status remove_dir(const std::string& path) override
  {
    return unlink_entry(path, AT_REMOVEDIR, "remove directory");
  }
  // remove and remove_dir: unlinkat(2) with flags.
  Status unlink_entry(const std::string& path, int flags, const char* what)
  {
    std::string name;
    MERKQL_ASSIGN_OR_RETURN(Fd dir, m_paths.open_parent(path, &name, what));
    if (::unlinkat(dir.get(), name.c_str(), flags) != 0) {
      return errno_status(what, path, errno);
    }
    return Status::ok();
  }

  Status sync_dir(const std::string& path) override
  {
    int fd = m_paths.open_nofollow(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
      return open_error("open directory", path, errno);
    }
    Fd dir(fd);
    if (::fsync(dir.get()) != 0) {
      return errno_status("sync directory", path, errno);
    }
    return Status::ok();
  }

  Status create_dir(const std::string& path) override
  {
    std::string name;
    MERKQL_ASSIGN_OR_RETURN(Fd dir, m_paths.open_parent(path, &name, "create directory"));
    if (::mkdirat(dir.get(), name.c_str(), 0755) == 0) {
      return Status::ok();
    }
    const int err = errno;
    // EEXIST, but also EROFS or EACCES for a directory that exists: what
    // counts is what has the name now (another process may have made it).
    struct stat st;
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode)) {
        return Status::ok();
      }
      if (S_ISLNK(st.st_mode)) {
        return symlink_status("create directory", path);
      }
      return Status::io_error(fmt::format("{}: not a directory", path));
    }
    return errno_status("create directory", path, err);
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) override
  {
    int fd = m_paths.open_nofollow(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
      return open_error("list directory", path, errno);
    }
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
      int err = errno;
      ::close(fd);
      return errno_status("list directory", path, err);
    }
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(dir);
      if (!entry) {
        break;
      }
      std::string name = entry->d_name;
      if (name != "." && name != "..") {
        names.push_back(std::move(name));
      }
    }
    const int err = errno;
    ::closedir(dir);
    if (err != 0) {
      return errno_status("list directory", path, err);
    }
    return names;
  }

  bool exists(const std::string& path) override
  {
    int fd = m_paths.open_nofollow(path, O_PATH, 0);
    if (fd < 0) {
      return errno != ENOENT && errno != ENOTDIR;
    }
    ::close(fd);
    return true;
  }

  bool is_dir(const std::string& path) override
  {
    auto st = stat(path);
    return st.is_ok() && st->type == FileStat::Type::directory;
  }

  Result<uint64_t> file_size(const std::string& path) override
  {
    MERKQL_ASSIGN_OR_RETURN(FileStat st, stat(path));
    return st.size;
  }

  Result<FileStat> stat(const std::string& path) override
  {
    // O_PATH | O_NOFOLLOW gives a descriptor of a last component that is a
    // symbolic link itself, so fstat reports the link (lstat semantics).
    int fd = m_paths.open_nofollow(path, O_PATH, 0);
    if (fd < 0) {
      return open_error("stat", path, errno);
    }
    Fd owned(fd);
    struct stat st;
    if (::fstat(owned.get(), &st) != 0) {
      return errno_status("stat", path, errno);
    }
    return to_file_stat(st);
  }

  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                              Wait wait) override
  {
    MERKQL_ASSIGN_OR_RETURN(Fd owned, open_lock_fd(path));
    auto handle = std::make_unique<PosixLockHandle>(owned.release(), path);
    MERKQL_TRY(handle->lock(mode, wait));
    return std::unique_ptr<FileLock>(std::move(handle));
  }

  Result<std::unique_ptr<LockHandle>> open_lock(const std::string& path) override
  {
    MERKQL_ASSIGN_OR_RETURN(Fd owned, open_lock_fd(path));
    return std::unique_ptr<LockHandle>(new PosixLockHandle(owned.release(), path));
  }

  Result<std::unique_ptr<ByteLocks>> open_byte_locks(const std::string& path) override
  {
    int fd = m_paths.open_nofollow(path, O_RDWR | O_CREAT | O_NONBLOCK, 0644);
    if (fd < 0) {
      return open_error("open lock file", path, errno);
    }
    MERKQL_ASSIGN_OR_RETURN(Fd owned, PathOpener::check_regular(Fd(fd), path, "open lock file"));
    return std::unique_ptr<ByteLocks>(new PosixByteLocks(owned.release(), path));
  }

  Result<std::string> canonical_path(const std::string& path) override
  {
    if (path.empty()) {
      return Status::invalid_argument("empty path");
    }
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf)) {
      return std::string(buf);
    }
    if (errno != ENOENT) {
      return errno_status("resolve", path, errno);
    }
    // Resolve what exists, keep the rest as given ("a/new/../b" -> "a/b").
    std::string trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/') {
      trimmed.pop_back();
    }
    auto slash = trimmed.rfind('/');
    const std::string parent =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : trimmed.substr(0, slash));
    const std::string name = slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
    MERKQL_ASSIGN_OR_RETURN(std::string base, canonical_path(parent));
    if (name == "." || name.empty()) {
      return base;
    }
    if (name == "..") {
      auto up = base.rfind('/');
      return up == 0 || up == std::string::npos ? std::string("/") : base.substr(0, up);
    }
    return base == "/" ? "/" + name : base + "/" + name;
  }

  int64_t now_ns() override
  {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
  }

  void sleep_ms(int ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

private:
  // The lock file at path, created if missing (opened read-only when it
  // exists on a read-only mount: flock() needs no write access).
  Result<Fd> open_lock_fd(const std::string& path)
  {
    int fd = m_paths.open_nofollow(path, O_RDWR | O_CREAT | O_NONBLOCK, 0644);
    if (fd < 0 && (errno == EROFS || errno == EACCES)) {
      fd = m_paths.open_nofollow(path, O_RDONLY | O_NONBLOCK, 0);
    }
    if (fd < 0) {
      return open_error("open lock file", path, errno);
    }
    return PathOpener::check_regular(Fd(fd), path, "open lock file");
  }

  PathOpener m_paths;
};

} // namespace

Env* Env::posix()
{
  static PosixEnv env(PathOpener::openat2_usable());
  return &env;
}

Env* detail::posix_env_walking_components()
{
  static PosixEnv env(false);
  return &env;
}

} // namespace merkql
