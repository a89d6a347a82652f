// Retention by records, bytes and age (docs/FORMAT.md §Retention and
// compaction): enforced as the log rolls, bounded on disk, proofs of kept
// records valid, HEAD's log start explaining every removal after any crash,
// TOPIC version 1 read as before, and the seed-shaped configuration.
#include "support/partition_util.h"
#include "support/test_dir.h"

#include <merkql/coding.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/merkql.h>
#include <merkql/segment.h>

#include <filesystem>

using namespace merkql;
using merkql::test::count_calls_of;
using merkql::test::crash_after_each_call;
using merkql::test::fill;
using merkql::test::inputs;
using merkql::test::open_partition;
using merkql::test::require_ok;
using merkql::test::small_segments;
using merkql::test::TestDir;
using merkql::test::unwrap;

namespace {

uint64_t segment_bytes_on_disk(const std::string& dir, bool allocated)
{
  uint64_t total = 0;
  for (uint32_t s : unwrap(list_segments(Env::posix(), dir))) {
    FileStat st = unwrap(Env::posix()->stat(segment_file(dir, s)));
    total += allocated ? st.allocated_bytes : st.size;
  }
  return total;
}

void check_kept_records_prove(Partition& p)
{
  const uint64_t next = unwrap(p.next_offset());
  const uint64_t start = unwrap(p.watermark());
  const auto root = unwrap(p.merkle_root());
  REQUIRE(root);
  for (uint64_t o : {start, (start + next) / 2, next - 1}) {
    CAPTURE(o);
    RecordProof proof = unwrap(make_record_proof(p, o));
    REQUIRE(verify_record_proof(proof, *root).is_ok());
  }
}

} // namespace

TEST_SUITE_BEGIN("merkql::Retention");

TEST_CASE("retention by bytes bounds the allocated space of the log as it rolls")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  PartitionOptions options = small_segments(8192);
  options.retention.max_bytes = 32768;
  auto p = open_partition(path, Env::posix(), options);
  for (int round = 0; round < 20; ++round) {
    fill(*p, 200);
    CHECK(segment_bytes_on_disk(path, false) <= 32768 + 8192);
    CHECK(segment_bytes_on_disk(path, true) <= 32768 + 8192 + 4096);
  }
  const PartitionHead head = unwrap(p->head());
  CHECK(head.log_start > 0);
  CHECK(head.log_start % format::k_chunk_records == 0);
  CHECK(head.log_start <= head.next_offset);
  CHECK(unwrap(p->watermark()) == head.log_start);
  check_kept_records_prove(*p);
  CHECK(unwrap(p->audit()).ok());
  // compact() applies the same rule now, as usage reports it.
  const uint64_t reclaimable = unwrap(p->usage()).reclaimable_bytes;
  CHECK(unwrap(p->compact()).bytes_reclaimed == reclaimable);
  CHECK(unwrap(p->usage()).reclaimable_bytes == 0);
}

TEST_CASE("retention by age removes closed segments whose newest record is older")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  PartitionOptions options = small_segments();
  options.retention.max_age_ms = 24ull * 3600 * 1000; // records are stamped in 2023
  auto p = open_partition(path, Env::posix(), options);
  fill(*p, 2000);
  const auto segments = unwrap(list_segments(Env::posix(), path));
  CHECK(segments.size() <= 2);
  CHECK(unwrap(p->watermark()) > 1500);
  check_kept_records_prove(*p);
  // A young record keeps its segment.
  PartitionOptions young = options;
  young.retention.max_age_ms = 100ull * 365 * 24 * 3600 * 1000; // a century
  auto q = open_partition(dir.path() + "/q", Env::posix(), young);
  fill(*q, 2000);
  CHECK(unwrap(list_segments(Env::posix(), dir.path() + "/q")).front() == 0);
  CHECK(unwrap(q->watermark()) == 0);
}

TEST_CASE("loosening retention after removals keeps the partition sound")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  PartitionOptions options = small_segments();
  options.retention.max_records = 100;
  uint64_t log_start = 0;
  {
    auto p = open_partition(path, Env::posix(), options);
    fill(*p, 3000);
    log_start = unwrap(p->head()).log_start;
    CHECK(log_start > 0);
    CHECK(unwrap(list_segments(Env::posix(), path)).front() > 0);
  }
  // Opened with no retention at all (and look-only): nothing is damage.
  const PartitionOptions none = small_segments();
  auto look = none;
  look.repair = Repair::never;
  auto r = open_partition(path, Env::posix(), look);
  CHECK(unwrap(r->watermark()) == log_start);
  CHECK(unwrap(r->audit()).ok());
  // Reopened for writing with no retention: HEAD's log start, not the
  // settings, explains the removed segments.
  auto p = open_partition(path, Env::posix(), none);
  fill(*p, 500);
  CHECK(unwrap(p->watermark()) == log_start);
  check_kept_records_prove(*p);
  p->set_retention(RetentionConfig{.max_records = 10}, 4096);
  fill(*p, 2000);
  CHECK(unwrap(p->watermark()) == unwrap(p->next_offset()) - 10);
  CHECK(unwrap(p->head()).log_start > log_start);
}

