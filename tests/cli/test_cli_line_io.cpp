// Unit tests of the standard-input line reader and the output loop
// (cli/line_io.h), over a pipe.
#include "line_io.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace merkql::cli;

namespace {

struct Item {
  LineReader::Next next;
  std::string text;
  bool operator==(const Item&) const = default;
};

// Everything a reader makes of input, written into a pipe in chunks.
std::vector<Item> read_lines(const std::vector<std::string>& chunks, LineReaderOptions o = {})
{
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::thread writer([&] {
    for (const std::string& c : chunks) {
      REQUIRE(write_all(fds[1], c));
    }
    ::close(fds[1]);
  });
  LineReader reader(fds[0], std::move(o));
  std::vector<Item> items;
  for (;;) {
    std::string_view line;
    const LineReader::Next next = reader.next(line);
    items.push_back({next, next == LineReader::Next::line ? std::string(line) : std::string()});
    if (next == LineReader::Next::end || next == LineReader::Next::error) {
      break;
    }
  }
  writer.join();
  ::close(fds[0]);
  return items;
}

const auto line = LineReader::Next::line;
const auto too_long = LineReader::Next::too_long;
const auto end = LineReader::Next::end;

} // namespace

TEST_SUITE_BEGIN("cli::LineReader");

TEST_CASE("lines split at newlines, across reads, with or without a final newline")
{
  CHECK(read_lines({"a\nb", "c\n\nd"})
        == std::vector<Item>{{line, "a"}, {line, "bc"}, {line, ""}, {line, "d"}, {end, ""}});
  CHECK(read_lines({"x\n"}) == std::vector<Item>{{line, "x"}, {end, ""}});
  CHECK(read_lines({}) == std::vector<Item>{{end, ""}});
}

TEST_CASE("one CR before the newline is removed, others kept; strip_cr off keeps it")
{
  CHECK(read_lines({"a\r\nb\r\r\nc\rd\r"})
        == std::vector<Item>{{line, "a"}, {line, "b\r"}, {line, "c\rd"}, {end, ""}});
  LineReaderOptions o;
  o.strip_cr = false;
  CHECK(read_lines({"a\r\n"}, o) == std::vector<Item>{{line, "a\r"}, {end, ""}});
}

TEST_CASE("an over-long line is reported once and skipped, even before it ends")
{
  LineReaderOptions o;
  o.max_line_bytes = 4;
  o.read_size = 3;
  CHECK(read_lines({"1234\n12345\nab\r\n", "1234\r\n", std::string(100, 'x'), "\nok"}, o)
        == std::vector<Item>{{line, "1234"},
                             {too_long, ""},
                             {line, "ab"},
                             {line, "1234"},
                             {too_long, ""},
                             {line, "ok"},
                             {end, ""}});
  // An over-long last line without a newline.
  CHECK(read_lines({"ok\n", std::string(10, 'y')}, o)
        == std::vector<Item>{{line, "ok"}, {too_long, ""}, {end, ""}});
}

TEST_CASE("on_idle runs while input is idle, before the reader blocks")
{
  int idle = 0;
  LineReaderOptions o;
  o.idle_ms = 10;
  o.on_idle = [&idle] { ++idle; };
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(write_all(fds[1], "late\n"));
    ::close(fds[1]);
  });
  LineReader reader(fds[0], o);
  std::string_view text;
  CHECK(reader.next(text) == line);
  CHECK(text == "late");
  CHECK(idle >= 2);
  writer.join();
  ::close(fds[0]);
}

TEST_CASE("before_read runs before each read, once the lines of the last read were returned")
{
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(write_all(fds[1], "a\nb\n"));
  std::vector<std::string> seen; // the lines returned at each before_read
  std::vector<std::string> lines;
  LineReaderOptions o;
  o.before_read = [&] {
    std::string joined;
    for (const std::string& l : lines) {
      joined += l;
    }
    seen.push_back(joined);
    if (seen.size() == 2) {
      REQUIRE(write_all(fds[1], "c\n"));
      ::close(fds[1]);
    }
  };
  LineReader reader(fds[0], o);
  std::string_view text;
  while (reader.next(text) == line) {
    lines.emplace_back(text);
  }
  // Before the first read, after "a" and "b", and after "c" (the end).
  CHECK(seen == std::vector<std::string>{"", "ab", "abc"});
  ::close(fds[0]);
}

TEST_CASE("a read error is reported with its errno")
{
  LineReader reader(-1);
  std::string_view text;
  CHECK(reader.next(text) == LineReader::Next::error);
  CHECK(reader.error() == EBADF);
}

TEST_CASE("write_all tells how much went out before a failure")
{
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  size_t written = 99;
  std::signal(SIGPIPE, SIG_IGN);
  CHECK(!write_all(fds[1], "abc", &written));
  CHECK(errno == EPIPE);
  CHECK(written == 0);
  ::close(fds[1]);
  std::string all;
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(write_all(fds[1], "xyz", &written));
  CHECK(written == 3);
  ::close(fds[1]);
  CHECK(read_all(fds[0], all));
  CHECK(all == "xyz");
  ::close(fds[0]);
}

TEST_CASE("read_all with a bound stops once it holds more, and reads a file of the bound whole")
{
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  // More than one read buffer (64 KiB) in two writes; the pipe holds both.
  const std::string first(40000, 'a');
  const std::string second(30000, 'b');
  REQUIRE(write_all(fds[1], first));
  std::string text;
  std::thread writer([&] {
    write_all(fds[1], second);
    ::close(fds[1]);
  });
  CHECK(read_all(fds[0], text, 10));
  CHECK(text.size() > 10);
  CHECK(text.size() < first.size() + second.size());
  writer.join();
  ::close(fds[0]);

  REQUIRE(::pipe(fds) == 0);
  REQUIRE(write_all(fds[1], "xyz"));
  ::close(fds[1]);
  text.clear();
  CHECK(read_all(fds[0], text, 3));
  CHECK(text == "xyz");
  ::close(fds[0]);
}

TEST_SUITE_END();
