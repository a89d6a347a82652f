// Consistency proofs: that the tree of m records is a prefix of the tree of
// n records, for merkql's own tree shape (docs/FORMAT.md §Consistency proof).
// build_consistency_proof asks a getter for perfect-subtree hashes, so a
// Partition serves them from stored nodes and tests from memory;
// verify_consistency needs only (m, root_m, n, root_n, proof). Pure code;
// values only, thread-safe.
#pragma once

#include <merkql/merkle.h>
#include <merkql/sha256.h>
#include <merkql/status.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace merkql {

// Proof that the tree of from_size records is a prefix of the tree of
// to_size records. The hashes are, in this order: the peaks of the tree of
// from_size (oldest first), the siblings that lift its newer peaks into the
// peak of the tree of to_size that holds them (lowest first), and the fold
// of the peaks of to_size that lie wholly past from_size (when there are
// any). Which hash is which follows from the two sizes alone.
struct ConsistencyProof {
  uint64_t from_size = 0;
  uint64_t to_size = 0;
  std::vector<Hash> hashes;
  bool operator==(const ConsistencyProof&) const = default;
};

// The layout of the proof for (m, n), computed from the sizes alone.
struct ConsistencyShape {
  std::vector<NodeId> from_peaks; // peaks of the tree of m, oldest first
  // Peaks of the tree of n that are also peaks of the tree of m (a prefix of
  // from_peaks).
  size_t common = 0;
  // The lift from the newest peak of m to the peak of n holding the peaks of
  // m past `common`; empty when there are none (m is a sum of peaks of n).
  struct Step {
    NodeId sibling;         // the sibling at this height
    bool from_proof = true; // right sibling, carried in the proof
    size_t from_peak = 0;   // left sibling: index into from_peaks
  };
  std::vector<Step> lift;
  std::optional<NodeId> lifted; // the peak of n the lift reaches
  // The peaks of n lying wholly at or past m, folded into one hash.
  std::vector<NodeId> right_peaks;

  size_t proof_hashes() const;
};

// The shape for (m, n); invalid_argument unless 1 <= m <= n.
Result<ConsistencyShape> consistency_shape(uint64_t m, uint64_t n);

// The number of hashes in the proof for (m, n) (1 <= m <= n), computed
// without building the shape; never more than bit_width(n) + 1.
uint64_t consistency_proof_size(uint64_t m, uint64_t n);

// Builds the proof, asking node_hash for each perfect subtree it needs
// (nodes of the tree of n).
Result<ConsistencyProof>
build_consistency_proof(uint64_t m, uint64_t n,
                        const std::function<Result<Hash>(const NodeId&)>& node_hash, Sha256& ctx);

struct ConsistencyRoots {
  Hash from_root{};
  Hash to_root{};
};

// The two roots the proof leads to, or why it is malformed (sizes out of
// order, wrong number of hashes).
Result<ConsistencyRoots> consistency_roots(const ConsistencyProof& proof, Sha256& ctx);

// Ok when the proof is well-formed and leads to both roots; otherwise
// corruption (or invalid_argument when malformed) saying which.
Status check_consistency(const ConsistencyProof& proof, const Hash& from_root, const Hash& to_root);
bool verify_consistency(const ConsistencyProof& proof, const Hash& from_root, const Hash& to_root);

} // namespace merkql
