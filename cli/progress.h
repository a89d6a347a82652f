// Feedback on a terminal during long work: a Progress is one status line on
// standard error (records, bytes, percentage when a total is known, rate),
// redrawn in place with "\r" at most ten times a second and erased when the
// work ends; notice_lock_wait() says once why a command pauses. Both show
// only when standard error is a terminal and --no-progress was not given;
// otherwise every call returns at once, so callers need no test of their
// own. Used by produce (its input), verify-proof --all (the audit), consume
// (a backlog) and open_broker (waits for another process's lock). A Progress
// belongs to one thread; notice_lock_wait() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace merkql::cli {

// Turns every progress line and notice off (--no-progress).
void disable_progress();
// Whether progress is shown: standard error is a terminal, and progress was
// not turned off.
bool progress_enabled();

class Progress {
public:
  // label begins the line, after "merkql: " ("produce", "verify-proof").
  // wanted = false keeps it from ever drawing: for a command whose input or
  // output is the terminal itself, where the line would be in the way.
  explicit Progress(std::string label, bool wanted = true);
  ~Progress(); // erases the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // What is being worked on now, after the label ("orders/0"); the next
  // update() draws at once.
  void set_item(std::string item);
  // Totals, when known, give the percentage done: of bytes when a byte total
  // is set, else of records.
  void set_total_records(uint64_t total);
  void set_total_bytes(uint64_t total);
  // The work done so far (counts since the start, not increments). Draws at
  // the first call, then when 100 ms have passed since the last drawing.
  // The rate shown is records since the Progress was made per second.
  void update(uint64_t records, uint64_t bytes = 0);
  // Erases the line, e.g. before writing to standard output when that is
  // the same terminal; the next update() draws it again.
  void clear();

private:
  using Clock = std::chrono::steady_clock;
  void draw(Clock::time_point now);

  bool m_enabled;
  std::string m_label;
  std::string m_item;
  uint64_t m_total_records = 0;
  uint64_t m_total_bytes = 0;
  uint64_t m_records = 0;
  uint64_t m_bytes = 0;
  Clock::time_point m_start;
  Clock::time_point m_last_draw;
  bool m_drawn_once = false;
};

// Whether fd is a terminal.
bool is_terminal(int fd);
// Bytes left to read from fd: a regular file's size past the current
// position; 0 (unknown) for a pipe, a terminal or anything else.
uint64_t bytes_left_to_read(int fd);

// On a terminal, a line of its own: "merkql: waiting for the lock on PATH
// held by another process...". The caller then blocks on the lock.
void notice_lock_wait(const std::string& path);

} // namespace merkql::cli
