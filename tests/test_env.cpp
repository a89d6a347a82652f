#include "support/test_dir.h"

#include <merkql/atomic_file.h>
#include <merkql/broker.h>
#include <merkql/env.h>
#include <merkql/filename.h>
#include <merkql/group.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace merkql;
using merkql::test::read_bytes;
using merkql::test::require_ok;
using merkql::test::TestDir;
using merkql::test::unwrap;
using merkql::test::write_bytes;

namespace fs = std::filesystem;

namespace {

// Both ways PosixEnv resolves paths: openat2() and the component walk used
// where openat2() is unavailable.
std::vector<std::pair<std::string, Env*>> posix_envs()
{
  return {{"openat2", Env::posix()}, {"component walk", detail::posix_env_walking_components()}};
}

bool mentions(const Status& status, const std::string& text)
{
  return status.message().find(text) != std::string::npos;
}

// A refusal because of a symbolic link: an error (not not_found, which
// callers take as "create it"), naming the link.
void check_link_refusal(const Status& status, const std::string& link)
{
  CAPTURE(status.message());
  CHECK(status.is_io_error());
  CHECK(mentions(status, "symbolic link"));
  CHECK(mentions(status, link));
}

// Runs fn, failing instead of hanging when it blocks (a FIFO opened for
// reading blocks until a writer appears: opening it read-write here
// releases the blocked call).
void run_with_timeout(const std::string& fifo, const std::function<void()>& fn)
{
  auto done = std::async(std::launch::async, fn);
  if (done.wait_for(std::chrono::seconds(5)) == std::future_status::timeout) {
    int fd = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);
    done.wait();
    if (fd >= 0) {
      ::close(fd);
    }
    FAIL("blocked on the FIFO " << fifo);
  }
  done.get();
}

// An Env that forwards to Env::posix() and, the first time stat() finds
// nothing at `path`, makes the directory there as another process would.
class RacingEnv final : public EnvWrapper {
public:
  explicit RacingEnv(std::string path) : EnvWrapper(Env::posix()), m_path(std::move(path)) {}
  void race(const std::string& path)
  {
    if (path == m_path && !m_raced && !fs::exists(path)) {
      m_raced = true;
      fs::create_directories(path);
    }
  }
  bool is_dir(const std::string& path) override
  {
    bool result = target()->is_dir(path);
    race(path);
    return result;
  }
  Result<FileStat> stat(const std::string& path) override
  {
    auto result = target()->stat(path);
    race(path);
    return result;
  }

private:
  std::string m_path;
  bool m_raced = false;
};

} // namespace

TEST_SUITE_BEGIN("merkql::Env");

TEST_CASE("a symbolic link to a directory on the way is refused by every operation")
{
  for (auto [how, env] : posix_envs()) {
    CAPTURE(how);
    TestDir dir;
    const std::string out = dir.path() + "/outside";
    const std::string d = dir.path() + "/d";
    fs::create_directories(out);
    fs::create_directories(d);
    write_bytes(out + "/victim", "victim");
    write_bytes(d + "/own", "own");
    const std::string link = d + "/link";
    fs::create_directory_symlink(out, link);

    check_link_refusal(env->open_file(link + "/victim", Create::no).status(), link);
    check_link_refusal(env->open_file(link + "/new", Create::if_missing).status(), link);
    check_link_refusal(env->open_file(link + "/new", Create::exclusive).status(), link);
    check_link_refusal(env->open_read_only(link + "/victim").status(), link);
    check_link_refusal(env->lock_file(link + "/LOCK", LockMode::exclusive, Wait::no).status(),
                       link);
    check_link_refusal(env->remove(link + "/victim"), link);
    check_link_refusal(env->rename(link + "/victim", d + "/stolen"), link);
    check_link_refusal(env->rename(d + "/own", link + "/planted"), link);
    check_link_refusal(env->create_dir(link + "/sub"), link);
    check_link_refusal(env->list_dir(link).status(), link);
    check_link_refusal(env->sync_dir(link), link);
    check_link_refusal(env->stat(link + "/victim").status(), link);
    check_link_refusal(env->file_size(link + "/victim").status(), link);
    check_link_refusal(read_file(env, link + "/victim", 100).status(), link);
    CHECK_FALSE(env->is_dir(link));
    CHECK_FALSE(env->is_dir(link + "/."));

    // Nothing changed outside, and nothing moved out of d.
    CHECK(read_bytes(out + "/victim") == "victim");
    CHECK(fs::exists(d + "/own"));
    CHECK_FALSE(fs::exists(d + "/stolen"));
    std::vector<std::string> outside;
    for (const auto& e : fs::directory_iterator(out)) {
      outside.push_back(e.path().filename());
    }
    CHECK(outside == std::vector<std::string>{"victim"});
  }
}

