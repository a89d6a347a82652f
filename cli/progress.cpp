#include "progress.h"

#include "common.h"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace merkql::cli {

namespace {

std::atomic<bool> g_disabled{false};

// The terminal's line: how many columns the drawn status line takes (0: none
// is drawn), guarded with the writes to it.
std::mutex g_line_mutex;
size_t g_line_width = 0;

constexpr auto k_redraw_interval = std::chrono::milliseconds(100);

size_t terminal_columns()
{
  struct winsize size {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1) {
    return size.ws_col;
  }
  return 0; // unknown: no limit
}

// Text that erases the drawn line (spaces over it, as every terminal
// understands), leaving the cursor at its start. Caller holds g_line_mutex.
std::string erase_line()
{
  if (g_line_width == 0) {
    return {};
  }
  std::string out = "\r" + std::string(g_line_width, ' ') + "\r";
  g_line_width = 0;
  return out;
}

uint32_t percent(uint64_t done, uint64_t total)
{
  if (done >= total) {
    return 100;
  }
  return static_cast<uint32_t>(static_cast<double>(done) * 100 / static_cast<double>(total));
}

} // namespace

void disable_progress()
{
  g_disabled = true;
}

bool progress_enabled()
{
  static const bool terminal = is_terminal(STDERR_FILENO);
  return terminal && !g_disabled;
}

Progress::Progress(std::string label, bool wanted)
  : m_enabled(wanted && progress_enabled()), m_label(std::move(label)), m_start(Clock::now())
{}

Progress::~Progress()
{
  clear();
}

void Progress::set_item(std::string item)
{
  m_item = std::move(item);
  m_drawn_once = false; // news: the next update draws at once
}

void Progress::set_total_records(uint64_t total)
{
  m_total_records = total;
}

void Progress::set_total_bytes(uint64_t total)
{
  m_total_bytes = total;
}

void Progress::update(uint64_t records, uint64_t bytes)
{
  if (!m_enabled) {
    return;
  }
  m_records = records;
  m_bytes = bytes;
  const Clock::time_point now = Clock::now();
  if (!m_drawn_once || now - m_last_draw >= k_redraw_interval) {
    draw(now);
  }
}

void Progress::clear()
{
  if (!m_enabled) {
    return;
  }
  std::lock_guard<std::mutex> guard(g_line_mutex);
  const std::string erase = erase_line();
  (void)write_all(STDERR_FILENO, erase);
}

void Progress::draw(Clock::time_point now)
{
  m_drawn_once = true;
  m_last_draw = now;
  std::string line = "merkql: " + m_label;
  if (!m_item.empty()) {
    line += ": " + printable(m_item);
  }
  if (m_total_bytes > 0) {
    line += fmt::format(": {} records, {} of {} ({}%)", m_records, human_size(m_bytes),
                        human_size(m_total_bytes), percent(m_bytes, m_total_bytes));
  } else if (m_total_records > 0) {
    line += fmt::format(": {} of {} records ({}%)", m_records, m_total_records,
                        percent(m_records, m_total_records));
  } else {
    line += fmt::format(": {} records", m_records);
    if (m_bytes > 0) {
      line += ", " + human_size(m_bytes);
    }
  }
  const double seconds = std::chrono::duration<double>(now - m_start).count();
  if (seconds >= 0.5) {
    line += fmt::format(", {:.0f} records/s", static_cast<double>(m_records) / seconds);
  }
  // A line longer than the terminal would wrap, and "\r" would then return
  // to its last row only.
  static const size_t columns = terminal_columns();
  if (columns > 0 && line.size() >= columns) {
    line.resize(columns - 1);
  }
  std::lock_guard<std::mutex> guard(g_line_mutex);
  std::string out = erase_line();
  out += line;
  g_line_width = line.size();
  (void)write_all(STDERR_FILENO, out);
}

bool is_terminal(int fd)
{
  return ::isatty(fd) == 1;
}

uint64_t bytes_left_to_read(int fd)
{
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return 0;
  }
  const off_t position = ::lseek(fd, 0, SEEK_CUR);
  if (position < 0 || position >= st.st_size) {
    return 0;
  }
  return static_cast<uint64_t>(st.st_size - position);
}

void notice_lock_wait(const std::string& path)
{
  if (!progress_enabled()) {
    return;
  }
  std::lock_guard<std::mutex> guard(g_line_mutex);
  std::string out = erase_line();
  out +=
    fmt::format("merkql: waiting for the lock on {} held by another process...\n", printable(path));
  (void)write_all(STDERR_FILENO, out);
}

} // namespace merkql::cli
