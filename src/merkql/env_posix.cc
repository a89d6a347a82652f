// The only file that talks to the operating system's file API.
#include <merkql/env.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace merkql {

namespace {

Status errno_status(const std::string& what, const std::string& path, int err)
{
  std::string msg = fmt::format("{} {}: {}", what, path, std::strerror(err));
  if (err == ENOENT) {
    return Status::not_found(std::move(msg));
  }
  return Status::io_error(std::move(msg));
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
        return errno_status("failed to read", m_path, errno);
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
        return errno_status("failed to write", m_path, errno);
      }
      done += static_cast<size_t>(r);
    }
    return Status::ok();
  }

  Status sync() override
  {
    if (::fdatasync(m_fd) != 0) {
      return errno_status("failed to sync", m_path, errno);
    }
    return Status::ok();
  }

  Result<uint64_t> size() override
  {
    struct stat st;
    if (::fstat(m_fd, &st) != 0) {
      return errno_status("failed to stat", m_path, errno);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  Status truncate(uint64_t size) override
  {
    if (::ftruncate(m_fd, static_cast<off_t>(size)) != 0) {
      return errno_status("failed to truncate", m_path, errno);
    }
    return Status::ok();
  }

  Status preallocate(uint64_t pos, uint64_t len) override
  {
    int r =
      ::fallocate(m_fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(pos), static_cast<off_t>(len));
    if (r != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
      return errno_status("failed to preallocate", m_path, errno);
    }
    return Status::ok();
  }

  const std::string& path() const override { return m_path; }

private:
  int m_fd;
  std::string m_path;
};

class PosixFileLock final : public FileLock {
public:
  explicit PosixFileLock(int fd) : m_fd(fd) {}
  ~PosixFileLock() override { ::close(m_fd); } // closing the descriptor releases the flock

private:
  int m_fd;
};

class PosixEnv final : public Env {
public:
  Result<std::unique_ptr<File>> open_file(const std::string& path, Create create) override
  {
    int flags = O_RDWR | O_CLOEXEC | (create == Create::if_missing ? O_CREAT : 0);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) {
      return errno_status("failed to open", path, errno);
    }
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }

  Result<std::unique_ptr<File>> open_read_only(const std::string& path) override
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return errno_status("failed to open", path, errno);
    }
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }

  Status rename(const std::string& from, const std::string& to) override
  {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::io_error(
        fmt::format("failed to rename {} to {}: {}", from, to, std::strerror(errno)));
    }
    return Status::ok();
  }

  Status remove(const std::string& path) override
  {
    if (::unlink(path.c_str()) != 0) {
      return errno_status("failed to remove", path, errno);
    }
    return Status::ok();
  }

  Status sync_dir(const std::string& path) override
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      return errno_status("failed to open directory", path, errno);
    }
    int r = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (r != 0) {
      return errno_status("failed to sync directory", path, err);
    }
    return Status::ok();
  }

  Status create_dir(const std::string& path) override
  {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return errno_status("failed to create directory", path, errno);
    }
    return Status::ok();
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) override
  {
    DIR* dir = ::opendir(path.c_str());
    if (!dir) {
      return errno_status("failed to list directory", path, errno);
    }
    std::vector<std::string> names;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") {
        names.push_back(std::move(name));
      }
    }
    ::closedir(dir);
    return names;
  }

  bool exists(const std::string& path) override
  {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  bool is_dir(const std::string& path) override
  {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  Result<uint64_t> file_size(const std::string& path) override
  {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      return errno_status("failed to stat", path, errno);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                              Wait wait) override
  {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return errno_status("failed to open lock file", path, errno);
    }
    int op = (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | (wait == Wait::no ? LOCK_NB : 0);
    while (::flock(fd, op) != 0) {
      int err = errno;
      if (err == EINTR) {
        continue;
      }
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::busy(fmt::format("{} is locked by another process", path));
      }
      return errno_status("failed to lock", path, err);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }

  int64_t now_ns() override
  {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
  }

  void sleep_ms(int ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
};

} // namespace

Status File::read_exact(uint64_t pos, size_t n, char* out)
{
  MERKQL_ASSIGN_OR_RETURN(size_t got, read_at(pos, n, out));
  if (got != n) {
    return Status::corruption(
      fmt::format("{}: expected {} bytes at position {}, file ends after {}", path(), n, pos, got));
  }
  return Status::ok();
}

Env* Env::posix()
{
  static PosixEnv env;
  return &env;
}

Result<std::string> read_file(Env* env, const std::string& path)
{
  MERKQL_ASSIGN_OR_RETURN(auto file, env->open_read_only(path));
  MERKQL_ASSIGN_OR_RETURN(uint64_t size, file->size());
  std::string data(size, '\0');
  MERKQL_ASSIGN_OR_RETURN(size_t got, file->read_at(0, size, data.data()));
  data.resize(got);
  return data;
}

} // namespace merkql