TEST_CASE("a symbolic link as the last component is refused and its target is untouched")
{
  for (auto [how, env] : posix_envs()) {
    CAPTURE(how);
    TestDir dir;
    const std::string victim = dir.path() + "/victim";
    write_bytes(victim, "victim");
    fs::create_directories(dir.path() + "/d");
    const std::string link = dir.path() + "/d/HEAD";
    fs::create_symlink(victim, link);

    check_link_refusal(env->open_file(link, Create::no).status(), link);
    check_link_refusal(env->open_file(link, Create::if_missing).status(), link);
    CHECK_FALSE(env->open_file(link, Create::exclusive).is_ok());
    check_link_refusal(env->open_read_only(link).status(), link);
    check_link_refusal(env->lock_file(link, LockMode::shared, Wait::no).status(), link);
    check_link_refusal(env->create_dir(link), link);
    CHECK(read_bytes(victim) == "victim");

    // Looking at it does not follow it: it is a link, not the file it names.
    FileStat st = unwrap(env->stat(link));
    CHECK(st.type == FileStat::Type::symlink);
    CHECK(env->exists(link));
    CHECK_FALSE(env->is_dir(link));
    CHECK(unwrap(env->file_size(link)) == victim.size());

    // A directory reached as the last component is not listed through it.
    const std::string dir_link = dir.path() + "/d/groups";
    fs::create_directory_symlink(dir.path(), dir_link);
    check_link_refusal(env->list_dir(dir_link).status(), dir_link);
    check_link_refusal(env->sync_dir(dir_link), dir_link);
    CHECK_FALSE(env->is_dir(dir_link));

    // remove() and rename() act on the link itself.
    require_ok(env->rename(link, dir.path() + "/d/moved"));
    require_ok(env->remove(dir.path() + "/d/moved"));
    CHECK(read_bytes(victim) == "victim");
  }
}

TEST_CASE("a dangling symbolic link is not created through")
{
  for (auto [how, env] : posix_envs()) {
    CAPTURE(how);
    TestDir dir;
    fs::create_directories(dir.path() + "/d");
    const std::string target = dir.path() + "/created";
    const std::string link = dir.path() + "/d/LOCK";
    fs::create_symlink(target, link);

    check_link_refusal(env->lock_file(link, LockMode::exclusive, Wait::no).status(), link);
    check_link_refusal(env->open_file(link, Create::if_missing).status(), link);
    CHECK_FALSE(env->open_file(link, Create::exclusive).is_ok());
    check_link_refusal(env->create_dir(link), link);
    CHECK_FALSE(fs::exists(target));
    CHECK(fs::is_symlink(link));
  }
}

