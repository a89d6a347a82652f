// The partition log on disk: proofs from stored nodes, crash recovery,
// corruption, concurrent writers, compaction.
#include "support/fault_env.h"
#include "support/partition_util.h"
#include "support/test_dir.h"

#include <merkql/coding.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/merkql.h>
#include <merkql/segment.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace merkql;
using merkql::test::copy_dir;
using merkql::test::corrupt;
using merkql::test::count_calls_of;
using merkql::test::crash_after_each_call;
using merkql::test::expected_root;
using merkql::test::FaultEnv;
using merkql::test::fill;
using merkql::test::inputs;
using merkql::test::open_partition;
using merkql::test::read_bytes;
using merkql::test::require_ok;
using merkql::test::small_segments;
using merkql::test::TestDir;
using merkql::test::unwrap;
using merkql::test::value_of;
using merkql::test::write_bytes;
using merkql::test::write_two_batches;

namespace {

void check_prefix(Partition& p, uint64_t n)
{
  for (uint64_t o = 0; o < n; ++o) {
    Record r = unwrap(p.read(o));
    REQUIRE(r.value == value_of(o));
  }
}

// The n-th block (from 1) of the log at path, as SegmentReader finds it
// (its bytes dropped: they point into the reader's buffer).
SegmentReader::Block nth_block(const std::string& path, int n)
{
  SegmentReader log(Env::posix(), path, {});
  std::string buffer;
  SegmentReader::Block block;
  for (int b = 0; b < n; ++b) {
    REQUIRE(unwrap(log.next(buffer, &block)));
  }
  block.bytes = {};
  return block;
}

} // namespace

TEST_SUITE_BEGIN("merkql::Partition");

TEST_CASE("proofs from stored nodes verify for every offset of every size 1..200")
{
  TestDir dir;
  auto p = open_partition(dir.path() + "/p");
  Sha256 ctx;
  MerkleAccumulator acc;
  std::vector<std::string> storage;
  for (uint64_t n = 1; n <= 200; ++n) {
    auto appended = unwrap(p->append(inputs(storage, n - 1, 1)));
    REQUIRE(appended[0].offset == n - 1);
    acc.append(leaf_hash(appended[0].record_hash, n - 1, ctx), ctx);
    const Hash root = *acc.root(ctx);
    REQUIRE(unwrap(p->merkle_root()) == root);
    for (uint64_t o = 0; o < n; ++o) {
      InclusionProof proof = unwrap(p->proof(o));
      REQUIRE(proof.tree_size == n);
      REQUIRE(verify_proof(proof, root));
    }
    CHECK(p->proof(n).status().is_not_found());
  }
  // Proofs and roots against past sizes.
  MerkleAccumulator past;
  for (uint64_t n = 1; n <= 200; n += 13) {
    const Hash root = *unwrap(p->merkle_root_at(n));
    for (uint64_t o = 0; o < n; o += 7) {
      CHECK(verify_proof(unwrap(p->proof(o, n)), root));
    }
  }
}

TEST_CASE("large batches split into blocks and read back")
{
  TestDir dir;
  PartitionOptions options;
  options.block_bytes = 1024;
  auto p = open_partition(dir.path() + "/p", Env::posix(), options);
  fill(*p, 1000, 1000);
  fill(*p, 3, 3);
  CHECK(unwrap(p->next_offset()) == 1003);
  check_prefix(*p, 1003);
  PartitionReader reader(p.get());
  std::vector<Record> out;
  CHECK(unwrap(reader.read(500, 1003, 10000, out)) == 503);
  CHECK(out.front().offset == 500);
  CHECK(out.back().value == value_of(1002));
  auto report = unwrap(p->audit());
  CHECK(report.ok());
  CHECK(report.records_checked == 1003);
  CHECK(report.root == unwrap(p->merkle_root()));
}

