// Fault sweeps: a produce–consume–commit–compact workload through the public
// API (a topic of 2 partitions with 4 KiB segments and retention, so segments
// roll and compaction removes some; two groups, one coordinating through
// member files as the CLI does) runs once clean to number its I/O calls of
// every kind, then once per call N with call N failing: with EIO (that call
// only), then with ENOSPC (the disk stays full for the rest of the run). The
// workload stops at its first error, which must be the injected one. The
// directory is then checked twice: reopened as the failure left it, and
// after a simulated power loss at that point (tests/support/fault_env.h).
// Every acknowledged record must be readable with its exact key, value and
// timestamp, offsets dense, each acknowledged commit kept and never passed by
// more than the group read, each group resuming at its commit, the audit
// clean, and the directory must take a new produce and commit.
//
// Release builds sweep every call. Sanitizer builds (MERKQL_FAULT_SWEEP_STRIDE
// set by tests/CMakeLists.txt) sweep every k-th call to stay within CI time.
// Environment: MERKQL_FAULT_SWEEP_STRIDE overrides the stride (1: every call);
// MERKQL_FAULT_SWEEP_ONLY=ERRNO:N runs only that fault and keeps its
// directories under /tmp/merkql-fault-sweep-kept; MERKQL_FAULT_SWEEP_SHOW=K
// reports up to K problems (default 40).
#include "support/fault_env.h"
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#ifndef MERKQL_FAULT_SWEEP_STRIDE
#define MERKQL_FAULT_SWEEP_STRIDE 1
#endif

using namespace merkql;
using merkql::test::FaultEnv;
using merkql::test::TestDir;

namespace {

const std::string k_topic = "events";
const std::vector<std::string> k_groups = {"auditors", "readers"};
constexpr uint32_t k_partitions = 2;
constexpr uint64_t k_retention = 50;
constexpr int k_records_per_partition = 20; // per batch

TopicConfig topic_config()
{
  TopicConfig config;
  config.partitions = k_partitions;
  config.retention.max_records = k_retention;
  config.segment_bytes = 4096; // a segment holds about two batches
  return config;
}

struct Stored {
  std::optional<std::string> key;
  std::string value;
  TimestampNs timestamp = 0;
  bool operator==(const Stored&) const = default;
};

// What the workload was told (acknowledged) and what it only attempted.
struct Ledger {
  bool topic_created = false;
  std::map<std::pair<uint32_t, uint64_t>, Stored> acked; // (partition, offset)
  std::map<std::string, Stored> attempted;               // by value (each value is unique)
  // Per group and partition: the last acknowledged commit, and the highest
  // position the group could have committed (acknowledged or not).
  std::map<std::string, std::map<uint32_t, uint64_t>> committed;
  std::map<std::string, std::map<uint32_t, uint64_t>> reachable;
  int next_value = 0;
};

std::string value_text(int id)
{
  // Unique, and long enough that a segment rolls every couple of batches.
  return fmt::format(R"({{"id":{},"pad":"{:016x}{:016x}{:016x}"}})", id,
                     0x9e3779b97f4a7c15ull * static_cast<uint64_t>(id + 1),
                     0xc2b2ae3d27d4eb4full * static_cast<uint64_t>(id + 7),
                     0x165667b19e3779f9ull * static_cast<uint64_t>(id + 13));
}

Status produce_batch(Broker& broker, Ledger& ledger)
{
  std::vector<ProducerRecord> batch;
  for (uint32_t p = 0; p < k_partitions; ++p) {
    for (int k = 0; k < k_records_per_partition; ++k) {
      const int id = ledger.next_value++;
      ProducerRecord r;
      r.topic = k_topic;
      r.partition = p;
      r.value = value_text(id);
      r.value_is_json = true;
      if (id % 3 != 0) {
        r.key = fmt::format("key-{}", id % 7);
      }
      if (id % 2 == 0) {
        r.timestamp = TimestampNs{1700000000} * 1000000000 + id * 1000;
      }
      batch.push_back(r);
      ledger.attempted[r.value] = Stored{r.key, r.value, r.timestamp.value_or(0)};
    }
  }
  auto sent = broker.producer().send_batch(batch);
  if (!sent.is_ok()) {
    return sent.status();
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const RecordMetadata& m = (*sent)[i];
    if (m.partition != *batch[i].partition) {
      return Status::invalid_argument("record acknowledged in another partition");
    }
    ledger.attempted[batch[i].value].timestamp = m.timestamp;
    ledger.acked[{m.partition, m.offset}] = Stored{batch[i].key, batch[i].value, m.timestamp};
  }
  return Status::ok();
}

ConsumerConfig group_config(const std::string& group)
{
  ConsumerConfig config;
  config.group_id = group;
  config.offset_reset = OffsetReset::earliest;
  config.max_poll_records = 30;
  // One group coordinates through member files, as the CLI does.
  config.coordination = group == k_groups[0] ? Coordination::file_locks : Coordination::none;
  return config;
}

// Polls up to `polls` times, committing after each poll.
Status consume_and_commit(Consumer& consumer, const std::string& group, int polls, Ledger& ledger)
{
  for (int i = 0; i < polls; ++i) {
    auto records = consumer.poll();
    if (!records.is_ok()) {
      return records.status();
    }
    // Whatever was assigned may have been committed at its start position.
    for (const auto& [tp, position] : consumer.positions()) {
      uint64_t& reach = ledger.reachable[group][tp.second];
      reach = std::max(reach, position);
    }
    const auto positions = consumer.positions();
    MERKQL_TRY(consumer.commit_sync());
    for (const auto& [tp, position] : positions) {
      ledger.committed[group][tp.second] = position;
    }
    if (records->empty()) {
      break;
    }
  }
  return Status::ok();
}

Status compact_all(Broker& broker)
{
  MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker.topic(k_topic));
  for (uint32_t p = 0; p < k_partitions; ++p) {
    MERKQL_ASSIGN_OR_RETURN(Partition * partition, topic->partition(p));
    MERKQL_TRY(partition->compact().status());
  }
  return Status::ok();
}

