// The library API, shaped like the scenario: produce, consume, groups,
// retention, persistence.
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <sys/wait.h>
#include <unistd.h>

using namespace merkql;
using merkql::test::require_ok;
using merkql::test::TestDir;
using merkql::test::unwrap;

namespace {

std::shared_ptr<Broker> open_broker(const TestDir& dir, Compression c = Compression::lz4,
                                    std::optional<uint64_t> max_records = {})
{
  BrokerConfig config;
  config.dir = dir.data();
  config.compression = c;
  config.default_retention.max_records = max_records;
  return unwrap(Broker::open(config));
}

ProducerRecord rec(std::string topic, std::optional<std::string> key, std::string value)
{
  return ProducerRecord{std::move(topic), std::move(key), std::move(value), {}, {}};
}

std::unique_ptr<Consumer> consumer(Broker& broker, std::string group,
                                   OffsetReset reset = OffsetReset::earliest,
                                   bool auto_commit = false)
{
  ConsumerConfig config;
  config.group_id = std::move(group);
  config.offset_reset = reset;
  config.auto_commit = auto_commit;
  config.max_poll_records = 100000;
  return unwrap(broker.consumer(config));
}

} // namespace

TEST_SUITE_BEGIN("merkql::Broker");

TEST_CASE("send and poll round trip keeps key, value and topic")
{
  TestDir dir;
  auto broker = open_broker(dir);
  Producer producer = broker->producer();
  RecordMetadata m = unwrap(producer.send(rec("events", std::string("user-1"), R"({"a":1})")));
  CHECK(m.topic == "events");
  CHECK(m.offset == 0);
  unwrap(producer.send(rec("events", std::nullopt, "plain text")));
  auto c = consumer(*broker, "g");
  require_ok(c->subscribe({"events"}));
  auto records = unwrap(c->poll());
  REQUIRE(records.size() == 2);
  CHECK(records[0].key == std::optional<std::string>("user-1"));
  CHECK(records[0].value == R"({"a":1})");
  CHECK(records[0].topic == "events");
  CHECK(records[0].timestamp == m.timestamp);
  CHECK(to_hex(record_hash(records[0])) == to_hex(m.record_hash));
  CHECK_FALSE(records[1].key.has_value());
  CHECK(records[1].value == "plain text");
}

TEST_CASE("a value vouched for as JSON reads back with the flag, the hash ignores it")
{
  TestDir dir;
  auto broker = open_broker(dir);
  Producer producer = broker->producer();
  ProducerRecord json = rec("t", std::nullopt, R"({"a":1})");
  json.value_is_json = true;
  auto vouched = unwrap(producer.send(json));
  auto plain = unwrap(producer.send(rec("t", std::nullopt, R"({"a":1})")));
  auto c = consumer(*broker, "g");
  require_ok(c->subscribe({"t"}));
  auto records = unwrap(c->poll());
  REQUIRE(records.size() == 2);
  CHECK(records[0].value_is_json);
  CHECK_FALSE(records[1].value_is_json);
  CHECK(to_hex(record_hash(records[0])) == to_hex(vouched.record_hash));
  CHECK(to_hex(record_hash(records[1])) == to_hex(plain.record_hash));
}

TEST_CASE("offsets are dense and batches get sequential offsets")
{
  TestDir dir;
  auto broker = open_broker(dir);
  Producer producer = broker->producer();
  for (uint64_t i = 0; i < 5; ++i) {
    CHECK(unwrap(producer.send(rec("t", std::nullopt, std::to_string(i)))).offset == i);
  }
  std::vector<ProducerRecord> batch;
  for (int i = 0; i < 300; ++i) {
    batch.push_back(rec("t", std::nullopt, std::string(static_cast<size_t>(i), 'x')));
  }
  auto metas = unwrap(producer.send_batch(batch));
  for (size_t i = 0; i < metas.size(); ++i) {
    CHECK(metas[i].offset == 5 + i);
  }
}