TEST_CASE("a FIFO, a device or a directory in place of a file is an error, and nothing blocks")
{
  for (auto [how, env] : posix_envs()) {
    CAPTURE(how);
    TestDir dir;
    const std::string fifo = dir.path() + "/MERKQL";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    run_with_timeout(fifo, [&, env = env] {
      auto check_refused = [&](const Status& status) {
        CAPTURE(status.message());
        CHECK(status.is_io_error());
        CHECK(mentions(status, "not a regular file (a FIFO)"));
        CHECK(mentions(status, fifo));
      };
      check_refused(env->open_read_only(fifo).status());
      check_refused(env->open_file(fifo, Create::no).status());
      check_refused(env->open_file(fifo, Create::if_missing).status());
      check_refused(env->lock_file(fifo, LockMode::shared, Wait::yes).status());
      check_refused(read_file(env, fifo, 100).status());
    });
    CHECK(unwrap(env->stat(fifo)).type == FileStat::Type::other);

    auto device = env->open_read_only("/dev/null");
    CHECK(mentions(device.status(), "not a regular file (a character device)"));
    auto directory = env->open_read_only(dir.path());
    CHECK(mentions(directory.status(), "not a regular file (a directory)"));
    CHECK(env->open_file(dir.path(), Create::if_missing).status().is_io_error());
  }
}

TEST_CASE("a FIFO in place of the directory marker fails Broker::open instead of hanging")
{
  TestDir dir;
  {
    BrokerConfig config;
    config.dir = dir.data();
    unwrap(Broker::open(config));
  }
  const std::string marker = marker_file(dir.data());
  fs::remove(marker);
  REQUIRE(::mkfifo(marker.c_str(), 0644) == 0);
  run_with_timeout(marker, [&] {
    BrokerConfig config;
    config.dir = dir.data();
    auto opened = Broker::open(config);
    CHECK(opened.status().is_io_error());
    CHECK(mentions(opened.status(), "not a regular file"));
  });
}

TEST_CASE("create_dir accepts an existing directory and refuses anything else with the name")
{
  for (auto [how, env] : posix_envs()) {
    CAPTURE(how);
    TestDir dir;
    const std::string sub = dir.path() + "/sub";
    require_ok(env->create_dir(sub));
    require_ok(env->create_dir(sub)); // made already, by us or by another process
    CHECK(env->is_dir(sub));
    write_bytes(dir.path() + "/file", "x");
    Status status = env->create_dir(dir.path() + "/file");
    CHECK(status.is_io_error());
    CHECK(mentions(status, dir.path() + "/file: not a directory"));
  }
}

TEST_CASE("a stale temporary file is replaced by a fresh one")
{
  TestDir dir;
  const std::string path = dir.path() + "/OFFSETS";
  write_bytes(temp_file(path), std::string(1000, 'x')); // left by a crash, longer than the new
  require_ok(write_file_atomically(Env::posix(), path, "new"));
  CHECK(read_bytes(path) == "new");
  CHECK_FALSE(fs::exists(temp_file(path)));
}

TEST_CASE("a temporary file that is a symbolic link is removed, never written through")
{
  TestDir dir;
  const std::string victim = dir.path() + "/victim";
  write_bytes(victim, "victim");
  fs::create_directories(dir.path() + "/g");
  const std::string path = dir.path() + "/g/OFFSETS";
  fs::create_symlink(victim, temp_file(path));
  require_ok(write_file_atomically(Env::posix(), path, "new"));
  CHECK(read_bytes(victim) == "victim");
  CHECK(read_bytes(path) == "new");
  CHECK_FALSE(fs::is_symlink(path));
  CHECK_FALSE(fs::exists(temp_file(path)));

  // A link in place of the file itself is replaced by the rename, not
  // written through.
  fs::remove(path);
  fs::create_symlink(victim, path);
  require_ok(write_file_atomically(Env::posix(), path, "newer"));
  CHECK(read_bytes(victim) == "victim");
  CHECK_FALSE(fs::is_symlink(path));
  CHECK(read_bytes(path) == "newer");
}

TEST_CASE("read_file refuses a file larger than its bound before reading it")
{
  TestDir dir;
  const std::string path = dir.path() + "/f";
  write_bytes(path, "12345678901");
  auto refused = read_file(Env::posix(), path, 10);
  CHECK(refused.status().is_corruption());
  CHECK(mentions(refused.status(), path));
  CHECK(unwrap(read_file(Env::posix(), path, 11)) == "12345678901");
}