TEST_CASE("a crash at any step of retention leaves every removal explained")
{
  // Each run appends across a roll with byte retention; the k-th mutating
  // call fails and everything unsynced is dropped (power loss).
  auto run = [](const std::string& path, Env& env, uint64_t* acked) {
    PartitionOptions options = small_segments();
    options.retention.max_bytes = 4096;
    auto opened = Partition::open(&env, path, "t", 0, options);
    if (!opened.is_ok()) {
      return;
    }
    std::vector<std::string> storage;
    for (int i = 0; i < 60; ++i) {
      auto r = (*opened)->append(inputs(storage, *acked, 20));
      if (!r.is_ok()) {
        return;
      }
      *acked += r->size();
    }
  };
  TestDir dir;
  const auto counted = count_calls_of(dir.path() + "/count", run);
  REQUIRE(counted.acked == 1200);
  REQUIRE(unwrap(list_segments(Env::posix(), dir.path() + "/count")).front() > 0);
  crash_after_each_call(dir.path(), counted.calls, 3, run,
                        [](const std::string& path, uint64_t acked) {
                          PartitionOptions look = small_segments();
                          // No retention, change nothing: HEAD explains it all.
                          look.repair = Repair::never;
                          auto opened = Partition::open(Env::posix(), path, "t", 0, look);
                          REQUIRE(opened.is_ok());
                          REQUIRE(unwrap((*opened)->audit()).ok());
                          auto p = open_partition(path);
                          REQUIRE(unwrap(p->next_offset()) >= acked);
                          if (unwrap(p->next_offset()) > 0) {
                            check_kept_records_prove(*p);
                          }
                        });
}

TEST_CASE("TOPIC: version 1 files read as before; byte and age retention need version 2")
{
  // A version 1 file as the earlier format wrote it: 3 partitions, no
  // compression, retention of 500 records, 128 MiB segments.
  std::string v1;
  put_u32(v1, format::k_topic_magic);
  put_u32(v1, 1);
  put_u32(v1, 3);
  v1.push_back(0);
  v1.push_back(1);
  v1.push_back(0);
  v1.push_back(0);
  put_u64(v1, 500);
  put_u64(v1, 128ull << 20);
  put_u32(v1, crc32c(v1));
  TopicConfig old = unwrap(decode_topic_config(v1));
  CHECK(old.partitions == 3);
  CHECK(old.compression == Compression::none);
  CHECK(old.retention == RetentionConfig{.max_records = 500});
  CHECK(old.segment_bytes == (128ull << 20));
  CHECK(encode_topic_config(old) == v1); // still written as version 1

  TopicConfig config = old;
  config.retention.max_bytes = 1 << 20;
  config.retention.max_age_ms = 3600000;
  const std::string v2 = encode_topic_config(config);
  CHECK(v2.size() == 52);
  CHECK(get_u32(v2.data() + 4) == 2);
  CHECK(unwrap(decode_topic_config(v2)) == config);
  std::string bad = v2;
  bad[13] = static_cast<char>(0x08); // an unknown flag
  put_u32(bad, 0);
  bad.resize(48);
  put_u32(bad, crc32c(bad));
  CHECK(decode_topic_config(bad).status().is_corruption());
  std::string v1_with_v2_size = v1;
  v1_with_v2_size.resize(48, '\0');
  put_u32(v1_with_v2_size, crc32c(v1_with_v2_size));
  CHECK(decode_topic_config(v1_with_v2_size).status().is_corruption());
}

TEST_CASE("the seed's configuration reads the same in C++")
{
  TestDir dir;
  BrokerConfig config(dir.data());
  config.compression = Compression::lz4;
  config.default_retention = RetentionConfig{.max_records = 500};
  CHECK(config.auto_create_topics);
  CHECK(config.default_partitions == 1);
  CHECK(config.segment_bytes == k_default_segment_bytes);
  auto broker = unwrap(Broker::open(config));
  Topic* topic = unwrap(broker->topic_or_create("readings"));
  CHECK(topic->config().retention.max_records == 500);
  CHECK(topic->config().compression == Compression::lz4);
}

