// Status and Result: a failed Result never hands out a value, and the
// README's loop over poll() iterates a value it owns.
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace merkql;
using merkql::test::require_ok;
using merkql::test::TestDir;
using merkql::test::unwrap;

namespace {

// Runs fn in a child process with stderr captured; returns (wait status, stderr).
template<class Fn> std::pair<int, std::string> run_in_child(Fn fn)
{
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The test runner's own crash handler must not run in the child.
    std::signal(SIGABRT, SIG_DFL);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    fn();
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0) {
    err.append(buf, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {status, err};
}

} // namespace

TEST_SUITE_BEGIN("merkql::Result");

TEST_CASE("value() of a failed Result aborts with the status message, in every build")
{
  auto [status, err] = run_in_child([] {
    Result<int> r = Status::not_found("no such topic 'x'");
    volatile int v = r.value();
    (void)v;
  });
  INFO("wait status " << status << ", stderr: " << err);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(err.find("no such topic 'x'") != std::string::npos);
}

TEST_CASE("with_context puts the context before the message and keeps the code")
{
  const Status s = Status::busy("lock held").with_context("t/0");
  CHECK(s.is_busy());
  CHECK(s.message() == "t/0: lock held");
  CHECK(Status::ok().with_context("t/0").is_ok());
}

TEST_CASE("value() of a temporary Result moves the value out")
{
  auto make = [] { return Result<std::vector<std::string>>(std::vector<std::string>{"a", "b"}); };
  std::string joined;
  // The README's form: the loop owns the vector, so nothing dangles.
  for (const std::string& s : make().value()) {
    joined += s;
  }
  CHECK(joined == "ab");
}

TEST_CASE("the README's poll loop reads records the loop owns")
{
  TestDir dir;
  BrokerConfig config;
  config.dir = dir.data();
  auto broker = unwrap(Broker::open(config));
  Producer producer(broker);
  for (int i = 0; i < 3; ++i) {
    (void)unwrap(producer.send(ProducerRecord{"t", std::nullopt, "v" + std::to_string(i)}));
  }
  ConsumerConfig cc;
  cc.group_id = "g";
  cc.offset_reset = OffsetReset::earliest;
  auto consumer = unwrap(broker->consumer(cc));
  require_ok(consumer->subscribe({"t"}));
  std::vector<std::string> values;
  for (const merkql::Record& r : consumer->poll().value()) {
    values.push_back(r.value);
  }
  CHECK(values == std::vector<std::string>{"v0", "v1", "v2"});
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("merkql::Partition");

TEST_CASE("a key or value that is not UTF-8 is refused and nothing is stored")
{
  TestDir dir;
  BrokerConfig config;
  config.dir = dir.data();
  auto broker = unwrap(Broker::open(config));
  Producer producer(broker);
  auto bad_key = producer.send(ProducerRecord{"t", std::string("\xff\xfe"), R"({"a":1})"});
  REQUIRE_FALSE(bad_key.is_ok());
  CHECK(bad_key.status().is_invalid_argument());
  CHECK(bad_key.status().message().find("key") != std::string::npos);
  auto bad_value = producer.send(ProducerRecord{"t", std::nullopt, std::string("a\xc0\x80")});
  REQUIRE_FALSE(bad_value.is_ok());
  CHECK(bad_value.status().message().find("value") != std::string::npos);
  auto good = unwrap(producer.send(ProducerRecord{"t", std::string("caf\xc3\xa9"), "ok"}));
  CHECK(good.offset == 0);
}

TEST_SUITE_END();