TEST_CASE("a batch hashed in two halves gives the hashes and root of record-by-record hashing")
{
  // 5,001 records: past the size where a batch's hashes are split between
  // two threads, with an odd count and chunk boundaries inside each half.
  TestDir dir;
  auto p = open_partition(dir.path() + "/p");
  std::vector<std::string> storage;
  unwrap(p->append(inputs(storage, 0, 3)));
  const auto appended = unwrap(p->append(inputs(storage, 3, 5001)));
  REQUIRE(appended.size() == 5001);
  Sha256 ctx;
  for (size_t k = 0; k < appended.size(); k += 97) {
    const Record r = unwrap(p->read(3 + k));
    CHECK(appended[k].offset == 3 + k);
    CHECK(appended[k].record_hash == record_hash(r));
  }
  CHECK(appended.back().record_hash == record_hash(unwrap(p->read(5003))));
  CHECK(unwrap(p->merkle_root()) == expected_root(*p, 5004));
  const Hash root = *unwrap(p->merkle_root());
  for (uint64_t o : {0, 3, 2503, 2504, 5003}) {
    CHECK(verify_proof(unwrap(p->proof(o)), root));
  }
  CHECK(unwrap(p->audit()).ok());
}

TEST_CASE("a crash at any byte of the last append keeps every acknowledged record")
{
  // An append syncs the log, then writes TREE, INDEX and HEAD. So a crash
  // leaves either a prefix of the new log bytes with the old TREE, INDEX
  // and HEAD, or all of the log with any prefix of the new TREE and INDEX
  // bytes and the old HEAD, or a torn newest HEAD slot.
  TestDir dir;
  const std::string base = dir.path() + "/base";
  const std::string old_state = dir.path() + "/old";
  std::vector<std::string> storage;
  uint64_t acked_before = 0;
  uint64_t old_log_size = 0; // where the log ended before the last append
  {
    auto p = open_partition(base);
    for (int b = 0; b < 9; ++b) {
      unwrap(p->append(inputs(storage, acked_before, 15)));
      acked_before += 15;
    }
    copy_dir(base, old_state);
    old_log_size = unwrap(p->head()).segment_end;
    unwrap(p->append(inputs(storage, acked_before, 20))); // crosses the 128-record chunk
  }
  const uint64_t acked_after = acked_before + 20;
  const std::string new_log = read_bytes(base + "/00000000.log");
  const std::string head_after = read_bytes(base + "/HEAD");
  int cases = 0;
  auto check = [&](const std::string& crash, uint64_t expected) {
    auto p = open_partition(crash);
    const uint64_t n = unwrap(p->next_offset());
    REQUIRE(n == expected);
    check_prefix(*p, n);
    REQUIRE(unwrap(p->merkle_root()) == expected_root(*p, n));
    REQUIRE(unwrap(p->audit()).ok());
    // And the partition keeps working.
    unwrap(p->append(inputs(storage, n, 1)));
    REQUIRE(unwrap(p->next_offset()) == n + 1);
    REQUIRE(unwrap(p->merkle_root()) == expected_root(*p, n + 1));
    ++cases;
  };
  const std::string crash = dir.path() + "/crash";
  // The file as the writer left it (its size set ahead: zero bytes follow
  // the torn batch), or cut at the torn byte (the size was never set ahead).
  const uint64_t set_ahead = read_bytes(old_state + "/00000000.log").size();
  REQUIRE(set_ahead > new_log.size());
  for (uint64_t len = old_log_size; len < new_log.size(); ++len) {
    CAPTURE(len);
    copy_dir(old_state, crash);
    std::string torn = new_log.substr(0, len);
    if (len % 2 == 0) {
      torn.resize(set_ahead, '\0');
    }
    write_bytes(crash + "/00000000.log", torn);
    check(crash, acked_before);
  }
  for (const std::string name : {"TREE", "INDEX"}) {
    const std::string full = read_bytes(base + "/" + name);
    const uint64_t from = read_bytes(old_state + "/" + name).size();
    for (uint64_t len = from; len <= full.size(); ++len) {
      CAPTURE(name);
      CAPTURE(len);
      copy_dir(old_state, crash);
      write_bytes(crash + "/00000000.log", new_log);
      std::filesystem::copy_file(base + "/TREE", crash + "/TREE",
                                 std::filesystem::copy_options::overwrite_existing);
      std::filesystem::copy_file(base + "/INDEX", crash + "/INDEX",
                                 std::filesystem::copy_options::overwrite_existing);
      write_bytes(crash + "/" + name, full.substr(0, len));
      check(crash, acked_after); // the synced batch is complete: recovery keeps it
    }
  }
  // The newest HEAD slot torn at any byte: the older slot wins, and the
  // complete batch past it is kept.
  const uint64_t newest =
    head_after.substr(0, 256) == read_bytes(old_state + "/HEAD").substr(0, 256) ? 256 : 0;
  for (uint64_t at = newest; at < newest + format::k_head_slot_size; at += 7) {
    CAPTURE(at);
    copy_dir(base, crash);
    corrupt(crash + "/HEAD", at, 1);
    check(crash, acked_after);
  }
  CHECK(cases > 100);
}