TEST_CASE("a drained consumer polls empty, then follows the tail")
{
  TestDir dir;
  auto broker = open_broker(dir);
  Producer producer = broker->producer();
  unwrap(producer.send(rec("t", std::nullopt, "a")));
  auto c = consumer(*broker, "g");
  require_ok(c->subscribe({"t"}));
  CHECK(unwrap(c->poll()).size() == 1);
  CHECK(unwrap(c->poll()).empty());
  unwrap(producer.send(rec("t", std::nullopt, "b")));
  auto records = unwrap(c->poll());
  REQUIRE(records.size() == 1);
  CHECK(records[0].value == "b");
  CHECK(records[0].offset == 1);
}

TEST_CASE("a closed consumer refuses calls, close is idempotent")
{
  TestDir dir;
  auto broker = open_broker(dir);
  auto c = consumer(*broker, "g");
  require_ok(c->subscribe({"t"}));
  require_ok(c->close());
  require_ok(c->close());
  CHECK(c->poll().status().is_closed());
  CHECK(c->commit_sync().is_closed());
  CHECK(c->subscribe({"t"}).is_closed());
}

TEST_CASE("topics are isolated")
{
  TestDir dir;
  auto broker = open_broker(dir);
  Producer producer = broker->producer();
  unwrap(producer.send(rec("a", std::nullopt, "in a")));
  unwrap(producer.send(rec("b", std::nullopt, "in b")));
  auto c = consumer(*broker, "g");
  require_ok(c->subscribe({"a"}));
  auto records = unwrap(c->poll());
  REQUIRE(records.size() == 1);
  CHECK(records[0].value == "in a");
  CHECK(records[0].offset == 0);
}

TEST_CASE("the same key goes to the same partition, in order")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", 4));
  Producer producer = broker->producer();
  std::map<std::string, uint32_t> partition_of;
  for (int i = 0; i < 200; ++i) {
    std::string key = "key-" + std::to_string(i % 7);
    auto m = unwrap(producer.send(rec("t", key, std::to_string(i))));
    CHECK(m.partition == route_key(key, 4));
    auto [it, inserted] = partition_of.emplace(key, m.partition);
    CHECK(it->second == m.partition);
  }
  auto c = consumer(*broker, "g");
  require_ok(c->subscribe({"t"}));
  auto records = unwrap(c->poll());
  REQUIRE(records.size() == 200);
  std::map<std::string, int> last;
  for (const Record& r : records) {
    CHECK(r.partition == partition_of[*r.key]);
    int v = std::stoi(r.value);
    auto it = last.find(*r.key);
    if (it != last.end()) {
      CHECK(v > it->second);
    }
    last[*r.key] = v;
  }
}

TEST_CASE("unkeyed records go round-robin")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", 3));
  Producer producer = broker->producer();
  std::multiset<uint32_t> partitions;
  for (int i = 0; i < 9; ++i) {
    partitions.insert(unwrap(producer.send(rec("t", std::nullopt, "v"))).partition);
  }
  CHECK(partitions.count(0) == 3);
  CHECK(partitions.count(1) == 3);
  CHECK(partitions.count(2) == 3);
}

TEST_CASE("groups are independent, Latest skips history, committed beats reset")
{
  TestDir dir;
  auto broker = open_broker(dir);
  Producer producer = broker->producer();
  for (int i = 0; i < 10; ++i) {
    unwrap(producer.send(rec("t", std::nullopt, std::to_string(i))));
  }
  auto a = consumer(*broker, "a");
  require_ok(a->subscribe({"t"}));
  CHECK(unwrap(a->poll()).size() == 10);
  require_ok(a->commit_sync());
  auto b = consumer(*broker, "b");
  require_ok(b->subscribe({"t"}));
  CHECK(unwrap(b->poll()).size() == 10);
  auto latest = consumer(*broker, "l", OffsetReset::latest);
  require_ok(latest->subscribe({"t"}));
  CHECK(unwrap(latest->poll()).empty());
  unwrap(producer.send(rec("t", std::nullopt, "new")));
  auto records = unwrap(latest->poll());
  REQUIRE(records.size() == 1);
  CHECK(records[0].value == "new");
  require_ok(a->close());
  // Committed offset 10 beats the reset policy Earliest.
  auto again = consumer(*broker, "a", OffsetReset::earliest);
  require_ok(again->subscribe({"t"}));
  records = unwrap(again->poll());
  REQUIRE(records.size() == 1);
  CHECK(records[0].offset == 10);
}

