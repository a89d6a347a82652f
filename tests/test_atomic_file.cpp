// AtomicFile: a file is replaced whole on commit(), or not at all.
#include "support/fault_env.h"
#include "support/test_dir.h"

#include <merkql/atomic_file.h>
#include <merkql/filename.h>

#include <filesystem>

using namespace merkql;
using merkql::test::FaultEnv;
using merkql::test::read_bytes;
using merkql::test::require_ok;
using merkql::test::TestDir;
using merkql::test::write_bytes;

TEST_SUITE_BEGIN("merkql::AtomicFile");

TEST_CASE("base case: what is written appears at commit, in one piece")
{
  TestDir dir;
  const std::string path = dir.path() + "/settings";
  AtomicFile file(Env::posix(), path);
  file.write("hel");
  file.write("lo");
  CHECK_FALSE(std::filesystem::exists(path));
  require_ok(file.commit());
  CHECK(read_bytes(path) == "hello");
  CHECK_FALSE(std::filesystem::exists(temp_file(path)));
}

TEST_CASE("a commit replaces the old file whole")
{
  TestDir dir;
  const std::string path = dir.path() + "/settings";
  write_bytes(path, "an older and longer content");
  require_ok(write_file_atomically(Env::posix(), path, "new"));
  CHECK(read_bytes(path) == "new");
}

TEST_CASE("not committing leaves no file")
{
  TestDir dir;
  const std::string path = dir.path() + "/settings";
  {
    AtomicFile file(Env::posix(), path);
    file.write("hello");
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(std::filesystem::exists(temp_file(path)));
}

TEST_CASE("a stale temporary file is replaced, not written through")
{
  TestDir dir;
  const std::string path = dir.path() + "/settings";
  const std::string elsewhere = dir.path() + "/elsewhere";
  write_bytes(elsewhere, "keep me");
  std::filesystem::create_symlink(elsewhere, temp_file(path));
  require_ok(write_file_atomically(Env::posix(), path, "new"));
  CHECK(read_bytes(path) == "new");
  CHECK(read_bytes(elsewhere) == "keep me");
}

TEST_CASE("a failed rename leaves the old file and no .tmp")
{
  TestDir dir;
  const std::string path = dir.path() + "/settings";
  write_bytes(path, "old");
  FaultEnv env;
  env.count_calls(test::fault_rename);
  env.fail_at(1, EIO);
  {
    AtomicFile file(&env, path);
    file.write("new");
    Status committed = file.commit();
    CHECK(committed.is_io_error());
    CHECK(std::filesystem::exists(temp_file(path))); // until the object goes
  }
  REQUIRE(env.injected().has_value());
  CHECK(read_bytes(path) == "old");
  CHECK_FALSE(std::filesystem::exists(temp_file(path)));
}

TEST_SUITE_END();