// The workload; returns the first error (and stops there).
Status workload(const std::string& dir, Env* env, Ledger& ledger, uint64_t* segments_removed)
{
  BrokerConfig config;
  config.dir = dir;
  config.env = env;
  config.auto_create_topics = false;
  MERKQL_ASSIGN_OR_RETURN(auto broker, Broker::open(config));
  MERKQL_TRY(broker->create_topic(k_topic, topic_config()).status());
  ledger.topic_created = true;
  for (int b = 0; b < 6; ++b) {
    MERKQL_TRY(produce_batch(*broker, ledger));
  }
  {
    std::map<std::string, std::unique_ptr<Consumer>> consumers;
    for (const std::string& group : k_groups) {
      MERKQL_ASSIGN_OR_RETURN(consumers[group], broker->consumer(group_config(group)));
      MERKQL_TRY(consumers[group]->subscribe({k_topic}));
      MERKQL_TRY(
        consume_and_commit(*consumers[group], group, group == k_groups[1] ? 10 : 2, ledger));
    }
    MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker->topic(k_topic));
    for (uint32_t p = 0; p < k_partitions; ++p) {
      MERKQL_ASSIGN_OR_RETURN(Partition * partition, topic->partition(p));
      MERKQL_ASSIGN_OR_RETURN(CompactResult r, partition->compact());
      *segments_removed += r.segments_removed;
    }
    for (int b = 0; b < 4; ++b) {
      MERKQL_TRY(produce_batch(*broker, ledger));
    }
    for (const std::string& group : k_groups) {
      MERKQL_TRY(consume_and_commit(*consumers[group], group, 10, ledger));
      MERKQL_TRY(consumers[group]->close());
    }
  }
  MERKQL_TRY(compact_all(*broker));
  // Retention enforced by an append as the log rolls never fails the
  // append: its failure is reported here.
  MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker->topic(k_topic));
  for (uint32_t p = 0; p < k_partitions; ++p) {
    MERKQL_ASSIGN_OR_RETURN(Partition * partition, topic->partition(p));
    MERKQL_TRY(partition->retention_error());
  }
  return Status::ok();
}