TEST_CASE("uncommitted positions are not persisted, auto_commit commits on close")
{
  TestDir dir;
  auto broker = open_broker(dir);
  Producer producer = broker->producer();
  for (int i = 0; i < 4; ++i) {
    unwrap(producer.send(rec("t", std::nullopt, std::to_string(i))));
  }
  {
    auto c = consumer(*broker, "manual");
    require_ok(c->subscribe({"t"}));
    CHECK(unwrap(c->poll()).size() == 4);
    require_ok(c->close());
  }
  {
    auto c = consumer(*broker, "manual");
    require_ok(c->subscribe({"t"}));
    CHECK(unwrap(c->poll()).size() == 4);
  }
  {
    auto c = consumer(*broker, "auto", OffsetReset::earliest, true);
    require_ok(c->subscribe({"t"}));
    CHECK(unwrap(c->poll()).size() == 4);
    require_ok(c->close());
  }
  auto c = consumer(*broker, "auto", OffsetReset::earliest, true);
  require_ok(c->subscribe({"t"}));
  CHECK(unwrap(c->poll()).empty());
}

TEST_CASE("a commit merges with the group's other partitions")
{
  TestDir dir;
  auto broker = open_broker(dir);
  GroupOffsets offsets(broker->env(), broker->dir(), "g");
  require_ok(offsets.commit({{{"t", 0}, 5}}));
  require_ok(offsets.commit({{{"t", 1}, 7}}));
  require_ok(offsets.commit({{{"u", 0}, 1}}));
  auto all = unwrap(offsets.load());
  CHECK(all.size() == 3);
  CHECK(all[{"t", 0}] == 5);
  CHECK(all[{"t", 1}] == 7);
}

TEST_CASE("records, commits, partition counts and roots persist across reopen")
{
  TestDir dir;
  std::optional<Hash> root;
  {
    auto broker = open_broker(dir);
    unwrap(broker->create_topic("t", 3));
    Producer producer = broker->producer();
    for (int i = 0; i < 500; ++i) {
      unwrap(producer.send_batch({rec("t", "k" + std::to_string(i % 11), std::to_string(i))}));
    }
    auto c = consumer(*broker, "g");
    require_ok(c->subscribe({"t"}));
    CHECK(unwrap(c->poll()).size() == 500);
    require_ok(c->commit_sync());
    root = unwrap(unwrap(unwrap(broker->topic("t"))->partition(1))->merkle_root());
  }
  auto broker = open_broker(dir);
  Topic* t = unwrap(broker->topic("t"));
  CHECK(t->partition_count() == 3);
  Partition* p1 = unwrap(t->partition(1));
  CHECK(unwrap(p1->merkle_root()) == root);
  CHECK(unwrap(p1->merkle_root_at(unwrap(p1->next_offset()))) == root);
  uint64_t total = 0;
  for (uint32_t p = 0; p < 3; ++p) {
    total += unwrap(unwrap(t->partition(p))->next_offset());
  }
  CHECK(total == 500);
  auto c = consumer(*broker, "g");
  require_ok(c->subscribe({"t"}));
  CHECK(unwrap(c->poll()).empty());
  auto fresh = consumer(*broker, "fresh");
  require_ok(fresh->subscribe({"t"}));
  auto records = unwrap(fresh->poll());
  CHECK(records.size() == 500);
}

