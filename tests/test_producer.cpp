// RecordBatch, Producer::send(const RecordBatch&) and ProducerPipeline:
// batching, routing, in-order acknowledgement and where an error stops.
#include "support/fault_env.h"
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <cerrno>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace merkql;
using merkql::test::require_ok;
using merkql::test::TestDir;
using merkql::test::unwrap;

namespace {

std::shared_ptr<Broker> open_broker(const std::string& dir, uint32_t partitions = 1,
                                    Env* env = nullptr)
{
  BrokerConfig config;
  config.dir = dir;
  config.default_partitions = partitions;
  config.env = env;
  return unwrap(Broker::open(config));
}

// Every record of a partition, in offset order.
std::vector<Record> read_partition(Broker& broker, const std::string& topic, uint32_t id)
{
  Partition* p = unwrap(unwrap(broker.topic(topic))->partition(id));
  const uint64_t end = unwrap(p->next_offset());
  PartitionReader reader(p);
  std::vector<Record> out;
  for (uint64_t offset = 0; offset < end;) {
    offset += unwrap(reader.read(offset, end, 1000, out));
  }
  return out;
}

// Collects every acknowledgement the pipeline delivers, with its value.
struct AckLog {
  struct Ack {
    RecordMetadata metadata;
    std::string value;
    std::thread::id thread;
  };
  std::vector<Ack> acks;
  size_t calls = 0;

  ProducerPipeline::AckCallback callback()
  {
    return [this](const RecordBatch& batch, std::span<const RecordMetadata> metadata) {
      REQUIRE(metadata.size() == batch.size());
      ++calls;
      for (size_t i = 0; i < metadata.size(); ++i) {
        acks.push_back(Ack{metadata[i], std::string(batch[i].value), std::this_thread::get_id()});
      }
      return Status::ok();
    };
  }
};

} // namespace

TEST_SUITE_BEGIN("merkql::RecordBatch");

TEST_CASE("a batch iterates its records as added, keys and flags kept")
{
  RecordBatch batch("t");
  CHECK(batch.empty());
  CHECK(batch.approximate_bytes() == 0);
  batch.add("k1", "v1");
  batch.add(std::nullopt, "");
  batch.add(RecordView{"", "{\"a\":1}", 2u, TimestampNs{42}, true});
  CHECK(batch.topic() == "t");
  REQUIRE(batch.size() == 3);
  CHECK(batch.approximate_bytes() >= 2 + 2 + 7);

  std::vector<RecordView> views(batch.begin(), batch.end());
  REQUIRE(views.size() == 3);
  CHECK(views[0].key == std::optional<std::string_view>("k1"));
  CHECK(views[0].value == "v1");
  CHECK(!views[0].partition);
  CHECK(!views[0].timestamp);
  CHECK(!views[0].value_is_json);
  CHECK(!views[1].key);
  CHECK(views[1].value.empty());
  REQUIRE(views[2].key);
  CHECK(views[2].key->empty()); // an empty key is a key
  CHECK(views[2].value == "{\"a\":1}");
  CHECK(views[2].partition == std::optional<uint32_t>(2));
  CHECK(views[2].timestamp == std::optional<TimestampNs>(42));
  CHECK(views[2].value_is_json);
}

TEST_CASE("a cleared batch is empty, keeps its topic and takes new records")
{
  RecordBatch batch("t");
  for (int i = 0; i < 100; ++i) {
    batch.add(std::to_string(i), std::string(50, 'x'));
  }
  batch.clear();
  CHECK(batch.empty());
  CHECK(batch.size() == 0);
  CHECK(batch.approximate_bytes() == 0);
  CHECK(batch.topic() == "t");
  batch.add("k", "after");
  REQUIRE(batch.size() == 1);
  CHECK(batch[0].key == std::optional<std::string_view>("k"));
  CHECK(batch[0].value == "after");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("merkql::ProducerPipeline");

TEST_CASE("Producer::send of a batch routes like send_batch and returns metadata in order")
{
  TestDir a, b;
  auto broker_a = open_broker(a.data(), 4);
  auto broker_b = open_broker(b.data(), 4);
  std::vector<ProducerRecord> records;
  RecordBatch batch("t");
  for (int i = 0; i < 40; ++i) {
    std::optional<std::string> key;
    std::optional<uint32_t> partition;
    if (i % 3 == 0) {
      key = "key-" + std::to_string(i % 7);
    } else if (i % 3 == 1) {
      partition = static_cast<uint32_t>(i % 4);
    } // else: round-robin
    const std::string value = "v" + std::to_string(i);
    records.push_back(ProducerRecord{"t", key, value, partition, std::nullopt});
    batch.add(
      RecordView{key ? std::optional<std::string_view>(*key) : std::nullopt, value, partition});
  }
  auto expected = unwrap(broker_a->producer().send_batch(records));
  auto got = unwrap(broker_b->producer().send(batch));
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i].topic == "t");
    CHECK(got[i].partition == expected[i].partition);
    CHECK(got[i].offset == expected[i].offset);
    if (records[i].partition) {
      CHECK(got[i].partition == *records[i].partition);
    }
  }
  // Same records in the same places: the same roots.
  for (uint32_t p = 0; p < 4; ++p) {
    auto ra = read_partition(*broker_a, "t", p);
    auto rb = read_partition(*broker_b, "t", p);
    REQUIRE(ra.size() == rb.size());
    for (size_t k = 0; k < ra.size(); ++k) {
      CHECK(ra[k].key == rb[k].key);
      CHECK(ra[k].value == rb[k].value);
    }
  }
}

