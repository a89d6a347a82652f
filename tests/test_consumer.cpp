// Consumer (consumer.h): start positions as kcat names them, reading
// without a group, assigned partitions, poll's wait, commit_sync and close.
#include "support/test_dir.h"

#include <merkql/filename.h>
#include <merkql/merkql.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <tuple>

using namespace merkql;
using merkql::test::require_ok;
using merkql::test::TestDir;
using merkql::test::unwrap;

namespace fs = std::filesystem;

namespace {

std::shared_ptr<Broker> open_broker(const TestDir& dir)
{
  BrokerConfig config;
  config.dir = dir.data();
  return unwrap(Broker::open(config));
}

void create(Broker& broker, const std::string& topic, uint32_t partitions,
            std::optional<uint64_t> max_records = {})
{
  TopicConfig config;
  config.partitions = partitions;
  config.retention.max_records = max_records;
  unwrap(broker.create_topic(topic, config));
}

// Appends count records to a partition, the i-th stamped at (first + i) seconds.
void append(Broker& broker, const std::string& topic, uint32_t partition, int count,
            int64_t first_second = 1000)
{
  Partition* p = unwrap(unwrap(broker.topic(topic))->partition(partition));
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i) {
    values.push_back(std::to_string(i));
  }
  std::vector<AppendInput> batch;
  for (int i = 0; i < count; ++i) {
    batch.push_back(AppendInput{std::nullopt, values[static_cast<size_t>(i)],
                                (first_second + i) * 1000000000LL, false});
  }
  unwrap(p->append(batch));
}

std::unique_ptr<Consumer> consumer(Broker& broker, std::string group,
                                   Coordination coordination = Coordination::none,
                                   bool auto_commit = false)
{
  ConsumerConfig config;
  config.group_id = std::move(group);
  config.offset_reset = OffsetReset::earliest;
  config.auto_commit = auto_commit;
  config.coordination = coordination;
  return unwrap(broker.consumer(config));
}

std::vector<uint64_t> offsets(const std::vector<Record>& records)
{
  std::vector<uint64_t> out;
  for (const Record& r : records) {
    out.push_back(r.offset);
  }
  return out;
}

uint64_t start(Partition& p, StartPosition::Kind kind, uint64_t value = 0)
{
  return unwrap(start_offset(p, StartPosition{kind, value}));
}

} // namespace

TEST_SUITE_BEGIN("merkql::Consumer");

TEST_CASE("start positions parse as kcat's -o names them")
{
  using K = StartPosition::Kind;
  CHECK(unwrap(StartPosition::parse("beginning")).kind == K::beginning);
  CHECK(unwrap(StartPosition::parse("end")).kind == K::end);
  const StartPosition at = unwrap(StartPosition::parse("42"));
  CHECK(at.kind == K::offset);
  CHECK(at.value == 42);
  const StartPosition last = unwrap(StartPosition::parse("-3"));
  CHECK(last.kind == K::last);
  CHECK(last.value == 3);
  for (const char* bad : {"", "-", "x", "1x", "--1", "+1", "Beginning", "99999999999999999999"}) {
    CAPTURE(bad);
    CHECK(StartPosition::parse(bad).status().is_invalid_argument());
  }
}

TEST_CASE("start positions stay between the retention watermark and the end")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 1, 5);
  append(*broker, "t", 0, 12); // watermark 7, end 12
  Partition& p = *unwrap(unwrap(broker->topic("t"))->partition(0));
  using K = StartPosition::Kind;
  CHECK(start(p, K::beginning) == 7);
  CHECK(start(p, K::end) == 12);
  CHECK(start(p, K::offset, 9) == 9);
  CHECK(start(p, K::offset, 2) == 7);    // below the watermark
  CHECK(start(p, K::offset, 999) == 12); // past the end
  CHECK(start(p, K::last, 2) == 10);
  CHECK(start(p, K::last, 50) == 7); // more than are kept
  CHECK(start(p, K::last, 0) == 12);
}