TEST_CASE("a log cut short of what HEAD acknowledges is corruption, and nothing is cut")
{
  TestDir dir;
  const std::string base = dir.path() + "/base";
  fill(*open_partition(base), 300, 100);
  const std::string log = read_bytes(base + "/00000000.log");
  const std::string crash = dir.path() + "/crash";
  for (uint64_t len : {uint64_t{0}, uint64_t{1}, log.size() / 2, log.size() - 3, log.size() - 1,
                       uint64_t{UINT64_MAX}}) {
    CAPTURE(len);
    copy_dir(base, crash);
    if (len == UINT64_MAX) {
      std::filesystem::remove(crash + "/00000000.log"); // deleted outright
    } else {
      write_bytes(crash + "/00000000.log", log.substr(0, len));
    }
    const std::string damaged = len == UINT64_MAX ? std::string() : log.substr(0, len);
    for (Repair repair : {Repair::on_open, Repair::never}) {
      PartitionOptions options;
      options.repair = repair;
      auto opened = Partition::open(Env::posix(), crash, "t", 0, options);
      REQUIRE_FALSE(opened.is_ok());
      CHECK(opened.status().is_corruption());
    }
    // Nothing was cut, extended or renumbered.
    if (len != UINT64_MAX) {
      CHECK(read_bytes(crash + "/00000000.log") == damaged);
    } else {
      CHECK_FALSE(std::filesystem::exists(crash + "/00000000.log"));
    }
    for (const std::string name : {"HEAD", "TREE", "INDEX"}) {
      CHECK(read_bytes(crash + "/" + name) == read_bytes(base + "/" + name));
    }
  }
}

TEST_CASE("a bad block inside what HEAD acknowledges is corruption, and no file changes")
{
  TestDir dir;
  const std::string base = dir.path() + "/base";
  fill(*open_partition(base), 200, 50);
  const std::string crash = dir.path() + "/crash";
  copy_dir(base, crash);
  corrupt(crash + "/00000000.log", 60, 1); // inside the first batch
  write_bytes(crash + "/INDEX", read_bytes(crash + "/INDEX").substr(0, 16)); // forces a rescan
  std::map<std::string, std::string> before;
  for (const std::string name : {"00000000.log", "HEAD", "TREE", "INDEX"}) {
    before[name] = read_bytes(crash + "/" + name);
  }
  auto opened = Partition::open(Env::posix(), crash, "t", 0, PartitionOptions{});
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().is_corruption());
  for (const auto& [name, bytes] : before) {
    CAPTURE(name);
    CHECK(read_bytes(crash + "/" + name) == bytes);
  }
}

TEST_CASE("log data with no valid HEAD is corruption, and nothing is cut")
{
  TestDir dir;
  const std::string base = dir.path() + "/base";
  write_two_batches(base);
  const std::string crash = dir.path() + "/crash";
  for (int damage = 0; damage < 3; ++damage) {
    CAPTURE(damage);
    copy_dir(base, crash);
    if (damage == 0) {
      std::filesystem::remove(crash + "/HEAD");
    } else if (damage == 1) {
      write_bytes(crash + "/HEAD", "");
    } else {
      corrupt(crash + "/HEAD", 0, 512); // both slots
    }
    auto opened = Partition::open(Env::posix(), crash, "t", 0, PartitionOptions{});
    REQUIRE_FALSE(opened.is_ok());
    CHECK(opened.status().is_corruption());
    CHECK(read_bytes(crash + "/00000000.log") == read_bytes(base + "/00000000.log"));
  }
}