TEST_CASE("acks arrive in input order across partitions, on the writer thread")
{
  TestDir dir;
  auto broker = open_broker(dir.data(), 3);
  AckLog log;
  std::vector<std::string> sent;
  {
    ProducerPipeline pipeline(broker, log.callback());
    RecordBatch batch("t");
    for (int b = 0; b < 5; ++b) {
      for (int i = 0; i < 50; ++i) {
        sent.push_back(fmt::format("b{}-r{}", b, i));
        batch.add(fmt::format("key-{}", i % 11), sent.back());
      }
      require_ok(pipeline.submit(batch));
      CHECK(batch.empty());
      CHECK(batch.topic() == "t");
    }
    require_ok(pipeline.finish());
    CHECK(log.calls == 5);
  }
  REQUIRE(log.acks.size() == sent.size());
  std::vector<uint64_t> next(3, 0);
  std::set<uint32_t> partitions;
  for (size_t i = 0; i < sent.size(); ++i) {
    CAPTURE(i);
    const auto& ack = log.acks[i];
    CHECK(ack.value == sent[i]);
    CHECK(ack.thread != std::this_thread::get_id());
    CHECK(ack.metadata.topic == "t");
    REQUIRE(ack.metadata.partition < 3);
    partitions.insert(ack.metadata.partition);
    CHECK(ack.metadata.offset == next[ack.metadata.partition]++);
    // The ack describes the stored record.
    Partition* p = unwrap(unwrap(broker->topic("t"))->partition(ack.metadata.partition));
    Record stored = unwrap(p->read(ack.metadata.offset));
    CHECK(stored.value == sent[i]);
    CHECK(stored.timestamp == ack.metadata.timestamp);
    CHECK(record_hash(stored) == ack.metadata.record_hash);
  }
  CHECK(partitions.size() == 3);
}

TEST_CASE("an empty pipeline finishes ok and acknowledges nothing")
{
  TestDir dir;
  auto broker = open_broker(dir.data());
  AckLog log;
  ProducerPipeline pipeline(broker, log.callback());
  RecordBatch empty("t");
  require_ok(pipeline.submit(empty));
  require_ok(pipeline.finish());
  require_ok(pipeline.finish());
  CHECK(log.calls == 0);
  CHECK(!unwrap(broker->topic_names()).size());
}

TEST_CASE("a refused record stops the pipeline: earlier records stay acked, nothing after is "
          "written")
{
  TestDir dir;
  auto broker = open_broker(dir.data());
  AckLog log;
  ProducerPipeline pipeline(broker, log.callback());
  RecordBatch batch("t");
  for (int i = 0; i < 10; ++i) {
    batch.add(std::nullopt, "good-" + std::to_string(i));
  }
  require_ok(pipeline.submit(batch));
  require_ok(pipeline.finish());
  batch.add(std::nullopt, "fine");
  batch.add(std::nullopt, std::string("bad \xff byte"));
  require_ok(pipeline.submit(batch));
  Status error = pipeline.finish();
  REQUIRE(!error.is_ok());
  CHECK(error.is_invalid_argument());
  CHECK(error.message().find("t/0: ") == 0); // names the partition
  CHECK(pipeline.status().message() == error.message());

  batch.add(std::nullopt, "later");
  Status later = pipeline.submit(batch);
  CHECK(later.message() == error.message());
  CHECK(batch.size() == 1); // not taken
  CHECK(pipeline.finish().message() == error.message());

  REQUIRE(log.acks.size() == 10);
  auto stored = read_partition(*broker, "t", 0);
  REQUIRE(stored.size() == 10);
  for (size_t i = 0; i < stored.size(); ++i) {
    CHECK(stored[i].value == "good-" + std::to_string(i));
    CHECK(log.acks[i].metadata.offset == i);
  }
}

