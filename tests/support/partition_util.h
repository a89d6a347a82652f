// Helpers for tests of partitions (test_partition, test_audit,
// test_retention and others): open one, with small segments where a test
// needs the log to roll; make batches of records with known values and fill
// a partition with them; copy a partition directory; run power-loss sweeps
// over a run that appends. Single-threaded, like the tests that call them.
#pragma once

#include "support/fault_env.h"
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace merkql::test {

inline std::unique_ptr<Partition> open_partition(const std::string& dir, Env* env = Env::posix(),
                                                 PartitionOptions options = {})
{
  std::filesystem::create_directories(dir);
  return unwrap(Partition::open(env, dir, "t", 0, options));
}

// Options for a log that rolls every segment_bytes, so that a few hundred
// records span several segments and retention and compaction have whole
// segments to remove.
inline PartitionOptions small_segments(uint64_t segment_bytes = 4096)
{
  PartitionOptions options;
  options.segment_bytes = segment_bytes;
  return options;
}

inline std::string value_of(uint64_t i)
{
  return R"({"temp":)" + std::to_string(20 + i % 17) + R"(,"i":)" + std::to_string(i) + "}";
}

inline std::vector<AppendInput> inputs(std::vector<std::string>& storage, uint64_t first, size_t n)
{
  storage.clear();
  for (size_t k = 0; k < n; ++k) {
    storage.push_back(value_of(first + k));
  }
  std::vector<AppendInput> out;
  for (const std::string& v : storage) {
    out.push_back(
      AppendInput{std::nullopt, v, int64_t{1700000000} * 1000000000 + static_cast<int64_t>(first)});
  }
  return out;
}

// Appends n records (a multiple of batch) after p's last, value_of their
// offsets, in batches of `batch`.
inline void fill(Partition& p, uint64_t n, size_t batch = 10)
{
  std::vector<std::string> storage;
  const uint64_t first = unwrap(p.next_offset());
  for (uint64_t i = 0; i < n; i += batch) {
    unwrap(p.append(inputs(storage, first + i, batch)));
  }
}

// Root of the first n records computed in memory from what read() returns.
inline std::optional<Hash> expected_root(Partition& p, uint64_t n)
{
  Sha256 ctx;
  MerkleAccumulator acc;
  for (uint64_t o = 0; o < n; ++o) {
    Record r = unwrap(p.read(o));
    acc.append(leaf_hash(record_hash(r), o, ctx), ctx);
  }
  return acc.root(ctx);
}

inline void copy_dir(const std::string& from, const std::string& to)
{
  std::filesystem::remove_all(to);
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

// A closed partition at path holding offsets 0..19 as two batches of 10.
inline void write_two_batches(const std::string& path)
{
  std::vector<std::string> storage;
  auto p = open_partition(path);
  unwrap(p->append(inputs(storage, 0, 10)));
  unwrap(p->append(inputs(storage, 10, 10)));
}

// A power-loss sweep over a run: run(path, env, &acked) appends to a
// partition at path through env, adding to acked what was acknowledged, and
// stops at the first error.
struct CountedRun {
  int calls = 0;      // counted calls of the FaultEnv
  uint64_t acked = 0; // records acknowledged
};

// Runs it once at path (created) under a FaultEnv that fails nothing.
template<class Run> CountedRun count_calls_of(const std::string& path, Run&& run)
{
  std::filesystem::create_directories(path);
  FaultEnv env;
  CountedRun counted;
  run(path, env, &counted.acked);
  counted.calls = env.operations();
  return counted;
}

// For k = 0, step, 2 * step … up to calls: runs it at dir/run<k> (created)
// with every counted call after the k-th failing, drops what was not made
// durable (power loss), then calls check(path, acked).
template<class Run, class Check>
void crash_after_each_call(const std::string& dir, int calls, int step, Run&& run, Check&& check)
{
  for (int k = 0; k <= calls; k += step) {
    CAPTURE(k);
    const std::string path = dir + "/run" + std::to_string(k);
    std::filesystem::create_directories(path);
    uint64_t acked = 0;
    {
      FaultEnv env;
      env.fail_after(k);
      run(path, env, &acked);
      env.drop_unsynced();
    }
    check(path, acked);
  }
}

} // namespace merkql::test
