// Lines in, bytes out: the one reader of input lines (produce, commit),
// the opening of input files named on the command line (produce,
// verify-proof), and the loops that write to a descriptor (every command's
// output). A LineReader belongs to one thread; the free functions are
// thread-safe as write(2) is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace merkql::cli {

// True when fd can be read without blocking, waiting up to timeout_ms.
bool input_ready(int fd, int timeout_ms = 0);

// Writes all of data to fd; false on error (errno set), e.g. EPIPE. With
// written, tells how many bytes went out (all of them on success).
bool write_all(int fd, std::string_view data, size_t* written = nullptr);
// Writes to stdout, or exits 74.
void write_stdout(std::string_view data);

// Reads fd to its end into out; false on error (errno set). Stops early
// once out holds more than max_bytes, so that a caller bounding its input
// holds at most one read buffer past the bound.
bool read_all(int fd, std::string& out, size_t max_bytes = SIZE_MAX);

// Opens a file named on the command line for reading; "-" is standard
// input, returned as it is (the caller closes any other descriptor).
// Throws Exit naming the file: 66 when it does not exist, 74 when it cannot
// be opened or is a directory.
int open_input(const std::string& path);
// The checks of open_input without opening the file (so that a FIFO is
// opened once, when it is read): throws as open_input would.
void check_input(const std::string& path);
// The name of an input in messages: "standard input" for "-".
std::string input_name(const std::string& path);

// Bytes a LineReader keeps readable after the end of every line it returns
// (their values are unspecified): simdjson reads up to 64 bytes past the
// end of its input (SIMDJSON_PADDING), so produce parses lines in place.
constexpr size_t k_line_padding = 64;

struct LineReaderOptions {
  // Longest line, without its "\n" (and its "\r" when strip_cr): a longer
  // one is reported once as too_long and its bytes skipped as they arrive,
  // so that it is never buffered whole.
  size_t max_line_bytes = SIZE_MAX;
  bool strip_cr = true;       // remove one "\r" before the "\n" (CRLF input)
  size_t read_size = 1 << 16; // bytes asked of each read(2)
  // Called when the next read would block, then again every idle_ms until
  // input arrives (e.g. to hand over a batch, or to notice a failure of
  // another thread); reading simply blocks when empty.
  std::function<void()> on_idle;
  int idle_ms = 200;
  // Called before each read(2), once every line already read was returned
  // (e.g. to commit what those lines asked for).
  std::function<void()> before_read;
};

// Splits what a descriptor delivers into lines, in place in one buffer of
// its own (no allocation per line): k_line_padding readable bytes follow
// every line. A last line without a final "\n" is a line too.
class LineReader {
public:
  enum class Next {
    line,     // the next line is in the view
    too_long, // a line longer than max_line_bytes (skipped)
    end,      // end of input
    error,    // a read failed: error() holds errno
  };

  LineReader(int fd, LineReaderOptions options = {});

  // The next line; the view stays valid until the next call.
  Next next(std::string_view& line);
  int error() const { return m_error; }

private:
  // The line [start, end) of the buffer, checked against the limit.
  Next take(size_t start, size_t end, std::string_view& line);

  int m_fd;
  LineReaderOptions m_o;
  std::string m_buf;
  size_t m_len = 0;          // valid bytes in m_buf
  size_t m_start = 0;        // first byte of the current (incomplete) line
  size_t m_scan = 0;         // where to continue looking for "\n"
  bool m_discarding = false; // inside an over-long line already reported
  bool m_eof = false;
  int m_error = 0;
};

} // namespace merkql::cli