TEST_CASE("alter changes retention and segment size, never partitions or compression")
{
  TestDir dir;
  auto broker = unwrap(Broker::open(BrokerConfig(dir.data())));
  TopicConfig config;
  config.partitions = 2;
  config.segment_bytes = 4096;
  config.retention.max_records = 50;
  Topic* topic = unwrap(broker->create_topic("t", config));
  auto producer = broker->producer();
  for (int i = 0; i < 2000; ++i) {
    unwrap(producer.send(ProducerRecord{"t", std::nullopt, std::to_string(i)}));
  }
  TopicConfig wider = config;
  wider.retention = RetentionConfig{.max_bytes = 1 << 20};
  wider.segment_bytes = 8192;
  unwrap(broker->alter_topic("t", wider));
  CHECK(topic->config() == wider);
  CHECK(unwrap(topic->partition(0))->segment_bytes() == 8192);
  TopicConfig more = wider;
  more.partitions = 3;
  auto refused = broker->alter_topic("t", more);
  REQUIRE(refused.status().is_invalid_argument());
  CHECK(refused.status().message().find("partitions") != std::string::npos);
  // Another broker reads the new settings, and the log start was recorded.
  auto again = unwrap(Broker::open(BrokerConfig(dir.data())));
  Topic* reread = unwrap(again->topic("t"));
  CHECK(reread->config() == wider);
  Partition* p = unwrap(reread->partition(0));
  CHECK(unwrap(p->head()).log_start > 0);
  CHECK(unwrap(p->audit()).ok());
  CHECK(broker->alter_topic("nosuch", wider).status().is_not_found());
}

TEST_CASE("loosening retention removes nothing, even where the old limit is exceeded")
{
  // Retention acts when the log rolls, so the active segment can take the
  // log past its byte limit until then; an alter made in that window must
  // not enforce the old limit one last time.
  TestDir dir;
  auto broker = unwrap(Broker::open(BrokerConfig(dir.data())));
  TopicConfig config;
  config.segment_bytes = 4096;
  config.compression = Compression::none;
  config.retention.max_bytes = 4 * 4096;
  unwrap(broker->create_topic("t", config));
  Partition* p = unwrap(unwrap(broker->topic("t"))->partition(0));
  auto producer = broker->producer();
  const std::string value(100, 'v');
  int sent = 0;
  // Until retention has removed segments, and the log is again past its
  // limit between two rolls.
  while (unwrap(p->head()).log_start == 0 || unwrap(p->usage()).reclaimable_bytes == 0) {
    REQUIRE(sent < 5000);
    unwrap(producer.send(ProducerRecord{"t", std::nullopt, value}));
    ++sent;
  }
  const uint64_t log_start = unwrap(p->head()).log_start;
  const auto segments = unwrap(list_segments(Env::posix(), p->dir()));

  TopicConfig looser = config;
  looser.retention.max_bytes.reset();
  unwrap(broker->alter_topic("t", looser));
  CHECK(unwrap(list_segments(Env::posix(), p->dir())) == segments);
  CHECK(unwrap(p->head()).log_start == log_start);
  CHECK(unwrap(p->audit()).ok());
  // Nor does the next roll: only the new limits apply.
  for (int i = 0; i < 200; ++i) {
    unwrap(producer.send(ProducerRecord{"t", std::nullopt, value}));
  }
  CHECK(unwrap(list_segments(Env::posix(), p->dir())).front() == segments.front());
  CHECK(unwrap(p->head()).log_start == log_start);

  // Tightening again: the next roll enforces it.
  unwrap(broker->alter_topic("t", config));
  for (int i = 0; i < 200; ++i) {
    unwrap(producer.send(ProducerRecord{"t", std::nullopt, value}));
  }
  CHECK(unwrap(list_segments(Env::posix(), p->dir())).front() > segments.front());
  CHECK(unwrap(p->head()).log_start > log_start);
}

TEST_CASE("delete removes the topic and its group offsets; a crash part way is finished later")
{
  TestDir dir;
  auto broker = unwrap(Broker::open(BrokerConfig(dir.data())));
  auto producer = broker->producer();
  for (int i = 0; i < 10; ++i) {
    unwrap(producer.send(ProducerRecord{"gone", std::nullopt, std::to_string(i)}));
    unwrap(producer.send(ProducerRecord{"kept", std::nullopt, std::to_string(i)}));
  }
  GroupOffsets offsets(Env::posix(), broker->dir(), "g");
  require_ok(offsets.commit({{{"gone", 0}, 7}, {{"kept", 0}, 3}}));
  require_ok(broker->delete_topic("gone"));
  CHECK(unwrap(broker->topic_names()) == std::vector<std::string>{"kept"});
  auto left = unwrap(offsets.load());
  CHECK(left.size() == 1);
  CHECK(left.count({"kept", 0}) == 1);
  CHECK(broker->delete_topic("gone").is_not_found());
  CHECK(!std::filesystem::exists(broker->dir() + "/topics/gone~deleted"));

  // A crash right after the rename: offsets and files are still there.
  require_ok(offsets.commit({{{"kept", 0}, 9}}));
  std::filesystem::rename(broker->dir() + "/topics/kept", broker->dir() + "/topics/kept~deleted");
  auto fresh = unwrap(Broker::open(BrokerConfig(dir.data())));
  CHECK(unwrap(fresh->topic_names()).empty());
  CHECK(fresh->topic("kept").status().is_not_found());
  unwrap(fresh->create_topic("kept", 1));
  CHECK(!std::filesystem::exists(broker->dir() + "/topics/kept~deleted"));
  CHECK(unwrap(offsets.load()).empty());
  CHECK(unwrap(unwrap(unwrap(fresh->topic("kept"))->partition(0))->next_offset()) == 0);
}

TEST_SUITE_END();