// Collects what is wrong with one directory (empty: all is well).
class Problems {
public:
  explicit Problems(std::vector<std::string>& out, std::string where)
    : m_out(out), m_where(std::move(where))
  {}
  template<class... A> void add(fmt::format_string<A...> f, A&&... args)
  {
    m_out.push_back(m_where + ": " + fmt::format(f, std::forward<A>(args)...));
  }
  bool any() const { return !m_out.empty(); }

private:
  std::vector<std::string>& m_out;
  std::string m_where;
};

// Checks a directory after a fault, with a plain pass-through Env (no
// faults; it skips only the real fsync, which a check does not need).
void check_directory(const std::string& dir, const Ledger& ledger, Problems& problems)
{
  FaultEnv env;
  env.skip_real_sync(true);
  BrokerConfig config;
  config.dir = dir;
  config.env = &env;
  config.auto_create_topics = false;
  auto opened = Broker::open(config);
  if (!opened.is_ok()) {
    problems.add("the directory does not reopen: {}", opened.status().message());
    return;
  }
  std::shared_ptr<Broker> broker = *opened;
  auto topic = broker->topic(k_topic);
  if (!topic.is_ok()) {
    if (ledger.topic_created || !topic.status().is_not_found()) {
      problems.add("topic {}: {}", k_topic, topic.status().message());
      return;
    }
    // Its creation was never acknowledged: creating it now must work.
    topic = broker->create_topic(k_topic, topic_config());
    if (!topic.is_ok()) {
      problems.add("cannot create the topic whose creation failed: {}", topic.status().message());
      return;
    }
  }
  if ((*topic)->config().retention.max_records != k_retention
      || (*topic)->partition_count() != k_partitions
      || (*topic)->config().segment_bytes != topic_config().segment_bytes) {
    problems.add("topic settings changed");
    return;
  }

  std::map<uint32_t, uint64_t> next_offsets;
  std::map<uint32_t, uint64_t> part_watermarks;
  for (uint32_t p = 0; p < k_partitions; ++p) {
    auto partition = (*topic)->partition(p);
    if (!partition.is_ok()) {
      problems.add("partition {} does not open: {}", p, partition.status().message());
      return;
    }
    Partition* part = *partition;
    auto next = part->next_offset();
    if (!next.is_ok()) {
      problems.add("partition {}: next offset: {}", p, next.status().message());
      return;
    }
    next_offsets[p] = *next;
    // Acknowledged offsets must be below the end.
    for (const auto& [at, stored] : ledger.acked) {
      if (at.first == p && at.second >= *next) {
        problems.add("partition {}: acknowledged offset {} is past the end {}", p, at.second,
                     *next);
        break;
      }
    }
    // The lowest readable chunk: compaction may have removed whole chunks
    // below the retention watermark, never above it.
    const uint64_t watermark = part->watermark_for(*next);
    part_watermarks[p] = watermark;
    uint64_t first = 0;
    PartitionReader reader(part);
    std::vector<Record> records;
    while (first < *next) {
      records.clear();
      auto got = reader.read(first, *next, 1, records);
      if (got.is_ok()) {
        break;
      }
      if (!got.status().is_not_found()) {
        problems.add("partition {}: offset {}: {}", p, first, got.status().message());
        return;
      }
      first += 64;
    }
    if (first > watermark) {
      problems.add("partition {}: offsets {}..{} above the watermark {} are not stored", p,
                   watermark, first, watermark);
      return;
    }
    records.clear();
    PartitionReader all(part);
    auto got = all.read(first, *next, *next - first, records);
    if (!got.is_ok()) {
      problems.add("partition {}: reading {}..{}: {}", p, first, *next, got.status().message());
      return;
    }
    if (records.size() != *next - first) {
      problems.add("partition {}: {} records in {}..{}", p, records.size(), first, *next);
      return;
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < records.size(); ++i) {
      const Record& r = records[i];
      const uint64_t offset = first + i;
      if (r.offset != offset) {
        problems.add("partition {}: offsets not dense: {} at {}", p, r.offset, offset);
        return;
      }
      const Stored got_record{r.key, r.value, r.timestamp};
      auto acked = ledger.acked.find({p, offset});
      if (acked != ledger.acked.end()) {
        if (!(acked->second == got_record)) {
          problems.add("partition {}: acknowledged offset {} holds {}, not {}", p, offset, r.value,
                       acked->second.value);
        }
      } else {
        // Not acknowledged: it must be a record that was sent, intact.
        auto sent = ledger.attempted.find(r.value);
        if (sent == ledger.attempted.end() || sent->second.key != r.key) {
          problems.add("partition {}: offset {} holds a record never sent: {}", p, offset, r.value);
        }
      }
      if (!seen.insert(r.value).second) {
        problems.add("partition {}: record {} stored twice", p, r.value);
      }
    }
    auto audit = part->audit();
    if (!audit.is_ok()) {
      problems.add("partition {}: audit: {}", p, audit.status().message());
    } else if (!audit->ok()) {
      problems.add("partition {}: audit at offset {}: {}", p, *audit->first_bad_offset,
                   audit->problem);
    }
  }
  if (problems.any()) {
    return;
  }

  // Commits: at or after the last acknowledged one, never past what the
  // group read, and a group resumes exactly there.
  for (const std::string& group : k_groups) {
    GroupOffsets offsets(&env, dir, group);
    auto loaded = offsets.load();
    if (!loaded.is_ok()) {
      problems.add("group {}: {}", group, loaded.status().message());
      continue;
    }
    std::map<uint32_t, uint64_t> committed;
    for (const auto& [tp, offset] : *loaded) {
      if (tp.first == k_topic) {
        committed[tp.second] = offset;
      }
    }
    auto acked_of = [&](uint32_t p) -> std::optional<uint64_t> {
      auto g = ledger.committed.find(group);
      if (g == ledger.committed.end() || !g->second.count(p)) {
        return std::nullopt;
      }
      return g->second.at(p);
    };
    auto reach_of = [&](uint32_t p) -> uint64_t {
      auto g = ledger.reachable.find(group);
      return g == ledger.reachable.end() || !g->second.count(p) ? 0 : g->second.at(p);
    };
    for (uint32_t p = 0; p < k_partitions; ++p) {
      auto acked = acked_of(p);
      auto it = committed.find(p);
      if (acked && it == committed.end()) {
        problems.add("group {} partition {}: acknowledged commit {} is lost", group, p, *acked);
        continue;
      }
      if (it == committed.end()) {
        continue;
      }
      if (acked && it->second < *acked) {
        problems.add("group {} partition {}: commit {} is behind the acknowledged {}", group, p,
                     it->second, *acked);
      }
      // A start position committed on assignment is at most the watermark.
      const uint64_t bound = std::max(reach_of(p), part_watermarks[p]);
      if (it->second > bound || it->second > next_offsets[p]) {
        problems.add("group {} partition {}: commit {} is past what it read ({}) or the end ({})",
                     group, p, it->second, bound, next_offsets[p]);
      }
    }
    // Resume: the first record each partition delivers.
    auto consumer = broker->consumer(group_config(group));
    if (!consumer.is_ok()) {
      problems.add("group {}: consumer: {}", group, consumer.status().message());
      continue;
    }
    Status subscribed = (*consumer)->subscribe({k_topic});
    if (!subscribed.is_ok()) {
      problems.add("group {}: subscribe: {}", group, subscribed.message());
      continue;
    }
    std::map<uint32_t, uint64_t> first_delivered;
    for (int polls = 0; polls < 40 && first_delivered.size() < k_partitions; ++polls) {
      auto records = (*consumer)->poll();
      if (!records.is_ok()) {
        problems.add("group {}: poll: {}", group, records.status().message());
        break;
      }
      if (records->empty()) {
        break;
      }
      for (const Record& r : *records) {
        first_delivered.emplace(r.partition, r.offset);
      }
    }
    for (uint32_t p = 0; p < k_partitions; ++p) {
      auto part = (*topic)->partition(p);
      const uint64_t watermark = (*part)->watermark_for(next_offsets[p]);
      auto it = committed.find(p);
      const uint64_t expected = std::max(it == committed.end() ? watermark : it->second, watermark);
      auto delivered = first_delivered.find(p);
      if (expected < next_offsets[p]
          && (delivered == first_delivered.end() || delivered->second != expected)) {
        problems.add("group {} partition {}: resumes at {}, not at {}", group, p,
                     delivered == first_delivered.end() ? -1 : int64_t(delivered->second),
                     expected);
      }
    }
    // The directory takes a new commit.
    Status closed = (*consumer)->commit_sync();
    if (!closed.is_ok()) {
      problems.add("group {}: a new commit fails: {}", group, closed.message());
    }
  }

  // The directory takes a new produce, at the next offsets.
  for (uint32_t p = 0; p < k_partitions; ++p) {
    ProducerRecord r;
    r.topic = k_topic;
    r.partition = p;
    r.value = R"({"after":"fault"})";
    auto sent = broker->producer().send(r);
    if (!sent.is_ok()) {
      problems.add("partition {}: a new produce fails: {}", p, sent.status().message());
      continue;
    }
    if (sent->offset != next_offsets[p]) {
      problems.add("partition {}: a new record went to offset {}, not {}", p, sent->offset,
                   next_offsets[p]);
    }
    auto part = (*topic)->partition(p);
    auto audit = (*part)->audit();
    if (!audit.is_ok() || !audit->ok()) {
      problems.add("partition {}: audit after a new produce fails", p);
    }
  }
}

