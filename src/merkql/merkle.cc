#include <merkql/coding.h>
#include <merkql/merkle.h>

#include <fmt/format.h>

#include <bit>

namespace merkql {

std::string leaf_node_bytes(const Hash& record_hash, uint64_t offset)
{
  std::string out;
  out.reserve(44);
  put_u32(out, 0);
  out.append(reinterpret_cast<const char*>(record_hash.data()), 32);
  put_u64(out, offset);
  return out;
}

std::string branch_node_bytes(const Hash& left, const Hash& right, uint64_t min_offset,
                              uint64_t max_offset)
{
  std::string out;
  out.reserve(84);
  put_u32(out, 1);
  out.append(reinterpret_cast<const char*>(left.data()), 32);
  out.append(reinterpret_cast<const char*>(right.data()), 32);
  put_u64(out, min_offset);
  put_u64(out, max_offset);
  return out;
}

Hash leaf_hash(const Hash& record_hash, uint64_t offset, Sha256& ctx)
{
  char buf[44];
  std::memset(buf, 0, 4);
  std::memcpy(buf + 4, record_hash.data(), 32);
  for (int i = 0; i < 8; ++i) {
    buf[36 + i] = static_cast<char>(offset >> (8 * i));
  }
  return ctx.digest(std::string_view(buf, sizeof buf));
}

Hash branch_hash(const Hash& left, const Hash& right, uint64_t min_offset, uint64_t max_offset,
                 Sha256& ctx)
{
  char buf[84];
  buf[0] = 1;
  buf[1] = buf[2] = buf[3] = 0;
  std::memcpy(buf + 4, left.data(), 32);
  std::memcpy(buf + 36, right.data(), 32);
  for (int i = 0; i < 8; ++i) {
    buf[68 + i] = static_cast<char>(min_offset >> (8 * i));
    buf[76 + i] = static_cast<char>(max_offset >> (8 * i));
  }
  return ctx.digest(std::string_view(buf, sizeof buf));
}

std::vector<NodeId> peaks_of(uint64_t n)
{
  std::vector<NodeId> peaks;
  uint64_t start = 0;
  for (int h = 63; h >= 0; --h) {
    uint64_t size = uint64_t{1} << h;
    if (n & size) {
      peaks.push_back(NodeId{static_cast<uint32_t>(h), start >> h});
      start += size;
    }
  }
  return peaks;
}

MerkleAccumulator::MerkleAccumulator(uint64_t size, std::vector<Peak> peaks)
  : m_size(size), m_peaks(std::move(peaks))
{}

void MerkleAccumulator::append(const Hash& leaf, Sha256& ctx,
                               const std::function<void(const NodeId&, const Hash&)>& on_node)
{
  merge(Peak{NodeId{0, m_size}, leaf}, ctx, on_node);
}

void MerkleAccumulator::append_subtree(
  const Peak& subtree, Sha256& ctx, const std::function<void(const NodeId&, const Hash&)>& on_node)
{
  merge(subtree, ctx, on_node);
}

void MerkleAccumulator::merge(Peak current, Sha256& ctx,
                              const std::function<void(const NodeId&, const Hash&)>& on_node)
{
  const uint64_t leaves = uint64_t{1} << current.node.height;
  if (on_node) {
    on_node(current.node, current.hash);
  }
  while (!m_peaks.empty() && m_peaks.back().node.height == current.node.height) {
    const Peak& left = m_peaks.back();
    Peak merged{
      NodeId{current.node.height + 1, left.node.index >> 1},
      branch_hash(left.hash, current.hash, left.node.min_offset(), current.node.max_offset(), ctx)};
    m_peaks.pop_back();
    current = merged;
    if (on_node) {
      on_node(current.node, current.hash);
    }
  }
  m_peaks.push_back(current);
  m_size += leaves;
}

std::optional<Hash> fold_peaks(const std::vector<Peak>& peaks, Sha256& ctx)
{
  if (peaks.empty()) {
    return std::nullopt;
  }
  Hash current = peaks.back().hash;
  const uint64_t max = peaks.back().node.max_offset();
  for (size_t i = peaks.size() - 1; i-- > 0;) {
    current = branch_hash(peaks[i].hash, current, peaks[i].node.min_offset(), max, ctx);
  }
  return current;
}

std::optional<Hash> MerkleAccumulator::root(Sha256& ctx) const
{
  return fold_peaks(m_peaks, ctx);
}

const char* side_name(Side side)
{
  return side == Side::left ? "Left" : "Right";
}

std::optional<std::vector<ProofStepShape>> proof_shape(uint64_t offset, uint64_t n)
{
  if (offset >= n) {
    return std::nullopt;
  }
  const std::vector<NodeId> peaks = peaks_of(n);
  size_t p = 0;
  while (peaks[p].max_offset() < offset) {
    ++p;
  }
  std::vector<ProofStepShape> steps;
  for (uint32_t h = 0; h < peaks[p].height; ++h) {
    ProofStepShape step;
    step.node = NodeId{h, (offset >> h) ^ 1};
    step.side = step.node.index < (offset >> h) ? Side::left : Side::right;
    step.sibling_min = step.node.min_offset();
    step.sibling_max = step.node.max_offset();
    steps.push_back(step);
  }
  if (p + 1 < peaks.size()) {
    ProofStepShape step;
    step.side = Side::right;
    step.is_fold = true;
    step.first_peak = p + 1;
    step.sibling_min = peaks[p + 1].min_offset();
    step.sibling_max = n - 1;
    steps.push_back(step);
  }
  for (size_t i = p; i-- > 0;) {
    ProofStepShape step;
    step.side = Side::left;
    step.node = peaks[i];
    step.sibling_min = peaks[i].min_offset();
    step.sibling_max = peaks[i].max_offset();
    steps.push_back(step);
  }
  return steps;
}

Result<InclusionProof> make_proof(uint64_t offset, uint64_t n, const Hash& leaf,
                                  const std::function<Result<Hash>(const NodeId&)>& node_hash,
                                  Sha256& ctx)
{
  auto shape = proof_shape(offset, n);
  if (!shape) {
    return Status::not_found(fmt::format("offset {} is not in a tree of {} records", offset, n));
  }
  InclusionProof proof;
  proof.offset = offset;
  proof.tree_size = n;
  proof.leaf_hash = leaf;
  const std::vector<NodeId> peaks = peaks_of(n);
  for (const ProofStepShape& step : *shape) {
    ProofSibling sibling;
    sibling.side = step.side;
    if (step.is_fold) {
      std::vector<Peak> right;
      for (size_t i = step.first_peak; i < peaks.size(); ++i) {
        MERKQL_ASSIGN_OR_RETURN(Hash h, node_hash(peaks[i]));
        right.push_back(Peak{peaks[i], h});
      }
      sibling.hash = *fold_peaks(right, ctx);
    } else {
      MERKQL_ASSIGN_OR_RETURN(sibling.hash, node_hash(step.node));
    }
    proof.siblings.push_back(sibling);
  }
  return proof;
}

Result<Hash> proof_root(const InclusionProof& proof, Sha256& ctx)
{
  auto shape = proof_shape(proof.offset, proof.tree_size);
  if (!shape) {
    return Status::invalid_argument(
      fmt::format("offset {} is outside a tree of {} records", proof.offset, proof.tree_size));
  }
  if (shape->size() != proof.siblings.size()) {
    return Status::invalid_argument(
      fmt::format("a proof for offset {} in a tree of {} records needs {} siblings, not {}",
                  proof.offset, proof.tree_size, shape->size(), proof.siblings.size()));
  }
  Hash current = proof.leaf_hash;
  uint64_t min = proof.offset;
  uint64_t max = proof.offset;
  for (size_t i = 0; i < shape->size(); ++i) {
    const ProofStepShape& step = (*shape)[i];
    const ProofSibling& sibling = proof.siblings[i];
    if (sibling.side != step.side) {
      return Status::invalid_argument(fmt::format(
        "sibling {} is on the {} side; for offset {} in a tree of {} records it must be {}", i,
        side_name(sibling.side), proof.offset, proof.tree_size, side_name(step.side)));
    }
    if (step.side == Side::left) {
      current = branch_hash(sibling.hash, current, step.sibling_min, max, ctx);
      min = step.sibling_min;
    } else {
      current = branch_hash(current, sibling.hash, min, step.sibling_max, ctx);
      max = step.sibling_max;
    }
  }
  return current;
}

bool verify_proof(const InclusionProof& proof, const Hash& root)
{
  Sha256 ctx;
  auto computed = proof_root(proof, ctx);
  return computed.is_ok() && *computed == root;
}

Hash subtree_hash(const std::vector<Hash>& leaves, uint64_t base_offset, size_t first,
                  uint32_t height, Sha256& ctx)
{
  if (height == 0) {
    return leaves[first];
  }
  const size_t half = size_t{1} << (height - 1);
  Hash left = subtree_hash(leaves, base_offset, first, height - 1, ctx);
  Hash right = subtree_hash(leaves, base_offset, first + half, height - 1, ctx);
  return branch_hash(left, right, base_offset + first, base_offset + first + 2 * half - 1, ctx);
}

} // namespace merkql