TEST_CASE("a failed sync stops the pipeline with an I/O error after the acked batches")
{
  TestDir dir;
  merkql::test::FaultEnv env;
  auto broker = open_broker(dir.data(), 1, &env);
  AckLog log;
  ProducerPipeline pipeline(broker, log.callback());
  RecordBatch batch("t");
  batch.add(std::nullopt, "first");
  require_ok(pipeline.submit(batch));
  require_ok(pipeline.finish());

  // Every sync from now on fails (a device that went bad).
  env.count_calls(merkql::test::fault_sync);
  env.fail_at(static_cast<uint64_t>(env.operations()) + 1, EIO, merkql::test::fault_sync);
  for (int b = 0; b < 3; ++b) {
    batch.add(std::nullopt, "lost-" + std::to_string(b));
    if (!pipeline.submit(batch).is_ok()) {
      break;
    }
  }
  Status error = pipeline.finish();
  REQUIRE(!error.is_ok());
  CHECK(error.is_io_error());
  CHECK(error.message().find("t/0: ") == 0);
  REQUIRE(log.acks.size() == 1);
  CHECK(log.acks[0].value == "first");
}

TEST_CASE("a group commit whose sync fails in one partition keeps the others")
{
  TestDir dir;
  merkql::test::FaultEnv env;
  auto broker = open_broker(dir.data(), 2, &env);
  Producer producer(broker);
  auto pair = [](const std::string& first, const std::string& second) {
    return std::vector<ProducerRecord>{ProducerRecord("t", std::nullopt, first, 0u),
                                       ProducerRecord("t", std::nullopt, second, 1u)};
  };
  unwrap(producer.send_batch(pair("a0", "a1")));
  // The next sync fails, in whichever partition's thread comes first.
  env.count_calls(merkql::test::fault_sync);
  env.fail_at(static_cast<uint64_t>(env.operations()) + 1, EIO);
  auto sent = producer.send_batch(pair("b0", "b1"));
  REQUIRE(!sent.is_ok());
  CHECK(sent.status().is_io_error());
  const auto p0 = read_partition(*broker, "t", 0);
  const auto p1 = read_partition(*broker, "t", 1);
  // One partition kept its synced batch; the other lost only its own.
  REQUIRE(p0.size() + p1.size() == 3);
  const auto& kept = p0.size() == 2 ? p0 : p1;
  CHECK(kept[1].value == (p0.size() == 2 ? "b0" : "b1"));
  // Both take the next commit, at the offsets that follow what they hold.
  auto next = unwrap(producer.send_batch(pair("c0", "c1")));
  CHECK(next[0].offset == p0.size());
  CHECK(next[1].offset == p1.size());
  CHECK(read_partition(*broker, "t", 0).back().value == "c0");
  CHECK(read_partition(*broker, "t", 1).back().value == "c1");
}

TEST_CASE("a group commit that cannot lock one partition writes none")
{
  TestDir dir;
  BrokerConfig config;
  config.dir = dir.data();
  config.default_partitions = 2;
  config.lock_wait = Wait::no;
  auto broker = unwrap(Broker::open(config));
  Producer producer(broker);
  unwrap(producer.send(ProducerRecord("t", std::nullopt, "a", 1u)));
  auto held =
    unwrap(Env::posix()->lock_file(dir.data() + "/topics/t/1/LOCK", LockMode::exclusive, Wait::no));
  auto sent = producer.send_batch(
    {ProducerRecord("t", std::nullopt, "b0", 0u), ProducerRecord("t", std::nullopt, "b1", 1u)});
  REQUIRE(!sent.is_ok());
  CHECK(sent.status().is_busy());
  held.reset();
  // Partition 0 was written and locked first; its batch was taken back.
  CHECK(read_partition(*broker, "t", 0).empty());
  auto next = unwrap(producer.send_batch(
    {ProducerRecord("t", std::nullopt, "c0", 0u), ProducerRecord("t", std::nullopt, "c1", 1u)}));
  CHECK(next[0].offset == 0);
  CHECK(next[1].offset == 1);
}

