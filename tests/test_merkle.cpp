#include "support/test_dir.h"

#include <merkql/merkle.h>

using namespace merkql;

namespace {

struct MemoryTree {
  std::vector<Hash> leaves;
  Sha256 ctx;

  Hash node(const NodeId& id)
  {
    if (id.height == 0) {
      return leaves[id.index];
    }
    Hash l = node(NodeId{id.height - 1, id.index * 2});
    Hash r = node(NodeId{id.height - 1, id.index * 2 + 1});
    return branch_hash(l, r, id.min_offset(), id.max_offset(), ctx);
  }
};

} // namespace

TEST_SUITE_BEGIN("merkql::merkle");

TEST_CASE("a proof for every offset of every size 1..200 verifies, out of range gives none")
{
  MemoryTree tree;
  MerkleAccumulator acc;
  for (uint64_t n = 1; n <= 200; ++n) {
    Hash leaf = leaf_hash(sha256("record-" + std::to_string(n - 1)), n - 1, tree.ctx);
    tree.leaves.push_back(leaf);
    acc.append(leaf, tree.ctx);
    const Hash root = *acc.root(tree.ctx);
    for (uint64_t offset = 0; offset < n; ++offset) {
      auto proof = make_proof(
        offset, n, tree.leaves[offset],
        [&](const NodeId& id) -> Result<Hash> { return tree.node(id); }, tree.ctx);
      REQUIRE(proof.is_ok());
      REQUIRE(verify_proof(*proof, root));
    }
    CHECK_FALSE(proof_shape(n, n).has_value());
    CHECK(make_proof(
            n, n, Hash{}, [&](const NodeId& id) -> Result<Hash> { return tree.node(id); }, tree.ctx)
            .status()
            .is_not_found());
  }
}

TEST_CASE("tampered proofs are rejected")
{
  MemoryTree tree;
  MerkleAccumulator acc;
  for (uint64_t i = 0; i < 21; ++i) {
    tree.leaves.push_back(leaf_hash(sha256(std::to_string(i)), i, tree.ctx));
    acc.append(tree.leaves.back(), tree.ctx);
  }
  const Hash root = *acc.root(tree.ctx);
  auto lookup = [&](const NodeId& id) -> Result<Hash> { return tree.node(id); };
  InclusionProof good = make_proof(9, 21, tree.leaves[9], lookup, tree.ctx).value();
  REQUIRE(verify_proof(good, root));

  SUBCASE("changed leaf")
  {
    InclusionProof p = good;
    p.leaf_hash[5] ^= 1;
    CHECK_FALSE(verify_proof(p, root));
  }
  SUBCASE("changed sibling")
  {
    InclusionProof p = good;
    p.siblings[1].hash[0] ^= 0x80;
    CHECK_FALSE(verify_proof(p, root));
  }
  SUBCASE("flipped side")
  {
    InclusionProof p = good;
    p.siblings[0].side = p.siblings[0].side == Side::left ? Side::right : Side::left;
    CHECK_FALSE(verify_proof(p, root));
  }
  SUBCASE("other offset")
  {
    InclusionProof p = good;
    p.offset = 8;
    CHECK_FALSE(verify_proof(p, root));
  }
  SUBCASE("other tree size")
  {
    InclusionProof p = good;
    p.tree_size = 22;
    CHECK_FALSE(verify_proof(p, root));
  }
  SUBCASE("missing sibling")
  {
    InclusionProof p = good;
    p.siblings.pop_back();
    CHECK_FALSE(verify_proof(p, root));
  }
}

TEST_CASE("peaks follow the binary digits of the size")
{
  auto peaks = peaks_of(37);
  REQUIRE(peaks.size() == 3);
  CHECK(peaks[0] == NodeId{5, 0});
  CHECK(peaks[1] == NodeId{2, 8});
  CHECK(peaks[2] == NodeId{0, 36});
  CHECK(peaks_of(0).empty());
}

TEST_CASE("a subtree hashed from its leaves equals the node the carry chain makes")
{
  Sha256 ctx;
  std::vector<Hash> leaves;
  std::vector<std::pair<NodeId, Hash>> nodes;
  MerkleAccumulator acc;
  for (uint64_t o = 0; o < 8; ++o) {
    Hash record{};
    record[0] = static_cast<uint8_t>(o);
    leaves.push_back(leaf_hash(record, o, ctx));
    acc.append(leaves.back(), ctx,
               [&](const NodeId& node, const Hash& hash) { nodes.emplace_back(node, hash); });
  }
  CHECK(subtree_hash(leaves, 0, 0, 3, ctx) == *acc.root(ctx));
  for (const auto& [node, hash] : nodes) {
    CAPTURE(node.height);
    CAPTURE(node.index);
    CHECK(subtree_hash(leaves, 0, static_cast<size_t>(node.min_offset()), node.height, ctx)
          == hash);
  }
  // Leaves of a later range: offsets 4..7 held from index 0.
  const std::vector<Hash> upper(leaves.begin() + 4, leaves.end());
  CHECK(subtree_hash(upper, 4, 0, 2, ctx) == subtree_hash(leaves, 0, 4, 2, ctx));
}

TEST_SUITE_END();