int sweep_stride()
{
  if (const char* s = std::getenv("MERKQL_FAULT_SWEEP_STRIDE")) {
    const int k = std::atoi(s);
    if (k >= 1) {
      return k;
    }
  }
  return MERKQL_FAULT_SWEEP_STRIDE;
}

// A failure the library may tolerate without reporting it: reserving space
// ahead is best effort, removing a departing member's file is cleanup, and a
// member that cannot write its topics into its member file reads on with
// the file empty (docs/FORMAT.md §Groups).
bool may_be_absorbed(const FaultEnv::Injected& injected)
{
  // Reserving disk ahead of the log, and giving it back when a writer
  // closes (which tries the partition lock without waiting), are best
  // effort: the workload goes on without them.
  const bool partition_lock = injected.path.size() >= 5
                              && injected.path.compare(injected.path.size() - 5, 5, "/LOCK") == 0
                              && injected.path.find("/topics/") != std::string::npos;
  return injected.kind == test::fault_preallocate
         || (injected.kind == test::fault_lock && partition_lock)
         || ((injected.kind == test::fault_remove || injected.kind == test::fault_write
              || injected.kind == test::fault_truncate)
             && injected.path.find("/members/") != std::string::npos);
}

} // namespace

TEST_SUITE_BEGIN("fault sweep");