TEST_CASE("a missing segment on a topic without retention is corruption, not compaction")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  PartitionOptions options = small_segments();
  options.compression = Compression::none;
  fill(*open_partition(path, Env::posix(), options), 500, 25);
  REQUIRE(std::filesystem::exists(path + "/00000003.log"));
  for (const std::string gone : {"00000000.log", "00000001.log"}) {
    CAPTURE(gone);
    const std::string c = dir.path() + "/c";
    copy_dir(path, c);
    std::filesystem::remove(c + "/" + gone);
    PartitionOptions never = options;
    never.repair = Repair::never;
    auto opened = Partition::open(Env::posix(), c, "t", 0, never);
    REQUIRE(opened.is_ok()); // HEAD, TREE and INDEX agree: the open is cheap
    auto p = std::move(opened).value();
    int corrupt_reads = 0;
    for (uint64_t o = 0; o < 500; ++o) {
      auto read = p->read(o);
      REQUIRE((read.is_ok() || read.status().is_corruption()));
      corrupt_reads += read.is_ok() ? 0 : 1;
    }
    CHECK(corrupt_reads > 0);
    AuditReport report = unwrap(p->audit());
    CHECK_FALSE(report.ok());
    CHECK(report.problem.find("compacted") == std::string::npos);
  }
}

TEST_CASE("a flipped byte in stored records is corruption, never served")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  write_two_batches(path);
  const std::string log = path + "/00000000.log";
  const size_t size = read_bytes(log).size();
  for (uint64_t at : {uint64_t{40}, uint64_t{60}, uint64_t{size - 3}}) {
    CAPTURE(at);
    const std::string copy = dir.path() + "/c";
    copy_dir(path, copy);
    corrupt(copy + "/00000000.log", at, 1);
    auto p = open_partition(copy);
    bool any_corruption = false;
    for (uint64_t o = 0; o < 20; ++o) {
      auto r = p->read(o);
      if (r.is_ok()) {
        CHECK(r->value == value_of(o));
      } else {
        CHECK(r.status().is_corruption());
        any_corruption = true;
      }
    }
    CHECK(any_corruption);
    auto report = unwrap(p->audit());
    CHECK_FALSE(report.ok());
  }
}

TEST_CASE("a bad block before the acknowledged end stops appends instead of being cut")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  write_two_batches(path);
  const uint64_t log_size = read_bytes(path + "/00000000.log").size();
  corrupt(path + "/00000000.log", 40, 1); // inside the first batch
  write_bytes(path + "/HEAD", "");        // force recovery on open
  auto opened = Partition::open(Env::posix(), path, "t", 0, PartitionOptions{});
  // No HEAD to say what was acknowledged: recovery may only cut after the
  // first bad block... but it must never cut a block that is followed by more.
  if (opened.is_ok()) {
    FAIL("a mid-log bad block was silently cut");
  }
  CHECK(opened.status().is_corruption());
  CHECK(read_bytes(path + "/00000000.log").size() == log_size);
}

TEST_CASE("a record too large for one block is refused before anything is written")
{
  TestDir dir;
  auto p = open_partition(dir.path() + "/p");
  std::string huge(k_max_record_bytes + 1, 'x');
  std::vector<AppendInput> batch{{std::nullopt, "small", std::nullopt},
                                 {std::nullopt, huge, std::nullopt}};
  CHECK(p->append(batch).status().is_invalid_argument());
  CHECK(unwrap(p->next_offset()) == 0);
}

TEST_CASE("retention of zero records and bad segment sizes are refused")
{
  TestDir dir;
  std::filesystem::create_directories(dir.path() + "/p");
  PartitionOptions options;
  options.retention.max_records = 0;
  CHECK(Partition::open(Env::posix(), dir.path() + "/p", "t", 0, options)
          .status()
          .is_invalid_argument());
  options.retention.max_records = 1;
  options.segment_bytes = 100;
  CHECK(Partition::open(Env::posix(), dir.path() + "/p", "t", 0, options)
          .status()
          .is_invalid_argument());
}

