#include "support/partition_util.h"
#include "support/test_dir.h"

#include <merkql/consistency.h>

#include <bit>
#include <random>

using namespace merkql;
using merkql::test::inputs;
using merkql::test::TestDir;
using merkql::test::unwrap;

namespace {

// Every node of the tree over leaves "record-0".."record-(count-1)", level by
// level, and the root of every size, computed without the proof code.
struct Reference {
  std::vector<std::vector<Hash>> levels; // levels[h][i]: NodeId{h, i}
  std::vector<Hash> roots;               // roots[n], n >= 1
  Sha256 ctx;

  explicit Reference(uint64_t count)
  {
    levels.emplace_back();
    MerkleAccumulator acc;
    roots.resize(count + 1);
    for (uint64_t i = 0; i < count; ++i) {
      Hash leaf = leaf_hash(sha256("record-" + std::to_string(i)), i, ctx);
      levels[0].push_back(leaf);
      acc.append(leaf, ctx);
      roots[i + 1] = *acc.root(ctx);
    }
    for (uint32_t h = 1; levels[h - 1].size() >= 2; ++h) {
      std::vector<Hash> level;
      for (uint64_t i = 0; i + 1 < levels[h - 1].size(); i += 2) {
        NodeId id{h, i / 2};
        level.push_back(branch_hash(levels[h - 1][i], levels[h - 1][i + 1], id.min_offset(),
                                    id.max_offset(), ctx));
      }
      levels.push_back(std::move(level));
    }
  }

  Result<Hash> node(const NodeId& id) const { return levels.at(id.height).at(id.index); }

  ConsistencyProof proof(uint64_t m, uint64_t n)
  {
    return unwrap(build_consistency_proof(
      m, n, [this](const NodeId& id) { return node(id); }, ctx));
  }
};

Hash flip(Hash h, size_t bit)
{
  h[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  return h;
}

// Every single-bit change to a hash, size or root is rejected. bit_step 1
// tries every bit of every hash; larger steps try one bit in bit_step (a
// changed hash is a different value whichever bit changed).
void check_tampering(Reference& ref, const ConsistencyProof& proof, size_t bit_step)
{
  const Hash& from_root = ref.roots[proof.from_size];
  const Hash& to_root = ref.roots[proof.to_size];
  for (size_t i = 0; i < proof.hashes.size(); ++i) {
    for (size_t bit = i % bit_step; bit < 256; bit += bit_step) {
      ConsistencyProof bad = proof;
      bad.hashes[i] = flip(bad.hashes[i], bit);
      CHECK_MESSAGE(!verify_consistency(bad, from_root, to_root), "hash ", i, " bit ", bit, " of ",
                    proof.from_size, "->", proof.to_size);
    }
  }
  for (size_t bit = 0; bit < 256; bit += bit_step) {
    CHECK(!verify_consistency(proof, flip(from_root, bit), to_root));
    CHECK(!verify_consistency(proof, from_root, flip(to_root, bit)));
  }
  for (uint32_t bit = 0; bit < 64; ++bit) {
    ConsistencyProof bad = proof;
    bad.from_size ^= uint64_t{1} << bit;
    CHECK_MESSAGE(!verify_consistency(bad, from_root, to_root), "from size bit ", bit, " of ",
                  proof.from_size, "->", proof.to_size);
    bad = proof;
    bad.to_size ^= uint64_t{1} << bit;
    CHECK_MESSAGE(!verify_consistency(bad, from_root, to_root), "to size bit ", bit, " of ",
                  proof.from_size, "->", proof.to_size);
  }
}

// A proof for (m, n) given as one for other sizes fails against its own
// roots (but for a proof between equal sizes given again for equal sizes:
// "a tree is a prefix of itself" holds for any root), and against the true
// roots of those sizes unless its hashes happen to be the honest proof for
// them (the proof for 28 -> 29 is the peaks of 29, the proof for 29 -> 29).
void check_other_sizes(Reference& ref, const ConsistencyProof& proof,
                       const std::vector<std::pair<uint64_t, uint64_t>>& others)
{
  for (auto [m, n] : others) {
    if ((m == proof.from_size && n == proof.to_size) || m == 0 || n == 0 || n >= ref.roots.size()
        || m >= ref.roots.size()) {
      continue;
    }
    ConsistencyProof moved = proof;
    moved.from_size = m;
    moved.to_size = n;
    if (moved != ref.proof(m, n)) {
      CHECK_MESSAGE(!verify_consistency(moved, ref.roots[m], ref.roots[n]), proof.from_size, "->",
                    proof.to_size, " as ", m, "->", n);
    }
    if (!(proof.from_size == proof.to_size && m == n)) {
      CHECK_MESSAGE(
        !verify_consistency(moved, ref.roots[proof.from_size], ref.roots[proof.to_size]),
        proof.from_size, "->", proof.to_size, " as ", m, "->", n, " (own roots)");
    }
  }
}

uint64_t size_bound(uint64_t n)
{
  return static_cast<uint64_t>(std::bit_width(n)) + 1;
}

} // namespace

TEST_SUITE_BEGIN("merkql::consistency");

TEST_CASE("every pair of sizes up to 64: honest proofs verify, every change is rejected")
{
  Reference ref(64);
  for (uint64_t n = 1; n <= 64; ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      const ConsistencyProof proof = ref.proof(m, n);
      CHECK_MESSAGE(verify_consistency(proof, ref.roots[m], ref.roots[n]), m, "->", n);
      CHECK(proof.hashes.size() == consistency_proof_size(m, n));
      CHECK(proof.hashes.size() == unwrap(consistency_shape(m, n)).proof_hashes());
      CHECK(proof.hashes.size() <= size_bound(n));
      check_tampering(ref, proof, n <= 16 ? 1 : 29);
      std::vector<std::pair<uint64_t, uint64_t>> others;
      for (uint64_t m2 = 1; m2 <= 64; m2 += (n <= 16 ? 1 : 7)) {
        for (uint64_t n2 = m2; n2 <= 64; n2 += (n <= 16 ? 1 : 5)) {
          others.emplace_back(m2, n2);
        }
      }
      check_other_sizes(ref, proof, others);
    }
  }
}

