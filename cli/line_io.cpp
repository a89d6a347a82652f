#include "line_io.h"

#include "common.h"
#include "exit_codes.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace merkql::cli {

bool input_ready(int fd, int timeout_ms)
{
  pollfd pfd{fd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&pfd, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
}

bool write_all(int fd, std::string_view data, size_t* written)
{
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (written) {
        *written = done;
      }
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (written) {
    *written = done;
  }
  return true;
}

void write_stdout(std::string_view data)
{
  if (!write_all(STDOUT_FILENO, data)) {
    throw Exit(exit_io_err, fmt::format("writing standard output: {}", std::strerror(errno)));
  }
}

bool read_all(int fd, std::string& out, size_t max_bytes)
{
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return n == 0;
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return true;
    }
  }
}

std::string input_name(const std::string& path)
{
  return path == "-" ? "standard input" : printable(path);
}

namespace {

[[noreturn]] void input_failed(const std::string& path, int error)
{
  throw Exit(error == ENOENT ? exit_no_input : exit_io_err,
             fmt::format("{}: {}", input_name(path), std::strerror(error)));
}

} // namespace

int open_input(const std::string& path)
{
  int fd = STDIN_FILENO;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      input_failed(path, errno);
    }
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (fd != STDIN_FILENO) {
      ::close(fd);
    }
    input_failed(path, EISDIR);
  }
  return fd;
}

void check_input(const std::string& path)
{
  if (path == "-") {
    return;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    input_failed(path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    input_failed(path, EISDIR);
  }
  if (::access(path.c_str(), R_OK) != 0) {
    input_failed(path, errno);
  }
}

LineReader::LineReader(int fd, LineReaderOptions options) : m_fd(fd), m_o(std::move(options)) {}

LineReader::Next LineReader::take(size_t start, size_t end, std::string_view& line)
{
  line = std::string_view(m_buf.data() + start, end - start);
  if (m_o.strip_cr && !line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line.size() > m_o.max_line_bytes ? Next::too_long : Next::line;
}

LineReader::Next LineReader::next(std::string_view& line)
{
  // A pending line may end in "\r" besides its max_line_bytes.
  const size_t limit = m_o.max_line_bytes + (m_o.strip_cr && m_o.max_line_bytes < SIZE_MAX);
  for (;;) {
    if (const void* nl = std::memchr(m_buf.data() + m_scan, '\n', m_len - m_scan)) {
      const size_t end = static_cast<size_t>(static_cast<const char*>(nl) - m_buf.data());
      const size_t start = m_start;
      m_start = m_scan = end + 1;
      if (m_discarding) {
        m_discarding = false; // the end of the line already reported
        continue;
      }
      return take(start, end, line);
    }
    m_scan = m_len;
    if (m_discarding) {
      m_start = m_len;
    } else if (m_len - m_start > limit) {
      // Report it now instead of buffering it whole.
      m_discarding = true;
      m_start = m_scan = m_len;
      return Next::too_long;
    }
    if (m_eof) {
      if (m_start < m_len) {
        const size_t start = m_start;
        m_start = m_scan = m_len;
        return take(start, m_len, line);
      }
      return Next::end;
    }
    // Keep only the incomplete line, and read more.
    if (m_start > 0) {
      std::memmove(m_buf.data(), m_buf.data() + m_start, m_len - m_start);
      m_len -= m_start;
      m_scan -= m_start;
      m_start = 0;
    }
    if (m_buf.size() < m_len + m_o.read_size + k_line_padding) {
      m_buf.resize(m_len + m_o.read_size + k_line_padding);
    }
    if (m_o.before_read) {
      m_o.before_read();
    }
    if (m_o.on_idle && !input_ready(m_fd)) {
      do {
        m_o.on_idle();
      } while (!input_ready(m_fd, m_o.idle_ms));
    }
    ssize_t n = ::read(m_fd, m_buf.data() + m_len, m_o.read_size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      m_error = errno;
      return Next::error;
    }
    m_eof = n == 0;
    m_len += static_cast<size_t>(n);
  }
}

} // namespace merkql::cli