TEST_CASE("oversize metadata files are refused before allocation")
{
  // Sparse files of 1 TiB: reading one whole would fail to allocate (or
  // take minutes); each is refused at once, with its name.
  constexpr uint64_t huge = 1ull << 40;
  TestDir dir;
  BrokerConfig config;
  config.dir = dir.data();
  {
    auto broker = unwrap(Broker::open(config));
    unwrap(broker->create_topic("t", 1));
    GroupOffsets offsets(Env::posix(), dir.data(), "g");
    require_ok(offsets.commit({{{"t", 0}, 1}}));
  }

  const std::string topic = topic_config_file(dir.data(), "t");
  fs::resize_file(topic, huge);
  {
    auto broker = unwrap(Broker::open(config));
    auto t = broker->topic("t");
    CHECK(t.status().is_corruption());
    CHECK(mentions(t.status(), topic));
  }

  const std::string offsets_path = group_offsets_file(dir.data(), "g");
  const std::string good_offsets = read_bytes(offsets_path);
  fs::resize_file(offsets_path, huge);
  auto loaded = GroupOffsets(Env::posix(), dir.data(), "g").load();
  CHECK(loaded.status().is_corruption());
  CHECK(mentions(loaded.status(), offsets_path));
  // A valid header for one entry, in a file far larger than one entry.
  write_bytes(offsets_path, good_offsets);
  fs::resize_file(offsets_path, 10 << 20);
  loaded = GroupOffsets(Env::posix(), dir.data(), "g").load();
  CHECK(loaded.status().is_corruption());
  CHECK(mentions(loaded.status(), "larger than 1 offsets can take"));
  write_bytes(offsets_path, good_offsets);
  CHECK(unwrap(GroupOffsets(Env::posix(), dir.data(), "g").load()).size() == 1);

  const std::string marker = marker_file(dir.data());
  fs::resize_file(marker, huge);
  auto opened = Broker::open(config);
  CHECK(opened.status().is_corruption());
  CHECK(mentions(opened.status(), marker));
}

TEST_CASE("a symbolic link in a group's path is refused by commit and join")
{
  TestDir dir;
  BrokerConfig config;
  config.dir = dir.data();
  unwrap(Broker::open(config));
  const std::string out = dir.path() + "/outside";
  fs::create_directories(out);
  fs::create_directory_symlink(out, group_dir(dir.data(), "g"));

  GroupOffsets offsets(Env::posix(), dir.data(), "g");
  Status committed = offsets.commit({{{"t", 0}, 1}});
  check_link_refusal(committed, group_dir(dir.data(), "g"));
  check_link_refusal(GroupMembership::join(Env::posix(), dir.data(), "g").status(),
                     group_dir(dir.data(), "g"));
  CHECK(fs::is_empty(out));
}

TEST_CASE("a data directory given through a symbolic link is used at its real place")
{
  TestDir dir;
  fs::create_directories(dir.path() + "/real");
  fs::create_directory_symlink(dir.path() + "/real", dir.path() + "/link");
  BrokerConfig config;
  config.dir = dir.path() + "/link/./new/../data/";
  auto broker = unwrap(Broker::open(config));
  CHECK(broker->dir() == dir.path() + "/real/data");
  unwrap(broker->create_topic("t", 1));
  CHECK(fs::exists(dir.path() + "/real/data/topics/t/TOPIC"));
}

TEST_CASE("a file where the data directory should be is an I/O error")
{
  TestDir dir;
  write_bytes(dir.path() + "/file", "x");
  for (Create create : {Create::no, Create::if_missing}) {
    BrokerConfig config;
    config.dir = dir.path() + "/file";
    config.create = create;
    auto opened = Broker::open(config);
    CHECK(opened.status().is_io_error());
    CHECK(opened.status().message() == dir.path() + "/file: not a directory");
  }
}