TEST_CASE("a start time is the first record at or after it, else the end")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 1);
  append(*broker, "t", 0, 10, 1000); // offset i stamped at 1000 + i seconds
  Partition& p = *unwrap(unwrap(broker->topic("t"))->partition(0));
  auto at = [&](int64_t second) {
    return unwrap(start_offset(p, StartPosition::at_time(second * 1000000000LL)));
  };
  CHECK(at(0) == 0);
  CHECK(at(1000) == 0);
  CHECK(at(1004) == 4);
  CHECK(at(1009) == 9);
  CHECK(at(1010) == 10); // none: the end
  // Half a second after record 4's time: record 5.
  CHECK(unwrap(start_offset(p, StartPosition::at_time(1004500000000LL))) == 5);
  // Before the epoch: every record.
  CHECK(at(-5) == 0);
}

TEST_CASE("without a group a consumer reads, commits nothing and creates no group state")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 2);
  append(*broker, "t", 0, 3);
  append(*broker, "t", 1, 4);
  for (Coordination coordination : {Coordination::none, Coordination::file_locks}) {
    auto c = consumer(*broker, "", coordination, /*auto_commit=*/true);
    CHECK_FALSE(c->has_group());
    require_ok(c->subscribe({"t"}));
    CHECK(unwrap(c->poll()).size() == 7);
    CHECK(c->commit_sync().is_invalid_argument());
    require_ok(c->close());
  }
  auto c = consumer(*broker, "");
  require_ok(c->assign({{"t", 1}}));
  CHECK(offsets(unwrap(c->poll())) == std::vector<uint64_t>{0, 1, 2, 3});
  require_ok(c->close());
  CHECK(unwrap(broker->group_names()).empty());
  CHECK(fs::is_empty(groups_dir(broker->dir())));
}

TEST_CASE("poll with a visitor passes views of the records poll copies, up to max")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 2);
  append(*broker, "t", 0, 3);
  append(*broker, "t", 1, 4);
  auto copied = consumer(*broker, "");
  require_ok(copied->assign({{"t", 0}, {"t", 1}}));
  const std::vector<Record> expected = unwrap(copied->poll());
  REQUIRE(expected.size() == 7);
  auto viewed = consumer(*broker, "");
  require_ok(viewed->assign({{"t", 0}, {"t", 1}}));
  std::vector<Record> seen;
  auto visit = [&seen](const PolledRecord& r) { seen.push_back(to_record(r)); };
  CHECK(unwrap(viewed->poll(visit, std::chrono::milliseconds(0), 5)) == 5);
  CHECK(unwrap(viewed->poll(visit)) == 2);
  CHECK(unwrap(viewed->poll(visit)) == 0);
  std::sort(seen.begin(), seen.end(), [](const Record& a, const Record& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  std::vector<Record> sorted = expected;
  std::sort(sorted.begin(), sorted.end(), [](const Record& a, const Record& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  CHECK(seen == sorted);
}

TEST_CASE("assign reads exactly the partitions given, which must exist")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 3);
  for (uint32_t p = 0; p < 3; ++p) {
    append(*broker, "t", p, 2);
  }
  auto c = consumer(*broker, "");
  require_ok(c->assign({{"t", 2}}));
  for (const Record& r : unwrap(c->poll())) {
    CHECK(r.partition == 2);
  }
  CHECK(c->assignment() == std::vector<TopicPartition>{{"t", 2}});
  CHECK(c->subscribe({"t"}).is_invalid_argument());
  CHECK(consumer(*broker, "")->assign({{"t", 3}}).is_not_found());
  CHECK(consumer(*broker, "")->assign({{"nosuch", 0}}).is_not_found());
  auto subscribed = consumer(*broker, "g");
  require_ok(subscribed->subscribe({"t"}));
  CHECK(subscribed->assign({{"t", 0}}).is_invalid_argument());
}

TEST_CASE("start_from overrides the committed offset once, and becomes the commit")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 1);
  append(*broker, "t", 0, 10);
  require_ok(GroupOffsets(broker->env(), broker->dir(), "g").commit({{{"t", 0}, 2}}));
  {
    auto c = consumer(*broker, "g", Coordination::file_locks);
    c->start_from(unwrap(StartPosition::parse("-3")));
    require_ok(c->subscribe({"t"}));
    CHECK(offsets(unwrap(c->poll())) == std::vector<uint64_t>{7, 8, 9});
    // The new start was committed as soon as the partition was taken.
    CHECK(unwrap(GroupOffsets(broker->env(), broker->dir(), "g").load()).at({"t", 0}) == 7);
    require_ok(c->close());
  }
  append(*broker, "t", 0, 2);
  auto again = consumer(*broker, "g", Coordination::file_locks);
  require_ok(again->subscribe({"t"}));
  CHECK(offsets(unwrap(again->poll())) == std::vector<uint64_t>{7, 8, 9, 10, 11});
}