TEST_CASE("power loss at every point of a run loses no acknowledged record")
{
  // Count the mutating operations of one run, then crash after each of them.
  auto run = [](const std::string& path, FaultEnv& env, uint64_t* acked) {
    std::vector<std::string> storage;
    auto opened = Partition::open(&env, path, "t", 0, PartitionOptions{});
    if (!opened.is_ok()) {
      return;
    }
    auto p = std::move(opened).value();
    for (int b = 0; b < 12; ++b) {
      auto r = p->append(inputs(storage, *acked, b % 3 == 0 ? 40 : 5));
      if (!r.is_ok()) {
        return;
      }
      *acked += r->size();
    }
  };
  TestDir dir;
  const auto counted = count_calls_of(dir.path() + "/count", run);
  CHECK(counted.acked == 4 * 40 + 8 * 5);
  REQUIRE(counted.calls > 20);
  crash_after_each_call(dir.path(), counted.calls, 1, run,
                        [](const std::string& path, uint64_t acked) {
                          auto p = open_partition(path);
                          const uint64_t n = unwrap(p->next_offset());
                          REQUIRE(n >= acked);
                          check_prefix(*p, n);
                          REQUIRE(unwrap(p->merkle_root()) == expected_root(*p, n));
                          REQUIRE(unwrap(p->audit()).ok());
                        });
}

TEST_CASE("an I/O error mid-append leaves the partition usable")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  std::filesystem::create_directories(path);
  FaultEnv env;
  std::vector<std::string> storage;
  auto p = unwrap(Partition::open(&env, path, "t", 0, PartitionOptions{}));
  unwrap(p->append(inputs(storage, 0, 10)));
  env.fail_after(1); // the segment write succeeds, its sync fails
  CHECK(p->append(inputs(storage, 10, 10)).status().is_io_error());
  env.fail_after(-1);
  auto r = unwrap(p->append(inputs(storage, 10, 10)));
  CHECK(r.front().offset == 10);
  p.reset();
  auto reopened = open_partition(path);
  CHECK(unwrap(reopened->next_offset()) == 20);
  check_prefix(*reopened, 20);
}

TEST_CASE("two processes appending 5,000 records each get every offset exactly once")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  std::filesystem::create_directories(path);
  open_partition(path); // create files before forking
  std::vector<pid_t> children;
  for (int w = 0; w < 2; ++w) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto opened = Partition::open(Env::posix(), path, "t", 0, PartitionOptions{});
      if (!opened.is_ok()) {
        _exit(2);
      }
      auto p = std::move(opened).value();
      for (int i = 0; i < 5000; i += 10) {
        std::vector<std::string> values;
        for (int k = 0; k < 10; ++k) {
          values.push_back(std::to_string(w) + ":" + std::to_string(i + k));
        }
        std::vector<AppendInput> batch;
        for (const auto& v : values) {
          batch.push_back(AppendInput{std::nullopt, v, std::nullopt});
        }
        if (!p->append(batch).is_ok()) {
          _exit(3);
        }
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  auto p = open_partition(path);
  REQUIRE(unwrap(p->next_offset()) == 10000);
  PartitionReader reader(p.get());
  std::vector<Record> out;
  REQUIRE(unwrap(reader.read(0, 10000, 10000, out)) == 10000);
  std::set<std::string> seen;
  int last[2] = {-1, -1};
  for (const Record& r : out) {
    CHECK(seen.insert(r.value).second);
    int w = r.value[0] - '0';
    int i = std::stoi(r.value.substr(2));
    CHECK(i > last[w]);
    last[w] = i;
  }
  CHECK(seen.size() == 10000);
  auto report = unwrap(p->audit());
  CHECK(report.ok());
}

TEST_CASE("compaction removes whole segments below the watermark, proofs stay valid")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  PartitionOptions options = small_segments();
  options.compression = Compression::none;
  // Written with no retention (appends would enforce it as the log rolls),
  // then opened with one for compact() to apply.
  auto p = open_partition(path, Env::posix(), options);
  fill(*p, 1000, 25);
  options.retention.max_records = 100;
  p.reset();
  p = open_partition(path, Env::posix(), options);
  const Hash root = *unwrap(p->merkle_root());
  auto usage = unwrap(p->usage());
  CHECK(usage.reclaimable_bytes > 0);
  auto result = unwrap(p->compact());
  CHECK(result.segments_removed > 0);
  CHECK(result.bytes_reclaimed == usage.reclaimable_bytes);
  CHECK(unwrap(p->merkle_root()) == root);
  for (uint64_t o = 900; o < 1000; ++o) {
    CHECK(verify_proof(unwrap(p->proof(o)), root));
    CHECK(unwrap(p->read(o)).value == value_of(o));
  }
  CHECK(p->read(0).status().is_not_found());
  auto report = unwrap(p->audit());
  CHECK(report.ok());
  CHECK(report.root == root);
  // Appending and reopening still work after compaction.
  fill(*p, 5, 5);
  p.reset();
  p = open_partition(path, Env::posix(), options);
  CHECK(unwrap(p->next_offset()) == 1005);
  CHECK(unwrap(p->audit()).ok());
  // A proof of a record that compaction removed is not found, also when
  // another object computed the leaves of its chunk for a proof just before.
  auto q = open_partition(path, Env::posix(), options);
  const Hash root_1005 = *unwrap(q->merkle_root());
  CHECK(verify_proof(unwrap(q->proof(950)), root_1005));
  fill(*p, 1000, 25);
  unwrap(p->compact());
  CHECK(p->read(950).status().is_not_found());
  CHECK(q->proof(950).status().is_not_found());
  CHECK(verify_proof(unwrap(q->proof(2000)), *unwrap(q->merkle_root())));
}

