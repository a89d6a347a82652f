// Helpers for tests of partitions: open one, make batches of records with
// known values, copy a partition directory.
#pragma once

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

} // namespace merkql::test
