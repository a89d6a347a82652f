// The offline audit (audit.h): every record replayed, every TREE node,
// INDEX entry and HEAD peak compared; damage reported, never repaired.
#include "support/partition_util.h"
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

using namespace merkql;
using merkql::test::copy_dir;
using merkql::test::corrupt;
using merkql::test::fill;
using merkql::test::inputs;
using merkql::test::open_partition;
using merkql::test::read_bytes;
using merkql::test::small_segments;
using merkql::test::TestDir;
using merkql::test::unwrap;
using merkql::test::write_bytes;
using merkql::test::write_two_batches;

TEST_SUITE_BEGIN("merkql::Audit");

TEST_CASE("a sound partition passes the audit with the root HEAD and TREE give")
{
  TestDir dir;
  auto p = open_partition(dir.path() + "/p");
  fill(*p, 150, 150);
  fill(*p, 3, 3);
  std::vector<std::pair<uint64_t, uint64_t>> told;
  AuditReport report =
    unwrap(audit_partition(*p, [&](uint64_t at, uint64_t all) { told.emplace_back(at, all); }));
  CHECK(report.ok());
  CHECK(report.records_checked == 153);
  CHECK(report.next_offset == 153);
  CHECK(report.torn_tail_bytes == 0);
  CHECK(report.root == unwrap(p->merkle_root()));
  REQUIRE_FALSE(told.empty());
  CHECK(told.front() == std::pair<uint64_t, uint64_t>{0, 153});
}

TEST_CASE("bytes past HEAD's end are a torn tail, not a failure")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  write_two_batches(path);
  const std::string log = path + "/00000000.log";
  write_bytes(log, read_bytes(log) + "half a block");
  PartitionOptions options;
  options.repair = Repair::never;
  auto p = unwrap(Partition::open(Env::posix(), path, "t", 0, options));
  AuditReport report = unwrap(p->audit());
  CHECK(report.ok());
  CHECK(report.torn_tail_bytes == 12);
  CHECK(report.records_checked == 20);
}

TEST_CASE("the audit reports damage that no crash can leave")
{
  TestDir dir;
  const std::string base = dir.path() + "/base";
  fill(*open_partition(base), 200, 200);
  const std::string c = dir.path() + "/c";
  auto audit_of = [&](const std::function<void()>& damage) {
    copy_dir(base, c);
    damage();
    PartitionOptions options;
    options.repair = Repair::never;
    auto opened = Partition::open(Env::posix(), c, "t", 0, options);
    if (!opened.is_ok()) {
      CHECK(opened.status().is_corruption());
      return std::string("open: ") + opened.status().message();
    }
    AuditReport report = unwrap((*opened)->audit());
    CHECK_FALSE(report.ok());
    return report.problem;
  };
  // Both HEAD slots unreadable.
  CHECK(audit_of([&] { corrupt(c + "/HEAD", 0, 512); }).find("HEAD") != std::string::npos);
  // An INDEX entry pointing into the middle of a block.
  CHECK(audit_of([&] { corrupt(c + "/INDEX", 16 + 8 + 4, 1); }).find("INDEX") != std::string::npos);
  // INDEX cut short by one byte.
  CHECK_FALSE(audit_of([&] {
                auto bytes = read_bytes(c + "/INDEX");
                write_bytes(c + "/INDEX", bytes.substr(0, bytes.size() - 1));
              }).empty());
}

TEST_CASE("a value marked as JSON that is not JSON fails the audit")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  PartitionOptions options;
  options.compression = Compression::none;
  auto p = open_partition(path, Env::posix(), options);
  std::vector<AppendInput> batch{{std::nullopt, "1,\"injected\":true", std::nullopt, true}};
  unwrap(p->append(batch));
  AuditReport report = unwrap(p->audit());
  CHECK_FALSE(report.ok());
  CHECK(report.problem.find("JSON") != std::string::npos);
  std::vector<AppendInput> good{{std::nullopt, "{\"a\":[1,2]}", std::nullopt, true}};
  auto q = open_partition(dir.path() + "/q", Env::posix(), options);
  unwrap(q->append(good));
  CHECK(unwrap(q->audit()).ok());
}

TEST_CASE("a tampered tree node is caught by the audit")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  auto p = open_partition(path);
  fill(*p, 300, 300);
  CHECK(unwrap(p->audit()).ok());
  p.reset();
  corrupt(path + "/TREE", 16 + 32 + 5, 1); // second stored node
  p = open_partition(path);
  auto report = unwrap(p->audit());
  CHECK_FALSE(report.ok());
  CHECK(report.first_bad_offset.has_value());
}

TEST_CASE("an audit running while compaction removes segments reports no false mismatch")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  PartitionOptions options = small_segments();
  options.retention.max_records = 100;
  options.compression = Compression::none;
  auto writer = open_partition(path, Env::posix(), options);
  fill(*writer, 600, 25);
  uint64_t next = 600;
  std::atomic<bool> stop{false};
  std::atomic<int> compactions{0};
  std::thread compactor([&] {
    std::vector<std::string> values;
    while (!stop && compactions < 300) {
      if (!writer->append(inputs(values, next, 25)).is_ok() || !writer->compact().is_ok()) {
        return;
      }
      next += 25;
      ++compactions;
    }
  });
  auto auditor = open_partition(path, Env::posix(), options);
  int audits = 0;
  int failures = 0;
  std::string problem;
  for (; compactions < 300 && audits < 100000; ++audits) {
    AuditReport report = unwrap(auditor->audit());
    if (!report.ok()) {
      ++failures;
      problem = report.problem;
    }
  }
  stop = true;
  compactor.join();
  CAPTURE(problem);
  CHECK(failures == 0);
  CHECK(next > 600);
}

TEST_SUITE_END();