TEST_CASE("a data directory created by another process meanwhile is used")
{
  TestDir dir;
  RacingEnv env(dir.data());
  BrokerConfig config;
  config.dir = dir.data();
  config.env = &env;
  unwrap(Broker::open(config));
  CHECK(fs::exists(marker_file(dir.data())));
}

TEST_CASE("threads and processes creating one data directory at once all succeed")
{
  for (int round = 0; round < 10; ++round) {
    TestDir dir;
    const std::string data = dir.path() + "/a/b/data";
    std::vector<pid_t> children;
    for (int i = 0; i < 3; ++i) {
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        BrokerConfig config;
        config.dir = data;
        ::_exit(Broker::open(config).is_ok() ? 0 : 1);
      }
      children.push_back(pid);
    }
    std::vector<std::future<Status>> threads;
    for (int i = 0; i < 4; ++i) {
      threads.push_back(std::async(std::launch::async, [&] {
        BrokerConfig config;
        config.dir = data;
        return Broker::open(config).status();
      }));
    }
    for (auto& t : threads) {
      Status status = t.get();
      CHECK_MESSAGE(status.is_ok(), status.message());
    }
    for (pid_t pid : children) {
      int wstatus = 0;
      REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
      CHECK(WIFEXITED(wstatus));
      CHECK(WEXITSTATUS(wstatus) == 0);
    }
  }
}

TEST_CASE("canonical_path resolves what exists and keeps the rest")
{
  TestDir dir;
  fs::create_directories(dir.path() + "/real");
  fs::create_directory_symlink(dir.path() + "/real", dir.path() + "/link");
  Env* env = Env::posix();
  CHECK(unwrap(env->canonical_path(dir.path() + "/link")) == dir.path() + "/real");
  CHECK(unwrap(env->canonical_path(dir.path() + "/link/x/y/")) == dir.path() + "/real/x/y");
  CHECK(unwrap(env->canonical_path(dir.path() + "/link/x/../y")) == dir.path() + "/real/y");
  CHECK(unwrap(env->canonical_path(dir.path() + "/link/./x")) == dir.path() + "/real/x");
}

TEST_CASE("preallocate sets the size ahead, stat reports allocated bytes, and "
          "trim_preallocation cuts the size back and releases the space")
{
  TestDir dir;
  const std::string path = dir.path() + "/00000000.log";
  auto file = unwrap(Env::posix()->open_file(path, Create::if_missing));
  require_ok(file->write_at(0, "hello"));
  require_ok(file->preallocate(5, 4 << 20));
  const uint64_t reserved = unwrap(file->allocated_bytes());
  FileStat st = unwrap(Env::posix()->stat(path));
  CHECK(st.type == FileStat::Type::regular);
  CHECK(st.size == 5 + (4u << 20));
  CHECK(st.allocated_bytes == reserved);
  // What was set ahead reads as zero bytes; what was written is kept.
  char buf[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  CHECK(unwrap(file->read_at(3, sizeof buf, buf)) == sizeof buf);
  CHECK(std::string(buf, 2) == "lo");
  CHECK(std::all_of(buf + 2, buf + sizeof buf, [](char c) { return c == 0; }));
  require_ok(file->trim_preallocation(5));
  CHECK(unwrap(file->size()) == 5);
  CHECK(unwrap(file->allocated_bytes()) < (1u << 20));
  CHECK(unwrap(Env::posix()->stat(path)).allocated_bytes < (1u << 20));
}

TEST_CASE("a data directory on a read-only mount can be opened, locked and read")
{
  // Needs a private mount namespace (root, or a user namespace): done in a
  // child process so that no mount outlives the test.
  TestDir dir;
  const std::string mnt = dir.path() + "/mnt";
  fs::create_directories(mnt);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0
        || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0
        || ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, nullptr) != 0) {
      ::_exit(77);
    }
    BrokerConfig config;
    config.dir = mnt + "/data";
    {
      auto broker = Broker::open(config);
      if (!broker.is_ok() || !(*broker)->create_topic("t", 1).is_ok()) {
        ::_exit(2);
      }
    }
    if (::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      ::_exit(77);
    }
    Env* env = Env::posix();
    config.create = Create::no;
    auto broker = Broker::open(config);
    int code = 0;
    if (!broker.is_ok() || !(*broker)->topic("t").is_ok()) {
      code = 3;
    } else if (!env->lock_file(broker_lock_file(config.dir), LockMode::shared, Wait::no).is_ok()) {
      code = 4;
    } else if (!env->open_read_only(marker_file(config.dir)).is_ok()) {
      code = 5;
    } else if (env->open_file(marker_file(config.dir), Create::no).is_ok()) {
      code = 6; // writing must fail on a read-only mount
    }
    ::_exit(code);
  }
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  REQUIRE(WIFEXITED(wstatus));
  if (WEXITSTATUS(wstatus) == 77) {
    MESSAGE("no private mount namespace here: not tested");
    return;
  }
  CHECK(WEXITSTATUS(wstatus) == 0);
}