TEST_CASE("random pairs of sizes up to 5000: honest proofs verify, every change is rejected")
{
  Reference ref(5000);
  std::mt19937_64 rng(8);
  for (int round = 0; round < 300; ++round) {
    const uint64_t n = 1 + rng() % 5000;
    const uint64_t m = 1 + rng() % n;
    const ConsistencyProof proof = ref.proof(m, n);
    REQUIRE_MESSAGE(verify_consistency(proof, ref.roots[m], ref.roots[n]), m, "->", n);
    CHECK(proof.hashes.size() == consistency_proof_size(m, n));
    CHECK(proof.hashes.size() <= size_bound(n));
    check_tampering(ref, proof, 31);
    std::vector<std::pair<uint64_t, uint64_t>> others = {{m - 1, n}, {m + 1, n},     {m, n - 1},
                                                         {m, n + 1}, {m - 1, n - 1}, {m + 1, n + 1},
                                                         {m, m},     {n, n}};
    for (int k = 0; k < 8; ++k) {
      const uint64_t n2 = 1 + rng() % 5000;
      others.emplace_back(1 + rng() % n2, n2);
    }
    check_other_sizes(ref, proof, others);
  }
}

TEST_CASE("a malformed proof is refused with the reason")
{
  Reference ref(20);
  Sha256 ctx;
  ConsistencyProof proof = ref.proof(5, 13);
  CHECK(proof.hashes.size() == 5); // peaks 0..3 and 4, siblings 5 and 6..7, fold of 8..12
  ConsistencyProof longer = proof;
  longer.hashes.push_back(Hash{});
  CHECK(consistency_roots(longer, ctx).status().is_invalid_argument());
  ConsistencyProof shorter = proof;
  shorter.hashes.pop_back();
  CHECK(consistency_roots(shorter, ctx).status().is_invalid_argument());
  ConsistencyProof zero = proof;
  zero.from_size = 0;
  CHECK(consistency_roots(zero, ctx).status().is_invalid_argument());
  ConsistencyProof reversed = proof;
  std::swap(reversed.from_size, reversed.to_size);
  CHECK(consistency_roots(reversed, ctx).status().is_invalid_argument());
  CHECK(check_consistency(proof, ref.roots[5], ref.roots[12]).is_corruption());
  CHECK(check_consistency(proof, ref.roots[5], ref.roots[13]).is_ok());
  CHECK(build_consistency_proof(
          6, 5, [&](const NodeId& id) { return ref.node(id); }, ctx)
          .status()
          .is_invalid_argument());
}

TEST_CASE("the worked examples of FORMAT.md: 5 -> 13 and 12 -> 13")
{
  Reference ref(13);
  const Hash fold = branch_hash(ref.levels[2][2], ref.levels[0][12], 8, 12, ref.ctx);
  CHECK(ref.proof(5, 13).hashes
        == std::vector<Hash>{ref.levels[2][0], ref.levels[0][4], ref.levels[0][5], ref.levels[1][3],
                             fold});
  CHECK(ref.proof(12, 13).hashes
        == std::vector<Hash>{ref.levels[3][0], ref.levels[2][2], ref.levels[0][12]});
  const Hash q = ref.levels[3][0];
  CHECK(ref.roots[13] == branch_hash(q, fold, 0, 12, ref.ctx));
  CHECK(ref.roots[5] == branch_hash(ref.levels[2][0], ref.levels[0][4], 0, 4, ref.ctx));
}

TEST_CASE("equal sizes: the proof is the peaks, and binds the root")
{
  Reference ref(20);
  const ConsistencyProof proof = ref.proof(13, 13);
  CHECK(proof.hashes.size() == 3);
  CHECK(verify_consistency(proof, ref.roots[13], ref.roots[13]));
  CHECK(!verify_consistency(proof, ref.roots[13], ref.roots[12]));
  CHECK(!verify_consistency(proof, ref.roots[12], ref.roots[12]));
}