TEST_CASE("retention hides old records but roots and proofs stay valid")
{
  TestDir dir;
  auto broker = open_broker(dir, Compression::lz4, 50);
  Producer producer = broker->producer();
  std::vector<ProducerRecord> batch;
  for (int i = 0; i < 130; ++i) {
    batch.push_back(rec("t", std::nullopt, std::to_string(i)));
  }
  unwrap(producer.send_batch(batch));
  Partition* p = unwrap(unwrap(broker->topic("t"))->partition(0));
  CHECK(p->watermark_for(130) == 80);
  auto c = consumer(*broker, "g");
  require_ok(c->subscribe({"t"}));
  auto records = unwrap(c->poll());
  REQUIRE(records.size() == 50);
  CHECK(records.front().offset == 80);
  const Hash root = *unwrap(p->merkle_root());
  for (uint64_t o = 80; o < 130; ++o) {
    CHECK(verify_proof(unwrap(p->proof(o)), root));
  }
  // A committed offset below the watermark moves up to it.
  require_ok(GroupOffsets(broker->env(), broker->dir(), "old").commit({{{"t", 0}, 3}}));
  auto old = consumer(*broker, "old");
  require_ok(old->subscribe({"t"}));
  records = unwrap(old->poll());
  REQUIRE(records.size() == 50);
  CHECK(records.front().offset == 80);
}

TEST_CASE("start_offset: earliest is the watermark, latest the end, a commit stays between them")
{
  TestDir dir;
  auto broker = open_broker(dir, Compression::lz4, 5);
  Partition* p = unwrap(unwrap(broker->create_topic("t", 1))->partition(0));
  CHECK(unwrap(start_offset(*p, OffsetReset::earliest)) == 0);
  CHECK(unwrap(start_offset(*p, OffsetReset::latest)) == 0);
  CHECK(unwrap(start_offset(*p, OffsetReset::earliest, 3)) == 0);
  std::vector<ProducerRecord> batch;
  for (int i = 0; i < 12; ++i) {
    batch.push_back(rec("t", std::nullopt, std::to_string(i)));
  }
  unwrap(broker->producer().send_batch(batch));
  CHECK(unwrap(start_offset(*p, OffsetReset::earliest)) == 7);
  CHECK(unwrap(start_offset(*p, OffsetReset::latest)) == 12);
  // A committed offset wins over the reset policy, but not below the
  // watermark nor past the end.
  CHECK(unwrap(start_offset(*p, OffsetReset::latest, 9)) == 9);
  CHECK(unwrap(start_offset(*p, OffsetReset::latest, 2)) == 7);
  CHECK(unwrap(start_offset(*p, OffsetReset::earliest, 40)) == 12);
  // The consumer starts where the rule says.
  auto earliest = consumer(*broker, "e", OffsetReset::earliest);
  require_ok(earliest->subscribe({"t"}));
  CHECK(earliest->positions().at({"t", 0}) == 7);
  auto latest = consumer(*broker, "l", OffsetReset::latest);
  require_ok(latest->subscribe({"t"}));
  CHECK(latest->positions().at({"t", 0}) == 12);
}

TEST_CASE("check_name: the topic and group name rule and its message")
{
  require_ok(check_name("sensors.v2_a-b", "topic"));
  const Status bad = check_name("a/b", "group");
  CHECK(bad.is_invalid_argument());
  CHECK(bad.message()
        == "invalid group name 'a/b': use 1-249 characters of A-Z a-z 0-9 . _ - (not . or ..)");
  CHECK(check_name("..", "topic").message().rfind("invalid topic name '..'", 0) == 0);
  CHECK(check_name("", "topic").is_invalid_argument());
  CHECK(check_name(std::string(250, 'x'), "topic").is_invalid_argument());
  ConsumerConfig config;
  config.group_id = "g";
  config.max_poll_records = 0;
  TestDir dir;
  CHECK(Consumer::open(open_broker(dir), config).status().is_invalid_argument());
}

TEST_CASE("a directory written with one compression reads back under the other")
{
  TestDir dir;
  {
    auto broker = open_broker(dir, Compression::none);
    Producer producer = broker->producer();
    std::vector<ProducerRecord> batch;
    for (int i = 0; i < 100; ++i) {
      batch.push_back(rec("plain", std::nullopt, R"({"temp":20.5,"sensor":"s"})"));
    }
    unwrap(producer.send_batch(batch));
  }
  {
    auto broker = open_broker(dir, Compression::lz4);
    unwrap(broker->producer().send(rec("packed", std::nullopt, "x")));
    unwrap(broker->producer().send(rec("plain", std::nullopt, "appended")));
    auto c = consumer(*broker, "g");
    require_ok(c->subscribe({"plain", "packed"}));
    auto records = unwrap(c->poll());
    CHECK(records.size() == 102);
  }
  auto broker = open_broker(dir, Compression::none);
  auto c = consumer(*broker, "g2");
  require_ok(c->subscribe({"plain", "packed"}));
  CHECK(unwrap(c->poll()).size() == 102);
}