TEST_CASE("an assigned partition of a group is held: a second reader is refused")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 2);
  append(*broker, "t", 0, 5);
  require_ok(GroupOffsets(broker->env(), broker->dir(), "g").commit({{{"t", 0}, 3}}));
  auto a = consumer(*broker, "g", Coordination::file_locks);
  require_ok(a->assign({{"t", 0}}));
  CHECK(offsets(unwrap(a->poll())) == std::vector<uint64_t>{3, 4});
  require_ok(a->commit_sync());
  CHECK(unwrap(GroupOffsets(broker->env(), broker->dir(), "g").load()).at({"t", 0}) == 5);
  // Not a member: the group has no live member and no share is taken.
  CHECK(unwrap(live_group_members(broker->env(), broker->dir(), "g")).empty());
  CHECK(unwrap(partition_owned(broker->env(), broker->dir(), "g", {"t", 0})));
  CHECK_FALSE(unwrap(partition_owned(broker->env(), broker->dir(), "g", {"t", 1})));
  auto b = consumer(*broker, "g", Coordination::file_locks);
  CHECK(b->assign({{"t", 0}}).is_busy());
  require_ok(a->close());
  CHECK_FALSE(unwrap(partition_owned(broker->env(), broker->dir(), "g", {"t", 0})));
  require_ok(b->assign({{"t", 0}}));
}

TEST_CASE("poll with a timeout waits for a record another thread appends")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 1);
  auto c = consumer(*broker, "");
  require_ok(c->subscribe({"t"}));
  const auto before = std::chrono::steady_clock::now();
  CHECK(unwrap(c->poll(std::chrono::milliseconds(100))).empty());
  CHECK(std::chrono::steady_clock::now() - before >= std::chrono::milliseconds(100));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    append(*broker, "t", 0, 1);
  });
  auto records = unwrap(c->poll(std::chrono::milliseconds(10000)));
  writer.join();
  REQUIRE(records.size() == 1);
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(9000));
  // The poll() of before still returns at once.
  CHECK(unwrap(c->poll()).empty());
}

TEST_CASE("close commits the positions when auto-commit is on, and only then")
{
  TestDir dir;
  auto broker = open_broker(dir);
  create(*broker, "t", 1);
  append(*broker, "t", 0, 4);
  GroupOffsets stored(broker->env(), broker->dir(), "auto");
  {
    auto c = consumer(*broker, "auto", Coordination::none, /*auto_commit=*/true);
    require_ok(c->subscribe({"t"}));
    CHECK(unwrap(c->poll()).size() == 4);
    CHECK(unwrap(stored.load()).at({"t", 0}) == 0); // the start, committed on assignment
    require_ok(c->close());
    CHECK(unwrap(stored.load()).at({"t", 0}) == 4);
  }
  GroupOffsets manual_stored(broker->env(), broker->dir(), "manual");
  auto c = consumer(*broker, "manual");
  require_ok(c->subscribe({"t"}));
  CHECK(unwrap(c->poll()).size() == 4);
  require_ok(c->close());
  CHECK(unwrap(manual_stored.load()).at({"t", 0}) == 0);
  auto d = consumer(*broker, "manual");
  require_ok(d->subscribe({"t"}));
  CHECK(unwrap(d->poll()).size() == 4);
  require_ok(d->commit_sync());
  CHECK(unwrap(manual_stored.load()).at({"t", 0}) == 4);
}

TEST_SUITE_END();