TEST_CASE("proof size: the formula matches the shape and stays within bit_width(n) + 1")
{
  for (uint64_t n : {uint64_t{1000}, uint64_t{1024}, uint64_t{1023}, uint64_t{4097}}) {
    uint64_t largest = 0;
    for (uint64_t m = 1; m <= n; ++m) {
      const uint64_t size = consistency_proof_size(m, n);
      REQUIRE(size == unwrap(consistency_shape(m, n)).proof_hashes());
      largest = std::max(largest, size);
    }
    CHECK(largest <= size_bound(n));
  }
  // The bound is reached: M odd, every bit above the first difference shared.
  CHECK(consistency_proof_size(0b1011011, 0b1011100) == 6);
  CHECK(consistency_proof_size(1, 3) == 3);
  std::mt19937_64 rng(9);
  for (int k = 0; k < 2000; ++k) {
    const uint64_t n = 1 + rng() % (uint64_t{1} << (1 + rng() % 63));
    const uint64_t m = 1 + rng() % n;
    REQUIRE(consistency_proof_size(m, n) == unwrap(consistency_shape(m, n)).proof_hashes());
    CHECK(consistency_proof_size(m, n) <= size_bound(n));
  }
  CHECK(consistency_proof_size(UINT64_MAX - 1, UINT64_MAX) <= 65);
}

TEST_CASE("a partition's proofs from stored nodes equal the ones from memory, across chunks")
{
  TestDir dir;
  PartitionOptions options;
  options.block_bytes = 512;
  options.compression = Compression::none;
  auto p = unwrap(Partition::open(Env::posix(), dir.path(), "t", 0, options));
  std::vector<std::string> storage;
  std::vector<Hash> leaves;
  Sha256 ctx;
  MerkleAccumulator acc;
  std::vector<Hash> roots{Hash{}};
  for (uint64_t first = 0; first < 4200;) {
    const uint64_t count = std::min<uint64_t>(37 + first % 101, 4200 - first);
    for (const AppendedRecord& r : unwrap(p->append(inputs(storage, first, count)))) {
      leaves.push_back(leaf_hash(r.record_hash, r.offset, ctx));
      acc.append(leaves.back(), ctx);
      roots.push_back(*acc.root(ctx));
    }
    first += count;
  }
  auto memory = [&](uint64_t m, uint64_t n) {
    return unwrap(build_consistency_proof(
      m, n,
      [&](const NodeId& id) -> Result<Hash> {
        return subtree_hash(leaves, 0, static_cast<size_t>(id.min_offset()), id.height, ctx);
      },
      ctx));
  };
  const std::vector<uint64_t> sizes = {1,    2,    63,   64,   65,   127,  128,  129,
                                       1000, 4095, 4096, 4097, 4159, 4160, 4199, 4200};
  for (uint64_t n : sizes) {
    for (uint64_t m : sizes) {
      if (m > n) {
        continue;
      }
      const ConsistencyProof stored = unwrap(p->consistency_proof(m, n));
      CHECK_MESSAGE(stored == memory(m, n), m, "->", n);
      CHECK(
        verify_consistency(stored, *unwrap(p->merkle_root_at(m)), *unwrap(p->merkle_root_at(n))));
      CHECK(verify_consistency(stored, roots[m], roots[n]));
    }
  }
  CHECK(unwrap(p->consistency_proof(100)) == memory(100, 4200));
  CHECK(p->consistency_proof(0, 10).status().is_invalid_argument());
  CHECK(p->consistency_proof(11, 10).status().is_invalid_argument());
  CHECK(p->consistency_proof(10, 4201).status().is_not_found());
  CHECK(p->consistency_proof(4201).status().is_not_found());
}

TEST_CASE("after compaction, proofs from kept nodes still verify; removed leaves are not found")
{
  TestDir dir;
  PartitionOptions options;
  options.segment_bytes = 4096;
  options.compression = Compression::none;
  // Written with no retention (appends would enforce it as the log rolls);
  // compact() below applies it.
  auto p = unwrap(Partition::open(Env::posix(), dir.path(), "t", 0, options));
  std::vector<std::string> storage;
  for (uint64_t b = 0; b < 40; ++b) {
    unwrap(p->append(inputs(storage, b * 25, 25)));
  }
  std::vector<Hash> roots;
  for (uint64_t n = 0; n <= 1000; ++n) {
    roots.push_back(n == 0 ? Hash{} : *unwrap(p->merkle_root_at(n)));
  }
  std::vector<std::pair<uint64_t, ConsistencyProof>> before;
  for (uint64_t m : {64, 128, 512, 640, 896, 950, 999, 1000}) {
    before.emplace_back(m, unwrap(p->consistency_proof(m)));
  }
  p->set_retention(RetentionConfig{.max_records = 100}, options.segment_bytes);
  CHECK(unwrap(p->compact()).segments_removed > 0);
  for (const auto& [m, proof] : before) {
    // Sizes that are whole chunks need only stored nodes (and the kept tail).
    const ConsistencyProof after = unwrap(p->consistency_proof(m));
    CHECK(after == proof);
    CHECK(verify_consistency(after, roots[m], roots[1000]));
  }
  CHECK(p->consistency_proof(5).status().is_not_found());
}