TEST_CASE("bad names and missing directories are refused")
{
  TestDir dir;
  auto broker = open_broker(dir);
  CHECK(broker->create_topic("../etc", 1).status().is_invalid_argument());
  CHECK(broker->create_topic("a/b", 1).status().is_invalid_argument());
  CHECK(broker->create_topic("..", 1).status().is_invalid_argument());
  CHECK(broker->create_topic(std::string(250, 'a'), 1).status().is_invalid_argument());
  CHECK(broker->topic("missing").status().is_not_found());
  ConsumerConfig config;
  config.group_id = "bad/group";
  CHECK(broker->consumer(config).status().is_invalid_argument());
  BrokerConfig missing;
  missing.dir = dir.path() + "/nope";
  missing.create = Create::no;
  CHECK(Broker::open(missing).status().is_not_found());
}

TEST_CASE("a topic that lost its TOPIC file is corruption, never re-created with defaults")
{
  TestDir dir;
  {
    auto broker = open_broker(dir);
    TopicConfig config;
    config.partitions = 3;
    config.retention.max_records = 1000;
    unwrap(broker->create_topic("m", config));
    auto producer = broker->producer();
    for (int i = 0; i < 30; ++i) {
      unwrap(producer.send(rec("m", std::nullopt, std::to_string(i))));
    }
  }
  std::filesystem::remove(dir.data() + "/topics/m/TOPIC");
  auto broker = open_broker(dir);
  CHECK(broker->topic("m").status().is_corruption());
  CHECK(broker->topic_or_create("m").status().is_corruption());
  CHECK(broker->create_topic("m", 1).status().is_corruption());
  auto names = unwrap(broker->topic_names());
  CHECK(std::find(names.begin(), names.end(), "m") != names.end());
  CHECK_FALSE(std::filesystem::exists(dir.data() + "/topics/m/TOPIC"));
}

TEST_CASE("a topic directory left by an unfinished creation is created again")
{
  TestDir dir;
  auto broker = open_broker(dir);
  std::filesystem::create_directories(dir.data() + "/topics/half/0");
  CHECK(broker->topic("half").status().is_not_found());
  CHECK(unwrap(broker->create_topic("half", 2))->partition_count() == 2);
}

TEST_CASE("impossible settings in TOPIC are corruption naming the file")
{
  TestDir dir;
  {
    auto broker = open_broker(dir);
    unwrap(broker->create_topic("t", 1));
  }
  const std::string path = dir.data() + "/topics/t/TOPIC";
  for (int field = 0; field < 3; ++field) {
    CAPTURE(field);
    TopicConfig bad;
    if (field == 0) {
      bad.partitions = UINT32_MAX;
    } else if (field == 1) {
      bad.segment_bytes = 0;
    } else {
      bad.retention.max_records = 0;
    }
    merkql::test::write_bytes(path, encode_topic_config(bad));
    auto broker = open_broker(dir);
    auto topic = broker->topic("t");
    CHECK(topic.status().is_corruption());
    CHECK(topic.status().message().find(path) != std::string::npos);
  }
}

TEST_CASE("producers creating one topic at once with other settings all use the first")
{
  for (int round = 0; round < 5; ++round) {
    TestDir dir;
    std::vector<pid_t> children;
    for (uint32_t w = 0; w < 4; ++w) {
      pid_t pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        BrokerConfig config;
        config.dir = dir.data();
        auto broker = Broker::open(config);
        if (!broker.is_ok()) {
          _exit(2);
        }
        TopicConfig settings;
        settings.partitions = w + 1;
        auto topic = (*broker)->topic_or_create("t", settings);
        _exit(topic.is_ok() ? 0 : 3);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      waitpid(pid, &status, 0);
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
    }
  }
}

TEST_SUITE_END();
