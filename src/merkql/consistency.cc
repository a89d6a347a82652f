#include <merkql/consistency.h>

#include <fmt/format.h>

#include <bit>

namespace merkql {

size_t ConsistencyShape::proof_hashes() const
{
  size_t count = from_peaks.size() + (right_peaks.empty() ? 0 : 1);
  for (const Step& step : lift) {
    count += step.from_proof ? 1 : 0;
  }
  return count;
}

Result<ConsistencyShape> consistency_shape(uint64_t m, uint64_t n)
{
  if (m == 0 || m > n) {
    return Status::invalid_argument(
      fmt::format("a consistency proof needs 1 <= from size <= to size, not {} and {}", m, n));
  }
  ConsistencyShape shape;
  shape.from_peaks = peaks_of(m);
  if (m == n) {
    shape.common = shape.from_peaks.size();
    return shape;
  }
  // d: the highest bit where the sizes differ (set in n, clear in m). Above
  // it both trees have the same peaks; the peaks of m below it all lie in
  // the peak of n of height d.
  const auto d = static_cast<uint32_t>(std::bit_width(m ^ n) - 1);
  while (shape.common < shape.from_peaks.size() && shape.from_peaks[shape.common].height > d) {
    ++shape.common;
  }
  if (shape.common < shape.from_peaks.size()) {
    size_t left = shape.from_peaks.size() - 1; // the newest peak not yet merged
    NodeId current = shape.from_peaks[left];
    while (current.height < d) {
      ConsistencyShape::Step step;
      if (current.index % 2 == 0) {
        step.sibling = NodeId{current.height, current.index + 1};
      } else {
        --left;
        step.sibling = shape.from_peaks[left];
        step.from_proof = false;
        step.from_peak = left;
      }
      shape.lift.push_back(step);
      current = NodeId{current.height + 1, current.index >> 1};
    }
    shape.lifted = current;
  }
  for (const NodeId& peak : peaks_of(n)) {
    if (peak.min_offset() >= m) {
      shape.right_peaks.push_back(peak);
    }
  }
  return shape;
}

uint64_t consistency_proof_size(uint64_t m, uint64_t n)
{
  uint64_t count = static_cast<uint64_t>(std::popcount(m));
  if (m == n) {
    return count;
  }
  const auto d = static_cast<int>(std::bit_width(m ^ n) - 1);
  const uint64_t below_d = (uint64_t{1} << d) - 1;
  const uint64_t low = m & below_d;
  if (low == 0) {
    return count + 1; // the peaks of n from height d down, folded
  }
  const int t = std::countr_zero(low);
  // One right sibling at height t, then one for each clear bit of m between
  // t and d; plus the fold of the lower peaks of n, when there are any.
  count += 1 + static_cast<uint64_t>(d - t - 1 - std::popcount(low >> (t + 1)));
  return count + ((n & below_d) != 0 ? 1 : 0);
}

Result<ConsistencyProof>
build_consistency_proof(uint64_t m, uint64_t n,
                        const std::function<Result<Hash>(const NodeId&)>& node_hash, Sha256& ctx)
{
  MERKQL_ASSIGN_OR_RETURN(ConsistencyShape shape, consistency_shape(m, n));
  ConsistencyProof proof;
  proof.from_size = m;
  proof.to_size = n;
  proof.hashes.reserve(shape.proof_hashes());
  for (const NodeId& peak : shape.from_peaks) {
    MERKQL_ASSIGN_OR_RETURN(Hash h, node_hash(peak));
    proof.hashes.push_back(h);
  }
  for (const ConsistencyShape::Step& step : shape.lift) {
    if (step.from_proof) {
      MERKQL_ASSIGN_OR_RETURN(Hash h, node_hash(step.sibling));
      proof.hashes.push_back(h);
    }
  }
  if (!shape.right_peaks.empty()) {
    std::vector<Peak> right;
    for (const NodeId& peak : shape.right_peaks) {
      MERKQL_ASSIGN_OR_RETURN(Hash h, node_hash(peak));
      right.push_back(Peak{peak, h});
    }
    proof.hashes.push_back(*fold_peaks(right, ctx));
  }
  return proof;
}

Result<ConsistencyRoots> consistency_roots(const ConsistencyProof& proof, Sha256& ctx)
{
  MERKQL_ASSIGN_OR_RETURN(ConsistencyShape shape,
                          consistency_shape(proof.from_size, proof.to_size));
  if (shape.proof_hashes() != proof.hashes.size()) {
    return Status::invalid_argument(
      fmt::format("a consistency proof from {} to {} records needs {} hashes, not {}",
                  proof.from_size, proof.to_size, shape.proof_hashes(), proof.hashes.size()));
  }
  size_t next = 0;
  std::vector<Peak> from_peaks;
  for (const NodeId& peak : shape.from_peaks) {
    from_peaks.push_back(Peak{peak, proof.hashes[next++]});
  }
  ConsistencyRoots roots;
  roots.from_root = *fold_peaks(from_peaks, ctx);

  // The peaks of n, oldest first, up to those wholly past m.
  std::vector<Peak> to_peaks(from_peaks.begin(),
                             from_peaks.begin() + static_cast<ptrdiff_t>(shape.common));
  if (shape.lifted) {
    Peak current = from_peaks.back();
    for (const ConsistencyShape::Step& step : shape.lift) {
      const NodeId parent{current.node.height + 1, current.node.index >> 1};
      const Hash sibling = step.from_proof ? proof.hashes[next++] : from_peaks[step.from_peak].hash;
      current.hash =
        step.from_proof
          ? branch_hash(current.hash, sibling, parent.min_offset(), parent.max_offset(), ctx)
          : branch_hash(sibling, current.hash, parent.min_offset(), parent.max_offset(), ctx);
      current.node = parent;
    }
    to_peaks.push_back(current);
  }
  Hash current;
  if (!shape.right_peaks.empty()) {
    current = proof.hashes[next++];
  } else {
    current = to_peaks.back().hash;
    to_peaks.pop_back();
  }
  const uint64_t max = proof.to_size - 1;
  for (size_t i = to_peaks.size(); i-- > 0;) {
    current = branch_hash(to_peaks[i].hash, current, to_peaks[i].node.min_offset(), max, ctx);
  }
  roots.to_root = current;
  return roots;
}

Status check_consistency(const ConsistencyProof& proof, const Hash& from_root, const Hash& to_root)
{
  Sha256 ctx;
  MERKQL_ASSIGN_OR_RETURN(ConsistencyRoots roots, consistency_roots(proof, ctx));
  if (roots.from_root != from_root) {
    return Status::corruption(
      fmt::format("the proof leads to root {} for {} records, not the given {}",
                  to_hex(roots.from_root), proof.from_size, to_hex(from_root)));
  }
  if (roots.to_root != to_root) {
    return Status::corruption(
      fmt::format("the proof leads to root {} for {} records, not the given {}",
                  to_hex(roots.to_root), proof.to_size, to_hex(to_root)));
  }
  return Status::ok();
}

bool verify_consistency(const ConsistencyProof& proof, const Hash& from_root, const Hash& to_root)
{
  return check_consistency(proof, from_root, to_root).is_ok();
}

} // namespace merkql