TEST_CASE("a writer gives back the disk it reserved ahead of the log when it closes")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  auto p = open_partition(path);
  fill(*p, 1, 1);
  const std::string log = path + "/00000000.log";
  const FileStat open_stat = unwrap(Env::posix()->stat(log));
  const uint64_t end = unwrap(p->head()).segment_end;
  const uint64_t block_rounded = (end + 4095) / 4096 * 4096;
  // A one-record partition reserves little even while open: its size is
  // set 64 KiB ahead (docs/FORMAT.md §Segment).
  CHECK(open_stat.size == 64 * 1024);
  CHECK(open_stat.allocated_bytes <= 64 * 1024 + block_rounded);
  CHECK(unwrap(p->usage()).allocated_bytes >= open_stat.allocated_bytes);
  p.reset();
  const FileStat closed = unwrap(Env::posix()->stat(log));
  CHECK(closed.size == end);
  CHECK(closed.allocated_bytes <= block_rounded);
}

TEST_CASE("a writer that keeps its tail notices a batch another process left unpublished")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  std::vector<std::string> storage;
  auto keeper = open_partition(path);
  unwrap(keeper->append(inputs(storage, 0, 1)));
  // A second writer (as another process would) writes and syncs a batch at
  // HEAD's end, then dies before publishing it: its LOCK goes with it.
  {
    auto other = open_partition(path);
    PendingAppend pending;
    const std::vector<AppendInput> lost = inputs(storage, 1, 3);
    require_ok(other->begin_append(lost, pending));
    require_ok(pending.sync());
    pending = PendingAppend(); // never finished: HEAD still says 1 record
  }
  CHECK(unwrap(keeper->next_offset()) == 1);
  // HEAD is still the one the keeper wrote, but its end no longer holds
  // zero bytes: the keeper rebuilds its tail, and recovery keeps the
  // complete batch, as for any crash, instead of writing over it.
  const auto appended = unwrap(keeper->append(inputs(storage, 4, 1)));
  CHECK(appended.front().offset == 4);
  check_prefix(*keeper, 5);
  keeper.reset();
  auto reopened = open_partition(path);
  CHECK(unwrap(reopened->next_offset()) == 5);
  CHECK(unwrap(reopened->audit()).ok());
}

TEST_CASE("the segment's size is set ahead of the log, and zero bytes there end its blocks")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  auto p = open_partition(path);
  fill(*p, 3, 3);
  const PartitionHead head = unwrap(p->head());
  const std::string log = path + "/00000000.log";
  CHECK(unwrap(Env::posix()->file_size(log)) == 64 * 1024);
  CHECK(head.segment_end < 64 * 1024);
  // Another object (or process) opens it as consistent, reads and audits it.
  PartitionOptions look_only;
  look_only.repair = Repair::never;
  auto other = open_partition(path, Env::posix(), look_only);
  check_prefix(*other, 3);
  CHECK(unwrap(other->audit()).ok());
  CHECK(unwrap(other->audit()).torn_tail_bytes == 0);
  // Appends go inside the size set ahead.
  fill(*p, 2, 2);
  CHECK(unwrap(Env::posix()->file_size(log)) == 64 * 1024);
  check_prefix(*other, 5);
}

