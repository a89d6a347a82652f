// The merkle tree of a partition: leaf and branch hashes, the carry-chain
// accumulator that appends leaves, roots, and inclusion proofs that verify
// with no access to storage (docs/FORMAT.md §Merkle tree; hashes identical to
// the reference merkql). The tree's shape depends only on its size n, so the
// offset range of every node follows from (offset, n). Pure code; a
// MerkleAccumulator is a value used by one thread at a time.
#pragma once

#include <merkql/sha256.h>
#include <merkql/status.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace merkql {

Hash leaf_hash(const Hash& record_hash, uint64_t offset, Sha256& ctx);
Hash branch_hash(const Hash& left, const Hash& right, uint64_t min_offset, uint64_t max_offset,
                 Sha256& ctx);
std::string leaf_node_bytes(const Hash& record_hash, uint64_t offset);
std::string branch_node_bytes(const Hash& left, const Hash& right, uint64_t min_offset,
                              uint64_t max_offset);

// A perfect subtree: height h, index i, covering offsets [i*2^h, (i+1)*2^h).
struct NodeId {
  uint32_t height = 0;
  uint64_t index = 0;

  uint64_t min_offset() const { return index << height; }
  uint64_t max_offset() const { return ((index + 1) << height) - 1; }
  bool operator==(const NodeId&) const = default;
};

// The peaks of a tree of n leaves, oldest (largest) first.
std::vector<NodeId> peaks_of(uint64_t n);

struct Peak {
  NodeId node;
  Hash hash{};
};

// Appends leaves by the binary carry chain and folds peaks into the root.
class MerkleAccumulator {
public:
  MerkleAccumulator() = default;
  // Resumes from a known state: size n and its peaks (as peaks_of(n)).
  MerkleAccumulator(uint64_t size, std::vector<Peak> peaks);

  // Appends the leaf for offset size(); on_node is told of every node this
  // creates (the leaf itself at height 0, then each merged branch).
  void append(const Hash& leaf, Sha256& ctx,
              const std::function<void(const NodeId&, const Hash&)>& on_node = {});

  // Appends a whole perfect subtree whose hash is known (a stored node
  // standing in for leaves no longer at hand). It must start at size() and
  // be no higher than the lowest peak; on_node is told of it and of each
  // merged branch.
  void append_subtree(const Peak& subtree, Sha256& ctx,
                      const std::function<void(const NodeId&, const Hash&)>& on_node = {});

  uint64_t size() const { return m_size; }
  const std::vector<Peak>& peaks() const { return m_peaks; }
  std::optional<Hash> root(Sha256& ctx) const;

private:
  void merge(Peak current, Sha256& ctx,
             const std::function<void(const NodeId&, const Hash&)>& on_node);

  uint64_t m_size = 0;
  std::vector<Peak> m_peaks;
};

// Root over a list of peaks (oldest first), as the reference folds them.
std::optional<Hash> fold_peaks(const std::vector<Peak>& peaks, Sha256& ctx);

// Hash of the perfect subtree of height `height` over leaves[first, first +
// 2^height), where leaves[0] is the leaf of offset base_offset.
Hash subtree_hash(const std::vector<Hash>& leaves, uint64_t base_offset, size_t first,
                  uint32_t height, Sha256& ctx);

enum class Side { left, right };
const char* side_name(Side side); // "Left" / "Right"

struct ProofSibling {
  Hash hash{};
  Side side = Side::left;
  bool operator==(const ProofSibling&) const = default;
};

// Proof that the leaf at `offset` is in the tree of `tree_size` leaves.
struct InclusionProof {
  uint64_t offset = 0;
  uint64_t tree_size = 0;
  Hash leaf_hash{};
  std::vector<ProofSibling> siblings; // leaf upward
};

// What a proof step's sibling is: a perfect subtree, or the fold of the peaks
// from index first_peak to the newest (the right-hand side above a peak).
struct ProofStepShape {
  Side side = Side::left;
  bool is_fold = false;
  NodeId node;           // when !is_fold
  size_t first_peak = 0; // when is_fold
  uint64_t sibling_min = 0;
  uint64_t sibling_max = 0;
};

// The steps of the inclusion proof of `offset` in a tree of n leaves, leaf
// upward. Empty optional when offset >= n.
std::optional<std::vector<ProofStepShape>> proof_shape(uint64_t offset, uint64_t n);

// Builds the proof, asking node_hash for each perfect subtree it needs.
Result<InclusionProof> make_proof(uint64_t offset, uint64_t n, const Hash& leaf,
                                  const std::function<Result<Hash>(const NodeId&)>& node_hash,
                                  Sha256& ctx);

// The root the proof leads to, or an explanation of why it is malformed
// (wrong sibling count or side for (offset, tree_size)).
Result<Hash> proof_root(const InclusionProof& proof, Sha256& ctx);
// True when the proof is well-formed and leads to `root`.
bool verify_proof(const InclusionProof& proof, const Hash& root);

} // namespace merkql
