// Internal to Env::posix(): what env_posix.cc (files, locks, the Env calls)
// and env_posix_path.cc (opening a path without following any symbolic
// link, and the errors of the OS turned into Status) share. Only these two
// files include it, and only they talk to the operating system; this header
// declares, it makes no OS call itself. A PathOpener is immutable after
// construction and safe to use from any thread; an Fd is owned by one.
#pragma once

#include <merkql/env.h>

#include <string>

#include <sys/types.h>

namespace merkql::env_posix {

// An owned descriptor (or AT_FDCWD, which is not closed).
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept
  {
    if (this != &other) {
      reset();
      m_fd = other.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return m_fd; }
  int release()
  {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }

private:
  void reset(); // closes a descriptor it owns
  int m_fd = -1;
};

// "failed to <what> <path>: <strerror>": not_found for ENOENT, busy when out
// of descriptors (a temporary failure), else io_error.
Status errno_status(const std::string& what, const std::string& path, int err);
// A path refused because a component is a symbolic link, naming the link.
Status symlink_status(const std::string& what, const std::string& path);
// errno_status, or symlink_status for ELOOP.
Status open_error(const std::string& what, const std::string& path, int err);

// Opens paths following no symbolic link in any component: with
// openat2(RESOLVE_NO_SYMLINKS), or, where that is unavailable, by walking
// the path one component at a time with openat(O_NOFOLLOW).
class PathOpener {
public:
  explicit PathOpener(bool use_openat2) : m_openat2(use_openat2) {}
  // Whether the kernel has openat2() and lets this process use it.
  static bool openat2_usable();

  // open() that follows no symbolic link in any component of path (flags
  // gain O_NOFOLLOW and O_CLOEXEC). Returns -1 with errno on failure, ELOOP
  // when a link is in the way.
  int open_nofollow(const std::string& path, int flags, mode_t mode) const;
  // A regular file opened with flags (created with mode 0644 under
  // O_CREAT); never blocks on a FIFO.
  Result<Fd> open_regular(const std::string& path, int flags, const std::string& what) const;
  // Opens the directory holding path's last component (O_PATH, no link
  // followed) and gives that component's name.
  Result<Fd> open_parent(const std::string& path, std::string* name, const std::string& what) const;
  // Refuses anything but a regular file, and clears O_NONBLOCK.
  static Result<Fd> check_regular(Fd fd, const std::string& path, const std::string& what);

private:
  bool m_openat2;
};

} // namespace merkql::env_posix