TEST_CASE("a partition opened to look only creates nothing and changes nothing")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  std::filesystem::create_directories(path);
  PartitionOptions look;
  look.repair = Repair::never;
  {
    auto p = unwrap(Partition::open(Env::posix(), path, "t", 0, look));
    CHECK(unwrap(p->next_offset()) == 0);
    CHECK_FALSE(unwrap(p->merkle_root()).has_value());
    CHECK(unwrap(p->audit()).ok());
  }
  CHECK(std::filesystem::is_empty(path)); // a never-written partition stays empty
  write_two_batches(path);
  write_bytes(path + "/INDEX", ""); // damaged, but looking must not rewrite it
  auto p = Partition::open(Env::posix(), path, "t", 0, look);
  if (p.is_ok()) {
    CHECK_FALSE(unwrap((*p)->audit()).ok());
  }
  CHECK(read_bytes(path + "/INDEX").empty());
}

TEST_CASE("an INDEX entry past the first block of its chunk is corruption")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  std::filesystem::create_directories(path);
  {
    auto p = unwrap(Partition::open(Env::posix(), path, "t", 0, {}));
    std::vector<std::string> values;
    for (uint64_t first = 0; first < 140; first += 10) {
      std::vector<AppendInput> in;
      for (uint64_t i = 0; i < 10; ++i) {
        values.push_back("v" + std::to_string(first + i));
      }
      for (uint64_t i = 0; i < 10; ++i) {
        in.push_back(AppendInput{std::nullopt, values[first + i], 1, false});
      }
      unwrap(p->append(in));
    }
  }
  // Point INDEX entry 2 (offset 128, in the batch 120..129) at the batch
  // after it, and leave bytes past HEAD's end so that opening recovers.
  // Where the batch 130..139 starts.
  const SegmentReader::Block block = nth_block(path, 14);
  REQUIRE(block.header.first_offset == 130);
  std::string index = read_bytes(index_file(path));
  const uint64_t entry = format::k_file_header_size + 2 * format::k_index_entry_size;
  std::string moved;
  put_u32(moved, 0);
  put_u32(moved, static_cast<uint32_t>(block.at.position));
  index.replace(entry, moved.size(), moved);
  write_bytes(index_file(path), index);
  std::string data = read_bytes(segment_file(path, 0));
  write_bytes(segment_file(path, 0), data + "torn");
  auto opened = Partition::open(Env::posix(), path, "t", 0, {});
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().is_corruption());
  CHECK(opened.status().message().find("INDEX entry 2 points at a block starting at offset 130")
        != std::string::npos);
  CHECK(read_bytes(segment_file(path, 0)) == data + "torn"); // nothing was cut
}

TEST_CASE("a block out of order in the log is corruption for readers, never served")
{
  TestDir dir;
  const std::string path = dir.path() + "/p";
  std::filesystem::create_directories(path);
  // Three batches of 10 records, one block each, identical values and
  // timestamps: a block claiming other offsets has the same length.
  const std::string value = "v";
  {
    auto p = unwrap(Partition::open(Env::posix(), path, "t", 0, {}));
    for (int b = 0; b < 3; ++b) {
      std::vector<AppendInput> in(10, AppendInput{std::nullopt, value, 1, false});
      unwrap(p->append(in));
    }
  }
  const SegmentReader::Block block = nth_block(path, 3);
  REQUIRE(block.header.first_offset == 20);
  // Replace the third block (offsets 20..29) with a valid one claiming
  // offsets 15..24, as a stale or planted copy would.
  std::vector<StoredRecordView> views(10);
  for (StoredRecordView& v : views) {
    v.value = value;
    v.timestamp = 1;
  }
  std::string stale;
  encode_block(views.data(), views.size(), 15, block.header.compression, true, stale);
  REQUIRE(stale.size() == block.header.total_size());
  std::string data = read_bytes(segment_file(path, 0));
  data.replace(block.at.position, stale.size(), stale);
  write_bytes(segment_file(path, 0), data);

  PartitionOptions look;
  look.repair = Repair::never;
  auto p = unwrap(Partition::open(Env::posix(), path, "t", 0, look));
  PartitionReader reader(p.get());
  std::vector<Record> out;
  auto read = reader.read(0, 30, 30, out);
  REQUIRE_FALSE(read.is_ok());
  CHECK(read.status().is_corruption());
  CHECK(read.status().message().find("starts at offset 15, where offset 20 was expected")
        != std::string::npos);
  CHECK(out.size() == 20); // offsets 0..19, nothing from the stale block
}

TEST_SUITE_END();