TEST_CASE("a workload survives a failure at every I/O call and a power loss after it")
{
  TestDir dir;
  uint64_t calls = 0;
  {
    FaultEnv env;
    env.count_calls(test::k_fault_all_calls);
    env.skip_real_sync(true);
    Ledger ledger;
    uint64_t removed = 0;
    const std::string path = dir.path() + "/clean";
    Status s = workload(path, &env, ledger, &removed);
    REQUIRE_MESSAGE(s.is_ok(), s.message());
    calls = static_cast<uint64_t>(env.operations());
    // The workload is what it claims: segments roll and compaction removes some.
    CHECK(removed >= 2);
    CHECK(ledger.acked.size() == 10 * k_partitions * k_records_per_partition);
    // Checked as it is (on a copy), and after a power loss right at the end.
    std::vector<std::string> problems;
    std::filesystem::copy(path, path + "-copy", std::filesystem::copy_options::recursive);
    Problems as_is(problems, "clean run");
    check_directory(path + "-copy", ledger, as_is);
    env.drop_unsynced();
    Problems after_loss(problems, "clean run, after power loss");
    check_directory(path, ledger, after_loss);
    for (const std::string& p : problems) {
      FAIL_CHECK(p);
    }
    std::filesystem::remove_all(path);
    std::filesystem::remove_all(path + "-copy");
  }
  REQUIRE(calls > 100);

  const int stride = sweep_stride();
  // MERKQL_FAULT_SWEEP_ONLY=ERRNO:N runs only that fault and keeps its directories.
  std::optional<std::pair<int, uint64_t>> only;
  if (const char* s = std::getenv("MERKQL_FAULT_SWEEP_ONLY")) {
    int e = 0;
    unsigned long long n = 0;
    if (std::sscanf(s, "%d:%llu", &e, &n) == 2) {
      only.emplace(e, n);
    }
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> problems;
  uint64_t swept = 0;
  uint64_t reported = 0;
  uint64_t absorbed = 0;
  for (int err : {EIO, ENOSPC}) {
    for (uint64_t n = 1; n <= calls; n += static_cast<uint64_t>(stride)) {
      if (only && (only->first != err || only->second != n)) {
        continue;
      }
      const std::string path = fmt::format("{}/run-{}-{}", dir.path(), err, n);
      const std::string copy = path + "-reopened";
      Ledger ledger;
      FaultEnv env;
      env.count_calls(test::k_fault_all_calls);
      env.skip_real_sync(true);
      // EIO fails one call; a full disk stays full for the rest of the run.
      env.fail_at(n, err, err == ENOSPC ? test::k_fault_space_calls : 0);
      uint64_t removed = 0;
      const Status s = workload(path, &env, ledger, &removed);
      ++swept;
      const auto injected = env.injected();
      const std::string where = fmt::format(
        "{} at call {} ({} {})", err == EIO ? "EIO" : "ENOSPC", n,
        injected ? test::fault_call_name(injected->kind) : "none", injected ? injected->path : "");
      Problems report(problems, where);
      if (!injected) {
        report.add("no call {} was made", n);
        continue;
      }
      if (s.is_ok()) {
        if (!may_be_absorbed(*injected)) {
          report.add("the failure was not reported: the workload succeeded");
        }
        ++absorbed;
      } else {
        ++reported;
        if (s.message().find("injected failure") == std::string::npos) {
          report.add("the workload failed with another error: {}", s.message());
        }
      }
      // (a) Reopened as the failure left it (on a copy).
      if (std::filesystem::exists(path)) {
        std::filesystem::copy(path, copy, std::filesystem::copy_options::recursive);
        if (only) {
          std::filesystem::copy(path, path + "-as-left", std::filesystem::copy_options::recursive);
        }
        Problems reopened(problems, where + ", reopened");
        check_directory(copy, ledger, reopened);
        if (!only) {
          std::filesystem::remove_all(copy);
        }
      }
      // (b) After a power loss at that point.
      env.drop_unsynced();
      if (only) {
        std::filesystem::copy(path, path + "-after-loss", std::filesystem::copy_options::recursive);
        std::filesystem::remove_all("/tmp/merkql-fault-sweep-kept");
        std::filesystem::copy(dir.path(), "/tmp/merkql-fault-sweep-kept",
                              std::filesystem::copy_options::recursive);
      }
      Problems after_loss(problems, where + ", after power loss");
      check_directory(path, ledger, after_loss);
      std::filesystem::remove_all(path);
    }
  }
  const double seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE(fmt::format("fault sweep: {} I/O calls per run, {} faults swept (stride {}), {} "
                      "reported, {} absorbed, {:.1f} s",
                      calls, swept, stride, reported, absorbed, seconds));
  size_t show = 40;
  if (const char* s = std::getenv("MERKQL_FAULT_SWEEP_SHOW")) {
    show = static_cast<size_t>(std::atoll(s));
  }
  for (size_t i = 0; i < problems.size() && i < show; ++i) {
    FAIL_CHECK(problems[i]);
  }
  CHECK_MESSAGE(problems.empty(), problems.size(), " problems");
}

TEST_SUITE_END();