TEST_CASE("notify_lock_waits tells of a wait for a busy lock, then waits for it")
{
  TestDir dir;
  const std::string path = dir.path() + "/LOCK";
  std::mutex mutex;
  std::vector<std::string> told;
  auto told_count = [&] {
    std::lock_guard<std::mutex> guard(mutex);
    return told.size();
  };
  auto env = notify_lock_waits(Env::posix(), [&](const std::string& p) {
    std::lock_guard<std::mutex> guard(mutex);
    told.push_back(p);
  });
  // A free lock is taken without a word.
  unwrap(env->lock_file(path, LockMode::exclusive, Wait::yes)).reset();
  CHECK(told_count() == 0);

  auto held = unwrap(Env::posix()->lock_file(path, LockMode::exclusive, Wait::no));
  // Wait::no fails at once, as before, and says nothing.
  CHECK(env->lock_file(path, LockMode::exclusive, Wait::no).status().is_busy());
  CHECK(told_count() == 0);
  auto waiter = std::async(std::launch::async, [&] {
    return env->lock_file(path, LockMode::exclusive, Wait::yes).status();
  });
  for (int i = 0; i < 1000 && told_count() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(told_count() == 1);
  CHECK(told[0] == path);
  // Told, and still waiting while the lock is held.
  CHECK(waiter.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
  held.reset();
  require_ok(waiter.get());
  CHECK(told_count() == 1);
}

TEST_CASE("an EnvWrapper passes calls to its target, and its lock handles lock through lock_file")
{
  // Counts the locks it is asked for and changes nothing else.
  class CountingLocks final : public EnvWrapper {
  public:
    using EnvWrapper::EnvWrapper;
    Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                                Wait wait) override
    {
      ++locks;
      return target()->lock_file(path, mode, wait);
    }
    int locks = 0;
  };
  TestDir dir;
  CountingLocks env(Env::posix());
  CHECK(env.target() == Env::posix());
  const std::string file = dir.path() + "/f";
  require_ok(unwrap(env.open_file(file, Create::exclusive))->write_at(0, "abc"));
  CHECK(unwrap(env.file_size(file)) == 3);
  CHECK(unwrap(env.list_dir(dir.path())) == std::vector<std::string>{"f"});
  require_ok(env.rename(file, dir.path() + "/g"));
  CHECK_FALSE(env.exists(file));
  CHECK(read_bytes(dir.path() + "/g") == "abc");

  // A handle the wrapper opens takes each lock through its lock_file, so
  // that overriding lock_file alone sees every lock.
  auto handle = unwrap(env.open_lock(dir.path() + "/LOCK"));
  require_ok(handle->lock(LockMode::exclusive, Wait::no));
  CHECK(
    Env::posix()->lock_file(dir.path() + "/LOCK", LockMode::shared, Wait::no).status().is_busy());
  handle->unlock();
  require_ok(handle->lock(LockMode::shared, Wait::no));
  handle->unlock();
  CHECK(env.locks == 2);
}

TEST_SUITE_END();