TEST_CASE("an error from the ack callback stops the pipeline; acked batches stay stored")
{
  TestDir dir;
  auto broker = open_broker(dir.data());
  size_t calls = 0;
  ProducerPipeline pipeline(broker, [&](const RecordBatch&, std::span<const RecordMetadata>) {
    return ++calls == 2 ? Status::io_error("reader went away") : Status::ok();
  });
  RecordBatch batch("t");
  batch.add(std::nullopt, "v0");
  require_ok(pipeline.submit(batch));
  require_ok(pipeline.finish());
  batch.add(std::nullopt, "v1");
  require_ok(pipeline.submit(batch));
  (void)pipeline.finish();
  batch.add(std::nullopt, "v2");
  CHECK(pipeline.submit(batch).message() == "reader went away");
  Status error = pipeline.finish();
  CHECK(error.is_io_error());
  CHECK(error.message() == "reader went away");
  CHECK(calls == 2);
  // The second batch was durable before its callback failed; nothing later.
  CHECK(read_partition(*broker, "t", 0).size() == 2);
}

TEST_CASE("a pipeline destroyed without finish writes what was submitted")
{
  TestDir dir;
  auto broker = open_broker(dir.data());
  {
    ProducerPipeline pipeline(broker);
    RecordBatch batch("t");
    for (int b = 0; b < 3; ++b) {
      batch.add(std::nullopt, "v" + std::to_string(b));
      require_ok(pipeline.submit(batch));
    }
  }
  CHECK(read_partition(*broker, "t", 0).size() == 3);
}

TEST_CASE("a partition out of range is refused before any record of the batch is written")
{
  TestDir dir;
  auto broker = open_broker(dir.data(), 2);
  for (uint32_t bad : {2u, 4000000000u}) {
    CAPTURE(bad);
    RecordBatch batch("t");
    batch.add(RecordView{std::nullopt, "first", 0u});
    batch.add(RecordView{std::nullopt, "second", bad});
    Status sent = broker->producer().send(batch).status();
    CHECK(sent.is_not_found());
    CHECK(sent.message().find("there is no partition") != std::string::npos);
    CHECK(broker->producer()
            .send_batch({ProducerRecord{"t", std::nullopt, "first", 0u},
                         ProducerRecord{"t", std::nullopt, "second", bad}})
            .status()
            .message()
          == sent.message());
    ProducerPipeline pipeline(broker);
    require_ok(pipeline.submit(batch));
    CHECK(pipeline.finish().message() == sent.message());
  }
  CHECK(read_partition(*broker, "t", 0).empty());
  CHECK(read_partition(*broker, "t", 1).empty());
}

TEST_CASE("a batch for a missing topic fails when the broker does not create topics")
{
  TestDir dir;
  BrokerConfig config;
  config.dir = dir.data();
  config.auto_create_topics = false;
  auto broker = unwrap(Broker::open(config));
  RecordBatch batch("absent");
  batch.add(std::nullopt, "v");
  CHECK(broker->producer().send(batch).status().is_not_found());
  ProducerPipeline pipeline(broker);
  require_ok(pipeline.submit(batch));
  CHECK(pipeline.finish().is_not_found());
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("merkql::ProducerRecord");

TEST_CASE("a ProducerRecord is built from topic, optional key and value, as the seed's new()")
{
  const ProducerRecord keyed("readings", "sensor-1", R"({"t":21.5})");
  CHECK(keyed.topic == "readings");
  CHECK(keyed.key == std::optional<std::string>("sensor-1"));
  CHECK(keyed.value == R"({"t":21.5})");
  CHECK(!keyed.partition);
  CHECK(!keyed.timestamp);
  CHECK(!keyed.value_is_json);
  const ProducerRecord unkeyed("readings", std::nullopt, "v", 0u, TimestampNs{5}, true);
  CHECK(!unkeyed.key);
  CHECK(unkeyed.partition == 0u);
  CHECK(unkeyed.timestamp == 5);
  CHECK(unkeyed.value_is_json);
  CHECK(ProducerRecord().topic.empty());

  TestDir dir;
  auto broker = open_broker(dir.path());
  Producer producer(broker);
  const RecordMetadata sent = unwrap(producer.send(ProducerRecord("readings", "sensor-1", "21.5")));
  CHECK(sent.topic == "readings");
  const std::vector<Record> stored = read_partition(*broker, "readings", 0);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].key == std::optional<std::string>("sensor-1"));
  CHECK(stored[0].value == "21.5");
}

TEST_SUITE_END();
